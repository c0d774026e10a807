"""Native API over datasets, projects and demos: the same services as the PaddleX dialect, REST verbs."""

from __future__ import annotations

from typing import Any

from tornado.ioloop import IOLoop

from ..errors import ValidationFailed
from ..schemas.native import (
    DatasetCreate,
    DatasetDetails,
    DatasetImportRequest,
    DatasetInfo,
    DatasetList,
    DatasetPatch,
    DatasetSplitRequest,
    DemoInfo,
    DemoList,
    DemoLoaded,
    ProjectCreate,
    ProjectInfo,
    ProjectList,
    ProjectPatch,
)
from ..services.file_preview import kind_of
from ..vocabulary import DATASET_TYPES, project_type
from .base import TrioHandler, operation


class _DatasetViews(TrioHandler):
    def dataset_info(self, did: str) -> DatasetInfo:
        d = self.trio.projects.dataset(did)
        return DatasetInfo.of(d, self.trio.projects.dataset_project_ids(d.id))

    def project_info(self, pid: str) -> ProjectInfo:
        p = self.trio.projects.project(pid)
        return ProjectInfo.of(p, [t.id for t in self.trio.projects.project_tasks(pid)])


class DatasetsHandler(_DatasetViews):
    @operation("List datasets", response=DatasetList, tag="datasets")
    def get(self) -> None:
        self.reply(DatasetList(items=[self.dataset_info(d.id) for d in self.trio.projects.datasets()]))

    @operation(
        "Create an empty dataset of a task type",
        request=DatasetCreate,
        response=DatasetInfo,
        status=201,
        tag="datasets",
    )
    def post(self) -> None:
        body = self.parse_body(DatasetCreate)
        d = self.trio.projects.create_dataset(self.username, body.name, body.description, body.dataset_type)
        self.reply(self.dataset_info(d.id), 201)


class DatasetHandler(_DatasetViews):
    @operation("One dataset", response=DatasetInfo, tag="datasets")
    def get(self, did: str) -> None:
        self.reply(self.dataset_info(did))

    @operation("Rename or describe a dataset", request=DatasetPatch, response=DatasetInfo, tag="datasets")
    def patch(self, did: str) -> None:
        body = self.parse_body(DatasetPatch)
        self.trio.projects.update_dataset(did, **body.model_dump(exclude_none=True))
        self.reply(self.dataset_info(did))

    @operation(
        "Delete a dataset and its files (projects bound to it stay, unbound)", status=204, tag="datasets"
    )
    def delete(self, did: str) -> None:
        self.trio.projects.delete_dataset(did)
        self.set_status(204)
        self.finish()


class DatasetImportHandler(_DatasetViews):
    @operation(
        "Import a server folder into the dataset (asynchronous: poll the dataset's status)",
        request=DatasetImportRequest,
        response=DatasetInfo,
        status=202,
        tag="datasets",
    )
    def post(self, did: str) -> None:
        body = self.parse_body(DatasetImportRequest)
        self.trio.dataset_importer.start(self.trio.projects.dataset(did), body.path)
        self.reply(self.dataset_info(did), 202)


class DatasetSplitHandler(_DatasetViews):
    @operation(
        "Split an imported dataset into train/val/test (seeded, stratified by class)",
        request=DatasetSplitRequest,
        response=DatasetInfo,
        tag="datasets",
    )
    def post(self, did: str) -> None:
        body = self.parse_body(DatasetSplitRequest)
        self.trio.projects.split_dataset(did, body.val_split, body.test_split, body.seed)
        self.reply(self.dataset_info(did))


class DatasetDetailsHandler(_DatasetViews):
    @operation("Files, labels and the split of an imported dataset", response=DatasetDetails, tag="datasets")
    def get(self, did: str) -> None:
        details = self.trio.projects.dataset_details(did)
        self.reply(DatasetDetails.model_validate(details, from_attributes=True))


class DatasetPreviewHandler(_DatasetViews):
    @operation(
        "An image of the dataset (path relative to the dataset folder) with its labels drawn, as PNG",
        content_type="image/png",
        tag="datasets",
    )
    async def get(self, did: str, path: str) -> None:
        dataset = self.trio.projects.dataset(did)
        target = self.trio.workspace_files.viewable(f"{dataset.path}/{path}")
        if kind_of(target) != "image":
            raise ValidationFailed(f"{path} is not an image")
        files = (
            self.trio.workspace_files
        )  # decoding runs off the event loop, in the files service's own threads
        loop = IOLoop.current()
        data, content_type = await loop.run_in_executor(files.decoder, files.image, target, dataset)
        self.finish(data, set_content_type=content_type)


class ProjectsHandler(_DatasetViews):
    @operation("List projects", response=ProjectList, tag="projects")
    def get(self) -> None:
        self.reply(ProjectList(items=[self.project_info(p.id) for p in self.trio.projects.projects()]))

    @operation(
        "Create a project (optionally bound to a dataset of its type)",
        request=ProjectCreate,
        response=ProjectInfo,
        status=201,
        tag="projects",
    )
    def post(self) -> None:
        body = self.parse_body(ProjectCreate)
        svc = self.trio.projects
        if body.dataset_id is not None:
            svc.dataset(body.dataset_id)
            if svc.dataset(body.dataset_id).dataset_type != project_type(body.project_type):
                raise ValidationFailed("dataset_id: the dataset's type differs from the project's")
        p = svc.create_project(self.username, body.name, body.description, body.project_type)
        if body.dataset_id is not None:
            svc.bind_dataset(p.id, body.dataset_id)
        self.reply(self.project_info(p.id), 201)


class ProjectHandler(_DatasetViews):
    @operation("One project", response=ProjectInfo, tag="projects")
    def get(self, pid: str) -> None:
        self.reply(self.project_info(pid))

    @operation(
        "Rename a project or bind it to a dataset", request=ProjectPatch, response=ProjectInfo, tag="projects"
    )
    def patch(self, pid: str) -> None:
        body = self.parse_body(ProjectPatch)
        self.trio.projects.project(pid)
        if body.dataset_id is not None:
            self.trio.projects.bind_dataset(pid, body.dataset_id)
        self.trio.projects.update_project(pid, **body.model_dump(exclude_none=True, exclude={"dataset_id"}))
        self.reply(self.project_info(pid))

    @operation(
        "Delete a project and its tasks (running ones are cancelled first)", status=204, tag="projects"
    )
    def delete(self, pid: str) -> None:
        self.trio.projects.delete_project(pid)
        self.set_status(204)
        self.finish()


def demo_info(app: Any, kind: str) -> DemoInfo:
    state = app.demo_datasets._state(kind)
    return DemoInfo(
        type=kind,
        status=state.status if state.started else "not_started",
        progress=state.progress,
        message=state.message,
    )


class DemosHandler(TrioHandler):
    @operation("The generated demo dataset of each task type and its state", response=DemoList, tag="demos")
    def get(self) -> None:
        self.reply(DemoList(items=[demo_info(self.trio, kind) for kind in DATASET_TYPES]))


class DemoHandler(TrioHandler):
    @operation("One demo's state", response=DemoInfo, tag="demos")
    def get(self, kind: str) -> None:
        self.reply(demo_info(self.trio, kind))


class DemoDownloadHandler(TrioHandler):
    @operation(
        "Generate the demo dataset in the background (no-op when running or ready)",
        response=DemoInfo,
        status=202,
        tag="demos",
    )
    def post(self, kind: str) -> None:
        self.trio.demo_datasets.download(kind)
        self.reply(demo_info(self.trio, kind), 202)


class DemoStopHandler(TrioHandler):
    @operation(
        "Stop generating the demo dataset (what was written is removed)", response=DemoInfo, tag="demos"
    )
    def post(self, kind: str) -> None:
        self.trio.demo_datasets.stop(kind)
        self.reply(demo_info(self.trio, kind))


class DemoLoadHandler(TrioHandler):
    @operation(
        "Create the demo's dataset (imported, split) and project; the same ids when loaded before",
        response=DemoLoaded,
        tag="demos",
    )
    async def post(self, kind: str) -> None:
        out = await IOLoop.current().run_in_executor(None, self.trio.demo_datasets.load, kind, self.username)
        self.reply(DemoLoaded.model_validate(out, from_attributes=True))
