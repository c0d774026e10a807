"""ipywidgets panels over a jupyter-trio server: datasets, tasks, metrics, logs, checkpoints, sweeps, runs
compared, and a dashboard.

Every panel can be built with no arguments in a kernel of the server (``ServiceClient()`` finds it) or be
handed a client; live updates run only while the panel is shown and stop when it is closed or its output
cleared.
"""

from .checkpoints import CheckpointPanel
from .compare import ComparePanel
from .dashboard import Dashboard, dashboard
from .datasets import DatasetPanel
from .logs import LogPanel
from .metrics import MetricsPanel
from .sweeps import SweepPanel
from .tasks import TaskPanel

__all__ = [
    "CheckpointPanel",
    "ComparePanel",
    "Dashboard",
    "DatasetPanel",
    "LogPanel",
    "MetricsPanel",
    "SweepPanel",
    "TaskPanel",
    "dashboard",
]
