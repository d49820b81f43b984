"""Circuit breakers: a profile whose tasks fail in a row for a reason outside the task stops taking tasks.

Agents say why they failed (AgentExit.failure_kind): a program that is missing or prints an
authentication, rate-limit or network error as it fails, the Anthropic SDK's exceptions. Then, on real
repositories: the breaker opens after N such failures, holds the profile's tasks (or reroutes the ones
that let the engine choose), and closes on the developer's reset or after a (tiny) cool-down with a
trial task. Tests wait for events, never for the clock.
"""
from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from tests.helpers.anthropic_stub import error, text
from tests.helpers.events import EVENT_TIMEOUT, make_engine, plan_of, wait_for_file
from engine.agents.base import AgentContext
from engine.agents.command import CommandAgent
from engine.agents.failures import classify_output
from engine.config import load_config
from engine.errors import ConfigError
from engine.errors import CommandError
from engine.events import BreakerChanged, TaskRouted
from engine.profiles import AgentProfile, ProfileSet
from engine.states import TaskState
from sessions.lifecycle import begin_session
from sessions.live_session import LiveSession
from sessions.store.store import Store
from tests.helpers.anthropic_harness import Harness, stub, worktree  # noqa: F401  (fixtures)
from tui.cli.headless import run_headless

S = TaskState
AUTH_ERROR = 'echo \'API Error: 401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}\' >&2; exit 1'


def cli(name: str, script: str, **options) -> AgentProfile:
    """A program agent (kind command) running ``script``; its prompt is $0."""
    return AgentProfile(name, argv=("bash", "-c", script, "{prompt}"), **options)


def profiles_of(*extra: AgentProfile) -> ProfileSet:
    profiles = ProfileSet()
    for p in extra:
        profiles.profiles[p.name] = p
    return profiles


def breaker_states(rec, profile: str = "flaky") -> list[str]:
    return [e.state for e in rec.of(BreakerChanged) if e.profile == profile]


# ----------------------------------------------------------------------------- why agents failed
@pytest.mark.parametrize("lines, kind", [
    (['API Error: 401 {"type":"authentication_error"}'], "auth"),
    (["Invalid API key · Please run /login"], "auth"),
    (["Error: Not logged in"], "auth"),
    (["ERROR: stream error: exceeded retry limit, last status: 429 Too Many Requests"], "rate_limit"),
    (["API Error: Overloaded"], "rate_limit"),
    (["You've hit your usage limit"], "rate_limit"),
    (["curl: (6) Could not resolve host: api.anthropic.com"], "network"),
    (["connect ECONNREFUSED 127.0.0.1:443"], "network"),
    (["AssertionError: expected 3, got 4", "1 failed"], None),
    ([], None),
])
def test_failure_kinds_from_a_programs_output(lines: list[str], kind: str | None) -> None:
    assert classify_output(lines) == kind


async def run_agent(profile: AgentProfile, workdir: Path):
    lines: list[str] = []
    ctx = AgentContext("t", "do it", str(workdir), dict(os.environ), 1, lambda s, l: lines.extend(l), lambda u: None)
    return await asyncio.wait_for(CommandAgent(profile, ctx).run(), EVENT_TIMEOUT), lines


async def test_a_command_agent_says_why_it_failed(tmp_path: Path) -> None:
    outcome, _ = await run_agent(cli("c", AUTH_ERROR), tmp_path)
    assert (outcome.exit_code, outcome.failure_kind) == (1, "auth")
    outcome, _ = await run_agent(cli("c", "echo 'rate limit hit'; exit 0"), tmp_path)
    assert outcome.failure_kind is None  # it did not fail
    outcome, _ = await run_agent(cli("c", "echo 'assert 1 == 2'; exit 1"), tmp_path)
    assert (outcome.exit_code, outcome.failure_kind) == (1, None)  # the task's own failure
    shell = AgentProfile("s", kind="shell", argv=("bash", "-c", AUTH_ERROR))
    outcome, _ = await run_agent(shell, tmp_path)
    assert outcome.failure_kind is None  # a script's output is the task's own business
    outcome, lines = await run_agent(AgentProfile("gone", argv=(str(tmp_path / "no-such-program"), "{prompt}")), tmp_path)
    assert (outcome.exit_code, outcome.failure_kind) == (127, "missing")
    assert lines == [f"cannot start '{tmp_path / 'no-such-program'}': No such file or directory"]


async def test_the_api_agent_says_why_it_failed(stub, worktree: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    stub.add(error(429, "slow down", retry_after_ms=1), error(429, "slow down", retry_after_ms=1))
    assert (await Harness(worktree, max_retries=1).run()).failure_kind == "rate_limit"
    stub.add(error(529, "Overloaded", retry_after_ms=1))
    assert (await Harness(worktree, max_retries=0).run()).failure_kind == "rate_limit"
    stub.add(error(400, "messages: bad"))
    assert (await Harness(worktree).run()).failure_kind is None  # the request was the task's
    stub.add(text("fine"))
    assert (await Harness(worktree).run()).failure_kind is None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong")
    assert (await Harness(worktree).run()).failure_kind == "auth"
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert (await Harness(worktree).run()).failure_kind == "missing"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nobody listens there
    assert (await Harness(worktree, max_retries=0).run()).failure_kind == "network"


# ------------------------------------------------------------------------------------ the engine
async def test_opens_after_n_failures_holds_and_resets_by_command(repo: Path, tmp_path: Path, runner) -> None:
    fixed = tmp_path / "logged-in"
    flaky = cli("flaky", f'if [ -e "{fixed}" ]; then echo ok; exit 0; fi; {AUTH_ERROR}')
    profiles = profiles_of(flaky)
    plan = plan_of(*[{"id": f"t{i}", "agent": "flaky", "prompt": "x"} for i in range(5)],
                   max_parallel=1, profiles=profiles)
    engine = make_engine(plan, repo, profiles, breaker_cooldown=600)
    run, rec = runner.start(engine)
    opened = await rec.wait_for(lambda e: isinstance(e, BreakerChanged) and e.state == "open", what="the breaker opening")
    assert (opened.profile, opened.failures, opened.kind) == ("flaky", 3, "auth")
    assert opened.reason == ('3 failures in a row outside the task (auth: API Error: 401 {"type":"error","error":'
                             '{"type":"authentication_error","message":"invalid x-api-key"}})')
    assert opened.until is not None
    assert "failure outside the task (auth): 1 of 3 in a row open the circuit breaker of profile 'flaky'" in rec.lines("t0", "engine")
    assert any(line.startswith("this failure opened the circuit breaker of profile 'flaky'") for line in rec.lines("t2", "engine"))
    held = await rec.wait_line("t3", "held: the circuit breaker of profile 'flaky' is open (auth: ")
    assert "the task waits until" in held.lines[0] and "or a reset" in held.lines[0]
    assert [engine.tasks[f"t{i}"].state for i in range(5)] == [S.FAILED] * 3 + [S.READY] * 2
    assert engine.open_breakers == ["flaky"] and engine.breaker_state("flaky").state == "open"
    assert not run.done()  # held tasks keep the run going
    fixed.touch()
    engine.reset_breaker("flaky")
    states = await asyncio.wait_for(run, EVENT_TIMEOUT)
    assert states == {"t0": S.FAILED, "t1": S.FAILED, "t2": S.FAILED, "t3": S.SUCCEEDED, "t4": S.SUCCEEDED}
    assert breaker_states(rec) == ["open", "closed"]
    assert rec.of(BreakerChanged)[-1].reason == "reset by the developer"
    assert engine.open_breakers == []
    assert rec.states("t3") == [S.READY, S.RUNNING, S.SUCCEEDED]


async def test_a_missing_program_opens_the_breaker_and_a_held_task_can_be_cancelled(repo: Path, runner) -> None:
    profiles = profiles_of(AgentProfile("ghost", argv=("no-such-agent-program-xyz", "{prompt}"), breaker_threshold=2))
    plan = plan_of(*[{"id": f"g{i}", "agent": "ghost", "prompt": "x"} for i in range(3)], max_parallel=1,
                   profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    run, rec = runner.start(engine)
    await rec.wait_line("g2", "held: the circuit breaker of profile 'ghost' is open (missing: ")
    (opened,) = rec.of(BreakerChanged)
    assert (opened.kind, opened.failures) == ("missing", 2)
    with pytest.raises(CommandError, match="no agent profile 'nope'"):
        engine.reset_breaker("nope")
    with pytest.raises(CommandError, match="the circuit breaker of profile 'shell' is not open"):
        engine.reset_breaker("shell")
    engine.cancel("g2")
    assert await asyncio.wait_for(run, EVENT_TIMEOUT) == {"g0": S.FAILED, "g1": S.FAILED, "g2": S.CANCELLED}


async def test_tasks_that_let_the_engine_choose_are_rerouted(repo: Path, runner) -> None:
    profiles = profiles_of(cli("flaky", AUTH_ERROR), cli("steady", "echo steady"))
    plan = plan_of(*[{"id": f"t{i}", "prompt": "x"} for i in range(5)], agent=["flaky", "steady"],
                   max_parallel=1, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles, breaker_cooldown=600))
    assert [states[f"t{i}"] for i in range(5)] == [S.FAILED] * 3 + [S.SUCCEEDED] * 2
    routes = {e.task_id: e for e in rec.of(TaskRouted)}
    assert [routes[f"t{i}"].profile for i in range(5)] == ["flaky"] * 3 + ["steady"] * 2
    assert routes["t3"].reason == "first available of flaky, steady (flaky unavailable)"
    assert breaker_states(rec) == ["open"]  # still open: the run did not need it


async def test_a_retry_waits_for_the_breaker_and_the_trial_holds_the_others(repo: Path, tmp_path: Path, runner) -> None:
    failing, gate = tmp_path / "failing", tmp_path / "gate"
    failing.touch()
    flaky = cli("flaky", f'if [ -e "{failing}" ]; then {AUTH_ERROR}; fi; {wait_for_file(gate)}; echo ok',
                breaker_threshold=1, breaker_cooldown=0.3)
    profiles = profiles_of(flaky)
    plan = plan_of(*[{"id": f"t{i}", "agent": "flaky", "prompt": "x", "retries": 1} for i in range(3)],
                   max_parallel=3, profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    run, rec = runner.start(engine)
    await rec.wait_for(lambda e: isinstance(e, BreakerChanged) and e.state == "open")
    for task in ("t0", "t1", "t2"):  # all three were started before it opened
        await rec.wait_state(task, S.FAILED)
    failing.unlink()
    half = await rec.wait_for(lambda e: isinstance(e, BreakerChanged) and e.state == "half-open")
    assert half.reason == "the cool-down of 0.3s passed: one task tries the profile again"
    await rec.wait_for(lambda e: any("is trying one task after its cool-down" in line for line in getattr(e, "lines", ())))
    # the trial runs (and waits at the gate); the other two wait for its outcome
    running = [t for t, r in engine.tasks.items() if r.state is S.RUNNING]
    assert len(running) == 1
    gate.touch()
    states = await asyncio.wait_for(run, EVENT_TIMEOUT)
    assert set(states.values()) == {S.SUCCEEDED}
    assert breaker_states(rec) == ["open", "half-open", "closed"]
    assert rec.of(BreakerChanged)[-1].reason == "a task succeeded on it"
    assert all(engine.tasks[t].attempts == 2 for t in states)


async def test_a_failed_trial_opens_the_breaker_again(repo: Path, runner) -> None:
    profiles = profiles_of(cli("flaky", "echo 'connect ECONNREFUSED' >&2; exit 2", breaker_threshold=1, breaker_cooldown=0.1))
    plan = plan_of(*[{"id": f"t{i}", "agent": "flaky", "prompt": "x"} for i in range(3)], max_parallel=1, profiles=profiles)
    out = io.StringIO()
    engine = make_engine(plan, repo, profiles)
    assert await asyncio.wait_for(run_headless(engine, out=out), EVENT_TIMEOUT) == 1
    assert {r.state for r in engine.tasks.values()} == {S.FAILED}
    states = [line for line in out.getvalue().splitlines() if "⚡ circuit breaker" in line]
    assert [("opened" in s, "half-open" in s) for s in states] == [
        (True, False), (False, True), (True, False), (False, True), (True, False)]
    assert "(network: " in states[0] and "no task starts on it until" in states[0]
    assert engine.breaker_state("flaky").state == "open"  # the run ended; its timer did not outlive it


async def test_a_failure_of_the_tasks_own_breaks_the_row(repo: Path, runner) -> None:
    script = f'case "$COCKPIT_TASK_ID" in own) echo "assert failed"; exit 1;; *) {AUTH_ERROR};; esac'
    profiles = profiles_of(cli("flaky", script))
    plan = plan_of(*[{"id": key, "agent": "flaky", "prompt": "x"} for key in ("a1", "a2", "own", "a4", "a5")],
                   max_parallel=1, profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    states, rec = await runner.run(engine)
    assert set(states.values()) == {S.FAILED}
    assert rec.of(BreakerChanged) == []
    assert engine.breaker_state("flaky").failures == 2 and engine.breaker_state("flaky").state == "closed"


async def test_the_cockpit_resets_a_breaker_as_an_intervention(repo: Path, tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    profiles = profiles_of(cli("flaky", f'if [ -e "{fixed}" ]; then exit 0; fi; {AUTH_ERROR}', breaker_threshold=1))
    plan = plan_of({"id": "a", "agent": "flaky", "prompt": "x"}, {"id": "b", "agent": "flaky", "prompt": "x"},
                   max_parallel=1, profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    async with await Store.open(tmp_path / "db.sqlite") as store:
        session = await begin_session(store, repo, "breakers")
        live = LiveSession(store, session, engine, None)
        sub = engine.bus.subscribe()
        await live.start()
        while True:
            event = await asyncio.wait_for(sub.get(), EVENT_TIMEOUT)
            if isinstance(event, BreakerChanged):
                break
        fixed.touch()
        await live.reset_breaker("flaky")
        with pytest.raises(CommandError):
            await live.reset_breaker("flaky")  # closed now: nothing recorded
        while engine.tasks["b"].state is not S.SUCCEEDED:
            await asyncio.wait_for(sub.get(), EVENT_TIMEOUT)
        await live.end()
        interventions = await store.interventions(session.row.id)
    assert [(i.type, i.task_key, i.text) for i in interventions] == [
        ("reset_breaker", None, "reset the circuit breaker of profile flaky")]


# ---------------------------------------------------------------------------------------- config
def test_breaker_settings_in_cockpit_toml(tmp_path: Path) -> None:
    (tmp_path / "cockpit.toml").write_text('[agents.claude]\nbreaker_threshold = 5\nbreaker_cooldown = "90s"\n')
    claude = load_config(tmp_path).profiles["claude"]
    assert (claude.breaker_threshold, claude.breaker_cooldown) == (5, 90.0)
    assert ProfileSet().profiles["claude"].breaker_threshold is None  # the engine's default (3, 5m)


@pytest.mark.parametrize("line, expected", [
    ("breaker_threshold = 0", "[agents.claude]: breaker_threshold must be a whole number of at least 1, not 0"),
    ('breaker_threshold = "3"', "[agents.claude]: breaker_threshold must be a whole number of at least 1, not '3'"),
    ('breaker_cooldown = "soon"', "[agents.claude]: breaker_cooldown: bad duration 'soon'"),
    ("breaker_cooldown = 0", "[agents.claude]: breaker_cooldown: bad duration 0: must be more than zero"),
    ("breaker_treshold = 3", "[agents.claude]: unknown key 'breaker_treshold'"),
])
def test_breaker_settings_errors(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "cockpit.toml"
    path.write_text(f"[agents.claude]\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{path}: {expected}"), str(info.value)
