"""Issue 35: executors and GPU sources are configurables with settings of their own (``c.RayExecutor.*``,
``c.LocalExecutor.*``, ``c.LocalGPUs.*``, ``c.HubLeases.*``), built by the server with itself as their
config parent and what they need of it passed explicitly — never the app. The old ``c.TrioApp.ray_*`` (and
``gpus``, ``spare_shims``) still work, as deprecated aliases that warn."""

from __future__ import annotations

import logging
import types
from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config, Configurable

from jupyter_trio.app import MOVED_TRAITS, TrioApp
from jupyter_trio.runner.executor import ServerContext
from jupyter_trio.runner.gpu_sources import HubLeases, LocalGPUs
from jupyter_trio.runner.local_executor import LocalExecutor
from jupyter_trio.runner.ray_executor import RayCluster, RayExecutor
from jupyter_trio.services.run_tokens import RunTokens
from jupyter_trio.store import Store

ADDRESS = "http://127.0.0.1:9"  # nothing answers there: the executor only says the cluster is away
RAY_PYTHON = "/opt/ray/bin/python"


def make_app(**sections: dict) -> tuple[TrioApp, list[str]]:
    """A TrioApp with this config, and the warnings its log gets."""
    app = TrioApp(config=Config(sections))
    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    app.log.addHandler(Collect())
    return app, warnings


def ray_executor(app: TrioApp, tmp_path: Path) -> RayExecutor:
    store = Store(tmp_path / "ws")
    context = ServerContext(
        workspace=store.root, root_dir=tmp_path, store=store, run_tokens=RunTokens(b"k" * 32)
    )
    return RayExecutor.for_server(context, parent=app)


def holds(owner: object, target: object, depth: int = 6, skip: tuple[str, ...] = ()) -> list[str]:
    """Paths along which ``owner``'s own state reaches ``target``: attributes, containers, closures, bound
    methods. Traitlets' config ``parent`` is left out (it is how ``c.<Class>.*`` reaches a configurable),
    and so is whatever another configurable or a logger holds (theirs, not the owner's), and the owner's
    attributes named in ``skip``."""
    found: list[str] = []
    seen: set[int] = set()
    atoms = (str, bytes, int, float, bool, type(None), type, types.ModuleType, Path)

    def walk(value: object, path: str, left: int) -> None:
        if value is target:
            found.append(path)
            return
        if left == 0 or id(value) in seen or isinstance(value, atoms):
            return
        seen.add(id(value))
        if value is not owner and isinstance(value, (Configurable, logging.Logger)):
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if not (path.endswith("._trait_values") and key == "parent"):
                    walk(item, f"{path}[{key!r}]", left - 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]", left - 1)
        elif isinstance(value, types.MethodType):
            walk(value.__self__, f"{path}.__self__", left - 1)
        elif isinstance(value, types.FunctionType):
            for i, cell in enumerate(value.__closure__ or ()):
                walk(cell.cell_contents, f"{path}.<closure {i}>", left - 1)
            walk(value.__defaults__, f"{path}.__defaults__", left - 1)
        elif hasattr(value, "__dict__"):
            for key, item in vars(value).items():
                walk(item, f"{path}.{key}", left - 1)

    for name in skip:
        seen.add(id(vars(owner)[name]))
    walk(owner, "self", depth)
    return found


# ---- the new names reach their owners
def test_ray_executor_settings_reach_it_from_its_own_section(tmp_path):
    app, warnings = make_app(
        RayExecutor={
            "address": ADDRESS,
            "python": RAY_PYTHON,
            "cpus_per_job": 2.5,
            "runtime_env": {"pip": ["x"]},
            "shared_filesystem": True,
        }
    )
    executor = ray_executor(app, tmp_path)
    try:
        assert executor.endpoint == ADDRESS and executor.describe()["address"] == ADDRESS
        assert (executor.python, executor.cpus_per_job, executor.runtime_env) == (
            RAY_PYTHON,
            2.5,
            {"pip": ["x"]},
        )
        assert executor.parent is app and warnings == []
    finally:
        executor.close()


def test_local_executor_and_gpu_sources_read_their_sections(tmp_path):
    app, _ = make_app(
        LocalExecutor={"spare_shims": 3},
        LocalGPUs={"gpus": "none"},
        HubLeases={"url": "http://127.0.0.1:9/services/gpus", "service": "other-gpus"},
    )
    assert LocalExecutor.for_server(ServerContext(tmp_path, tmp_path), parent=app).spare_shims == 3
    assert LocalGPUs(parent=app).inventory() == []
    hub = HubLeases(parent=app, token="t")
    try:
        assert hub.base == "http://127.0.0.1:9/services/gpus/" and hub.service == "other-gpus"
    finally:
        hub.close()


def test_settings_are_validated_by_their_owner():
    with pytest.raises(TraitError, match="between 0 and 16"):
        LocalExecutor(spare_shims=17)
    with pytest.raises(TraitError, match="more than 0"):
        RayExecutor(workspace=Path("/w"), root_dir=Path("/"), tag="t", cpus_per_job=0)
    with pytest.raises(TraitError):
        LocalGPUs(gpus="0,0")


def endpoint_and_python(app, tmp_path) -> tuple[str, str]:
    """Where the app's RayExecutor sends jobs, and with which Python."""
    executor = ray_executor(app, tmp_path)
    try:
        return executor.endpoint, executor.python
    finally:
        executor.close()


# ---- the old names: aliases that warn
def test_a_trio_app_alias_still_works_and_warns(tmp_path):
    app, warnings = make_app(TrioApp={"ray_address": ADDRESS, "ray_python": RAY_PYTHON, "spare_shims": 0})
    app._apply_moved_traits()
    assert endpoint_and_python(app, tmp_path) == (ADDRESS, RAY_PYTHON)
    assert LocalExecutor(parent=app).spare_shims == 0
    assert sorted(warnings) == [
        "c.TrioApp.ray_address is deprecated: use c.RayExecutor.address",
        "c.TrioApp.ray_python is deprecated: use c.RayExecutor.python",
        "c.TrioApp.spare_shims is deprecated: use c.LocalExecutor.spare_shims",
    ]


def test_the_new_name_wins_over_its_alias(tmp_path):
    app, warnings = make_app(
        TrioApp={"ray_address": "http://old:8265", "ray_python": RAY_PYTHON},
        RayExecutor={"address": ADDRESS, "python": RAY_PYTHON},  # the same python: no warning for it
    )
    app._apply_moved_traits()
    assert endpoint_and_python(app, tmp_path) == (ADDRESS, RAY_PYTHON)
    assert warnings == [
        "Ignoring the deprecated c.TrioApp.ray_address: c.RayExecutor.address is set and wins"
    ]


def test_every_alias_names_a_trait_of_its_owner():
    owners = {cls.__name__: cls for cls in (LocalExecutor, RayExecutor, LocalGPUs, HubLeases)}
    for old, (owner, new) in MOVED_TRAITS.items():
        assert TrioApp.class_traits()[old].metadata["config"], old
        assert new in owners[owner].class_traits(config=True), (old, owner, new)
        assert f"c.{owner}.{new}" in TrioApp.class_traits()[old].help


# ---- no reference to the app
def test_the_walk_finds_a_reference_to_the_app_where_there_is_one():
    app = object()
    assert holds(types.SimpleNamespace(f=lambda: app), app) == ["self.f.<closure 0>"]
    assert holds(types.SimpleNamespace(items=[{"a": app}]), app) == ["self.items[0]['a']"]


def test_an_executor_holds_no_reference_to_the_app(tmp_path):
    app, _ = make_app()
    context = ServerContext(tmp_path, tmp_path, hidden=("secret",))
    local = LocalExecutor.for_server(context, parent=app)
    assert local.parent is app and holds(local, app) == []
    ray = ray_executor(app, tmp_path)
    try:
        assert holds(ray, app) == [] and holds(ray.resources(), app) == []
    finally:
        ray.close()


# ---- in a running server: c.RayExecutor.* and the c.TrioApp.ray_* aliases reach the Ray executor
@pytest.fixture
def trio_config() -> dict:
    return {"executor": "ray", "ray_python": RAY_PYTHON}  # the alias, as tests/test_ray_executor.py sets it


@pytest.fixture
def jp_server_config(jp_server_config: dict) -> dict:
    return {**jp_server_config, "RayExecutor": {"address": ADDRESS}}


async def test_a_server_builds_its_executor_from_both_names_without_handing_it_itself(trio_app, api):
    executor = trio_app.runner.executor
    assert isinstance(executor, RayExecutor) and executor.parent is trio_app
    assert executor.endpoint == ADDRESS and executor.python == RAY_PYTHON
    assert isinstance(trio_app.runner.gpu_source, RayCluster)
    # on_granted / on_job_ended are the runner's hooks (they wake the runner, which has its own wiring to
    # the app)
    assert holds(executor, trio_app, skip=("on_job_ended",)) == []
    assert holds(trio_app.runner.gpu_source, trio_app, skip=("on_granted",)) == []
    assert holds(trio_app.runner.local, trio_app, skip=("on_job_ended",)) == []
    status, health = await api("GET", "trio/api/health")
    assert status == 200 and health["executor"] == "ray"
    assert health["executor_state"]["address"] == ADDRESS
    assert health["executor_state"]["reachable"] is False
