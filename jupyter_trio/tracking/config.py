"""Reading the run's config: ``read`` (look it up, parse YAML or JSON), ``load`` (the one read), and
``ConfigNode`` (attribute and item access, with missing keys named by their dotted path)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class ConfigKeyError(KeyError, AttributeError):
    """A config key that is not there; the message names its full dotted path."""

    def __str__(self) -> str:
        return self.args[0] if self.args else "missing config key"


class ConfigNode:
    """Nested config with attribute and item access: ``cfg.model.name`` or ``cfg["model"]["name"]``."""

    __slots__ = ("_data", "_path")

    def __init__(self, data: dict[str, Any] | None = None, path: str = ""):
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_path", path)

    def _wrap(self, key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return ConfigNode(value, f"{self._path}.{key}" if self._path else str(key))
        if isinstance(value, list):
            return [self._wrap(f"{key}[{i}]", v) if isinstance(v, dict) else v for i, v in enumerate(value)]
        return value

    def __getitem__(self, key: str) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            where = f"{self._path}.{key}" if self._path else str(key)
            known = ", ".join(map(str, self._data)) or "none"
            raise ConfigKeyError(f"config has no key {where!r} (keys here: {known})") from None
        return self._wrap(key, value)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]

    def __setattr__(self, key: str, value: Any) -> None:
        self._data[key] = value.to_dict() if isinstance(value, ConfigNode) else value

    __setitem__ = __setattr__

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConfigNode):
            return self._data == other._data
        return isinstance(other, dict) and self._data == other

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._data else default

    def keys(self):
        return self._data.keys()

    def items(self):
        return [(k, self._wrap(k, v)) for k, v in self._data.items()]

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._data, default=str)) if self._data else {}

    def __repr__(self) -> str:
        import yaml

        body = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None).strip()
        label = f" {self._path}" if self._path else ""
        return (
            f"ConfigNode{label}:\n  " + body.replace("\n", "\n  ")
            if body != "{}"
            else f"ConfigNode{label}: {{}}"
        )


_config: ConfigNode | None = None


def _default_config_path() -> Path | None:
    """``<workspace>/scripts/<script stem>/config_default.yaml`` for the script being run."""
    import sys

    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    if not script:
        return None
    for workspace in workspace_candidates():
        candidate = workspace / "scripts" / script / "config_default.yaml"
        if candidate.is_file():
            return candidate
    return None


def workspace_candidates() -> list[Path]:
    if os.environ.get("TRIO_WORKSPACE"):
        return [Path(os.environ["TRIO_WORKSPACE"])]
    here = Path.cwd().absolute()
    return [folder / ".trio" for folder in (here, *here.parents) if (folder / ".trio").is_dir()]


def config_twin_path(path: Path) -> Path:
    """Where the runner puts the JSON twin of a task's config.yaml (``store/task_files.py``)."""
    return path.with_name(f".{path.name}.json")


def _twin(path: Path) -> dict[str, Any] | None:
    """The runner's JSON copy of ``path`` if it was made from the file as it is now (size and mtime)."""
    try:
        data = json.loads(config_twin_path(path).read_bytes())
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("yaml") != [stat.st_size, stat.st_mtime_ns]:
        return None
    config = data.get("config")
    return config if isinstance(config, dict) else None


def _parse_config(path: Path) -> dict[str, Any]:
    if path.suffix != ".json" and (twin := _twin(path)) is not None:
        return twin
    from .. import config_yaml  # imported on use (it imports yaml): `import jupyter_trio` stays cheap in jobs

    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text) if text.strip() else {}
    else:
        data = config_yaml.load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of keys to values, not {type(data).__name__}")
    return data


def read(file_path: str | os.PathLike | None = None) -> ConfigNode:
    """Read the run's config and make it the one :func:`load` returns.

    Look-up order: the config the runner gave this job (``TRIO_CONFIG``), then ``file_path``, then the
    workspace's default config of the running script. YAML and JSON are both read.
    """
    global _config
    candidates = [os.environ.get("TRIO_CONFIG"), file_path]
    for candidate in candidates:
        if candidate:
            path = Path(candidate)
            if not path.is_file():
                raise FileNotFoundError(f"config file not found: {path}")
            _config = ConfigNode(_parse_config(path))
            return _config
    default = _default_config_path()
    if default is None:
        raise FileNotFoundError(
            "no config: not inside a jupyter-trio task (TRIO_CONFIG unset), no file_path given, and no "
            "workspace default config for this script"
        )
    _config = ConfigNode(_parse_config(default))
    return _config


def use_config(config: ConfigNode | None) -> None:
    """Make ``config`` the one :func:`load` returns (``init(config=...)``; ``None`` forgets it)."""
    global _config
    _config = config


def load() -> ConfigNode:
    """The config read by :func:`read` (read first if needed)."""
    return _config if _config is not None else read()
