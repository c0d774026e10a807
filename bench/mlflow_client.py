"""compare_bench.py's MLflow side, run by the MLflow venv's python (bench/.mlflow-venv) so that MLflow's
dependencies never meet jupyter-trio's. Each command prints JSON lines on stdout.

    python mlflow_client.py init    URI                                  # {"experiment_id"}
    python mlflow_client.py fill    URI EXPERIMENT RUNS_JSON START STOP  # {"runs", "seconds"}
    python mlflow_client.py bulk    URI EXPERIMENT RUNS_JSON START STOP  # {"runs", "seconds"}
    python mlflow_client.py session URI EXPERIMENT FILTER ORDER_BY       # "client"|"rest" -> {"ms", "names"}

``fill`` logs runs[START:STOP] of RUNS_JSON (compare_bench.py writes it): per run ``create_run``, one
``log_batch`` (its parameters as strings, each metric's last point) and ``set_terminated``. ``bulk`` writes
the rows those calls write (``runs``, its ``mlflow.runName`` tag, ``params``, ``metrics``,
``latest_metrics``) through MLflow's own SQLAlchemy models, in one transaction: the same database, without
three transactions of MLflow's ORM a run (URI: a ``sqlite:///`` backend store, no server).
"""

from __future__ import annotations

import json
import sys
import time

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

EXPERIMENT = "compare-bench"


def init(uri: str) -> dict:
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(EXPERIMENT)
    return {"experiment_id": found.experiment_id if found else client.create_experiment(EXPERIMENT)}


def fill(uri: str, experiment: str, runs_json: str, start: int, stop: int) -> dict:
    client = MlflowClient(uri)
    with open(runs_json) as fh:
        runs = json.load(fh)[start:stop]
    began = time.perf_counter()
    for run in runs:
        run_id = client.create_run(experiment, start_time=run["start_ms"], run_name=run["name"]).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(key, value, ts, step) for key, (value, step, ts) in run["metrics"].items()],
            params=[Param(key, str(value)) for key, value in run["params"].items()],
        )
        client.set_terminated(run_id, run["status"], end_time=run["end_ms"])
    return {"runs": len(runs), "seconds": time.perf_counter() - began}


def bulk(uri: str, experiment: str, runs_json: str, start: int, stop: int) -> dict:
    import uuid

    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME
    from mlflow.utils.uri import append_to_uri_path

    with open(runs_json) as fh:
        runs = json.load(fh)[start:stop]
    began = time.perf_counter()
    store = SqlAlchemyStore(uri, "./mlruns")
    location = store.get_experiment(experiment).artifact_location
    rows: dict = {SqlRun: [], SqlTag: [], SqlParam: [], SqlMetric: [], SqlLatestMetric: []}
    for run in runs:
        run_id = uuid.uuid4().hex
        rows[SqlRun].append(
            {
                "run_uuid": run_id,
                "name": run["name"],
                "source_type": "UNKNOWN",
                "source_name": "",
                "entry_point_name": "",
                "user_id": "unknown",
                "status": run["status"],
                "start_time": run["start_ms"],
                "end_time": run["end_ms"],
                "deleted_time": None,
                "source_version": "",
                "lifecycle_stage": "active",
                "artifact_uri": append_to_uri_path(location, run_id, "artifacts"),
                "experiment_id": int(experiment),
            }
        )
        rows[SqlTag].append({"key": MLFLOW_RUN_NAME, "value": run["name"], "run_uuid": run_id})
        rows[SqlParam] += [{"key": k, "value": str(v), "run_uuid": run_id} for k, v in run["params"].items()]
        for key, (value, step, ts) in run["metrics"].items():
            point = {
                "key": key,
                "value": value,
                "timestamp": ts,
                "step": step,
                "is_nan": False,
                "run_uuid": run_id,
            }
            rows[SqlMetric].append(point)
            rows[SqlLatestMetric].append(point)
    with store.engine.begin() as conn:
        for model, values in rows.items():
            if values:
                conn.execute(model.__table__.insert(), values)
    return {"runs": len(runs), "seconds": time.perf_counter() - began}


def session(uri: str, experiment: str, filter_string: str, order_by: str) -> None:
    """One search a line read from stdin (``client``: ``MlflowClient.search_runs``; ``rest``: the same
    search as one REST call, its JSON parsed, no client entities: the server's part), answered with a JSON
    line: its milliseconds and the runs' names. compare_bench.py interleaves them with its own queries."""
    import requests

    client = MlflowClient(uri)
    body = {
        "experiment_ids": [experiment],
        "filter": filter_string,
        "order_by": [order_by],
        "max_results": 50,
    }
    with requests.Session() as http:
        for line in sys.stdin:
            how = line.strip()
            if how == "quit":
                break
            began = time.perf_counter()
            if how == "client":
                page = client.search_runs(
                    [experiment], filter_string=filter_string, order_by=[order_by], max_results=50
                )
                names = [run.info.run_name for run in page]
            else:
                reply = http.post(f"{uri}/api/2.0/mlflow/runs/search", json=body)
                assert reply.status_code == 200, reply.text[:300]
                names = [run["info"]["run_name"] for run in reply.json().get("runs", [])]
            elapsed = (time.perf_counter() - began) * 1000
            print(json.dumps({"ms": elapsed, "names": names}), flush=True)


def main() -> None:
    command, uri, *rest = sys.argv[1:]
    if command == "init":
        out = init(uri)
    elif command == "fill":
        out = fill(uri, rest[0], rest[1], int(rest[2]), int(rest[3]))
    elif command == "bulk":
        out = bulk(uri, rest[0], rest[1], int(rest[2]), int(rest[3]))
    elif command == "session":
        session(uri, rest[0], rest[1], rest[2])
        return
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
