"""The cockpit's bookkeeping (:class:`tui.cockpit_model.CockpitModel`), driven by events without a screen."""
from __future__ import annotations

import subprocess
import sys

from engine.checks import CheckResult
from engine.events import (
    BudgetReached, CheckFinished, FileStat, PromptSent, TaskResult, TaskRouted, TaskStateChanged,
)
from engine.continuation import FOLLOW_UP
from engine.formatting import state_word
from engine.plan import TaskSpec
from engine.states import TaskState
from engine.task_run import TaskRun
from engine.worktrees import Worktree
from tests.helpers.paths import ROOT
from tui.cockpit_model import CockpitModel

S = TaskState


def model(*specs: TaskSpec) -> CockpitModel:
    specs = specs or (TaskSpec("a", "Alpha", "echo a", "shell"), TaskSpec("b", "b", "echo b", "shell"))
    return CockpitModel("run1", {s.id: TaskRun(s) for s in specs})


def change(m: CockpitModel, task_id: str, new: TaskState, attempt: int = 1, reason: str = "") -> None:
    """The engine's change of state, as it publishes it, told to the model."""
    run = m.tasks[task_id]
    old, run.state, run.attempts = run.state, new, max(run.attempts, attempt)
    m.on_state(TaskStateChanged(task_id, old, new, attempt, reason))


def result(m: CockpitModel, task_id: str, *paths: str) -> None:
    run = m.tasks[task_id]
    run.last_result = TaskResult(task_id, run.state, run.attempts, f"cockpit/run1/{task_id}", "/wt", "c0", "c1",
                                 tuple(FileStat(p, 1, 0) for p in paths), 0)


def test_states_and_attempts_follow_the_events_and_mark_what_to_draw() -> None:
    m = model()
    change(m, "a", S.RUNNING, 1)
    change(m, "a", S.FAILED, 1, "exit 3")
    change(m, "a", S.RUNNING, 2)
    assert m.states == {"a": S.RUNNING, "b": S.PENDING}
    assert m.attempts == {"a": 2, "b": 0}
    assert m.restyle == {"a"}
    m.on_state(TaskStateChanged("elsewhere", S.PENDING, S.RUNNING, 1))  # not a task of this plan
    assert set(m.states) == {"a", "b"}


def test_notices_of_one_kind_become_one_and_are_said_once() -> None:
    m = model()
    change(m, "a", S.SUCCEEDED)
    change(m, "b", S.SUCCEEDED)
    assert m.has_notices
    assert m.take_notices() == [("information", "a, b succeeded")]
    assert not m.has_notices and m.take_notices() == []
    change(m, "a", S.FAILED, 2, "exit 3")
    change(m, "b", S.RUNNING, 2)  # running is no news
    assert m.take_notices() == [("error", "a failed (exit 3)")]
    change(m, "b", S.PAUSED, 2)
    assert m.take_notices() == [("warning", "b is paused: waiting for you (p resumes it)")]


def test_the_run_status_counts_and_says_the_run_state() -> None:
    m = model(*(TaskSpec(t, t, "true", "shell") for t in "abcd"))
    change(m, "a", S.RUNNING)
    change(m, "b", S.RUNNING)
    change(m, "c", S.SUCCEEDED)
    assert m.run_status(run_paused=False) == "run run1 · 2 running · 1/4 settled"
    assert m.run_status(run_paused=True) == "run run1 · 2 running · 1/4 settled · RUN PAUSED"
    assert m.on_budget(BudgetReached("session", "a", "usd", 5.2, 5.0))
    assert not m.on_budget(BudgetReached("task", "b", "usd", 1.2, 1.0))
    m.on_run_finished()
    assert m.status_changed
    assert m.run_status(run_paused=True) == ("run run1 · 2 running · 1/4 settled · "
                                             f"{BudgetReached('session', 'a', 'usd', 5.2, 5.0).describe().upper()} · run ended")


def test_the_end_is_offered_once_not_after_every_retry() -> None:
    m = model()
    change(m, "a", S.SUCCEEDED)
    assert not m.should_offer_end()
    change(m, "b", S.FAILED, reason="exit 1")
    m.tasks["b"].retry_pending = True  # an automatic retry is on its way: not settled
    assert m.settled_count() == 1 and not m.should_offer_end()
    m.tasks["b"].retry_pending = False
    assert m.should_offer_end()
    assert not m.should_offer_end()
    change(m, "b", S.RUNNING, 2)  # retried by hand
    assert not m.should_offer_end()
    change(m, "b", S.SUCCEEDED, 2)
    assert not m.should_offer_end()  # said once is enough


def test_the_end_dialog_names_what_runs_and_the_work_not_reviewed() -> None:
    m = model(*(TaskSpec(t, t, "true", "shell") for t in ("kept", "left", "nothing", "busy")))
    for task_id in ("kept", "left", "nothing"):
        change(m, task_id, S.SUCCEEDED)
    change(m, "busy", S.RUNNING)
    result(m, "kept", "kept.txt")
    result(m, "left", "left.txt", "more.txt")
    result(m, "nothing")
    assert m.unfinished() == 1
    assert m.unreviewed({"kept"}) == ["left"]
    assert m.end_detail({"kept"}) == ("1 task still running will be cancelled. Not reviewed yet: left (v reviews "
                                      "a task now; later, cockpit review does).")
    change(m, "busy", S.CANCELLED)
    assert m.end_detail({"kept", "left"}) == "Every task has ended."


def test_task_facts_show_the_prompt_as_sent_its_route_and_its_check() -> None:
    spec = TaskSpec("t", "Tests", "write tests", "auto", depends_on=("a", "b"), role="tester",
                    check=("bash", "-c", "pytest -q"), agents=("auto",))
    m = model(spec)
    facts, prompt = m.task_facts("t")
    assert facts == [("Title", "Tests"), ("Agent", "auto"), ("Role", "tester"), ("Check", "pytest -q"),
                     ("Depends on", "a, b"), ("Prompt", "as written in the plan")]
    assert prompt == "write tests"
    m.on_routed(TaskRouted("t", "fast", "best", "best record", ("fast", "slow"), 1))
    m.on_prompt(PromptSent("t", 2, "fast", "write tests\n\nThe check failed: ..."))
    m.on_check(CheckFinished("t", 1, CheckResult("pytest -q", False, 1, None)))
    facts, prompt = m.task_facts("t")
    assert dict(facts)["Agent"] == "fast"
    assert dict(facts)["Routing"] == "best: best record"
    assert dict(facts)["Last check"] == "failed: exit 1"
    assert dict(facts)["Prompt"] == "as sent to attempt 2"
    assert prompt.endswith("The check failed: ...")
    m.tasks["t"].agent_session = ("5b1d", "claude --resume 5b1d")
    assert dict(m.task_facts("t")[0])["Continue by hand"] == "claude --resume 5b1d"
    m.tasks["t"].worktree = Worktree("t", "/wt/t", "cockpit/run1/t", "c0")
    assert dict(m.task_facts("t")[0])["Continue by hand"] == "claude --resume 5b1d   (in /wt/t)"


def test_the_model_imports_no_textual() -> None:
    code = "import sys, tui.cockpit_model; print(any(n.startswith('textual') for n in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_what_a_message_would_do_is_known_before_it_is_typed() -> None:
    class Agent:
        accepts_messages = True

    m = model()
    assert m.message_mode("a") == ("none", "a has not started yet: a message goes to a running agent")
    run = m.tasks["a"]
    run.state, run.agent = S.RUNNING, Agent()
    assert m.message_mode("a")[0] == "send"
    run.agent.accepts_messages = False
    mode, why = m.message_mode("a")
    assert mode == "none" and "(profile shell) takes no message while it runs" in why
    run.state, run.agent = S.FAILED, None
    assert m.message_mode("a") == ("retry", "Enter retries a (failed) with your message as feedback, Escape leaves")
    run.state = S.SUCCEEDED
    assert m.message_mode("a") == ("none", "a succeeded and its conversation cannot go on: "
                                           "the run cannot continue a conversation")


def test_an_ended_task_whose_conversation_can_go_on_is_offered_a_follow_up_until_its_work_is_decided() -> None:
    refusals: dict[str, str | None] = {"a": None, "b": "its agent (profile 'shell') runs a script once"}
    m = CockpitModel("run1", model().tasks, refusals.get)
    a, b = m.tasks["a"], m.tasks["b"]
    for state in (S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.CANCELLED, S.BUDGET_EXCEEDED):
        a.state = b.state = state
        assert m.message_mode("a") == ("continue", f"Enter continues the conversation of a ({state_word(state)}) "
                                                   "with your message, a new attempt in its worktree; Escape leaves")
        assert m.message_mode("b")[0] == ("none" if state is S.SUCCEEDED else "retry")
    assert m.message_mode("b")[1] == "Enter retries b (over budget) with your message as feedback, Escape leaves"
    a.retry_pending = True  # on its way back already: the message goes with the retry
    assert m.message_mode("a")[0] == "retry"
    a.retry_pending, a.state = False, S.SUCCEEDED
    m.decisions["a"] = "accepted"
    assert m.message_mode("a") == ("none", "a was accepted: its conversation does not go on")
    a.state, b.state = S.SKIPPED, S.SUCCEEDED
    assert m.message_mode("a")[0] == "none"
    assert m.message_mode("b") == ("none", "b succeeded and its conversation cannot go on: its agent (profile "
                                           "'shell') runs a script once")


def test_a_new_attempt_gets_a_rule_with_its_number_and_why() -> None:
    m = model()
    assert m.on_state(TaskStateChanged("a", S.READY, S.RUNNING, 1)) == ""  # the first attempt: no rule
    assert m.on_state(TaskStateChanged("a", S.RUNNING, S.FAILED, 1, "exit 3")) == ""
    assert m.on_state(TaskStateChanged("a", S.FAILED, S.RUNNING, 2)) == "──── attempt 2 · automatic retry after: exit 3 ────"
    assert m.on_state(TaskStateChanged("a", S.RUNNING, S.PAUSED, 2)) == ""
    assert m.on_state(TaskStateChanged("a", S.PAUSED, S.RUNNING, 2)) == ""  # a resume is the same attempt
    m.on_state(TaskStateChanged("a", S.RUNNING, S.CANCELLED, 2, "cancelled"))
    m.on_state(TaskStateChanged("a", S.CANCELLED, S.READY, 2))
    assert m.on_state(TaskStateChanged("a", S.READY, S.RUNNING, 3)) == "──── attempt 3 · retried by you after: cancelled ────"
    m.on_state(TaskStateChanged("a", S.RUNNING, S.SUCCEEDED, 3, "exit 0"))
    m.on_state(TaskStateChanged("a", S.SUCCEEDED, S.READY, 3, FOLLOW_UP))
    assert m.on_state(TaskStateChanged("a", S.READY, S.RUNNING, 4)) == "──── attempt 4 · your follow-up after: exit 0 ────"
    m.on_state(TaskStateChanged("a", S.RUNNING, S.FAILED, 4, "exit 1"))
    m.on_state(TaskStateChanged("a", S.FAILED, S.READY, 4))
    assert m.on_state(TaskStateChanged("a", S.READY, S.RUNNING, 5)) == "──── attempt 5 · retried by you after: exit 1 ────"
