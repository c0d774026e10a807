"""Wire types, one module per dialect: what each API accepts and answers, as pydantic models.

``native`` is jupyter-trio's own REST API (``/trio/api``), ``v1`` the RestClient/Tinker dialect
(``/trio/api/v1``), ``paddlex`` the PaddleX RESTful dialect (``/trio/paddlex``). The OpenAPI document is
generated from them; services never see these types, only the plain values handlers take out of them.
"""
