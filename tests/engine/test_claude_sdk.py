"""The ``claude`` profile: the real Claude Code (brought by the Claude Agent SDK) run by the engine in a
task's worktree, talking to the stand-in Messages API, its permission requests going through the ask
channel. Figures are checked against what the stand-in returned."""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from engine.errors import CommandError
from engine.agents.claude_sdk import SESSION_KEY
from engine.asks import HEADLESS_REASON, AskPolicy, QuestionAnswered, QuestionAsked
from engine.events import AgentSession, BreakerChanged, BudgetReached, PromptSent, TaskStateChanged
from engine.states import TaskState
from engine.worktrees import default_worktree_root
from tests.helpers.anthropic_stub import error, text, tool_use
from tests.helpers.claude_code import (
    MODEL, answer_next, claude_profiles, claude_stub, sent_text, tool_results,
)
from tests.helpers.events import eventually, make_engine, plan_of, wait_for_file
from tests.helpers.processes import proc_state
from tests.helpers.repos import git

S = TaskState
__all__ = ["claude_stub"]  # the fixture, used by name


def worktree_of(repo: Path, run_id: str, task: str = "t") -> Path:
    """Where the engine will make the task's worktree (the stand-in's script names paths in it)."""
    return default_worktree_root(repo) / run_id / task


async def test_policy_and_developer_answer_what_claude_code_asks(repo, runner, claude_stub, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("old\n")
    wt = worktree_of(repo, "r1")
    claude_stub.add(
        tool_use("Write", file_path=str(wt / "a.txt"), content="hello\n", input_tokens=1200, output_tokens=40),
        tool_use("Bash", command="echo two > b.txt", description="write b", input_tokens=1300, output_tokens=30),
        tool_use("Bash", command="rm -rf build", description="clean", input_tokens=1400, output_tokens=20),
        tool_use("Read", file_path=str(outside), input_tokens=1500, output_tokens=10),
        tool_use("Edit", file_path=str(outside), old_string="old", new_string="new", input_tokens=1600,
                 output_tokens=15),
        tool_use("Agent", description="check", prompt="say ok", subagent_type="general-purpose", model="haiku",
                 run_in_background=False, input_tokens=1700, output_tokens=25),
        text("ok from the subagent", for_model="haiku", input_tokens=300, output_tokens=12),
        text("All done.", input_tokens=1800, output_tokens=50),
    )
    policy = AskPolicy(allow=("Read",))  # reading outside is allowed by rule; editing there is not
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "make the files"}),
                         repo, claude_profiles(policy), run_id="r1")
    task, rec = runner.start(engine)
    first = await answer_next(engine, "allow_once")
    assert first.tool == "Bash" and first.request.command == "echo two > b.txt"
    assert engine.tasks["t"].waiting is False or engine.asks.waiting() == []
    second = await answer_next(engine, "reject_once", reason="use git clean instead")
    assert second.request.command == "rm -rf build"
    states = await asyncio.wait_for(task, 60)
    await rec.finished()
    assert states == {"t": S.SUCCEEDED}, "\n".join(rec.lines("t")) + str([b["model"] for b in claude_stub.bodies])

    # who decided what: the policy (write inside, read by rule, edit outside), the developer (two)
    answered = rec.of(QuestionAnswered)
    decided = [(a.question.tool, a.answer.allow, a.answer.by) for a in answered]
    assert decided == [("Write", True, "policy"), ("Bash", True, "developer"), ("Bash", False, "developer"),
                       ("Read", True, "policy"), ("Edit", False, "policy")]
    assert [a.question.id for a in rec.of(QuestionAsked)] == [first.id, second.id]
    assert "outside the task's worktree" in answered[-1].answer.reason

    # what the model was told: the developer's reason and the policy's, as the tools' results
    bodies = claude_stub.bodies
    denied = [r for b in bodies for r in tool_results(b) if r.get("is_error")]
    assert any("use git clean instead" in str(r["content"]) for r in denied)
    assert any("outside the task's worktree" in str(r["content"]) for r in denied)
    assert outside.read_text() == "old\n"

    # the work is on the task's branch
    result = rec.result("t")
    assert sorted(f.path for f in result.files) == ["a.txt", "b.txt"]
    assert git(repo, "show", f"{result.branch}:a.txt") == "hello"
    assert "2 requests denied" in result.final_message

    # usage: every request the stand-in answered, the subagent's on its other model included
    final = rec.usage("t")[-1].usage
    assert final.tokens_in == 1200 + 1300 + 1400 + 1500 + 1600 + 1700 + 300 + 1800
    assert final.tokens_out == 40 + 30 + 20 + 10 + 15 + 25 + 12 + 50
    main_cost = (1200 + 1300 + 1400 + 1500 + 1600 + 1700 + 1800) * 3e-6 + (40 + 30 + 20 + 10 + 15 + 25 + 50) * 15e-6
    assert final.cost_usd is not None and final.cost_usd > main_cost  # the haiku call costs something too
    assert [b["model"] for b in bodies].count(MODEL) == 7 and any("haiku" in b["model"] for b in bodies)
    assert any("subagent" in line for line in rec.lines("t", "agent"))


async def test_a_headless_run_denies_what_it_would_ask_and_the_model_is_told_why(repo, runner, claude_stub):
    claude_stub.add(tool_use("Bash", command="make deploy", description="deploy"), text("could not deploy"))
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "deploy"}), repo, claude_profiles(),
                         interactive=False)
    states, rec = await runner.run(engine, timeout=60)
    # every change it asked for was refused and it changed nothing: not a silent success
    assert states == {"t": S.FAILED}
    assert rec.result("t").final_message.startswith("every change it asked for was denied (1 request)")
    assert rec.of(QuestionAsked) == []
    (answered,) = rec.of(QuestionAnswered)
    assert answered.answer.by == "headless" and answered.answer.reason == HEADLESS_REASON
    assert HEADLESS_REASON in str(tool_results(claude_stub.bodies[1])[0]["content"])
    assert engine.asks.denied == {"t": 1}


async def test_a_bad_key_ends_the_task_at_once_as_an_authentication_failure(repo, runner, claude_stub, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "wrong-key")
    profiles = claude_profiles(breaker_threshold=1)
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "hi"}), repo, profiles)
    states, rec = await runner.run(engine, timeout=60)
    assert states == {"t": S.FAILED}
    lines = rec.lines("t", "agent")
    assert any(line.startswith("! retry 1/") and "401 authentication_failed" in line for line in lines)
    assert "authentication failed" in rec.result("t").final_message
    (opened,) = [b for b in rec.of(BreakerChanged) if b.state == "open"]
    assert opened.kind == "auth"
    assert len(claude_stub.requests) <= 2  # not the ten retries over minutes Claude Code would make


async def test_a_follow_up_goes_into_the_running_conversation(repo, runner, claude_stub):
    held = text("working on it").held()
    claude_stub.add(held, text("done, and X too"))
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "do the task"}), repo, claude_profiles())
    task, rec = runner.start(engine)
    await eventually(held.started.is_set, what="the first response")
    await engine.send("t", "please also do X")
    held.release()
    states = await asyncio.wait_for(task, 60)
    assert states == {"t": S.SUCCEEDED}
    assert len(claude_stub.requests) == 2
    assert "please also do X" in sent_text(claude_stub.bodies[1])
    assert rec.result("t").final_message == "done, and X too"


async def test_a_follow_up_after_the_task_ended_continues_its_claude_session(repo, runner, claude_stub):
    wt = worktree_of(repo, "r1")
    claude_stub.add(
        tool_use("Write", file_path=str(wt / "a.txt"), content="one\n", input_tokens=1000, output_tokens=40),
        text("wrote a.txt", input_tokens=1100, output_tokens=20),
        tool_use("Write", file_path=str(wt / "b.txt"), content="two\n", input_tokens=1200, output_tokens=30),
        text("wrote b.txt too", input_tokens=1300, output_tokens=10),
    )
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "write a.txt"}), repo, claude_profiles(),
                         run_id="r1")
    task, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("t", S.SUCCEEDED)
    assert engine.continue_refusal("t") is None
    await engine.send("t", "also write b.txt")
    await rec.wait_for(lambda e: isinstance(e, TaskStateChanged) and e.task_id == "t" and e.new is S.SUCCEEDED
                       and e.attempt == 2, what="the second attempt's success")
    engine.close()
    assert await asyncio.wait_for(task, 30) == {"t": S.SUCCEEDED}
    assert rec.states("t") == [S.READY, S.RUNNING, S.SUCCEEDED, S.READY, S.RUNNING, S.SUCCEEDED]

    # the stand-in was asked with the earlier conversation, then the message, as the last user turn
    assert len(claude_stub.requests) == 4
    resumed = claude_stub.bodies[2]
    assert "write a.txt" in sent_text(resumed) and "wrote a.txt" in sent_text(resumed)
    last = resumed["messages"][-1]
    assert last["role"] == "user" and "also write b.txt" in json.dumps(last["content"])
    assert "also write b.txt" not in sent_text(claude_stub.bodies[1])
    (sent,) = [p for p in rec.of(PromptSent) if p.attempt == 2]
    assert sent.prompt == "also write b.txt"
    sessions = rec.of(AgentSession)
    assert [s.attempt for s in sessions] == [1, 2] and sessions[0].session_id == sessions[1].session_id
    assert sessions[0].resume == f"claude --resume {sessions[0].session_id}"
    assert any("resuming Claude session" in line for line in rec.lines("t", "agent"))

    # both changes are in the task's worktree and on its branch, from the one start commit
    result = rec.result("t")
    assert result.attempt == 2 and result.start_commit == rec.results("t")[0].start_commit
    assert sorted(f.path for f in result.files) == ["a.txt", "b.txt"]
    assert (wt / "a.txt").read_text() == "one\n" and (wt / "b.txt").read_text() == "two\n"
    assert git(repo, "show", f"{result.branch}:b.txt") == "two"

    # the resumed session's result repeats the first attempt's figures: each request is counted once
    final = rec.usage("t")[-1].usage
    assert final.tokens_in == 1000 + 1100 + 1200 + 1300
    assert final.tokens_out == 40 + 20 + 30 + 10
    main = (1000 + 1100 + 1200 + 1300) * 3e-6 + (40 + 20 + 30 + 10) * 15e-6
    assert final.cost_usd is not None and abs(final.cost_usd - main) < 1e-9


async def test_a_dependent_waiting_for_other_work_waits_again_for_the_follow_up(repo, runner, claude_stub, tmp_path):
    gate = tmp_path / "gate"
    wt = worktree_of(repo, "r1")
    held = text("wrote b.txt").held()
    claude_stub.add(tool_use("Write", file_path=str(wt / "a.txt"), content="a\n"), text("wrote a.txt"),
                    tool_use("Write", file_path=str(wt / "b.txt"), content="b\n"), held)
    plan = plan_of({"id": "t", "agent": "claude", "prompt": "write a.txt"},
                   {"id": "slow", "prompt": wait_for_file(gate)},
                   {"id": "after", "prompt": "cat a.txt b.txt > both.txt", "depends_on": ["t", "slow"]})
    engine = make_engine(plan, repo, claude_profiles(), run_id="r1")
    task, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("t", S.SUCCEEDED)
    await engine.send("t", "and b.txt")
    await eventually(held.started.is_set, what="the follow-up's answer")
    gate.touch()
    await rec.wait_state("slow", S.SUCCEEDED)
    assert engine.tasks["after"].state is S.PENDING  # t is running again: its new work is not there yet
    held.release()
    await rec.wait_state("after", S.SUCCEEDED)  # it started from both of t's changes (cat found b.txt)
    assert [e.attempt for e in rec.transitions("t") if e.new is S.SUCCEEDED] == [1, 2]
    after = rec.result("after")
    assert [f.path for f in after.files] == ["both.txt"] and git(repo, "show", f"{after.branch}:both.txt") == "a\nb"
    with pytest.raises(CommandError, match="task 'after' started \\(or is starting\\) from its work"):
        await engine.send("t", "and c.txt")
    engine.close()
    assert await asyncio.wait_for(task, 30) == {"t": S.SUCCEEDED, "slow": S.SUCCEEDED, "after": S.SUCCEEDED}


async def test_a_token_budget_interrupts_claude_code_mid_run(repo, runner, claude_stub):
    held = text("a long answer", input_tokens=5000).held()
    claude_stub.add(tool_use("Read", file_path="README.md", input_tokens=600, output_tokens=50), held)
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "read", "budget_tokens": 2000}),
                         repo, claude_profiles())
    states, rec = await runner.run(engine, timeout=60)
    held.release()
    assert states == {"t": S.BUDGET_EXCEEDED}
    (hit,) = rec.of(BudgetReached)
    assert hit.spent >= 2000
    final = rec.usage("t")[-1].usage
    assert final.tokens_in >= 5600 and final.cost_usd is not None  # the figures seen before the stop, priced


async def test_a_retry_resumes_the_same_claude_session(repo, runner, claude_stub):
    held = text("never finished").held()
    claude_stub.add(text("first answer", input_tokens=100, output_tokens=10), held,
                    text("resumed answer", input_tokens=400, output_tokens=40))
    # a stop grace long enough for Claude Code to end the interrupted turn with its result (its figures)
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "step one"}), repo, claude_profiles(),
                         stop_grace=5.0)
    task, rec = runner.start(engine, stay_open=True)
    await rec.wait_line("t", "first answer")
    await engine.send("t", "step two")
    await eventually(held.started.is_set, what="the second response")
    # the agent saw the second response begin (its input tokens), then the developer cancels
    await eventually(lambda: rec.usage("t") and rec.usage("t")[-1].usage.tokens_in >= 110, what="its usage")
    engine.cancel("t")
    await rec.wait_state("t", S.CANCELLED)
    held.release()
    engine.retry("t")
    await rec.wait_state("t", S.SUCCEEDED)
    engine.close()
    await asyncio.wait_for(task, 30)
    resumed = claude_stub.bodies[-1]
    assert "step one" in sent_text(resumed) and "first answer" in sent_text(resumed)
    assert any("resuming Claude session" in line for line in rec.lines("t", "agent"))
    # the resumed session reports the earlier attempt's figures again: they are counted once
    final = rec.usage("t")[-1].usage
    assert final.tokens_in == 100 + 10 + 400 and final.tokens_out == 10 + 1 + 40


async def test_waiting_for_the_developer_does_not_count_against_the_timeout(repo, runner, claude_stub):
    claude_stub.add(tool_use("Bash", command="make release", description="release"), text("released"))
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "release", "timeout": "60s"}),
                         repo, claude_profiles())
    task, rec = runner.start(engine)
    await eventually(engine.asks.waiting, what="a question")
    run = engine.tasks["t"]
    assert run.waiting
    before = run.attempt_seconds()
    await asyncio.sleep(0.3)
    assert run.attempt_seconds() == before and run.state is S.RUNNING  # the clock stands while it waits
    engine.pause("t")
    engine.resume("t")
    assert run.attempt_seconds() == before  # resumed, still waiting: still standing
    engine.pause("t")
    await answer_next(engine, "allow_once")
    engine.resume("t")
    states = await asyncio.wait_for(task, 60)
    assert states == {"t": S.SUCCEEDED}


async def test_cancelling_a_task_that_waits_takes_its_question_away(repo, runner, claude_stub):
    claude_stub.add(tool_use("Bash", command="make release", description="release"), text("never"))
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "release"}), repo, claude_profiles())
    task, rec = runner.start(engine)
    await eventually(engine.asks.waiting, what="a question")
    engine.cancel("t")
    states = await asyncio.wait_for(task, 60)
    assert states == {"t": S.CANCELLED}
    assert engine.asks.waiting() == []
    assert rec.of(QuestionAnswered)[-1].answer.by == "stopped"


async def test_a_session_claude_code_cannot_resume_is_forgotten(repo, runner, claude_stub):
    claude_stub.add(text("a fresh start", input_tokens=100, output_tokens=10))
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "go"}), repo, claude_profiles())
    engine.tasks["t"].memory = {SESSION_KEY: "0b0e6a43-5b1a-4f0e-9d7c-000000000000"}  # not in Claude Code's folder
    task, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("t", S.FAILED)
    assert any("could not be resumed: the next attempt starts a new one" in line for line in rec.lines("t", "agent"))
    assert SESSION_KEY not in (engine.tasks["t"].memory or {})
    engine.retry("t")
    await rec.wait_state("t", S.SUCCEEDED)
    engine.close()
    await asyncio.wait_for(task, 30)
    assert rec.result("t").final_message == "a fresh start" and len(claude_stub.requests) == 1


def claude_code_processes() -> list[int]:
    """The processes of the Claude Code the SDK bundles that run now (not their supervisors)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                program = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if program.endswith(b"_bundled/claude"):
                found.append(int(entry))
    return found


async def test_pause_stops_claude_code_and_resume_lets_it_go_on(repo, runner, claude_stub):
    """The SDK keeps the process it starts to itself: pause and resume reach it through its supervisor."""
    claude_stub.add(tool_use("Bash", command="make release", description="release"), text("released"))
    engine = make_engine(plan_of({"id": "t", "agent": "claude", "prompt": "release"}), repo, claude_profiles())
    task, rec = runner.start(engine)
    await eventually(engine.asks.waiting, what="a question")
    running = claude_code_processes()
    assert running, "no Claude Code process found"
    engine.pause("t")
    await eventually(lambda: all(proc_state(pid) in ("T", None) for pid in running), what="Claude Code stopped")
    engine.resume("t")
    await eventually(lambda: all(proc_state(pid) != "T" for pid in running), what="Claude Code going on")
    await answer_next(engine, "allow_once")
    states = await asyncio.wait_for(task, 60)
    assert states == {"t": S.SUCCEEDED}
