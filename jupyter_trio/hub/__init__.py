"""JupyterHub side of jupyter-trio: the GPU arbiter service (``python -m jupyter_trio.hub``)."""
