"""Dataset formats: every supported layout scans to the right manifest; every broken fixture is
refused with the bad file named (no HTTP here: the import tests drive the same code through a server)."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_trio.trainers.formats import FormatError, scan
from jupyter_trio.trainers.formats.coco import decode_rle_string, encode_rle, segmentation_mask

from dataset_fixtures import (
    corrupt_first_image,
    edit_coco,
    make,
    make_classification_lists,
    make_coco_detection,
    write_mask,
)


@pytest.mark.parametrize(
    "kind, fmt, labels",
    [
        ("classification", "imagenet", ["circle", "cross", "square", "triangle"]),
        ("detection", "voc", ["circle", "square", "triangle"]),
        ("segmentation", "masks", ["background", "circle", "square", "triangle"]),
        ("instance_segmentation", "coco", ["circle", "square", "triangle"]),
    ],
)
def test_each_type_scans_from_its_folder_format(tmp_path, kind, fmt, labels):
    folder = make(kind, tmp_path / kind, count=12)
    manifest, problems = scan(kind, folder)
    assert not problems, problems.message()
    assert (manifest.format, manifest.labels, len(manifest.samples)) == (fmt, labels, 12)
    for rel, sample in manifest.samples.items():
        assert (
            (folder / rel).is_file() and (folder / sample["annotation"]).exists() or kind == "classification"
        )
        assert rel in manifest.files and sample["classes"]
        for obj in sample.get("objects", []):
            x1, y1, x2, y2 = obj["bbox"]
            assert 0 <= x1 < x2 <= sample["width"] and 0 <= y1 < y2 <= sample["height"]
            assert obj["label"] in labels
            if kind == "instance_segmentation":
                assert segmentation_mask(obj["segmentation"], sample["width"], sample["height"]).sum() > 20


def test_classification_list_files(tmp_path):
    folder = make_classification_lists(tmp_path / "lists")
    manifest, problems = scan("classification", folder)
    assert not problems and manifest.format == "paddlex_list" and len(manifest.samples) == 12
    assert {s["label"] for s in manifest.samples.values()} == set(manifest.labels)
    assert "labels.txt" in manifest.files


def test_coco_detection(tmp_path):
    folder = make_coco_detection(tmp_path / "coco")
    manifest, problems = scan("detection", folder)
    assert not problems and manifest.format == "coco"
    assert all("segmentation" not in o for s in manifest.samples.values() for o in s["objects"])


def _problems(kind, folder):
    manifest, problems = scan(kind, folder)
    assert problems, "the broken dataset was accepted"
    return problems.message()


@pytest.mark.parametrize("kind", ["classification", "detection", "segmentation", "instance_segmentation"])
def test_a_corrupt_image_is_named(tmp_path, kind):
    folder = make(kind, tmp_path / kind, count=8)
    bad = corrupt_first_image(folder)
    assert bad in _problems(kind, folder)


def test_voc_box_outside_the_image_and_unknown_class(tmp_path):
    folder = make("detection", tmp_path / "voc", count=6)
    xmls = sorted((folder / "Annotations").glob("*.xml"))
    text = xmls[0].read_text()
    start = text.index("<xmax>") + len("<xmax>")
    xmls[0].write_text(text[:start] + "900" + text[text.index("</xmax>") :])
    xmls[1].write_text(xmls[1].read_text().replace("<name>", "<name>zebra", 1))
    message = _problems("detection", folder)
    assert f"Annotations/{xmls[0].name}" in message and "outside the 128x128 image" in message
    assert f"Annotations/{xmls[1].name}" in message and "unknown class" in message


def test_voc_broken_xml_and_orphan_annotation(tmp_path):
    folder = make("detection", tmp_path / "voc", count=4)
    (folder / "Annotations" / "img_0000.xml").write_text("<annotation><object>")
    (folder / "Annotations" / "lonely.xml").write_text("<annotation/>")
    message = _problems("detection", folder)
    assert "img_0000.xml: XML does not parse" in message and "lonely.xml: no image" in message


def test_coco_bad_references(tmp_path):
    folder = make("instance_segmentation", tmp_path / "coco", count=6)

    def edit(coco):
        coco["annotations"][0]["category_id"] = 99
        coco["annotations"][1]["image_id"] = 12345
        coco["annotations"][2]["bbox"] = [100, 100, 80, 80]
        del coco["annotations"][3]["segmentation"]
        coco["images"][5]["file_name"] = "../../../etc/passwd"

    edit_coco(folder, edit)
    message = _problems("instance_segmentation", folder)
    for needle in (
        "category_id 99",
        "image id 12345",
        "outside the 128x128",
        "no segmentation",
        "leaves the dataset folder",
    ):
        assert needle in message


def test_segmentation_missing_mask_wrong_size_and_unknown_class(tmp_path):
    folder = make("segmentation", tmp_path / "seg", count=6)
    (folder / "Annotations" / "img_0000.png").unlink()
    write_mask(folder / "Annotations" / "img_0001.png", 50, 0)
    write_mask(folder / "Annotations" / "img_0002.png", 96, 9)
    message = _problems("segmentation", folder)
    assert "JPEGImages/img_0000.jpg: missing label mask" in message
    assert "Annotations/img_0001.png: label mask is 50x50" in message
    assert "Annotations/img_0002.png: unknown class 9" in message


@pytest.mark.parametrize("line", ["../outside.jpg 0", "/etc/hostname 0"])
def test_list_file_path_traversal_is_refused(tmp_path, line):
    folder = make_classification_lists(tmp_path / "lists")
    (tmp_path / "outside.jpg").write_bytes(
        (folder / "images" / sorted((folder / "images").iterdir())[0].name).read_bytes()
    )
    with (folder / "train_list.txt").open("a") as fh:
        fh.write(line + "\n")
    message = _problems("classification", folder)
    assert "train_list.txt line 11" in message and "leaves the dataset folder" in message


def test_list_file_unknown_class_index(tmp_path):
    folder = make_classification_lists(tmp_path / "lists")
    with (folder / "val_list.txt").open("a") as fh:
        fh.write("images/" + sorted((folder / "images").iterdir())[0].name + " 7\n")
    assert "val_list.txt line 3: unknown class '7'" in _problems("classification", folder)


def test_a_folder_of_the_wrong_format_is_a_format_error(tmp_path):
    (tmp_path / "empty").mkdir()
    for kind in ("classification", "detection", "segmentation", "instance_segmentation"):
        with pytest.raises(FormatError):
            scan(kind, tmp_path / "empty")


def test_rle_matches_pycocotools():
    mask_api = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(3)
    for h, w in ((37, 53), (1, 1), (64, 64)):
        mask = (rng.random((h, w)) > 0.7).astype(np.uint8)
        mask[: h // 2, : w // 3] = 1
        compressed = mask_api.encode(np.asfortranarray(mask))["counts"].decode()
        assert (segmentation_mask({"size": [h, w], "counts": compressed}, w, h) == mask).all()
        mine = encode_rle(mask)
        assert (mask_api.decode(mask_api.frPyObjects(mine, h, w)) == mask).all()
        assert sum(decode_rle_string(compressed)) == h * w


def test_rle_instance_dataset_imports(tmp_path):
    folder = make("instance_segmentation", tmp_path / "rle", count=4)

    def to_rle(coco):
        for ann in coco["annotations"]:
            mask = segmentation_mask(ann["segmentation"], 128, 128)
            ann["segmentation"] = encode_rle(mask)
        coco["annotations"][0]["segmentation"]["counts"][0] += 5  # no longer covers the image exactly

    edit_coco(folder, to_rle)
    message = _problems("instance_segmentation", folder)
    assert "annotation 1" in message and "RLE counts do not cover" in message
