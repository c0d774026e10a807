"""The sidebar's wire types are the served OpenAPI document's (issue 35).

``labextension/openapi.json`` is the document ``GET /trio/api/openapi.json`` serves (built here in-process
from the route table by ``labextension/scripts/openapi.py``); the build turns it into
``src/generated/api.ts`` with openapi-typescript (the labextension's pinned devDependency), whose schemas
``src/wire.ts`` names. A route or pydantic model changed without refreshing the snapshot fails here, with
the command that refreshes it.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABEXTENSION = ROOT / "labextension"

pytestmark = pytest.mark.skipif(
    not (LABEXTENSION / "node_modules").is_dir(),
    reason="labextension/node_modules is absent (openapi-typescript comes from it): "
    "run `npm ci` in labextension/ (./dev test does)",
)


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "trio_openapi_types", LABEXTENSION / "scripts" / "openapi.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


openapi = _load_script()


@pytest.fixture(scope="module")
def document():
    return openapi.document()


def test_the_snapshot_is_the_served_document(document):
    assert openapi.SNAPSHOT == LABEXTENSION / "openapi.json"
    reason = openapi.stale(document)
    assert reason is None, reason


def test_a_changed_document_makes_it_stale_and_changes_the_types(document, tmp_path):
    changed = copy.deepcopy(document)
    states = changed["components"]["schemas"]["TaskInfo"]["properties"]["status"]["enum"]
    states.append("on_hold")
    reason = openapi.stale(changed)
    assert reason == (
        "labextension/openapi.json is stale: run PATH=.venv/bin:$PATH python labextension/scripts/openapi.py"
    )
    # what the build would generate instead: the new state in the task's status union
    snapshot = tmp_path / "openapi.json"
    snapshot.write_text(openapi.serialize(changed), encoding="utf-8")
    assert '"pruned" | "on_hold";' in openapi.typescript(snapshot)
    assert '"on_hold"' not in openapi.typescript()
