"""What a run wrote, read for the routes: its log files (tail, read by offset, search) and its tracked
series and record. The handlers reach the runner's log reading and the store's metrics reader only
through here (ARCHITECTURE: handlers reach services only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..runner.logs import LogChunk, log_path, read_from, read_tail, search
from ..store.metrics import MetricsReader


class RunFiles:
    def __init__(self, metrics: MetricsReader):
        self.metrics = metrics

    # ---- logs
    @staticmethod
    def log_path(run_dir: Path, stream: str) -> Path:
        return log_path(run_dir, stream)

    @staticmethod
    def tail(path: Path, lines: int) -> LogChunk:
        return read_tail(path, lines)

    @staticmethod
    def read(path: Path, offset: int, limit: int) -> LogChunk:
        return read_from(path, offset, limit)

    @staticmethod
    def search(path: Path, text: str, offset: int, max_matches: int) -> Any:
        return search(path, text, offset, max_matches)

    # ---- tracked series and the record
    def series_names(self, run_dir: Path) -> dict[str, int]:
        return self.metrics.series_names(run_dir)

    def series(self, run_dir: Path, key: str, **window: Any) -> Any:
        return self.metrics.series(run_dir, key, **window)

    def record(self, run_dir: Path) -> dict[str, Any]:
        return self.metrics.record(run_dir)
