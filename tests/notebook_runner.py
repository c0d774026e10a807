"""Execute a notebook from notebooks/ in a kernel that the live test server starts for it (as JupyterLab
does when the notebook is opened), and read back the ``summary`` dict its last cell builds."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


async def execute_in_server_kernel(
    serverapp, root_dir: Path, name: str, subdir: str = "notebooks", timeout: int = 600
) -> tuple[dict, dict, nbformat.NotebookNode]:
    """Returns (summary, the server's session model, the executed notebook)."""
    folder = root_dir / subdir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes((NOTEBOOKS / name).read_bytes())
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import json; print(json.dumps(summary, default=str))"))
    path = f"{subdir}/{name}" if subdir else name
    sessions = serverapp.session_manager
    model = await sessions.create_session(path=path, kernel_name="python3", type="notebook", name=name)
    kernel = serverapp.kernel_manager.get_kernel(model["kernel"]["id"])
    try:
        client = NotebookClient(nb, km=kernel, timeout=timeout, resources={"metadata": {"path": str(folder)}})
        await client.async_execute()
    finally:
        await sessions.delete_session(model["id"])
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(out), model, nb
