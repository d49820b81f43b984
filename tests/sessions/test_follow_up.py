"""A follow-up after a task ended, in a recorded session: the real Claude Code (on the stand-in Messages
API) continues its session; the store keeps the session id of the task and of each attempt, with the
command that continues it by hand; the message is an intervention; once the work is decided, no
follow-up goes."""
from __future__ import annotations

import asyncio

import pytest

from engine.errors import CommandError
from engine.states import TaskState
from engine.worktrees import default_worktree_root
from sessions.reports.views import task_item
from tests.helpers.anthropic_stub import text, tool_use
from tests.helpers.claude_code import MODEL, claude_stub
from tests.helpers.events import EVENT_TIMEOUT, eventually
from tests.helpers.repos import git
from tests.helpers.session_runs import start_live, write_plan

__all__ = ["claude_stub"]  # the fixture, used by name
S = TaskState


async def test_the_store_keeps_the_claude_session_and_a_decided_task_takes_no_follow_up(
        store, repo, tmp_path, claude_stub) -> None:
    (repo / "cockpit.toml").write_text(f'[agents.claude]\nmodel = "{MODEL}"\n')
    git(repo, "add", "cockpit.toml")
    git(repo, "commit", "-qm", "the stand-in's model")
    live = await start_live(store, repo, write_plan(tmp_path / "plans", [
        {"id": "t", "agent": "claude", "prompt": "write a.txt"}]), "continue a task")
    wt = default_worktree_root(repo) / live.engine.run_id / "t"
    claude_stub.add(tool_use("Write", file_path=str(wt / "a.txt"), content="one\n"), text("wrote a.txt"),
                    tool_use("Write", file_path=str(wt / "b.txt"), content="two\n"), text("wrote b.txt"))
    run = live.engine.tasks["t"]
    await live.start()
    await eventually(lambda: run.state is S.SUCCEEDED, what="the first attempt")
    await live.send("t", "also write b.txt")
    await eventually(lambda: run.attempts == 2 and run.state is S.SUCCEEDED, what="the follow-up's attempt")

    async def stored():
        (row,) = await store.tasks(live.row.id)
        return row if row.attempts == 2 and row.state == "succeeded" and row.agent_session else None

    row = await eventually_async(stored)
    session = row.agent_session
    assert session and row.resume_command == f"claude --resume {session}"
    shown = task_item(row)  # as cockpit show --json gives it
    assert (shown["agent_session"], shown["resume_command"]) == (session, f"claude --resume {session}")
    attempts = await store.attempts(row.id)
    assert [(a.number, a.agent_session, a.state) for a in attempts] == [(1, session, "succeeded"),
                                                                        (2, session, "succeeded")]
    assert [(i.type, i.task_key, i.text) for i in await store.interventions(live.row.id)] == [
        ("message", "t", "also write b.txt")]

    # accepted, its work is in the branch: the conversation does not go on (and nothing is recorded)
    await live.accept("t")
    assert git(repo, "show", "HEAD:b.txt") == "two"
    with pytest.raises(CommandError, match="^task 't' was already accepted: its work is in your branch, so its "
                                           "conversation does not go on"):
        await live.send("t", "and c.txt")
    assert run.attempts == 2 and len(claude_stub.requests) == 4
    assert len(await store.interventions(live.row.id)) == 1
    await live.end()


async def eventually_async(check):
    """Poll the coroutine function ``check`` until it returns something (bounded by EVENT_TIMEOUT): the
    store's writer commits a moment after the engine's events."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EVENT_TIMEOUT
    while loop.time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting for the store")
