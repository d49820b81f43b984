"""A session from start to end: its record, the runs inside it, and what a dead cockpit left behind.

Starting a session records the date, the session number of that day for the repository, the
objective and the start commit (HEAD). A plan run inside it has every engine event persisted by an
:class:`~sessions.store.event_writer.EventWriter`. Ending it records the end commit (HEAD then) and the status,
and keeps the fingerprint of what the session committed (for the survival measure, see
:mod:`sessions.survival.recorded`).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from engine.scheduler import Engine
from engine.states import TaskState
from sessions.store.event_writer import EventWriter
from sessions.git.facts import head_commit
from sessions.liveness import SessionLock, is_live
from sessions.survival.recorded import take_fingerprint
from sessions.store.store import Store
from sessions.store.rows import SessionRow


@dataclass
class OpenSession:
    """A session this process is running, and the lock that says so."""

    row: SessionRow
    lock: SessionLock
    repo: Path


async def begin_session(store: Store, repo: Path, objective: str) -> OpenSession:
    start = await asyncio.to_thread(head_commit, repo)
    row = await store.create_session(repo, objective.strip(), start)
    lock = SessionLock(store.path, row.id)
    lock.acquire()  # a brand-new session: nobody else can hold it
    return OpenSession(row, lock, repo)


async def resume_session(store: Store, session: SessionRow, repo: Path) -> OpenSession | None:
    """Take over an active session no living cockpit holds; None when one does."""
    lock = SessionLock(store.path, session.id)
    if not lock.acquire():
        return None
    return OpenSession(session, lock, repo)


async def finish_session(store: Store, session: OpenSession, status: str) -> SessionRow:
    end = await asyncio.to_thread(head_commit, session.repo)
    await store.end_session(session.row.id, status, end)
    try:
        # Its fingerprint, while the commits exist (in a thread; a failure only leaves it without one).
        await take_fingerprint(store, session.row.id, session.repo, session.row.start_commit, end)
    finally:
        session.lock.release()
    row = await store.get_session(session.row.id)
    assert row is not None
    return row


@dataclass
class Recovered:
    session: SessionRow
    tasks: list[str]


async def recover_dead_sessions(store: Store, repo: Path) -> list[Recovered]:
    """Active sessions of ``repo`` whose cockpit died: their unfinished tasks become ``interrupted``.

    Sessions a living cockpit holds are left alone. The sessions stay active (pending completion),
    so their summary can still be written.
    """
    found = []
    for row in await store.list_sessions(repo):
        if row.status != "active" or is_live(store.path, row.id):
            continue
        tasks = await store.recover_interrupted(row.id)
        found.append(Recovered(row, tasks))
    return found


def status_for(states: Mapping[str, TaskState], interrupted: bool = False) -> str:
    """The session status a run's outcome suggests (the developer may change it in the summary).

    Stopped before its end (interrupted, or tasks cancelled), a session whose tasks got some work done
    is ``blocked``, not ``abandoned``: abandoned says nothing came of it, which is true only when no
    task succeeded."""
    if states and all(s is TaskState.SUCCEEDED for s in states.values()):
        return "complete"
    stopped = interrupted or any(s is TaskState.CANCELLED for s in states.values())
    if stopped and not any(s is TaskState.SUCCEEDED for s in states.values()):
        return "abandoned"
    return "blocked"


class RecordedRun:
    """Persists every event of ``engine`` into ``session`` while it runs.

    Call :meth:`start` before the engine runs (so the writer sees the first event), then await
    :meth:`wait` after the engine's run has returned.
    """

    def __init__(self, store: Store, session: OpenSession, engine: Engine, plan_path: str | None,
                 flush_interval: float = 0.1) -> None:
        self.store = store
        self.session = session
        self.engine = engine
        self.plan_path = plan_path
        # Told at once when the record cannot be written (a line), and when it can again (None); the
        # owner (the cockpit, the headless run) sets it to show it.
        self.on_trouble: Callable[[str | None], None] | None = None
        self.troubled = False  # writing failed at some point of the run
        self.writer = EventWriter(store, session.row.id, engine.run_id, flush_interval=flush_interval,
                                  on_trouble=self._trouble)
        self._task: asyncio.Task[None] | None = None

    def _trouble(self, text: str | None) -> None:
        if text is not None:
            self.troubled = True
        if self.on_trouble is not None:
            self.on_trouble(text)

    async def start(self) -> None:
        await self.store.record_run(self.engine.run_id, self.session.row.id, self.plan_path, None)
        self._task = asyncio.create_task(self.writer.run(self.engine.bus.subscribe()))

    async def wait(self) -> None:
        """Wait for the record to be written; :class:`~sessions.store.event_writer.RecordingFailed` when
        some of it could not be (after the writer's last tries)."""
        if self._task is not None:
            self.writer.finish()
            await self._task
