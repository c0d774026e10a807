"""The training engine: one model, its optimizer and data, the train loop, checkpoints and evaluation.

Everything that makes training resumable with identical continuation lives here: the learning rate is a
pure function of the global step, each epoch's data order and augmentation come from (seed, epoch), the
framework RNG is reseeded per epoch, and a training checkpoint holds weights, optimizer state, epoch,
step and the best metric so far.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import paddle
import paddle.nn.functional as F

from .. import tracking
from ..formatting import hms as _hms
from ..vocabulary import SEGMENTATION_TYPES
from . import distributed, rcnn
from .boxes import corners
from .checkpoints import BEST, checkpoint_dir, checkpoint_root, read_state, write_checkpoint
from .data import DatasetView, batches, held_out_view
from .ema import RAW_WEIGHTS, WeightAverage
from .heads import (
    decode_detections,
    mask_targets,
    paste_masks,
    scaled_anchors,
    segmentation_loss,
    yolo_losses,
)
from .metrics import COCO_THRESHOLDS, confusion, detection_map, segmentation_scores, topk_accuracy
from .networks import ANCHOR_MASKS, build, count_parameters
from .params import CommonParams, validate
from .ppyolo import iou_aware_loss, iou_loss, owned_boxes

BEST_METRIC = {
    "classification": "acc1",
    "segmentation": "miou",
    "detection": "bbox_map",
    "instance_segmentation": "segm_map",
    "remote_segmentation": "miou",
}


def pick_device(params: CommonParams, rank: int = 0) -> str:
    """GPU when the runner assigned one (CUDA_VISIBLE_DEVICES) and Paddle was built with CUDA; else CPU.
    A data-parallel rank takes the rank-th visible GPU."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", params.cuda_visible_devices)
    if visible and paddle.device.is_compiled_with_cuda():
        return f"gpu:{rank}"
    return "cpu"


def set_weights(model: paddle.nn.Layer, path: Path) -> None:
    """Load the weights file ``path`` into ``model``, refusing one that another architecture wrote:
    paddle would skip each tensor that does not fit, with a warning, and leave it as initialised."""
    weights = paddle.load(str(path))
    own = model.state_dict()
    wrong = [
        f"{k} is {list(v.shape)} there, {list(own[k].shape)} here"
        for k, v in weights.items()
        if k in own and list(v.shape) != list(own[k].shape)
    ]
    missing = [k for k in own if k not in weights]
    if wrong or missing:
        found = wrong + [f"{k} is missing" for k in missing]
        raise ValueError(
            f"{path} was written by another architecture than these parameters build "
            f"({len(found)} tensors differ: {'; '.join(found[:3])})"
        )
    model.set_state_dict(weights)


class Engine:
    def __init__(
        self,
        task_type: str,
        params: CommonParams | dict,
        dataset_dir: Path | None,
        task_dir: Path,
        log: Callable[[str], None] = print,
        labels: list[str] | None = None,
        channels: int = 3,
    ):
        """``dataset_dir`` None builds the model for inference only (``labels`` and the image's
        ``channels`` come from a checkpoint)."""
        self.task_type = task_type
        self.params = params if isinstance(params, CommonParams) else validate(task_type, params)
        self.task_dir, self.log = Path(task_dir), log
        # only a training engine of a data-parallel job (PADDLE_TRAINER_* set by distributed.launch) is a rank
        self.world = distributed.current() if dataset_dir is not None else distributed.World()
        paddle.set_device(pick_device(self.params, self.world.rank))
        distributed.init(self.world)
        if dataset_dir is not None:
            self.dataset_dir = Path(dataset_dir)
            self.train_view = DatasetView(self.dataset_dir, "train", self.params.train_num)
            self.eval_view = held_out_view(self.dataset_dir)
            labels = self.train_view.labels
            n = len(self.train_view)
            if task_type == "remote_segmentation":  # normalised by the dataset's bands unless told
                channels = self.train_view.bands
                if not self.train_view.band_stats or not channels:
                    raise ValueError("the dataset has no band statistics; import it again")
                self.params = self.params.with_band_stats(self.train_view.band_stats)
                if len(self.params.image_mean) != channels:
                    raise ValueError(
                        f"image_mean and the other band statistics give {len(self.params.image_mean)} "
                        f"values, the dataset's images have {channels} bands"
                    )
        else:
            n = self.params.batch_size
        self.labels: list[str] = list(labels or [])
        self.num_classes = len(self.labels)
        self.channels = channels
        self.anchors = scaled_anchors(self.params.image_shape)
        paddle.seed(self.params.seed)
        self.model = build(task_type, self.params, self.num_classes, channels)
        self.optimizer = self._optimizer()
        self.ema: WeightAverage | None = None  # set while training with use_ema
        self.two_stage = getattr(self.model, "two_stage", False)
        # what the two-stage detectors sample anchors and RoIs from; reseeded every epoch (resume)
        self.sample_rng = np.random.default_rng([self.params.seed, 0, 7])
        # a last partial batch counts when every process gets two of its images (see data.batches)
        last = 1 if n % self.params.batch_size >= 2 * self.world.size else 0
        self.steps_per_epoch = max(1, n // self.params.batch_size + last)

    @classmethod
    def from_checkpoint(
        cls, task_dir: Path, epoch: int | str | None = None, log: Callable[[str], None] = print
    ) -> Engine:
        """A model restored from a checkpoint folder of ``task_dir`` (the best one by default)."""
        state = read_state(checkpoint_dir(task_dir, epoch))
        engine = cls(
            state["task_type"],
            state["params"],
            None,
            task_dir,
            log,
            labels=state["labels"],
            channels=state.get("channels", 3),
        )
        engine.load(epoch)
        engine.model.eval()
        return engine

    @classmethod
    def from_folder(cls, folder: Path, log: Callable[[str], None] = print) -> Engine:
        """A model for inference from any checkpoint-shaped folder (``state.json`` + ``model.pdparams``):
        a checkpoint, or a pretrained model kept under ``weights/``."""
        folder = Path(folder)
        state = read_state(folder)
        engine = cls(
            state["task_type"],
            state["params"],
            None,
            folder.parent,
            log,
            labels=state["labels"],
            channels=state.get("channels", 3),
        )
        set_weights(engine.model, folder / "model.pdparams")
        engine.model.eval()
        return engine

    # ---- optimisation
    def _optimizer(self) -> paddle.optimizer.Optimizer:
        p, params = self.params, self.model.parameters()
        if self.task_type in ("classification", *SEGMENTATION_TYPES) and p.optimizer == "SGD":
            return paddle.optimizer.Momentum(
                p.learning_rate,
                momentum=0.9,
                parameters=params,
                weight_decay=paddle.regularizer.L2Decay(4e-5),
            )
        return paddle.optimizer.Adam(p.learning_rate, parameters=params)

    def lr_at(self, step: int) -> float:
        p = self.params
        warmup = getattr(p, "warmup_steps", 0)
        if step < warmup:
            start = getattr(p, "warmup_start_lr", 0.0)
            return start + (p.learning_rate - start) * step / warmup
        total = p.num_epochs * self.steps_per_epoch
        progress = min(1.0, step / max(total, 1))
        policy = getattr(p, "lr_policy", "Piecewise")
        if policy == "Cosine":
            return p.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))
        if policy == "Polynomial":
            return p.learning_rate * (1 - progress) ** 0.9
        epoch = step // self.steps_per_epoch
        return p.learning_rate * 0.1 ** sum(1 for e in p.lr_decay_epochs if epoch >= e)

    def loss(self, arrays: list[np.ndarray]) -> paddle.Tensor:
        image = paddle.to_tensor(arrays[0])
        if self.task_type == "classification":
            return F.cross_entropy(self.model(image), paddle.to_tensor(arrays[1]))
        if self.task_type in SEGMENTATION_TYPES:
            return segmentation_loss(
                self.model(image), paddle.to_tensor(arrays[1]), self.params, self.num_classes
            )
        # detection arrays: image, boxes, labels, (instance masks), box scores (< 1 for mixed-up images)
        if self.two_stage:
            return rcnn.losses(self.model, image, arrays, self.sample_rng)
        boxes, labels, scores = (paddle.to_tensor(a) for a in (arrays[1], arrays[2], arrays[-1]))
        if self.task_type == "detection":
            outputs, iou_logits = self.model.training_heads(image)
            loss = yolo_losses(
                outputs, boxes, labels, self.num_classes, self.anchors, scores, self.model.scale_x_y
            )
            if self.model.iou_loss or iou_logits is not None:
                owned = owned_boxes(
                    outputs,
                    arrays[1],
                    arrays[-1],
                    self.anchors,
                    ANCHOR_MASKS,
                    list(arrays[0].shape[2:]),
                    self.model.scale_x_y,
                )
                if self.model.iou_loss:
                    loss = loss + iou_loss(owned, len(arrays[0]))
                if iou_logits is not None:
                    loss = loss + iou_aware_loss(owned, iou_logits, len(arrays[0]))
            return loss
        outputs, p8 = self.model.features(image)
        loss = yolo_losses(outputs, boxes, labels, self.num_classes, self.anchors, scores)
        rois, targets, per_image = mask_targets(arrays[1], arrays[3], list(arrays[0].shape[2:]))
        if len(rois):
            logits = self.model.masks(p8, paddle.to_tensor(rois), paddle.to_tensor(per_image, dtype="int32"))
            gt_cls = arrays[2][arrays[1][..., 2] > 0].astype(np.int64)
            index = paddle.to_tensor(np.stack([np.arange(len(gt_cls)), gt_cls], axis=1))
            picked = paddle.gather_nd(logits, index)
            loss = loss + F.binary_cross_entropy_with_logits(picked, paddle.to_tensor(targets))
        return loss

    # ---- checkpoints
    def state(
        self, epoch: int, step: int, metrics: dict[str, Any], best: dict[str, Any], kind: str
    ) -> dict[str, Any]:
        return {
            "kind": kind,
            "task_type": self.task_type,
            "epoch": epoch,
            "step": step,
            "labels": self.labels,
            "channels": self.channels,
            "params": self.params.model_dump(),
            "eval_metrics": metrics,
            "best": best,
            "anchors": self.anchors,
            "time": time.time(),
            "num_parameters": count_parameters(self.model),
            "run_index": int(os.environ.get("TRIO_RUN_INDEX", "0") or 0),
            "param_names": [q.name for q in self.model.parameters()],
        }

    def save(
        self,
        epoch: int,
        step: int,
        metrics: dict[str, Any],
        best: dict[str, Any],
        raw: dict[str, paddle.Tensor] | None = None,
    ) -> None:
        """A training checkpoint; with a weight average applied, ``raw`` holds the optimizer's weights."""
        root = checkpoint_root(self.task_dir)
        root.mkdir(parents=True, exist_ok=True)
        model_state = self.model.state_dict()
        write_checkpoint(
            root / f"epoch_{epoch}",
            self.state(epoch, step, metrics, best, "training"),
            paddle.save,
            model_state,
            self.optimizer.state_dict(),
            extra={RAW_WEIGHTS: {**model_state, **raw}} if raw is not None else None,
        )
        tracking.publish(root / f"epoch_{epoch}")  # sent to the server now if the job has no shared fs

    def save_best(self, epoch: int, step: int, metrics: dict[str, Any], best: dict[str, Any]) -> None:
        write_checkpoint(
            checkpoint_root(self.task_dir) / BEST,
            self.state(epoch, step, metrics, best, "sampler"),
            paddle.save,
            self.model.state_dict(),
            None,
        )
        tracking.publish(checkpoint_root(self.task_dir) / BEST)

    def load(self, epoch: int | str | None, with_optimizer: bool = False) -> dict[str, Any]:
        folder = checkpoint_dir(self.task_dir, epoch)
        set_weights(self.model, folder / "model.pdparams")
        state = read_state(folder)
        if with_optimizer:
            self.optimizer.set_state_dict(
                self._renamed(paddle.load(str(folder / "model.pdopt")), state.get("param_names", []))
            )
        return state

    def _renamed(self, opt_state: dict[str, Any], saved_names: list[str]) -> dict[str, Any]:
        """Optimizer state keys follow parameter names, which Paddle numbers per process: map the names
        the checkpoint was saved with onto this model's (same architecture, same order)."""
        names = [q.name for q in self.model.parameters()]
        if not saved_names or saved_names == names:
            return opt_state
        rename = dict(zip(saved_names, names))
        prefixes = sorted(rename, key=len, reverse=True)
        out = {}
        for key, value in opt_state.items():
            for old in prefixes:
                if key.startswith(old + "_"):
                    key = rename[old] + key[len(old) :]
                    break
            out[key] = value
        return out

    # ---- training
    def train(
        self,
        resume_epoch: int | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        track: Callable[..., None] | None = None,
        after_step: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Train to ``num_epochs`` (from ``resume_epoch`` when given). ``after_step`` runs after every
        optimizer step (pruning re-applies its masks there)."""
        p = self.params
        start_epoch, step, best = 0, 0, {"metric": BEST_METRIC[self.task_type], "value": None, "epoch": None}
        if resume_epoch is not None:
            state = self.load(resume_epoch, with_optimizer=True)
            start_epoch, step, best = state["epoch"], state["step"], state["best"]
            self.log(f"resumed from epoch {start_epoch} (step {step})")
        elif p.pretrain_weights:
            self.load_pretrained(Path(p.pretrain_weights))
        self.ema = self._weight_average(resume_epoch)
        world, gate = self.world, distributed.EpochGate(self.world)
        distributed.broadcast_parameters(self.model, world)
        track = track or (lambda **kw: None)
        parallel = (
            f", data-parallel over {world.size} processes "
            f"({'NCCL' if paddle.get_device().startswith('gpu') else 'gloo'})"
            if world.size > 1
            else ""
        )
        self.log(
            f"training {p.model} on {len(self.train_view)} images ({self.num_classes} classes), "
            f"{p.num_epochs} epochs of {self.steps_per_epoch} steps, device {paddle.get_device()}{parallel}"
        )
        metrics: dict[str, Any] = {}
        step_times: list[float] = []
        for epoch in range(start_epoch, p.num_epochs):
            paddle.seed(p.seed * 100_003 + epoch)
            self.sample_rng = np.random.default_rng([p.seed, epoch, 7])
            self.model.train()
            for b, (_, arrays) in enumerate(
                batches(self.train_view, p, epoch, train=True, shard=(world.rank, world.size))
            ):
                t0 = time.perf_counter()
                lr = self.lr_at(step)
                self.optimizer.set_lr(lr)
                loss = self.loss(arrays)
                loss.backward()
                distributed.average_gradients(self.model.parameters(), world)
                self.optimizer.step()
                self.optimizer.clear_grad()
                if after_step is not None:
                    after_step()
                if self.ema is not None:
                    self.ema.update(step + 1)
                value = float(loss)
                dt = time.perf_counter() - t0
                step_times = (step_times + [dt])[-50:]
                step += 1
                remaining = (p.num_epochs * self.steps_per_epoch - step) * float(np.mean(step_times))
                track(
                    loss=value,
                    lr=lr,
                    speed=len(arrays[0]) * world.size / max(dt, 1e-9),
                    eta_s=remaining,
                    step=step,
                )
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"loss became {value} at epoch {epoch + 1}, step {b + 1}; lower the learning_rate"
                    )
                self.log(
                    f"[TRAIN] Epoch={epoch + 1}/{p.num_epochs}, Step={b + 1}/{self.steps_per_epoch}, "
                    f"loss={value:.6f}, lr={lr:.6g}, time_each_step={dt:.3f}s, eta={_hms(remaining)}"
                )
            done = epoch + 1
            if not world.leader:  # rank 0 evaluates and saves; the others wait for it (or keep its best)
                gate.wait(done)
                continue
            if done % p.save_interval_epochs == 0 or done == p.num_epochs:
                with self._averaged() as raw:
                    metrics = self.evaluate(self.eval_view)
                    value = metrics[best["metric"]]
                    if best["value"] is None or value > best["value"]:
                        best = {"metric": best["metric"], "value": value, "epoch": done}
                        self.save_best(done, step, metrics, best)
                    self.save(done, step, metrics, best, raw)
                scalars = {f"eval_{k}": v for k, v in metrics.items() if isinstance(v, float)}
                track(step=done, **scalars)
                self.log(
                    f"[EVAL] Epoch={done}, "
                    + ", ".join(f"{k}={v:.4f}" for k, v in scalars.items())
                    + f"; best {best['metric']}={best['value']:.4f} at epoch {best['epoch']}"
                )
                if on_epoch:
                    on_epoch({"epoch": done, "step": step, "eval_metrics": metrics, "best": best})
            gate.open(done)
        if world.size > 1:
            spread = distributed.check_identical_weights(self.model, world)
            self.log(
                f"data-parallel: the {world.size} processes ended with identical weights "
                f"(checksum spread {spread:g})"
            )
        if self.ema is not None:  # the model leaves training as it was saved: averaged
            self.ema.copy_to_model()
        return {"epoch": p.num_epochs, "step": step, "eval_metrics": metrics, "best": best}

    def _weight_average(self, resume_epoch: int | None) -> WeightAverage | None:
        """The average of the weights when ``use_ema``: it starts from the model as loaded (a resumed
        checkpoint's weights are the average), and the optimizer's own weights come back from the
        checkpoint's ``train.pdparams``."""
        if not getattr(self.params, "use_ema", False):
            return None
        ema = WeightAverage(self.model, self.params.ema_decay)
        if resume_epoch is not None:
            raw = checkpoint_dir(self.task_dir, resume_epoch) / RAW_WEIGHTS
            if raw.is_file():
                set_weights(self.model, raw)
        return ema

    @contextmanager
    def _averaged(self) -> Iterator[dict[str, paddle.Tensor] | None]:
        """The model holds the weight average inside the block (yields the optimizer's weights), or is
        unchanged without one (yields None)."""
        if self.ema is None:
            yield None
            return
        with self.ema.applied() as raw:
            yield raw

    def load_pretrained(self, folder: Path) -> None:
        path = folder / "model.pdparams" if folder.is_dir() else folder
        weights = paddle.load(str(path))
        own = self.model.state_dict()
        usable = {k: v for k, v in weights.items() if k in own and list(v.shape) == list(own[k].shape)}
        self.model.set_state_dict(usable)
        self.log(f"initialised {len(usable)}/{len(own)} tensors from {folder}")

    # ---- inference and evaluation
    @paddle.no_grad()
    def infer(self, arrays: list[np.ndarray], score_thresh: float = 0.01) -> list[dict[str, Any]]:
        """Predictions for a batch: classification probs, segmentation label maps, boxes (+ masks)."""
        self.model.eval()
        image = paddle.to_tensor(arrays[0])
        if self.task_type == "classification":
            probs = F.softmax(self.model(image), axis=1).numpy()
            return [{"probs": pr} for pr in probs]
        if self.task_type in SEGMENTATION_TYPES:
            logits = self.model(image)
            return [
                {"label_map": m, "score_map": s}
                for m, s in zip(logits.argmax(axis=1).numpy(), F.softmax(logits, axis=1).max(axis=1).numpy())
            ]
        if self.two_stage:
            return self._detect_two_stage(image, score_thresh)
        outputs, p8 = self.model.features(image)
        dets = decode_detections(
            outputs,
            self.params.image_shape,
            self.num_classes,
            self.anchors,
            score_thresh,
            scale_x_y=self.model.scale_x_y,
            matrix=self.model.matrix_nms,
        )
        if self.task_type == "instance_segmentation":
            counts = [len(d["boxes"]) for d in dets]
            if sum(counts):
                boxes = np.concatenate([d["boxes"] for d in dets]).astype(np.float32)
                logits = self.model.masks(
                    p8, paddle.to_tensor(boxes), paddle.to_tensor(counts, dtype="int32")
                ).numpy()
            offset = 0
            for d, c in zip(dets, counts):
                d["masks"] = (
                    paste_masks(
                        logits[offset : offset + c], d["boxes"], d["labels"], tuple(self.params.image_shape)
                    )
                    if c
                    else np.zeros((0, *self.params.image_shape), bool)
                )
                offset += c
        return dets

    def _detect_two_stage(self, image: paddle.Tensor, score_thresh: float) -> list[dict[str, Any]]:
        dets = rcnn.detect(self.model, image, score_thresh)
        for d in dets:
            logits = d.pop("mask_logits", None)
            if logits is not None:
                d["masks"] = paste_masks(logits, d["boxes"], d["labels"], tuple(image.shape[2:]))
        return dets

    def evaluate(
        self, view: DatasetView, topk: int = 5, score_thresh: float = 0.01, overlap_thresh: float = 0.5
    ) -> dict[str, Any]:
        p = self.params
        if self.task_type == "classification":
            probs, labels = [], []
            for _, arrays in batches(view, p, 0, train=False):
                probs += [r["probs"] for r in self.infer(arrays)]
                labels += list(arrays[1])
            probs_a, labels_a = np.stack(probs), np.asarray(labels)
            cm = confusion(probs_a.argmax(1), labels_a, self.num_classes)
            return {
                "acc1": topk_accuracy(probs_a, labels_a, 1),
                f"acc{min(topk, self.num_classes)}": topk_accuracy(probs_a, labels_a, topk),
                "confusion_matrix": cm.tolist(),
                "labels": self.labels,
                "num_images": len(labels),
            }
        if self.task_type in SEGMENTATION_TYPES:
            cm = np.zeros((self.num_classes, self.num_classes), np.int64)
            for _, arrays in batches(view, p, 0, train=False):
                for r, truth in zip(self.infer(arrays), arrays[1]):
                    cm += confusion(r["label_map"], truth, self.num_classes)
            return {**segmentation_scores(cm, self.labels), "labels": self.labels}
        preds, truths = [], []
        for _, arrays in batches(view, p, 0, train=False):
            for r, boxes, labels, *rest in zip(self.infer(arrays, score_thresh), *arrays[1:]):
                keep = boxes[:, 2] > 0
                truth = {
                    "boxes": corners(boxes[keep], p.image_shape),
                    "labels": labels[keep],
                    "crowd": np.zeros(int(keep.sum()), bool),
                }
                if self.task_type == "instance_segmentation":
                    truth["masks"] = rest[0][keep].astype(bool)
                preds.append(r)
                truths.append(truth)
        box = detection_map(preds, truths, self.num_classes, COCO_THRESHOLDS)
        out = {
            "bbox_map": box[0.5],
            "bbox_map_coco": float(np.mean(list(box.values()))),
            f"bbox_map_{overlap_thresh}": detection_map(preds, truths, self.num_classes, (overlap_thresh,))[
                overlap_thresh
            ],
            "labels": self.labels,
            "num_images": len(truths),
        }
        if self.task_type == "instance_segmentation":
            seg = detection_map(preds, truths, self.num_classes, COCO_THRESHOLDS, use_masks=True)
            out.update(segm_map=seg[0.5], segm_map_coco=float(np.mean(list(seg.values()))))
        return out
