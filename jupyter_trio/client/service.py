"""``ServiceClient``: the entry point from a notebook. Finds the server, opens a session, and makes the
REST client, training runs and samplers (models loaded for prediction) that belong to that session."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import httpx

from .discovery import ServerLocation, find_server, kernel_id, notebook_path
from .rest import DEFAULT_TIMEOUT, RestClient, _q, run_table_params

FINAL_STATES = ("completed", "failed", "cancelled", "interrupted", "pruned")


def _image_bytes(image: Any) -> bytes:
    """A path, raw file bytes, a PIL image or an HxWxC uint8 array → image file bytes."""
    if isinstance(image, (str, Path)):
        return Path(image).read_bytes()
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    from PIL import Image

    if not isinstance(image, Image.Image):
        import numpy as np

        image = Image.fromarray(np.asarray(image))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


class SamplingClient:
    """A sampler on the server: a checkpoint's model kept loaded for prediction."""

    def __init__(self, rest: RestClient, info: dict[str, Any]):
        self.rest = rest
        self.info = info
        self.sampler_id: str = info["sampler_id"]

    def predict(self, image: Any, score_thresh: float = 0.5, visualize: bool = True) -> dict[str, Any]:
        """Predict one image. Returns ``{"result": ..., "visualization": PIL.Image | None}``: classes and
        scores,
        boxes, or masks / label maps as COCO RLE, in the image's own coordinates."""
        body = {
            "image": base64.b64encode(_image_bytes(image)).decode(),
            "score_thresh": score_thresh,
            "visualize": visualize,
        }
        reply = self.rest.request("POST", f"samplers/{_q(self.sampler_id)}/predict", json=body)
        picture = None
        if reply.get("visualization"):
            from PIL import Image

            picture = Image.open(io.BytesIO(base64.b64decode(reply["visualization"])))
        return {"result": reply["result"], "visualization": picture}

    def close(self) -> None:
        """Stop the sampler's process on the server and forget it."""
        self.rest.request("DELETE", f"samplers/{_q(self.sampler_id)}")


# what a job's TRIO_TOKEN starts with (a run token: services/run_tokens.py, which a kernel may not import)
RUN_TOKEN_PREFIX = "trio-run."


class ServiceClient:
    """Connects to the Jupyter server running jupyter-trio.

    With no arguments inside a kernel of that server it finds the server by itself (see
    :func:`jupyter_trio.client.discovery.find_server`) and opens a session naming the kernel and notebook;
    training runs and samplers made through this client are linked to that session. Inside a job it finds
    ``TRIO_SERVER_URL`` and ``TRIO_TOKEN``, the run's own token, which reads the API (no session, no writes).
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        user_metadata: dict[str, str] | None = None,
    ):
        self.location: ServerLocation = find_server(base_url, token)
        self._timeout, self._max_retries = timeout, max_retries
        self._rest = RestClient(
            self.location.base_url, self.location.token, timeout=timeout, max_retries=max_retries
        )
        self.session_id: str = ""
        if self.location.token.startswith(RUN_TOKEN_PREFIX):
            return  # inside a job: its run token reads the API, and a job has no kernel to open a session for
        session = self._rest.request(
            "POST",
            "sessions",
            json={"kernel_id": kernel_id(), "notebook_path": notebook_path(), "user_metadata": user_metadata},
        )
        self.session_id = session["session_id"]
        self._rest.use_session(self.session_id)

    @property
    def base_url(self) -> str:
        return self.location.base_url

    def create_rest_client(self) -> RestClient:
        return RestClient(
            self.location.base_url,
            self.location.token,
            session_id=self.session_id,
            timeout=self._timeout,
            max_retries=self._max_retries,
        )

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        """A call to any jupyter-trio route, ``path`` relative to the server root (``"trio/api/tasks"``): the
        native API the panels use, with the REST client's auth, retries and typed errors."""
        return self._rest.request(
            method, f"{self.location.base_url}{path.lstrip('/')}", params=params, json=json
        )

    def runs(
        self,
        where: str = "",
        columns: str | list[str] | None = None,
        sort: str = "",
        order: str = "desc",
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A page of the run table, as :meth:`RestClient.runs`: ``{"runs": [row...], "total", "offset",
        "limit", "columns"}``; ``where`` is the query language (``lr < 1e-3 and acc.max > 0.9``). A query
        the server refuses raises :class:`UnprocessableEntityError` whose message names the position."""
        params = run_table_params(where, columns, sort, order, limit, offset)
        return self.call("GET", "trio/api/runs", params=params)

    def load_demo(self, kind: str = "classification", timeout: float = 600.0) -> dict[str, Any]:
        """Make the server's generated demo dataset of ``kind`` (classification, detection, segmentation,
        instance_segmentation) and load it into a project; returns ``{"dataset_id", "project_id"}``."""
        api = f"trio/api/demos/{_q(kind)}"
        self.call("POST", f"{api}/download")
        deadline = time.monotonic() + timeout
        while (demo := self.call("GET", api))["status"] != "ready":
            if demo["status"] == "failed" or time.monotonic() > deadline:
                raise RuntimeError(f"demo {kind} could not be made: {demo}")
            time.sleep(0.2)
        loaded = self.call("POST", f"{api}/load")
        return {"dataset_id": loaded["dataset_id"], "project_id": loaded["project_id"]}

    def create_training_run(
        self,
        project_id: str | None = None,
        *,
        dataset_id: str | None = None,
        params: dict[str, Any] | None = None,
        description: str = "",
        start: bool = True,
    ) -> dict[str, Any]:
        """Start training in a project (or on a split dataset, in a new project for it); ``params`` are
        PaddleX's
        training parameters (omitted: the server's recommendation). Returns the training run."""
        return self._rest.request(
            "POST",
            "training_runs",
            json={
                "project_id": project_id,
                "dataset_id": dataset_id,
                "params": params,
                "description": description,
                "session_id": self.session_id,
                "start": start,
            },
        )

    def wait_training_run(
        self, training_run_id: str, timeout: float = 3600.0, poll: float = 1.0
    ) -> dict[str, Any]:
        """Poll until the run has ended (completed, failed, cancelled, interrupted); returns it."""
        deadline = time.monotonic() + timeout
        while True:
            run = self._rest.get_training_run(training_run_id)
            if run["status"] in FINAL_STATES:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"training run {training_run_id} still {run['status']} after {timeout:.0f}s"
                )
            time.sleep(poll)

    # ---- sweeps: adaptive search on the server's Optuna (trials are tasks of its runner)
    def create_sweep(
        self,
        name: str,
        script_path: str,
        space: str | dict[str, Any],
        metric: str,
        direction: str = "minimize",
        **budget: Any,
    ) -> dict[str, Any]:
        """Start a sweep over ``script_path`` (relative to the Jupyter root): ``space`` is its config
        template, YAML or a dict, with values such as ``loguniform(1e-5, 1e-1)``, ``int(2, 8)``,
        ``choice(adam | sgd)``; ``metric`` is a series the script tracks. ``budget``: n_trials, parallel,
        gpus, timeout, sampler, pruner, seed (see ``POST /trio/api/sweeps``). Returns the sweep."""
        body = {
            "name": name,
            "script_path": script_path,
            "space": space,
            "objective": {"metric": metric, "direction": direction},
            **budget,
        }
        return self.call("POST", "trio/api/sweeps", json=body)

    def get_sweep(self, name: str) -> dict[str, Any]:
        """The sweep with its trials (number, state, value, params, task) and its best trial."""
        return self.call("GET", f"trio/api/sweeps/{_q(name)}")

    def wait_sweep(self, name: str, timeout: float = 3600.0, poll: float = 0.5) -> dict[str, Any]:
        """Poll until the sweep is no longer running (completed, stopped, failed, or paused)."""
        deadline = time.monotonic() + timeout
        while (sweep := self.get_sweep(name))["state"] == "running":
            if time.monotonic() > deadline:
                raise TimeoutError(f"sweep {name} still running after {timeout:.0f}s")
            time.sleep(poll)
        return sweep

    def load_study(self, name: str) -> Any:
        """The sweep's Optuna study (``optuna.load_study`` on the storage the server names): its trials,
        ``best_params``, and ``optuna.visualization`` on it. The kernel must run on the server's machine."""
        import optuna

        ref = self.call("GET", f"trio/api/sweeps/{_q(name)}/study")
        return optuna.load_study(study_name=ref["study_name"], storage=ref["storage"])

    # ---- notebooks as jobs, and schedules
    def run_notebook(
        self, notebook: str, parameters: dict[str, Any] | None = None, *, run: bool = True, **options: Any
    ) -> dict[str, Any]:
        """Run ``notebook`` (a path relative to the Jupyter root; a ``.py`` runs as a script) as a job, its
        ``parameters`` injected after the cell tagged ``parameters`` (papermill). ``options``: kernel, name,
        gpus, priority, env. ``run=False`` makes the task without running it (to schedule it). Returns the
        task, with papermill's ``warnings``."""
        body = {"notebook": notebook, "parameters": parameters or {}, "run": run, **options}
        return self.call("POST", "trio/api/notebook-jobs", json=body)

    def wait_task(self, name: str, timeout: float = 3600.0, poll: float = 0.5) -> dict[str, Any]:
        """Poll until the task's latest run has ended; the task."""
        deadline = time.monotonic() + timeout
        while (task := self.call("GET", f"trio/api/tasks/{_q(name)}"))["status"] in (
            "pending",
            "queued",
            "running",
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {name} still {task['status']} after {timeout:.0f}s")
            time.sleep(poll)
        return task

    def outputs(self, name: str, run: int | None = None) -> list[dict[str, Any]]:
        """The files a run left in its output folder (a notebook job: the executed notebook, its HTML, what
        its cells wrote), each with its workspace ``path`` (``GET /trio/api/files/{path}`` downloads it)."""
        params = {"run": run} if run is not None else None
        return self.call("GET", f"trio/api/tasks/{_q(name)}/outputs", params=params)["outputs"]

    def schedule(self, task: str, cron: str, timezone: str = "UTC", **policies: Any) -> dict[str, Any]:
        """Fire runs of ``task`` on ``cron`` (5 fields, or 6 with seconds last) in ``timezone``. ``policies``:
        overlap (skip | queue), catchup (skip | once), mode (rerun | new_task), paused. The schedule, with
        ``next_fire`` (epoch seconds)."""
        body = {"task": task, "cron": cron, "timezone": timezone, **policies}
        return self.call("POST", "trio/api/schedules", json=body)

    def schedules(self) -> list[dict[str, Any]]:
        return self.call("GET", "trio/api/schedules")["schedules"]

    def delete_schedule(self, schedule_id: str) -> None:
        self.call("DELETE", f"trio/api/schedules/{_q(schedule_id)}")

    def save_weights(self, training_run_id: str, name: str = "", epoch: int | None = None) -> dict[str, Any]:
        """Keep a run's weights (its best model, or ``epoch``'s) as a pretrained model listed by
        ``list_weights``; later runs can start from it with ``params={"pretrain_weights":
        "weights/<id>"}``."""
        return self.call(
            "POST",
            "trio/api/models",
            json={"kind": "pretrained", "task_id": training_run_id, "name": name, "epoch": epoch},
        )

    def create_sampling_client(self, path: str) -> SamplingClient:
        """A sampler for a checkpoint path (``trio://<run>/weights/<id>`` or ``.../sampler_weights/<id>``) or
        a
        kept model id (``PM0001``)."""
        info = self._rest.request("POST", "samplers", json={"path": path, "session_id": self.session_id})
        return SamplingClient(self._rest, info)

    def close(self) -> None:
        self._rest.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
