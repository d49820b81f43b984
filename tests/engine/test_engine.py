"""The engine on real temporary repositories, with the shell profile and the fake agent CLIs.

Tests synchronise on the engine's events (with bounded waits), never on the clock: a task that
must stay put waits for a gate file the test creates when it is ready.
"""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.helpers.events import eventually, make_engine, plan_of, Recorder, wait_for_file
from tests.helpers.processes import leaders_with_marker, live_group_members, pid_alive, pids_with_marker, proc_state
from tests.helpers.repos import git
from engine.agents.base import AgentContext, AgentExit
from engine.agents.command import CommandAgent
from engine.errors import CommandError
from engine.events import FileStat, LogLines, RunFinished, RunStarted, TaskResult, TaskStateChanged, UsageUpdate
from engine.options import EngineOptions
from engine.profiles import AgentProfile, ProfileSet
from engine.scheduler import Engine
from engine.states import TaskState

S = TaskState


def marker() -> str:
    """A unique comment to put in a task's script, so its bash process can be found in /proc."""
    return f"cockpit-test-{uuid.uuid4().hex}"


def read_pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()]


def assert_group_gone(pids: list[int]) -> None:
    """None of ``pids`` runs and nothing is left in the group the first one leads."""
    assert [p for p in pids if pid_alive(p)] == []
    assert live_group_members(pids[0]) == []


# ----------------------------------------------------------------------------------- the basics
async def test_events_of_a_simple_run(repo: Path, runner) -> None:
    plan = plan_of({"id": "hello", "title": "Say hello", "prompt": "echo hello; echo oops >&2"})
    engine = make_engine(plan, repo, run_id="r1")
    states, rec = await runner.run(engine)
    assert states == {"hello": S.SUCCEEDED}
    assert isinstance(rec.events[0], RunStarted)
    started = rec.events[0]
    assert started.run_id == "r1" and started.repo == str(repo)
    assert started.base_commit == git(repo, "rev-parse", "HEAD")
    assert [t.id for t in started.tasks] == ["hello"] and started.tasks[0].title == "Say hello"
    assert isinstance(rec.events[-1], RunFinished) and rec.events[-1].states == states
    assert rec.states("hello") == [S.READY, S.RUNNING, S.SUCCEEDED]
    assert rec.lines("hello", "stdout") == ["hello"]
    assert rec.lines("hello", "stderr") == ["oops"]
    result = rec.result("hello")
    assert (result.state, result.attempt, result.exit_code, result.final_message) == (S.SUCCEEDED, 1, 0, "hello")
    assert engine.finished and engine.tasks["hello"].elapsed() > 0
    with pytest.raises(CommandError, match="the run has ended"):
        engine.retry("hello")


async def test_run_without_a_repository(tmp_path: Path, runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = plan_of({"id": "t", "prompt": "pwd; echo x > made.txt"})
    states, rec = await runner.run(make_engine(plan, None))
    assert states == {"t": S.SUCCEEDED}
    assert rec.lines("t", "stdout") == [str(tmp_path)]
    assert (tmp_path / "made.txt").exists()
    result = rec.result("t")
    assert result.branch == "" and result.files == ()


async def test_parallelism_is_bounded(repo: Path, tmp_path: Path, runner) -> None:
    gate = tmp_path / "gate"
    tasks = [{"id": f"t{i}", "prompt": f"{wait_for_file(gate)}; echo done {i}"} for i in range(6)]
    engine = make_engine(plan_of(*tasks, max_parallel=2), repo)
    run, rec = runner.start(engine)
    await rec.wait_for(lambda e: sum(
        1 for x in rec.of(TaskStateChanged) if x.new is S.RUNNING) >= 2, what="two tasks running")
    # two are held at the gate; the other four must wait for a slot
    assert sum(1 for r in engine.tasks.values() if r.state is S.RUNNING) == 2
    assert sum(1 for r in engine.tasks.values() if r.state is S.READY) == 4
    gate.touch()
    states = await asyncio.wait_for(run, 60)
    assert set(states.values()) == {S.SUCCEEDED}
    assert rec.max_concurrent() == 2


async def test_engine_max_parallel_overrides_the_plan(repo: Path, runner) -> None:
    tasks = [{"id": f"t{i}", "prompt": "sleep 0.05"} for i in range(3)]
    states, rec = await runner.run(make_engine(plan_of(*tasks, max_parallel=3), repo, max_parallel=1))
    assert set(states.values()) == {S.SUCCEEDED}
    assert rec.max_concurrent() == 1


async def test_dependency_order(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "c", "prompt": "echo c", "depends_on": ["b"]},
        {"id": "a", "prompt": "sleep 0.1; echo a"},
        {"id": "b", "prompt": "echo b", "depends_on": ["a"]},
        {"id": "d", "prompt": "echo d", "depends_on": ["a"]},
    )
    states, rec = await runner.run(make_engine(plan, repo))
    assert set(states.values()) == {S.SUCCEEDED}
    for dep, task in [("a", "b"), ("b", "c"), ("a", "d")]:
        assert rec.index(dep, S.SUCCEEDED) < rec.index(task, S.READY) < rec.index(task, S.RUNNING)
    assert rec.states("c") == [S.READY, S.RUNNING, S.SUCCEEDED]  # never ran early or twice


async def test_failure_skips_dependents_transitively(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "a", "prompt": "echo failing; exit 3"},
        {"id": "b", "prompt": "echo b", "depends_on": ["a"]},
        {"id": "c", "prompt": "echo c", "depends_on": ["b"]},
        {"id": "d", "prompt": "echo d"},
        {"id": "e", "prompt": "echo e", "depends_on": ["d", "c"]},
    )
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"a": S.FAILED, "b": S.SKIPPED, "c": S.SKIPPED, "d": S.SUCCEEDED, "e": S.SKIPPED}
    reasons = {e.task_id: e.reason for e in rec.transitions() if e.new in (S.SKIPPED, S.FAILED)}
    assert reasons["a"] == "exit 3"
    assert reasons["b"] == "dependency 'a' did not succeed"
    assert reasons["c"] == "dependency 'b' did not succeed"
    assert reasons["e"] == "dependency 'c' did not succeed"
    for skipped in "bce":
        assert rec.states(skipped) == [S.SKIPPED]
        assert rec.results(skipped) == []


async def test_retry_with_backoff_then_success(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "flaky", "retries": 2,
         "prompt": 'echo "attempt $COCKPIT_ATTEMPT"; [ "$COCKPIT_ATTEMPT" -ge 2 ] || exit 1'},
        {"id": "after", "prompt": "echo after", "depends_on": ["flaky"]},
    )
    engine = make_engine(plan, repo)
    states, rec = await runner.run(engine)
    assert states == {"flaky": S.SUCCEEDED, "after": S.SUCCEEDED}
    assert rec.states("flaky") == [S.READY, S.RUNNING, S.FAILED, S.RUNNING, S.SUCCEEDED]
    assert [e.attempt for e in rec.transitions("flaky")][1:] == [1, 1, 2, 2]
    engine_lines = rec.lines("flaky", "engine")
    assert any(line.startswith("retry 1 of 2 in ") for line in engine_lines), engine_lines
    assert not any(line.startswith("retry 2 of") for line in engine_lines)
    assert rec.lines("flaky", "stdout") == ["attempt 1", "attempt 2"]
    assert [(r.attempt, r.state) for r in rec.results("flaky")] == [(1, S.FAILED), (2, S.SUCCEEDED)]
    assert engine.tasks["flaky"].attempts == 2
    # the dependent waited for the final success, not for the first failure
    assert rec.states("after") == [S.READY, S.RUNNING, S.SUCCEEDED]


async def test_always_failing_task_uses_every_retry(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "bad", "retries": 2, "prompt": 'echo "try $COCKPIT_ATTEMPT"; exit 2'},
        {"id": "child", "prompt": "true", "depends_on": ["bad"]},
    )
    engine = make_engine(plan, repo)
    states, rec = await runner.run(engine)
    assert states == {"bad": S.FAILED, "child": S.SKIPPED}
    assert engine.tasks["bad"].attempts == 3
    assert rec.states("bad") == [S.READY, S.RUNNING, S.FAILED, S.RUNNING, S.FAILED, S.RUNNING, S.FAILED]
    retries = [line for line in rec.lines("bad", "engine") if line.startswith("retry ")]
    assert [line.split(" in ")[0] for line in retries] == ["retry 1 of 2", "retry 2 of 2"]
    assert rec.lines("bad", "stdout") == ["try 1", "try 2", "try 3"]
    assert len(rec.results("bad")) == 3
    assert rec.index("child", S.SKIPPED) > max(
        i for i, e in enumerate(rec.events)
        if isinstance(e, TaskStateChanged) and e.task_id == "bad" and e.new is S.FAILED
    )


def test_backoff_is_exponential_with_jitter(repo: Path) -> None:
    engine = Engine(plan_of({"id": "t", "prompt": "true"}), ProfileSet(), repo,
                    EngineOptions(backoff_base=1.0, backoff_max=10.0))
    for n, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (30, 10.0)]:
        for _ in range(20):
            assert step / 2 <= engine._backoff(n) <= step


# ------------------------------------------------------------------------------------- timeouts
async def test_timeout_kills_the_whole_process_tree(repo: Path, tmp_path: Path, runner) -> None:
    pidfile = tmp_path / "pids"
    plan = plan_of({"id": "slow", "timeout": 1,
                    "prompt": f'sleep 1000 & echo "$$ $!" > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; sleep 1000'},
                   {"id": "next", "prompt": "true", "depends_on": ["slow"]})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"slow": S.TIMED_OUT, "next": S.SKIPPED}
    (final,) = [e for e in rec.transitions("slow") if e.new is S.TIMED_OUT]
    assert final.reason == "timed out after 1s"
    assert "timeout of 1s reached: stopping the agent" in rec.lines("slow", "engine")
    assert rec.result("slow").state is S.TIMED_OUT
    assert_group_gone(read_pids(pidfile))


async def test_timeout_escalates_to_kill_when_term_is_ignored(repo: Path, tmp_path: Path, runner) -> None:
    pidfile = tmp_path / "pids"
    script = f"trap '' TERM; sleep 1000 & echo \"$$ $!\" > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; sleep 1000"
    plan = plan_of({"id": "stubborn", "timeout": 0.5, "prompt": script})
    states, rec = await runner.run(make_engine(plan, repo, stop_grace=0.2))
    assert states == {"stubborn": S.TIMED_OUT}
    assert_group_gone(read_pids(pidfile))


async def test_timed_out_task_is_retried(repo: Path, runner) -> None:
    plan = plan_of({"id": "t", "timeout": 0.5, "retries": 1,
                    "prompt": '[ "$COCKPIT_ATTEMPT" = 1 ] && sleep 1000; echo "ok $COCKPIT_ATTEMPT"'})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"t": S.SUCCEEDED}
    assert rec.states("t") == [S.READY, S.RUNNING, S.TIMED_OUT, S.RUNNING, S.SUCCEEDED]
    assert rec.lines("t", "stdout") == ["ok 2"]


# --------------------------------------------------------------------------------- pause, resume
async def test_pause_and_resume_one_task(repo: Path, tmp_path: Path, runner) -> None:
    gate, tag = tmp_path / "gate", marker()
    plan = plan_of({"id": "t", "prompt": f"echo started; {wait_for_file(gate)}; echo finished # {tag}"},
                   {"id": "u", "prompt": "echo u"})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_line("t", "started")
    engine.pause("t")
    assert engine.tasks["t"].state is S.PAUSED
    await rec.wait_state("t", S.PAUSED)
    (pid,) = await eventually(lambda: leaders_with_marker(tag), what="the task's bash process")
    await eventually(lambda: proc_state(pid) == "T", what="the process group to stop")
    with pytest.raises(CommandError, match="not running"):
        engine.pause("t")
    gate.touch()
    await asyncio.sleep(0.3)  # a stopped process cannot see the gate: nothing may change meanwhile
    assert engine.tasks["t"].state is S.PAUSED and "finished" not in rec.lines("t")
    assert proc_state(pid) == "T"
    engine.resume("t")
    assert engine.tasks["t"].state is S.RUNNING
    with pytest.raises(CommandError, match="not paused"):
        engine.resume("t")
    states = await asyncio.wait_for(run, 60)
    assert states == {"t": S.SUCCEEDED, "u": S.SUCCEEDED}
    assert rec.states("t") == [S.READY, S.RUNNING, S.PAUSED, S.RUNNING, S.SUCCEEDED]
    assert "finished" in rec.lines("t", "stdout")


async def test_pause_right_as_the_task_starts(repo: Path, tmp_path: Path, runner) -> None:
    """A pause that arrives before the program has fully started must still stop it."""
    gate, tag = tmp_path / "gate", marker()
    plan = plan_of({"id": "t", "prompt": f"touch {tmp_path}/ran; {wait_for_file(gate)}; echo finished # {tag}"})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_state("t", S.RUNNING)
    engine.pause("t")  # most likely before the agent's process exists: it is stopped once it does
    (pid,) = await eventually(lambda: leaders_with_marker(tag), what="the task's bash process")
    await eventually(lambda: proc_state(pid) == "T", what="the process group to stop")
    gate.touch()
    await asyncio.sleep(0.2)
    assert engine.tasks["t"].state is S.PAUSED and "finished" not in rec.lines("t")
    engine.resume("t")
    assert await asyncio.wait_for(run, 60) == {"t": S.SUCCEEDED}


async def test_pause_the_whole_run(repo: Path, tmp_path: Path, runner) -> None:
    gate = tmp_path / "gate"
    plan = plan_of({"id": "first", "prompt": wait_for_file(gate)}, {"id": "second", "prompt": "echo second"},
                   max_parallel=1)
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_state("first", S.RUNNING)
    engine.pause()
    assert engine.run_paused
    gate.touch()  # the running task goes on and finishes
    await rec.wait_state("first", S.SUCCEEDED)
    await asyncio.sleep(0.2)
    assert engine.tasks["second"].state is S.READY  # ready, but the run is paused
    assert rec.states("second") == [S.READY]
    engine.resume()
    assert not engine.run_paused
    assert await asyncio.wait_for(run, 60) == {"first": S.SUCCEEDED, "second": S.SUCCEEDED}


async def test_run_paused_before_it_starts(repo: Path, runner) -> None:
    engine = make_engine(plan_of({"id": "t", "prompt": "echo t"}), repo)
    engine.pause()
    run, rec = runner.start(engine)
    await rec.wait_state("t", S.READY)
    await asyncio.sleep(0.2)
    assert rec.states("t") == [S.READY]
    engine.resume()
    assert await asyncio.wait_for(run, 60) == {"t": S.SUCCEEDED}


# ---------------------------------------------------------------------------------------- cancel
async def test_cancel_one_running_task(repo: Path, tmp_path: Path, runner) -> None:
    pidfile = tmp_path / "pids"
    plan = plan_of(
        {"id": "a", "prompt": f'sleep 1000 & echo "$$ $!" > {pidfile}; echo started; wait'},
        {"id": "b", "prompt": "echo b", "depends_on": ["a"]},
        {"id": "c", "prompt": "echo c"},
    )
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_line("a", "started")
    engine.cancel("a")
    states = await asyncio.wait_for(run, 60)
    assert states == {"a": S.CANCELLED, "b": S.SKIPPED, "c": S.SUCCEEDED}
    assert [e.reason for e in rec.transitions("a") if e.new is S.CANCELLED] == ["cancelled"]
    assert_group_gone(read_pids(pidfile))
    with pytest.raises(CommandError, match="already ended"):
        engine.cancel("a")
    with pytest.raises(CommandError, match="no task 'zzz'"):
        engine.cancel("zzz")


async def test_cancel_a_paused_task(repo: Path, tmp_path: Path, runner) -> None:
    pidfile = tmp_path / "pids"
    plan = plan_of({"id": "a", "prompt": f'sleep 1000 & echo "$$ $!" > {pidfile}; echo started; wait'})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_line("a", "started")
    engine.pause("a")
    pids = read_pids(pidfile)
    await eventually(lambda: proc_state(pids[1]) == "T", what="the group to stop")
    engine.cancel("a")
    assert await asyncio.wait_for(run, 60) == {"a": S.CANCELLED}
    assert rec.states("a") == [S.READY, S.RUNNING, S.PAUSED, S.CANCELLED]
    assert_group_gone(pids)


async def test_cancel_everything(repo: Path, tmp_path: Path, runner) -> None:
    gate, tag = tmp_path / "gate-never", marker()
    plan = plan_of(
        *[{"id": f"t{i}", "prompt": f"{wait_for_file(gate)} # {tag}"} for i in range(3)],
        {"id": "after", "prompt": "true", "depends_on": ["t0"]},
        max_parallel=2,
    )
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_for(lambda e: sum(1 for x in rec.of(TaskStateChanged) if x.new is S.RUNNING) >= 2,
                       what="two tasks running")
    engine.cancel()
    states = await asyncio.wait_for(run, 60)
    assert states == {"t0": S.CANCELLED, "t1": S.CANCELLED, "t2": S.CANCELLED, "after": S.CANCELLED}
    assert pids_with_marker(tag) == []


async def test_cancel_while_the_worktree_is_being_made(repo: Path, runner) -> None:
    """Cancelling a task that was launched but has not started its agent must not break the run."""
    plan = plan_of(*[{"id": f"t{i}", "prompt": "echo hi"} for i in range(3)], max_parallel=3)
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_state("t2", S.READY)  # every task is launched at once: each is making its worktree
    engine.cancel("t0")
    states = await asyncio.wait_for(run, 60)
    assert states == {"t0": S.CANCELLED, "t1": S.SUCCEEDED, "t2": S.SUCCEEDED}
    assert rec.states("t0") == [S.READY, S.CANCELLED]
    assert rec.results("t0") == []


async def test_cancel_everything_as_the_run_starts(repo: Path, runner) -> None:
    plan = plan_of(*[{"id": f"t{i}", "prompt": "echo hi"} for i in range(3)],
                   {"id": "later", "prompt": "true", "depends_on": ["t0"]}, max_parallel=2)
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_state("t2", S.READY)
    engine.cancel()
    states = await asyncio.wait_for(run, 60)
    assert [states[f"t{i}"] for i in range(3)] == [S.CANCELLED] * 3
    assert states["later"] in (S.CANCELLED, S.SKIPPED)
    assert rec.lines("t0", "stdout") == []


async def test_cancelling_the_run_itself_stops_every_agent(repo: Path, tmp_path: Path, runner) -> None:
    """What Ctrl+C does: the run's own asyncio task is cancelled."""
    pidfile = tmp_path / "pids"
    plan = plan_of({"id": "a", "prompt": f'sleep 1000 & echo "$$ $!" > {pidfile}; echo started; wait'},
                   {"id": "b", "prompt": "true", "depends_on": ["a"]})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_line("a", "started")
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, 60)
    await rec.finished()
    assert isinstance(rec.events[-1], RunFinished)
    assert rec.events[-1].states == {"a": S.CANCELLED, "b": S.CANCELLED}
    assert [e.reason for e in rec.transitions("b")] == ["the run was stopped"]
    assert_group_gone(read_pids(pidfile))


# ----------------------------------------------------------------------------- retry on demand
async def test_retry_on_demand_revives_skipped_dependents(repo: Path, tmp_path: Path, runner) -> None:
    flag = tmp_path / "fixed"
    plan = plan_of(
        {"id": "a", "prompt": f'[ -e {flag} ] || {{ echo "not yet"; exit 1; }}; echo fixed > a.txt'},
        {"id": "b", "prompt": "cat a.txt", "depends_on": ["a"]},
        {"id": "c", "prompt": "echo c", "depends_on": ["b"]},
    )
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("c", S.SKIPPED)
    await asyncio.sleep(0.05)
    assert not run.done()  # stay_open: the run waits for the developer
    with pytest.raises(CommandError, match="only a failed, timed-out or cancelled task"):
        engine.retry("b")
    flag.touch()
    engine.retry("a")
    await rec.wait_state("c", S.SUCCEEDED)
    engine.close()
    states = await asyncio.wait_for(run, 60)
    assert states == {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "c": S.SUCCEEDED}
    assert rec.states("a") == [S.READY, S.RUNNING, S.FAILED, S.READY, S.RUNNING, S.SUCCEEDED]
    assert rec.states("b") == [S.SKIPPED, S.PENDING, S.READY, S.RUNNING, S.SUCCEEDED]
    revived = [e for e in rec.transitions("b") if e.new is S.PENDING]
    assert revived[0].reason == "dependency 'a' is being retried"
    assert engine.tasks["a"].attempts == 2
    assert rec.lines("b", "stdout") == ["fixed"]
    with pytest.raises(CommandError, match="the run has ended"):
        engine.retry("a")


async def test_retry_revives_a_dependent_only_when_all_its_dependencies_can_succeed(
    repo: Path, tmp_path: Path, runner
) -> None:
    plan = plan_of(
        {"id": "a", "prompt": f"[ -e {tmp_path}/a-ok ]"},
        {"id": "b", "prompt": f"[ -e {tmp_path}/b-ok ]"},
        {"id": "c", "prompt": "echo c", "depends_on": ["a", "b"]},
    )
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("a", S.FAILED)
    await rec.wait_state("b", S.FAILED)
    (tmp_path / "a-ok").touch()
    engine.retry("a")
    await rec.wait_state("a", S.SUCCEEDED)
    await asyncio.sleep(0.05)
    assert engine.tasks["c"].state is S.SKIPPED  # b still failed: c cannot run yet
    (tmp_path / "b-ok").touch()
    engine.retry("b")
    await rec.wait_state("c", S.SUCCEEDED)
    engine.close()
    assert await asyncio.wait_for(run, 60) == {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "c": S.SUCCEEDED}


async def test_retry_after_one_failure_while_others_run_ends_the_run(repo: Path, tmp_path: Path, runner) -> None:
    """Without stay_open, a retry during the run must not leave a dependent waiting forever."""
    gate = tmp_path / "gate"
    plan = plan_of(
        {"id": "a", "prompt": f"[ -e {tmp_path}/a-ok ]"},
        {"id": "b", "prompt": "exit 1"},
        {"id": "c", "prompt": "true", "depends_on": ["a", "b"]},
        {"id": "slow", "prompt": wait_for_file(gate)},
    )
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_state("a", S.FAILED)
    await rec.wait_state("b", S.FAILED)
    (tmp_path / "a-ok").touch()
    engine.retry("a")
    await rec.wait_state("a", S.SUCCEEDED)
    gate.touch()
    states = await asyncio.wait_for(run, 60)
    assert states == {"a": S.SUCCEEDED, "b": S.FAILED, "c": S.SKIPPED, "slow": S.SUCCEEDED}


async def test_retry_revives_a_dependent_whose_other_dependency_awaits_its_automatic_retry(
    repo: Path, tmp_path: Path, runner
) -> None:
    plan = plan_of(
        {"id": "a", "prompt": f"[ -e {tmp_path}/a-ok ]"},
        {"id": "b", "retries": 1, "prompt": '[ "$COCKPIT_ATTEMPT" -ge 2 ]'},
        {"id": "c", "prompt": "echo c", "depends_on": ["a", "b"]},
    )
    engine = make_engine(plan, repo, backoff_base=60.0, backoff_max=60.0)  # b's retry waits: we start it
    run, rec = runner.start(engine)
    await rec.wait_state("c", S.SKIPPED)
    await rec.wait_line("b", "retry 1 of 1")
    (tmp_path / "a-ok").touch()
    engine.retry("a")
    assert engine.tasks["c"].state is S.PENDING
    engine.retry("b")  # already waiting for its automatic retry: starts it now
    states = await asyncio.wait_for(run, 60)
    assert states == {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "c": S.SUCCEEDED}


async def test_retry_a_cancelled_task(repo: Path, tmp_path: Path, runner) -> None:
    plan = plan_of({"id": "a", "prompt": 'echo "run $COCKPIT_ATTEMPT"; [ "$COCKPIT_ATTEMPT" != 1 ] || sleep 1000'})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine, stay_open=True)
    await rec.wait_line("a", "run 1")
    engine.cancel("a")
    await rec.wait_state("a", S.CANCELLED)
    engine.retry("a")
    await rec.wait_state("a", S.SUCCEEDED)
    engine.close()
    assert await asyncio.wait_for(run, 60) == {"a": S.SUCCEEDED}


async def test_retry_with_a_message_gives_it_to_the_next_attempts(repo: Path, tmp_path: Path, runner) -> None:
    """The developer's message goes into the prompt (and COCKPIT_MESSAGE) of the retried attempt and says
    so in the task's log; a plain retry after it drops it."""
    plan = plan_of({"id": "a", "prompt": 'echo "attempt $COCKPIT_ATTEMPT: ${COCKPIT_MESSAGE:-none}"; exit 1'})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("a", S.FAILED)
    engine.retry("a", "use the other file")
    await eventually(lambda: "attempt 2: use the other file" in rec.lines("a", "stdout"), 30, "attempt 2")
    await rec.wait_state("a", S.FAILED)
    assert "retried with your message: use the other file" in rec.lines("a", "engine")
    sent = [e for e in rec.events if type(e).__name__ == "PromptSent"]
    assert sent[-1].attempt == 2 and sent[-1].prompt.endswith(
        "# --- cockpit: The developer's message on the last attempt ---\n# use the other file\n")
    await eventually(lambda: engine.tasks["a"].attempts == 2 and engine.tasks["a"].state is S.FAILED, 30, "ended")
    engine.retry("a")
    await eventually(lambda: "attempt 3: none" in rec.lines("a", "stdout"), 30, "attempt 3")
    engine.close()
    await asyncio.wait_for(run, 60)


async def test_a_fresh_retry_makes_a_new_worktree_and_waits_for_no_automatic_retry(repo: Path, runner) -> None:
    """``fresh``: the earlier worktree and branch are gone (discarded): the next attempt makes them anew from
    the base. A task waiting for its automatic retry still has its worktree: it cannot start over."""
    plan = plan_of({"id": "a", "prompt": 'echo "attempt $COCKPIT_ATTEMPT" >> work.txt; exit 1', "retries": 1})
    engine = make_engine(plan, repo, backoff_base=60.0, backoff_max=60.0)
    run, rec = runner.start(engine, stay_open=True)
    task = engine.tasks["a"]
    await eventually(lambda: task.retry_pending, 30, "the automatic retry waiting")
    with pytest.raises(CommandError, match="^task 'a' is waiting for an automatic retry in its worktree: let it "
                                           "end before it starts over$"):
        engine.retry("a", fresh=True)
    engine.retry("a")  # now
    await eventually(lambda: task.attempts == 2 and task.state is S.FAILED and not task.retry_pending, 30, "ended")
    first = rec.result("a")
    git(repo, "worktree", "remove", "--force", first.worktree)
    git(repo, "branch", "-D", first.branch)
    engine.retry("a", fresh=True)
    await eventually(lambda: task.attempts == 3 and task.state is S.FAILED, 30, "the fresh attempt")
    assert Path(first.worktree, "work.txt").read_text() == "attempt 3\n"
    assert "the work of its earlier attempt was discarded: it starts from a fresh worktree" in rec.lines("a", "engine")
    engine.close()
    await asyncio.wait_for(run, 60)


# ------------------------------------------------------------------------------- follow-ups
async def test_send_a_follow_up_message(repo: Path, runner) -> None:
    plan = plan_of({"id": "talk", "prompt": 'echo ready; read line; echo "got $line"'})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    await rec.wait_line("talk", "ready")
    await engine.send("talk", "hello 'there' $(nothing)")
    assert await asyncio.wait_for(run, 60) == {"talk": S.SUCCEEDED}
    assert rec.lines("talk", "stdout") == ["ready", "got hello 'there' $(nothing)"]
    assert "message sent: hello 'there' $(nothing)" in rec.lines("talk", "engine")
    with pytest.raises(CommandError, match="the run has ended: a conversation goes on only while its run is open"):
        await engine.send("talk", "too late")


async def test_a_follow_up_to_an_ended_shell_task_is_refused_with_what_to_do_instead(repo: Path, runner) -> None:
    plan = plan_of({"id": "ok", "prompt": "echo done > ok.txt"}, {"id": "bad", "prompt": "exit 3"},
                   {"id": "after", "prompt": "true", "depends_on": ["bad"]})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("ok", S.SUCCEEDED)
    await rec.wait_state("bad", S.FAILED)
    with pytest.raises(CommandError) as refused:
        await engine.send("ok", "also handle the empty case")
    assert str(refused.value) == (
        "task 'ok' succeeded, and its conversation cannot go on: its agent (profile 'shell') runs a script once: "
        "there is no conversation to continue; review its work (v); what remains needs a task of its own")
    with pytest.raises(CommandError, match=r"^task 'bad' failed, and .* runs a script once: .*; "
                                           r"retry it with your message instead \(r\)$"):
        await engine.send("bad", "try harder")
    with pytest.raises(CommandError, match="it was skipped and never ran"):
        await engine.send("after", "hi")
    with pytest.raises(CommandError, match="needs some text"):
        await engine.send("ok", "  ")
    # nothing moved: no new attempt, no line of a follow-up
    assert [(t.state, t.attempts) for t in engine.tasks.values()] == [(S.SUCCEEDED, 1), (S.FAILED, 1), (S.SKIPPED, 0)]
    assert not any("follow-up" in line for line in rec.lines("ok"))
    engine.close()
    assert await asyncio.wait_for(run, 60) == {"ok": S.SUCCEEDED, "bad": S.FAILED, "after": S.SKIPPED}


async def test_send_to_a_profile_without_follow_up(repo: Path, tmp_path: Path, runner) -> None:
    profiles = ProfileSet()
    profiles.profiles["mute"] = profiles["shell"].with_changes(name="mute", follow_up="none")
    gate = tmp_path / "gate"
    plan = plan_of({"id": "t", "agent": "mute", "prompt": f"echo ready; {wait_for_file(gate)}"},
                   {"id": "later", "prompt": "true", "depends_on": ["t"]}, profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    run, rec = runner.start(engine)
    await rec.wait_line("t", "ready")
    with pytest.raises(CommandError, match="does not take follow-up messages"):
        await engine.send("t", "hi")
    with pytest.raises(CommandError, match="is pending"):
        await engine.send("later", "hi")
    gate.touch()
    assert await asyncio.wait_for(run, 60) == {"t": S.SUCCEEDED, "later": S.SUCCEEDED}


# ------------------------------------------------------------------------------ broken agents
async def test_missing_program_fails_only_its_task(repo: Path, runner) -> None:
    profiles = ProfileSet()
    profiles.profiles["ghost"] = AgentProfile("ghost", argv=("no-such-agent-program-xyz", "{prompt}"))
    plan = plan_of(
        {"id": "g", "agent": "ghost", "prompt": "do it"},
        {"id": "after-g", "prompt": "true", "depends_on": ["g"]},
        {"id": "ok", "prompt": "echo fine"},
        profiles=profiles,
    )
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"g": S.FAILED, "after-g": S.SKIPPED, "ok": S.SUCCEEDED}
    assert rec.states("g") == [S.READY, S.FAILED]
    (failed,) = [e for e in rec.transitions("g") if e.new is S.FAILED]
    assert failed.reason == (
        "agent profile 'ghost': program 'no-such-agent-program-xyz' is not installed (not found on PATH)"
    )


class ExplodingAgent:
    accepts_messages = False

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx

    async def run(self) -> AgentExit:
        self.ctx.emit_lines("stdout", ["about to explode"])
        await asyncio.sleep(0)
        raise RuntimeError("kaboom")

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def stop(self, grace: float) -> None: ...

    async def send(self, text: str) -> None: ...


async def test_an_agent_that_raises_fails_only_its_task(repo: Path, runner) -> None:
    def factory(spec, profile, ctx):
        return ExplodingAgent(ctx) if spec.id == "boom" else CommandAgent(profile, ctx)

    plan = plan_of(
        {"id": "boom", "prompt": "x"},
        {"id": "child", "prompt": "true", "depends_on": ["boom"]},
        {"id": "fine", "prompt": "echo fine"},
    )
    states, rec = await runner.run(make_engine(plan, repo, agent_factory=factory))
    assert states == {"boom": S.FAILED, "child": S.SKIPPED, "fine": S.SUCCEEDED}
    assert "agent error: RuntimeError: kaboom" in rec.lines("boom", "engine")
    assert rec.lines("boom", "stdout") == ["about to explode"]
    assert rec.result("boom").exit_code is None


async def test_an_agent_that_cannot_be_made_fails_only_its_task(repo: Path, runner) -> None:
    def factory(spec, profile, ctx):
        if spec.id == "unmade":
            raise ImportError("No module named 'some_sdk'")
        return CommandAgent(profile, ctx)

    plan = plan_of({"id": "unmade", "prompt": "x"}, {"id": "fine", "prompt": "echo fine"})
    states, rec = await runner.run(make_engine(plan, repo, agent_factory=factory))
    assert states == {"unmade": S.FAILED, "fine": S.SUCCEEDED}
    assert "agent error: ImportError: No module named 'some_sdk'" in rec.lines("unmade", "engine")


async def test_killed_by_a_signal(repo: Path, runner) -> None:
    states, rec = await runner.run(make_engine(plan_of({"id": "t", "prompt": "kill -9 $$"}), repo))
    assert states == {"t": S.FAILED}
    assert [e.reason for e in rec.transitions("t")][-1] == "killed by signal 9"


async def test_a_plain_program_is_shown_as_it_is_and_its_last_non_blank_line_is_the_final_message(
        repo: Path, runner) -> None:
    plan = plan_of({"id": "t", "prompt": "printf '  hello  \\n{\"type\": \"result\"}\\n\\n   \\n'"})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"t": S.SUCCEEDED}
    assert rec.lines("t", "stdout") == ["  hello  ", '{"type": "result"}', "", "   "]
    assert rec.result("t").final_message == '{"type": "result"}'


# -------------------------------------------------------------------------------- fake agents
async def test_claude_fake_agent(repo: Path, runner, fake_agents_on_path) -> None:
    plan = plan_of({"id": "c", "agent": "claude-cli", "prompt": "Please write hello.txt: hi from claude"})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"c": S.SUCCEEDED}
    shown = rec.lines("c", "agent")
    assert "I'll take care of it." in shown and "Let me look around first." in shown
    assert not any(line.lstrip().startswith("{") for line in rec.lines("c")), shown
    assert rec.lines("c", "stdout") == []
    usage = rec.usage("c")[-1].usage
    assert (usage.tokens_in, usage.tokens_out, usage.cache_write, usage.cache_read) == (130, 42, 50, 160)
    assert usage.cost_usd == pytest.approx(0.0123)
    result = rec.result("c")
    assert result.final_message == "Done: wrote hello.txt"
    assert result.files == (FileStat("hello.txt", 1, 0),)
    assert git(repo, "show", f"{result.branch}:hello.txt") == "hi from claude"
    assert git(repo, "rev-parse", result.branch) == result.head_commit
    assert not (repo / "hello.txt").exists()


async def test_codex_fake_agent(repo: Path, runner, fake_agents_on_path) -> None:
    plan = plan_of({"id": "x", "agent": "codex", "prompt": "write notes/todo.md: - ship it"})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"x": S.SUCCEEDED}
    shown = rec.lines("x", "agent")
    assert shown and not any(line.lstrip().startswith("{") for line in rec.lines("x")), shown
    assert any("Made the changes." in line for line in shown)
    usage = rec.usage("x")[-1].usage
    assert (usage.tokens_in, usage.tokens_out, usage.cache_read) == (800, 80, 1400)
    assert usage.cost_usd is None  # codex does not say: never invented
    result = rec.result("x")
    assert result.final_message == "Done: wrote notes/todo.md"
    assert git(repo, "show", f"{result.branch}:notes/todo.md") == "- ship it"
    assert [f.path for f in result.files] == ["notes/todo.md"]


async def test_usage_adds_up_over_attempts(repo: Path, runner, fake_agents_on_path) -> None:
    profiles = ProfileSet()
    profiles.profiles["failing"] = profiles["claude-cli"].with_changes(name="failing", env=(("FAKE_AGENT_EXIT", "1"),))
    plan = plan_of({"id": "c", "agent": "failing", "retries": 1, "prompt": "nothing"}, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"c": S.FAILED}
    assert rec.states("c") == [S.READY, S.RUNNING, S.FAILED, S.RUNNING, S.FAILED]
    usage = rec.usage("c")[-1].usage
    assert (usage.tokens_in, usage.tokens_out) == (260, 84)
    assert usage.cost_usd == pytest.approx(0.0246)
    assert rec.usage("c")[0].usage.tokens_in == 100  # the first message, as it streamed
