"""Runs side by side (pyruns's run views): what a run ran with, how two runs' inputs differ, and two runs
(of one task or of two) compared by their facts, parameters and metrics.

What is a run's own and what is its task's: the store keeps no copy of a run's input, so a run's input is
built from what is on disk now. ``launch_argv`` and ``workdir`` are the run's own (its ``command.json``,
of which only ``argv`` and ``cwd`` are ever read: a run from before its supervisor emptied that file kept
the server's environment in it). ``payload_text`` (the frozen ``config.yaml`` or ``command.sh`` every run
of the task reads) and ``environment`` (the task's own variables) are the task's as they are now: a train
task whose parameters were changed, or a task whose env was replaced, ran its earlier runs with other
values. Metrics are a run's record (``record()``) and the final value of each series it tracked; the
comparison is one function over those, to be backed by a run table once the store keeps one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..domain import JSONObject, Provenance, Run, Task
from ..errors import BadRequest
from ..store.task_files import dump_config
from . import provenance
from .run_files import RunFiles
from .tasks import TaskService

# pyruns compares these fields of two inputs, and leaves out when and where a launch happened
INPUT_FIELDS = (
    "task_kind",
    "payload_file",
    "payload_text",
    "script",
    "command",
    "workdir",
    "shell_executable",
    "environment",
)
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024  # a frozen config larger than this is not served
MAX_DIFF_BYTES = 256 * 1024  # a diff is for reading: cut there (``truncated``)
MAX_DIFF_LINES = 4000
MAX_ALIGNED_LINES = 20_000  # longer inputs differ as a whole (difflib's alignment grows faster than lines)
NOT_RECORDED = "Not recorded"


@dataclass(frozen=True, slots=True)
class RunInput:
    """What a run ran with (pyruns's run input)."""

    run_index: int
    task_kind: str
    payload_file: str
    payload_text: str
    script: str | None
    command: str | None
    workdir: str | None
    shell_executable: str | None
    environment: Mapping[str, str]
    launch_argv: tuple[str, ...] | None

    def compared(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in INPUT_FIELDS}


@dataclass(frozen=True, slots=True)
class InputSide:
    reference: str  # "<task>@<run>"
    available: bool


@dataclass(frozen=True, slots=True)
class InputDiff:
    """Two inputs compared: which fields changed, and a unified diff of them (bounded)."""

    left: InputSide
    right: InputSide
    available: bool  # both inputs are known
    equal: bool | None  # None when one is not known
    changed_fields: tuple[str, ...] = ()
    diff: str = ""
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class RunEnvironment:
    """Where a run ran: the executor that started it, the GPUs it held, who queued it."""

    executor: str
    gpus: tuple[int, ...]
    created_by: str


@dataclass(frozen=True, slots=True)
class RunSide:
    """One side of a comparison: a run's facts, its record, whether its input is known."""

    task_name: str
    run_index: int
    reference: str
    status: str
    start_time: float | None
    finish_time: float | None
    duration_seconds: float | None
    exit_code: int | None
    source_state: str | None  # pyruns's snapshot of the source tree; not kept here
    environment: RunEnvironment
    record: JSONObject | None
    input_available: bool


@dataclass(frozen=True, slots=True)
class ValueRow:
    """One key on both sides, each shown as JSON text ("Not recorded" where missing), and the change."""

    key: str
    left: str
    right: str
    changed: bool
    delta: str | None = None  # right - left, where both are numbers


@dataclass(frozen=True, slots=True)
class RunComparison:
    left: RunSide
    right: RunSide
    metric_rows: tuple[ValueRow, ...]
    param_rows: tuple[ValueRow, ...]
    input_diff: InputDiff
    provenance_rows: tuple[ValueRow, ...] = ()  # what ran: code, Python, host, GPUs, packages that differ


# ---- a run's input
def reference(task: Task, run_index: int) -> str:
    return f"{task.name}@{run_index}"


def run_input(tasks: TaskService, name: str, run_index: int) -> tuple[Task, RunInput | None]:
    """The task and what its run ``run_index`` ran with; ``None`` for a run that never started (queued, or
    cancelled before it did). An unknown task or run is a 404."""
    task, run = tasks.run_of(name, run_index)
    return task, _input_of(tasks, task, run)


def _input_of(tasks: TaskService, task: Task, run: Run) -> RunInput | None:
    if run.started_at is None:
        return None
    argv, cwd = _launch(tasks.run_dir(task.id, run.run_index) / "command.json")
    shell = task.kind == "shell"
    payload_file = "command.sh" if shell else "config.yaml"
    return RunInput(
        run_index=run.run_index,
        task_kind=str(task.kind),
        payload_file=payload_file,
        payload_text=_payload(tasks.store.layout.task_dir(task.id) / payload_file, task),
        script=(task.script_path or None) if task.kind == "script" else None,
        command=task.command if shell else None,
        workdir=cwd,
        shell_executable=(argv[0] if argv else "/bin/bash") if shell else None,
        environment={str(k): str(v) for k, v in task.env.items()},
        launch_argv=argv,
    )


def _launch(path: Path) -> tuple[tuple[str, ...] | None, str | None]:
    """``argv`` and ``cwd`` of a run's ``command.json``; nothing else of it leaves this function."""
    try:
        spec = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None, None
    if not isinstance(spec, dict):
        return None, None
    argv = spec.get("argv")
    cwd = spec.get("cwd")
    return (
        tuple(str(a) for a in argv) if isinstance(argv, list) else None,
        cwd if isinstance(cwd, str) and cwd else None,
    )


def _payload(path: Path, task: Task) -> str:
    """The frozen file the job read; the task's own values where it was never written (a task whose
    folder is written after its first run queued)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return task.command + "\n" if task.kind == "shell" else dump_config(dict(task.config))
    if size > MAX_PAYLOAD_BYTES:
        raise BadRequest(
            f"the run's {path.name} is too large to show ({size} bytes; at most {MAX_PAYLOAD_BYTES})",
            code="input_too_large",
        )
    return path.read_bytes().decode("utf-8", errors="replace")


# ---- two inputs
def diff_inputs(
    left: RunInput | None, right: RunInput | None, left_label: str, right_label: str
) -> InputDiff:
    """Which compared fields differ, and a unified diff of the inputs as text (fields, then the payload)."""
    sides = InputSide(left_label, left is not None), InputSide(right_label, right is not None)
    if left is None or right is None:
        return InputDiff(*sides, available=False, equal=None)
    a, b = left.compared(), right.compared()
    changed = tuple(name for name in INPUT_FIELDS if _canonical(a[name]) != _canonical(b[name]))
    if not changed:
        return InputDiff(*sides, available=True, equal=True)
    text, truncated = unified_diff(_as_text(a), _as_text(b), left_label, right_label)
    return InputDiff(
        *sides, available=True, equal=False, changed_fields=changed, diff=text, truncated=truncated
    )


def diff_runs(tasks: TaskService, name: str, run_index: int, other_run: int) -> InputDiff:
    """Run ``other_run`` (left) against ``run_index`` (right) of one task, as pyruns orders them."""
    task, right = run_input(tasks, name, run_index)
    _, left = run_input(tasks, name, other_run)
    return diff_inputs(left, right, reference(task, other_run), reference(task, run_index))


def _as_text(fields: dict[str, Any]) -> str:
    # the payload stays as written (YAML, a shell script), not JSON-escaped onto one line
    header = {k: v for k, v in fields.items() if k != "payload_text"}
    return json.dumps(header, indent=2, sort_keys=True, ensure_ascii=False) + (
        "\n\n--- payload ---\n" + fields["payload_text"]
    )


def unified_diff(left: str, right: str, left_label: str, right_label: str) -> tuple[str, bool]:
    """A unified diff (three lines of context) cut at ``MAX_DIFF_LINES`` / ``MAX_DIFF_BYTES``; ``True`` when
    cut. Inputs too long to align line by line differ as one hunk."""
    a, b = left.splitlines(keepends=True), right.splitlines(keepends=True)
    if len(a) + len(b) > MAX_ALIGNED_LINES:
        lines: Iterable[str] = [
            f"--- {left_label}\n",
            f"+++ {right_label}\n",
            f"@@ -1,{len(a)} +1,{len(b)} @@\n",
            *("-" + line for line in a),
            *("+" + line for line in b),
        ]
    else:
        lines = difflib.unified_diff(a, b, fromfile=left_label, tofile=right_label, n=3)
    out: list[str] = []
    size = count = 0
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        count += line.count("\n")
        encoded = len(line.encode("utf-8"))
        if count > MAX_DIFF_LINES or size + encoded > MAX_DIFF_BYTES:
            return "".join(out), True
        out.append(line)
        size += encoded
    return "".join(out), False


# ---- two runs
def compare_runs(
    tasks: TaskService,
    run_files: RunFiles,
    name: str,
    run_index: int,
    other_run: int,
    other_task: str | None = None,
) -> RunComparison:
    """Run ``other_run`` of ``other_task`` (default: the same task) on the left, run ``run_index`` of
    ``name`` on the right: their facts, their parameters (the tasks' configs), their metrics (each run's
    record, and the final value of every series it tracked; the record wins where both name a key), and
    the diff of their inputs. An unknown task or run is a 404."""
    right_task, right_run = tasks.run_of(name, run_index)
    left_task, left_run = tasks.run_of(other_task, other_run) if other_task else tasks.run_of(name, other_run)
    right_input = _input_of(tasks, right_task, right_run)
    left_input = _input_of(tasks, left_task, left_run)
    left_metrics = _metrics(run_files, tasks.run_dir(left_task.id, other_run))
    right_metrics = _metrics(run_files, tasks.run_dir(right_task.id, run_index))
    left = _side(left_task, left_run, left_metrics.record, left_input is not None)
    right = _side(right_task, right_run, right_metrics.record, right_input is not None)
    return RunComparison(
        left=left,
        right=right,
        metric_rows=value_rows(left_metrics.values, right_metrics.values),
        param_rows=value_rows(_flatten(left_task.config), _flatten(right_task.config)),
        input_diff=diff_inputs(left_input, right_input, left.reference, right.reference),
        provenance_rows=provenance_rows(
            provenance.read(tasks.run_dir(left_task.id, other_run)),
            provenance.read(tasks.run_dir(right_task.id, run_index)),
        ),
    )


def provenance_rows(left: Provenance | None, right: Provenance | None) -> tuple[ValueRow, ...]:
    """Two runs' provenance side by side, one row per fact (``git.commit``, ``python``, ``host``...); of
    the hundreds of packages, only those whose version differs (``packages.<name>``). The diff is shown by
    its size and digest: the run input diff and the run's provenance hold its text."""

    def facts(found: Provenance | None) -> dict[str, Any]:
        if found is None:
            return {}
        out: dict[str, Any] = {
            "python": found.python,
            "executable": found.executable,
            "host": found.host,
            "platform": found.platform,
            "gpus": list(found.gpus),
            "driver": found.driver,
        }
        if found.git is not None:
            diff = found.git.diff.encode()
            out |= {
                "git.root": found.git.root,
                "git.commit": found.git.commit,
                "git.branch": found.git.branch,
                "git.dirty": found.git.dirty,
                "git.diff": f"{len(diff)} bytes, sha256 {hashlib.sha256(diff).hexdigest()[:12]}"
                if diff
                else "",
                "git.untracked": list(found.git.untracked),
            }
        return out

    packages_a = dict(left.packages) if left else {}
    packages_b = dict(right.packages) if right else {}
    differ = {
        name for name in packages_a.keys() | packages_b.keys() if packages_a.get(name) != packages_b.get(name)
    }
    a = facts(left) | {f"packages.{n}": packages_a[n] for n in differ if n in packages_a}
    b = facts(right) | {f"packages.{n}": packages_b[n] for n in differ if n in packages_b}
    return value_rows(a, b)


@dataclass(frozen=True, slots=True)
class _Metrics:
    record: JSONObject | None
    values: dict[str, Any]  # final series values, overridden by the record


def _metrics(run_files: RunFiles, run_dir: Path) -> _Metrics:
    values: dict[str, Any] = {}
    for key in run_files.series_names(run_dir):
        last = run_files.metrics.last_point(run_dir, key)
        if last is not None:
            values[key] = last[1]
    record = run_files.record(run_dir)
    values.update(record)
    return _Metrics(record or None, values)


def _side(task: Task, run: Run, record: JSONObject | None, input_available: bool) -> RunSide:
    ended, started = run.ended_at, run.started_at
    return RunSide(
        task_name=task.name,
        run_index=run.run_index,
        reference=reference(task, run.run_index),
        status=str(run.status),
        start_time=started,
        finish_time=ended,
        duration_seconds=ended - started if ended is not None and started is not None else None,
        exit_code=run.exit_code,
        source_state=None,
        environment=RunEnvironment(run.executor, run.gpu_ids, run.created_by),
        record=record,
        input_available=input_available,
    )


_MISSING = object()


def value_rows(left: Mapping[str, Any], right: Mapping[str, Any]) -> tuple[ValueRow, ...]:
    """One row per key of either side, sorted; values as JSON text so no client rounds a large integer."""
    rows = []
    for key in sorted(left.keys() | right.keys()):
        a, b = left.get(key, _MISSING), right.get(key, _MISSING)
        shown_a, shown_b = _shown(a), _shown(b)
        rows.append(ValueRow(key, shown_a, shown_b, shown_a != shown_b, _delta(a, b)))
    return tuple(rows)


def _shown(value: Any) -> str:
    if value is _MISSING:
        return NOT_RECORDED
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=str)


def _delta(a: Any, b: Any) -> str | None:
    numbers = (int, float)
    if not (type(a) in numbers and type(b) in numbers):  # bools are not numbers here
        return None
    if type(a) is int and type(b) is int:
        return str(b - a)
    if any(type(v) is int and abs(v) > 2**53 - 1 for v in (a, b)):
        return None  # a float beside an integer past 2**53 would round it
    difference = b - a
    return format(difference, ".8g") if math.isfinite(difference) else None


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value
