"""The documentation keeps up with the code: every option and every route is in the generated references,
every ``TRIO_*`` variable the code names is in the environment page, and the README stays short (the docs
hold the rest). ``./dev test`` builds the site itself with warnings as errors."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from jupyter_trio.app import TrioApp
from jupyter_trio.handlers import routes
from jupyter_trio.handlers.openapi import openapi_path
from jupyter_trio.hub.arbiter import TrioGPUArbiter

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def reference():
    spec = importlib.util.spec_from_file_location("trio_reference", DOCS / "_ext" / "trio_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_option_is_in_the_configuration_reference():
    text = reference().configuration_markdown()
    for cls in (TrioApp, TrioGPUArbiter):
        own = cls.class_own_traits(config=True)
        assert len(own) > 10
        for name in own:
            assert f"`c.{cls.__name__}.{name}`" in text, name


def test_the_configurables_the_server_builds_are_in_the_configuration_reference():
    from jupyter_trio.runner.gpu_sources import HubLeases, LocalGPUs
    from jupyter_trio.runner.local_executor import LocalExecutor
    from jupyter_trio.runner.ray_executor import RayExecutor

    module = reference()
    assert {LocalExecutor, RayExecutor, LocalGPUs, HubLeases} <= set(module.configurables())
    text = module.configuration_markdown()
    for cls in module.configurables():
        for name in cls.class_own_traits(config=True):
            assert f"`c.{cls.__name__}.{name}`" in text, (cls.__name__, name)
    for old, (owner, new) in TrioApp.moved_traits.items():  # each alias, with its new name
        assert f"| `c.TrioApp.{old}` | `c.{owner}.{new}` |" in text, old


def test_every_route_is_in_the_rest_reference():
    text = reference().rest_markdown()
    documented = [
        openapi_path(pattern)[0]
        for pattern, handler, *_ in routes.ROUTES
        if any(
            getattr(getattr(handler, m, None), "__trio_operation__", None)
            for m in ("get", "post", "put", "patch", "delete")
        )
    ]
    assert len(documented) > 80
    for path in documented:
        assert f"`{path}`" in text, path


def test_every_environment_variable_is_in_the_environment_page():
    page = (DOCS / "reference" / "environment.md").read_text()
    sources = [*(ROOT / "jupyter_trio").rglob("*.py"), ROOT / "dev", ROOT / "tests" / "conftest.py"]
    named = {m for path in sources for m in re.findall(r"\bTRIO_[A-Z0-9_]+\b", path.read_text())}
    named -= {"TRIO_"}
    assert sorted(v for v in named if f"`{v}`" not in page) == []


def test_the_readme_is_short_and_links_into_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for link in re.findall(r"\]\((docs/[^)#]+)\)", readme):
        assert (ROOT / link).exists(), link
