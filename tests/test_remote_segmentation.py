"""remote_segmentation: multi-band images (TIFF of N bands, .npy) imported with per-band statistics, the
four segmentation models trained on N input channels, exported with parity, and the PaddleX dialect end
to end (demo → train → evaluate → predict an uploaded TIFF → labels drawn on a chosen band triple)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from jupyter_trio.handlers.paddlex.enums import PredictStatus, TaskStatus
from jupyter_trio.trainers import rasters
from jupyter_trio.trainers.formats import scan
from jupyter_trio.trainers.synthetic import LAND_COVER

from dataset_fixtures import imported, make
from test_paddlex_tasks import poll


def test_demo_scene_imports_with_band_statistics(tmp_path):
    folder = make("remote_segmentation", tmp_path / "rs", 6)
    manifest, problems = scan("remote_segmentation", folder)
    assert not problems, problems.message()
    meta = manifest.to_json()
    assert meta["bands"] == 4 and meta["labels"] == list(LAND_COVER)
    arrays = [rasters.read(folder / rel) for rel in meta["samples"]]
    stacked = np.concatenate([a.reshape(-1, 4) for a in arrays])
    stats = meta["band_stats"]
    assert stats["min"] == pytest.approx(stacked.min(0)) and stats["max"] == pytest.approx(stacked.max(0))
    scaled = (stacked - stacked.min(0)) / (stacked.max(0) - stacked.min(0))
    assert stats["mean"] == pytest.approx(scaled.mean(0), rel=1e-4)
    assert stats["std"] == pytest.approx(scaled.std(0), rel=1e-3)
    sample = next(iter(meta["samples"].values()))
    assert (sample["width"], sample["height"]) == (64, 64)


def test_planar_tiff_npy_and_bad_rasters(tmp_path):
    folder = make("remote_segmentation", tmp_path / "rs", 5)
    images = sorted((folder / "JPEGImages").iterdir())
    hwc = tifffile.imread(images[0])
    # the same image written band-first (planar) reads back as (height, width, bands)
    tifffile.imwrite(images[0], np.moveaxis(hwc, -1, 0), planarconfig="separate", photometric="minisblack")
    assert np.array_equal(rasters.read(images[0]), hwc.astype(np.float32))
    # .npy images of the same bands are accepted beside TIFFs
    np.save(images[1].with_suffix(".npy"), tifffile.imread(images[1]))
    images[1].unlink()
    manifest, problems = scan("remote_segmentation", folder)
    assert not problems and manifest.to_json()["bands"] == 4 and len(manifest.samples) == 5

    tifffile.imwrite(images[2], hwc[:, :, :3])  # three bands among four-band images
    images[3].write_bytes(b"II*\x00 not really a tiff")
    bad = np.full((64, 64, 4), np.nan, np.float32)
    tifffile.imwrite(images[4], bad)
    _, problems = scan("remote_segmentation", folder)
    text = problems.message()
    assert "has 3 bands, the first image has 4" in text
    assert images[3].name in text and "does not decode" in text
    assert "NaN" in text


@pytest.fixture(scope="module")
def rs_dataset(tmp_path_factory):
    return imported("remote_segmentation", tmp_path_factory.mktemp("rs-data"), 12)


STEPS = 5
ONE_EPOCH_UNET = {
    "model": "UNet",
    "image_shape": [32, 32],
    "batch_size": 8,
    "num_epochs": 1,
    "learning_rate": 0.005,
}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["UNet", "DeepLabv3p", "HRNet_W18", "FastSCNN"])
def test_models_train_on_four_bands_and_export(tmp_path, rs_dataset, model):
    paddle = pytest.importorskip("paddle")
    from jupyter_trio.trainers.engine import Engine
    from jupyter_trio.trainers.export import InferenceModel, export_inference

    params = {
        "model": model,
        "image_shape": [32, 32],
        "batch_size": 8,
        "train_num": 8,
        "num_epochs": STEPS,
        "save_interval_epochs": STEPS,
        "learning_rate": 0.005,
        "horizontal_flip": False,
        "lr_policy": "Piecewise",
        "lr_decay_epochs": [100],
    }
    losses: list[float] = []
    engine = Engine("remote_segmentation", params, rs_dataset, tmp_path / "task", log=lambda s: None)
    assert engine.channels == 4 and len(engine.params.image_mean) == 4  # the dataset's statistics
    engine.train(track=lambda step=None, **v: losses.append(v["loss"]) if "loss" in v else None)
    assert len(losses) == STEPS and min(losses[-2:]) < losses[0], losses
    metrics = engine.evaluate(engine.eval_view)
    assert 0 <= metrics["miou"] <= 1 and set(metrics["category_iou"]) == set(LAND_COVER)

    best = Engine.from_checkpoint(tmp_path / "task", "best", log=lambda s: None)
    assert best.channels == 4 and best.params.image_min == engine.params.image_min
    meta = export_inference(best, tmp_path / "export")
    assert meta["channels"] == 4 and len(meta["image_max"]) == 4
    batch = np.random.default_rng(0).normal(size=(2, 4, 32, 32)).astype("float32")
    [got] = InferenceModel(tmp_path / "export").run(batch)
    with paddle.no_grad():
        want = best.model(paddle.to_tensor(batch)).numpy()
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-4 * max(1, np.abs(want).max())


def test_remote_parameters():
    from jupyter_trio.errors import ValidationFailed
    from jupyter_trio.trainers.params import validate

    p = validate("remote_segmentation", {"model": "HRNet_W18"})
    assert p.image_mean is None and not p.brightness and not p.hue
    assert (
        p.with_band_stats({"mean": [0.5] * 5, "std": [0.2] * 5, "min": [0] * 5, "max": [1] * 5}).image_std
        == [0.2] * 5
    )
    with pytest.raises(ValidationFailed, match="saturation and hue"):
        validate("remote_segmentation", {"model": "UNet", "hue": True})
    with pytest.raises(ValidationFailed, match="one value per band"):
        validate("remote_segmentation", {"model": "UNet", "image_mean": [0.5] * 4, "image_std": [0.2] * 3})


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


@pytest.mark.slow
async def test_paddlex_remote_segmentation_end_to_end(px, trio_workspace):
    pytest.importorskip("paddle")
    await px("POST", "demo", {"type": "download", "prj_type": 4})
    await poll(px, "demo", {"prj_type": 4}, lambda o: o["attr"]["status"] == 3)
    _, loaded = await px("POST", "demo", {"type": "load", "prj_type": 4})
    did, pid = loaded["did"], loaded["pid"]
    scene = sorted((trio_workspace / "datasets" / did).rglob("*.tif"))[0]
    rel = scene.relative_to(trio_workspace).as_posix()

    # labels drawn on a chosen band triple: near-infrared as red makes vegetation stand out
    _, plain = await px("GET", "file", {"path": rel})
    _, nir = await px("GET", "file", {"path": rel, "bands": "4,3,2"})
    _, labelled = await px("GET", "file", {"path": rel, "did": did, "bands": "4,3,2"})
    shown = [Image.open(io.BytesIO(base64.b64decode(r["img_data"]))) for r in (plain, nir, labelled)]
    assert all(im.size == (64, 64) and im.mode == "RGB" for im in shown)
    assert not np.array_equal(np.asarray(shown[0]), np.asarray(shown[1]))
    assert not np.array_equal(np.asarray(shown[1]), np.asarray(shown[2]))
    code, out = await px("GET", "file", {"path": rel, "bands": "4,3,9"})
    assert code == 422 and out["status"] == -1 and "4 bands" in out["message"], out
    code, out = await px("GET", "file", {"path": rel, "bands": "red"})
    assert code == 422 and out["status"] == -1 and "bands" in out["message"], out

    _, params = await px("GET", "project/task/params", {"pid": pid})
    assert params["train"]["model"] == "UNet" and params["train"]["image_mean"] is None
    train = {**ONE_EPOCH_UNET, "hue": True}  # the web client sends colour jitter for every segmentation form
    code, out = await px("POST", "project/task", {"pid": pid, "train": json.dumps(train)})
    assert code == 200 and "hue" in out["message"], out
    tid = out["tid"]
    code, out = await px(
        "POST",
        "project/task",
        {"pid": pid, "train": {**train, "image_mean": [0.5] * 3, "image_std": [0.2] * 3}},
    )
    assert code == 422 and "3 values for images of 4 bands" in out["message"], out
    await px("POST", "project/task/train", {"tid": tid})
    done = await poll(px, "project/task", {"tid": tid}, lambda o: o["task_status"] in (4, 10, 8))
    assert done["task_status"] == TaskStatus.XTRAINDONE and done["type"] == "remote_segmentation", done
    await px("POST", "project/task/evaluate", {"tid": tid})
    ev = await poll(px, "project/task/evaluate", {"tid": tid}, lambda o: o["evaluate_status"] in (5, 12))
    assert ev["evaluate_status"] == TaskStatus.XEVALUATED and 0 <= ev["result"]["miou"] <= 1, ev

    _, pred = await px(
        "POST",
        "project/task/predict",
        {"tid": tid, "image_data": base64.b64encode(scene.read_bytes()).decode()},
    )
    st = await poll(px, "project/task/predict", {"tid": tid}, lambda o: o["predict_status"] != 0)
    assert st["predict_status"] == PredictStatus.XPREDONE, st
    _, img = await px("GET", "file", {"path": pred["path"]})
    assert Image.open(io.BytesIO(base64.b64decode(img["img_data"]))).size == (64, 64)
    code, out = await px(
        "POST", "project/task/predict", {"tid": tid, "image_data": base64.b64encode(b"not a raster").decode()}
    )
    assert code == 422 and out["status"] == -1 and "image_data" in out["message"], out
    three = io.BytesIO()
    tifffile.imwrite(three, tifffile.imread(scene)[:, :, :3])
    code, out = await px(
        "POST",
        "project/task/predict",
        {"tid": tid, "image_data": base64.b64encode(three.getvalue()).decode()},
    )
    assert code == 422 and "3 band(s); the model was trained on 4" in out["message"], out

    await px("POST", "project/task/export", {"tid": tid, "type": "infer", "save_dir": "exports/rs"})
    st = await poll(px, "project/task/export", {"tid": tid}, lambda o: o["export_status"] != 0)
    assert st["export_status"] == PredictStatus.XPREDONE, st
    meta = json.loads((trio_workspace / "exports" / "rs" / "export.json").read_text())
    assert meta["channels"] == 4 and meta["task_type"] == "remote_segmentation"


@pytest.mark.slow
def test_prune_analysis_on_four_bands(tmp_path, rs_dataset):
    pytest.importorskip("paddle")
    from jupyter_trio.trainers.engine import Engine
    from jupyter_trio.trainers.prune import Masks, model_cost, prunable, sensitivity

    engine = Engine("remote_segmentation", ONE_EPOCH_UNET, rs_dataset, tmp_path / "task", log=lambda s: None)
    engine.train()
    analysis = sensitivity(engine, ratios=(0.5,), max_layers=2)
    assert len(analysis["sensitivities"]) == 2
    before = model_cost(engine)
    masks = Masks(prunable(engine), {name: 0.5 for name in analysis["sensitivities"]})
    masks.apply()
    assert model_cost(engine, masks)["flops"] < before["flops"]


def test_rasters_too_large_empty_or_constant(tmp_path):
    huge = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        huge, {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000, 64)}
    )
    with pytest.raises(rasters.RasterError, match="GiB"):  # refused from the header, nothing allocated
        rasters.read_bytes(huge.getvalue(), "x.npy")
    (tmp_path / "huge.npy").write_bytes(huge.getvalue())
    with pytest.raises(rasters.RasterError):
        rasters.read(tmp_path / "huge.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 5), np.float32))
    with pytest.raises(rasters.RasterError, match="numbers"):
        rasters.read(tmp_path / "empty.npy")
    stats = rasters.BandStats()
    stats.add(np.stack([np.arange(16.0).reshape(4, 4), np.full((4, 4), 7.0)], axis=2))
    measured = stats.to_json()
    assert measured["std"][1] == 1.0 and measured["min"][1] == measured["max"][1] == 7.0
    params = type(
        "P",
        (),
        {
            k: measured[k.removeprefix("image_")]
            for k in ("image_min", "image_max", "image_mean", "image_std")
        },
    )
    out = rasters.normalise(np.full((2, 2, 2), 9.0, np.float32), params)
    assert np.isfinite(out).all() and abs(out[1]).max() < 10  # another value of a constant band stays sane


def test_remote_parameters_come_in_pairs():
    from jupyter_trio.errors import ValidationFailed
    from jupyter_trio.trainers.params import validate

    with pytest.raises(ValidationFailed, match="give both or neither"):
        validate("remote_segmentation", {"model": "UNet", "image_min": [0] * 4})
    with pytest.raises(ValidationFailed, match="with image_min and image_max give them too"):
        validate("remote_segmentation", {"model": "UNet", "image_min": [0] * 4, "image_max": [1] * 4})
    with pytest.raises(ValidationFailed, match="below image_min"):
        validate(
            "remote_segmentation",
            {
                "model": "UNet",
                "image_min": [2] * 4,
                "image_max": [1] * 4,
                "image_mean": [0.5] * 4,
                "image_std": [0.2] * 4,
            },
        )
