"""Every PaddleX model and backbone by its PaddleX name: a few steps on tiny generated data lower the loss,
then evaluation, prediction and export (paddle.inference gives the checkpoint's outputs) work."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from dataset_fixtures import imported

paddle = pytest.importorskip("paddle")
F = paddle.nn.functional

from test_trainers import checkpoint_outputs  # noqa: E402

from jupyter_trio.trainers.engine import Engine  # noqa: E402
from jupyter_trio.trainers.export import InferenceModel, export_inference, export_onnx  # noqa: E402
from jupyter_trio.trainers.model_zoo import (  # noqa: E402
    CLASSIFIERS,
    DEEPLAB_BACKBONES,
    PPYOLO_BACKBONES,
    RCNN_BACKBONES,
    SAME_ARCHITECTURE,
    YOLO_BACKBONES,
)

pytestmark = pytest.mark.slow

STILL = {"horizontal_flip": False, "brightness": False, "contrast": False, "saturation": False, "hue": False}
STEPS = 5
# test_trainers.py trains these in full already
COVERED = {("MobileNetV3_small", "MobileNetV3_small"), ("YOLOv3", "ResNet18")}
CASES = (
    [("classification", {"model": m}) for m in CLASSIFIERS]
    + [("detection", {"model": "YOLOv3", "backbone": b, "warmup_steps": 0}) for b in YOLO_BACKBONES]
    + [("detection", {"model": "PPYOLO", "backbone": b, "warmup_steps": 0}) for b in PPYOLO_BACKBONES]
    + [("detection", {"model": "FasterRCNN", "backbone": b, "warmup_steps": 0}) for b in RCNN_BACKBONES]
    + [("detection", {"model": "FasterRCNN", "backbone": "ResNet50", "with_fpn": False, "warmup_steps": 0})]
    + [
        ("instance_segmentation", {"model": "MaskRCNN", "backbone": b, "warmup_steps": 0})
        for b in ("ResNet18", "HRNet_W18")
    ]
    + [("segmentation", {"model": "DeepLabv3p", "backbone": b}) for b in DEEPLAB_BACKBONES]
    + [("segmentation", {"model": m}) for m in ("HRNet_W18", "FastSCNN")]
)
# an _ssld name builds its plain architecture (test_ssld_names_build_their_architecture): trained once
CASES = [
    (k, p)
    for k, p in CASES
    if (p["model"], p.get("backbone", p["model"])) not in COVERED
    and p.get("backbone", p["model"]) not in SAME_ARCHITECTURE
]
SHAPE = {
    "classification": [32, 32],
    "detection": [64, 64],
    "instance_segmentation": [64, 64],
    "segmentation": [32, 32],
}
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo-data")
    return {kind: imported(kind, root, 12) for kind in SHAPE}


@pytest.mark.parametrize(
    ("kind", "params"),
    CASES,
    ids=[
        f"{k}-{p['model']}"
        + (f"-{p['backbone']}" if "backbone" in p else "")
        + ("-C4" if p.get("with_fpn") is False else "")
        for k, p in CASES
    ],
)
def test_model_trains_evaluates_predicts_and_exports(tmp_path, datasets, kind, params):
    params = {
        **params,
        **STILL,
        "image_shape": SHAPE[kind],
        "batch_size": 8,
        "train_num": 8,  # one batch: the same images every step, so the loss must fall
        "num_epochs": STEPS,
        "save_interval_epochs": STEPS,
        "learning_rate": 0.001,
    }
    if kind in ("classification", "segmentation"):
        params["optimizer"] = "Adam"
    if kind == "classification":
        params["lr_policy"] = "Piecewise"
        params["lr_decay_epochs"] = [100]
    losses: list[float] = []
    engine = Engine(kind, params, datasets[kind], tmp_path / "task", log=lambda s: None)
    engine.train(track=lambda step=None, **v: losses.append(v["loss"]) if "loss" in v else None)
    assert len(losses) == STEPS and np.isfinite(losses).all()
    assert min(losses[-2:]) < losses[0], losses

    metrics = engine.evaluate(engine.eval_view)
    key = {"classification": "acc1", "detection": "bbox_map", "segmentation": "miou"}.get(kind, "segm_map")
    assert 0 <= metrics[key] <= 1
    if kind in ("detection", "instance_segmentation"):  # predictions are well formed
        [found] = engine.infer([np.zeros((1, 3, *SHAPE[kind]), np.float32)], score_thresh=0.0)
        assert found["boxes"].shape == (len(found["scores"]), 4) and len(found["labels"]) == len(
            found["scores"]
        )
        if kind == "instance_segmentation":
            assert found["masks"].shape == (len(found["scores"]), *SHAPE[kind])

    best = Engine.from_checkpoint(tmp_path / "task", "best", log=lambda s: None)
    export_inference(best, tmp_path / "export")
    batch = np.random.default_rng(0).normal(size=(2, 3, *SHAPE[kind])).astype("float32")
    outputs = InferenceModel(tmp_path / "export").run(batch)
    ref = checkpoint_outputs(kind, best.model, batch)
    assert len(outputs) == len(ref)
    for got, want in zip(outputs, ref):
        assert got.shape == want.shape and np.abs(got - want).max() < TOLERANCE * max(1, np.abs(want).max())

    if getattr(best.model, "two_stage", False):  # the heads are exported beside the model
        rois = np.random.default_rng(1).normal(size=(3, 256, 7, 7)).astype("float32")
        [logits, deltas] = InferenceModel(tmp_path / "export", "box_head").run(rois)
        with paddle.no_grad():
            want = [t.numpy() for t in best.model.box_head(paddle.to_tensor(rois))]
        assert np.abs(logits - want[0]).max() < TOLERANCE and np.abs(deltas - want[1]).max() < TOLERANCE
    if kind in ("detection", "instance_segmentation"):
        return  # ONNX refused for every detector (test_trainers.py)
    ort = pytest.importorskip("onnxruntime")
    try:
        [onnx_file] = export_onnx(tmp_path / "export")
    except NotImplementedError as refused:  # a conversion that would be wrong is refused, saying why
        assert ("differ from Paddle's" in str(refused) or "SIGFPE" in str(refused)) and not (
            tmp_path / "export" / "model.onnx"
        ).exists()
        return
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    for got, want in zip(session.run(None, {session.get_inputs()[0].name: batch}), ref):
        assert got.shape == want.shape and np.abs(got - want).max() < 1e-3 * max(1, np.abs(want).max())


@pytest.mark.parametrize("name", sorted(SAME_ARCHITECTURE))
def test_ssld_names_build_their_architecture(name):
    from jupyter_trio.trainers.backbones import Backbone, classifier
    from jupyter_trio.trainers.params import validate

    def shapes(layer):
        return [tuple(p.shape) for p in layer.parameters()]

    plain = SAME_ARCHITECTURE[name]
    if name in CLASSIFIERS:
        assert validate("classification", {"model": name}).model == name
        assert shapes(classifier(name, 3)) == shapes(classifier(plain, 3))
    else:
        assert validate("segmentation", {"model": "DeepLabv3p", "backbone": name}).backbone == name
        assert shapes(Backbone(name)) == shapes(Backbone(plain))


# three epochs of two steps, a checkpoint each: long enough to resume from epoch 1
RESUME_RUN = {
    **STILL,
    "image_shape": [64, 64],
    "batch_size": 4,
    "train_num": 8,
    "num_epochs": 3,
    "save_interval_epochs": 1,
    "warmup_steps": 0,
}


def train_then_resume(tmp_path, dataset, params) -> Engine:
    """Train, then resume a copy of epoch 1's checkpoint in a fresh engine: every later step's loss must be
    the uninterrupted run's (``task`` is the first run's folder, ``task2`` the resumed one's)."""
    losses: dict[int, float] = {}
    engine = Engine("detection", params, dataset, tmp_path / "task", log=lambda s: None)
    engine.train(track=lambda step=None, **v: losses.__setitem__(step, v["loss"]) if "loss" in v else None)
    shutil.copytree(
        tmp_path / "task" / "checkpoints" / "epoch_1", tmp_path / "task2" / "checkpoints" / "epoch_1"
    )
    resumed: dict[int, float] = {}
    again = Engine("detection", params, dataset, tmp_path / "task2", log=lambda s: None)
    again.train(
        resume_epoch=1,
        track=lambda step=None, **v: resumed.setdefault(step, v["loss"]) if "loss" in v else None,
    )
    assert sorted(resumed) == [3, 4, 5, 6]
    for step in resumed:
        assert resumed[step] == pytest.approx(losses[step], rel=1e-4, abs=1e-5), step
    return engine


def test_ppyolo_averages_weights_and_resumes_exactly(tmp_path, datasets):
    """PPYOLO saves, evaluates and exports the moving average of its weights and keeps the optimizer's
    own weights beside it, so a resumed run takes the uninterrupted run's next steps."""
    from jupyter_trio.trainers.ema import RAW_WEIGHTS
    from jupyter_trio.trainers.ppyolo import CoordConv, DeformableConv, DropBlock

    params = {"model": "PPYOLO", "backbone": "ResNet18", "learning_rate": 0.001, **RESUME_RUN}
    engine = train_then_resume(tmp_path, datasets["detection"], params)
    assert engine.params.use_ema and engine.params.ema_decay == 0.9998
    assert {CoordConv, DeformableConv, DropBlock} <= {type(layer) for layer in engine.model.sublayers()}
    epoch2 = tmp_path / "task" / "checkpoints" / "epoch_2"
    averaged, raw = paddle.load(str(epoch2 / "model.pdparams")), paddle.load(str(epoch2 / RAW_WEIGHTS))
    name = next(k for k in averaged if k.endswith("weight") and "offsets" not in k)
    assert not np.allclose(averaged[name].numpy(), raw[name].numpy())  # the average is not the weights
    final = paddle.load(str(tmp_path / "task2" / "checkpoints" / "epoch_3" / "model.pdparams"))
    want = paddle.load(str(tmp_path / "task" / "checkpoints" / "epoch_3" / "model.pdparams"))
    assert max(float(np.abs(final[k].numpy() - want[k].numpy()).max()) for k in want) < 1e-4


def test_ppyolo_backbones_follow_paddlex():
    from jupyter_trio.errors import ValidationFailed
    from jupyter_trio.trainers.params import validate

    assert validate("detection", {"model": "PPYOLO"}).backbone == "ResNet50_vd_ssld"
    assert validate("detection", {"model": "YOLOv3"}).backbone == "ResNet18"
    assert validate("detection", {"model": "YOLOv3", "use_ema": True}).use_ema
    assert not validate("detection", {"model": "PPYOLO", "use_ema": False}).use_ema
    with pytest.raises(ValidationFailed, match="not one of PPYOLO's"):
        validate("detection", {"model": "PPYOLO", "backbone": "DarkNet53"})
    with pytest.raises(ValidationFailed, match="not one of YOLOv3's"):
        validate("detection", {"model": "YOLOv3", "backbone": "ResNet50_vd_ssld"})


def test_two_stage_prune_keeps_the_anchor_outputs(tmp_path, datasets):
    """Pruning a FasterRCNN works on the backbone, pyramid and heads but never on the RPN's per-anchor
    outputs (their channels are anchors, not features)."""
    from jupyter_trio.trainers.prune import Masks, model_cost, prunable, sensitivity

    params = {"model": "FasterRCNN", **STILL, "image_shape": [64, 64], "batch_size": 8, "num_epochs": 1}
    engine = Engine("detection", params, datasets["detection"], tmp_path / "task", log=lambda s: None)
    engine.train()
    layers = prunable(engine)
    assert "rpn.conv" in layers and not {"rpn.cls", "rpn.reg"} & set(layers)
    analysis = sensitivity(engine, ratios=(0.5,), max_layers=2)
    masks = Masks(layers, {name: 0.5 for name in analysis["sensitivities"]})
    before = model_cost(engine)
    masks.apply()
    assert model_cost(engine, masks)["params"] < before["params"]


def test_drop_block_drops_blocks_only_on_maps_wide_enough():
    from jupyter_trio.trainers.ppyolo import DropBlock

    block = DropBlock()
    paddle.seed(0)
    wide, narrow = paddle.ones([2, 8, 32, 32]), paddle.ones([2, 8, 8, 8])
    block.train()
    out = block(wide).numpy()
    dropped = out == 0
    assert 0.02 < dropped.mean() < 0.3  # about 1 - keep_prob of the map, in 3×3 blocks
    assert np.allclose(out[~dropped], out[~dropped].flat[0]) and out.mean() == pytest.approx(1, rel=0.05)
    assert np.array_equal(block(narrow).numpy(), narrow.numpy())  # smaller than MIN_SIDE: untouched
    block.eval()
    assert np.array_equal(block(wide).numpy(), wide.numpy())


def test_spp_pools_only_maps_its_windows_do_not_cover_whole():
    from jupyter_trio.trainers.ppyolo import SPP

    spp = SPP(8, 8)
    spp.eval()
    paddle.seed(0)
    small, large = paddle.randn([1, 8, 3, 3]), paddle.randn([1, 8, 4, 4])
    assert np.array_equal(spp(small).numpy(), small.numpy())  # every pool would be the global max
    out = spp(large)
    assert out.shape == [1, 8, 4, 4] and not np.allclose(out.numpy(), large.numpy())
    with pytest.raises(ValueError, match="keeps the width"):
        SPP(8, 16)


def test_iou_aware_branch_folds_into_objectness():
    """PPYOLO's IoU branch: one channel per anchor after YOLOv3's, folded into the objectness outside
    training as sigmoid(obj)^0.6 · sigmoid(iou)^0.4, every other channel as YOLOv3 had it."""
    from jupyter_trio.trainers.networks import build
    from jupyter_trio.trainers.params import validate
    from jupyter_trio.trainers.ppyolo import fuse_iou_aware

    paddle.seed(0)
    out, iou = paddle.randn([2, 3 * (5 + 2), 4, 4]), paddle.randn([2, 3, 4, 4])
    fused = fuse_iou_aware(out, iou).reshape([2, 3, 7, 4, 4]).numpy()
    raw = out.reshape([2, 3, 7, 4, 4]).numpy()
    keep = [0, 1, 2, 3, 5, 6]
    assert np.array_equal(fused[:, :, keep], raw[:, :, keep])

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    want = sigmoid(raw[:, :, 4]) ** 0.6 * sigmoid(iou.numpy()) ** 0.4
    assert np.allclose(sigmoid(fused[:, :, 4]), want, atol=1e-5)
    # the same objectness scores higher where the branch expects a good fit than where it expects none
    good = fuse_iou_aware(out, paddle.full([2, 3, 4, 4], 5.0)).reshape([2, 3, 7, 4, 4]).numpy()
    bad = fuse_iou_aware(out, paddle.full([2, 3, 4, 4], -5.0)).reshape([2, 3, 7, 4, 4]).numpy()
    assert np.all(good[:, :, 4] > raw[:, :, 4]) and np.all(bad[:, :, 4] < raw[:, :, 4])

    model = build("detection", validate("detection", {"model": "PPYOLO", "backbone": "ResNet18"}), 2)
    assert [h.weight.shape[0] for h in model.heads] == [3 * (5 + 2) + 3] * 3
    model.eval()
    x = paddle.randn([1, 3, 64, 64])
    heads, ious = model.training_heads(x)
    assert [i.shape for i in ious] == [[1, 3, 2, 2], [1, 3, 4, 4], [1, 3, 8, 8]]
    for got, head, i in zip(model(x), heads, ious):
        assert np.array_equal(got.numpy(), fuse_iou_aware(head, i).numpy())
    plain = validate("detection", {"model": "PPYOLO", "backbone": "ResNet18", "use_iou_aware": False})
    model = build("detection", plain, 2)
    assert [h.weight.shape[0] for h in model.heads] == [3 * (5 + 2)] * 3
    assert model.training_heads(x)[1] is None


def test_iou_aware_loss_teaches_the_branch_the_iou_of_its_box():
    """The IoU branch learns the IoU its anchor's decoded box reaches; that IoU is a target, so this
    loss moves no box coordinate."""
    from jupyter_trio.trainers.heads import scaled_anchors
    from jupyter_trio.trainers.networks import ANCHOR_MASKS
    from jupyter_trio.trainers.ppyolo import iou_aware_loss, owned_boxes

    paddle.seed(0)
    shape = [64, 64]
    outputs = [paddle.randn([2, 3 * (5 + 2), s, s]) * 0.5 for s in (2, 4, 8)]
    for o in outputs:
        o.stop_gradient = False
    ious = [paddle.zeros([2, 3, s, s]) for s in (2, 4, 8)]
    for i in ious:
        i.stop_gradient = False
    boxes = np.zeros((2, 3, 4), np.float32)
    boxes[0, 0], boxes[0, 1], boxes[1, 0] = [0.3, 0.4, 0.2, 0.3], [0.7, 0.6, 0.6, 0.5], [0.5, 0.5, 0.1, 0.1]
    scores = np.ones((2, 3), np.float32)
    owned = owned_boxes(outputs, boxes, scores, scaled_anchors(shape), ANCHOR_MASKS, shape)
    assert sum(len(o.index) for o in owned) == 3
    loss = iou_aware_loss(owned, ious, 2)
    loss.backward()
    assert all(o.grad is None or not o.grad.numpy().any() for o in outputs)
    touched = sum(int((i.grad.numpy() != 0).sum()) for i in ious)
    assert touched == 3  # only the owning cells and anchors
    first = float(loss)
    for _ in range(200):
        for i in ious:
            i.clear_gradient()
        loss = iou_aware_loss(owned, ious, 2)
        loss.backward()
        for i in ious:
            i.set_value(i - 2.0 * i.grad)
    assert float(loss) < first
    for o in owned:
        predicted = F.sigmoid(paddle.gather_nd(ious[o.level], o.index)).numpy()
        assert np.allclose(predicted, o.iou.numpy(), atol=0.02)


def test_weights_another_architecture_wrote_are_refused(tmp_path):
    """A checkpoint whose tensors do not fit the model its parameters build (here a PPYOLO saved without
    the IoU branch) is refused by name; paddle alone would skip those tensors and keep random ones."""
    from jupyter_trio.trainers.engine import set_weights
    from jupyter_trio.trainers.networks import build
    from jupyter_trio.trainers.params import validate

    small = {"model": "PPYOLO", "backbone": "ResNet18"}
    plain = build("detection", validate("detection", {**small, "use_iou_aware": False}), 2)
    paddle.save(plain.state_dict(), str(tmp_path / "model.pdparams"))
    model = build("detection", validate("detection", small), 2)
    with pytest.raises(
        ValueError, match=r"heads\.0\.weight is \[21, 256, 1, 1\] there, \[24, 256, 1, 1\] here"
    ):
        set_weights(model, tmp_path / "model.pdparams")
    again = build("detection", validate("detection", {**small, "use_iou_aware": False}), 2)
    set_weights(again, tmp_path / "model.pdparams")
    assert np.array_equal(again.heads[0].weight.numpy(), plain.heads[0].weight.numpy())


def test_two_stage_resumes_exactly(tmp_path, datasets):
    """The anchors and RoIs a two-stage detector trains on are drawn from a generator reseeded every
    epoch: resumed from a checkpoint, it takes the uninterrupted run's steps."""
    train_then_resume(
        tmp_path, datasets["detection"], {"model": "FasterRCNN", "learning_rate": 0.0005, **RESUME_RUN}
    )


def test_ppyolo_switches_as_paddlex_named_them():
    from jupyter_trio.errors import ValidationFailed
    from jupyter_trio.trainers.networks import PPYOLO, build
    from jupyter_trio.trainers.params import validate
    from jupyter_trio.trainers.ppyolo import SPP, CoordConv, DeformableConv, DropBlock

    plain = validate(
        "detection",
        {
            "model": "PPYOLO",
            "backbone": "ResNet18",
            "with_dcn_v2": False,
            "use_coord_conv": False,
            "use_spp": False,
            "use_drop_block": False,
            "use_iou_loss": False,
            "use_iou_aware": False,
            "use_matrix_nms": False,
            "scale_x_y": 1.0,
        },
    )
    model = build("detection", plain, 3)
    assert isinstance(model, PPYOLO) and not (model.iou_loss or model.iou_aware or model.matrix_nms)
    assert model.scale_x_y == 1.0
    kinds = {type(layer) for layer in model.sublayers()}
    assert not {SPP, CoordConv, DeformableConv, DropBlock} & kinds
    full = build("detection", validate("detection", {"model": "PPYOLO", "backbone": "ResNet18"}), 3)
    assert {SPP, CoordConv, DeformableConv, DropBlock} <= {type(layer) for layer in full.sublayers()}
    assert full.iou_aware and full.iou_loss and full.matrix_nms
    with pytest.raises(ValidationFailed, match="use_spp: PPYOLO's switches, not YOLOv3's"):
        validate("detection", {"model": "YOLOv3", "use_spp": False})
    with pytest.raises(ValidationFailed, match="use_iou_aware: PPYOLO's switches, not YOLOv3's"):
        validate("detection", {"model": "YOLOv3", "use_iou_aware": False})
    stored = validate("detection", {"model": "YOLOv3"}).model_dump()  # a checkpoint's parameters
    assert validate("detection", stored).model == "YOLOv3"


def test_two_stage_detectors_refuse_mixup():
    from jupyter_trio.errors import ValidationFailed
    from jupyter_trio.trainers.params import validate

    with pytest.raises(ValidationFailed, match="use_mixup: for the YOLO detectors"):
        validate("detection", {"model": "FasterRCNN", "use_mixup": True})
    assert validate("detection", {"model": "YOLOv3", "use_mixup": True}).use_mixup


def test_rcnn_smooth_l1_is_paddlex_sigma():
    """PaddleX's smooth L1 with sigma 3 (the RPN's deltas): quadratic 4.5·x² below 1/9, |x| − 1/18 above;
    paddle's own ``smooth_l1_loss(delta=1/9)`` is 9 times smaller."""
    from jupyter_trio.trainers.rcnn import RPN_SMOOTH_L1_BETA, smooth_l1

    x, zero = paddle.to_tensor([0.05, 2.0]), paddle.zeros([2])
    small, large = (smooth_l1(x[i : i + 1], zero[:1], beta=RPN_SMOOTH_L1_BETA).item() for i in range(2))
    assert small == pytest.approx(4.5 * 0.05**2, rel=1e-5)
    assert large == pytest.approx(2.0 - 1 / 18, rel=1e-5)
    assert smooth_l1(x, zero, beta=1.0).item() == pytest.approx(0.5 * 0.05**2 + 1.5, rel=1e-5)
