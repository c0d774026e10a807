"""schemathesis fuzzes every operation of a live server's /trio/api/openapi.json: no server error and no
reply that breaks its documented schema, in every dialect (PaddleX's status -1 errors included).

Bounded: a few examples per operation, a fixed seed and a time budget, so it stays well under 2 minutes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def test_stateful_chains_of_requests_get_no_server_error_and_documented_replies(tmp_path):
    """Chains that follow the document's links (create a batch → read, run, cancel, search, rename, delete
    its task; create a dataset → read, delete) and the links schemathesis infers, on the objects made."""
    report = fuzz(tmp_path, "stateful", "20261202", 60)
    assert "Stateful" in report and "Scenarios:" in report, report[-4000:]
