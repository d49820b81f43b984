"""The store's schema as ordered forward migrations, versioned with ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``. Each is applied in its own
``BEGIN IMMEDIATE`` transaction together with the new ``user_version``, so a database is always at
exactly one version, and two programs opening the same new file at once migrate it once. Never edit
a migration that has shipped: append a new one.

Foreign keys are off while a migration runs (``PRAGMA foreign_keys`` cannot change inside a
transaction, so :func:`migrate` does it around them) and checked before each commit: a migration may
rebuild a table (the only way to change a CHECK constraint in SQLite) without the rows that refer
to it being deleted by ``ON DELETE CASCADE``.
"""
from __future__ import annotations

import sqlite3

# The task states of schema v1 and v2 (v1's CHECK names them: never change this tuple).
_TASK_STATES_V1 = (
    "pending", "ready", "running", "paused", "succeeded", "failed", "timed_out", "cancelled", "skipped",
    "interrupted",
)
# v3 adds "budget_exceeded" (a task stopped on reaching its spending limit).
TASK_STATES = _TASK_STATES_V1 + ("budget_exceeded",)
SESSION_STATUSES = ("active", "complete", "blocked", "abandoned")
OUTCOMES = ("fully", "partially", "not-used", "too-early", "na")
DECISIONS = ("accepted", "discarded")
ACCEPTED_AS = ("merge", "picked")  # how an accepted task's work came in (see version 7)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_V1 = f"""
CREATE TABLE repos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL REFERENCES repos(id),
    date TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    day_number INTEGER NOT NULL CHECK (day_number >= 1),
    objective TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ({_in(SESSION_STATUSES)})),
    start_commit TEXT,
    end_commit TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    source TEXT NOT NULL DEFAULT 'cockpit' CHECK (source IN ('cockpit', 'import')),
    import_key TEXT UNIQUE,
    UNIQUE (repo_id, date, day_number)
);
CREATE INDEX sessions_by_date ON sessions (date DESC, day_number DESC);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    plan_path TEXT,
    base_commit TEXT,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX runs_by_session ON runs (session_id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
    task_key TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL DEFAULT '',
    depends_on TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ({_in(_TASK_STATES_V1)})),
    attempts INTEGER NOT NULL DEFAULT 0,
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cache_write INTEGER NOT NULL DEFAULT 0,
    cache_read INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    branch TEXT,
    worktree TEXT,
    start_commit TEXT,
    head_commit TEXT,
    added INTEGER,
    removed INTEGER,
    files_json TEXT,
    final_message TEXT,
    decision TEXT CHECK (decision IN ({_in(DECISIONS)})),
    decision_reason TEXT,
    decided_at REAL,
    UNIQUE (run_id, task_key)
);
CREATE INDEX tasks_by_session ON tasks (session_id, task_key);
CREATE INDEX tasks_by_state ON tasks (state);

CREATE TABLE attempts (
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_at REAL,
    ended_at REAL,
    state TEXT,
    exit_code INTEGER,
    PRIMARY KEY (task_id, number)
) WITHOUT ROWID;

CREATE TABLE log_lines (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL DEFAULT 0,
    stream TEXT NOT NULL,
    at REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX log_lines_by_task ON log_lines (task_id, id);

CREATE TABLE interventions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
    at REAL NOT NULL,
    type TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX interventions_by_session ON interventions (session_id, at);

CREATE TABLE summaries (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    is_draft INTEGER NOT NULL CHECK (is_draft IN (0, 1)),
    updated_at REAL NOT NULL
);

CREATE TABLE assessments (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    outcome TEXT NOT NULL CHECK (outcome IN ({_in(OUTCOMES)})),
    note TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX assessments_by_session ON assessments (session_id, at);

CREATE TABLE survival (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    head TEXT NOT NULL,
    computed_at REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, head)
);
"""

# v2: the plan's per-task timeout and retry budget, so a retry after a restart uses the same limits.
_V2 = """
ALTER TABLE tasks ADD COLUMN timeout REAL;
ALTER TABLE tasks ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
"""

# v3: the task state "budget_exceeded". SQLite cannot change a CHECK constraint, so the tasks table is
# rebuilt (same columns, in the same order, same ids) and its indexes made again. attempts, log_lines
# and interventions refer to tasks by name, so after the rename they refer to the new table.
_V3 = f"""
CREATE TABLE tasks_v3 (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
    task_key TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL DEFAULT '',
    depends_on TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ({_in(TASK_STATES)})),
    attempts INTEGER NOT NULL DEFAULT 0,
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cache_write INTEGER NOT NULL DEFAULT 0,
    cache_read INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    branch TEXT,
    worktree TEXT,
    start_commit TEXT,
    head_commit TEXT,
    added INTEGER,
    removed INTEGER,
    files_json TEXT,
    final_message TEXT,
    decision TEXT CHECK (decision IN ({_in(DECISIONS)})),
    decision_reason TEXT,
    decided_at REAL,
    timeout REAL,
    retries INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, task_key)
);
INSERT INTO tasks_v3 SELECT id, session_id, run_id, task_key, title, agent, prompt, depends_on, state, attempts,
    tokens_in, tokens_out, cache_write, cache_read, cost_usd, branch, worktree, start_commit, head_commit,
    added, removed, files_json, final_message, decision, decision_reason, decided_at, timeout, retries
    FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v3 RENAME TO tasks;
CREATE INDEX tasks_by_session ON tasks (session_id, task_key);
CREATE INDEX tasks_by_state ON tasks (state);
"""

# v4: the fingerprint of each session's commits (``sessions.survival.fingerprints.Fingerprint.to_json()``), taken
# when it ends or is imported, so its survival can be measured after the commits are garbage-collected.
_V4 = """
CREATE TABLE fingerprints (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    computed_at REAL NOT NULL
);
"""

# v5: what the engine decided for a task and how its check went: its role, the routing choice (the
# ``agent`` column then holds the profile actually used), the effective prompt of its last attempt (role
# instructions, reviewed diffs and check feedback included; NULL: the prompt as written), and its last
# check (JSON of
# ``engine.checks.CheckResult.as_dict()``: command, ok, exit_code, timed_out, counts).
_V5 = """
ALTER TABLE tasks ADD COLUMN role TEXT;
ALTER TABLE tasks ADD COLUMN route TEXT;
ALTER TABLE tasks ADD COLUMN effective_prompt TEXT;
ALTER TABLE tasks ADD COLUMN check_json TEXT;
"""

# Version 6: whether a task's agent reports the tokens it is billed (0: an ACP agent that tells only how
# full its context is; its token columns are then not zeros but unknown) and whether it rounds them
# (1: aider's "1.2k").
_V6 = """
ALTER TABLE tasks ADD COLUMN tokens_known INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN tokens_approximate INTEGER NOT NULL DEFAULT 0;
"""

# Version 7: how an accepted task's work came into the developer's branch, so that what was accepted is known
# commit by commit (the decision alone cannot say: a task's branch also holds its dependencies' work).
# ``accepted_as``: 'merge' (the branch holding its commits was merged: its own, or a dependant's whose
# branch held them) or 'picked' (copies of its own commits were made on the branch, and nothing else of
# its branch came in). ``accepted_via``: the key of the task whose accept brought it in (NULL: its own
# accept). ``accepted_into``: the branch it came into. ``accept_commit``: the commit on that branch that
# brought it (the merge commit; the last copy; NULL when the branch already held everything).
# ``picked_json`` (picked only): ``[[original, copy or null], ...]`` of its own commits, oldest first
# (null: the branch already held that change, nothing was copied).
_V7 = f"""
ALTER TABLE tasks ADD COLUMN accepted_as TEXT CHECK (accepted_as IN ({_in(ACCEPTED_AS)}));
ALTER TABLE tasks ADD COLUMN accepted_via TEXT;
ALTER TABLE tasks ADD COLUMN accepted_into TEXT;
ALTER TABLE tasks ADD COLUMN accept_commit TEXT;
ALTER TABLE tasks ADD COLUMN picked_json TEXT;
"""

# Version 8: the agent's own session of each task and attempt (a Claude Code session id), which a follow-up or
# a retry resumes, and the command that continues it by hand in the task's worktree (``claude --resume ID``).
_V8 = """
ALTER TABLE tasks ADD COLUMN agent_session TEXT;
ALTER TABLE tasks ADD COLUMN resume_command TEXT;
ALTER TABLE attempts ADD COLUMN agent_session TEXT;
"""

MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8]
LATEST = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The complete SQL statements of ``script``, one per item (a statement may span lines)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:60]!r}")
    return out


class NewerSchema(Exception):
    def __init__(self, found: int) -> None:
        super().__init__(f"schema {found}, this one knows {LATEST}")
        self.found = found


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Bring the database of ``conn`` (opened with ``isolation_level=None``) to ``target``.

    Returns the version it is at. Raises :class:`NewerSchema`, before writing anything, when the
    database is newer than this program. Safe when several programs migrate the same file at once.
    """
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    try:
        while True:
            version = user_version(conn)
            if version > LATEST:
                raise NewerSchema(version)
            if version >= target:
                return version
            if foreign_keys:
                conn.execute("PRAGMA foreign_keys = OFF")  # see the module's docstring
            conn.execute("BEGIN IMMEDIATE")
            try:
                if user_version(conn) == version:  # another program may have migrated meanwhile
                    for stmt in statements(MIGRATIONS[version]):
                        conn.execute(stmt)
                    broken = conn.execute("PRAGMA foreign_key_check").fetchone()
                    if broken is not None:
                        raise sqlite3.IntegrityError(
                            f"migration to schema {version + 1} broke a reference: {tuple(broken)}")
                    conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise
    finally:
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys = ON")
