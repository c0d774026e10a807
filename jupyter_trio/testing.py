"""Helpers for integration tests and benchmarks: a real Jupyter server with jupyter-trio in a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def wait_for(fn, timeout: float = 60.0, every: float = 0.2):
    """Call ``fn`` until it returns something true (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {fn}")
        time.sleep(every)


def chromium() -> str | None:
    """Debian's chromium for Playwright's ``executable_path`` (``TRIO_CHROMIUM`` overrides)."""
    import shutil

    return os.environ.get("TRIO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``jupyter server`` with jupyter-trio on ``root_dir``; ``client`` talks to it with the token."""

    def __init__(self, root_dir: Path, *extra: str, token: str = "test-token", base_url: str = "/"):
        self.root_dir = Path(root_dir)
        self.token = token
        self.base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.log = self.root_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url.rstrip('/')}"

    def start(self, timeout: float = 60.0, expect: int = 200) -> ServerProcess:
        """Start and wait until ``/trio/api/health`` answers ``expect`` (503: a workspace it cannot serve)."""
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={self.base_url}",
            *self.extra,
        ]
        if os.getuid() == 0:
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(
            cmd,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the server process holds it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if self.client().get("/trio/api/health").status_code == expect:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()  # never leave a half-started server behind
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"token {self.token}"}, timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def proxy_command() -> str | None:
    """configurable-http-proxy: ``./dev`` installs it from npm under ``$VENV/node``; else from PATH."""
    import shutil

    local = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


HUB_CONFIG = """
import sys
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.should_start = True
c.ConfigurableHTTPProxy.pid_file = "{root}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{root}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{root}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = False  # a stopped Hub leaves users' servers (and jobs) alone
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{root}/home/{{username}}"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = {args!r}
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "trio-test", "api_token": {admin_token!r}}}] + {services!r}
c.JupyterHub.load_roles = [
    {{"name": "trio-test", "services": ["trio-test"],
      "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users", "access:servers",
                 "read:services", "admin:groups", "shares"]}},
] + {roles!r}
{extra}
"""


class HubProcess:
    """A real JupyterHub on 127.0.0.1 (dummy authenticator, local process spawner, one home folder per
    user under ``root/home``), driven through its REST API with an admin service token."""

    def __init__(
        self,
        root: Path,
        *,
        server_args: list[str] | None = None,
        environment: dict[str, str] | None = None,
        services: list[dict] | None = None,
        roles: list[dict] | None = None,
        extra: str = "",
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port, self.hub_port, self.proxy_port = free_port(), free_port(), free_port()
        self.admin_token = os.urandom(16).hex()
        args = ["--TrioApp.gpus=none", "--TrioApp.poll_interval=0.05", *(server_args or [])]
        if os.getuid() == 0:
            args.append("--allow-root")
        env = {"JUPYTERHUB_ACTIVITY_INTERVAL": "5", **(environment or {})}
        proxy = proxy_command()
        if proxy is None:
            raise RuntimeError("configurable-http-proxy is not installed (./dev installs it from npm)")
        (self.root / "jupyterhub_config.py").write_text(
            HUB_CONFIG.format(
                port=self.port,
                hub_port=self.hub_port,
                proxy_port=self.proxy_port,
                proxy=proxy,
                root=self.root,
                args=args,
                environment=env,
                admin_token=self.admin_token,
                services=services or [],
                roles=roles or [],
                extra=extra,
            )
        )
        self.log = self.root / "jupyterhub.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> HubProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.root / "jupyterhub_config.py")],
            cwd=self.root,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the Hub process holds it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        with self.admin() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the Hub exited: {self.log.read_text()[-3000:]}")
                try:
                    if http.get("/hub/api/").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the Hub did not start: {self.log.read_text()[-3000:]}")

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"token {self.admin_token}"}, timeout=60
        )

    def token_for(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token of ``user`` (the user is created if needed)."""
        with self.admin() as http:
            if http.get(f"/hub/api/users/{user}").status_code == 404:
                http.post(f"/hub/api/users/{user}").raise_for_status()
            body = {"note": "trio tests"} | ({"scopes": scopes} if scopes is not None else {})
            reply = http.post(f"/hub/api/users/{user}/tokens", json=body)
            reply.raise_for_status()
            return reply.json()["token"]

    def start_server(self, user: str, timeout: float = 120.0) -> None:
        with self.admin() as http:
            if http.get(f"/hub/api/users/{user}").status_code == 404:
                http.post(f"/hub/api/users/{user}").raise_for_status()
            http.post(f"/hub/api/users/{user}/server")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                server = http.get(f"/hub/api/users/{user}").json().get("servers", {}).get("")
                if server and server.get("ready"):
                    return
                time.sleep(0.3)
        raise RuntimeError(f"{user}'s server did not start: {self.log.read_text()[-3000:]}")

    def stop_server(self, user: str, timeout: float = 60.0) -> None:
        with self.admin() as http:
            http.delete(f"/hub/api/users/{user}/server")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not http.get(f"/hub/api/users/{user}").json().get("servers"):
                    return
                time.sleep(0.3)
        raise RuntimeError(f"{user}'s server did not stop")

    def server_running(self, user: str) -> bool:
        with self.admin() as http:
            return bool(http.get(f"/hub/api/users/{user}").json().get("servers"))

    def client(self, user: str, token: str) -> httpx.Client:
        """Calls ``user``'s server through the Hub's proxy with ``token``."""
        return httpx.Client(
            base_url=f"{self.url}/user/{user}", headers={"Authorization": f"token {token}"}, timeout=60
        )

    def stop(self) -> None:
        """Stop every user's server (they run in sessions of their own and would outlive the Hub), then
        the Hub and its proxy."""
        if self.proc and self.proc.poll() is None:
            try:
                with self.admin() as http:
                    for user in http.get("/hub/api/users").json():
                        if user.get("servers"):
                            self.stop_server(user["name"])
            except (httpx.HTTPError, RuntimeError, ValueError):
                pass
            # its managed services (the GPU arbiter) run in sessions of their own: whichever outlives the
            # Hub's own shutdown is ended here, not left behind by the test
            import psutil

            try:
                services = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                services = []
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            for service in services:
                with contextlib.suppress(psutil.NoSuchProcess):
                    service.kill()

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


ARBITER_SCOPES = """
c.JupyterHub.custom_scopes = {
    "custom:trio-gpus:request": {"description": "ask jupyter-trio's GPU arbiter for GPUs"},
    "custom:trio-gpus:admin": {"description": "see every GPU lease, revoke them"},
    "custom:trio-schedules": {"description": "jupyter-trio keeps my schedules, starts my server for them"},
}
c.Spawner.server_token_scopes = [
    "users:activity!user", "access:servers!server",
    "custom:trio-gpus:request", "read:services!service=trio-gpus", "custom:trio-schedules",
]
"""


def arbiter_hub(
    root: Path,
    arbiter_args: list[str],
    server_args: list[str] = (),
    admin: str = "boss",
    service_scopes: list[str] = (),
) -> HubProcess:
    """A Hub whose users' servers lease GPUs (``--TrioApp.gpu_source=hub``) from the arbiter service,
    ``python -m jupyter_trio.hub`` with ``arbiter_args``; every user may ask, ``admin`` sees every lease.
    ``service_scopes``: the service's own Hub scopes (``servers!user=alice``: it may start her server)."""
    root = Path(root)
    service = {
        "name": "trio-gpus",
        "url": f"http://127.0.0.1:{free_port()}",
        "command": [
            sys.executable,
            "-m",
            "jupyter_trio.hub",
            f"--TrioGPUArbiter.state_file={root / 'leases.sqlite'}",
            *arbiter_args,
        ],
    }
    roles = [
        {
            "name": "user",
            "scopes": [
                "self",
                "custom:trio-gpus:request",
                "read:services!service=trio-gpus",
                "custom:trio-schedules",
            ],
        },
        {"name": "trio-gpu-admin", "users": [admin], "scopes": ["custom:trio-gpus:admin"]},
    ]
    if service_scopes:
        roles.append({"name": "trio-service", "services": ["trio-gpus"], "scopes": list(service_scopes)})
    return HubProcess(
        root / "hub",
        server_args=["--TrioApp.gpu_source=hub", *server_args],
        services=[service],
        roles=roles,
        extra=ARBITER_SCOPES,
    )


class RayHead:
    """A real local Ray head (``ray start --head --block``) on 127.0.0.1 with ``num_cpus`` CPUs and free
    ports, in a temp dir of its own; ``stop`` ends it and everything it started (and no other Ray)."""

    def __init__(self, temp_dir: Path, num_cpus: int = 2, num_gpus: int = 0):
        self.temp_dir = Path(temp_dir)
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.dashboard_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.temp_dir / "ray-head.log"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def start(self, timeout: float = 120.0) -> RayHead:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        ray = str(Path(sys.executable).with_name("ray"))
        workers = free_port()
        cmd = [
            ray,
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={free_port()}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={free_port()}",
            f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            f"--min-worker-port={workers}",
            f"--max-worker-port={workers + 40}",
            f"--num-cpus={self.num_cpus}",
            f"--num-gpus={self.num_gpus}",
            f"--temp-dir={self.temp_dir / 'ray'}",
            "--include-dashboard=true",
            "--disable-usage-stats",
        ]
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        self.proc = subprocess.Popen(
            cmd,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the head process holds it
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=self.temp_dir,  # a job's driver starts there: not in a checkout it could import from
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray head exited: {self.log.read_text()[-3000:]}")
            try:
                from .runner.ray_executor import ray_auth_headers

                auth = ray_auth_headers()
                reply = httpx.get(f"{self.address}/api/version", timeout=2, headers=auth)
                nodes = httpx.get(f"{self.address}/api/v0/nodes", timeout=2, headers=auth)
                if reply.status_code == nodes.status_code == 200 and nodes.json()["data"]["result"]["result"]:
                    return self
            except (httpx.TransportError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"ray head did not start: {self.log.read_text()[-3000:]}")

    def jobs(self):
        from ray.job_submission import JobSubmissionClient

        from .runner.ray_executor import ray_auth_headers

        return JobSubmissionClient(self.address, headers=ray_auth_headers() or None)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # --block: the head stops every process it started
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> RayHead:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class FakeHubAuth:
    """Stands in for the arbiter's ``HubAuth`` in in-process tests: ``tokens`` maps a token to the user
    model the Hub would return (``{"name": ..., "scopes": [...]}``)."""

    def __init__(self, tokens: dict[str, dict]):
        self.tokens = tokens

    async def user_for_token(self, token: str, sync: bool = True):
        return self.tokens.get(token)


def arbiter_in_process(state_file: Path, args: list[str] = (), tokens: dict[str, dict] | None = None):
    """The GPU arbiter (``jupyter_trio.hub.arbiter.TrioGPUArbiter``) initialised in this process with
    ``args`` and a :class:`FakeHubAuth`; serve it with ``arbiter.make_app().listen(...)`` on the test's
    event loop."""
    from .hub.arbiter import TrioGPUArbiter

    arbiter = TrioGPUArbiter()
    arbiter.initialize([f"--TrioGPUArbiter.state_file={state_file}", "--TrioGPUArbiter.gpus=0,1", *args])
    arbiter.hub_auth = FakeHubAuth(tokens or {})
    return arbiter


@contextlib.asynccontextmanager
async def serve_arbiter(arbiter, **listen):
    """Serve an in-process arbiter (``arbiter_in_process``) on a free port of 127.0.0.1; yields an
    ``httpx.AsyncClient`` on its API, and stops the server and closes its store after."""
    port = free_port()
    server = arbiter.make_app().listen(port, "127.0.0.1", **listen)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/services/trio-gpus/api/") as http:
            yield http
    finally:
        server.stop()
        arbiter.store.close()
