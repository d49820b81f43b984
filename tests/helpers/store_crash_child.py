"""The process tests/sessions/test_store_crash.py kills: it writes log lines steadily until SIGKILL.

    python tests/helpers/store_crash_child.py DB_PATH

Prints ``session <id>`` once, then ``flushed <lines>`` after every committed batch.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.events import EventBus, LogLines, RunStarted, TaskInfo, TaskStateChanged  # noqa: E402
from engine.states import TaskState as S  # noqa: E402
from sessions.store.event_writer import EventWriter  # noqa: E402
from sessions.store.store import Store  # noqa: E402

TASKS = ("run", "wait", "held", "done", "later")


async def main(path: str) -> None:
    store = await Store.open(path)
    session = await store.create_session("/repo", "survive a kill", "base")
    await store.record_run("run-1", session.id, "plan.toml", "base")
    await store.save_summary(session.id, {"notes": "half-written draft"}, draft=True)
    bus = EventBus()
    writer = EventWriter(
        store, session.id, "run-1", flush_interval=0.05,
        on_flush=lambda w: print(f"flushed {w.lines_written}", flush=True),
    )
    writing = asyncio.create_task(writer.run(bus.subscribe()))
    infos = tuple(TaskInfo(key, key, "shell", "true", (), None, 0) for key in TASKS)
    bus.publish(RunStarted("run-1", "/repo", "base", infos))
    for key in ("run", "wait", "held", "done"):
        bus.publish(TaskStateChanged(key, S.PENDING, S.READY, 0))
    for key in ("run", "held", "done"):
        bus.publish(TaskStateChanged(key, S.READY, S.RUNNING, 1))
    bus.publish(TaskStateChanged("held", S.RUNNING, S.PAUSED, 1))
    bus.publish(TaskStateChanged("done", S.RUNNING, S.SUCCEEDED, 1))
    print(f"session {session.id}", flush=True)
    n = 0
    while not writing.done():
        bus.publish(LogLines("run", "stdout", tuple(f"line {n + i}" for i in range(20)), attempt=1))
        n += 20
        await asyncio.sleep(0.002)
    writing.result()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
