"""The server's words (task states and kinds, dataset states and types) in the user's language.

One literal ``_p`` per value, with the sidebar's contexts and msgids (``statusLabel``, ``kindLabel``,
``datasetStatusLabel``, ``datasetTypeLabel`` in labextension/src/labels.ts), so the catalog holds each once.
An unknown value shows as it is.
"""

from __future__ import annotations

from .i18n import Translator


def task_state(trans: Translator, status: str) -> str:
    """A task's state (``running``...) as the sidebar shows it."""
    match status:
        case "pending":
            return trans._p("task state", "pending")
        case "queued":
            return trans._p("task state", "queued")
        case "running":
            return trans._p("task state", "running")
        case "completed":
            return trans._p("task state", "completed")
        case "failed":
            return trans._p("task state", "failed")
        case "cancelled":
            return trans._p("task state", "cancelled")
        case "interrupted":
            return trans._p("task state", "interrupted")
        case "pruned":
            return trans._p("task state", "pruned")
        case "deleted":
            return trans._p("task state", "deleted")
    return status


def task_kind(trans: Translator, kind: str) -> str:
    """A task's kind (``train``, ``script``...) as the sidebar shows it."""
    match kind:
        case "script":
            return trans._p("task kind", "script")
        case "shell":
            return trans._p("task kind", "shell")
        case "notebook":
            return trans._p("task kind", "notebook")
        case "train":
            return trans._p("task kind", "train")
        case "prune":
            return trans._p("task kind", "prune")
        case "analysis":
            return trans._p("task kind", "analysis")
        case "evaluate":
            return trans._p("task kind", "evaluate")
        case "predict":
            return trans._p("task kind", "predict")
        case "export":
            return trans._p("task kind", "export")
    return kind


def dataset_state(trans: Translator, status: str) -> str:
    """A dataset's state (``checking``, ``split``...) as the sidebar shows it."""
    match status:
        case "empty":
            return trans._p("dataset state", "empty")
        case "checking":
            return trans._p("dataset state", "checking")
        case "check_failed":
            return trans._p("dataset state", "check_failed")
        case "copying":
            return trans._p("dataset state", "copying")
        case "copy_failed":
            return trans._p("dataset state", "copy_failed")
        case "imported":
            return trans._p("dataset state", "imported")
        case "split":
            return trans._p("dataset state", "split")
    return status


def dataset_type(trans: Translator, kind: str) -> str:
    """A dataset's type (``classification``...) as the sidebar shows it."""
    match kind:
        case "classification":
            return trans._p("dataset type", "classification")
        case "detection":
            return trans._p("dataset type", "detection")
        case "segmentation":
            return trans._p("dataset type", "segmentation")
        case "instance_segmentation":
            return trans._p("dataset type", "instance_segmentation")
        case "remote_segmentation":
            return trans._p("dataset type", "remote_segmentation")
    return kind


def trial_state(trans: Translator, state: str) -> str:
    """A trial's state as Optuna records it (``running``, ``complete``, ``pruned``, ``fail``)."""
    match state:
        case "running":
            return trans._p("trial state", "running")
        case "complete":
            return trans._p("trial state", "complete")
        case "pruned":
            return trans._p("trial state", "pruned")
        case "fail":
            return trans._p("trial state", "fail")
    return state


def sweep_state(trans: Translator, state: str) -> str:
    """A sweep's state (``running``, ``paused``, ``completed``, ``stopped``, ``failed``)."""
    match state:
        case "running":
            return trans._p("sweep state", "running")
        case "paused":
            return trans._p("sweep state", "paused")
        case "completed":
            return trans._p("sweep state", "completed")
        case "stopped":
            return trans._p("sweep state", "stopped")
        case "failed":
            return trans._p("sweep state", "failed")
    return state


def refusal(trans: Translator, status: int | None) -> str:
    """Why the server refused, from the reply's HTTP status, as the sidebar words it (``refusalLabel``);
    the server's own message stays English beside it."""
    match status:
        case 400 | 422:
            return trans.__("the request was not valid")
        case 401 | 403:
            return trans.__("not allowed")
        case 404:
            return trans.__("not found")
        case 409:
            return trans.__("not possible in its current state")
        case 413:
            return trans.__("too large")
        case 429:
            return trans.__("too many requests; try again shortly")
        case 503:
            return trans.__("the server is unavailable")
        case 507:
            return trans.__("the server’s disk is full")
    if status is not None and status >= 500:
        return trans.__("the server failed")
    return trans.__("the request failed")
