"""The demo workspace that `./dev lab` opens."""

from __future__ import annotations

import subprocess
import sys

from jupyter_trio.demo import create_demo_workspace


def test_demo_workspace_has_a_runnable_script_and_notebook(tmp_path):
    written = create_demo_workspace(tmp_path / "demo")
    names = {p.name for p in written}
    assert {"train_toy.py", "config.yaml", "getting_started.ipynb"} <= names
    out = subprocess.run([sys.executable, "train_toy.py", "config.yaml"], cwd=tmp_path / "demo",
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "final: ok"


def test_demo_never_overwrites_user_edits(tmp_path):
    create_demo_workspace(tmp_path)
    (tmp_path / "config.yaml").write_text("epochs: 1\n")
    assert create_demo_workspace(tmp_path) == []
    assert (tmp_path / "config.yaml").read_text() == "epochs: 1\n"
