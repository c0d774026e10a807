"""PaddlePaddle trainers on tiny generated data, per task type: loss falls, a checkpoint resumes to the
same next-step loss, evaluation metrics are well formed, predictions have sane shapes, and the exported
inference model (loaded with paddle.inference) gives the checkpoint's outputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dataset_fixtures import imported

paddle = pytest.importorskip("paddle")

from jupyter_trio.trainers.checkpoints import saved_epochs  # noqa: E402
from jupyter_trio.trainers.engine import Engine  # noqa: E402
from jupyter_trio.trainers.export import InferenceModel, export_inference, export_onnx  # noqa: E402
from jupyter_trio.trainers.inference import predict_paths  # noqa: E402

pytestmark = pytest.mark.slow

NO_AUGMENTATION = {
    "horizontal_flip": False,
    "brightness": False,
    "contrast": False,
    "saturation": False,
    "hue": False,
}
CASES = {  # (params, images): small enough for CI, large enough that eight epochs visibly learn
    "classification": (
        {
            "model": "MobileNetV3_small",
            "image_shape": [32, 32],
            "learning_rate": 0.003,
            "batch_size": 16,
            "lr_policy": "Piecewise",
            "lr_decay_epochs": [100],
        },
        64,
    ),
    "segmentation": ({"model": "UNet", "image_shape": [32, 32], "learning_rate": 0.01, "batch_size": 8}, 16),
    "detection": (
        {
            "model": "YOLOv3",
            "image_shape": [64, 64],
            "learning_rate": 0.002,
            "batch_size": 8,
            "warmup_steps": 0,
        },
        16,
    ),
    "instance_segmentation": (
        {"image_shape": [64, 64], "learning_rate": 0.002, "batch_size": 8, "warmup_steps": 0},
        16,
    ),
}
EXPORT_TOLERANCE = 1e-4  # max abs difference between the checkpoint's and the exported model's outputs


def checkpoint_outputs(kind: str, model, batch: np.ndarray) -> list[np.ndarray]:
    """What the exported inference model of ``kind`` must give for ``batch``, from the network itself."""
    with paddle.no_grad():
        x = paddle.to_tensor(batch)
        if kind == "classification":
            return [paddle.nn.functional.softmax(model(x), axis=1).numpy()]
        if kind == "segmentation":
            return [model(x).numpy()]
        if kind == "detection" or getattr(model, "two_stage", False):
            return [o.numpy() for o in model(x)]
        heads, p8 = model.features(x)
        return [o.numpy() for o in heads] + [p8.numpy()]


@pytest.mark.parametrize("kind", list(CASES))
def test_train_resume_evaluate_predict_export(tmp_path, kind):
    params, count = CASES[kind]
    dataset = imported(kind, tmp_path, count)
    params = {**params, **NO_AUGMENTATION, "num_epochs": 8, "save_interval_epochs": 4}
    losses: dict[int, float] = {}

    def track(step=None, **values):
        if "loss" in values:
            losses[step] = values["loss"]

    engine = Engine(kind, params, dataset, tmp_path / "task", log=lambda s: None)
    result = engine.train(track=track)
    spe = engine.steps_per_epoch
    first = np.mean([losses[s] for s in range(1, spe + 1)])
    last = np.mean([losses[s] for s in range(7 * spe + 1, 8 * spe + 1)])
    assert last < first * 0.8, (kind, first, last)
    assert saved_epochs(tmp_path / "task") == [4, 8]
    assert result["best"]["epoch"] in (4, 8) and (tmp_path / "task" / "checkpoints" / "best_model").is_dir()

    # resume from epoch 4 in a fresh engine: the next step's loss is the one the uninterrupted run had
    resumed: dict[int, float] = {}
    again = Engine(kind, params, dataset, tmp_path / "task", log=lambda s: None)
    again.train(
        resume_epoch=4,
        track=lambda step=None, **v: resumed.setdefault(step, v["loss"]) if "loss" in v else None,
    )
    step = 4 * spe + 1
    assert resumed[step] == pytest.approx(losses[step], rel=1e-4, abs=1e-5), (
        kind,
        resumed[step],
        losses[step],
    )

    metrics = engine.evaluate(engine.eval_view)
    if kind == "classification":
        assert 0 <= metrics["acc1"] <= metrics["acc4"] <= 1
        cm = np.asarray(metrics["confusion_matrix"])
        assert cm.shape == (4, 4) and cm.sum() == len(engine.eval_view)
    elif kind == "segmentation":
        assert 0 <= metrics["miou"] <= 1 and 0 <= metrics["acc"] <= 1
        assert set(metrics["category_iou"]) == set(engine.labels)
    else:
        assert 0 <= metrics["bbox_map"] <= 1 and 0 <= metrics["bbox_map_coco"] <= metrics["bbox_map"] + 1e-9
        if kind == "instance_segmentation":
            assert 0 <= metrics["segm_map"] <= 1

    best = Engine.from_checkpoint(tmp_path / "task", "best", log=lambda s: None)
    images = sorted(
        p for p in (dataset / (engine.eval_view.samples[0].rel)).parent.iterdir() if p.suffix == ".jpg"
    )[:3]
    results = predict_paths(best, images, tmp_path / "pred", score_thresh=0.0)
    assert len(results) == 3 and all((tmp_path / "pred" / f"{p.stem}_result.png").is_file() for p in images)
    r = results[0]
    if kind == "classification":
        assert r["category"] in engine.labels and 0 <= r["score"] <= 1 and len(r["topk"]) == 4
    elif kind == "segmentation":
        assert "per_class" in r["label_map"] or r["label_map"]["size"]
    else:
        for obj in r["objects"]:
            x1, y1, x2, y2 = obj["bbox"]
            assert x1 <= x2 and y1 <= y2 and obj["category"] in engine.labels
            if kind == "instance_segmentation":
                assert obj["mask"]["size"] == [128, 128]

    exported = export_inference(best, tmp_path / "export")
    assert exported["labels"] == engine.labels
    model = InferenceModel(tmp_path / "export")
    batch = np.random.default_rng(0).normal(size=(2, 3, *params["image_shape"])).astype("float32")
    outputs = model.run(batch)
    ref = checkpoint_outputs(kind, best.model, batch)
    assert len(outputs) == len(ref)
    for got, want in zip(outputs, ref):
        assert got.shape == want.shape and np.abs(got - want).max() < EXPORT_TOLERANCE

    if kind in ("detection", "instance_segmentation"):
        with pytest.raises(NotImplementedError, match="differ"):
            export_onnx(tmp_path / "export")
        return
    ort = pytest.importorskip("onnxruntime")
    [onnx_file] = export_onnx(tmp_path / "export")
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    onnx_outputs = session.run(None, {session.get_inputs()[0].name: batch})
    for got, want in zip(onnx_outputs, ref):
        assert got.shape == want.shape and np.abs(got - want).max() < EXPORT_TOLERANCE


def test_lite_export_is_refused_naming_onnx():
    from jupyter_trio.trainers.export import export_lite

    with pytest.raises(NotImplementedError, match="ONNX"):
        export_lite()


def test_sensitivity_prune_and_fine_tune(tmp_path):
    """L1 filter pruning: the analysis covers each prunable layer and ratio, the chosen ratios respect the
    allowed loss, masks hold through fine-tuning, and the effective model is smaller."""
    from jupyter_trio.trainers.prune import (
        Masks,
        model_cost,
        prunable,
        ratios_for,
        save_analysis,
        sensitivity,
    )

    params = {**CASES["classification"][0], **NO_AUGMENTATION, "num_epochs": 4, "save_interval_epochs": 4}
    dataset = imported("classification", tmp_path, 48)
    engine = Engine("classification", params, dataset, tmp_path / "task", log=lambda s: None)
    engine.train()
    analysis = sensitivity(engine, ratios=(0.25, 0.5), max_layers=4)
    assert len(analysis["sensitivities"]) == 4
    assert all(set(v) == {"0.25", "0.5"} for v in analysis["sensitivities"].values())
    save_analysis(analysis, tmp_path / "task" / "prune")
    png = Image.open(tmp_path / "task" / "prune" / "sensitivities.png")
    assert png.size == (640, 400)

    everything = {name: 0.5 for name in analysis["sensitivities"]}
    chosen = ratios_for({**analysis, "sensitivities": {n: {"0.5": -1.0} for n in everything}}, 0.0)
    assert chosen == everything  # a loss of -1 (the metric improved) is always allowed
    layers = prunable(engine)
    before = model_cost(engine)
    masks = Masks(layers, chosen)
    masks.apply()
    after = model_cost(engine, masks)
    assert after["params"] < before["params"] and after["flops"] < before["flops"]
    engine.train(resume_epoch=None, after_step=masks.apply)  # fine-tune with the masks held
    for name, keep in masks.keep.items():
        weight = layers[name].weight.numpy()
        assert np.abs(weight[~keep]).max() == 0 and np.abs(weight[keep]).max() > 0
        assert (~keep).sum() == int(len(keep) * 0.5)


def test_rank_environment_splits_the_cpu_share_and_pins_one_gpu_per_rank(monkeypatch):
    from jupyter_trio.trainers.distributed import World, current, rank_env

    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    env = rank_env(1, 2, "gloo", [7001, 7002, 7003], "/sync")
    assert env["OMP_NUM_THREADS"] == "2" and "FLAGS_selected_gpus" not in env
    assert env["PADDLE_TRAINER_ENDPOINTS"] == "127.0.0.1:7001,127.0.0.1:7002"
    assert (env["PADDLE_CURRENT_ENDPOINT"], env["PADDLE_MASTER"]) == ("127.0.0.1:7002", "127.0.0.1:7003")
    gpu = rank_env(1, 2, "nccl", [7001, 7002, 7003], "/sync")
    assert gpu["FLAGS_selected_gpus"] == "1" and gpu["PADDLE_DISTRI_BACKEND"] == "nccl"
    assert "OMP_NUM_THREADS" not in gpu
    monkeypatch.setenv("PADDLE_TRAINER_ID", env["PADDLE_TRAINER_ID"])
    monkeypatch.setenv("PADDLE_TRAINERS_NUM", env["PADDLE_TRAINERS_NUM"])
    assert current() == World(1, 2) and not current().leader


FLAKY_RANK = """
import os, sys
from pathlib import Path
from jupyter_trio.trainers.distributed import current, joined
world = current()
starts = Path(os.environ["TRIO_RUN_DIR"]) / f"starts-{world.rank}"
n = len(starts.read_text()) if starts.exists() else 0
starts.write_text("x" * (n + 1))
if world.rank == 1 and n == 0 and not os.environ.get("FAIL_AFTER_JOIN"):
    sys.exit(3)  # the first start of rank 1 fails before it joins (a refused rendezvous)
joined(world)
if world.rank == 1 and os.environ.get("FAIL_AFTER_JOIN"):
    sys.exit(4)
"""


@pytest.mark.parametrize("after_join", [False, True])
def test_ranks_that_fail_before_joining_are_started_again(tmp_path, monkeypatch, capsys, after_join):
    """A rank that dies before the process group is formed gets the ranks started again on new ports; one
    that dies after joining ends the job with its failure, never retried."""
    from jupyter_trio.trainers.distributed import RankFailure, launch

    (tmp_path / "flaky_rank.py").write_text(FLAKY_RANK)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("TRIO_RUN_DIR", str(tmp_path))
    if after_join:
        monkeypatch.setenv("FAIL_AFTER_JOIN", "1")
    failure = launch(2, "gloo", poll_s=0.05, module="flaky_rank")
    starts = [len((tmp_path / f"starts-{r}").read_text()) for r in range(2)]
    if after_join:
        assert failure == RankFailure(1, 4) and starts == [1, 1]
    else:
        assert failure is None and starts == [2, 2]
        out = capsys.readouterr().out
        assert "data-parallel rank 1 exited with code 3 before the ranks had joined" in out
    assert not (tmp_path / "data-parallel").exists()


def test_detection_augmentation_keeps_boxes_and_masks_together_and_is_repeatable(tmp_path):
    """expand_image, crop_image, random_shape and flips move each instance mask with its box; mixup blends
    two images and weighs their boxes; the same (seed, epoch) gives the same batches (resume)."""
    from jupyter_trio.trainers.data import DatasetView, batches
    from jupyter_trio.trainers.params import validate

    view = DatasetView(imported("instance_segmentation", tmp_path, 16), "train")
    p = validate(
        "instance_segmentation",
        {
            "image_shape": [64, 64],
            "expand_image": True,
            "expand_prob": 1.0,
            "crop_image": True,
            "random_shape": True,
            "random_shape_sizes": [64, 96],
            "num_epochs": 10,
        },
    )
    sizes, checked = set(), 0
    for epoch in range(3):
        for _, (image, boxes, _labels, masks, scores) in batches(view, p, epoch, train=True, batch_size=4):
            h, w = image.shape[2:]
            sizes.add((h, w))
            assert ((scores == 0) | (scores == 1)).all() and ((boxes >= 0) & (boxes <= 1.0001)).all()
            for n, b in zip(*np.nonzero(scores)):
                ys, xs = np.nonzero(masks[n, b])
                cx, cy, bw, bh = boxes[n, b]
                expected = np.array(
                    [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
                )
                if len(xs) < 4 or expected.min() < 1 or expected[2] > w - 1 or expected[3] > h - 1:
                    continue  # cut by a crop: the box is clipped to the crop, the shape inside may be smaller
                found = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                assert np.abs(found - expected).max() <= 3, (expected, found)
                checked += 1
    assert sizes == {(64, 64), (96, 96)} and checked > 30

    again = [a for _, a in batches(view, p, 2, train=True, batch_size=4)]
    first = [a for _, a in batches(view, p, 2, train=True, batch_size=4)]
    assert all(np.array_equal(x, y) for a, b in zip(again, first) for x, y in zip(a, b))

    mixed = validate("detection", {"image_shape": [64, 64], "use_mixup": True, "num_epochs": 27})
    plain = validate("detection", {"image_shape": [64, 64], "num_epochs": 27})
    dview = DatasetView(imported("detection", tmp_path / "d", 16), "train")
    (_, m), (_, q) = next(batches(dview, mixed, 0, train=True)), next(batches(dview, plain, 0, train=True))
    real = m[3] > 0
    assert ((m[3][real] > 0) & (m[3][real] < 1)).all()  # every box weighed by its image's share
    assert real.sum(axis=1).min() > (q[3] > 0).sum(axis=1).min() - 1 and not np.allclose(m[0], q[0])
    assert (q[3][q[3] > 0] == 1).all()
    late = next(batches(dview, mixed, 25, train=True))[1]  # mixup ends after 25/27 of the epochs
    assert (late[3][late[3] > 0] == 1).all()
