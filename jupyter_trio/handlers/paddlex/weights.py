"""PaddleX /model: pretrained models saved from tasks, and exported models."""

from __future__ import annotations

from typing import Any

from ...domain import Weights, WeightsKind
from ...errors import ValidationFailed
from ...schemas.paddlex import (
    ModelDelete,
    ModelQuery,
    ModelReply,
    ModelSave,
    ModelSaved,
)
from ..base import operation
from .base import PaddleXHandler, paddlex_time
from .enums import WEIGHTS_STATUS, ExportedModelType


def model_attr(model: Weights) -> dict[str, Any]:
    attrs = model.attrs
    out = {
        "id": model.id,
        "name": model.name,
        "model": model.model_type,
        "type": attrs.get("task_type"),
        "pid": attrs.get("project_id"),
        "tid": model.task_id,
        "path": model.path,
        "create_time": paddlex_time(model.created_at),
    }
    if model.kind == WeightsKind.PRETRAINED:
        out.update(status=WEIGHTS_STATUS[model.status].value, eval_result=attrs.get("eval_result"))
    else:
        out.update(
            exported_type=attrs.get("exported_type", 0),
            model_type=ExportedModelType.XTRAINSERVER.value,  # an unquantized, unpruned server model
            status=WEIGHTS_STATUS[model.status].value,  # saving while the export it was registered for runs
        )
        if attrs.get("error"):
            out["message"] = attrs["error"]
    return out


class PaddleXModelHandler(PaddleXHandler):
    @operation(
        "PaddleX: one model (mid) or all of a type (pretrained | exported)",
        request=ModelQuery,
        response=ModelReply,
        tag="paddlex",
    )
    def get(self) -> None:
        args = self.arguments(ModelQuery)
        svc = self.trio.weights
        if args.mid:
            model = svc.get(args.mid)
            self.ok(
                dataset_attr=model.attrs.get("dataset_attr", {}),
                task_params=model.attrs.get("task_params", {}),
                eval_result=model.attrs.get("eval_result", {}),
                attr=model_attr(model),
            )
            return
        kind = args.type
        if kind == "pretrained":
            self.ok(pretrained_models=[model_attr(m) for m in svc.list("pretrained")])
        elif kind == "exported":
            self.ok(exported_models=[model_attr(m) for m in svc.list("exported")])
        else:
            raise ValidationFailed("pass mid, or type pretrained or exported")

    @operation(
        "PaddleX: save a task's model as pretrained (pid, tid, name, source_path?) or register an exported "
        "model (pid, tid, name, path, exported_type)",
        request=ModelSave,
        response=ModelSaved,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(ModelSave)
        svc = self.trio.weights
        if args.type == "pretrained":
            model = svc.save_pretrained(
                self.username,
                args.tid,
                args.name,
                args.pid,
                args.source_path or None,
                epoch=args.epoch,
                eval_results=args.eval_results,
            )
            self.ok(pmid=model.id)
        else:
            if not args.path:
                raise ValidationFailed("path is required for an exported model")
            model = svc.register_exported(
                self.username, args.tid, args.name, args.path, args.exported_type, args.pid
            )
            self.ok(emid=model.id)

    @operation("PaddleX: delete a model (type, pmid | emid)", request=ModelDelete, tag="paddlex")
    def delete(self) -> None:
        args = self.arguments(ModelDelete)
        mid = args.pmid if args.type == "pretrained" else args.emid
        if not mid:
            raise ValidationFailed(f"{'pmid' if args.type == 'pretrained' else 'emid'} is required")
        self.trio.weights.delete(mid, args.type)
        self.ok()
