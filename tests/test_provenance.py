"""What ran (issue 34): each run's provenance, captured at start — the git state of the script's repository
(commit, branch, dirty, the uncommitted diff, untracked files named), the job's Python and packages, the
host — served per run in ``GET /trio/api/tasks/{name}``."""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import subprocess
import time

from jupyter_trio.services import provenance

SCRIPT = "import jupyter_trio as trio\ncfg = trio.read()\nprint('lr', cfg.lr)\n"
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
}


def git(folder, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True, env=GIT_ENV
    ).stdout.strip()


async def wait_for_provenance(api, name: str, run: int = 0, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, task = await api("GET", f"trio/api/tasks/{name}")
        assert status == 200
        if task["runs"] and len(task["runs"]) > run and task["runs"][run]["provenance"]:
            return task["runs"][run]["provenance"]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no provenance for {name}")


async def test_a_runs_provenance_names_its_commit_diff_packages_and_host(
    api, script_workspace, wait_task, jp_root_dir
):
    repo = jp_root_dir / "project"
    repo.mkdir()
    (repo / "train.py").write_text(SCRIPT)
    (repo / "model.py").write_text("LAYERS = 2\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "model.py").write_text("LAYERS = 3\n")  # uncommitted
    (repo / "notes.txt").write_text("not in git\n")  # untracked

    status, ws = await api("POST", "trio/api/workspace/run-root", {"script_path": "project/train.py"})
    assert status == 200, ws
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "prov", "template_value": {"lr": 0.1}, "run": True},
    )
    name = created["items"][0]["name"]
    await wait_task(name, "completed")
    found = await wait_for_provenance(api, name)
    assert found["git"]["commit"] == commit and found["git"]["branch"] == "main"
    assert found["git"]["root"] == str(repo) and found["git"]["dirty"] is True
    assert "-LAYERS = 2\n+LAYERS = 3" in found["git"]["diff"] and not found["git"]["diff_truncated"]
    assert found["git"]["untracked"] == ["notes.txt"]
    assert found["python"] == platform.python_version() and found["host"] == socket.gethostname()
    assert found["packages"]["jupyter-trio"] and found["packages"]["tornado"]
    assert found["gpus"] == [] and found["captured_at"] > 0

    # committed and clean: the next run says so, and its diff is empty
    git(repo, "add", "model.py")
    git(repo, "commit", "-q", "-m", "three layers")
    (repo / "notes.txt").unlink()
    await api("POST", f"trio/api/tasks/{name}/run")
    await wait_task(name, "completed")
    second = await wait_for_provenance(api, name, run=1)
    assert second["git"]["commit"] == git(repo, "rev-parse", "HEAD") != commit
    assert (
        second["git"]["dirty"] is False and second["git"]["diff"] == "" and second["git"]["untracked"] == []
    )
    # the two runs side by side: what ran differs in its commit and its uncommitted changes, not its Python
    status, compared = await api("GET", f"trio/api/tasks/{name}/runs/2/compare", params={"other_run": "1"})
    assert status == 200, compared
    rows = {r["key"]: r for r in compared["provenance_rows"]}
    assert rows["git.commit"]["changed"] and rows["git.commit"]["left"] == f'"{commit}"'
    assert rows["git.dirty"]["changed"] and rows["git.diff"]["right"] == '""'
    assert not rows["python"]["changed"] and not rows["host"]["changed"]
    assert not [k for k in rows if k.startswith("packages.")]  # the same environment: no package differs


async def test_code_outside_a_repository_has_no_git_state(api, script_workspace, wait_task):
    await script_workspace(SCRIPT)
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "plain", "template_value": {"lr": 1}, "run": True},
    )
    name = created["items"][0]["name"]
    await wait_task(name, "completed")
    found = await wait_for_provenance(api, name)
    assert found["git"] is None and found["packages"]


def test_a_large_diff_is_capped_and_the_environment_is_read_once(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "big.txt").write_text("a\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "big.txt").write_text("b" * 2000 + "\n")
    monkeypatch.setattr(provenance, "MAX_DIFF_BYTES", 500)
    state = provenance.git_state(repo)
    assert state is not None and state.diff_truncated and len(state.diff.encode()) <= 500

    recorder = provenance.ProvenanceRecorder()
    calls = []
    real = provenance._describe_here
    monkeypatch.setattr(provenance, "_describe_here", lambda: calls.append(1) or real())
    import sys

    first = recorder.environment(sys.executable)
    assert recorder.environment(sys.executable) is first and len(calls) == 1  # cached
    recorder.close()


async def test_rerun_with_this_code_restores_the_commit_and_the_diff(api, wait_task, jp_root_dir):
    repo = jp_root_dir / "lab"
    repo.mkdir()
    (repo / "train.py").write_text("import model\nprint('layers', model.LAYERS)\n")
    (repo / "model.py").write_text("LAYERS = 2\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "model.py").write_text("LAYERS = 3\n")  # the run ran this, never committed
    (repo / "scratch.txt").write_text("untracked\n")
    status, _ = await api("POST", "trio/api/workspace/run-root", {"script_path": "lab/train.py"})
    assert status == 200
    _, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "exp", "template_value": {"lr": 0.1}, "run": True},
    )
    name = created["items"][0]["name"]
    await wait_task(name, "completed")
    await wait_for_provenance(api, name)
    # the repository moves on: another commit, and the uncommitted change is gone
    (repo / "model.py").write_text("LAYERS = 5\n")
    git(repo, "commit", "-q", "-am", "five")

    status, rerun = await api("POST", f"trio/api/tasks/{name}/runs/1/rerun-code", {})
    assert status == 201, rerun
    assert (
        rerun["commit"] == commit and rerun["applied_diff"] and rerun["untracked_missing"] == ["scratch.txt"]
    )
    folder = jp_root_dir / rerun["folder"]
    assert rerun["folder"] == f"reruns/{name}-run1"
    assert (folder / "model.py").read_text() == "LAYERS = 3\n"  # the run's code, not HEAD's
    assert git(folder, "rev-parse", "HEAD") == commit
    new = rerun["task"]
    assert new["script_path"] == f"reruns/{name}-run1/train.py" and new["config"] == {"lr": 0.1}
    done = await wait_task(new["name"], "completed", "failed")
    assert done["status"] == "completed", done
    _, log = await api("GET", f"trio/api/tasks/{new['name']}/logs")
    assert "layers 3" in log["content"]

    # a second restoration gets a folder of its own; a commit gone from the repository is refused
    status, again = await api("POST", f"trio/api/tasks/{name}/runs/1/rerun-code", {"run": False})
    assert (
        status == 201 and again["folder"] == f"reruns/{name}-run1-2" and again["task"]["status"] == "pending"
    )
    git(repo, "checkout", "-q", "--orphan", "fresh")
    git(repo, "commit", "-q", "-m", "new root")
    git(repo, "branch", "-D", "main")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    status, refused = await api("POST", f"trio/api/tasks/{name}/runs/1/rerun-code", {})
    assert status == 409 and "no longer in" in refused["error"]["message"], refused
    status, refused = await api("POST", f"trio/api/tasks/{name}/runs/9/rerun-code", {})
    assert status == 404
