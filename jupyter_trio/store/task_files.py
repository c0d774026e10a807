"""A task's folder: the frozen config.yaml (script tasks) or command.sh (shell tasks)."""

from __future__ import annotations

import os
import threading

import yaml

from .paths import WorkspaceLayout

try:  # libyaml makes writing 10,000 frozen configs several times faster
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


def dump_config(config: dict) -> str:
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def materialize(layout: WorkspaceLayout, task_id: str, kind: str, config: dict, command: str) -> None:
    """Write the task's folder and its frozen file unless it is there already (idempotent, atomic)."""
    folder = layout.task_dir(task_id)
    folder.mkdir(parents=True, exist_ok=True)
    name, text = ("command.sh", command + "\n") if kind == "shell" else ("config.yaml", dump_config(config))
    target = folder / name
    if target.exists():
        return
    tmp = folder / f".{name}.{threading.get_ident()}.tmp"
    tmp.write_text(text)
    os.replace(tmp, target)


def rewrite_config(layout: WorkspaceLayout, task_id: str, config: dict) -> None:
    """Replace a task's frozen config.yaml (a train task whose parameters changed before it ran again)."""
    folder = layout.task_dir(task_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".config.yaml.{threading.get_ident()}.tmp"
    tmp.write_text(dump_config(config))
    os.replace(tmp, folder / "config.yaml")
