"""A notebook job, in its job process: ``python -m jupyter_trio.runner.notebook_job``.

Runs in the job (started by the shim like any task; the server never imports this module). Papermill
injects the task's parameters after the cell tagged ``parameters`` and executes the notebook cell by cell
in a kernel (nbclient) that inherits this job's environment, so ``trio.track()``/``record()`` in a cell
land in the run, and its GPUs are the run's. What the job adds around papermill:

- each cell's stdout/stderr is relayed as it arrives (papermill's ``stdout_file``/``stderr_file``), so the
  run's log is live;
- the cell running is recorded (``cell``, ``cells``, ``progress``, ``stage``) as it starts: the server's
  progress events and the sidebar read it;
- the executed notebook is saved as each cell starts (papermill) and kept in ``outputs/`` also when a cell
  fails, with an HTML export beside it (nbconvert);
- a failure ends the job with one last stderr line naming the cell (the run's message): its number, its
  first line, the exception; a kernel that dies says so.

Set by the runner: ``TRIO_NOTEBOOK`` (the notebook), ``TRIO_KERNEL`` (empty: the notebook's kernelspec),
``TRIO_CONFIG`` (the parameters), ``TRIO_OUTPUT_DIR`` (where the outputs go; a cell may write there too).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROGRESS_RECORD = ("cell", "cells", "progress", "stage")


class CellProgress:
    """Counts the code cells as papermill starts them and records where the run is."""

    def __init__(self) -> None:
        self.code: list[int] = []  # notebook indices of the code cells (the injected parameters among them)
        self.current: int | None = None  # the notebook index of the cell running
        self.first_line = ""

    def start(self, cells: list[Any]) -> None:
        """The notebook as papermill runs it: parameters injected, so indices are the executed ones."""
        self.code = [i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"]

    @property
    def number(self) -> int:
        """1-based position of the running cell among the code cells (0 before the first)."""
        return self.code.index(self.current) + 1 if self.current in self.code else 0

    def started(self, cell: Any, index: int) -> None:
        if cell.get("cell_type") != "code":
            return
        self.current = index
        self.first_line = first_line(cell.get("source", ""))
        total = len(self.code)
        from jupyter_trio.tracking import record

        record(
            cell=self.number,
            cells=total,
            progress=round((self.number - 1) / max(1, total), 4),
            stage=f"cell {self.number}/{total}: {self.first_line}",
            flush=True,
        )

    def where(self) -> str:
        return f"cell {self.number} of {len(self.code)}" + (
            f" ({self.first_line})" if self.first_line else ""
        )


def first_line(source: str | list[str]) -> str:
    text = "".join(source) if isinstance(source, list) else source
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def _engine(progress: CellProgress) -> type:
    from papermill.engines import NBClientEngine

    class TrioEngine(NBClientEngine):
        """Papermill's nbclient engine, telling ``progress`` as each cell starts."""

        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            progress.start(nb_man.nb.cells)
            cell_start = nb_man.cell_start

            def started(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
                if cell_index is not None:
                    progress.started(cell, cell_index)
                return cell_start(cell, cell_index, **kw)

            nb_man.cell_start = started
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return TrioEngine


class HTMLExport:
    """nbconvert's HTML exporter, made on a thread while the kernel starts and the cells run: importing
    nbconvert and loading its template cost about a second, which the job would otherwise add after the
    last cell."""

    def __init__(self) -> None:
        self._exporter: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._make, name="trio-html-exporter", daemon=True)
        self._thread.start()

    def _make(self) -> None:
        try:
            from nbconvert import HTMLExporter

            exporter = HTMLExporter(template_name="lab")
            exporter.from_notebook_node(_empty_notebook())  # loads the template and its filters
            self._exporter = exporter
        except BaseException as exc:  # reported when the export is asked for
            self._error = exc

    def exporter(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._exporter


def _empty_notebook() -> Any:
    import nbformat

    return nbformat.v4.new_notebook()


def export_html(notebook: Path, export: HTMLExport | None = None) -> Path | None:
    """The executed notebook as HTML beside it (nbconvert's lab template); None when it cannot be made."""
    try:
        import nbformat

        exporter = (export or HTMLExport()).exporter()
        body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    except Exception as exc:  # an export failure must not hide how the notebook ended
        print(f"[jupyter-trio] no HTML export: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return None
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def run(notebook: Path, output_dir: Path, parameters: dict[str, Any], kernel: str, cwd: str) -> int:
    import papermill
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError

    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / notebook.name
    progress = CellProgress()
    papermill_engines.register("trio", _engine(progress))
    export = HTMLExport()  # made while the kernel starts and the cells run
    failure: str | None = None
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=parameters,
            engine_name="trio",
            kernel_name=kernel or None,
            progress_bar=False,
            stdout_file=sys.stdout,
            stderr_file=sys.stderr,
            cwd=cwd,
        )
    except PapermillExecutionError as exc:
        failure = f"{progress.where()} failed: {exc.ename}: {exc.evalue}"
    except Exception as exc:
        if type(exc).__name__ == "DeadKernelError":
            failure = f"kernel died in {progress.where()}"
        elif type(exc).__name__ == "NoSuchKernel":
            failure = f"no such kernel: {kernel or exc}"
        elif progress.current is None:
            failure = f"the notebook could not start: {type(exc).__name__}: {exc}"
        else:
            failure = f"{progress.where()} failed: {type(exc).__name__}: {exc}"
    if executed.is_file():
        export_html(executed, export)
    if failure:
        print(failure, file=sys.stderr, flush=True)
        return 1
    from jupyter_trio.tracking import record

    record(cell=len(progress.code), cells=len(progress.code), progress=1.0, stage="done", flush=True)
    return 0


def skip_iri_checker() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` (its IRI format checker, pulled in by jupyter-events'
    ``jsonschema[format-nongpl]``), which builds ~35 Lark parsers at import: a second of every notebook
    job's start (nbformat imports jsonschema; python-jsonschema/jsonschema#1428, papermill's case). No
    notebook schema has an ``iri`` format; jsonschema skips a checker whose library does not import."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main() -> int:
    skip_iri_checker()

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # papermill's kernel manager shuts the kernel down on the way out

    signal.signal(signal.SIGTERM, stop)
    from jupyter_trio.tracking import config

    notebook = Path(os.environ["TRIO_NOTEBOOK"])
    output_dir = Path(os.environ.get("TRIO_OUTPUT_DIR") or Path(os.environ["TRIO_RUN_DIR"]) / "outputs")
    parameters = dict(config.read().to_dict()) if os.environ.get("TRIO_CONFIG") else {}
    started = time.time()
    code = run(notebook, output_dir, parameters, os.environ.get("TRIO_KERNEL", ""), os.getcwd())
    print(f"[jupyter-trio] notebook job ended in {time.time() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
