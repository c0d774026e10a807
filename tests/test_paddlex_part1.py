"""PaddleX dialect, first part: the seed's request examples for /system, /dataset, /project, /workspace,
in both argument forms (JSON body on GET, and the query string)."""

from __future__ import annotations

import pytest
from conftest import wait_dataset


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
    code, out = await px(
        "POST", "dataset", {"name": "我的数据集", "desc": "数据集描述", "dataset_type": "classification"}
    )
    assert code == 200 and out == {"status": 1, "did": "D0001"}
    code, one = await px("GET", "dataset", {"did": "D0001"})
    assert one["status"] == 1 and one["id"] == "D0001" and one["dataset_status"] == 0  # XEMPTY
    attr = one["attr"]
    assert {k: attr[k] for k in ("type", "id", "name", "desc", "pids")} == {
        "type": "classification",
        "id": "D0001",
        "name": "我的数据集",
        "desc": "数据集描述",
        "pids": [],
    }
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


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"name": "x", "dataset_type": "pointcloud"}, "dataset_type"),
        ({"dataset_type": "detection"}, "name"),
        ([1, 2], "JSON object"),
    ],
)
async def test_dataset_bad_input(px, body, needle):
    code, out = await px("POST", "dataset", body)
    assert 400 <= code < 500 and out["status"] == -1 and needle in out["message"]


async def test_project_create_bind_query_delete(px, api, trio_app):
    code, out = await px(
        "POST", "project", {"name": "分类项目", "desc": "一个新的项目", "project_type": "classification"}
    )
    assert out == {"status": 1, "pid": "P0001"}
    code, out = await px("POST", "project", {"name": "det", "project_type": 1})  # the integer form
    assert out["pid"] == "P0002"
    await px("POST", "dataset", {"name": "d", "dataset_type": "classification"})
    code, out = await px(
        "PUT", "workspace", {"struct": "project", "id": "P0001", "attr_dict": {"did": "D0001"}}
    )
    assert out == {"status": 1}
    code, out = await px(
        "PUT", "workspace", {"struct": "project", "id": "P0002", "attr_dict": {"did": "D0001"}}
    )
    assert out["status"] == -1 and "detection" in out["message"]  # type mismatch

    code, one = await px("GET", "project", {"id": "P0001"})
    attr = one["attr"]
    assert {k: attr[k] for k in ("id", "name", "desc", "type", "did", "tasks")} == {
        "id": "P0001",
        "name": "分类项目",
        "desc": "一个新的项目",
        "type": "classification",
        "did": "D0001",
        "tasks": [],
    }
    code, allp = await px("GET", "project")
    assert [p["id"] for p in allp["projects"]] == ["P0001", "P0002"]
    assert allp["projects"][1]["attr"]["type"] == "detection"
    code, ds = await px("GET", "dataset", {"did": "D0001"})
    assert ds["attr"]["pids"] == ["P0001"]

    code, ws = await px("GET", "workspace")
    assert ws == {"status": 1, "dirname": str(trio_app.store.root)}
    code, out = await px(
        "GET", "workspace", {"struct": "project", "id": "P0001", "attr_list": ["did", "path"]}
    )
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

    from jupyter_trio.domain import NewTask

    await px("POST", "project", {"name": "p", "project_type": "classification"})
    pidfile = tmp_path / "pid"
    store = trio_app.store
    with store.db.transaction() as conn:
        store.tasks.insert_many(
            conn,
            [
                NewTask(
                    name="ptask",
                    kind="shell",
                    owner="me",
                    project_id="P0001",
                    command=f"echo $$ > {pidfile}; sleep 300",
                )
            ],
        )
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


def make_classification_tree(root, classes=("cat", "dog"), per_class=10, corrupt: str | None = None):
    from PIL import Image

    for c, label in enumerate(classes):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (16, 16), (40 * c, 10 * i, 100)).save(root / label / f"{label}_{i}.png")
    if corrupt:
        (root / corrupt).write_bytes(b"\x89PNG not really an image")


async def test_classification_import_split_details(px, jp_root_dir, trio_workspace):
    make_classification_tree(jp_root_dir / "flowers")
    await px("POST", "dataset", {"name": "f", "dataset_type": "classification"})
    code, out = await px("PUT", "dataset", {"did": "D0001", "path": str(jp_root_dir / "flowers")})
    assert out == {"status": 1}
    done = await wait_dataset(px, "D0001")
    assert done["dataset_status"] == 4, done  # XCOPYDONE
    assert (trio_workspace / "datasets" / "D0001" / "cat" / "cat_0.png").is_file()
    code, out = await px("PUT", "dataset/split", {"did": "D0001", "val_split": 0.2, "test_split": 0.1})
    assert out == {"status": 1}
    _, ds = await px("GET", "dataset", {"did": "D0001"})
    assert ds["dataset_status"] == 6  # XSPLITED
    _, det = await px("GET", "dataset/details", {"did": "D0001"})
    d = det["details"]
    assert d["labels"] == ["cat", "dog"] and len(d["file_info"]) == 20
    assert (len(d["train_files"]), len(d["val_files"]), len(d["test_files"])) == (14, 4, 2)
    assert {k: len(v) for k, v in d["class_val_file_list"].items()} == {"cat": 2, "dog": 2}  # stratified
    await px("PUT", "dataset/split", {"did": "D0001", "val_split": 0.2, "test_split": 0.1})
    _, again = await px("GET", "dataset/details", {"did": "D0001"})
    assert again["details"]["val_files"] == d["val_files"]  # same seed, same split


async def test_import_with_a_corrupt_image_fails_naming_it_and_leaves_nothing(
    px, jp_root_dir, trio_workspace
):
    make_classification_tree(jp_root_dir / "broken", corrupt="dog/bad.png")
    await px("POST", "dataset", {"name": "b", "dataset_type": "classification"})
    await px("PUT", "dataset", {"did": "D0001", "path": "broken"})
    failed = await wait_dataset(px, "D0001")
    assert failed["dataset_status"] == 2 and "dog/bad.png" in failed["message"]  # XCHECKFAIL
    assert list((trio_workspace / "datasets" / "D0001").iterdir()) == []
    code, out = await px("PUT", "dataset/split", {"did": "D0001", "val_split": 0.2, "test_split": 0.1})
    assert code == 409 and out["status"] == -1


@pytest.mark.parametrize("path", ["/etc", "../..", "missing-folder"])
async def test_import_refuses_paths_outside_the_server_root(px, path):
    await px("POST", "dataset", {"name": "x", "dataset_type": "classification"})
    code, out = await px("PUT", "dataset", {"did": "D0001", "path": path})
    assert 400 <= code < 500 and out["status"] == -1
