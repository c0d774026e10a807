"""``jupyter trio check [WORKSPACE] [--repair]``: verify a workspace's store against its folders."""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_core.application import JupyterApp
from traitlets import Bool, Unicode

from .services.workspace_check import check_workspace


class TrioCheckApp(JupyterApp):
    """Check (and with --repair, mend) a jupyter-trio workspace; exits 1 while problems remain."""

    name = "jupyter-trio-check"
    description = __doc__
    workspace = Unicode(".trio", config=True, help="the workspace folder (the one that holds trio.db)")
    repair = Bool(False, config=True, help="repair what can be repaired")
    flags = {"repair": ({"TrioCheckApp": {"repair": True}}, "repair what can be repaired")}
    aliases = {"workspace": "TrioCheckApp.workspace"}

    def start(self) -> None:
        folder = Path(self.extra_args[0] if self.extra_args else self.workspace).expanduser().absolute()
        if not folder.is_dir():
            print(f"no workspace at {folder}", file=sys.stderr)
            self.exit(2)
        report = check_workspace(folder, repair=self.repair)
        for line in report.lines():
            print(line)
        self.exit(0 if report.ok else 1)
