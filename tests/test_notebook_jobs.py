"""Notebook jobs through a live server: papermill parameters, per-run outputs (.ipynb + HTML + files), live
cell progress, a failing cell or a dead kernel named, bad input refused before anything is queued."""

from __future__ import annotations

import asyncio
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.test_events import events_until

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebook(path, *cells: str, parameters: str | None = None, kernel: dict | None = KERNELSPEC):
    """A notebook of ``cells`` (markdown when it starts with '#!md'); ``parameters`` is the tagged cell."""
    made = [new_markdown_cell("# A notebook job")]
    if parameters is not None:
        made.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    made += [new_markdown_cell(c[4:]) if c.startswith("#!md") else new_code_cell(c) for c in cells]
    nb = new_notebook(cells=made, metadata={"kernelspec": kernel} if kernel else {})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


TRAIN = (
    "import os, time, jupyter_trio as trio",
    "for step in range(3):\n    trio.track('loss', 1.0 / (step + lr), step=step)\nprint('lr is', lr)",
    "#!md ## results",
    "out = os.path.join(os.environ['TRIO_OUTPUT_DIR'], 'result.txt')\nopen(out, 'w').write(f'{lr},{opt}')",
    "trio.record(final=lr * 2)\nprint('done', opt)",
)


async def wait_ended(wait_task, name: str, timeout: float = 120.0) -> dict:
    return await wait_task(name, "completed", "failed", "cancelled", "interrupted", timeout=timeout)


async def test_two_parameter_sets_give_two_executed_notebooks_with_html_and_files(
    api, wait_task, jp_root_dir
):
    parameters = "lr: float = 0.1  # learning rate\nopt = 'sgd'"
    write_notebook(jp_root_dir / "nbs" / "train.ipynb", *TRAIN, parameters=parameters)
    query = {"notebook": "nbs/train.ipynb"}
    status, info = await api("GET", "trio/api/notebook-jobs/parameters", params=query)
    assert status == 200, info
    assert [(p["name"], p["default"], p["type"]) for p in info["parameters"]] == [
        ("lr", "0.1", "float"),
        ("opt", "'sgd'", "None"),  # papermill tells a type by the annotation only
    ]
    assert info["kernel"] == "python3" and info["has_parameters_cell"] and info["cells"] == 5
    assert info["parameters"][0]["help"] == "learning rate"

    names = []
    for lr, opt in ((0.5, "adam"), (2.0, "sgd")):
        status, task = await api(
            "POST", "trio/api/notebook-jobs", query | {"parameters": {"lr": lr, "opt": opt}}
        )
        assert status == 201, task
        assert task["kind"] == "notebook_job" and task["script_path"] == "nbs/train.ipynb"
        assert task["config"] == {"lr": lr, "opt": opt} and task["warnings"] == []
        names.append(task["name"])
    assert names[0] != names[1] and names[0].startswith("train-")

    for name, (lr, opt) in zip(names, ((0.5, "adam"), (2.0, "sgd"))):
        task = await wait_ended(wait_task, name)
        assert task["status"] == "completed", task
        status, listed = await api("GET", f"trio/api/tasks/{name}/outputs")
        assert status == 200, listed
        by_name = {o["name"]: o for o in listed["outputs"]}
        assert [o["kind"] for o in listed["outputs"]] == ["notebook", "html", "file"]
        assert set(by_name) == {"train.ipynb", "train.html", "result.txt"}
        status, body = await api("GET", f"trio/api/files/{by_name['train.ipynb']['path']}")
        assert status == 200
        text = body.decode() if isinstance(body, bytes) else json.dumps(body)
        executed = nbformat.reads(text, as_version=4)
        injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1
        assert f"lr = {lr}" in injected[0].source and f'opt = "{opt}"' in injected[0].source
        code = [c for c in executed.cells if c.cell_type == "code"]
        printed = "".join(o.get("text", "") for c in code for o in c.outputs)
        assert f"lr is {lr}" in printed and f"done {opt}" in printed
        status, html = await api("GET", f"trio/api/files/{by_name['train.html']['path']}")
        assert status == 200 and b"<html" in html and f"lr is {lr}".encode() in html
        status, result = await api("GET", f"trio/api/files/{by_name['result.txt']['path']}")
        assert result == f"{lr},{opt}".encode()
        # trio.track()/record() in the kernel land in the run, as from a script
        status, series = await api("GET", f"trio/api/tasks/{name}/metrics/loss")
        assert status == 200, series
        assert series["steps"] == [0, 1, 2]
        status, records = await api("GET", f"trio/api/tasks/{name}/records")
        assert records["record"]["final"] == lr * 2 and records["record"]["cells"] == 6
        # the log has each cell's output as it ran
        status, log = await api("GET", f"trio/api/tasks/{name}/logs")
        assert f"lr is {lr}" in log["content"] and f"done {opt}" in log["content"]


async def test_cell_progress_events_arrive_in_order(api, jp_ws_fetch, wait_task, jp_root_dir):
    cells = [f"import time; time.sleep(1.2); print('cell {i}')" for i in range(4)]
    write_notebook(jp_root_dir / "slow.ipynb", *cells)
    ws = await jp_ws_fetch("trio", "api", "events")
    status, task = await api("POST", "trio/api/notebook-jobs", {"notebook": "slow.ipynb"})
    assert status == 201, task
    name = task["name"]
    events = await events_until(
        ws, lambda e: e["type"] == "task" and e["task"]["name"] == name and e["task"]["status"] == "completed"
    )
    ws.close()
    cells_seen = [e["task"]["cell"] for e in events if e["type"] == "task.progress" and e["task"].get("cell")]
    assert len(set(cells_seen)) >= 2, events
    assert cells_seen == sorted(cells_seen)
    stages = [e["task"]["stage"] for e in events if e["type"] == "task.progress" and "stage" in e["task"]]
    assert any(s.startswith("cell ") and "/4: import time" in s for s in stages), stages


async def test_a_failing_cell_is_named_and_its_notebook_kept(api, wait_task, jp_root_dir):
    write_notebook(jp_root_dir / "bad.ipynb", "x = 1", "print('before')", "y = x / 0", "print('never')")
    status, task = await api("POST", "trio/api/notebook-jobs", {"notebook": "bad.ipynb", "name": "bad-job"})
    assert status == 201, task
    task = await wait_ended(wait_task, "bad-job")
    assert task["status"] == "failed"
    assert task["error"] == "cell 3 of 4 (y = x / 0) failed: ZeroDivisionError: division by zero"
    status, listed = await api("GET", "trio/api/tasks/bad-job/outputs")
    kinds = {o["kind"]: o for o in listed["outputs"]}
    assert set(kinds) == {"notebook", "html"}
    status, body = await api("GET", f"trio/api/files/{kinds['notebook']['path']}")
    executed = nbformat.reads(body.decode(), as_version=4)
    failed = [c for c in executed.cells if c.cell_type == "code" and any(o.get("ename") for o in c.outputs)]
    assert len(failed) == 1 and failed[0].source == "y = x / 0"
    assert "ZeroDivisionError" in "".join(failed[0].outputs[0]["traceback"])
    status, log = await api("GET", "trio/api/tasks/bad-job/logs")
    assert "before" in log["content"] and "never" not in log["content"]


async def test_a_kernel_that_dies_fails_the_run_naming_the_cell(api, wait_task, jp_root_dir):
    kill = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    write_notebook(jp_root_dir / "die.ipynb", "print('alive')", kill)
    status, task = await api("POST", "trio/api/notebook-jobs", {"notebook": "die.ipynb", "name": "dies"})
    assert status == 201, task
    task = await wait_ended(wait_task, "dies")
    assert task["status"] == "failed"
    assert task["error"].startswith("kernel died in cell 2 of 2 (import os, signal)"), task["error"]


async def test_a_parameter_the_cell_does_not_declare_is_a_warning_as_papermill_s(api, wait_task, jp_root_dir):
    write_notebook(jp_root_dir / "p.ipynb", "print(alpha, beta)", parameters="alpha = 1")
    status, task = await api(
        "POST", "trio/api/notebook-jobs", {"notebook": "p.ipynb", "parameters": {"alpha": 2, "beta": "b"}}
    )
    assert status == 201, task
    assert task["warnings"] == ["parameter 'beta' is not declared in the parameters cell of 'p.ipynb'"]
    assert (await wait_ended(wait_task, task["name"]))["status"] == "completed"


async def test_open_copies_the_executed_notebook_under_the_root(api, wait_task, jp_root_dir):
    write_notebook(jp_root_dir / "o.ipynb", "print('hello')")
    status, task = await api("POST", "trio/api/notebook-jobs", {"notebook": "o.ipynb", "name": "o-job"})
    await wait_ended(wait_task, "o-job")
    status, opened = await api("POST", "trio/api/tasks/o-job/outputs/open", {})
    assert status == 200, opened
    assert opened["path"] == "jobs/o-job/run-1/o.ipynb"
    copied = nbformat.read(jp_root_dir / opened["path"], as_version=4)
    assert "hello" in copied.cells[1].outputs[0]["text"]
    # Jupyter's own contents API (what JupyterLab opens it with) serves it
    status, model = await api("GET", f"api/contents/{opened['path']}")
    assert status == 200 and model["type"] == "notebook"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"notebook": "missing.ipynb"}, 404, "no such file"),
        ({"notebook": "../outside.ipynb"}, 403, "leaves the allowed folder"),
        ({"notebook": ".hidden/x.ipynb"}, 403, "hidden folder"),
        ({"notebook": "data.txt"}, 422, "not a .ipynb notebook or .py script"),
        ({"notebook": "script.py", "kernel": "python3"}, 422, "kernels are for notebooks"),
        ({"notebook": "broken.ipynb"}, 422, "not valid JSON"),
        ({"notebook": "notnb.ipynb"}, 422, "not a valid notebook"),
        ({"notebook": "ok.ipynb", "kernel": "no-such-kernel"}, 422, "'no-such-kernel' is not installed"),
        ({"notebook": "nokernel.ipynb"}, 422, "names no kernel"),
        ({"notebook": "alien.ipynb"}, 422, "'julia-1.9' is not installed"),
        ({"notebook": "ok.ipynb", "parameters": {"not a name": 1}}, 422, "not a valid variable name"),
        ({"notebook": "ok.ipynb", "gpus": 99}, 422, "gpus"),
        ({"notebook": "ok.ipynb", "env": {"TRIO_RUN_DIR": "/"}}, 422, "set by the runner"),
        ({"notebook": "ok.ipynb", "surprise": 1}, 422, "surprise"),
        ({"parameters": {}}, 422, "notebook"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_queued(api, jp_root_dir, body, status, needle):
    write_notebook(jp_root_dir / "ok.ipynb", "print(1)")
    write_notebook(jp_root_dir / ".hidden" / "x.ipynb", "print(1)")
    write_notebook(jp_root_dir / "nokernel.ipynb", "print(1)", kernel=None)
    write_notebook(jp_root_dir / "alien.ipynb", "1", kernel={"name": "julia-1.9", "display_name": "Julia"})
    (jp_root_dir / "script.py").write_text("print(1)\n")
    (jp_root_dir / "data.txt").write_text("1\n")
    (jp_root_dir / "broken.ipynb").write_text('{"cells": [')
    (jp_root_dir / "notnb.ipynb").write_text(json.dumps({"cells": "no", "nbformat": 4, "nbformat_minor": 5}))
    got, reply = await api("POST", "trio/api/notebook-jobs", body)
    assert got == status, reply
    assert needle in reply["error"]["message"], reply
    _, tasks = await api("GET", "trio/api/tasks")
    assert tasks["total"] == 0


async def test_a_py_script_runs_as_a_job_with_its_parameters_as_config(api, wait_task, jp_root_dir):
    """jupyter-scheduler#409: a .py file is a job too — a script task whose config is the parameters."""
    (jp_root_dir / "etl.py").write_text(
        "import jupyter_trio as trio\ncfg = trio.read()\nprint('day', cfg.day)\n"
    )
    status, info = await api("GET", "trio/api/notebook-jobs/parameters", params={"notebook": "etl.py"})
    assert status == 200 and info["parameters"] == [] and info["kernel"] == ""
    status, task = await api(
        "POST", "trio/api/notebook-jobs", {"notebook": "etl.py", "parameters": {"day": "mon"}}
    )
    assert status == 201, task
    assert task["kind"] == "script" and task["config"] == {"day": "mon"} and task["script_path"] == "etl.py"
    done = await wait_ended(wait_task, task["name"])
    assert done["status"] == "completed", done
    _, log = await api("GET", f"trio/api/tasks/{task['name']}/logs")
    assert "day mon" in log["content"]


async def test_the_kernel_client_runs_a_notebook_and_schedules_it(client, jp_root_dir):
    write_notebook(jp_root_dir / "k.ipynb", "print(x + 1)", parameters="x = 0")

    def use() -> tuple[dict, list[dict], dict, list[dict]]:
        service = client()  # it asks the server at once: off the server's loop
        task = service.run_notebook("k.ipynb", {"x": 41}, name="from-kernel")
        done = service.wait_task(task["name"], timeout=120, poll=0.1)
        outputs = service.outputs(task["name"])
        made = service.schedule(task["name"], "0 3 * * *", "Asia/Shanghai", overlap="queue")
        listed = service.schedules()
        service.delete_schedule(made["id"])
        return done, outputs, made, listed + service.schedules()

    done, outputs, made, listed = await asyncio.to_thread(use)
    assert done["status"] == "completed" and [o["kind"] for o in outputs] == ["notebook", "html"]
    assert made["overlap"] == "queue" and made["timezone"] == "Asia/Shanghai" and made["next_fire"] > 0
    assert [s["id"] for s in listed] == [made["id"]]  # listed once, then deleted
