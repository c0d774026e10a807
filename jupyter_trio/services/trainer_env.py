"""Whether the Python that runs trainer jobs can train: it must import PaddlePaddle.

A plain ``pip install jupyter-trio`` has no trainer (PaddlePaddle is the ``[paddle]`` extra, or
``paddlepaddle-gpu`` on CUDA). Without this check a train request was accepted and its job died with
``ModuleNotFoundError``; now the request is refused up front with the fix, and ``/trio/api/health`` and
PaddleX's ``/system`` say whether training is available. The check runs the trainer's own Python (it may
not be the server's), looks the package up without importing it, and is remembered once it succeeds.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass

from ..errors import TrainingUnavailable

_PROBE = """
import importlib.metadata as m, importlib.util as u, json
try:
    found = u.find_spec("paddle") is not None
except Exception:
    found = False
version = None
for dist in ("paddlepaddle", "paddlepaddle-gpu"):
    try:
        version = m.version(dist)
        break
    except Exception:
        pass
print(json.dumps({"found": found, "version": version}))
"""

FIX = (
    "install PaddlePaddle into the Python that runs the jobs: pip install 'jupyter-trio[paddle]' (CPU), "
    "or the paddlepaddle-gpu build that matches your CUDA"
)


@dataclass(frozen=True)
class TrainerStatus:
    available: bool
    python: str
    paddle_version: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "available": self.available,
            "python": self.python,
            "paddle_version": self.paddle_version,
            "reason": self.reason,
        }


class TrainerEnvironment:
    def __init__(self, python: str):
        self.python = python
        self._ok: TrainerStatus | None = None
        self._lock = threading.Lock()

    def status(self) -> TrainerStatus:
        """Checked again on every call until it succeeds (so installing paddle needs no server restart)."""
        if self._ok is not None:
            return self._ok
        with self._lock:
            try:
                out = subprocess.run([self.python, "-c", _PROBE], capture_output=True, text=True, timeout=30)
                probe = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
            except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
                probe = None
            if probe is None:
                return TrainerStatus(
                    False, self.python, None, f"the trainer's Python {self.python} does not run"
                )
            if not probe["found"]:
                return TrainerStatus(
                    False,
                    self.python,
                    None,
                    f"PaddlePaddle is not installed in the trainer's Python {self.python}",
                )
            self._ok = TrainerStatus(True, self.python, probe["version"], "")
            return self._ok

    def require(self, what: str = "training") -> None:
        """Raise a 409 naming the fix when jobs of this kind cannot run."""
        status = self.status()
        if not status.available:
            raise TrainingUnavailable(f"{what} is not available: {status.reason}; {FIX}")
