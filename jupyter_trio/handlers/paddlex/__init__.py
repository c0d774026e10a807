"""The PaddleX RESTful dialect under /trio/paddlex (status 1 / -1, GET arguments in body or query)."""
