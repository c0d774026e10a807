"""The task API (pyruns dialect) end to end: workspaces, generator, tasks, runs, logs, errors."""

from __future__ import annotations

import json
import time

import pytest
import yaml

SCRIPT = """
import json, os, yaml
cfg = yaml.safe_load(open(os.environ["TRIO_CONFIG"]))
print("config", json.dumps(cfg, sort_keys=True))
print("run", os.environ["TRIO_RUN_INDEX"], "task", os.environ["TRIO_TASK_NAME"])
print("cuda=[" + os.environ["CUDA_VISIBLE_DEVICES"] + "]", "extra=" + os.environ.get("EXTRA", "-"))
"""


async def test_workspace_run_root_and_shell(api, script_workspace, jp_root_dir):
    status, ws = await api("GET", "trio/api/workspace")
    assert status == 200 and ws["workspace_kind"] == "none" and not ws["workspace_ready"]
    ws = await script_workspace(SCRIPT, "lr: 0.5\nmodel:\n  name: mlp\n")
    assert ws["workspace_kind"] == "script" and ws["workspace_ready"]
    assert ws["script_name"] == "train" and ws["script_path"].endswith("train.py")
    assert ws["config_default"] == {"lr": 0.5, "model": {"name": "mlp"}}
    status, again = await api("GET", "trio/api/workspace")
    assert again["run_root"] == ws["run_root"]
    status, shell = await api("POST", "trio/api/workspace/shell")
    assert status == 200 and shell["workspace_kind"] == "shell" and shell["script_name"] == "_shell_"


async def test_generator_preview_then_create_makes_frozen_configs(
    api, script_workspace, trio_workspace, trio_app
):
    await script_workspace(SCRIPT)
    body = {
        "name_prefix": "sweep",
        "mode": "form",
        "template_value": {"lr": "0.1 | 0.01", "model": {"depth": "(2 | 4)", "act": "(relu | gelu)"}},
    }
    status, preview = await api("POST", "trio/api/generator/preview", body)
    assert status == 200, preview
    assert preview["count"] == 4 and preview["task_kind"] == "script"
    assert [i["name"] for i in preview["items"]] == ["sweep_001", "sweep_002", "sweep_003", "sweep_004"]
    status, listed = await api("GET", "trio/api/tasks")
    assert listed["total"] == 0  # preview creates nothing

    status, created = await api("POST", "trio/api/generator/create", body)
    assert status == 201 and created["count"] == 4
    trio_app.tasks.flush()
    for item in created["items"]:
        frozen = trio_workspace / "tasks" / item["id"] / "config.yaml"
        assert yaml.safe_load(frozen.read_text()) == item["config"]
    assert created["items"][1]["config"] == {"lr": 0.1, "model": {"depth": 4, "act": "gelu"}}
    # A second batch with the same prefix continues the numbering.
    status, more = await api("POST", "trio/api/generator/create", {**body, "template_value": {"lr": 1}})
    assert [i["name"] for i in more["items"]] == ["sweep_005"]


async def test_generator_yaml_mode_and_default_template(api, script_workspace):
    await script_workspace(SCRIPT, "epochs: 3\nlr: 0.1 | 0.2\n")
    status, out = await api("POST", "trio/api/generator/preview", {"mode": "form"})
    assert out["count"] == 2  # the workspace's config_default is the template
    status, out = await api(
        "POST", "trio/api/generator/preview", {"mode": "yaml", "yaml_text": "lr: 0.1 | 0.2"}
    )
    assert out["count"] == 1 and out["items"][0]["config"] == {"lr": "0.1 | 0.2"}  # yaml mode: no expansion


@pytest.mark.parametrize("source", ["yaml_text", "template_value", "workspace_default"])
@pytest.mark.parametrize(
    "text, count, first",
    [
        ("epoch: 1:3\nlr: 0.1 | 0.01\n", 4, {"epoch": 1, "lr": 0.1}),  # pyruns: 4 tasks, not epoch 63
        ("epochs: 30:40:1\n", 10, {"epochs": 30}),  # the stop is excluded, as in pyruns's own tests
        ("e: (0, 6, 2)\nt: (a | b | c)\n", 9, {"e": 0, "t": "a"}),
        ("when: 1:30 | 2:45\nday: 2026-09-25\n", 2, {"when": "1:30", "day": "2026-09-25"}),
    ],
)
async def test_batch_syntax_sees_the_text_the_user_wrote(api, script_workspace, source, text, count, first):
    """Every way a template reaches the generator gives the same tasks: form-mode yaml_text, a
    template_value of strings, and the workspace's default config file."""
    config = text if source == "workspace_default" else "x: 1\n"
    await script_workspace(SCRIPT, config)
    body = {"name_prefix": "b", "mode": "form"}
    if source == "yaml_text":
        body["yaml_text"] = text
    elif source == "template_value":
        body["template_value"] = {
            k: v.strip() for k, v in (line.split(": ", 1) for line in text.splitlines())
        }
    status, out = await api("POST", "trio/api/generator/preview", body)
    assert status == 200, out
    assert out["count"] == count and out["items"][0]["config"] == first


async def test_yaml_mode_keeps_times_and_batch_text_as_written(
    api, script_workspace, trio_workspace, trio_app
):
    await script_workspace(SCRIPT)
    status, out = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "y", "mode": "yaml", "yaml_text": "time: 1:30\nepoch: 1:3\nn: 012\n"},
    )
    assert status == 201 and out["count"] == 1, out
    assert out["items"][0]["config"] == {"time": "1:30", "epoch": "1:3", "n": "012"}
    trio_app.tasks.flush()
    frozen = (trio_workspace / "tasks" / out["items"][0]["id"] / "config.yaml").read_text()
    assert yaml.safe_load(frozen) == {"time": "1:30", "epoch": "1:3", "n": "012"}  # any YAML reader agrees


async def test_script_task_runs_with_its_config_and_env(api, script_workspace, wait_task):
    await script_workspace(SCRIPT)
    status, created = await api(
        "POST", "trio/api/generator/create", {"name_prefix": "job", "template_value": {"lr": 0.25}}
    )
    name = created["items"][0]["name"]
    status, _ = await api("PATCH", f"trio/api/tasks/{name}/env", {"env": {"EXTRA": "yes"}})
    assert status == 200
    status, task = await api("POST", f"trio/api/tasks/{name}/run")
    assert status == 202 and task["run_index"] == 1 and task["status"] in ("queued", "running")
    task = await wait_task(name, "completed", "failed")
    assert task["status"] == "completed" and task["exit_code"] == 0
    assert task["started_at"] <= task["ended_at"]
    status, log = await api("GET", f"trio/api/tasks/{name}/logs")
    assert 'config {"lr": 0.25}' in log["content"]
    assert f"run 1 task {name}" in log["content"]
    assert "cuda=[] extra=yes" in log["content"]

    # Each run is a new slot; history is kept.
    await api("POST", f"trio/api/tasks/{name}/run")
    task = await wait_task(name, "completed")
    assert task["run_index"] == 2 and [r["run_index"] for r in task["runs"]] == [1, 2]
    status, log1 = await api("GET", f"trio/api/tasks/{name}/logs", params={"run": 1})
    assert "run 1 task" in log1["content"] and "run 2 task" not in log1["content"]


async def test_shell_task_failure_and_streams(api, wait_task):
    await api("POST", "trio/api/workspace/shell")
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {
            "name_prefix": "sh",
            "mode": "shell",
            "shell_text": "echo out-line; echo err-line >&2; exit 3",
            "run": True,
        },
    )
    assert status == 201 and created["task_kind"] == "shell"
    name = created["items"][0]["name"]
    task = await wait_task(name, "failed", "completed")
    assert task["status"] == "failed" and task["exit_code"] == 3
    _, out = await api("GET", f"trio/api/tasks/{name}/logs", params={"stream": "stdout"})
    _, err = await api("GET", f"trio/api/tasks/{name}/logs", params={"stream": "stderr"})
    _, both = await api("GET", f"trio/api/tasks/{name}/logs")
    assert out["content"] == "out-line\n" and err["content"] == "err-line\n"
    assert sorted(both["content"].splitlines()) == ["err-line", "out-line"]


async def test_logs_by_offset_and_tail(api, wait_task):
    await api("POST", "trio/api/workspace/shell")
    _, created = await api(
        "POST",
        "trio/api/generator/create",
        {
            "name_prefix": "lines",
            "mode": "shell",
            "shell_text": "for i in $(seq 1 100); do echo line-$i; done",
            "run": True,
        },
    )
    name = created["items"][0]["name"]
    await wait_task(name, "completed")
    _, tail = await api("GET", f"trio/api/tasks/{name}/logs", params={"tail": 3})
    assert tail["content"] == "line-98\nline-99\nline-100\n"
    _, first = await api("GET", f"trio/api/tasks/{name}/logs", params={"limit": 14})
    assert first["content"] == "line-1\nline-2\n" and first["next_offset"] == 14
    _, rest = await api("GET", f"trio/api/tasks/{name}/logs", params={"offset": first["next_offset"]})
    assert (first["content"] + rest["content"]).splitlines() == [f"line-{i}" for i in range(1, 101)]
    assert rest["next_offset"] == rest["size"]


async def test_task_list_filters_sorts_and_pages(api, script_workspace, wait_task):
    await script_workspace(SCRIPT)
    await api("POST", "trio/api/generator/create", {"name_prefix": "a", "template_value": {"x": "1:13"}})
    await api("POST", "trio/api/generator/create", {"name_prefix": "b", "template_value": {"x": 1}})
    _, page = await api(
        "GET", "trio/api/tasks", params={"page": 2, "page_size": 5, "sort": "name", "order": "asc"}
    )
    assert page["total"] == 13 and [t["name"] for t in page["items"]] == [f"a_{i:03d}" for i in range(6, 11)]
    _, off = await api(
        "GET", "trio/api/tasks", params={"offset": 12, "limit": 5, "sort": "name", "order": "asc"}
    )
    assert [t["name"] for t in off["items"]] == ["b_001"]
    _, named = await api("GET", "trio/api/tasks", params={"name": "B_0"})
    assert [t["name"] for t in named["items"]] == ["b_001"]
    await api("POST", "trio/api/tasks/a_003/pin", {"pinned": True})
    _, pinned = await api("GET", "trio/api/tasks", params={"pinned": "true"})
    assert [t["name"] for t in pinned["items"]] == ["a_003"]
    await api("POST", "trio/api/tasks/a_005/run")
    await wait_task("a_005", "completed")
    _, done = await api("GET", "trio/api/tasks", params={"status": "completed"})
    assert [t["name"] for t in done["items"]] == ["a_005"]
    _, pending = await api("GET", "trio/api/tasks", params={"status": "pending", "kind": "script"})
    assert pending["total"] == 12


async def test_pin_notes_rename_delete(api, script_workspace, trio_workspace):
    await script_workspace(SCRIPT)
    _, created = await api(
        "POST", "trio/api/generator/create", {"name_prefix": "t", "template_value": {"x": 1}}
    )
    task_id = created["items"][0]["id"]
    _, t = await api("POST", "trio/api/tasks/t_001/pin")
    assert t["pinned"] is True
    _, t = await api("POST", "trio/api/tasks/t_001/pin")
    assert t["pinned"] is False
    _, t = await api("PATCH", "trio/api/tasks/t_001/notes", {"notes": "baseline, ünïcode"})
    assert t["notes"] == "baseline, ünïcode"
    status, t = await api("POST", "trio/api/tasks/t_001/rename", {"new_name": "baseline"})
    assert status == 200 and t["name"] == "baseline" and t["id"] == task_id
    status, _ = await api("GET", "trio/api/tasks/t_001")
    assert status == 404
    status, _ = await api("GET", f"trio/api/tasks/{task_id}")  # ids work as names
    assert status == 200
    status, _ = await api("DELETE", "trio/api/tasks/baseline")
    assert status == 204
    assert not (trio_workspace / "tasks" / task_id).exists()
    status, body = await api("GET", "trio/api/tasks/baseline")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_bad_input_gets_clear_4xx(api, script_workspace, raw_fetch):
    await script_workspace(SCRIPT)
    await api("POST", "trio/api/generator/create", {"name_prefix": "e", "template_value": {"x": 1}})
    await api("POST", "trio/api/generator/create", {"name_prefix": "f", "template_value": {"x": 1}})
    cases = [
        ("POST", "trio/api/generator/create", {"name_prefix": "bad name!"}, 422, "name_prefix"),
        ("POST", "trio/api/generator/create", {"mode": "nope"}, 422, "mode"),
        (
            "POST",
            "trio/api/generator/create",
            {"template_value": {"a": "(1|2)", "b": "(1|2|3)"}},
            422,
            "same length",
        ),
        ("POST", "trio/api/generator/create", {"mode": "yaml", "yaml_text": "a: [1"}, 400, "YAML"),
        ("POST", "trio/api/generator/create", {"mode": "yaml", "yaml_text": "- 1\n- 2"}, 422, "mapping"),
        ("POST", "trio/api/generator/create", {"unknown_field": 1}, 422, "unknown_field"),
        ("POST", "trio/api/generator/create", {"gpus": 2}, 422, "gpus"),
        ("POST", "trio/api/tasks/e_001/rename", {"new_name": "f_001"}, 409, "already exists"),
        ("POST", "trio/api/tasks/e_001/rename", {"new_name": "../x"}, 422, "task name"),
        ("PATCH", "trio/api/tasks/e_001/env", {"env": {"TRIO_CONFIG": "x"}}, 422, "set by the runner"),
        (
            "PATCH",
            "trio/api/tasks/e_001/env",
            {"env": {"CUDA_VISIBLE_DEVICES": "0"}},
            422,
            "set by the runner",
        ),
        ("PATCH", "trio/api/tasks/e_001/env", {"env": {"1BAD": "x"}}, 422, "variable name"),
        ("POST", "trio/api/tasks/e_001/cancel", None, 409, "not queued or running"),
        ("POST", "trio/api/tasks/nope/run", None, 404, "no such task"),
        ("GET", "trio/api/tasks/e_001/logs", None, 404, "has not run"),
        ("GET", "trio/api/tasks?page=0", None, 422, "page"),
        ("GET", "trio/api/tasks?status=sleeping", None, 422, "status"),
        ("POST", "trio/api/workspace/run-root", {"script_path": "../outside.py"}, 403, "leaves"),
        ("POST", "trio/api/workspace/run-root", {"script_path": "missing.py"}, 404, "no such script"),
        ("POST", "trio/api/workspace/run-root", {"script_path": "config.yaml"}, 422, "not a Python script"),
        ("POST", "trio/api/launcher/open", {"script_name": "../../etc"}, 404, "no such workspace"),
    ]
    for method, path, body, code, needle in cases:
        kwargs = {"method": method}
        if body is not None or method in ("POST", "PATCH"):
            kwargs["body"] = json.dumps(body if body is not None else {})
        resp = await raw_fetch(path, **kwargs)
        payload = json.loads(resp.body)
        assert resp.code == code, (path, body, resp.code, payload)
        assert needle.lower() in payload["error"]["message"].lower(), (path, payload)
    resp = await raw_fetch("trio/api/generator/create", method="POST", body=b"{not json")
    assert resp.code == 400 and json.loads(resp.body)["error"]["code"] == "invalid_json"


async def test_launcher_discovers_scripts_and_configs(api, jp_root_dir, script_workspace):
    (jp_root_dir / "proj").mkdir()
    (jp_root_dir / "proj" / "train.py").write_text("print(1)\n")
    (jp_root_dir / "proj" / "config.yaml").write_text("a: 1\n")
    (jp_root_dir / "proj" / "other.yml").write_text("b: 2\n")
    (jp_root_dir / ".hidden").mkdir()
    (jp_root_dir / ".hidden" / "secret.py").write_text("")
    (jp_root_dir / "node_modules").mkdir()
    (jp_root_dir / "node_modules" / "x.py").write_text("")
    _, scripts = await api("GET", "trio/api/launcher/scripts")
    assert "proj/train.py" in scripts["items"]
    assert not any("hidden" in s or "node_modules" in s for s in scripts["items"])
    _, configs = await api("GET", "trio/api/launcher/configs")
    assert {"proj/config.yaml", "proj/other.yml"} <= set(configs["items"])
    status, picked = await api("POST", "trio/api/launcher/pick-script", {"script_path": "proj/train.py"})
    assert picked["configs"] == ["proj/config.yaml", "proj/other.yml"] and not picked["workspace_exists"]
    await api(
        "POST",
        "trio/api/workspace/run-root",
        {"script_path": "proj/train.py", "config_path": "proj/other.yml"},
    )
    await api("POST", "trio/api/workspace/shell")
    _, listed = await api("GET", "trio/api/launcher/workspaces")
    assert {w["script_name"] for w in listed["items"]} == {"train", "_shell_"}
    status, opened = await api("POST", "trio/api/launcher/open", {"script_name": "train"})
    assert opened["workspace_kind"] == "script" and opened["config_default"] == {"b": 2}
    _, current = await api("GET", "trio/api/workspace")
    assert current["script_name"] == "train"


async def test_a_thousand_tasks_are_created_at_once(api, script_workspace, trio_workspace, trio_app):
    await script_workspace(SCRIPT)
    started = time.perf_counter()
    status, out = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "big", "template_value": {"a": "1:11", "b": "1:101"}},
    )
    elapsed = time.perf_counter() - started
    assert status == 201 and out["count"] == 1000
    _, listed = await api("GET", "trio/api/tasks", params={"limit": 1})
    assert listed["total"] == 1000
    trio_app.tasks.flush()
    configs = sorted((trio_workspace / "tasks").glob("*/config.yaml"))
    assert len(configs) == 1000
    assert yaml.safe_load(configs[-1].read_text()) == {"a": 10, "b": 100}
    print(f"created 1000 tasks in {elapsed * 1000:.0f} ms")


async def test_jupyterlab_cache_buster_is_not_a_parameter(raw_fetch):
    # JupyterLab's ServerConnection appends ?<timestamp> to GETs; unknown names stay refused
    resp = await raw_fetch("trio/api/tasks?1764651600000&limit=5")
    assert resp.code == 200, resp.body
    resp = await raw_fetch("trio/api/tasks?bogus=1")
    assert resp.code == 422
