"""PaddleX dialect, first part: the seed's request examples for /system, /dataset, /project, /workspace,
in both argument forms (JSON body on GET, and the query string)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def px(raw_fetch):
    async def call(method: str, path: str, body=None, query: str = ""):
        kwargs = {"method": method}
        if body is not None:
            kwargs["body"] = json.dumps(body)
            kwargs["allow_nonstandard_methods"] = True  # GET and DELETE with a JSON body, as PaddleX clients do
        resp = await raw_fetch(f"trio/paddlex/{path}{'?' + query if query else ''}", **kwargs)
        return resp.code, json.loads(resp.body)

    return call


async def test_system_machine_info_and_gpu_memory(px):
    code, out = await px("GET", "system", {"type": "machine_info"})
    assert code == 200 and out["status"] == 1
    assert out["info"]["cpu_num"] >= 1 and out["info"]["gpu_num"] == 0 and out["info"]["sysstr"] == "Linux"
    code, out = await px("GET", "system", query="type=machine_info")  # PaddleX's web client used the query
    assert out["status"] == 1 and "cpu_num" in out["info"]
    code, out = await px("GET", "system", {"type": "gpu_memory_size"})
    assert out == {"status": 1, "gpu_mem_infos": []}
    code, out = await px("GET", "system", {"type": "nope"})
    assert code == 422 and out["status"] == -1 and "machine_info" in out["message"]


async def test_dataset_create_query_delete(px, trio_workspace):
    code, out = await px("POST", "dataset", {"name": "我的数据集", "desc": "数据集描述", "dataset_type": "classification"})
    assert code == 200 and out == {"status": 1, "did": "D0001"}
    code, one = await px("GET", "dataset", {"did": "D0001"})
    assert one["status"] == 1 and one["id"] == "D0001" and one["dataset_status"] == 0  # XEMPTY
    attr = one["attr"]
    assert {k: attr[k] for k in ("type", "id", "name", "desc", "pids")} == {
        "type": "classification", "id": "D0001", "name": "我的数据集", "desc": "数据集描述", "pids": []}
    assert attr["path"] and attr["create_time"]
    code, everything = await px("GET", "dataset")
    assert [d["id"] for d in everything["datasets"]] == ["D0001"]
    assert everything["datasets"][0]["attr"]["dataset_status"] == 0
    code, q = await px("GET", "dataset", query="did=D0001")
    assert q["id"] == "D0001"
    code, out = await px("DELETE", "dataset", {"did": "D0001"})
    assert out == {"status": 1}
    assert not (trio_workspace / "datasets" / "D0001").exists()
    code, out = await px("GET", "dataset", {"did": "D0001"})
    assert code == 404 and out["status"] == -1 and "D0001" in out["message"]


@pytest.mark.parametrize("body, needle", [
    ({"name": "x", "dataset_type": "pointcloud"}, "dataset_type"),
    ({"dataset_type": "detection"}, "name"),
    ([1, 2], "JSON object"),
])
async def test_dataset_bad_input(px, body, needle):
    code, out = await px("POST", "dataset", body)
    assert 400 <= code < 500 and out["status"] == -1 and needle in out["message"]


async def test_project_create_bind_query_delete(px, api, trio_app):
    code, out = await px("POST", "project", {"name": "分类项目", "desc": "一个新的项目", "project_type": "classification"})
    assert out == {"status": 1, "pid": "P0001"}
    code, out = await px("POST", "project", {"name": "det", "project_type": 1})  # the integer form
    assert out["pid"] == "P0002"
    await px("POST", "dataset", {"name": "d", "dataset_type": "classification"})
    code, out = await px("PUT", "workspace", {"struct": "project", "id": "P0001", "attr_dict": {"did": "D0001"}})
    assert out == {"status": 1}
    code, out = await px("PUT", "workspace", {"struct": "project", "id": "P0002", "attr_dict": {"did": "D0001"}})
    assert out["status"] == -1 and "detection" in out["message"]  # type mismatch

    code, one = await px("GET", "project", {"id": "P0001"})
    attr = one["attr"]
    assert {k: attr[k] for k in ("id", "name", "desc", "type", "did", "tasks")} == {
        "id": "P0001", "name": "分类项目", "desc": "一个新的项目", "type": "classification", "did": "D0001", "tasks": []}
    code, allp = await px("GET", "project")
    assert [p["id"] for p in allp["projects"]] == ["P0001", "P0002"]
    assert allp["projects"][1]["attr"]["type"] == "detection"
    code, ds = await px("GET", "dataset", {"did": "D0001"})
    assert ds["attr"]["pids"] == ["P0001"]

    code, ws = await px("GET", "workspace")
    assert ws == {"status": 1, "dirname": str(trio_app.store.root)}
    code, out = await px("GET", "workspace", {"struct": "project", "id": "P0001", "attr_list": ["did", "path"]})
    assert out["attr"] == {"did": "D0001", "path": "projects/P0001"}
    code, out = await px("GET", "workspace", query='struct=project&id=P0001&attr_list=["name"]')
    assert out["attr"] == {"name": "分类项目"}
    code, out = await px("GET", "workspace", {"struct": "project", "id": "P0001", "attr_list": ["colour"]})
    assert code == 422 and "colour" in out["message"]

    code, out = await px("DELETE", "project", {"pid": "P0001"})
    assert out == {"status": 1}
    code, out = await px("GET", "project", {"id": "P0001"})
    assert code == 404 and out["status"] == -1


async def test_deleting_a_project_kills_its_running_tasks(px, trio_app, wait_task, tmp_path):
    import asyncio

    import psutil

    from jupyter_trio.store.tasks import NewTask

    await px("POST", "project", {"name": "p", "project_type": "classification"})
    pidfile = tmp_path / "pid"
    store = trio_app.store
    with store.db.transaction() as conn:
        store.tasks.insert_many(conn, [NewTask(name="ptask", kind="shell", owner="me", project_id="P0001",
                                               command=f"echo $$ > {pidfile}; sleep 300")])
    trio_app.tasks.run("ptask")
    await wait_task("ptask", "running")
    while not (pidfile.exists() and pidfile.read_text().strip()):
        await asyncio.sleep(0.02)
    pid = int(pidfile.read_text())
    code, out = await px("DELETE", "project", {"pid": "P0001"})
    assert out == {"status": 1}
    assert trio_app.store.tasks.get("ptask") is None
    for _ in range(200):
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the project's job is still running")
