"""The environment a job starts from: the server's, without the server's credentials.

A job runs whatever code its user wrote, and its environment is readable by every process of the job;
the server's token (``JUPYTER_TOKEN``), a Hub user server's API token (``JUPYTERHUB_API_TOKEN``,
``JPY_API_TOKEN``) or the Hub's own secrets there would let that code act as the whole server. A job gets
its own, narrower credential instead (``TRIO_TOKEN``, a run token: ``services/run_tokens.py``), set by
the runner.

Dropped: the variables named below, and any other variable whose value holds one of their values (a copy
under another name, e.g. ``export MY_TOKEN=$JUPYTER_TOKEN`` before starting the server, or a URL with it),
or a value in ``also`` (the server's configured token, which need not come from the environment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SERVER_CREDENTIALS = (
    "JUPYTER_TOKEN",
    "JUPYTER_PASSWORD",
    "JUPYTERHUB_API_TOKEN",
    "JPY_API_TOKEN",
    "JUPYTERHUB_CRYPT_KEY",
    "JPY_COOKIE_SECRET",
    "JUPYTERHUB_COOKIE_SECRET",
    "CONFIGPROXY_AUTH_TOKEN",
    "TRIO_TOKEN",  # a server started from inside a job: that job's token is not this server's jobs'
    "TRIO_INGEST_TOKEN",
)


MIN_SECRET_CHARS = 16  # shorter values ("1", "yes") are not looked for in other variables: they would drop
# harmless ones (OMP_NUM_THREADS=1 beside a test token "1")


def job_environ(environ: Mapping[str, str], also: Iterable[str] = ()) -> dict[str, str]:
    """``environ`` without the server's credentials (see the module's docstring): the named variables, and
    any variable whose value holds one of their values (a copy, a URL with ``?token=...``)."""
    secrets = {environ[name] for name in SERVER_CREDENTIALS if environ.get(name)}
    secrets.update(value for value in also if value)
    secrets = {value for value in secrets if len(value) >= MIN_SECRET_CHARS}
    return {
        name: value
        for name, value in environ.items()
        if name not in SERVER_CREDENTIALS and not any(secret in value for secret in secrets)
    }
