"""The typed domain: entities (``entities.py``) and their states (``states.py``), at the bottom of the
import graph (the standard library only), shared by every process. See ARCHITECTURE.md, "The entity model".
"""

from .entities import (
    Checkpoint,
    Dataset,
    JSONObject,
    Project,
    Run,
    Sampler,
    ScheduledRun,
    ScriptWorkspace,
    Session,
    Task,
    TaskBrief,
    Weights,
    WeightsFacts,
)
from .queries import GeneratedBatch, GeneratedTask, NewTask, TaskQuery
from .states import (
    CheckpointKind,
    DatasetState,
    DemoState,
    ProjectType,
    RunState,
    SamplerState,
    TaskKind,
    TaskState,
    WeightsKind,
    WeightsState,
)

__all__ = [
    "Checkpoint",
    "CheckpointKind",
    "Dataset",
    "DatasetState",
    "DemoState",
    "GeneratedBatch",
    "GeneratedTask",
    "JSONObject",
    "NewTask",
    "Project",
    "ProjectType",
    "Run",
    "RunState",
    "Sampler",
    "SamplerState",
    "ScheduledRun",
    "ScriptWorkspace",
    "Session",
    "Task",
    "TaskBrief",
    "TaskKind",
    "TaskQuery",
    "TaskState",
    "Weights",
    "WeightsFacts",
    "WeightsKind",
    "WeightsState",
]
