"""Persist the engine's events: the store's one writer of runs, tasks, attempts and log lines.

:class:`EventWriter` reads a bus :class:`~engine.events.Subscription` in batches, turns the events into
rows in plain Python lists, and writes them with one ``executemany`` per table inside ONE transaction
per batch, on a connection of its own (WAL, so readers of the store are never blocked). Every log line
is redacted on the way in (:mod:`engine.redact`), and so are the plan's titles, prompts and checks.

The connection is a plain :mod:`sqlite3` one living in the writer's own thread, and a whole batch
(BEGIN, the executemany calls, COMMIT) is ONE call into that thread: the event loop is woken once per
batch instead of once per statement, which matters most when the machine is busy.

A batch is flushed when ``batch_size`` rows are waiting, when ``flush_interval`` seconds have passed
since the first row that is not yet written, and when the bus closes (or the writer is cancelled).
A ``RunStarted`` event is written at once, since every later row refers to its tasks.

Crash-safety bound: a cockpit killed at any moment (even SIGKILL) loses at most the rows not yet
flushed — at most ``flush_interval`` seconds of log lines and at most ``batch_size`` rows (or one
``LogLines`` event, if a single event is bigger), plus whatever the engine published during the
commit under way at that instant (milliseconds) — and nothing else. Every flushed batch is a
committed transaction (``synchronous=NORMAL`` in WAL survives the death of the process; only a power
loss can undo the last commits), and a half-written batch is rolled back by SQLite on the next open,
so the file is never left inconsistent and a batch is there entirely or not at all. Tasks left
ready/running/paused are found later by
:meth:`Store.recover_interrupted <sessions.store.store.Store.recover_interrupted>`.

If another program holds the write lock past the busy timeout, the batch waits again (counted in
``retried_flushes``); rows are never dropped to get unstuck.

The writer never stops in silence. An error it cannot ride out at once (a full disk, an I/O error, a
database made read-only) is told through ``on_trouble`` (one line; the cockpit shows a notice, the
headless run prints it) and the rows stay in memory, in order, while the run goes on: every
``retry_interval`` seconds the writer tries again, and when space returns everything is written and
``on_trouble(None)`` says so. When the bus closes with rows still unwritten, :meth:`EventWriter.run`
keeps trying for ``give_up_after`` seconds, then raises :class:`RecordingFailed` saying how many rows
were not written. Numbers no SQLite integer can hold (an agent's absurd usage report) are clamped, so
one bad figure cannot make a batch fail for ever.
"""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any, TypeVar

from engine.event_dispatch import handler_table
from engine.events import (
    AgentSession, CheckFinished, Event, LogLines, PromptSent, RunFinished, RunStarted, Subscription, TaskResult, TaskRouted,
    TaskStateChanged, UsageUpdate,
)
from engine.states import TaskState
from engine.redact import redact, redact_lines
from sessions.store.store import Store
from sessions.store.db import DEFAULT_BUSY_TIMEOUT_MS, StoreError, connection_pragmas, explain, prepare_database

T = TypeVar("T")
SQLITE_MAX = 2**63 - 1


class RecordingFailed(StoreError):
    """The run ended with rows the writer could not write (the text says how many, and why)."""
# An attempt is under way in these states; a change into or out of them is part of its story.
_IN_ATTEMPT = frozenset({TaskState.RUNNING, TaskState.PAUSED})

_INSERT_LINES = "INSERT INTO log_lines (task_id, attempt, stream, at, text) VALUES (?, ?, ?, ?, ?)"
_UPSERT_ATTEMPT = (
    "INSERT INTO attempts (task_id, number, started_at, ended_at, state, exit_code) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (task_id, number) DO UPDATE SET"
    " started_at = COALESCE(attempts.started_at, excluded.started_at),"
    " ended_at = COALESCE(excluded.ended_at, attempts.ended_at),"
    " state = COALESCE(excluded.state, attempts.state),"
    " exit_code = COALESCE(excluded.exit_code, attempts.exit_code)"
)
_UPDATE_STATE = "UPDATE tasks SET state = ?, attempts = MAX(attempts, ?) WHERE id = ?"
_UPDATE_USAGE = (
    "UPDATE tasks SET tokens_in = ?, tokens_out = ?, cache_write = ?, cache_read = ?, cost_usd = ?,"
    " tokens_known = ?, tokens_approximate = ? WHERE id = ?"
)
# A result without a worktree (the agent could not start) keeps what an earlier attempt recorded.
_UPDATE_RESULT = (
    "UPDATE tasks SET branch = COALESCE(?, branch), worktree = COALESCE(?, worktree),"
    " start_commit = COALESCE(?, start_commit), head_commit = COALESCE(?, head_commit), added = ?, removed = ?,"
    " files_json = ?, final_message = ? WHERE id = ?"
)
_UPDATE_ROUTE = "UPDATE tasks SET agent = ?, route = ? WHERE id = ?"
_UPDATE_PROMPT = "UPDATE tasks SET effective_prompt = ? WHERE id = ?"
_UPDATE_CHECK = "UPDATE tasks SET check_json = ? WHERE id = ?"
_UPDATE_SESSION = "UPDATE tasks SET agent_session = ?, resume_command = ? WHERE id = ?"
_UPSERT_ATTEMPT_SESSION = (
    "INSERT INTO attempts (task_id, number, agent_session) VALUES (?, ?, ?)"
    " ON CONFLICT (task_id, number) DO UPDATE SET agent_session = excluded.agent_session"
)
_UPSERT_TASK = (
    "INSERT INTO tasks (session_id, run_id, task_key, title, agent, prompt, depends_on, timeout, retries, role)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, task_key) DO UPDATE SET title = excluded.title,"
    " agent = excluded.agent, prompt = excluded.prompt, depends_on = excluded.depends_on,"
    " timeout = excluded.timeout, retries = excluded.retries, role = excluded.role"
)


class _Batch:
    """The rows waiting to be written; updates of one task are merged (the newest wins)."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, int, str, float, str]] = []
        self.states: dict[int, tuple[str, int]] = {}
        self.attempts: dict[tuple[int, int], list[Any]] = {}
        self.usage: dict[int, tuple[Any, ...]] = {}
        self.results: dict[int, tuple[Any, ...]] = {}
        self.routes: dict[int, tuple[str, str, int]] = {}  # the profile a routed task got, and why
        self.prompts: dict[int, tuple[str, int]] = {}  # the effective prompt of its last attempt
        self.checks: dict[int, tuple[str, int]] = {}  # its last check
        self.sessions: dict[int, tuple[str, str, int]] = {}  # its agent's own session, and how to resume it
        self.attempt_sessions: dict[tuple[int, int], str] = {}  # the same, per attempt
        self.finished_at: float | None = None
        self.count = 0
        self.line_count = 0

    def attempt(self, key: tuple[int, int], started: float | None = None, ended: float | None = None,
                state: str | None = None, exit_code: int | None = None) -> None:
        row = self.attempts.get(key)
        if row is None:
            self.attempts[key] = [started, ended, state, exit_code]
            return
        if row[0] is None:
            row[0] = started
        for i, value in ((1, ended), (2, state), (3, exit_code)):
            if value is not None:
                row[i] = value


class EventWriter:
    """Writes one run's events into the store until the bus closes: ``await writer.run(subscription)``."""

    def __init__(
        self, store: Store | str | os.PathLike[str], session_id: int, run_id: str, batch_size: int = 500,
        flush_interval: float = 0.1, *, busy_timeout_ms: int | None = None,
        on_flush: Callable[["EventWriter"], None] | None = None,
        on_trouble: Callable[[str | None], None] | None = None, retry_interval: float = 1.0,
        give_up_after: float = 10.0,
    ) -> None:
        if isinstance(store, Store):
            self.path = store.path
            self.busy_timeout_ms = busy_timeout_ms or store.busy_timeout_ms
        else:
            self.path = Path(store)
            self.busy_timeout_ms = busy_timeout_ms or DEFAULT_BUSY_TIMEOUT_MS
        self.session_id = session_id
        self.run_id = run_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.on_flush = on_flush
        self.on_trouble = on_trouble
        self.retry_interval = retry_interval
        self.give_up_after = give_up_after
        self.trouble: str | None = None  # why the rows waiting are not written, while it lasts
        self.troubles = 0  # times writing failed (and was retried)
        self.lines_written = 0  # log lines committed so far
        self.rows_written = 0  # rows (lines and merged updates) committed so far
        self.flushes = 0
        self.retried_flushes = 0  # times a batch waited again for a lock another program held too long
        self._ids: dict[str, int] = {}
        self._batch = _Batch()
        self._deadline = 0.0
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._writing: asyncio.Future[None] | None = None  # the batches the thread is committing
        self._in_flight: list[_Batch] = []
        self._unwritten: list[_Batch] = []  # batches a failed write left, oldest first, kept for a retry
        self._retry_at = 0.0
        self._ending = False
        self._handlers = handler_table(self, missing=self._ignore)

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self, subscription: Subscription) -> None:
        """Consume ``subscription`` until the bus closes; everything read is written when this returns.

        Raises :class:`~sessions.store.db.StoreError` if the database cannot be opened.
        """
        loop = asyncio.get_running_loop()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-event-writer")
        try:
            await self._call(self._open)
            self._ids = await self._riding_out(self._start)
            while True:
                if (self._batch.count or self._unwritten) and not subscription.pending():
                    wait = (self._retry_at if self._unwritten and not self._batch.count else self._deadline) - loop.time()
                    if wait <= 0:
                        await self._flush()
                        continue
                    try:
                        events = await asyncio.wait_for(subscription.get_batch(), wait)
                    except TimeoutError:
                        await self._flush()
                        continue
                else:
                    events = await subscription.get_batch()
                if not events:
                    break
                await self._take(events, loop)
                if self._batch.count and loop.time() >= self._deadline:
                    await self._flush()
            await self._flush()
            await self._settle(loop)  # the last write's failure too is kept and tried again
            await self._last_tries(loop)
        except asyncio.CancelledError:
            if self._conn is not None:
                await self._flush()  # keep what was read before the cancel
            raise
        finally:
            if self._writing is not None:  # only after an error
                await asyncio.gather(self._writing, return_exceptions=True)
            await self._call(self._close)
            self._thread.shutdown(wait=True)
            self._thread = None

    async def _last_tries(self, loop: asyncio.AbstractEventLoop) -> None:
        """The bus closed: keep trying to write what is left for ``give_up_after`` seconds."""
        end = loop.time() + self.give_up_after
        while self._unwritten and loop.time() < end:
            await asyncio.sleep(max(0.0, min(self._retry_at, end) - loop.time()))
            await self._flush(force=True)
        if self._unwritten:
            rows = sum(b.count for b in self._unwritten)
            lines = sum(b.line_count for b in self._unwritten)
            raise RecordingFailed(
                f"the run's record is incomplete: {rows:,} rows ({lines:,} log lines) could not be written "
                f"to {self.path}: {self.trouble}"
            )

    def finish(self) -> None:
        """The run is over: from now on, a write that keeps failing is given up after ``give_up_after``."""
        self._ending = True

    async def _riding_out(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn`` in the writer's thread, tried again every ``retry_interval`` while it fails (told once
        through ``on_trouble``); the events wait meanwhile in the subscription, in memory."""
        loop = asyncio.get_running_loop()
        give_up: float | None = None
        while True:
            try:
                result = await self._call(fn, *args)
            except (sqlite3.Error, OSError, ValueError) as exc:
                self._failed(exc, loop)
                if self._ending and give_up is None:
                    give_up = loop.time() + self.give_up_after
                if give_up is not None and loop.time() >= give_up:
                    raise RecordingFailed(f"the run's record is incomplete: {self.trouble}") from None
                await asyncio.sleep(self.retry_interval)
                continue
            if self.trouble is not None and not self._unwritten:
                self.trouble = None
                if self.on_trouble is not None:
                    self.on_trouble(None)
            return result

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in the writer's thread, where its connection lives."""
        assert self._thread is not None, "EventWriter is not running"
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def _take(self, events: list[Event], loop: asyncio.AbstractEventLoop) -> None:
        batch_size = self.batch_size
        table = self._handlers
        for ev in events:
            if not self._batch.count:
                self._deadline = loop.time() + self.flush_interval
            await table[type(ev)](ev)
            if self._batch.count >= batch_size:
                await self._flush()

    # -- mapping events to rows -------------------------------------------------------------------

    async def _ignore(self, ev: object) -> None:
        """The events the store keeps nothing of (budget and breaker notices are in the engine's lines)."""

    async def on_lines(self, ev: LogLines) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        batch = self._batch
        n = len(ev.lines)
        batch.lines.extend(
            zip(repeat(task_id, n), repeat(ev.attempt, n), repeat(ev.stream, n), repeat(ev.at, n),
                redact_lines(ev.lines))
        )
        batch.count += n
        batch.line_count += n

    async def on_usage(self, ev: UsageUpdate) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        batch = self._batch
        u = ev.usage
        batch.usage[task_id] = (u.tokens_in, u.tokens_out, u.cache_write, u.cache_read, u.cost_usd,
                                int(u.tokens_known), int(u.approximate), task_id)
        batch.count += 1

    async def on_routed(self, ev: TaskRouted) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        batch = self._batch
        batch.routes[task_id] = (ev.profile, f"{ev.strategy}: {ev.reason}", task_id)
        batch.count += 1

    async def on_prompt(self, ev: PromptSent) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        batch = self._batch
        batch.prompts[task_id] = (redact(ev.prompt), task_id)
        batch.count += 1

    async def on_check(self, ev: CheckFinished) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        batch = self._batch
        check = ev.result.as_dict()
        check["command"] = redact(check["command"])  # redacted like the prompt it belongs to
        batch.checks[task_id] = (json.dumps(check), task_id)
        batch.count += 1

    async def on_agent_session(self, ev: AgentSession) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        batch = self._batch
        batch.sessions[task_id] = (ev.session_id, redact(ev.resume), task_id)
        if ev.attempt >= 1:
            batch.attempt_sessions[(task_id, ev.attempt)] = ev.session_id
        batch.count += 1

    async def on_run_started(self, ev: RunStarted) -> None:
        await self._flush()  # the thread runs what it is given in order: batches first
        self._ids = await self._riding_out(self._run_started_now, ev)

    async def on_run_finished(self, ev: RunFinished) -> None:
        for key, state in ev.states.items():
            task_id = self._ids.get(key) or await self._ensure_task(key)
            batch = self._batch
            old = batch.states.get(task_id, ("", 0))
            batch.states[task_id] = (state.value, old[1])
        batch = self._batch
        batch.finished_at = ev.at
        batch.count += 1

    async def on_state(self, ev: TaskStateChanged) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        batch = self._batch
        old = batch.states.get(task_id)
        batch.states[task_id] = (ev.new.value, max(ev.attempt, old[1] if old else 0))
        if ev.attempt >= 1 and (ev.new in _IN_ATTEMPT or ev.old in _IN_ATTEMPT):
            started = ev.at if ev.new is TaskState.RUNNING and ev.old is not TaskState.PAUSED else None
            ended = ev.at if ev.new.terminal else None
            batch.attempt((task_id, ev.attempt), started, ended, ev.new.value)
        batch.count += 1

    async def on_result(self, ev: TaskResult) -> None:
        task_id = self._ids.get(ev.task_id) or await self._ensure_task(ev.task_id)
        files = json.dumps([{"path": f.path, "added": f.added, "removed": f.removed} for f in ev.files])
        batch = self._batch
        batch.results[task_id] = (
            ev.branch or None, ev.worktree or None, ev.start_commit or None, ev.head_commit or None,
            ev.added, ev.removed, files,
            redact(ev.final_message), task_id,
        )
        if ev.attempt >= 1:
            batch.attempt((task_id, ev.attempt), exit_code=ev.exit_code)
        batch.count += 1

    # -- writing (the coroutine side) -------------------------------------------------------------

    async def _ensure_task(self, key: str) -> int:
        """The row of a task the run did not announce (created on the spot)."""
        self._ids = await self._riding_out(self._ensure_task_now, key)
        return self._ids[key]

    async def _flush(self, force: bool = False) -> None:
        """Commit the gathered rows in one transaction per batch, in the writer thread (the rows an
        earlier failed write left go first; while writing fails, one try every ``retry_interval``, or
        now with ``force``).

        A cancel that arrives meanwhile does not stop the commit under way (the thread finishes it, and
        the next flush waits for it first), so no batch is lost or written twice.
        """
        loop = asyncio.get_running_loop()
        while True:
            await self._settle(loop)
            if self._batch.count:
                self._unwritten.append(self._batch)
                self._batch = _Batch()
            if not self._unwritten:
                return
            if self.trouble is not None and not force and loop.time() < self._retry_at:
                return  # kept in memory until the next try
            retry, force = self.trouble is not None, False
            self._in_flight, self._unwritten = self._unwritten, []
            assert self._thread is not None, "EventWriter is not running"
            self._writing = loop.run_in_executor(self._thread, self._write_all, self._in_flight)
            self._writing.add_done_callback(self._committed)
            if retry:  # wait for its verdict: a failure waits for the next try
                await self._settle(loop)
                return

    async def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait for the write under way; what it could not write is kept for the next try."""
        if self._writing is None:
            return
        try:
            await asyncio.shield(self._writing)
        except (sqlite3.Error, OSError, ValueError) as exc:  # kept, told, tried again later
            self._unwritten[:0] = self._in_flight
            self._failed(exc, loop)
        self._writing = None
        self._in_flight = []

    def _failed(self, exc: BaseException, loop: asyncio.AbstractEventLoop) -> None:
        self.troubles += 1
        self._retry_at = loop.time() + self.retry_interval
        trouble = _trouble_text(exc, self.path)
        if trouble != self.trouble:
            self.trouble = trouble
            if self.on_trouble is not None:
                self.on_trouble(trouble)

    def _committed(self, future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # the error is handled where the future is awaited
        if self.trouble is not None:
            self.trouble = None
            if self.on_trouble is not None:
                self.on_trouble(None)
        if self.on_flush is not None:
            self.on_flush(self)

    # -- writing (in the writer's thread) ---------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("EventWriter is not running")
        return self._conn

    def _open(self) -> None:
        path = prepare_database(self.path, self.busy_timeout_ms)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=self.busy_timeout_ms / 1000)
            for pragma in connection_pragmas(self.busy_timeout_ms):
                conn.execute(pragma)
        except sqlite3.Error as exc:
            raise explain(exc, path, self.busy_timeout_ms) from None
        self._conn = conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _task_ids(self) -> dict[str, int]:
        rows = self._db().execute("SELECT task_key, id FROM tasks WHERE run_id = ?", (self.run_id,))
        return dict(rows.fetchall())

    def _start(self) -> dict[str, int]:
        self._db().execute(
            "INSERT INTO runs (id, session_id, started_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (self.run_id, self.session_id, time.time()),
        )
        return self._task_ids()

    def _ensure_task_now(self, key: str) -> dict[str, int]:
        self._db().execute(
            "INSERT INTO tasks (session_id, run_id, task_key) VALUES (?, ?, ?)"
            " ON CONFLICT (run_id, task_key) DO NOTHING",
            (self.session_id, self.run_id, key),
        )
        return self._task_ids()

    def _run_started_now(self, ev: RunStarted) -> dict[str, int]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "UPDATE runs SET base_commit = COALESCE(?, base_commit), started_at = ? WHERE id = ?",
                (ev.base_commit or None, ev.at, self.run_id),
            )
            db.executemany(_UPSERT_TASK, [
                (self.session_id, self.run_id, t.id, redact(t.title), t.agent, redact(t.prompt), json.dumps(list(t.depends_on)),
                 t.timeout, t.retries, t.role)
                for t in ev.tasks
            ])
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise
        return self._task_ids()

    def _write_all(self, batches: list[_Batch]) -> None:
        """Commit ``batches`` in order, one transaction each; each one written leaves the list, so what
        a failure leaves in it is what is still to write."""
        while batches:
            batch = batches[0]
            self._write(batch)
            del batches[0]
            self.flushes += 1
            self.rows_written += batch.count
            self.lines_written += batch.line_count

    def _write(self, batch: _Batch) -> None:
        """Commit ``batch``. If another program holds the write lock past the busy timeout, wait again:
        the rows are kept (and the batches after it wait in order), never dropped."""
        db = self._db()
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                self.retried_flushes += 1
        try:
            if batch.attempts:
                db.executemany(_UPSERT_ATTEMPT, [(t, n, *v) for (t, n), v in batch.attempts.items()])
            if batch.states:
                db.executemany(_UPDATE_STATE, [(s, a, t) for t, (s, a) in batch.states.items()])
            if batch.usage:
                db.executemany(_UPDATE_USAGE, [_clamped(row) for row in batch.usage.values()])
            if batch.results:
                db.executemany(_UPDATE_RESULT, batch.results.values())
            if batch.routes:
                db.executemany(_UPDATE_ROUTE, batch.routes.values())
            if batch.prompts:
                db.executemany(_UPDATE_PROMPT, batch.prompts.values())
            if batch.checks:
                db.executemany(_UPDATE_CHECK, batch.checks.values())
            if batch.sessions:
                db.executemany(_UPDATE_SESSION, batch.sessions.values())
                db.executemany(_UPSERT_ATTEMPT_SESSION, [(t, n, sid) for (t, n), sid in batch.attempt_sessions.items()])
            if batch.lines:
                db.executemany(_INSERT_LINES, batch.lines)
            if batch.finished_at is not None:
                db.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (batch.finished_at, self.run_id))
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise


def _clamped(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row whose integers all fit SQLite (the engine refuses absurd usage; this is the last guard)."""
    return tuple(max(-SQLITE_MAX, min(SQLITE_MAX, v)) if type(v) is int else v for v in row)


def _trouble_text(exc: BaseException, path: Path) -> str:
    """One line: why the record cannot be written now."""
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if "disk is full" in low or "no space" in low:
        return f"the disk holding {path} is full"
    if "readonly" in low or "read-only" in low:
        return f"{path} became read-only"
    if "disk i/o" in low or isinstance(exc, OSError):
        return f"cannot write {path}: {text}"
    return f"cannot write {path}: {text}"
