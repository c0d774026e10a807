"""Script workspaces (pyruns' run roots) and the launcher's discovery of scripts and configs.

A script workspace belongs to one Python script under the server's root folder. It lives in
``<workspace>/scripts/<name>/`` with ``workspace.json`` (which script) and ``config_default.yaml``
(the template the generator starts from, copied from a config found next to the script). The shell
workspace ``_shell_`` holds shell-command tasks. Which workspace is open is a per-user setting.

Configs are read through :func:`jupyter_trio.config_yaml.load` with its limits (file size, nodes once
aliases are expanded): ``GET /workspace`` reads ``config_default.yaml`` on every call, so a config that
expands to millions of nodes is refused when a workspace is opened, and again if it appears later.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import config_yaml
from ..domain import JSONObject, ScriptWorkspace
from ..errors import BadRequest, NotFound, ValidationFailed
from ..store import Store, resolve_inside

SHELL = "_shell_"
SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist"}
MAX_DEPTH = 6
MAX_RESULTS = 2000
CONFIG_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class PickedScript:
    """What the launcher shows for a script before its workspace is opened."""

    script_path: str
    script_relpath: str
    script_name: str  # the workspace's name, if it is opened
    configs: list[str]  # config files next to it, config.yaml first
    workspace_exists: bool


class ScriptWorkspaces:
    def __init__(self, store: Store, root_dir: Path, max_yaml_nodes: int = config_yaml.MAX_NODES):
        self.store = store
        self.root_dir = Path(os.path.realpath(root_dir))
        self.base = store.root / "scripts"
        self.max_yaml_nodes = max_yaml_nodes

    # ---- the open workspace
    def current(self, owner: str) -> ScriptWorkspace:
        name = self.store.settings.get(owner, "workspace")
        if name and (self.base / name / "workspace.json").is_file():
            return self.describe(name)
        return ScriptWorkspace(name="", kind="none")

    def _set_current(self, owner: str, name: str) -> None:
        self.store.settings.set(owner, "workspace", name)

    def describe(self, name: str) -> ScriptWorkspace:
        folder = self.base / name
        meta = json.loads((folder / "workspace.json").read_text())
        kind = meta.get("kind", "script")
        script = meta.get("script_path", "")
        ready = kind == "shell" or (self.root_dir / script).is_file()
        return ScriptWorkspace(
            name=name,
            kind=kind,
            run_root=str(folder),
            script_path=str(self.root_dir / script) if script else "",
            script_relpath=script,
            ready=ready,
            config_default=self.default_config(name),
        )

    def default_config(self, name: str) -> JSONObject:
        path = self.base / name / "config_default.yaml"
        if not path.is_file():
            return {}
        return _load_config_file(path, self.max_yaml_nodes, f"workspace {name!r}: config_default.yaml")

    # ---- opening
    def script_relpath(self, script_path: str) -> str:
        """A script path from a request, relative to the root folder; it must be an existing .py file."""
        if not script_path:
            raise ValidationFailed("script_path is required")
        path = resolve_inside(self.root_dir, script_path)
        if path.suffix != ".py":
            raise ValidationFailed(f"{script_path!r} is not a Python script (.py)")
        if not path.is_file():
            raise NotFound(f"no such script under the server root: {script_path}")
        return path.relative_to(os.path.realpath(self.root_dir)).as_posix()

    def open_script(self, owner: str, script_path: str, config_path: str | None = None) -> ScriptWorkspace:
        rel = self.script_relpath(script_path)
        name = self._name_for(rel)
        folder = self.base / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "workspace.json").write_text(json.dumps({"kind": "script", "script_path": rel}))
        default = folder / "config_default.yaml"
        if config_path:
            source = resolve_inside(self.root_dir, config_path)
            if not source.is_file():
                raise NotFound(f"no such config under the server root: {config_path}")
            _load_config_file(source, self.max_yaml_nodes)  # refuse a config that does not parse
            shutil.copyfile(source, default)
        elif not default.exists():
            candidates = self.configs_near(self.root_dir / rel)
            if candidates:
                _load_config_file(self.root_dir / candidates[0], self.max_yaml_nodes, candidates[0])
                shutil.copyfile(self.root_dir / candidates[0], default)
            else:
                default.write_text("{}\n")
        self._set_current(owner, name)
        return self.describe(name)

    def open_shell(self, owner: str) -> ScriptWorkspace:
        folder = self.base / SHELL
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "workspace.json").write_text(json.dumps({"kind": "shell", "script_path": ""}))
        self._set_current(owner, SHELL)
        return self.describe(SHELL)

    def open_existing(self, owner: str, name: str) -> ScriptWorkspace:
        if (
            not re.fullmatch(r"[A-Za-z0-9_.-]+", name or "")
            or not (self.base / name / "workspace.json").is_file()
        ):
            raise NotFound(f"no such workspace: {name!r}")
        self._set_current(owner, name)
        return self.describe(name)

    def _name_for(self, rel: str) -> str:
        """Folder name of a script's workspace: the script's stem, made unique per script path."""
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(rel).stem) or "script"
        for n in range(1, 10_000):
            name = stem if n == 1 else f"{stem}-{n}"
            meta = self.base / name / "workspace.json"
            if not meta.is_file() or json.loads(meta.read_text()).get("script_path") == rel:
                return name
        raise ValidationFailed("too many workspaces with the same script name")

    def list(self) -> list[ScriptWorkspace]:
        if not self.base.is_dir():
            return []
        return [
            self.describe(p.name) for p in sorted(self.base.iterdir()) if (p / "workspace.json").is_file()
        ]

    # ---- discovery
    def _walk(self, suffixes: tuple[str, ...]) -> list[str]:
        found: list[str] = []
        root = self.root_dir
        workspace = self.store.root
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            depth = len(here.relative_to(root).parts)
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".")
                and d not in SKIP_DIRS
                and here / d != workspace
                and depth < MAX_DEPTH
            )
            for name in sorted(filenames):
                if name.endswith(suffixes) and not name.startswith("."):
                    found.append((here / name).relative_to(root).as_posix())
                    if len(found) >= MAX_RESULTS:
                        return found
        return found

    def scripts(self) -> list[str]:
        return self._walk((".py",))

    def configs(self) -> list[str]:
        return self._walk(CONFIG_SUFFIXES)

    def configs_near(self, script: Path) -> list[str]:
        """Config files in the script's folder, ``config.yaml`` first."""
        folder = script.parent
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix in CONFIG_SUFFIXES)
        names.sort(key=lambda n: (n not in ("config.yaml", "config.yml"), n))
        return [(folder / n).relative_to(self.root_dir).as_posix() for n in names]

    def pick_script(self, script_path: str) -> PickedScript:
        rel = self.script_relpath(script_path)
        name = self._name_for(rel)
        return PickedScript(
            script_path=str(self.root_dir / rel),
            script_relpath=rel,
            script_name=name,
            configs=self.configs_near(self.root_dir / rel),
            workspace_exists=(self.base / name / "workspace.json").is_file(),
        )


def _load_config_file(path: Path, max_nodes: int = config_yaml.MAX_NODES, what: str = "") -> JSONObject:
    """A config file as a mapping; refused (4xx) when it is too large, expands too far, or is not YAML."""
    what = what or path.name
    with open(path, "rb") as fh:  # read no more than the limit, whatever the file's size
        raw = fh.read(config_yaml.MAX_CHARS + 1)
    if len(raw) > config_yaml.MAX_CHARS:
        raise config_yaml.YAMLTooLarge(f"{what}: refused: it is larger than {config_yaml.MAX_CHARS} bytes")
    try:
        data = config_yaml.load(raw.decode("utf-8", errors="replace"), max_nodes=max_nodes, what=what)
    except config_yaml.YAMLTooLarge:
        raise
    except yaml.YAMLError as exc:
        raise BadRequest(f"{what} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what} must hold a mapping of keys to values")
    return data
