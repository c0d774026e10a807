"""PaddleX dialect, datasets of every type through a live server: import, split, details, /file, and
broken imports that must fail naming the file and leave nothing behind."""

from __future__ import annotations

import base64
import io

import pytest
from conftest import wait_dataset
from PIL import Image

from dataset_fixtures import corrupt_first_image, make, make_classification_lists, make_coco_detection

FORMATS = {
    "classification-folders": ("classification", lambda p: make("classification", p, 16), "imagenet"),
    "classification-lists": ("classification", lambda p: make_classification_lists(p, 16), "paddlex_list"),
    "detection-voc": ("detection", lambda p: make("detection", p, 16), "voc"),
    "detection-coco": ("detection", lambda p: make_coco_detection(p, 16), "coco"),
    "segmentation-masks": ("segmentation", lambda p: make("segmentation", p, 16), "masks"),
    "instance-coco": ("instance_segmentation", lambda p: make("instance_segmentation", p, 16), "coco"),
}


async def _import(px, jp_root_dir, kind, build, name="src"):
    build(jp_root_dir / name)
    _, out = await px("POST", "dataset", {"name": name, "desc": "", "dataset_type": kind})
    did = out["did"]
    code, out = await px("PUT", "dataset", {"did": did, "path": name})
    assert (code, out) == (200, {"status": 1})
    return did, await wait_dataset(px, did)


@pytest.mark.parametrize("case", list(FORMATS))
async def test_import_split_details_per_format(px, api, jp_root_dir, trio_workspace, case):
    kind, build, fmt = FORMATS[case]
    did, done = await _import(px, jp_root_dir, kind, build)
    assert done["dataset_status"] == 4, done  # XCOPYDONE
    code, out = await px("PUT", "dataset/split", {"did": did, "val_split": 0.25, "test_split": 0.125})
    assert out == {"status": 1}
    _, det = await px("GET", "dataset/details", {"did": did})
    d = det["details"]
    assert len(d["file_info"]) == 16
    assert (len(d["train_files"]), len(d["val_files"]), len(d["test_files"])) == (
        10,
        4,
        2,
    ) or kind != "classification"
    assert len(d["train_files"]) + len(d["val_files"]) + len(d["test_files"]) == 16
    assert not set(d["train_files"]) & set(d["val_files"]) and d["val_files"]
    folder = trio_workspace / "datasets" / did
    for image, annotation in d["file_info"].items():
        assert (folder / image).is_file()
        assert annotation in d["labels"] if kind == "classification" else (folder / annotation).is_file()
    assert set(d["label_info"]) == set(d["labels"])
    assert (folder / "train_list.txt").read_text().count("\n") == len(d["train_files"])
    code, native = await api("GET", f"trio/api/datasets/{did}")
    assert native["status"] == "split" and native["format"] == fmt and native["num_images"] == 16


async def test_detection_split_is_stratified_and_reproducible(px, jp_root_dir):
    did, _ = await _import(px, jp_root_dir, "detection", lambda p: make("detection", p, 60))
    await px("PUT", "dataset/split", {"did": did, "val_split": 0.3, "test_split": 0.0})
    _, first = await px("GET", "dataset/details", {"did": did})
    await px("PUT", "dataset/split", {"did": did, "val_split": 0.3, "test_split": 0.0})
    _, again = await px("GET", "dataset/details", {"did": did})
    assert again["details"]["val_files"] == first["details"]["val_files"]
    await px("PUT", "dataset/split", {"did": did, "val_split": 0.3, "test_split": 0.0, "seed": 7})
    _, other = await px("GET", "dataset/details", {"did": did})
    assert other["details"]["val_files"] != first["details"]["val_files"]
    d = first["details"]
    for label in d["labels"]:  # every class reaches validation, near its share of the data
        assert d["class_val_file_list"].get(label), label
        share = len(d["class_val_file_list"][label]) / len(d["label_info"][label])
        assert 0.1 <= share <= 0.6, (label, share)


@pytest.mark.parametrize("kind", ["classification", "detection", "segmentation", "instance_segmentation"])
async def test_broken_import_names_the_file_and_leaves_nothing(px, jp_root_dir, trio_workspace, kind):
    def build(path):
        make(kind, path, 8)
        build.bad = corrupt_first_image(path)

    did, failed = await _import(px, jp_root_dir, kind, build)
    assert failed["dataset_status"] == 2, failed  # XCHECKFAIL
    assert build.bad in failed["message"] and "does not decode" in failed["message"]
    assert list((trio_workspace / "datasets" / did).iterdir()) == []
    code, out = await px("PUT", "dataset/split", {"did": did, "val_split": 0.2, "test_split": 0.1})
    assert code == 409 and out["status"] == -1


async def test_traversal_in_a_list_file_fails_the_import(px, jp_root_dir, trio_workspace):
    def build(path):
        make_classification_lists(path, 8)
        with (path / "train_list.txt").open("a") as fh:
            fh.write("../../../../etc/hostname 0\n")

    did, failed = await _import(px, jp_root_dir, "classification", build)
    assert failed["dataset_status"] == 2 and "train_list.txt line 7" in failed["message"]
    assert "leaves the dataset folder" in failed["message"]
    assert list((trio_workspace / "datasets" / did).iterdir()) == []


async def test_reimport_replaces_the_data(px, jp_root_dir, trio_workspace):
    did, _ = await _import(px, jp_root_dir, "classification", lambda p: make("classification", p, 8))
    make("classification", jp_root_dir / "bigger", 12)
    await px("PUT", "dataset", {"did": did, "path": "bigger"})
    done = await wait_dataset(px, did)
    assert done["dataset_status"] == 4
    _, det = await px("GET", "dataset/details", {"did": did})
    assert len(det["details"]["file_info"]) == 12


async def test_file_images_with_and_without_labels(px, raw_fetch, jp_root_dir, trio_workspace):
    did, _ = await _import(px, jp_root_dir, "detection", lambda p: make("detection", p, 6))
    rel = f"datasets/{did}/JPEGImages/img_0000.jpg"
    code, plain = await px("GET", "file", {"path": rel})
    assert code == 200 and base64.b64decode(plain["img_data"]) == (trio_workspace / rel).read_bytes()
    code, absolute = await px("GET", "file", {"path": str(trio_workspace / rel)})
    assert absolute["img_data"] == plain["img_data"]
    code, drawn = await px("GET", "file", {"path": rel, "did": did})
    image = Image.open(io.BytesIO(base64.b64decode(drawn["img_data"])))
    original = Image.open(trio_workspace / rel).convert("RGB")
    assert image.size == original.size and image.format == "PNG"
    assert image.convert("RGB").tobytes() != original.tobytes()  # boxes were drawn
    resp = await raw_fetch(f"trio/paddlex/file?path=datasets/{did}/Annotations/img_0000.xml")
    assert resp.code == 200 and resp.body.startswith(b"<annotation>")  # xml comes back as the file itself
    assert resp.headers["Content-Type"].startswith("application/xml")


async def test_file_segmentation_overlay_and_text(px, jp_root_dir, trio_workspace):
    did, _ = await _import(px, jp_root_dir, "segmentation", lambda p: make("segmentation", p, 6))
    code, drawn = await px("GET", "file", {"path": f"datasets/{did}/JPEGImages/img_0001.jpg", "did": did})
    assert code == 200 and Image.open(io.BytesIO(base64.b64decode(drawn["img_data"]))).size == (96, 96)
    code, text = await px("GET", "file", {"path": f"datasets/{did}/labels.txt"})
    assert text["status"] == 1 and text["lines"] == ["background", "circle", "square", "triangle"]


@pytest.mark.parametrize(
    "body, code, needle",
    [
        ({"path": "../../etc/hostname"}, 403, "leaves the allowed folder"),
        ({"path": "/etc/hostname"}, 403, "leaves the allowed folder"),
        ({"path": "trio.db"}, 403, "database"),
        ({"path": "datasets/nothing.png"}, 404, "no such file"),
        ({}, 422, "path is required"),
    ],
)
async def test_file_refuses_outside_and_missing(px, body, code, needle):
    got, out = await px("GET", "file", body)
    assert got == code and out["status"] == -1 and needle in out["message"]


async def test_file_refuses_unsupported_types_and_foreign_did(px, jp_root_dir, trio_workspace):
    did, _ = await _import(px, jp_root_dir, "detection", lambda p: make("detection", p, 4))
    (trio_workspace / "uploads").mkdir(exist_ok=True)
    (trio_workspace / "uploads" / "x.py").write_text("print(1)")
    code, out = await px("GET", "file", {"path": "uploads/x.py"})
    assert code == 422 and out["status"] == -1 and ".xml" in out["message"]
    Image.new("RGB", (8, 8)).save(trio_workspace / "uploads" / "y.png")
    code, out = await px("GET", "file", {"path": "uploads/y.png", "did": did})
    assert code == 422 and f"not a file of dataset {did}" in out["message"]
