"""Finding the Jupyter server from inside one of its kernels.

In order: explicit arguments; ``TRIO_SERVER_URL`` / ``TRIO_TOKEN`` (what the runner gives a job: a job
looks no further); JupyterHub's single-user environment
(``JUPYTERHUB_SERVICE_URL`` + ``JUPYTERHUB_API_TOKEN``); the running servers' runtime files
(``jpserver-<pid>.json``), taking the one whose process started this kernel (a parent of this process).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ServerNotFoundError


@dataclass(frozen=True)
class ServerLocation:
    base_url: str  # ends with "/": the server's root, base_url included
    token: str
    source: str  # how it was found: "arguments", "environment", "jupyterhub", "runtime file <path>"


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _local(url: str) -> str:
    """JupyterHub's spawner writes its bind URL: ``http://:8888/user/x/`` or ``http://0.0.0.0:...`` when the
    server listens on every interface; a kernel on the same machine reaches it on the loopback."""
    parts = urlsplit(url)
    if parts.hostname in (None, "", "0.0.0.0", "::"):
        return parts._replace(netloc=f"127.0.0.1:{parts.port}" if parts.port else "127.0.0.1").geturl()
    return url


def _ancestors() -> list[int]:
    """This process's parent, grandparent... (kernels may sit under a launcher or a shell)."""
    try:
        import psutil

        return [p.pid for p in psutil.Process().parents()]
    except Exception:  # psutil missing or the process table unreadable: the parent is enough
        return [os.getppid()]


def _running_servers(runtime_dir: str | None) -> list[dict]:
    from jupyter_server.serverapp import list_running_servers

    return list(list_running_servers(runtime_dir))


def find_server(
    base_url: str | None = None, token: str | None = None, *, runtime_dir: str | None = None
) -> ServerLocation:
    if base_url:
        return ServerLocation(_slash(base_url), token or os.environ.get("TRIO_TOKEN", ""), "arguments")
    if os.environ.get("TRIO_SERVER_URL"):
        return ServerLocation(
            _slash(os.environ["TRIO_SERVER_URL"]), token or os.environ.get("TRIO_TOKEN", ""), "environment"
        )
    if os.environ.get("TRIO_RUN_DIR"):
        # inside a job: its server and run token come with it (TRIO_SERVER_URL, TRIO_TOKEN); never fall back
        # to a running server's runtime file, which holds that server's own token
        raise ServerNotFoundError(
            "this job was not given its server's URL (TRIO_SERVER_URL); pass ServiceClient(base_url=..., "
            "token=...)"
        )
    if os.environ.get("JUPYTERHUB_SERVICE_URL") and os.environ.get("JUPYTERHUB_API_TOKEN"):
        return ServerLocation(
            _slash(_local(os.environ["JUPYTERHUB_SERVICE_URL"])),
            token or os.environ["JUPYTERHUB_API_TOKEN"],
            "jupyterhub",
        )
    servers = _running_servers(runtime_dir)
    by_pid = {int(info.get("pid", -1)): info for info in servers}
    for pid in _ancestors():
        if pid in by_pid:
            info = by_pid[pid]
            return ServerLocation(
                _slash(info["url"]), token or info.get("token", ""), f"runtime file of pid {pid}"
            )
    if len(servers) == 1:
        info = servers[0]
        return ServerLocation(_slash(info["url"]), token or info.get("token", ""), "the only running server")
    listed = ", ".join(s.get("url", "?") for s in servers) or "none"
    raise ServerNotFoundError(
        "no Jupyter server found for this process (running servers: "
        f"{listed}); pass ServiceClient(base_url=..., token=...) or set TRIO_SERVER_URL and TRIO_TOKEN"
    )


def kernel_id() -> str:
    """The id of the kernel this code runs in, from its connection file name ('' outside a kernel)."""
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:
        return ""
    match = re.match(r"kernel-(.+)\.json$", name)
    return match.group(1) if match else ""


def notebook_path() -> str:
    """The notebook of this kernel when the server said (jupyter_server sets ``JPY_SESSION_NAME``)."""
    return os.environ.get("JPY_SESSION_NAME", "")
