"""The layers keep their direction: dialects (handlers/) translate and call services; only services and
the runner reach the store, and raw SQL lives only in store/."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_trio"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_handler_imports_the_store():
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(
            m for m in imported_modules(p) if m.startswith("jupyter_trio.store")
        )
        for p in (PACKAGE / "handlers").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_handlers_do_not_reach_the_store_through_the_app():
    uses = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in (PACKAGE / "handlers").rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\.store\b", line)
    ]
    assert uses == []


def test_raw_sql_lives_in_the_store():
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
    outside = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in PACKAGE.rglob("*.py")
        # the GPU arbiter is a process of its own (a Hub service) with its own SQLite file, not the
        # workspace's store: its SQL lives in one module too
        if "store" not in p.parts and p.relative_to(PACKAGE).as_posix() != "hub/state.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if sql.search(line)
    ]
    assert outside == []


def test_the_import_walk_resolves_relative_imports():
    """A handler writing ``from ..store import Store`` or ``from ...store.tasks import x`` is caught."""
    names = imported_modules(PACKAGE / "handlers" / "paddlex" / "tasks.py")
    assert "jupyter_trio.errors" in names  # ...errors, three dots deep
    assert "jupyter_trio.handlers.base" in names  # ..base


def test_every_service_error_is_defined_in_errors():
    """One module holds every ``TrioError`` subclass (the dialects render all of them), whichever layer
    raises it; a class defined elsewhere fails here. An AST walk: no module is imported."""
    errors = {"TrioError"}
    defined: dict[str, str] = {}
    for _ in range(5):  # subclasses of subclasses, across modules
        for path in PACKAGE.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                    if bases & errors:
                        errors.add(node.name)
                        defined[node.name] = path.relative_to(PACKAGE).as_posix()
    assert len(defined) > 10
    assert {name: where for name, where in defined.items() if where != "errors.py"} == {}


SUPERVISOR_FILES = ("runner/shim.py", "runner/sysmetrics.py", "_trackfile.py")  # shim.py loads the others


@pytest.mark.parametrize("module", SUPERVISOR_FILES)
def test_the_job_supervisor_imports_the_standard_library_only(module):
    """``runner/shim.py`` runs as ``python -S shim.py``: no site-packages, no jupyter_trio package (the
    zygote, ``shim.py --zygote`` with site-packages, loads the jobs' side by name, for its forks); the
    system sampler and the tracking format it loads from their files live by the same rule."""
    top = set()
    for node in ast.walk(ast.parse((PACKAGE / module).read_text())):
        if isinstance(node, ast.Import):
            top.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module} imports {'.' * node.level}{node.module}: a package import"
            top.add((node.module or "").split(".")[0])
    assert top - set(sys.stdlib_module_names) - {"__future__"} == set()


def test_the_server_and_the_kernel_side_never_import_paddle():
    """What the server extension loads (the app, every route, `jupyter trio check`) and what a kernel loads
    (the client, the panels, tracking) leave PaddlePaddle to the jobs: a fresh interpreter says."""
    probe = (
        "import sys\n"
        "import jupyter_trio.app, jupyter_trio.handlers.routes, jupyter_trio.check\n"
        "import jupyter_trio.client, jupyter_trio.widgets, jupyter_trio.tracking\n"
        "print(sorted(m for m in sys.modules if m == 'paddle' or m.startswith('paddle.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_notebook_execution_is_loaded_by_notebook_jobs_only():
    """papermill and nbconvert (seconds of imports) are the notebook job's (runner/notebook_job.py, in the
    job process): the server, with every route, and the kernel side start without them; the server loads
    papermill only when asked to read a notebook's parameters."""
    probe = (
        "import sys\n"
        "import jupyter_trio.app, jupyter_trio.handlers.routes, jupyter_trio.hub.arbiter\n"
        "import jupyter_trio.client, jupyter_trio.widgets, jupyter_trio.tracking\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'papermill', 'nbconvert'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
    job = {
        m for m in imported_modules(PACKAGE / "runner" / "notebook_job.py") if m.startswith("jupyter_trio")
    }
    assert job <= {"jupyter_trio.tracking", "jupyter_trio.tracking.record", "jupyter_trio.tracking.config"}


def test_handlers_reach_the_runner_and_the_store_only_through_services():
    """Dialects translate: a handler imports neither the runner nor the store nor the in-job API; of the
    trainers only the pure descriptions of PaddleX's models and parameters (no paddle in them)."""
    allowed_trainers = {"jupyter_trio.trainers.model_zoo", "jupyter_trio.trainers.params"}
    below_services = ("jupyter_trio.runner", "jupyter_trio.store", "jupyter_trio.tracking")

    def refused(module: str) -> bool:
        if module.startswith(below_services):
            return True
        pure = any(module == name or module.startswith(name + ".") for name in allowed_trainers)
        return module.startswith("jupyter_trio.trainers") and not pure

    offending = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in (PACKAGE / "handlers").rglob("*.py")
        for module in imported_modules(path)
        if refused(module)
    ]
    assert offending == []


def test_tracking_never_reaches_the_store_or_the_services():
    """``tracking/`` runs in jobs and kernels: it writes run folders and asks the server over HTTP
    (``trio.init`` included), never the workspace's database."""
    offending = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in (PACKAGE / "tracking").rglob("*.py")
        for module in imported_modules(path)
        if module.startswith(("jupyter_trio.services", "jupyter_trio.store", "jupyter_trio.handlers"))
    ]
    assert offending == []


def domain_imports_outside_it() -> list[str]:
    """What ``domain/`` imports besides the standard library and itself."""
    return [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in (PACKAGE / "domain").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] not in sys.stdlib_module_names
        and module != "__future__"
        and not module.startswith("jupyter_trio.domain")
    ]


def test_the_domain_sits_at_the_bottom_of_the_import_graph():
    """The entities are loaded by every process (server, job, kernel, Hub service): they import the
    standard library only — no store, no tornado, no sqlite row, no pydantic, no paddle."""
    assert domain_imports_outside_it() == []
    import jupyter_trio.domain as domain

    assert {"Task", "Run", "Dataset", "Project", "Checkpoint", "Weights", "Session", "Sampler"} <= set(
        domain.__all__
    )


def test_the_domain_rule_fails_when_broken(tmp_path, monkeypatch):
    """The rule above can fail: a domain module importing the store is named."""
    fake = tmp_path / "jupyter_trio"
    (fake / "domain").mkdir(parents=True)
    (fake / "domain" / "bad.py").write_text("from ..store import Store\nimport pydantic\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert sorted(domain_imports_outside_it()) == [
        "domain/bad.py: jupyter_trio.store",
        "domain/bad.py: jupyter_trio.store.Store",
        "domain/bad.py: pydantic",
    ]


def test_the_store_returns_entities_not_rows():
    """Repositories return the domain's entities: no ``dict[str, Any]`` record leaves the store's task
    repository (the free-form JSON columns are ``JSONObject`` inside an entity)."""
    source = (PACKAGE / "store" / "tasks.py").read_text()
    assert "dict[str, Any]" not in source
    assert "-> Task | None" in source and "-> list[ScheduledRun]" in source
