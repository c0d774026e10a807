"""The demo workspace that `./dev lab` opens."""

from __future__ import annotations

import subprocess
import sys

from jupyter_trio.demo_workspace import create_demo_workspace


def test_demo_workspace_has_a_runnable_script_and_notebook(tmp_path):
    written = create_demo_workspace(tmp_path / "demo")
    names = {p.name for p in written}
    assert {"train_toy.py", "config.yaml", "getting_started.ipynb"} <= names
    out = subprocess.run(
        [sys.executable, "train_toy.py", "config.yaml"],
        cwd=tmp_path / "demo",
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "final: ok"


def test_demo_never_overwrites_user_edits(tmp_path):
    create_demo_workspace(tmp_path)
    (tmp_path / "config.yaml").write_text("epochs: 1\n")
    assert create_demo_workspace(tmp_path) == []
    assert (tmp_path / "config.yaml").read_text() == "epochs: 1\n"


async def test_demo_script_runs_as_a_batch_of_tasks(api, jp_root_dir, wait_task):
    create_demo_workspace(jp_root_dir)
    status, ws = await api("POST", "trio/api/workspace/run-root", {"script_path": "train_toy.py"})
    assert status == 200 and ws["config_default"]["optimizer"]["lr"] == 0.05
    status, out = await api(
        "POST",
        "trio/api/generator/create",
        {
            "name_prefix": "toy",
            "run": True,
            "template_value": {
                **ws["config_default"],
                "epochs": 3,
                "sleep": 0,
                "optimizer": {"lr": "0.05 | 0.1"},
            },
        },
    )
    assert status == 201 and out["count"] == 2
    for item in out["items"]:
        task = await wait_task(item["name"], "completed", "failed")
        _, log = await api("GET", f"trio/api/tasks/{item['name']}/logs", params={"tail": 1})
        assert task["status"] == "completed", log
        assert log["content"] == "final: ok\n"
