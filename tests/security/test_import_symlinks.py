"""Issue 33, finding 6d: a dataset import reads nothing through a symbolic link that leaves the dataset
folder (so nothing outside ``import_roots``): such a dataset is refused as a whole, naming the link, as
the importer reports every other bad file."""

from __future__ import annotations

import os
import shutil

from dataset_fixtures import make
from test_datasets_api import wait_status


async def test_a_symlinked_class_folder_outside_the_roots_is_refused(api, jp_root_dir, tmp_path):
    outside = tmp_path / "outside"  # not under the server root, the only import root here
    make("classification", outside, 8)
    secret_class = sorted(p for p in outside.iterdir() if p.is_dir())[0]
    dataset = jp_root_dir / "pets"
    make("classification", dataset, 8)
    os.symlink(secret_class, dataset / "stolen")
    # the dataset's other files may not lead outside either: a label list, a single image
    voc = jp_root_dir / "boxes"
    make("detection", voc, 6)
    shutil.rmtree(voc / "JPEGImages")
    os.symlink(outside / secret_class.name, voc / "JPEGImages")

    for did, (name, kind, path, link) in enumerate(
        [("pets", "classification", "pets", "stolen"), ("boxes", "detection", "boxes", "JPEGImages")], 1
    ):
        code, d = await api("POST", "trio/api/datasets", {"name": name, "dataset_type": kind})
        assert code == 201, d
        code, d = await api("POST", f"trio/api/datasets/{d['id']}/import", {"path": path})
        assert code == 202, d
        d = await wait_status(api, d["id"], "imported", "check_failed", "copy_failed")
        assert d["status"] == "check_failed", (name, d)
        assert f"{link}: a symbolic link to outside the dataset folder" in d["message"], d["message"]
        assert d["num_images"] is None and did
