"""Reading what ``jupyter_trio.track`` / ``record`` wrote into a run folder, incrementally.

A run folder holds ``metrics/*.trk`` (binary blocks, see ``jupyter_trio._trackfile``) and
``records/*.jsonl``, one file per writing process. The reader remembers how far it parsed each file
and only reads the bytes added since, stopping at the last whole block or line (a writer may be
half-way through one), so polling a live run costs little.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _trackfile


@dataclass
class Series:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    sorted: bool = True

    def extend(self, steps: list[int], values: list[float], times: list[float]) -> None:
        if not steps:
            return
        if self.steps and (steps[0], times[0]) < (self.steps[-1], self.times[-1]):
            self.sorted = False
        if self.sorted and any(steps[i] > steps[i + 1] for i in range(len(steps) - 1)):
            self.sorted = False
        self.steps.extend(steps)
        self.values.extend(values)
        self.times.extend(times)

    def ordered(self) -> Series:
        """Points ordered by step (then time): several writers interleave their files."""
        if not self.sorted:
            order = sorted(range(len(self.steps)), key=lambda i: (self.steps[i], self.times[i]))
            self.steps = [self.steps[i] for i in order]
            self.values = [self.values[i] for i in order]
            self.times = [self.times[i] for i in order]
            self.sorted = True
        return self


@dataclass
class _RunData:
    offsets: dict[str, int] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    records: list[tuple[float, dict]] = field(default_factory=list)
    bad_bytes: int = 0


class MetricsReader:
    """Incremental, cached reader of run folders (LRU of ``max_runs`` runs)."""

    def __init__(self, max_runs: int = 64):
        self._runs: OrderedDict[Path, _RunData] = OrderedDict()
        self._lock = threading.Lock()
        self.max_runs = max_runs

    def _refresh(self, run_dir: Path) -> _RunData:
        with self._lock:
            data = self._runs.pop(run_dir, None) or _RunData()
            self._runs[run_dir] = data
            while len(self._runs) > self.max_runs:
                self._runs.popitem(last=False)
            for path in sorted((run_dir / "metrics").glob(f"*{_trackfile.SUFFIX}")):
                chunk, offset_key = self._new_bytes(data, path)
                if chunk:
                    blocks, used, skipped = _trackfile.decode(chunk)
                    data.offsets[offset_key] += used
                    data.bad_bytes += skipped
                    for key, steps, values, times in blocks:
                        series = data.series.get(key)
                        if series is None:
                            series = data.series[key] = Series()
                        series.extend(steps, values, times)
            for path in sorted((run_dir / "records").glob("*.jsonl")):
                chunk, offset_key = self._new_bytes(data, path)
                end = chunk.rfind(b"\n") + 1  # only whole lines; the rest waits for the writer
                data.offsets[offset_key] += end
                for line in chunk[:end].splitlines():
                    try:
                        item = json.loads(line)
                        data.records.append((float(item["t"]), item["data"]))
                    except (ValueError, KeyError, TypeError):
                        data.bad_bytes += len(line)
            return data

    @staticmethod
    def _new_bytes(data: _RunData, path: Path) -> tuple[bytes, str]:
        key = f"{path.parent.name}/{path.name}"
        offset = data.offsets.setdefault(key, 0)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return b"", key
        if size <= offset:
            return b"", key
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(size - offset), key

    # ---- queries
    def series_names(self, run_dir: Path) -> dict[str, int]:
        data = self._refresh(run_dir)
        return {name: len(s.steps) for name, s in sorted(data.series.items())}

    def series(
        self,
        run_dir: Path,
        key: str,
        *,
        since_step: int | None = None,
        max_points: int | None = None,
        from_step: int | None = None,
        to_step: int | None = None,
    ) -> Series | None:
        """A series in step order; ``since_step`` (exclusive) / ``from_step``..``to_step`` (inclusive) cut it,
        then ``max_points`` keeps each bucket's min and max (the chart asks for its pixel width)."""
        data = self._refresh(run_dir)
        found = data.series.get(key)
        if found is None:
            return None
        with self._lock:
            s = found.ordered()
            steps, values, times = s.steps, s.values, s.times
            low = since_step  # the last step left out (steps are integers)
            if from_step is not None:
                low = from_step - 1 if low is None else max(low, from_step - 1)
            if low is not None or to_step is not None:
                start = _first_after(steps, low) if low is not None else 0
                end = _first_after(steps, to_step) if to_step is not None else len(steps)
                steps, values, times = steps[start:end], values[start:end], times[start:end]
            else:
                steps, values, times = list(steps), list(values), list(times)
        if max_points is not None and len(steps) > max_points:
            return downsample(Series(steps, values, times), max_points)
        return Series(steps, values, times)

    def last_point(self, run_dir: Path, key: str) -> tuple[int, float] | None:
        """The newest (step, value) of a series, without copying it (the progress pass reads this)."""
        data = self._refresh(run_dir)
        found = data.series.get(key)
        if found is None or not found.steps:
            return None
        with self._lock:
            s = found.ordered()
            return s.steps[-1], s.values[-1]

    def record(self, run_dir: Path) -> dict[str, Any]:
        """The run's record: every ``record()`` call merged in time order, later keys win."""
        data = self._refresh(run_dir)
        merged: dict[str, Any] = {}
        for _, item in sorted(data.records, key=lambda r: r[0]):
            merged.update(item)
        return merged


def _first_after(steps: list[int], since: int) -> int:
    lo, hi = 0, len(steps)
    while lo < hi:
        mid = (lo + hi) // 2
        if steps[mid] <= since:
            lo = mid + 1
        else:
            hi = mid
    return lo


def downsample(series: Series, max_points: int) -> Series:
    """At most ``max_points`` points: each bucket keeps its minimum and maximum, in step order.

    The true extremes of the whole series therefore always survive, which plain striding loses.
    A bucket of only NaN points keeps one of them, so gaps stay visible. ``max_points`` >= 2.
    """
    n = len(series.steps)
    buckets = max(1, max_points // 2)
    size = math.ceil(n / buckets)
    keep: list[int] = []
    for start in range(0, n, size):
        idx = range(start, min(n, start + size))
        finite = [i for i in idx if not math.isnan(series.values[i])]
        if finite:
            chosen = {min(finite, key=series.values.__getitem__), max(finite, key=series.values.__getitem__)}
        else:
            chosen = {idx[0]}
        keep.extend(sorted(chosen))
    return Series(
        [series.steps[i] for i in keep], [series.values[i] for i in keep], [series.times[i] for i in keep]
    )
