"""The versioned schema of the workspace database.

``MIGRATIONS[i]`` takes a database from schema version ``i`` to ``i + 1``; the version lives in
``PRAGMA user_version``. Migrations only ever get appended: a store written by any older release
opens and is brought up to date on start, inside one transaction per step.

This is the one place where the domain model of ARCHITECTURE.md is written down as tables.
Statuses are stored by their native names (``"running"``, ``"split"``; see ``vocabulary.py``); the
PaddleX dialect maps them to PaddleX's integers at its edge.
"""

from __future__ import annotations

from .db import Database

_V1_INITIAL = """
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    last_seen_at  REAL NOT NULL
);

CREATE TABLE datasets (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    dataset_type  TEXT NOT NULL,
    status        TEXT NOT NULL,
    message       TEXT NOT NULL DEFAULT '',
    path          TEXT NOT NULL,
    source_path   TEXT NOT NULL DEFAULT '',
    attrs         TEXT NOT NULL DEFAULT '{}',
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);

CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    project_type  TEXT NOT NULL,
    dataset_id    TEXT REFERENCES datasets(id) ON DELETE SET NULL,
    path          TEXT NOT NULL,
    attrs         TEXT NOT NULL DEFAULT '{}',
    created_at    REAL NOT NULL
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    owner            TEXT NOT NULL,
    kernel_id        TEXT NOT NULL DEFAULT '',
    notebook_path    TEXT NOT NULL DEFAULT '',
    attrs            TEXT NOT NULL DEFAULT '{}',
    created_at       REAL NOT NULL,
    last_request_at  REAL NOT NULL
);

CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    owner         TEXT NOT NULL,
    status        TEXT NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    gpus          INTEGER NOT NULL DEFAULT 0,
    project_id    TEXT REFERENCES projects(id) ON DELETE CASCADE,
    parent_id     TEXT REFERENCES tasks(id) ON DELETE SET NULL,
    session_id    TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    path          TEXT NOT NULL,
    script_path   TEXT NOT NULL DEFAULT '',
    command       TEXT NOT NULL DEFAULT '',
    config        TEXT NOT NULL DEFAULT '{}',
    params        TEXT NOT NULL DEFAULT '{}',
    env           TEXT NOT NULL DEFAULT '{}',
    notes         TEXT NOT NULL DEFAULT '',
    pinned        INTEGER NOT NULL DEFAULT 0,
    last_run      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);

CREATE TABLE runs (
    task_id       TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    run_index     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    pid           INTEGER,
    exit_code     INTEGER,
    gpus          TEXT NOT NULL DEFAULT '[]',
    message       TEXT NOT NULL DEFAULT '',
    queued_at     REAL NOT NULL,
    started_at    REAL,
    ended_at      REAL,
    PRIMARY KEY (task_id, run_index)
);

CREATE TABLE checkpoints (
    id            TEXT NOT NULL,
    task_id       TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    run_index     INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('training', 'sampler')),
    epoch         INTEGER,
    path          TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL DEFAULT 0,
    metrics       TEXT NOT NULL DEFAULT '{}',
    created_at    REAL NOT NULL,
    PRIMARY KEY (task_id, id)
);

CREATE TABLE weights (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('pretrained', 'exported')),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    task_id       TEXT REFERENCES tasks(id) ON DELETE SET NULL,
    model_type    TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    path          TEXT NOT NULL,
    attrs         TEXT NOT NULL DEFAULT '{}',
    created_at    REAL NOT NULL
);

CREATE TABLE samplers (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    session_id    TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    source_path   TEXT NOT NULL,
    task_id       TEXT REFERENCES tasks(id) ON DELETE SET NULL,
    status        TEXT NOT NULL,
    created_at    REAL NOT NULL
);
"""

# v2: sequence counters for PaddleX-style ids (D0001, P0001, T0001, PM0001, EM0001) and the indexes
# the task list needs to stay fast with tens of thousands of tasks.
_V2_COUNTERS_AND_INDEXES = """
CREATE TABLE id_counters (
    prefix  TEXT PRIMARY KEY,
    last    INTEGER NOT NULL
);
CREATE INDEX tasks_by_status   ON tasks(status, created_at);
CREATE INDEX tasks_by_kind     ON tasks(kind, created_at);
CREATE INDEX tasks_by_created  ON tasks(created_at);
CREATE INDEX tasks_by_project  ON tasks(project_id);
CREATE INDEX runs_by_status    ON runs(status);
CREATE INDEX checkpoints_by_task ON checkpoints(task_id, created_at);
"""

# v3: the runner. Tasks belong to a script workspace (pyruns' run root); a cancel request is stored so
# the SIGKILL deadline survives a server restart; per-user settings (the current script workspace).
_V3_RUNNER = """
ALTER TABLE tasks ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN cancel_requested_at REAL;
CREATE INDEX tasks_by_workspace ON tasks(workspace, created_at);
CREATE INDEX tasks_by_pinned ON tasks(pinned, created_at);
CREATE TABLE settings (
    owner  TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);
"""

# v4: the RestClient dialect. Checkpoints are listed across runs by time; samplers keep what they were
# loaded from (model type, labels) in attrs; sessions and samplers are listed per owner.
_V4_CLIENT = """
ALTER TABLE samplers ADD COLUMN attrs TEXT NOT NULL DEFAULT '{}';
CREATE INDEX checkpoints_by_created ON checkpoints(created_at, task_id, id);
CREATE INDEX sessions_by_owner ON sessions(owner, created_at);
CREATE INDEX samplers_by_session ON samplers(session_id, created_at);
CREATE INDEX tasks_by_session ON tasks(session_id);
CREATE INDEX tasks_by_owner_kind ON tasks(owner, kind, created_at);
"""

# v5: one vocabulary. Dataset and weights statuses were stored under PaddleX's names (XSPLITED...);
# the core now speaks native names and only the PaddleX dialect knows PaddleX's.
_V5_NATIVE_STATES = """
UPDATE datasets SET status = CASE status WHEN 'XEMPTY' THEN 'empty' WHEN 'XCHECKING' THEN 'checking'
    WHEN 'XCHECKFAIL' THEN 'check_failed' WHEN 'XCOPYING' THEN 'copying' WHEN 'XCOPYFAIL' THEN 'copy_failed'
    WHEN 'XCOPYDONE' THEN 'imported' WHEN 'XSPLITED' THEN 'split' ELSE status END;
UPDATE weights SET status = CASE status WHEN 'XPSAVING' THEN 'saving' WHEN 'XPSAVEFAIL' THEN 'save_failed'
    WHEN 'XPSAVEDONE' THEN 'saved' WHEN 'XPINIT' THEN 'saving' ELSE status END
"""

# v6: who queued each run (on a server shared through JupyterHub, a guest may run the owner's tasks).
_V6_RUN_CREATORS = """
ALTER TABLE runs ADD COLUMN created_by TEXT NOT NULL DEFAULT ''
"""

# v7: runs.pid generalises to an executor handle: which executor started the run ('local', 'ray') and its
# own name for the job (the shim's pid for local runs, kept in pid too; the Ray submission id)
_V7_EXECUTOR_HANDLES = """
ALTER TABLE runs ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';
ALTER TABLE runs ADD COLUMN handle TEXT NOT NULL DEFAULT ''
"""

# v8: every list query fast at 100,000 tasks. Name search goes through an FTS5 trigram index of task names
# (substring match, case-insensitive: what instr(lower(name)) did, without a full scan); each sort column
# has an index whose order (column, rowid) is the list's order. The index follows the tasks table by
# rowid (external content, kept by triggers); `jupyter trio check` rebuilds it.
_V8_LIST_INDEXES = [
    "CREATE VIRTUAL TABLE tasks_fts USING fts5(name, content='tasks', content_rowid='rowid', "
    "tokenize='trigram')",
    "INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')",
    "CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN "
    "INSERT INTO tasks_fts(rowid, name) VALUES (new.rowid, new.name); END",
    "CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN "
    "INSERT INTO tasks_fts(tasks_fts, rowid, name) VALUES ('delete', old.rowid, old.name); END",
    "CREATE TRIGGER tasks_fts_rename AFTER UPDATE OF name ON tasks BEGIN "
    "INSERT INTO tasks_fts(tasks_fts, rowid, name) VALUES ('delete', old.rowid, old.name); "
    "INSERT INTO tasks_fts(rowid, name) VALUES (new.rowid, new.name); END",
    "CREATE INDEX tasks_by_updated ON tasks(updated_at)",
    "CREATE INDEX tasks_by_priority ON tasks(priority)",
    "CREATE INDEX tasks_by_last_run ON tasks(last_run)",
    "CREATE INDEX tasks_by_status_only ON tasks(status)",
    "CREATE INDEX tasks_by_kind_only ON tasks(kind)",
    "CREATE INDEX tasks_by_status_name ON tasks(status, name)",
]

# v9: sweeps. A sweep's study (trials, params, values) lives in Optuna's storage; here are the sweep, its
# state, and which task runs which trial (a trial's state and value mirrored for listing without Optuna).
_V9_SWEEPS = """
CREATE TABLE sweeps (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    owner         TEXT NOT NULL,
    state         TEXT NOT NULL,
    spec          TEXT NOT NULL,
    study_name    TEXT NOT NULL,
    message       TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE TABLE sweep_trials (
    sweep_id         TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    task_id          TEXT NOT NULL,
    state            TEXT NOT NULL,
    value            REAL,
    params           TEXT NOT NULL DEFAULT '{}',
    prune_requested  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sweep_id, number)
);
CREATE INDEX sweep_trials_by_task ON sweep_trials(task_id);
CREATE INDEX sweeps_by_state ON sweeps(state)
"""

# The run table's series summaries (issue 31): per run and series, the aggregates folded in as points
# arrive (store/run_series.py), how far each metrics file was read, and whether the run is summed up.
_V10_RUN_SERIES = """
CREATE TABLE run_series (
    task_id       TEXT NOT NULL,
    run_index     INTEGER NOT NULL,
    series        TEXT NOT NULL,
    count         INTEGER NOT NULL,
    last          REAL,
    last_step     INTEGER,
    last_time     REAL,
    min           REAL,
    max           REAL,
    PRIMARY KEY (task_id, run_index, series),
    FOREIGN KEY (task_id, run_index) REFERENCES runs(task_id, run_index) ON DELETE CASCADE
);
CREATE INDEX run_series_by_series ON run_series(series);
CREATE TABLE run_series_files (
    task_id       TEXT NOT NULL,
    run_index     INTEGER NOT NULL,
    file          TEXT NOT NULL,
    offset        INTEGER NOT NULL,
    PRIMARY KEY (task_id, run_index, file),
    FOREIGN KEY (task_id, run_index) REFERENCES runs(task_id, run_index) ON DELETE CASCADE
);
CREATE TABLE run_summaries (
    task_id       TEXT NOT NULL,
    run_index     INTEGER NOT NULL,
    final         INTEGER NOT NULL DEFAULT 0,
    summarized_at REAL NOT NULL,
    PRIMARY KEY (task_id, run_index),
    FOREIGN KEY (task_id, run_index) REFERENCES runs(task_id, run_index) ON DELETE CASCADE
)
"""

# Run-end notifications (issue 34): a task's own Apprise URLs, as JSON [{"url", "shown"}] ("shown": the URL
# with its secrets masked, what replies and logs carry).
_V11_TASK_NOTIFY = "ALTER TABLE tasks ADD COLUMN notify TEXT NOT NULL DEFAULT '[]'"

# Retries (issue 34): a task's budget of retries and what ends a run in one; a run that retries another
# names it, and may wait until a moment (the back-off).
_V12_RETRIES = [
    "ALTER TABLE tasks ADD COLUMN max_retries INTEGER NOT NULL DEFAULT 0",
    'ALTER TABLE tasks ADD COLUMN retry_on TEXT NOT NULL DEFAULT \'["failed", "interrupted"]\'',
    "ALTER TABLE runs ADD COLUMN retry_of INTEGER",
    "ALTER TABLE runs ADD COLUMN not_before REAL",
]

# Runs to fold, found without scanning every run: a summary row (final = 0) is made when a run starts (a
# trigger), the unsettled ones have a partial index, and runs started before this version get theirs here.
_V13_UNSETTLED_RUNS = [
    "INSERT OR IGNORE INTO run_summaries (task_id, run_index, final, summarized_at) "
    "SELECT task_id, run_index, 0, 0 FROM runs WHERE started_at IS NOT NULL",
    "CREATE INDEX run_summaries_unsettled ON run_summaries(task_id, run_index) WHERE final = 0",
    "CREATE TRIGGER run_summary_on_start AFTER UPDATE OF started_at ON runs WHEN NEW.started_at IS NOT NULL "
    "BEGIN INSERT OR IGNORE INTO run_summaries (task_id, run_index, final, summarized_at) "
    "VALUES (NEW.task_id, NEW.run_index, 0, 0); END",
    "CREATE TRIGGER run_summary_on_insert AFTER INSERT ON runs WHEN NEW.started_at IS NOT NULL "
    "BEGIN INSERT OR IGNORE INTO run_summaries (task_id, run_index, final, summarized_at) "
    "VALUES (NEW.task_id, NEW.run_index, 0, 0); END",
]

# Notebook jobs and schedules (issue 32): a notebook job's kernel, and cron schedules that fire a task's runs.
# ``schedules_due`` finds the next fires without a scan; ``last_fire`` is the fire time acted on.
_V14_SCHEDULES = """
ALTER TABLE tasks ADD COLUMN kernel TEXT NOT NULL DEFAULT '';
CREATE TABLE schedules (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    cron          TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    overlap       TEXT NOT NULL,
    catchup       TEXT NOT NULL,
    mode          TEXT NOT NULL,
    paused        INTEGER NOT NULL DEFAULT 0,
    next_fire     REAL,
    last_fire     REAL,
    fires         INTEGER NOT NULL DEFAULT 0,
    pending       INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    last_task_id  TEXT NOT NULL DEFAULT '',
    message       TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE INDEX schedules_due ON schedules(next_fire) WHERE paused = 0;
CREATE INDEX schedules_by_task ON schedules(task_id)
"""

# The model registry (issue 34): named models, their numbered versions (each pointing at the checkpoint or
# kept weights it was made from, and so at the run) and aliases naming one version each.
_V15_MODEL_REGISTRY = """
CREATE TABLE registered_models (
    name          TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE TABLE model_versions (
    name          TEXT NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    owner         TEXT NOT NULL,
    source        TEXT NOT NULL,
    weights_id    TEXT,
    task_id       TEXT,
    run_index     INTEGER,
    checkpoint    TEXT NOT NULL DEFAULT '',
    epoch         INTEGER,
    export_path   TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE model_aliases (
    name          TEXT NOT NULL REFERENCES registered_models(name) ON DELETE CASCADE,
    alias         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    PRIMARY KEY (name, alias)
);
CREATE INDEX model_versions_by_task ON model_versions(task_id)
"""

# GPU packing (issue 34): a task may ask for this much GPU memory (MiB) on a shared GPU instead of whole GPUs.
_V16_GPU_MEMORY = ["ALTER TABLE tasks ADD COLUMN gpu_memory INTEGER NOT NULL DEFAULT 0"]

MIGRATIONS: list[str | list[str]] = [
    _V1_INITIAL,
    _V2_COUNTERS_AND_INDEXES,
    _V3_RUNNER,
    _V4_CLIENT,
    _V5_NATIVE_STATES,
    _V6_RUN_CREATORS,
    _V7_EXECUTOR_HANDLES,
    _V8_LIST_INDEXES,
    _V9_SWEEPS,
    _V10_RUN_SERIES,
    _V11_TASK_NOTIFY,
    _V12_RETRIES,
    _V13_UNSETTLED_RUNS,
    _V14_SCHEDULES,
    _V15_MODEL_REGISTRY,
    _V16_GPU_MEMORY,
]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer jupyter-trio than this one."""


def schema_version(db: Database) -> int:
    return int(db.scalar("PRAGMA user_version"))


def migrate(db: Database, target: int = SCHEMA_VERSION) -> int:
    """Bring ``db`` to schema version ``target``; return the version it had before."""
    with db.transaction() as conn:
        # Read the version inside the write lock, so two servers starting at once never both migrate.
        before = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if before > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"workspace database {db.path} has schema version {before}; this jupyter-trio "
                f"understands up to {SCHEMA_VERSION}. Upgrade jupyter-trio."
            )
        for version in range(before, target):
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
    return before


def _statements(script: str | list[str]) -> list[str]:
    # executescript() would COMMIT our transaction; split instead (no ';' inside our DDL strings; a
    # migration whose statements hold ';', triggers, is a list of them)
    if isinstance(script, list):
        return script
    return [s.strip() for s in script.split(";") if s.strip()]
