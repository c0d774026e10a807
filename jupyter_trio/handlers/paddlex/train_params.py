"""PaddleX's ``train`` parameters as its clients send them → the native parameter names and types.

PaddleX's own server set only the attributes a task type had and ignored every other key
(``Params.load_from_dict``), and its web client relies on that: it round-trips the whole parameter
dict, adds ``backbone: ""`` for models without one, ``use_gpu``, ``cpu_num``, the augmentation fields
of every task type, and sends numbers typed into form inputs as strings (``"0.5"``, sometimes
``"undefined"``). This dialect does the same — unknown or inapplicable names are dropped — but says
which ones in the reply's ``message``, so a typo is visible rather than fatal. Wrong values of known
names are still refused by the native validation, naming the field. The native API stays strict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from ...errors import ValidationFailed
from ...trainers.model_zoo import SAME_ARCHITECTURE
from ...trainers.params import PARAMS_BY_TYPE, parse_train

# PaddleX's weights names that mean "download pretrained weights": impossible here (no network)
DOWNLOADED_WEIGHTS = ("IMAGENET", "COCO", "CITYSCAPES")
# colour jitter of RGB pictures: the web client sends it for every segmentation form; N-band images have none
RGB_ONLY = ("saturation", "saturation_prob", "saturation_range", "hue", "hue_prob", "hue_range")
# names PaddleX clients send that are not parameters of any trainer, with what we do about them
_NOTES = {
    "use_gpu": "GPUs follow cuda_visible_devices",
    "cpu_num": "CPU jobs get their share of the cores (c.TrioApp.max_cpu_jobs)",
}


@dataclass
class Translated:
    params: dict[str, Any]
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        parts = list(self.notes)
        if self.ignored:
            parts.append("ignored (not parameters of this task type): " + ", ".join(self.ignored))
        return "; ".join(parts)


def _is_list(annotation: Any) -> bool:
    return (
        annotation is list or get_origin(annotation) is list or any(_is_list(a) for a in get_args(annotation))
    )


def _form_value(value: Any, annotation: Any) -> Any:
    """A form input's string as the JSON value it stands for: '0.5', 'true', '[224, 224]', '224,224'."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _is_list(annotation):
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return value
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def translate(task_type: str, train: Any) -> Translated:
    """The native ``train`` dict for a PaddleX client's parameters of a ``task_type`` task."""
    raw = parse_train(train)
    cls = PARAMS_BY_TYPE.get(task_type)
    if cls is None:
        raise ValidationFailed(f"no trainer for {task_type!r} projects")
    fields = cls.model_fields
    out = Translated({})
    cpu_only = raw.get("use_gpu", True) in (False, "false", "False", 0, "0")
    for key, value in raw.items():
        if key in _NOTES:
            if key == "use_gpu" and cpu_only:
                out.notes.append("use_gpu false: training on the CPU")
            else:
                out.notes.append(f"{key} not used: {_NOTES[key]}")
            continue
        if key not in fields or (task_type == "remote_segmentation" and key in RGB_ONLY):
            out.ignored.append(key)
            continue
        if value is None or value == "undefined" or (value == "" and key in ("backbone", "model")):
            continue  # an empty form field (the web client's "NA" backbone): the default stands
        if key == "train_num" and value in (0, "0"):
            continue  # PaddleX's default: every training image
        if key == "pretrain_weights" and isinstance(value, str) and value.upper() in DOWNLOADED_WEIGHTS:
            out.params["pretrain_weights"] = None
            out.notes.append(
                f"pretrain_weights {value}: pretrained weights cannot be downloaded here, "
                f"training from scratch (give a local weights path to start from one)"
            )
            continue
        out.params[key] = _form_value(value, fields[key].annotation)
        if key in ("model", "backbone") and isinstance(value, str) and value in SAME_ARCHITECTURE:
            out.notes.append(
                f"{key} {value}: SSLD names PaddleX's distilled ImageNet weights, which cannot be downloaded "
                f"here; the same network ({SAME_ARCHITECTURE[value]}) trains from scratch"
            )
    if cpu_only:  # whatever cuda_visible_devices said, before or after it
        out.params["cuda_visible_devices"] = ""
    return out
