from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from engine.events import (
    EventBus, FileStat, LogLines, RunFinished, RunStarted, TaskInfo, TaskResult, TaskStateChanged, UsageUpdate,
)
from engine.states import TaskState as S
from engine.usage import Usage
from sessions.store.event_writer import EventWriter, RecordingFailed
from engine.redact import REDACTED
from sessions.store.store import Store

SECRET = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture
async def store(tmp_path: Path):
    s = await Store.open(tmp_path / "cockpit.db")
    yield s
    await s.close()


async def poll(check, tries: int = 400, pause: float = 0.025):
    """Call ``check`` until it returns something true (bounded); the last result."""
    result = None
    for _ in range(tries):
        result = await check()
        if result:
            return result
        await asyncio.sleep(pause)
    return result


def infos() -> tuple[TaskInfo, ...]:
    return (
        TaskInfo("a", "Task A", "claude", f"do A with {SECRET}", (), 600.0, 2),
        TaskInfo("b", "Task B", "shell", "echo b", ("a",), None, 0),
        TaskInfo("c", "Task C", "shell", "echo c", ("b",), None, 0),
    )


async def test_every_event_becomes_rows(store: Store) -> None:
    session = await store.create_session("/repo", "objective", "base")
    await store.record_run("run-1", session.id, "plan.toml", None)
    bus = EventBus()
    writer = EventWriter(store, session.id, "run-1")
    task = asyncio.create_task(writer.run(bus.subscribe()))

    t = 1000.0
    bus.publish(RunStarted("run-1", "/repo", "base", infos(), at=t))
    script = [
        ("a", S.PENDING, S.READY, 0, t),
        ("a", S.READY, S.RUNNING, 1, 1001.0),
        ("a", S.RUNNING, S.FAILED, 1, 1002.0),
        ("a", S.FAILED, S.RUNNING, 2, 1003.0),
        ("a", S.RUNNING, S.PAUSED, 2, 1004.0),
        ("a", S.PAUSED, S.RUNNING, 2, 1005.0),
        ("b", S.PENDING, S.READY, 0, 1005.5),
        ("b", S.READY, S.RUNNING, 1, 1006.0),
    ]
    for key, old, new, attempt, at in script:
        bus.publish(TaskStateChanged(key, old, new, attempt, at=at))

    expected: dict[str, list[str]] = {"a": [], "b": []}
    for n in range(100):  # 10,000 lines in batches of 100, interleaved between two tasks
        key = "ab"[n % 2]
        lines = tuple(f"{key} line {n * 100 + i:05d} " + "x" * 60 for i in range(100))
        if n == 6:
            lines = lines[:50] + (f"export ANTHROPIC_API_KEY={SECRET}",) + lines[51:]
        expected[key] += [line.replace(SECRET, REDACTED) for line in lines]
        bus.publish(LogLines(key, "stderr" if n % 5 == 0 else "stdout", lines, attempt=2 if key == "a" else 1,
                             at=1010.0 + n))
        if n % 10 == 0:
            await asyncio.sleep(0)

    bus.publish(UsageUpdate("a", Usage(tokens_in=100, tokens_out=10, cache_write=5, cache_read=1, cost_usd=0.01)))
    bus.publish(UsageUpdate("a", Usage(tokens_in=300, tokens_out=30, cache_write=6, cache_read=2, cost_usd=0.03)))
    bus.publish(UsageUpdate("b", Usage(tokens_in=7, tokens_out=8)))
    files = (FileStat("src/a.py", 10, 2), FileStat("img.png", None, None))
    bus.publish(TaskResult("a", S.SUCCEEDED, 2, "cockpit/1/a", "/wt/a", "base", "head-a", files, 0,
                           final_message=f"done; key {SECRET}"))
    bus.publish(TaskStateChanged("a", S.RUNNING, S.SUCCEEDED, 2, at=1200.0))
    bus.publish(TaskResult("b", S.FAILED, 1, "cockpit/1/b", "/wt/b", "head-a", "head-a", (), 3))
    bus.publish(TaskStateChanged("b", S.RUNNING, S.FAILED, 1, at=1201.0))
    bus.publish(TaskStateChanged("c", S.PENDING, S.SKIPPED, 0, at=1201.0))
    bus.publish(RunFinished("run-1", {"a": S.SUCCEEDED, "b": S.FAILED, "c": S.SKIPPED}, at=1300.0))
    bus.close()
    await asyncio.wait_for(task, 60)

    assert writer.lines_written == 10_000
    (run,) = await store.runs(session.id)
    assert (run.plan_path, run.base_commit, run.started_at, run.finished_at) == ("plan.toml", "base", 1000.0, 1300.0)

    tasks = {t.key: t for t in await store.tasks(session.id)}
    a, b, c = tasks["a"], tasks["b"], tasks["c"]
    assert (a.title, a.agent, a.depends_on, a.timeout, a.retries) == ("Task A", "claude", (), 600.0, 2)
    assert a.prompt == f"do A with {REDACTED}"
    assert (b.depends_on, c.depends_on) == (("a",), ("b",))
    assert [(t.state, t.attempts) for t in (a, b, c)] == [("succeeded", 2), ("failed", 1), ("skipped", 0)]
    assert (a.tokens_in, a.tokens_out, a.cache_write, a.cache_read, a.cost_usd) == (300, 30, 6, 2, 0.03)
    assert (b.tokens_in, b.tokens_out, b.cost_usd) == (7, 8, None)
    assert (a.branch, a.worktree, a.start_commit, a.head_commit, a.added, a.removed) == (
        "cockpit/1/a", "/wt/a", "base", "head-a", 10, 2)
    assert a.files == files
    assert a.final_message == f"done; key {REDACTED}"
    assert (b.added, b.removed, b.files) == (0, 0, ())

    attempts = [(x.number, x.started_at, x.ended_at, x.state, x.exit_code) for x in await store.attempts(a.id)]
    assert attempts == [(1, 1001.0, 1002.0, "failed", None), (2, 1003.0, 1200.0, "succeeded", 0)]
    assert [(x.number, x.state, x.exit_code) for x in await store.attempts(b.id)] == [(1, "failed", 3)]
    assert await store.attempts(c.id) == []

    for key, task_row in (("a", a), ("b", b)):
        got = []
        after = 0
        while page := await store.log_lines(task_row.id, after_id=after, limit=1000):
            got += page
            after = page[-1].id
        assert [line.text for line in got] == expected[key]
        assert {line.attempt for line in got} == ({2} if key == "a" else {1})
    first_a = (await store.log_lines(a.id, limit=1))[0]
    assert (first_a.stream, first_a.at) == ("stderr", 1010.0)
    assert not await store.search_log(a.id, "sk-ant-", 10)
    assert len(await store.search_log(a.id, REDACTED, 10)) == 1


async def test_lines_are_visible_while_the_writer_runs(store: Store) -> None:
    """Flush by interval: a handful of lines (far below batch_size) reach readers without an end."""
    session = await store.create_session("/repo", "objective", None)
    bus = EventBus()
    writer = EventWriter(store, session.id, "run-1", batch_size=100_000, flush_interval=0.05)
    task = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(RunStarted("run-1", "/repo", "base", infos()))
    bus.publish(LogLines("a", "stdout", ("one", "two", "three")))

    async def visible() -> list[str]:
        tasks = await store.tasks(session.id)
        return [line.text for t in tasks for line in await store.log_lines(t.id)]

    assert await poll(visible) == ["one", "two", "three"]
    assert not task.done()
    bus.publish(LogLines("b", "stdout", ("four",)))
    assert len(await poll(lambda: _count(visible, 4))) == 4
    assert not task.done()
    bus.close()
    await asyncio.wait_for(task, 30)


async def _count(fn, n: int):
    got = await fn()
    return got if len(got) >= n else None


async def test_flush_by_batch_size(store: Store) -> None:
    session = await store.create_session("/repo", "objective", None)
    bus = EventBus()
    writer = EventWriter(store, session.id, "run-1", batch_size=100, flush_interval=3600)
    task = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(RunStarted("run-1", "/repo", "base", infos()))
    for n in range(25):
        bus.publish(LogLines("a", "stdout", tuple(f"{n}-{i}" for i in range(10))))

    async def flushed() -> int:
        return writer.lines_written if writer.lines_written >= 200 else 0

    assert await poll(flushed) == 200  # two full batches; 50 lines wait for the (long) interval
    (a, *_) = await store.tasks(session.id)
    assert len(await store.log_lines(a.id)) == 200
    bus.close()
    await asyncio.wait_for(task, 30)
    assert len(await store.log_lines(a.id)) == 250  # and the rest when the bus closes


async def test_cancel_keeps_what_was_read(store: Store) -> None:
    session = await store.create_session("/repo", "objective", None)
    bus = EventBus()
    sub = bus.subscribe()
    writer = EventWriter(store, session.id, "run-1", batch_size=100_000, flush_interval=3600)
    task = asyncio.create_task(writer.run(sub))
    bus.publish(RunStarted("run-1", "/repo", "base", infos()))
    assert await poll(lambda: _tasks_exist(store, session.id))
    bus.publish(LogLines("a", "stdout", ("kept 1", "kept 2")))
    assert await poll(lambda: _true(sub.pending() == 0))  # read (and so gathered), not written
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (a, *_) = await store.tasks(session.id)
    assert [line.text for line in await store.log_lines(a.id)] == ["kept 1", "kept 2"]


async def _true(value: bool) -> bool:
    return value


async def test_writer_on_a_path_and_unannounced_tasks(tmp_path: Path) -> None:
    """Events about a task the run did not announce still land (the task row is made on the spot)."""
    path = tmp_path / "cockpit.db"
    async with await Store.open(path) as store:
        session = await store.create_session("/repo", "objective", None)
    bus = EventBus()
    writer = EventWriter(path, session.id, "run-x")
    task = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(TaskStateChanged("late", S.READY, S.RUNNING, 1, at=5.0))
    bus.publish(LogLines("late", "engine", ("started",)))
    bus.close()
    await asyncio.wait_for(task, 30)
    async with await Store.open(path) as store:
        (late,) = await store.tasks(session.id)
        assert (late.key, late.state, late.run_id) == ("late", "running", "run-x")
        assert [line.text for line in await store.log_lines(late.id)] == ["started"]
        (run,) = await store.runs(session.id)
        assert run.finished_at is None


async def test_writer_waits_out_a_lock_and_loses_nothing(store: Store, tmp_path: Path) -> None:
    session = await store.create_session("/repo", "objective", None)
    bus = EventBus()
    writer = EventWriter(store, session.id, "run-1", flush_interval=0.01, busy_timeout_ms=50)
    task = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(RunStarted("run-1", "/repo", "base", infos()))
    assert await poll(lambda: _tasks_exist(store, session.id))
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        bus.publish(LogLines("a", "stdout", ("while locked",)))
        assert await poll(lambda: _true(writer.retried_flushes > 0))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    bus.close()
    await asyncio.wait_for(task, 30)
    (a, *_) = await store.tasks(session.id)
    assert [line.text for line in await store.log_lines(a.id)] == ["while locked"]


async def _tasks_exist(store: Store, session_id: int) -> bool:
    return len(await store.tasks(session_id)) == 3


async def test_tokens_an_agent_does_not_report_are_stored_as_unknown(store: Store) -> None:
    from sessions.reports.views import session_detail
    from sessions.summary.builder import build_summary, usage_totals
    from sessions.summary.export import export_markdown
    from sessions.summary.parse import parse_markdown
    from tests.helpers.session_runs import record_mixed_usage

    session = await record_mixed_usage(store)
    rows = {t.key: t for t in await store.tasks(session.id)}
    assert (rows["a"].tokens_known, rows["a"].cost_usd) == (False, 0.25)
    assert (rows["b"].tokens_known, rows["b"].tokens_approximate, rows["b"].tokens_in) == (True, True, 1200)
    assert rows["c"].tokens_known and not rows["c"].tokens_approximate
    totals = usage_totals(rows.values())
    assert not totals.tokens_complete and totals.approximate and not totals.cost_complete
    assert totals.tokens_unknown == 1
    detail = await session_detail(store, session)
    by_key = {t["id"]: t for t in detail["tasks"]}
    assert by_key["a"]["tokens_known"] is False and detail["tokens_complete"] is False
    assert (detail["tokens_unknown"], detail["tokens_approximate"]) == (1, True)
    # the summary's usage is a floor that says what is missing from it, and reads back as written
    summary = await build_summary(store, session)
    assert (summary.tokens_in, summary.tokens_unknown, summary.tokens_approximate) == (1200, 1, True)
    markdown = export_markdown(summary)
    assert "- **Tokens in:** ≥ ~1200 (1 task unknown)\n- **Tokens out:** ≥ ~56 (1 task unknown)" in markdown
    assert parse_markdown(markdown).tokens_unknown == 1


class SmallDisk(EventWriter):
    """A writer whose database may grow by a few pages only: SQLite's own "database or disk is full"
    (SQLITE_FULL), as a full disk gives it, until :meth:`more_space`."""

    def _open(self) -> None:
        super()._open()
        db = self._db()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 4}")

    async def more_space(self) -> None:
        await self._call(lambda: self._db().execute("PRAGMA max_page_count = 1073741823"))


def burst(bus: EventBus, start: int, count: int) -> list[str]:
    lines = [f"line {i:06d} " + "y" * 200 for i in range(start, start + count)]
    for i in range(0, count, 100):
        bus.publish(LogLines("a", "stdout", tuple(lines[i:i + 100]), 1))
    return lines


async def test_a_full_disk_is_told_at_once_and_nothing_is_lost_when_space_returns(store: Store) -> None:
    session = await store.create_session("/repo", "objective", "base")
    await store.record_run("run-1", session.id, "plan.toml", None)
    bus = EventBus()
    told: list[str | None] = []
    writer = SmallDisk(store, session.id, "run-1", on_trouble=told.append, retry_interval=0.05)
    task = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(RunStarted("run-1", "/repo", "base", infos(), at=1000.0))
    expected = burst(bus, 0, 2000)
    assert await poll(lambda: asyncio.sleep(0, told)), "the full disk was not told"
    assert told[0] is not None and "full" in told[0]
    assert not task.done()  # the writer rides it out
    expected += burst(bus, 2000, 2000)  # the run goes on meanwhile
    bus.publish(UsageUpdate("a", Usage(tokens_in=10**20, tokens_out=-5)))  # absurd: clamped, never fatal
    await asyncio.sleep(0.2)
    await writer.more_space()
    bus.close()
    await asyncio.wait_for(task, 60)
    assert told[-1] is None and writer.trouble is None
    (task_row,) = [t for t in await store.tasks(session.id) if t.key == "a"]
    got, after = [], 0
    while page := await store.log_lines(task_row.id, after_id=after, limit=1000):
        got += page
        after = page[-1].id
    assert [line.text for line in got] == expected  # every line, in order, none twice
    assert writer.lines_written == 4000


async def test_a_disk_that_stays_full_ends_in_one_clear_error(store: Store) -> None:
    session = await store.create_session("/repo", "objective", "base")
    await store.record_run("run-1", session.id, "plan.toml", None)
    bus = EventBus()
    told: list[str | None] = []
    writer = SmallDisk(store, session.id, "run-1", on_trouble=told.append, retry_interval=0.05, give_up_after=0.3)
    task = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(RunStarted("run-1", "/repo", "base", infos(), at=1000.0))
    burst(bus, 0, 2000)
    bus.close()
    writer.finish()
    with pytest.raises(RecordingFailed, match=r"could not be written .*full"):
        await asyncio.wait_for(task, 60)
    assert told and told[0] is not None
