"""A sampler process: one model loaded from a checkpoint folder, answering predictions as JSON lines.

``python -m jupyter_trio.trainers.sampler_worker <folder>`` first writes ``{"ready": true, ...}`` (or
``{"ready": false, "error": ...}``), then answers each stdin line ``{"image": <base64>, "score_thresh": 0.5,
"visualize": true}`` with one stdout line ``{"result": ..., "visualization": <base64 PNG>}`` or
``{"error": ...}``. Anything else the libraries print goes to stderr, never into the protocol.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import traceback
from pathlib import Path


def _reply(out, payload: dict) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


def answer(engine, request: dict) -> dict:
    from PIL import Image

    from .inference import jsonable, predict_images, visualize

    image = Image.open(io.BytesIO(base64.b64decode(request["image"], validate=True)))
    image.load()
    image = image.convert("RGB")
    [result] = predict_images(engine, [image], float(request.get("score_thresh", 0.5)))
    reply = {"result": jsonable(result), "visualization": None}
    if request.get("visualize", True):
        buf = io.BytesIO()
        visualize(engine, image, result).save(buf, "PNG")
        reply["visualization"] = base64.b64encode(buf.getvalue()).decode()
    return reply


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints (paddle's, ours) go to the log
    try:
        from .engine import Engine

        engine = Engine.from_folder(Path(sys.argv[1]), log=lambda line: print(line, file=sys.stderr))
    except Exception as exc:
        traceback.print_exc()
        _reply(protocol, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    _reply(protocol, {"ready": True, "task_type": engine.task_type, "labels": engine.labels})
    for line in sys.stdin:
        try:
            reply = answer(engine, json.loads(line))
        except Exception as exc:  # a bad image is the caller's error; the sampler stays up
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        _reply(protocol, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
