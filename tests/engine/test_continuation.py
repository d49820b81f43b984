"""When a message to a task that has ended can continue its agent's conversation, and the one line that
says why not (what runs it, where its work is, who started from that work)."""
from __future__ import annotations

from pathlib import Path

import pytest

from acp.schema import AgentCapabilities

from engine.agents.acp_agent import REOPEN_KEY as REOPEN, SESSION_KEY as ACP_SESSION, reopening
from engine.agents.base import plain_session_id
from engine.agents.claude_sdk import SESSION_KEY
from engine.continuation import refusal
from engine.profiles import ProfileSet
from engine.states import TaskState
from engine.task_run import TaskRun
from engine.worktrees import Worktree
from tests.helpers.events import plan_of

S = TaskState
PROFILES = ProfileSet()


def ended(tmp_path: Path, state: TaskState = S.SUCCEEDED, session: str | None = "5b1d-session",
          children: int = 1) -> tuple[TaskRun, list[TaskRun]]:
    plan = plan_of({"id": "t", "agent": "claude", "prompt": "p"},
                   *({"id": f"c{i}", "prompt": "true", "depends_on": ["t"]} for i in range(children)))
    runs = [TaskRun(spec) for spec in plan.tasks]
    run, kids = runs[0], runs[1:]
    run.dependents = kids
    run.state, run.attempts = state, 1
    run.memory = {SESSION_KEY: session} if session else {}
    (tmp_path / "wt").mkdir(exist_ok=True)
    run.worktree = Worktree("t", str(tmp_path / "wt"), "cockpit/r/t", "abc")
    return run, kids


@pytest.mark.parametrize("state", [S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.CANCELLED, S.BUDGET_EXCEEDED])
def test_a_claude_task_that_ended_with_a_session_can_go_on(tmp_path: Path, state: TaskState) -> None:
    run, _ = ended(tmp_path, state)
    assert refusal(run, PROFILES["claude"]) is None


def test_a_pending_dependent_does_not_stop_it_and_a_started_one_does(tmp_path: Path) -> None:
    run, (a, b) = ended(tmp_path, children=2)
    assert refusal(run, PROFILES["claude"]) is None  # they wait for other work: they will take the new one
    a.state = S.READY
    assert refusal(run, PROFILES["claude"]) == (
        "task 'c0' started (or is starting) from its work: continuing it would change work they do not have")
    b.state, b.attempts = S.SUCCEEDED, 1
    assert "tasks 'c0', 'c1' started (or are starting)" in (refusal(run, PROFILES["claude"]) or "")


def test_its_worktree_removed_refuses(tmp_path: Path) -> None:
    run, _ = ended(tmp_path)
    (tmp_path / "wt").rmdir()
    assert refusal(run, PROFILES["claude"]) == (
        f"its worktree {tmp_path / 'wt'} is gone, and with it the work the conversation was about")


def test_what_never_ran_or_has_no_conversation_refuses(tmp_path: Path) -> None:
    run, _ = ended(tmp_path, session=None)
    assert refusal(run, PROFILES["claude"]) == (
        "Claude Code never told it a session id (it ended before its conversation began); "
        "review its work (v); what remains needs a task of its own")
    run, _ = ended(tmp_path, S.FAILED)
    assert refusal(run, PROFILES["claude-acp"]) == (
        "its ACP agent (profile 'claude-acp') offers no way to reopen its session (session/resume or session/load), "
        "and that session ended with its process; retry it with your message instead (r)")
    assert "ran once as a program" in (refusal(run, PROFILES["codex"]) or "")
    assert "lived in its attempt" in (refusal(run, PROFILES["sonnet"]) or "")
    run.state, run.attempts = S.PENDING, 0
    assert refusal(run, PROFILES["claude"]) == "it has not run yet: a message goes to a running agent"
    run.state, run.attempts, run.retry_pending = S.FAILED, 1, True
    assert refusal(run, PROFILES["claude"]) == "it waits for an automatic retry: r starts it now, with your message"


def test_an_acp_task_goes_on_when_its_agent_offered_to_reopen_its_session(tmp_path: Path) -> None:
    run, _ = ended(tmp_path, session=None)
    run.memory = {ACP_SESSION: "sess-1", REOPEN: "load"}
    assert refusal(run, PROFILES["claude-acp"]) is None
    run.memory = {ACP_SESSION: "sess 1", REOPEN: "load"}  # not a plain id: never given back to the agent
    assert refusal(run, PROFILES["claude-acp"]) is not None


def test_how_an_agent_offers_to_reopen_a_session_is_read_from_its_capabilities() -> None:
    assert reopening(AgentCapabilities.model_validate(
        {"loadSession": True, "sessionCapabilities": {"resume": {}}})) == "resume"
    assert reopening(AgentCapabilities.model_validate({"loadSession": True})) == "load"
    assert reopening(AgentCapabilities.model_validate({})) == ""
    assert reopening(None) == ""


@pytest.mark.parametrize("value, kept", [
    ("0f4c2d9e-8a1b-4c3d-9e8f-7a6b5c4d3e2f", True), ("ses_01J9", True),
    ("\x1b]52;c;aGk=\x07", False), ("a b", False), ("--help", False), ("../../etc", False), ("x" * 129, False),
    ("", False), (None, False), (7, False), ("[bold]x[/]", False),
])
def test_only_a_plain_session_id_is_kept(value: object, kept: bool) -> None:
    assert plain_session_id(value) == (value if kept else "")
