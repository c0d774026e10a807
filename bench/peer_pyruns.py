"""The peer for runner_bench.py: pyruns 0.3.17's web UI server, driven through its own web API.

pyruns is installed into bench/.peer-venv (its own environment: it pins libraries of its own) the
first time this runs. It needs PyPI; nothing else of it is kept in the repository.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tornado.httpclient import HTTPRequest

PEER_VENV = Path(__file__).parent / ".peer-venv"
PEER_VERSION = "0.3.17"


def ensure_peer() -> Path:
    pyr = PEER_VENV / "bin" / "pyr"
    if not pyr.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(PEER_VENV / "bin" / "pip"), "install", "-q", f"pyruns=={PEER_VERSION}"], check=True
        )
    return pyr


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PyrunsServer:
    """``pyr ui SCRIPT --config CONFIG`` on a free port, with a logged-in httpx client."""

    def __init__(self, root: Path, script: str, script_source: str, config_text: str):
        self.root = root
        (root / script).write_text(script_source)
        (root / "config.yaml").write_text(config_text)
        self.port = free_port()
        log = root / "ui.log"
        self.proc = subprocess.Popen(
            [
                str(ensure_peer()),
                "ui",
                script,
                "--config",
                "config.yaml",
                "--no-browser",
                "--port",
                str(self.port),
            ],
            cwd=root,
            stdout=open(log, "wb"),  # noqa: SIM115 - the child process holds it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", follow_redirects=True, timeout=600)
        deadline = time.monotonic() + 60
        while True:
            match = re.search(r"token=(\S+)", log.read_text())
            if match:
                try:
                    if self.http.get(f"/?token={match.group(1)}").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(log.read_text()[-2000:])
            time.sleep(0.2)
        self.cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        self.script_root = root / "_pyruns_" / Path(script).stem

    def wait(self, name: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.http.get(f"/api/tasks/{name}").json()
            if task["status"] in ("completed", "failed", "cancelled", "interrupted", "error"):
                return task
            time.sleep(0.02)
        raise RuntimeError(f"{name} did not finish")

    def create(self, **body) -> list[dict]:
        reply = self.http.post("/api/generator/create", json={"append_timestamp": False, **body})
        assert reply.status_code == 200, reply.text[:500]
        return reply.json()["items"]

    def open_script_workspace(self) -> None:
        self.http.post("/api/workspace/run-root", json={"path": str(self.script_root)})

    def run_and_log(self, name: str) -> str:
        self.http.post(f"/api/tasks/{name}/run")
        task = self.wait(name)
        content = self.http.get(f"/api/tasks/{name}/logs").json()["content"]
        if task["status"] != "completed":
            raise RuntimeError(f"pyruns task {name} {task['status']}: {content[-1500:]}")
        return content

    def close(self) -> None:
        self.http.close()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


class PyrunsTarget(PyrunsServer):
    name = "pyruns"

    def __init__(self, root: Path, line_writer: str, launches: int, repeats: int, batch: int):
        from runner_bench import summary

        self.summary = summary
        self.launches, self.repeats, self.batch = launches, repeats, batch
        # pyruns refuses scripts that neither use argparse nor pyruns.load(); give it the same loop.
        super().__init__(
            root, "lines.py", "import pyruns\npyruns.read()\ncfg = pyruns.load()\n" + line_writer, "a: 1\n"
        )

    def launch_overhead(self) -> list[float]:
        self.http.post("/api/workspace/shell")
        out = []
        for i in range(self.launches):
            name = self.create(name_prefix=f"launch{i}", mode="shell", shell_text="echo $EPOCHREALTIME")[0][
                "name"
            ]
            sent = time.time()
            self.http.post(f"/api/tasks/{name}/run")
            self.wait(name)
            content = self.http.get(f"/api/tasks/{name}/logs").json()["content"]
            stamp = next(float(x) for x in content.split() if re.fullmatch(r"\d+\.\d+", x))
            out.append((stamp - sent) * 1000)
        return out

    def log_latency(self) -> list[float]:
        from runner_bench import _ws_latencies

        self.open_script_workspace()
        name = self.create(name_prefix="lat", mode="form", yaml_text="a: 1")[0]["name"]
        self.http.post(f"/api/tasks/{name}/run")
        url = f"ws://127.0.0.1:{self.port}/api/tasks/{name}/logs/stream"
        request = HTTPRequest(url, headers={"Cookie": self.cookie, "Origin": f"http://127.0.0.1:{self.port}"})
        return asyncio.run(_ws_latencies(request, lambda m: m.get("type") in ("status", "done", "exit")))

    def create_batch(self) -> float:
        self.open_script_workspace()
        values = " | ".join(str(i) for i in range(1, 101))
        started = time.perf_counter()
        items = self.create(name_prefix="bulk", mode="form", yaml_text=f"a: {values}\nb: {values}\n")
        assert len(items) == self.batch, len(items)
        return (time.perf_counter() - started) * 1000

    def list_queries(self) -> dict[str, dict]:
        queries = {
            "page of 50": {"limit": 50},
            "status filter": {"status": "completed", "limit": 50},
            "sort by name": {"sort": "name_asc", "limit": 50},
            "offset 9000": {"offset": 9000, "limit": 50},
        }
        out = {}
        for label, params in queries.items():
            self.http.get("/api/tasks", params=params)
            times = []
            for _ in range(self.repeats):
                started = time.perf_counter()
                reply = self.http.get("/api/tasks", params=params)
                times.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200, reply.text[:300]
            out[label] = self.summary(times)
        return out
