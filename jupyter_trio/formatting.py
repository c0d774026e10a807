"""Small text formats shared by the job logs, the PaddleX dialect and the panels."""

from __future__ import annotations


def hms(seconds: float) -> str:
    """``3725.4`` → ``"1:02:05"`` (negative counts as 0)."""
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
