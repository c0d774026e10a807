"""PaddleX /model: pretrained models saved from tasks, and exported models."""

from __future__ import annotations

from typing import Any

from ...enums import ExportedModelType, WEIGHTS_STATUS
from ...errors import ValidationFailed
from ..base import operation
from .base import PaddleXHandler, paddlex_time


def model_attr(model: dict[str, Any]) -> dict[str, Any]:
    attrs = model["attrs"]
    out = {"id": model["id"], "name": model["name"], "model": model["model_type"], "type": attrs.get("task_type"),
           "pid": attrs.get("project_id"), "tid": model["task_id"], "path": model["path"],
           "create_time": paddlex_time(model["created_at"])}
    if model["kind"] == "pretrained":
        out.update(status=WEIGHTS_STATUS[model["status"]].value, eval_result=attrs.get("eval_result"))
    else:
        out.update(exported_type=attrs.get("exported_type", 0),
                   model_type=ExportedModelType.XTRAINSERVER.value)  # an unquantized, unpruned server model
    return out


class ModelHandler(PaddleXHandler):
    @operation("PaddleX: one model (mid) or all of a type (pretrained | exported)", tag="paddlex")
    def get(self) -> None:
        args = self.args()
        svc = self.trio.weights
        if args.get("mid"):
            model = svc.get(args["mid"])
            self.ok(dataset_attr=model["attrs"].get("dataset_attr", {}), task_params=model["attrs"].get("task_params", {}),
                    eval_result=model["attrs"].get("eval_result", {}), attr=model_attr(model))
            return
        kind = args.get("type")
        if kind == "pretrained":
            self.ok(pretrained_models=[model_attr(m) for m in svc.list("pretrained")])
        elif kind == "exported":
            self.ok(exported_models=[model_attr(m) for m in svc.list("exported")])
        else:
            raise ValidationFailed("pass mid, or type pretrained or exported")

    @operation("PaddleX: save a task's model as pretrained (pid, tid, name, source_path?) or register an exported "
               "model (pid, tid, name, path, exported_type)", tag="paddlex")
    def post(self) -> None:
        args = self.args()
        kind, svc = args.get("type"), self.trio.weights
        tid, name = self.require(args, "tid"), str(args.get("name") or "")
        if kind == "pretrained":
            eval_results = args.get("eval_results")
            if eval_results is not None and not isinstance(eval_results, dict):
                raise ValidationFailed("eval_results must be an object")
            model = svc.save_pretrained(self.username, tid, name, args.get("pid"), args.get("source_path") or None,
                                        eval_results=eval_results)
            self.ok(pmid=model["id"])
        elif kind == "exported":
            exported_type = args.get("exported_type", 0)
            if isinstance(exported_type, bool) or not isinstance(exported_type, int):
                raise ValidationFailed("exported_type must be 0 or 1")
            model = svc.register_exported(self.username, tid, name, self.require(args, "path"), exported_type,
                                          args.get("pid"))
            self.ok(emid=model["id"])
        else:
            raise ValidationFailed(f"type must be pretrained or exported, not {kind!r}")

    @operation("PaddleX: delete a model (type, pmid | emid)", tag="paddlex")
    def delete(self) -> None:
        args = self.args()
        kind = args.get("type")
        if kind not in ("pretrained", "exported"):
            raise ValidationFailed(f"type must be pretrained or exported, not {kind!r}")
        self.trio.weights.delete(self.require(args, "pmid" if kind == "pretrained" else "emid"), kind)
        self.ok()
