"""The model registry (native dialect and v1): named models, versions, aliases, lineage. See
services/model_registry.py."""

from __future__ import annotations

from ..schemas.registry import (
    AliasSet,
    ModelCreate,
    ModelVersionInfo,
    RegisteredModelInfo,
    RegisteredModelList,
    V1ModelVersion,
    V1ModelVersions,
    V1VersionCreate,
    VersionCreate,
)
from .base import TrioHandler, operation


class RegisteredModelsHandler(TrioHandler):
    @operation("Registered models, by name", response=RegisteredModelList, tag="registry")
    def get(self) -> None:
        self.reply(
            RegisteredModelList(models=[RegisteredModelInfo.of(m) for m in self.trio.registry.models()])
        )

    @operation(
        "Register a model name", request=ModelCreate, response=RegisteredModelInfo, status=201, tag="registry"
    )
    def post(self) -> None:
        body = self.parse_body(ModelCreate)
        self.reply(
            RegisteredModelInfo.of(self.trio.registry.create(self.username, body.name, body.description)), 201
        )


class RegisteredModelHandler(TrioHandler):
    @operation(
        "A registered model with its versions and aliases", response=RegisteredModelInfo, tag="registry"
    )
    def get(self, model: str) -> None:
        registry = self.trio.registry
        self.reply(RegisteredModelInfo.of(registry.model(model), registry.versions(model)))

    @operation(
        "Forget a registered model (its checkpoints and kept weights stay)", status=204, tag="registry"
    )
    def delete(self, model: str) -> None:
        self.trio.registry.delete(model)
        self.set_status(204)
        self.finish()


class ModelVersionsHandler(TrioHandler):
    @operation(
        "Register the model's next version from a checkpoint or kept weights (made on first use)",
        request=VersionCreate,
        response=ModelVersionInfo,
        status=201,
        tag="registry",
    )
    def post(self, model: str) -> None:
        body = self.parse_body(VersionCreate)
        made = self.trio.registry.register(self.username, model, body.source, body.description)
        self.reply(ModelVersionInfo.of(made, list(self.trio.registry.lineage(made).steps)), 201)


class ModelVersionHandler(TrioHandler):
    @operation(
        "A version by number or alias, with its lineage back to the run",
        response=ModelVersionInfo,
        tag="registry",
    )
    def get(self, model: str, ref: str) -> None:
        found = self.trio.registry.version(model, ref)
        self.reply(ModelVersionInfo.of(found, list(self.trio.registry.lineage(found).steps)))


class ModelAliasHandler(TrioHandler):
    @operation(
        "Point an alias (production, candidate...) at a version",
        request=AliasSet,
        response=ModelVersionInfo,
        tag="registry",
    )
    def put(self, model: str, alias: str) -> None:
        body = self.parse_body(AliasSet)
        self.reply(ModelVersionInfo.of(self.trio.registry.set_alias(model, alias, body.version)))

    @operation("Remove an alias", status=204, tag="registry")
    def delete(self, model: str, alias: str) -> None:
        self.trio.registry.delete_alias(model, alias)
        self.set_status(204)
        self.finish()


# ---- v1: the same registry in Tinker's words (a version is made from a tinker:// path)
class V1ModelVersionsHandler(TrioHandler):
    @operation("A model's versions (v1)", response=V1ModelVersions, tag="v1")
    def get(self, model: str) -> None:
        versions = self.trio.registry.versions(model)
        self.reply(V1ModelVersions(model_name=model, versions=[V1ModelVersion.of(v) for v in versions]))

    @operation(
        "Register a model version from a tinker:// checkpoint path (v1)",
        request=V1VersionCreate,
        response=V1ModelVersion,
        status=201,
        tag="v1",
    )
    def post(self, model: str) -> None:
        body = self.parse_body(V1VersionCreate)
        self.reply(
            V1ModelVersion.of(self.trio.registry.register(self.username, model, body.path, body.description)),
            201,
        )


class V1ModelVersionHandler(TrioHandler):
    @operation("A model version by number or alias (v1)", response=V1ModelVersion, tag="v1")
    def get(self, model: str, ref: str) -> None:
        self.reply(V1ModelVersion.of(self.trio.registry.version(model, ref)))
