"""The environment a job starts from: the server's, without the server's credentials.

A job runs whatever code its user wrote, and its environment is readable by every process of the job;
the server's token (``JUPYTER_TOKEN``), a Hub user server's API token (``JUPYTERHUB_API_TOKEN``,
``JPY_API_TOKEN``) or the Hub's own secrets there would let that code act as the whole server. A job gets
its own, narrower credential instead (``TRIO_TOKEN``, a run token: ``services/run_tokens.py``), set by
the runner.

Dropped: the variables named below, and any other variable holding the same value as one of them (a copy
under another name, e.g. ``export MY_TOKEN=$JUPYTER_TOKEN`` before starting the server), and any value in
``also`` (the server's configured token, which need not come from the environment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SERVER_CREDENTIALS = (
    "JUPYTER_TOKEN",
    "JUPYTER_PASSWORD",
    "JUPYTERHUB_API_TOKEN",
    "JPY_API_TOKEN",
    "JUPYTERHUB_CRYPT_KEY",
    "JUPYTERHUB_COOKIE_SECRET",
    "CONFIGPROXY_AUTH_TOKEN",
    "TRIO_TOKEN",  # a server started from inside a job: that job's token is not this server's jobs'
    "TRIO_INGEST_TOKEN",
)


def job_environ(environ: Mapping[str, str], also: Iterable[str] = ()) -> dict[str, str]:
    """``environ`` without the server's credentials (see the module's docstring)."""
    secrets = {environ[name] for name in SERVER_CREDENTIALS if environ.get(name)}
    secrets.update(value for value in also if value)
    return {
        name: value
        for name, value in environ.items()
        if name not in SERVER_CREDENTIALS and value not in secrets
    }
