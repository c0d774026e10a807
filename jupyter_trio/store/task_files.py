"""A task's folder: the frozen config.yaml (script tasks) or command.sh (shell tasks), and the config's
JSON twin the runner writes for the job at launch."""

from __future__ import annotations

import json
import logging
import os
import threading

import yaml

from .. import config_yaml
from ..errors import YAMLTooLarge
from ..tracking.config import config_twin_path
from .paths import WorkspaceLayout

log = logging.getLogger(__name__)

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


def write_config_twin(layout: WorkspaceLayout, task_id: str) -> None:
    """Write ``.config.yaml.json`` beside the task's config.yaml: the config exactly as ``trio.read()``
    would parse it, stamped with the YAML file's size and mtime. A job whose config.yaml is unchanged
    since reads the JSON and never imports or runs a YAML parser (a tenth of a short trial's start-up,
    bench/sweep_bench.py); an edited, rewritten or remapped config.yaml no longer matches its stamp and is
    parsed as before. A config JSON cannot carry exactly (non-string keys, NaN) gets no twin."""
    source = layout.task_dir(task_id) / "config.yaml"
    try:
        before = source.stat()
        text = source.read_text()
        after = source.stat()
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            return  # replaced while read: the job parses whatever is there
        config = config_yaml.load(text, what="config.yaml")
        payload = json.dumps({"yaml": [after.st_size, after.st_mtime_ns], "config": config})
        if json.loads(payload)["config"] != config:
            return
        twin = config_twin_path(source)
        tmp = twin.with_name(f"{twin.name}.{threading.get_ident()}.tmp")
        tmp.write_text(payload)
        os.replace(tmp, twin)
    except (OSError, TypeError, ValueError, yaml.YAMLError, YAMLTooLarge) as exc:
        log.debug("no JSON twin for %s: %s", source, exc)
