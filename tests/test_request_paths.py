"""One rule for every path a request names: absolute or relative, accepted when it resolves inside the
allowed root (the server root; for dataset imports, c.TrioApp.import_roots), refused (403) otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_trio.store.paths import PathOutsideWorkspace, resolve_in_roots, resolve_inside

from dataset_fixtures import make
from test_datasets_api import wait_status


def test_resolver_accepts_absolute_paths_inside_and_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    assert resolve_inside(root, "sub") == root / "sub"
    assert resolve_inside(root, str(root / "sub")) == root / "sub"
    assert resolve_inside(root, str(root / "sub" / ".." / "sub")) == root / "sub"
    for bad in (str(tmp_path / "outside"), "../outside", "link", str(root / "link"), "/etc/passwd", "a\x00b"):
        with pytest.raises(PathOutsideWorkspace):
            resolve_inside(root, bad)


def test_roots_resolver_names_the_allowed_roots(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "x").mkdir(parents=True)
    (b / "y").mkdir(parents=True)
    assert resolve_in_roots([a, b], "x") == a / "x"
    assert resolve_in_roots([a, b], str(b / "y")) == b / "y"
    with pytest.raises(PathOutsideWorkspace):
        resolve_in_roots([a, b], "../b/y")  # relative paths are taken from the first root only
    with pytest.raises(PathOutsideWorkspace) as err:
        resolve_in_roots([a, b], str(tmp_path))
    assert str(a) in str(err.value) and str(b) in str(err.value)


async def test_run_root_accepts_the_absolute_path_its_own_reply_names(api, jp_root_dir, tmp_path):
    (jp_root_dir / "job.py").write_text("print('hi')\n")
    (jp_root_dir / "cfg.yaml").write_text("lr: 0.5\n")
    code, rel = await api("POST", "trio/api/workspace/run-root", {"script_path": "job.py"})
    assert code == 200, rel
    absolute = rel["script_path"]
    assert Path(absolute).is_absolute()
    code, again = await api(
        "POST",
        "trio/api/workspace/run-root",
        {"script_path": absolute, "config_path": str(jp_root_dir / "cfg.yaml")},
    )
    assert code == 200, again
    assert again["script_path"] == absolute and again["script_name"] == rel["script_name"]
    assert again["config_default"] == {"lr": 0.5}
    outside = tmp_path / "elsewhere.py"
    outside.write_text("print('no')\n")
    code, out = await api("POST", "trio/api/workspace/run-root", {"script_path": str(outside)})
    assert code == 403 and out["error"]["code"] == "outside_workspace"
    code, out = await api(
        "POST", "trio/api/launcher/pick-script", {"script_path": str(jp_root_dir / "job.py")}
    )
    assert code == 200, out


async def test_import_outside_the_default_root_names_the_allowed_roots(api, tmp_path, jp_root_dir):
    data = make("classification", tmp_path / "data" / "shapes", 8)
    await api("POST", "trio/api/datasets", {"name": "shapes", "dataset_type": "classification"})
    code, out = await api("POST", "trio/api/datasets/D0001/import", {"path": str(data)})
    assert code == 403 and out["error"]["code"] == "outside_workspace"
    assert os.path.realpath(jp_root_dir) in out["error"]["message"]


class TestImportRoots:
    @pytest.fixture
    def data_root(self, tmp_path_factory):
        return tmp_path_factory.mktemp("mounted-data")

    @pytest.fixture
    def trio_config(self, data_root):
        return {"import_roots": [str(data_root)]}

    async def test_imports_read_from_the_configured_roots(self, api, px, data_root, tmp_path):
        data = make("classification", data_root / "shapes", 8)
        await api("POST", "trio/api/datasets", {"name": "shapes", "dataset_type": "classification"})
        code, out = await api("POST", "trio/api/datasets/D0001/import", {"path": str(data)})
        assert code == 202, out
        assert (await wait_status(api, "D0001", "imported", "check_failed"))["status"] == "imported"
        # relative paths are taken from the first import root; PaddleX clients send server paths too
        await api("POST", "trio/api/datasets", {"name": "again", "dataset_type": "classification"})
        code, out = await px("PUT", "dataset", {"did": "D0002", "path": "shapes"})
        assert code == 200 and out["status"] == 1, out
        elsewhere = make("classification", tmp_path / "not-allowed", 8)
        await api("POST", "trio/api/datasets", {"name": "third", "dataset_type": "classification"})
        code, out = await px("PUT", "dataset", {"did": "D0003", "path": str(elsewhere)})
        assert code == 403 and out["status"] == -1 and str(data_root) in out["message"]
