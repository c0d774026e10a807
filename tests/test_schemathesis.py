"""schemathesis fuzzes every operation of a live server's /trio/api/openapi.json: no server error and no
reply that breaks its documented schema, in every dialect (PaddleX's status -1 errors included).

Bounded: a few examples per operation, a fixed seed and a time budget, so it stays well under 2 minutes.
Payloads that random generation does not find (YAML alias bombs, batches past the size caps) are sent as
hand-made cases through the same checks.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_trio.testing import ServerProcess

pytestmark = pytest.mark.slow


def schemathesis_cli() -> str:
    found = Path(sys.executable).with_name("st")
    if found.is_file():
        return str(found)
    other = shutil.which("st")
    if other is None:
        pytest.skip("schemathesis is not installed (it is in the test extra)")
    return other


def fuzz(tmp_path, phases: str, seed: str, max_time: int) -> str:
    root = tmp_path / "root"
    root.mkdir()
    with ServerProcess(root, "--TrioApp.gpus=none", "--TrioApp.demo_images=16") as server:
        proc = subprocess.run(
            [
                schemathesis_cli(),
                "run",
                f"{server.url}/trio/api/openapi.json",
                "-H",
                f"Authorization: token {server.token}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                phases,
                "--max-examples",
                "4",
                "--seed",
                seed,
                "--max-time",
                str(max_time),
                "--request-timeout",
                "20",
                "--workers",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=max_time + 95,
            cwd=tmp_path,
        )
    report = proc.stdout + proc.stderr
    assert "Tested:" in report, report[-4000:]
    assert proc.returncode == 0, report[-6000:]
    assert "Server error" not in report and "Response violates schema" not in report, report[-6000:]
    return report


def test_fuzzed_requests_get_no_server_error_and_documented_replies(tmp_path):
    fuzz(tmp_path, "examples,fuzzing", "20261201", 75)


def alias_bomb(levels: int = 9) -> str:
    """~400 bytes of YAML whose aliases expand to 10**levels values."""
    lines = ["a0: &a0 [x,x,x,x,x,x,x,x,x,x]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# (path, method, body, expected status, words of the message)
ABUSE_CASES = [
    ("/trio/api/workspace/run-root", "POST", {"script_path": "bomb/train.py"}, 422, "config.yaml"),
    ("/trio/api/workspace/run-root", "POST", {"script_path": "train.py"}, 200, ""),
    ("/trio/api/generator/preview", "POST", {"yaml_text": alias_bomb()}, 422, "aliases"),
    ("/trio/api/generator/create", "POST", {"mode": "yaml", "yaml_text": alias_bomb()}, 422, "aliases"),
    ("/trio/api/generator/preview", "POST", {"yaml_text": "a: &a [*a]"}, 422, "contains it"),
    ("/trio/api/generator/preview", "POST", {"yaml_text": "a: " + "x" * (1 << 20)}, 422, "longer than"),
    ("/trio/api/generator/preview", "POST", {"template_value": {"a": "0:1000", "b": "0:1000"}}, 422, "tasks"),
    (
        "/trio/api/generator/create",
        "POST",
        {"template_value": {"a": "0:100000", "classes": list(range(100))}},
        422,
        "values",
    ),
    ("/trio/api/workspace", "GET", None, 200, ""),
]


def test_alias_and_size_payloads_get_documented_4xx_replies(tmp_path):
    from schemathesis.checks import not_a_server_error
    from schemathesis.openapi import from_url
    from schemathesis.specs.openapi.checks import response_schema_conformance

    root = tmp_path / "root"
    (root / "bomb").mkdir(parents=True)
    (root / "train.py").write_text("print('hello')\n")
    (root / "bomb" / "train.py").write_text("print('hello')\n")
    (root / "bomb" / "config.yaml").write_text(alias_bomb())
    with ServerProcess(root, "--TrioApp.gpus=none") as server:
        auth = {"Authorization": f"token {server.token}"}
        schema = from_url(f"{server.url}/trio/api/openapi.json", headers=auth)
        for path, method, body, expected, words in ABUSE_CASES:
            operation = schema[path][method]
            case = operation.Case(body=body) if body is not None else operation.Case()
            started = time.monotonic()
            response = case.call_and_validate(
                headers=auth, checks=[not_a_server_error, response_schema_conformance], timeout=20
            )
            assert response.status_code == expected, (path, body, response.text[:500])
            assert words in response.text, (path, response.text[:500])
            assert time.monotonic() - started < 10, (path, "took too long")


def test_stateful_chains_of_requests_get_no_server_error_and_documented_replies(tmp_path):
    """Chains that follow the document's links (create a batch → read, run, cancel, search, rename, delete
    its task; create a dataset → read, delete) and the links schemathesis infers, on the objects made."""
    report = fuzz(tmp_path, "stateful", "20261202", 60)
    assert "Stateful" in report and "Scenarios:" in report, report[-4000:]
