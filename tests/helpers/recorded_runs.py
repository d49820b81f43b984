"""Cockpit sessions recorded as the cockpit records them, over histories a test (or a bench) built
with dated commits: the run's events (the plan's tasks, each task's result: its branch, where its
worktree started, its last commit; its usage) go through the store's own :class:`EventWriter`, the
developer's decisions through ``Store.set_decision`` at the time given, and the work is recorded
when the session ends, as :func:`sessions.lifecycle.finish_session` does.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from engine.events import EventBus, RunStarted, TaskInfo, TaskResult, UsageUpdate
from engine.states import TaskState
from engine.usage import Usage
from sessions.store.event_writer import EventWriter
from sessions.store.store import Store
from sessions.survival.recorded import take_fingerprint


@dataclass
class RecordedTask:
    key: str
    start: str  # where its worktree started (base plus its dependencies)
    head: str  # its branch's last commit
    agent: str = "shell"
    depends_on: tuple[str, ...] = ()
    decision: str | None = None  # "accepted" | "discarded" | None
    decided_at: float | None = None
    cost_usd: float | None = None


async def record_session(
    store: Store, repo: str | Path, start: str, end: str, tasks: list[RecordedTask], *,
    date: str | None = None, take_work: bool = True,
) -> int:
    """A cockpit session with these tasks, ended at ``end``; its id."""
    row = await store.create_session(repo, "objective", start, date)
    run_id = f"run{row.id}"
    bus = EventBus()
    writer = EventWriter(store, row.id, run_id, flush_interval=0.01)
    done = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(RunStarted(run_id, str(repo), start, tuple(
        TaskInfo(t.key, t.key, t.agent, "prompt", t.depends_on, None, 0) for t in tasks
    )))
    for t in tasks:
        bus.publish(UsageUpdate(t.key, Usage(cost_usd=t.cost_usd)))
        bus.publish(TaskResult(
            t.key, TaskState.SUCCEEDED, 1, f"cockpit/{run_id}/{t.key}", "", t.start, t.head, (), 0,
        ))
    bus.close()
    await done
    for t in tasks:
        if t.decision is not None:
            await store.set_decision(row.id, t.key, t.decision, at=t.decided_at)
    await store.end_session(row.id, "complete", end)
    if take_work:
        assert await take_fingerprint(store, row.id, repo, start, end)
    return row.id
