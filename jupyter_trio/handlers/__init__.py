"""Tornado handlers: the native API, the PaddleX and v1 dialects, websockets."""
