"""How a job starts and ends (the path a short sweep trial takes a thousand times):

- a script task runs in a fork of the zygote (``shim.py --zygote``, jupyter_trio imported: ``warm_job.py``),
  and sees what ``python -u script.py`` would show it; a job it cannot stand in for starts cold;
- ``trio.read()`` reads the runner's JSON twin of ``config.yaml`` while that file is unchanged, and the YAML
  once it was edited;
- a run's end is recorded the moment its shim exits (a pidfd on the event loop), not at the runner's next
  poll: this module's server polls every 30 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from jupyter_trio.tracking import config as tracking_config

PROBE = r"""
import os, pickle, sys

class Point:  # defined in __main__: pickled by reference to __main__, as in a cold script
    pass

import jupyter_trio as trio

cfg = trio.read()
facts = {
    "name": __name__,
    "file": __file__,
    "argv0": sys.argv[0],
    "path0": sys.path[0],
    "cwd": os.getcwd(),
    "stdin": sys.stdin.read(),
    "cmdline": [a.decode() for a in open("/proc/self/cmdline", "rb").read().split(b"\0") if a],
    "pickled": pickle.loads(pickle.dumps(Point())).__class__.__module__,
    "lr": cfg.lr,
    "nested": cfg.model.name,
    "extra": os.environ.get("EXTRA", "-"),
    "unbuffered": sys.stdout.write_through,  # -u
}
print(__import__("json").dumps(facts))
if os.environ.get("FAIL"):  # exit hooks see the error where a cold interpreter leaves it (sys.last_value)
    import atexit
    atexit.register(lambda: print("exit hook saw", repr(getattr(sys, "last_value", None)), file=sys.stderr))
    raise ValueError("the probe was told to fail")
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


@pytest.fixture
def trio_config() -> dict:
    return {"poll_interval": 30.0}  # only the exit wake records a run's end within a test's time


async def run_probe(
    api, wait_task, env: dict | None = None, status: str = "completed", config: dict | None = None
) -> tuple[dict, dict]:
    config = config or {"lr": 0.25, "model": {"name": "mlp"}}
    status_code, created = await api(
        "POST", "trio/api/generator/create", {"name_prefix": "probe", "template_value": config}
    )
    assert status_code == 201, created
    name = created["items"][0]["name"]
    if env:
        status_code, _ = await api("PATCH", f"trio/api/tasks/{name}/env", {"env": env})
        assert status_code == 200
    started = time.monotonic()
    await api("POST", f"trio/api/tasks/{name}/run")
    task = await wait_task(name, status, timeout=20)
    assert time.monotonic() - started < 20  # well inside the 30 s poll: the exit woke the runner
    _, log = await api("GET", f"trio/api/tasks/{name}/logs", params={"stream": "stdout"})
    lines = [line for line in log["content"].splitlines() if line.startswith("{")]
    return task, json.loads(lines[-1])


async def zygote_ready(trio_app, timeout: float = 30.0) -> None:
    """The first runs after a server starts go to a spare while the zygote still imports: wait it out."""
    deadline = time.monotonic() + timeout
    while not (trio_app.runner.local._zygote and trio_app.runner.local._zygote.is_ready()):
        assert time.monotonic() < deadline, "the zygote did not get ready"
        await asyncio.sleep(0.05)


async def test_a_script_task_runs_warm_as_a_cold_interpreter_would_run_it(
    api, script_workspace, wait_task, jp_root_dir, trio_app
):
    await script_workspace(PROBE, "lr: 0.25\nmodel:\n  name: mlp\n", name="probe.py")
    await zygote_ready(trio_app)
    task, facts = await run_probe(api, wait_task, env={"EXTRA": "yes"})
    script = str(jp_root_dir / "probe.py")
    assert "--zygote" in facts["cmdline"]  # it ran in a fork of the interpreter started early
    assert facts["name"] == "__main__" and facts["pickled"] == "__main__"
    assert facts["file"] == script and facts["argv0"] == script
    assert facts["path0"] == str(jp_root_dir) and facts["cwd"] == str(jp_root_dir)
    assert facts["stdin"] == "" and facts["unbuffered"]
    assert (facts["lr"], facts["nested"], facts["extra"]) == (0.25, "mlp", "yes")
    assert task["exit_code"] == 0

    # its exit code and its traceback are a cold interpreter's
    task, _ = await run_probe(api, wait_task, env={"EXIT_WITH": "3"}, status="failed")
    assert task["exit_code"] == 3
    task, _ = await run_probe(api, wait_task, env={"FAIL": "1"}, status="failed")
    assert task["exit_code"] == 1
    _, err = await api("GET", f"trio/api/tasks/{task['name']}/logs", params={"stream": "stderr"})
    trace = err["content"]
    assert (
        trace.startswith("Traceback (most recent call last):") and "ValueError: the probe was told" in trace
    )
    assert f'File "{script}"' in trace and "warm_job" not in trace and "shim" not in trace
    assert "exit hook saw ValueError('the probe was told to fail')" in trace


async def test_a_job_with_another_start_up_environment_starts_cold(api, script_workspace, wait_task):
    await script_workspace(PROBE, "lr: 0.5\nmodel:\n  name: cnn\n", name="probe.py")
    _, facts = await run_probe(
        api, wait_task, env={"PYTHONHASHSEED": "7"}, config={"lr": 0.5, "model": {"name": "cnn"}}
    )
    assert "--zygote" not in facts["cmdline"] and facts["cmdline"][1] == "-u"
    assert facts["lr"] == 0.5


async def test_without_warm_python_every_job_starts_cold(api, script_workspace, wait_task, trio_app):
    trio_app.runner.local.warm_python = False
    for spare in list(trio_app.runner.local._spares):  # the spare started with the old setting
        trio_app.runner.local._spares.remove(spare)
        from jupyter_trio.runner import procs

        procs.dismiss(spare)
    trio_app.runner.local._refill()
    await script_workspace(PROBE, "lr: 1\nmodel:\n  name: x\n", name="probe.py")
    _, facts = await run_probe(api, wait_task, config={"lr": 1, "model": {"name": "x"}})
    assert "--zygote" not in facts["cmdline"] and facts["lr"] == 1


def test_read_takes_the_json_twin_only_while_config_yaml_is_unchanged(tmp_path, monkeypatch):
    from jupyter_trio.store.paths import WorkspaceLayout
    from jupyter_trio.store.task_files import materialize, write_config_twin

    layout = WorkspaceLayout(tmp_path)
    # the twin holds the config as trio.read() parses the frozen YAML, whatever the dumper made of it
    config = {"lr": 0.001, "tag": "1e-3", "when": "1:30", "model": {"layers": [1, 2]}}
    materialize(layout, "T0001", "script", config, "")
    write_config_twin(layout, "T0001")
    source = layout.task_dir("T0001") / "config.yaml"
    twin = tracking_config.config_twin_path(source)
    assert twin.is_file()
    monkeypatch.setenv("TRIO_CONFIG", str(source))
    read = tracking_config.read().to_dict()
    twin.unlink()
    assert tracking_config.read().to_dict() == read  # the YAML parses to the same config
    write_config_twin(layout, "T0001")
    # an edit after the twin was written: the YAML wins
    time.sleep(0.01)
    source.write_text("lr: 0.5\n")
    assert tracking_config.read().to_dict() == {"lr": 0.5}
    # a twin that is no JSON, or of another file, is passed over
    twin.write_text("not json")
    assert tracking_config.read().to_dict() == {"lr": 0.5}
    st = source.stat()
    twin.write_text(json.dumps({"yaml": [st.st_size, st.st_mtime_ns], "config": {"lr": 9}}))
    assert tracking_config.read().to_dict() == {"lr": 9}  # (the stamp is what it trusts)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert tracking_config.read().to_dict() == {"lr": 0.5}


def test_a_config_json_cannot_carry_gets_no_twin(tmp_path):
    from jupyter_trio.store.paths import WorkspaceLayout
    from jupyter_trio.store.task_files import write_config_twin

    layout = WorkspaceLayout(tmp_path)
    folder = layout.task_dir("T0002")
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("1: one\nratio: .nan\n")  # an int key; NaN is not equal to itself
    write_config_twin(layout, "T0002")
    assert not tracking_config.config_twin_path(folder / "config.yaml").exists()
