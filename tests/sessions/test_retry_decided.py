"""A retry by hand of a task whose work the developer already decided on, in a recorded session with shell
agents on a real repository: after a discard the task starts over from a fresh worktree (the run's base and
its dependencies' work, as its first attempt did), the new work is undecided and reviewable, and the discard
stays on record; after an accept it does not run again; a follow-up after a discard is still refused."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import CommandError
from engine.states import TaskState
from tests.helpers.anthropic_stub import text, tool_use
from tests.helpers.claude_code import MODEL, claude_stub, sent_text
from tests.helpers.events import eventually
from tests.helpers.repos import git
from tests.helpers.session_runs import start_live, write_plan
from tests.sessions.test_follow_up import eventually_async

__all__ = ["claude_stub"]  # the fixture, used by name
S = TaskState


def counted(counter: Path, out: str) -> str:
    """A shell prompt that writes which attempt it is into ``out`` (the count kept outside every worktree)
    and fails on its first attempt."""
    return (f'n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo "$n" > {counter}; '
            f'echo "attempt $n" > {out}; [ "$n" -ge 2 ]')


async def test_a_retry_after_a_discard_starts_from_a_fresh_worktree(store, repo, tmp_path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    live = await start_live(store, repo, write_plan(tmp_path / "plans", [
        {"id": "lib", "prompt": "echo 'lib' > lib.txt"},
        {"id": "t", "depends_on": ["lib"], "prompt": counted(tmp_path / "count", "work.txt")},
    ]), "retry discarded work")
    run = live.engine.tasks["t"]
    await live.start()
    await eventually(lambda: run.state is S.FAILED and run.last_result is not None, what="the failed first attempt")
    first = run.last_result
    assert first is not None and first.head_commit != first.start_commit
    await live.discard("t", "a broken start")
    assert not os.path.exists(first.worktree)

    await live.retry("t", "keep it small")
    await eventually(lambda: run.attempts == 2 and run.state.terminal, what="the retry")
    assert run.state is S.SUCCEEDED, run.reason
    second = run.last_result
    assert second is not None and second.worktree == first.worktree and second.branch == first.branch
    assert Path(second.worktree, "work.txt").read_text() == "attempt 2\n"
    assert Path(second.worktree, "lib.txt").read_text() == "lib\n"  # its dependency's work, merged in afresh
    history = git(repo, "log", "--format=%H", second.head_commit).split()
    assert first.head_commit not in history and base in history
    # the review shows the new attempt's work, undecided, and it can be accepted
    facts = await live.decisions.task("t")
    assert (facts.decision, facts.head_commit) == (None, second.head_commit)
    incoming = await live.decisions.incoming("t")
    assert [(f.file.path, f.sources) for f in incoming.files] == [("lib.txt", ("lib",)), ("work.txt", ("t",))]

    async def reopened():
        (row,) = [r for r in await store.tasks(live.row.id) if r.key == "t"]
        return row if row.head_commit == second.head_commit and row.decision is None else None

    row = await eventually_async(reopened)
    said = [line.text for line in await store.log_lines(row.id)]
    assert "the work of its earlier attempt was discarded: it starts from a fresh worktree" in said
    kinds = [(i.type, i.task_key, i.text) for i in await store.interventions(live.row.id)]
    assert kinds == [("retry", "t", "retried task t from a fresh worktree (the work of its earlier attempt "
                                     "was discarded: a broken start) with the message: keep it small")]
    await live.accept("t", "with-deps")
    assert git(repo, "show", "HEAD:work.txt") == "attempt 2"
    await live.end()


async def test_no_follow_up_after_a_discard_and_no_retry_after_an_accept(store, repo, tmp_path) -> None:
    live = await start_live(store, repo, write_plan(tmp_path / "plans", [
        {"id": "gone", "prompt": "echo gone > gone.txt; exit 3"},
        {"id": "kept", "prompt": "echo kept > kept.txt; exit 3"},
    ]), "decided work")
    await live.start()
    await eventually(lambda: all(r.state is S.FAILED for r in live.engine.tasks.values()), what="both failed")
    await live.discard("gone")
    with pytest.raises(CommandError, match="^task 'gone' was already discarded: its work was deleted with its "
                                           "worktree and branch, so its conversation does not go on"):
        await live.send("gone", "try harder")

    await live.accept("kept")
    assert git(repo, "show", "HEAD:kept.txt") == "kept"
    with pytest.raises(CommandError, match="^task 'kept' was already accepted: its work is in your branch, so "
                                           "it does not run again; what remains needs a task of its own$"):
        await live.retry("kept")
    assert live.engine.tasks["kept"].state is S.FAILED and live.engine.tasks["kept"].attempts == 1
    assert (await live.decisions.task("kept")).decision == "accepted"
    assert await store.interventions(live.row.id) == []
    await live.end()


async def test_a_retry_after_a_discard_does_not_resume_the_conversation_that_built_the_work(
        store, repo, tmp_path, claude_stub) -> None:
    (repo / "cockpit.toml").write_text(f'[agents.claude]\nmodel = "{MODEL}"\n')  # the stand-in's model
    live = await start_live(store, repo, write_plan(tmp_path / "plans", [
        {"id": "t", "agent": "claude", "prompt": "write a.txt", "check": "test -f done.txt", "retries": 0}]),
        "retry claude")
    run = live.engine.tasks["t"]
    claude_stub.add(text("first answer, no file"), text("second answer"))
    await live.start()
    await eventually(lambda: run.state is S.FAILED and run.agent_session is not None, what="the failed check")
    await live.discard("t", "the check failed")
    await live.retry("t")
    await eventually(lambda: run.attempts == 2 and run.state.terminal, what="the retry")
    second = claude_stub.bodies[-1]
    assert len(claude_stub.bodies) == 2 and "write a.txt" in sent_text(second)
    assert "first answer" not in sent_text(second)  # a new conversation, not the one that built the work
    assert "done.txt" not in sent_text(second)  # nor the failed check's feedback on the work that is gone
    await live.end()
