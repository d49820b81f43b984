"""The session store: one SQLite file (WAL) with sessions, tasks, log lines, interventions, summaries,
outcomes, and the git survival of sessions (fingerprints and measured results).

A :class:`Store` holds two connections: one for writes (short ``BEGIN IMMEDIATE`` transactions,
serialised by an asyncio lock) and one for reads, so a reader never waits for a write transaction.
Engine events are written by :class:`sessions.store.event_writer.EventWriter` on a connection of its own.
The file and its connections are :mod:`sessions.store.db`; the rows it returns, :mod:`sessions.store.rows`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from engine.redact import redact
from sessions.store.db import DEFAULT_BUSY_TIMEOUT_MS, SessionExists, StoreError, connect, explain, prepare_database
from sessions.store.rows import (
    SESSION_SELECT, TASK_COLUMNS, Acceptance, AttemptRow, Intervention, LogLine, RunRow, SessionRow, TaskRow, session_row,
    task_row, repo_key, session_label,
)
from sessions.store.schema import ACCEPTED_AS, DECISIONS, OUTCOMES, SESSION_STATUSES

# What a dead cockpit's tasks can be left in; none of them will go on (a pending task never starts either).
INTERRUPTIBLE = ("pending", "ready", "running", "paused")
MAX_ROW_ID = 2**63 - 1  # the largest integer SQLite holds
_LABEL = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})\.(\d{1,18})", re.ASCII)


def _iso_date(value: str | dt.date | None) -> str:
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return value


def _redact_tree(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_tree(v) for v in value]
    return value


class Store:
    """Use ``await Store.open(path)`` (or ``async with await Store.open(path) as store``)."""

    def __init__(
        self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection, busy_timeout_ms: int
    ) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._db = writer
        self._rd = reader
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> "Store":
        """Open (creating and migrating as needed) the store at ``path``; raises :class:`StoreError`."""
        prepared = await asyncio.to_thread(prepare_database, path, busy_timeout_ms)
        writer = await connect(prepared, busy_timeout_ms)
        try:
            reader = await connect(prepared, busy_timeout_ms)
        except BaseException:
            await writer.close()
            raise
        return cls(prepared, writer, reader, busy_timeout_ms)

    async def close(self) -> None:
        await self._rd.close()
        await self._db.close()

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (BEGIN IMMEDIATE), committed when the block ends without error."""
        async with self._lock:
            db = self._db
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise explain(exc, self.path, self.busy_timeout_ms) from None
            try:
                yield db
            except BaseException:
                await db.rollback()
                raise
            try:
                await db.commit()
            except sqlite3.OperationalError as exc:
                await db.rollback()
                raise explain(exc, self.path, self.busy_timeout_ms) from None

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._rd.execute_fetchall(sql, params))

    @staticmethod
    async def _one(db: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = list(await db.execute_fetchall(sql, params))
        return rows[0][0] if rows else None

    async def _repo_id(self, db: aiosqlite.Connection, repo_path: str | os.PathLike[str]) -> int:
        key = repo_key(repo_path)
        await db.execute("INSERT INTO repos (path) VALUES (?) ON CONFLICT (path) DO NOTHING", (key,))
        return int(await self._one(db, "SELECT id FROM repos WHERE path = ?", (key,)))

    async def _task_id(self, db: aiosqlite.Connection, session_id: int, task_key: str) -> int:
        task_id = await self._one(
            db, "SELECT id FROM tasks WHERE session_id = ? AND task_key = ? ORDER BY id DESC LIMIT 1",
            (session_id, task_key),
        )
        if task_id is None:
            raise StoreError(f"session {session_id} has no task {task_key!r}")
        return int(task_id)

    # -- sessions ---------------------------------------------------------------------------------

    async def ensure_repo(self, path: str | os.PathLike[str]) -> int:
        async with self._write() as db:
            return await self._repo_id(db, path)

    async def create_session(
        self, repo_path: str | os.PathLike[str], objective: str, start_commit: str | None,
        date: str | dt.date | None = None,
    ) -> SessionRow:
        """A new active session, numbered after the repository's other sessions of that date.

        The number is taken inside the write transaction, so two cockpits starting at once on the
        same file get different numbers. It is one more than the highest number of that day (equal to
        one more than the count when numbers have no gaps; never colliding with an imported one).
        """
        day = _iso_date(date)
        async with self._write() as db:
            repo_id = await self._repo_id(db, repo_path)
            number = await self._one(
                db, "SELECT COALESCE(MAX(day_number), 0) + 1 FROM sessions WHERE repo_id = ? AND date = ?",
                (repo_id, day),
            )
            cur = await db.execute(
                "INSERT INTO sessions (repo_id, date, day_number, objective, status, start_commit, started_at, source)"
                " VALUES (?, ?, ?, ?, 'active', ?, ?, 'cockpit')",
                (repo_id, day, number, redact(objective), start_commit, time.time()),
            )
            session_id = int(cur.lastrowid or 0)
        row = await self.get_session(session_id)
        assert row is not None
        return row

    async def end_session(self, session_id: int, status: str, end_commit: str | None) -> None:
        _check(status, SESSION_STATUSES, "session status")
        async with self._write() as db:
            cur = await db.execute(
                "UPDATE sessions SET status = ?, end_commit = ?, ended_at = ? WHERE id = ?",
                (status, end_commit, time.time(), session_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"no session {session_id}")

    async def set_status(self, session_id: int, status: str) -> None:
        """Correct an ended session's status (the developer changed it in the summary)."""
        _check(status, SESSION_STATUSES, "session status")
        async with self._write() as db:
            cur = await db.execute("UPDATE sessions SET status = ? WHERE id = ? AND status != 'active'",
                                   (status, session_id))
            if cur.rowcount == 0:
                raise StoreError(f"no ended session {session_id}")

    async def get_session(
        self, id_or_label: int | str, repo_path: str | os.PathLike[str] | None = None
    ) -> SessionRow | None:
        """A session by id (``12``) or label (``20260304.2``); a label may need ``repo_path`` to be unique."""
        text = str(id_or_label).strip()
        if isinstance(id_or_label, int) or (text.isascii() and text.isdigit()):  # not "²": isdigit() says yes
            number = int(text)
            if number > MAX_ROW_ID:  # SQLite cannot hold it, so no row has it
                return None
            rows = await self._read(SESSION_SELECT + " WHERE s.id = ?", (number,))
            return session_row(rows[0]) if rows else None
        match = _LABEL.fullmatch(text)
        if not match:
            raise StoreError(f"{text!r} is not a session id or label (YYYYMMDD.N)")
        date = f"{match[1]}-{match[2]}-{match[3]}"
        sql = SESSION_SELECT + " WHERE s.date = ? AND s.day_number = ?"
        params: list[Any] = [date, int(match[4])]
        if repo_path is not None:
            sql += " AND r.path = ?"
            params.append(repo_key(repo_path))
        rows = await self._read(sql, params)
        if len(rows) > 1:
            raise StoreError(f"session {text} exists in {len(rows)} repositories; name the repository")
        return session_row(rows[0]) if rows else None

    async def list_sessions(self, repo_path: str | os.PathLike[str] | None = None) -> list[SessionRow]:
        """Sessions newest first (date, then number of the day, descending)."""
        sql, params = SESSION_SELECT, []
        if repo_path is not None:
            sql += " WHERE r.path = ?"
            params.append(repo_key(repo_path))
        rows = await self._read(sql + " ORDER BY s.date DESC, s.day_number DESC, s.id DESC", params)
        return [session_row(r) for r in rows]

    # -- runs and tasks ---------------------------------------------------------------------------

    async def record_run(
        self, run_id: str, session_id: int, plan_path: str | None, base_commit: str | None
    ) -> None:
        """Create the run (or fill in what the event writer did not know about it)."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO runs (id, session_id, plan_path, base_commit, started_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET plan_path = COALESCE(excluded.plan_path, plan_path),"
                " base_commit = COALESCE(excluded.base_commit, base_commit)",
                (run_id, session_id, plan_path, base_commit, time.time()),
            )

    async def runs(self, session_id: int) -> list[RunRow]:
        rows = await self._read(
            "SELECT id, session_id, plan_path, base_commit, started_at, finished_at FROM runs"
            " WHERE session_id = ? ORDER BY started_at, rowid", (session_id,),
        )
        return [RunRow(*r) for r in rows]

    async def tasks(self, session_id: int) -> list[TaskRow]:
        rows = await self._read(f"SELECT {TASK_COLUMNS} FROM tasks WHERE session_id = ? ORDER BY id", (session_id,))
        return [task_row(r) for r in rows]

    async def attempts(self, task_id: int) -> list[AttemptRow]:
        rows = await self._read(
            "SELECT task_id, number, started_at, ended_at, state, exit_code, agent_session FROM attempts"
            " WHERE task_id = ?"
            " ORDER BY number", (task_id,),
        )
        return [AttemptRow(*r) for r in rows]

    async def log_lines(self, task_id: int, after_id: int = 0, limit: int = 1000) -> list[LogLine]:
        """The task's lines with an id above ``after_id``, oldest first (page with the last id)."""
        rows = await self._read(
            "SELECT id, task_id, attempt, stream, at, text FROM log_lines WHERE task_id = ? AND id > ?"
            " ORDER BY id LIMIT ?", (task_id, after_id, limit),
        )
        return [LogLine(*r) for r in rows]

    async def search_log(self, task_id: int, text: str, limit: int = 100) -> list[LogLine]:
        """The task's lines containing ``text`` (case-insensitive for ASCII), oldest first."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._read(
            "SELECT id, task_id, attempt, stream, at, text FROM log_lines"
            " WHERE task_id = ? AND text LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?", (task_id, pattern, limit),
        )
        return [LogLine(*r) for r in rows]

    async def set_decision(
        self, session_id: int, task_key: str, decision: str, reason: str = "", at: float | None = None,
    ) -> None:
        """Accept or discard the task (its newest run's row, if the plan ran more than once), at
        ``at`` (default now)."""
        _check(decision, DECISIONS, "decision")
        async with self._write() as db:
            task_id = await self._task_id(db, session_id, task_key)
            await db.execute(
                "UPDATE tasks SET decision = ?, decision_reason = ?, decided_at = ?, accepted_as = NULL,"
                " accepted_via = NULL, accepted_into = NULL, accept_commit = NULL, picked_json = NULL WHERE id = ?",
                (decision, redact(reason), time.time() if at is None else at, task_id),
            )

    async def clear_decision(self, session_id: int, task_key: str) -> None:
        """The task's work is undecided again (its newest run's row): the discarded work was redone by a
        retry, whose work waits for a decision of its own."""
        async with self._write() as db:
            task_id = await self._task_id(db, session_id, task_key)
            await db.execute(
                "UPDATE tasks SET decision = NULL, decision_reason = NULL, decided_at = NULL, accepted_as = NULL,"
                " accepted_via = NULL, accepted_into = NULL, accept_commit = NULL, picked_json = NULL WHERE id = ?",
                (task_id,),
            )

    async def set_accepted(self, session_id: int, accepted: Sequence[tuple[str, Acceptance]]) -> None:
        """Record the tasks as accepted, each with how its work came in, in one transaction."""
        now = time.time()
        async with self._write() as db:
            for task_key, how in accepted:
                _check(how.kind, ACCEPTED_AS, "kind of acceptance")
                task_id = await self._task_id(db, session_id, task_key)
                await db.execute(
                    "UPDATE tasks SET decision = 'accepted', decision_reason = '', decided_at = ?, accepted_as = ?,"
                    " accepted_via = ?, accepted_into = ?, accept_commit = ?, picked_json = ? WHERE id = ?",
                    (now, how.kind, how.via, how.into, how.commit,
                     json.dumps([list(p) for p in how.picked]) if how.kind == "picked" else None, task_id),
                )

    async def recover_interrupted(self, session_id: int | None = None) -> list[str]:
        """Mark the tasks a dead cockpit left pending/ready/running/paused as ``interrupted``; their keys.

        Only call it for sessions no living cockpit is running (with ``None``: every session).
        Nothing is marked succeeded; the open attempts of those tasks are closed as interrupted.
        """
        marks = ", ".join("?" for _ in INTERRUPTIBLE)
        where = f"state IN ({marks})" + ("" if session_id is None else " AND session_id = ?")
        params: list[Any] = list(INTERRUPTIBLE) + ([] if session_id is None else [session_id])
        now = time.time()
        async with self._write() as db:
            rows = list(await db.execute_fetchall(f"SELECT id, task_key FROM tasks WHERE {where} ORDER BY id", params))
            ids = [(r[0],) for r in rows]
            await db.executemany(
                "UPDATE attempts SET state = 'interrupted', ended_at = ? WHERE task_id = ? AND ended_at IS NULL",
                [(now, i) for (i,) in ids],
            )
            await db.executemany("UPDATE tasks SET state = 'interrupted' WHERE id = ?", ids)
        return [r[1] for r in rows]

    # -- interventions, summaries, outcomes -------------------------------------------------------

    async def add_intervention(
        self, session_id: int, task_key: str | None, type: str, text: str, at: float | None = None
    ) -> int:
        async with self._write() as db:
            task_id = None if task_key is None else await self._task_id(db, session_id, task_key)
            cur = await db.execute(
                "INSERT INTO interventions (session_id, task_id, at, type, text) VALUES (?, ?, ?, ?, ?)",
                (session_id, task_id, time.time() if at is None else at, type, redact(text)),
            )
            return int(cur.lastrowid or 0)

    async def interventions(self, session_id: int) -> list[Intervention]:
        rows = await self._read(
            "SELECT i.id, i.session_id, t.task_key, i.at, i.type, i.text FROM interventions i"
            " LEFT JOIN tasks t ON t.id = i.task_id WHERE i.session_id = ? ORDER BY i.at, i.id", (session_id,),
        )
        return [Intervention(*r) for r in rows]

    async def save_summary(self, session_id: int, data: dict[str, Any], draft: bool) -> None:
        """Replace the session's summary (secrets redacted); ``draft`` while the form is not saved."""
        payload = json.dumps(_redact_tree(data), ensure_ascii=False)
        async with self._write() as db:
            await db.execute(
                "INSERT INTO summaries (session_id, data, is_draft, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, is_draft = excluded.is_draft,"
                " updated_at = excluded.updated_at",
                (session_id, payload, int(draft), time.time()),
            )

    async def get_summary(self, session_id: int) -> tuple[dict[str, Any], bool] | None:
        rows = await self._read("SELECT data, is_draft FROM summaries WHERE session_id = ?", (session_id,))
        return (json.loads(rows[0][0]), bool(rows[0][1])) if rows else None

    async def add_assessment(self, session_id: int, outcome: str, note: str = "", at: float | None = None) -> None:
        """Record how the session's work was used; the newest assessment is the session's outcome."""
        _check(outcome, OUTCOMES, "outcome")
        async with self._write() as db:
            await db.execute(
                "INSERT INTO assessments (session_id, outcome, note, at) VALUES (?, ?, ?, ?)",
                (session_id, outcome, redact(note), time.time() if at is None else at),
            )

    async def outcome(self, session_id: int) -> str | None:
        rows = await self._read(
            "SELECT outcome FROM assessments WHERE session_id = ? ORDER BY at DESC, id DESC LIMIT 1", (session_id,)
        )
        return rows[0][0] if rows else None

    async def outcome_time(self, session_id: int) -> float | None:
        """When the session's newest assessment was given."""
        rows = await self._read(
            "SELECT at FROM assessments WHERE session_id = ? ORDER BY at DESC, id DESC LIMIT 1", (session_id,)
        )
        return float(rows[0][0]) if rows else None

    # -- git survival: fingerprints and measured results -------------------------------------------

    async def save_fingerprint(self, session_id: int, data: str, computed_at: float | None = None) -> None:
        """Keep the session's fingerprint (``Fingerprint.to_json()``), replacing an earlier one."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO fingerprints (session_id, data, computed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, computed_at = excluded.computed_at",
                (session_id, data, time.time() if computed_at is None else computed_at),
            )

    async def fingerprint(self, session_id: int) -> str | None:
        """The session's stored fingerprint (JSON for ``Fingerprint.from_json``), or None."""
        rows = await self._read("SELECT data FROM fingerprints WHERE session_id = ?", (session_id,))
        return rows[0][0] if rows else None

    async def save_survival(self, session_id: int, head: str, data: str, computed_at: float | None = None) -> None:
        """Keep a survival result (``SurvivalResult.to_json()``) of the session at ``head`` (full sha)."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO survival (session_id, head, computed_at, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session_id, head) DO UPDATE SET computed_at = excluded.computed_at,"
                " data = excluded.data",
                (session_id, head, time.time() if computed_at is None else computed_at, data),
            )

    async def survival(self, session_id: int, head: str) -> tuple[float, str] | None:
        """``(computed_at, data)`` of the session's result at ``head``, or None."""
        rows = await self._read(
            "SELECT computed_at, data FROM survival WHERE session_id = ? AND head = ?", (session_id, head)
        )
        return (float(rows[0][0]), rows[0][1]) if rows else None

    async def survival_rows(self, session_id: int) -> list[tuple[str, float, str]]:
        """Every stored result of the session: ``(head, computed_at, data)``, newest first."""
        rows = await self._read(
            "SELECT head, computed_at, data FROM survival WHERE session_id = ? ORDER BY computed_at DESC",
            (session_id,),
        )
        return [(r[0], float(r[1]), r[2]) for r in rows]

    # -- import -----------------------------------------------------------------------------------

    async def find_import(self, import_key: str) -> int | None:
        """The id of the session imported with ``import_key``, if any."""
        rows = await self._read("SELECT id FROM sessions WHERE import_key = ?", (import_key,))
        return int(rows[0][0]) if rows else None

    async def import_session(
        self, *, import_key: str, repo_path: str | os.PathLike[str], date: str | dt.date, day_number: int,
        objective: str, status: str, start_commit: str | None, end_commit: str | None,
        summary: dict[str, Any], started_at: float | None = None, ended_at: float | None = None,
        interventions: Sequence[tuple[float, str, str]] = (),
    ) -> int:
        """Insert a whole session read from a summary file; its id.

        Importing the same ``import_key`` again returns the existing id and changes nothing. A different
        session that already holds the label (repo, date, number) raises :class:`SessionExists`.
        ``interventions`` are ``(at, type, text)``; ``started_at`` defaults to the start of ``date``.
        """
        day = _iso_date(date)
        _check(status, SESSION_STATUSES, "session status")
        if started_at is None:
            started_at = dt.datetime.combine(dt.date.fromisoformat(day), dt.time()).timestamp()
        payload = json.dumps(_redact_tree(summary), ensure_ascii=False)
        async with self._write() as db:
            existing = await self._one(db, "SELECT id FROM sessions WHERE import_key = ?", (import_key,))
            if existing is not None:
                return int(existing)
            repo_id = await self._repo_id(db, repo_path)
            taken = await self._one(
                db, "SELECT id FROM sessions WHERE repo_id = ? AND date = ? AND day_number = ?",
                (repo_id, day, day_number),
            )
            if taken is not None:
                raise SessionExists(
                    f"session {session_label(day, day_number)} already exists in {repo_key(repo_path)}", int(taken)
                )
            cur = await db.execute(
                "INSERT INTO sessions (repo_id, date, day_number, objective, status, start_commit, end_commit,"
                " started_at, ended_at, source, import_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'import', ?)",
                (repo_id, day, day_number, redact(objective), status, start_commit, end_commit, started_at,
                 ended_at, import_key),
            )
            session_id = int(cur.lastrowid or 0)
            await db.execute(
                "INSERT INTO summaries (session_id, data, is_draft, updated_at) VALUES (?, ?, 0, ?)",
                (session_id, payload, time.time()),
            )
            await db.executemany(
                "INSERT INTO interventions (session_id, at, type, text) VALUES (?, ?, ?, ?)",
                [(session_id, at, kind, redact(text)) for at, kind, text in interventions],
            )
            return session_id
