"""Budgets: a task stopped at its spending limit (budget_exceeded), the session's limit that stops
new starts, totals in the store and in ``cockpit show --json``, and the API-key check before a run.

Tests synchronise on the engine's events and on asyncio events the test agents set; never on the clock.
"""
from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import cli
from tests.helpers.events import make_engine, plan_of
from tests.helpers.processes import live_group_members, pid_alive
from tests.helpers.repos import git
from engine.agents.base import AgentContext, AgentExit
from engine.agents.command import CommandAgent
from engine.errors import CommandError, PlanError
from engine.events import BudgetReached, RunStarted
from engine.plan import load_plan
from engine.profiles import AgentProfile, ProfileSet
from engine.states import TaskState
from engine.usage import Usage
from sessions.lifecycle import status_for
from sessions.store.store import Store
from sessions.store.schema import LATEST, migrate
from tui.cli.main import main
from tui.cli.headless import run_headless

S = TaskState


# ------------------------------------------------------------------------------------ helpers
class UsageAgent:
    """An in-process agent that reports the usages it is given (cumulative, as agents do).

    ``before`` is awaited before each report after the first (a test's go-ahead); ``reported`` is
    set after each report; with ``hold`` it waits to be stopped (or for ``hold`` to be set) at the end.
    """

    accepts_messages = False

    def __init__(self, ctx: AgentContext, reports: list[Usage], before: list[asyncio.Event] | None = None,
                 reported: list[asyncio.Event] | None = None, hold: asyncio.Event | None = None) -> None:
        self.ctx = ctx
        self.reports = reports
        self.before = before or []
        self.reported = reported or []
        self.hold = hold
        self.stopped = asyncio.Event()

    async def run(self) -> AgentExit:
        for i, usage in enumerate(self.reports):
            if i and i - 1 < len(self.before):
                await self._either(self.before[i - 1])
            if self.stopped.is_set():
                return AgentExit(-15)
            self.ctx.report_usage(usage)
            self.ctx.emit_lines("stdout", [f"report {i + 1}"])
            if i < len(self.reported):
                self.reported[i].set()
            await asyncio.sleep(0)
        if self.hold is not None:
            await self._either(self.hold)
        return AgentExit(-15 if self.stopped.is_set() else 0)

    async def _either(self, event: asyncio.Event) -> None:
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.stopped.wait())}
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def stop(self, grace: float) -> None:
        self.stopped.set()

    async def send(self, text: str) -> None: ...


def factory_of(agents: dict[str, Any]):
    """An agent factory: ``agents[task_id](ctx)`` for the tasks named there, else the program agent."""
    def factory(spec, profile, ctx):
        make = agents.get(spec.id)
        return make(ctx) if make is not None else CommandAgent(profile, ctx)
    return factory


def tokens(n: int, cost: float | None = None) -> Usage:
    return Usage(tokens_in=n, cost_usd=cost)


def budget_events(rec) -> list[BudgetReached]:
    return rec.of(BudgetReached)


# ------------------------------------------------------------------------- a task's budget
def program_profile(pids: Path, **changes: Any) -> AgentProfile:
    """The fake ``claude`` (stream-json) behind a bash that records its pid (the group leader, as
    claude is exec'd in its place) and the pid of a background child in the same group."""
    script = ('echo $$ > "$PIDS"; sleep 60 & echo $! >> "$PIDS"; '
              'exec claude -p "$1" --output-format stream-json --verbose')
    return AgentProfile(
        "budgeted", argv=("bash", "-c", script, "bash", "{prompt}"), output="claude-stream-json",
        env=(("FAKE_AGENT_SLEEP", "60"), ("PIDS", str(pids))), **changes,
    )


async def test_task_over_its_token_budget_is_stopped_with_its_whole_group(
    repo: Path, tmp_path: Path, runner, fake_agents_on_path
) -> None:
    pids = tmp_path / "pids"
    profiles = ProfileSet()
    profiles.profiles["budgeted"] = program_profile(pids)
    plan = plan_of(
        # the first assistant message reports 100 + 20 + 50 + 10 = 180 tokens (cache tokens count)
        {"id": "c", "agent": "budgeted", "prompt": "look around", "budget_tokens": 100, "retries": 2},
        {"id": "after", "prompt": "echo never", "depends_on": ["c"]},
        {"id": "free", "prompt": "echo free"},
        profiles=profiles,
    )
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"c": S.BUDGET_EXCEEDED, "after": S.SKIPPED, "free": S.SUCCEEDED}
    # stopped by the engine, never retried automatically
    assert rec.states("c") == [S.READY, S.RUNNING, S.BUDGET_EXCEEDED]
    reason = rec.transitions("c")[-1].reason
    assert reason.startswith("budget reached: ") and reason.endswith(" tokens of 100")
    assert rec.transitions("after")[-1].reason == "dependency 'c' did not succeed"
    [hit] = budget_events(rec)
    assert (hit.scope, hit.task_id, hit.unit, hit.limit) == ("task", "c", "tokens", 100)
    assert hit.spent >= 180
    assert any(line.endswith(": stopping the agent") for line in rec.lines("c", "engine"))
    # the agent (the group leader) and its background child are gone: no orphan survives
    leader, child = [int(p) for p in pids.read_text().split()]
    assert not pid_alive(leader) and not pid_alive(child)
    assert live_group_members(leader) == []
    # what it had done is kept on its branch, like any ended task
    result = rec.result("c")
    assert result.state is S.BUDGET_EXCEEDED and git(repo, "rev-parse", result.branch) == result.head_commit


async def test_plan_budget_overrides_the_profile_budget(repo: Path, runner) -> None:
    profiles = ProfileSet()
    profiles.profiles["tight"] = profiles["shell"].with_changes(name="tight", budget_tokens=100, budget_usd=1.0)
    plan = plan_of(
        {"id": "loose", "agent": "tight", "prompt": "x", "budget_tokens": 10_000},
        {"id": "strict", "agent": "tight", "prompt": "x"},
        profiles=profiles,
    )
    agents = {tid: (lambda ctx: UsageAgent(ctx, [tokens(500)])) for tid in ("loose", "strict")}
    engine = make_engine(plan, repo, profiles, agent_factory=factory_of(agents))
    states, rec = await runner.run(engine)
    assert states == {"loose": S.SUCCEEDED, "strict": S.BUDGET_EXCEEDED}
    assert engine.task_budget("loose") == (1.0, 10_000) and engine.task_budget("strict") == (1.0, 100)
    infos = {t.id: (t.budget_usd, t.budget_tokens) for t in rec.of(RunStarted)[0].tasks}
    assert infos == {"loose": (1.0, 10_000), "strict": (1.0, 100)}


async def test_usd_budget(repo: Path, runner) -> None:
    plan = plan_of({"id": "t", "prompt": "x", "budget_usd": 0.05})
    agents = {"t": lambda ctx: UsageAgent(ctx, [tokens(10, 0.01), tokens(20, 0.06), tokens(30, 0.09)])}
    states, rec = await runner.run(make_engine(plan, repo, agent_factory=factory_of(agents)))
    assert states == {"t": S.BUDGET_EXCEEDED}
    [hit] = budget_events(rec)
    assert (hit.unit, hit.spent, hit.limit) == ("usd", pytest.approx(0.06), 0.05)
    assert rec.transitions("t")[-1].reason == "budget reached: $0.0600 of $0.05"
    assert rec.lines("t", "stdout") == ["report 1", "report 2"]  # the third report never came


async def test_usd_budget_with_unknown_cost_is_not_enforced_and_said_once(repo: Path, runner) -> None:
    plan = plan_of({"id": "t", "prompt": "x", "budget_usd": 0.01})
    agents = {"t": lambda ctx: UsageAgent(ctx, [tokens(1000), tokens(5000), tokens(90_000)])}
    states, rec = await runner.run(make_engine(plan, repo, agent_factory=factory_of(agents)))
    assert states == {"t": S.SUCCEEDED}
    notes = [line for line in rec.lines("t", "engine") if "cost unknown" in line]
    assert notes == ["cost unknown so far: the task's $0.01 budget cannot be judged until the agent "
                     "reports a cost (it is not stopped)"]
    assert budget_events(rec) == []


async def test_codex_reports_no_cost_so_a_usd_budget_cannot_stop_it(repo: Path, runner, fake_agents_on_path) -> None:
    plan = plan_of({"id": "x", "agent": "codex", "prompt": "write a.txt: a", "budget_usd": 0.0001})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"x": S.SUCCEEDED}
    assert sum("cost unknown" in line for line in rec.lines("x", "engine")) == 1


async def test_budget_reached_while_paused(repo: Path, runner) -> None:
    first, go = asyncio.Event(), asyncio.Event()
    plan = plan_of({"id": "t", "prompt": "x", "budget_tokens": 100})
    agents = {"t": lambda ctx: UsageAgent(ctx, [tokens(50), tokens(150)], before=[go], reported=[first])}
    engine = make_engine(plan, repo, agent_factory=factory_of(agents))
    run, rec = runner.start(engine)
    await asyncio.wait_for(first.wait(), 30)
    engine.pause("t")
    go.set()  # an in-process agent still reports while paused (a program's buffered output would too)
    states = await asyncio.wait_for(run, 30)
    assert states == {"t": S.BUDGET_EXCEEDED}
    assert rec.states("t") == [S.READY, S.RUNNING, S.PAUSED, S.BUDGET_EXCEEDED]


async def test_developer_retry_gets_a_fresh_budget_and_revives_dependents(repo: Path, runner) -> None:
    attempts: list[int] = []

    def make(ctx: AgentContext) -> UsageAgent:
        attempts.append(ctx.attempt)
        return UsageAgent(ctx, [tokens(500)] if ctx.attempt == 1 else [tokens(60)])

    plan = plan_of({"id": "t", "prompt": "x", "budget_tokens": 100},
                   {"id": "child", "prompt": "echo child", "depends_on": ["t"]})
    engine = make_engine(plan, repo, agent_factory=factory_of({"t": make}))
    run, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("child", S.SKIPPED)
    assert engine.tasks["t"].state is S.BUDGET_EXCEEDED
    engine.retry("t")
    await rec.wait_state("child", S.SUCCEEDED)
    engine.close()
    states = await asyncio.wait_for(run, 30)
    assert states == {"t": S.SUCCEEDED, "child": S.SUCCEEDED}
    assert rec.states("t") == [S.READY, S.RUNNING, S.BUDGET_EXCEEDED, S.READY, S.RUNNING, S.SUCCEEDED]
    assert attempts == [1, 2]
    assert rec.usage("t")[-1].usage.tokens_in == 560  # usage still adds up over attempts
    assert engine.spent_tokens == 560


# ---------------------------------------------------------------------- the session's budget
async def test_session_budget_stops_new_starts_and_skips_the_rest(repo: Path, runner) -> None:
    a_reported, release = asyncio.Event(), asyncio.Event()
    agents = {
        "a": lambda ctx: UsageAgent(ctx, [tokens(700)], reported=[a_reported], hold=release),
        "b": lambda ctx: UsageAgent(ctx, [tokens(0), tokens(400)], before=[a_reported], hold=release),
    }
    plan = plan_of(
        {"id": "a", "prompt": "x"},
        {"id": "b", "prompt": "x"},
        {"id": "waiting", "prompt": "echo never"},  # ready, but no free slot
        {"id": "after-a", "prompt": "echo never", "depends_on": ["a"]},  # pending
        max_parallel=2, budget_tokens=1000,
    )
    engine = make_engine(plan, repo, agent_factory=factory_of(agents))
    run, rec = runner.start(engine, stay_open=True)
    hit = await rec.wait_for(lambda e: isinstance(e, BudgetReached), what="the session budget")
    assert (hit.scope, hit.task_id, hit.unit, hit.spent, hit.limit) == ("session", "b", "tokens", 1100, 1000)
    assert hit.describe() == "session budget reached: 1,100 tokens of 1,000"
    # the waiting tasks were skipped at once; the running ones go on
    for tid in ("waiting", "after-a"):
        assert engine.tasks[tid].state is S.SKIPPED
        assert rec.transitions(tid)[-1].reason == "session budget reached"
    assert engine.tasks["a"].state is S.RUNNING and engine.tasks["b"].state is S.RUNNING
    with pytest.raises(CommandError, match="session budget reached: 1,100 tokens of 1,000: no new task starts"):
        engine.retry("waiting")
    release.set()
    await rec.wait_state("a", S.SUCCEEDED)
    await rec.wait_state("b", S.SUCCEEDED)
    engine.close()
    states = await asyncio.wait_for(run, 30)
    assert states == {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "waiting": S.SKIPPED, "after-a": S.SKIPPED}
    assert rec.states("waiting") == [S.READY, S.SKIPPED]
    assert rec.states("after-a") == [S.SKIPPED]
    assert len(budget_events(rec)) == 1
    assert status_for(states) == "blocked"


async def test_session_budget_drops_a_waiting_automatic_retry(repo: Path, runner) -> None:
    failing_started = asyncio.Event()

    def failing(ctx: AgentContext):
        class Fails(UsageAgent):
            async def run(self) -> AgentExit:
                await super().run()
                failing_started.set()
                return AgentExit(3)
        return Fails(ctx, [tokens(10)])

    go = asyncio.Event()
    agents = {"f": failing, "spender": lambda ctx: UsageAgent(ctx, [tokens(0), tokens(5000)], before=[go])}
    plan = plan_of({"id": "f", "prompt": "x", "retries": 3}, {"id": "spender", "prompt": "x"},
                   budget_tokens=1000)
    # a long backoff: the retry is still waiting when the budget is reached
    engine = make_engine(plan, repo, agent_factory=factory_of(agents), backoff_base=60, backoff_max=60)
    run, rec = runner.start(engine)
    await rec.wait_state("f", S.FAILED)
    assert engine.tasks["f"].retry_pending
    go.set()
    states = await asyncio.wait_for(run, 30)
    assert states == {"f": S.FAILED, "spender": S.SUCCEEDED}
    assert rec.states("f") == [S.READY, S.RUNNING, S.FAILED]
    assert "automatic retry dropped: session budget reached" in rec.lines("f", "engine")


async def test_engine_budget_overrides_the_plan_and_usd_counts_known_costs(repo: Path, runner) -> None:
    agents = {
        "priced": lambda ctx: UsageAgent(ctx, [tokens(10, 0.30)]),
        "unpriced": lambda ctx: UsageAgent(ctx, [tokens(10)]),
        "more": lambda ctx: UsageAgent(ctx, [tokens(10, 0.30)]),
        "last": lambda ctx: UsageAgent(ctx, [tokens(10, 0.01)]),
    }
    plan = plan_of({"id": "unpriced", "prompt": "x"}, {"id": "priced", "prompt": "x", "depends_on": ["unpriced"]},
                   {"id": "more", "prompt": "x", "depends_on": ["priced"]},
                   {"id": "last", "prompt": "x", "depends_on": ["more"]},
                   budget_usd=100.0)
    engine = make_engine(plan, repo, agent_factory=factory_of(agents), budget_usd=0.5)
    states, rec = await runner.run(engine)
    assert states == {"unpriced": S.SUCCEEDED, "priced": S.SUCCEEDED, "more": S.SUCCEEDED, "last": S.SKIPPED}
    assert rec.of(RunStarted)[0].budget_usd == 0.5
    [hit] = budget_events(rec)
    assert (hit.scope, hit.task_id, hit.unit, hit.spent) == ("session", "more", "usd", pytest.approx(0.6))
    assert rec.lines("unpriced", "engine")[-1:] == [
        "cost unknown: the session's $0.50 budget counts only the costs agents report"]
    assert (engine.spent_tokens, engine.spent_usd) == (30, pytest.approx(0.6))


# --------------------------------------------------------------------------- the plan file
def write_plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def test_plan_budget_keys_parse(tmp_path: Path) -> None:
    path = write_plan(tmp_path, 'budget_usd = 5\nbudget_tokens = 2_000_000\n\n[[task]]\nid = "a"\n'
                                'agent = "shell"\nprompt = "x"\nbudget_usd = 0.5\nbudget_tokens = 200000\n\n'
                                '[[task]]\nid = "b"\nagent = "shell"\nprompt = "y"\n')
    plan = load_plan(path, ProfileSet())
    assert (plan.budget_usd, plan.budget_tokens) == (5.0, 2_000_000)
    assert isinstance(plan.budget_usd, float)
    a, b = plan.tasks
    assert (a.budget_usd, a.budget_tokens) == (0.5, 200_000)
    assert (b.budget_usd, b.budget_tokens) == (None, None)


@pytest.mark.parametrize("line, message", [
    ("budget_usd = -1", "budget_usd must be a number of dollars more than zero, not -1"),
    ("budget_usd = 0", "budget_usd must be a number of dollars more than zero, not 0"),
    ("budget_usd = true", "budget_usd must be a number of dollars more than zero, not True"),
    ('budget_usd = "1"', "budget_usd must be a number of dollars more than zero, not '1'"),
    ("budget_usd = nan", "budget_usd must be a number of dollars more than zero, not nan"),
    ("budget_tokens = 0", "budget_tokens must be a whole number of at least 1, not 0"),
    ("budget_tokens = 1.5", "budget_tokens must be a whole number of at least 1, not 1.5"),
    ("budget_token = 5", "unknown key in task 'a' 'budget_token' (did you mean 'budget_tokens'?)"),
])
def test_bad_task_budget_is_a_located_error(tmp_path: Path, line: str, message: str) -> None:
    path = write_plan(tmp_path, f'[[task]]\nid = "ok"\nagent = "shell"\nprompt = "x"\n\n'
                                f'[[task]]\nid = "a"\nagent = "shell"\nprompt = "x"\n{line}\n')
    with pytest.raises(PlanError) as err:
        load_plan(path, ProfileSet())
    expected = message if message.startswith("unknown") else f"task 'a': {message}"
    assert str(err.value) == f"{path}:6: {expected}"
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("line, message", [
    ("budget_usd = -0.5", "budget_usd must be a number of dollars more than zero, not -0.5"),
    ("budget_tokens = -3", "budget_tokens must be a whole number of at least 1, not -3"),
    ('budget_tokens = "lots"', "budget_tokens must be a whole number of at least 1, not 'lots'"),
])
def test_bad_plan_budget_is_an_error(tmp_path: Path, line: str, message: str) -> None:
    path = write_plan(tmp_path, f'{line}\n[[task]]\nid = "a"\nagent = "shell"\nprompt = "x"\n')
    with pytest.raises(PlanError) as err:
        load_plan(path, ProfileSet())
    assert str(err.value) == f"{path}: {message}"


# -------------------------------------------------------------------------------- headless
async def test_headless_shows_budget_exceeded_and_the_cost_column(repo: Path) -> None:
    agents = {
        "spend": lambda ctx: UsageAgent(ctx, [tokens(50, 0.0123), Usage(100, 20, 5, 1, 0.04)]),
        "blind": lambda ctx: UsageAgent(ctx, [Usage(1000, 200)]),
    }
    plan = plan_of({"id": "spend", "prompt": "x", "budget_usd": 0.03},
                   {"id": "blind", "prompt": "x"},
                   {"id": "shell", "prompt": "echo hi"},
                   {"id": "after", "prompt": "echo hi", "depends_on": ["spend"]})
    out = io.StringIO()
    engine = make_engine(plan, repo, agent_factory=factory_of(agents))
    code = await run_headless(engine, out=out)
    text = out.getvalue()
    assert code == 1
    progress = [line for line in text.splitlines() if " spend " in line]
    assert any("$ spend budget_exceeded  budget reached: $0.0400 of $0.03" in line for line in progress), text
    assert any("budget reached: $0.0400 of $0.03: stopping the agent" in line for line in progress), text
    table = text[text.index("task "):].splitlines()
    header = table[0].split()
    assert header == ["task", "state", "time", "attempts", "added", "removed", "tokens", "cost"]
    rows = {line.split()[0]: line.split() for line in table[2:] if line and not line.startswith("total")}
    assert rows["spend"][1] == "budget_exceeded" and rows["spend"][-2:] == ["126", "$0.0400"]
    assert rows["blind"][-2:] == ["1,200", "-"]  # cost unknown
    assert rows["shell"][-2:] == ["-", "-"]  # spent nothing
    assert rows["after"][1] == "skipped"
    assert "total: 1,326 tokens, $0.0400 (cost unknown for 1 task)" in text


async def test_headless_shows_the_session_budget(repo: Path) -> None:
    agents = {"a": lambda ctx: UsageAgent(ctx, [tokens(5000)])}
    plan = plan_of({"id": "a", "prompt": "x"}, {"id": "b", "prompt": "echo b", "depends_on": ["a"]},
                   budget_tokens=1000, budget_usd=2)
    out = io.StringIO()
    code = await run_headless(make_engine(plan, repo, agent_factory=factory_of(agents)), out=out)
    text = out.getvalue()
    assert code == 1
    assert "session budget: $2.00 and 1,000 tokens" in text
    assert "session budget reached: 5,000 tokens of 1,000: no new task starts; the waiting tasks are skipped" in text
    assert "↷ b    skipped    session budget reached" in text
    assert "total: 5,000 tokens, cost unknown" in text


# ------------------------------------------------------------------------- the command line
def test_show_json_has_session_totals(repo: Path, db: str, capsys, fake_agents_on_path) -> None:
    (repo / "plan.toml").write_text(
        '[[task]]\nid = "c"\nagent = "claude-cli"\nprompt = "write a.txt: a"\n\n'
        '[[task]]\nid = "x"\nagent = "codex"\nprompt = "write b.txt: b"\n\n'
        '[[task]]\nid = "s"\nagent = "shell"\nprompt = "echo s"\n'
    )
    code, out, err = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db)
    assert code == 0, out + err
    assert "$0.0123" in out  # the cost column
    code, out, _ = cli(capsys, "show", "1", "--json", "--db", db)
    detail = json.loads(out)
    tasks = {t["id"]: t for t in detail["tasks"]}
    c, x = tasks["c"], tasks["x"]
    assert (c["tokens_in"], c["tokens_out"], c["cache_write"], c["cache_read"], c["cost_usd"]) == (
        130, 42, 50, 160, pytest.approx(0.0123))
    assert x["cost_usd"] is None and x["tokens_in"] > 0
    assert not any(t["failure"] for t in tasks.values()) and detail["tasks_failed"] == 0
    assert detail["tokens_in"] == 130 + x["tokens_in"]
    assert detail["tokens_out"] == 42 + x["tokens_out"]
    assert detail["cache_write"] == 50 + x["cache_write"]
    assert detail["cache_read"] == 160 + x["cache_read"]
    assert detail["cost_usd"] == pytest.approx(0.0123)
    assert detail["cost_complete"] is False  # codex's cost is unknown
    # the summary's Usage: tokens in count the cache tokens too; the cost sums the known costs
    code, out, _ = cli(capsys, "show", "1", "--markdown", "--db", db)
    every_input = detail["tokens_in"] + detail["cache_write"] + detail["cache_read"]
    assert f"- **Tokens in:** {every_input}" in out
    assert f"- **Tokens out:** {detail['tokens_out']}" in out
    assert "- **Cost (USD):** 0.0123" in out
    assert "- `c` (claude-cli): succeeded, 1 attempt, 382 tokens, $0.0123" in detail["work_completed"]


def test_show_json_when_every_cost_is_known_or_none(repo: Path, db: str, capsys) -> None:
    (repo / "plan.toml").write_text('[[task]]\nid = "s"\nagent = "shell"\nprompt = "echo s"\n')
    assert cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db)[0] == 0
    detail = json.loads(cli(capsys, "show", "1", "--json", "--db", db)[1])
    assert (detail["tokens_in"], detail["tokens_out"], detail["cache_write"], detail["cache_read"]) == (0, 0, 0, 0)
    assert detail["cost_usd"] is None and detail["cost_complete"] is True


def test_budget_exceeded_via_the_cli_is_stored_as_a_failure(
    repo: Path, db: str, capsys, fake_agents_on_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_AGENT_SLEEP", "60")  # it would wait after its messages: the budget stops it
    (repo / "plan.toml").write_text(
        '[[task]]\nid = "c"\nagent = "claude-cli"\nprompt = "look"\nbudget_tokens = 100\n\n'
        '[[task]]\nid = "d"\nagent = "shell"\nprompt = "echo d"\ndepends_on = ["c"]\n'
    )
    code, out, err = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db)
    assert code == 1, out + err
    assert "budget_exceeded  budget reached: " in out
    assert "recorded (blocked)" in out
    detail = json.loads(cli(capsys, "show", "1", "--json", "--db", db)[1])
    assert detail["status"] == "blocked"
    tasks = {t["id"]: t for t in detail["tasks"]}
    assert tasks["c"]["state"] == "budget_exceeded" and tasks["c"]["failure"] is True
    assert tasks["d"]["state"] == "skipped" and tasks["d"]["failure"] is False
    assert detail["tasks_failed"] == 1
    assert tasks["c"]["tokens_in"] >= 100  # what it spent before it was stopped is kept
    code, out, _ = cli(capsys, "show", "1", "--db", db)
    assert "budget_exceeded" in out


def test_session_budget_flag(repo: Path, db: str, capsys, fake_agents_on_path) -> None:
    (repo / "plan.toml").write_text(
        'budget_tokens = 1_000_000\n\n'
        '[[task]]\nid = "c"\nagent = "claude-cli"\nprompt = "look"\n\n'
        '[[task]]\nid = "later"\nagent = "shell"\nprompt = "echo later"\ndepends_on = ["c"]\n'
    )
    code, out, err = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db,
                         "--budget-tokens", "100")
    assert code == 1, out + err
    assert "session budget: 100 tokens" in out
    assert "session budget reached: " in out and "no new task starts" in out
    detail = json.loads(cli(capsys, "show", "1", "--json", "--db", db)[1])
    assert [(t["id"], t["state"]) for t in detail["tasks"]] == [("c", "succeeded"), ("later", "skipped")]
    assert detail["status"] == "blocked"


@pytest.mark.parametrize("flag, value, message", [
    ("--budget-usd", "0", "must be a number more than zero, not 0"),
    ("--budget-usd", "lots", "expected a number, not 'lots'"),
    ("--budget-tokens", "-5", "must be at least 1, not -5"),
])
def test_bad_budget_flags(repo: Path, db: str, capsys, flag: str, value: str, message: str) -> None:
    (repo / "plan.toml").write_text('[[task]]\nid = "s"\nagent = "shell"\nprompt = "echo s"\n')
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db, flag, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize("headless", [True, False])
def test_anthropic_plan_without_an_api_key_is_refused_before_anything_starts(
    repo: Path, db: str, capsys, monkeypatch: pytest.MonkeyPatch, headless: bool
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (repo / "plan.toml").write_text(
        '[[task]]\nid = "s"\nagent = "shell"\nprompt = "echo s > s.txt"\n\n'
        '[[task]]\nid = "api"\nagent = "sonnet"\nprompt = "write the docs"\n'
    )
    args = ["run", str(repo / "plan.toml"), "--repo", str(repo), "--db", db] + (["--headless"] if headless else [])
    code, out, err = cli(capsys, *args)
    assert code == 2
    assert err == ("cockpit: ANTHROPIC_API_KEY is not set: agent profile 'sonnet' calls the Anthropic API "
                   "(export ANTHROPIC_API_KEY=... or choose another agent)\n")
    assert "Traceback" not in out
    # nothing started: no session recorded, no branch made, the checkout untouched
    if Path(db).exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    assert git(repo, "branch", "--list", "cockpit/*") == ""
    assert not (repo / "s.txt").exists()


def test_prepare_passes_the_configured_prices(repo: Path) -> None:
    from sessions.launch import prepare

    (repo / "cockpit.toml").write_text('[prices."claude-sonnet-4-5"]\ninput = 1.0\noutput = 2.0\n')
    (repo / "plan.toml").write_text('[[task]]\nid = "s"\nagent = "shell"\nprompt = "true"\n')
    engine = prepare(repo / "plan.toml", str(repo), None, budget_usd=3.0)
    prices = engine.agent_factory.keywords["prices"]
    assert (prices.price("claude-sonnet-4-5").input, prices.price("claude-sonnet-4-5").output) == (1.0, 2.0)
    assert engine.budget_usd == 3.0 and engine.budget_tokens is None


# ----------------------------------------------------------------- sessions and the store
def test_status_for_a_task_over_its_budget_is_blocked() -> None:
    assert status_for({"a": S.SUCCEEDED, "b": S.BUDGET_EXCEEDED}) == "blocked"
    assert status_for({"a": S.BUDGET_EXCEEDED}) == "blocked"
    assert status_for({"a": S.BUDGET_EXCEEDED, "b": S.CANCELLED}) == "abandoned"
    assert status_for({"a": S.SUCCEEDED, "b": S.SKIPPED}) == "blocked"  # skipped for the session budget


def test_status_for_a_session_stopped_midway_says_whether_work_was_done() -> None:
    three_of_five = {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "c": S.SUCCEEDED, "d": S.CANCELLED, "e": S.CANCELLED}
    assert status_for(three_of_five) == "blocked"  # not "abandoned": most of it was done
    assert status_for(three_of_five, interrupted=True) == "blocked"
    assert status_for({"a": S.CANCELLED, "b": S.FAILED}) == "abandoned"
    assert status_for({"a": S.SUCCEEDED}, interrupted=True) == "complete"


async def test_store_migration_from_v2_accepts_budget_exceeded(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    assert migrate(conn, target=2) == 2
    conn.execute("INSERT INTO repos (id, path) VALUES (1, '/repo')")
    conn.execute("INSERT INTO sessions (id, repo_id, date, day_number, started_at) VALUES (1, 1, '2026-03-04', 1, 1.0)")
    conn.execute("INSERT INTO runs (id, session_id) VALUES ('run-1', 1)")
    conn.execute("INSERT INTO tasks (id, session_id, run_id, task_key, state, tokens_in, cost_usd, timeout, retries)"
                 " VALUES (7, 1, 'run-1', 'build', 'failed', 42, 0.5, 90.0, 2)")
    conn.execute("INSERT INTO attempts (task_id, number, state) VALUES (7, 1, 'failed')")
    conn.execute("INSERT INTO log_lines (task_id, attempt, stream, at, text) VALUES (7, 1, 'stdout', 1.0, 'hello')")
    conn.execute("INSERT INTO interventions (session_id, task_id, at, type, text) VALUES (1, 7, 2.0, 'note', 'hm')")
    with pytest.raises(sqlite3.IntegrityError):  # schema 2 does not know the state
        conn.execute("UPDATE tasks SET state = 'budget_exceeded' WHERE id = 7")
    conn.close()

    async with await Store.open(db) as store:
        (task,) = await store.tasks(1)
        assert (task.id, task.key, task.state, task.tokens_in, task.cost_usd, task.timeout, task.retries) == (
            7, "build", "failed", 42, 0.5, 90.0, 2)
        assert [line.text for line in await store.log_lines(7)] == ["hello"]
        assert [i.task_key for i in await store.interventions(1)] == ["build"]
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("PRAGMA user_version").fetchone()[0] == LATEST >= 3
    raw.execute("UPDATE tasks SET state = 'budget_exceeded' WHERE id = 7")
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute("UPDATE tasks SET state = 'over' WHERE id = 7")
    indexes = {r[1] for r in raw.execute("PRAGMA index_list(tasks)")}
    assert {"tasks_by_session", "tasks_by_state"} <= indexes
    # the rows that refer to tasks still do, cascades included
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    assert {r[2] for r in raw.execute("PRAGMA foreign_key_list(log_lines)")} == {"tasks"}
    raw.execute("DELETE FROM tasks WHERE id = 7")
    assert raw.execute("SELECT count(*) FROM log_lines").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM attempts").fetchone()[0] == 0
    assert raw.execute("SELECT task_id FROM interventions").fetchall() == [(None,)]
    assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    raw.close()


# ---------------------------------------------------------------------- the Anthropic agent
@pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
async def test_anthropic_agent_over_its_budget_is_stopped_mid_response(
    repo: Path, runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers.anthropic_stub import API_KEY, AnthropicStub, text, tool_use

    for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "_anthropic"))
    stub = AnthropicStub().start()
    try:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        first = tool_use("list_files")
        first.input_tokens = 400
        second = text("never finished")
        second.input_tokens = 700
        second.held()  # streams its message_start (with its input tokens), then waits
        stub.add(first, second)
        plan = plan_of({"id": "t", "agent": "sonnet", "prompt": "look around", "budget_tokens": 1000})
        states, rec = await runner.run(make_engine(plan, repo, ProfileSet()))
        second.release()
    finally:
        stub.close()
    assert states == {"t": S.BUDGET_EXCEEDED}, rec.summary()
    [hit] = budget_events(rec)
    assert (hit.unit, hit.limit) == ("tokens", 1000) and hit.spent >= 1000
    assert rec.usage("t")[-1].usage.cost_usd is not None  # sonnet has a price: the cost is known


# ------------------------------------------------------------------------- numbers from agents
def result_line(input_tokens: int, cost: float = 0.01) -> str:
    return json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": "done",
                       "total_cost_usd": cost, "usage": {"input_tokens": input_tokens, "output_tokens": 1}})


async def test_an_absurd_usage_report_is_ignored_and_said(repo: Path, runner) -> None:
    """A program's stream-json with ``input_tokens: 10**20`` (no SQLite integer holds it) and a negative
    count: both ignored with a line each; the sane report counts; the run and its record go on."""
    lines = [result_line(10**20), result_line(-5000), result_line(40)]
    script = "".join(f"echo '{line}'; " for line in lines)
    profiles = ProfileSet()
    profiles.profiles["liar"] = AgentProfile("liar", argv=("bash", "-c", script), output="claude-stream-json")
    plan = plan_of({"id": "t", "agent": "liar", "prompt": "x"}, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"t": S.SUCCEEDED}
    ignored = [line for line in rec.lines("t", "engine") if "usage report of the agent was ignored" in line]
    assert len(ignored) == 2
    assert "tokens_in 100000000000000000000 is not a token count" in ignored[0] and "-5000" in ignored[1]
    assert [u.usage.tokens_in for u in rec.usage("t")] == [40]


async def test_negative_usage_cannot_pass_a_token_budget(repo: Path, runner) -> None:
    plan = plan_of({"id": "t", "prompt": "x", "budget_tokens": 1000})
    agents = {"t": lambda ctx: UsageAgent(ctx, [tokens(-10**9), tokens(900), tokens(1500)])}
    states, rec = await runner.run(make_engine(plan, repo, agent_factory=factory_of(agents)))
    assert states == {"t": S.BUDGET_EXCEEDED}
    (hit,) = budget_events(rec)
    assert hit.spent == 1500 and hit.limit == 1000
