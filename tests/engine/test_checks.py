"""Checks: a command run in the task's worktree after its agent; the task succeeds only if it passes.

On real repositories with the shell profile: a check that passes, one that fails, one that fails and
gets the agent another attempt with its output fed back (the agent's script fixes the file when it finds
the failing output in its own prompt), real pytest runs whose counts are read, a timeout, a cancel.
The parsing of pytest, unittest and plain summary lines is tested on its own. Never on the clock.
"""
from __future__ import annotations

import asyncio
import io
import textwrap
from pathlib import Path

import pytest

from tests.helpers.events import eventually, make_engine, plan_of, wait_for_file
from tests.helpers.processes import leaders_with_marker, live_group_members
from tests.helpers.repos import git
from engine.checks import CheckCounts, CheckResult, feedback_text, parse_counts
from engine.errors import PlanError
from engine.events import CheckFinished, PromptSent
from engine.plan import load_plan
from engine.profiles import ProfileSet
from engine.states import TaskState
from sessions.store.event_writer import EventWriter
from sessions.store.store import Store
from tui.cli.headless import run_headless

S = TaskState


# ------------------------------------------------------------------------------------- counts
@pytest.mark.parametrize("lines, expected", [
    (["3 passed, 1 failed, 2 errors in 0.1s"], CheckCounts(3, 1, 2, 0, "pytest")),
    (["...F", "FAILED t.py::test_x - assert 1 == 2", "1 failed, 3 passed in 0.05s"], CheckCounts(3, 1, 0, 0, "pytest")),
    (["========= 1 failed, 1 passed, 1 warning in 0.02s =========="], CheckCounts(1, 1, 0, 0, "pytest")),
    (["5 passed, 2 skipped, 1 xfailed, 1 error in 1.20s (0:00:01)"], CheckCounts(5, 0, 1, 3, "pytest")),
    (["\x1b[32m\x1b[1m4 passed\x1b[0m\x1b[32m in 0.01s\x1b[0m"], CheckCounts(4, 0, 0, 0, "pytest")),
    (["no tests ran in 0.01s"], CheckCounts(0, 0, 0, 0, "pytest")),
    (["=== no tests ran in 0.00s ==="], CheckCounts(source="pytest")),
    (["..", "----", "Ran 5 tests in 0.001s", "", "OK"], CheckCounts(5, 0, 0, 0, "unittest")),
    (["Ran 3 tests in 0.002s", "", "OK (skipped=1)"], CheckCounts(2, 0, 0, 1, "unittest")),
    (["Ran 5 tests in 0.010s", "", "FAILED (failures=1, errors=2)"], CheckCounts(2, 1, 2, 0, "unittest")),
    (["Ran 4 tests in 0.010s", "", "FAILED (errors=1, expected failures=1, unexpected successes=1)"],
     CheckCounts(1, 1, 1, 1, "unittest")),
    (["checking...", "12 passed, 0 failed"], CheckCounts(12, 0, 0, 0, "plain")),
    (["2 failed, 7 passed", "done."], CheckCounts(7, 2, 0, 0, "plain")),
    (["Tests:       1 failed, 3 passed, 4 total", "Time: 1s"], CheckCounts(3, 1, 0, 0, "plain")),
    (["all good", "OK"], None),  # OK without "Ran N tests" is no unittest summary
    (["3 warnings"], None),
    (["nothing to see here"], None),
    ([], None),
])
def test_counts_are_read_from_the_end_of_the_output(lines: list[str], expected: CheckCounts | None) -> None:
    assert parse_counts(lines) == expected


def test_the_last_summary_wins() -> None:
    assert parse_counts(["1 failed, 1 passed in 0.1s", "rerunning", "2 passed in 0.1s"]) == CheckCounts(2, source="pytest")


def test_describe_and_feedback_are_bounded() -> None:
    assert CheckCounts(3, 1, 2).describe() == "3 passed, 1 failed, 2 errors"
    assert CheckCounts(0, 0, 1).describe() == "1 error"
    assert CheckCounts().describe() == "no tests ran"
    result = CheckResult("pytest -q", False, 1, CheckCounts(2, 1), tail=tuple(f"line {i} " + "x" * 200 for i in range(200)))
    assert result.describe() == "failed: exit 1 (2 passed, 1 failed)"
    text = feedback_text(result)
    assert text.startswith("The check `pytest -q` failed after your previous attempt (failed: exit 1 (2 passed, 1 failed)).")
    assert "line 199 " in text and "line 100 " not in text  # the end of the output, bounded
    assert len(text) < 7000 and "[... earlier output cut ...]" in text
    assert CheckResult("x", False, None, None, timed_out=True, seconds=600).describe() == "timed out after 10m00s"
    assert feedback_text(CheckResult("x", False, 3, None)).endswith("It printed nothing.")


# ------------------------------------------------------------------------------------- plans
def test_plan_check_keys(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(textwrap.dedent('''
        agent = "shell"
        check = "pytest -q"
        check_timeout = "2m"

        [[task]]
        id = "default"
        prompt = "true"

        [[task]]
        id = "argv"
        prompt = "true"
        check = ["python", "-m", "pytest", "-x"]
        check_timeout = 30

        [[task]]
        id = "none"
        prompt = "true"
        check = ""

        [[task]]
        id = "off"
        prompt = "true"
        check = false
    '''))
    plan = load_plan(path, ProfileSet())
    default, argv, none, off = plan.tasks
    assert default.check == ("bash", "-c", "pytest -q") and default.check_text == "pytest -q"
    assert default.check_timeout == 120.0
    assert argv.check == ("python", "-m", "pytest", "-x") and argv.check_text == "python -m pytest -x"
    assert argv.check_timeout == 30.0
    assert none.check == () and none.check_text == "" and off.check == ()


@pytest.mark.parametrize("top, task_line, expected", [
    ("check = true\n", "", "check must be a command line (a string), a non-empty array of strings (argv), or \"\" / false for none, not True"),
    ("check = 3\n", "", "check must be a command line"),
    ("", "check = []", "task 'b': check must be a command line"),
    ("", "check = [\"\", \"x\"]", "task 'b': check must be a command line"),
    ("", "check = [1]", "task 'b': check must be a command line"),
    ("check_timeout = \"soon\"\n", "", "check_timeout: bad duration 'soon'"),
    ("", "check_timeout = 0", "task 'b': check_timeout: bad duration 0: must be more than zero"),
    ("", "chek = \"x\"", "unknown key in task 'b' 'chek' (did you mean 'check'?)"),
])
def test_plan_check_errors_are_located(tmp_path: Path, top: str, task_line: str, expected: str) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(f'agent = "shell"\n{top}\n[[task]]\nid = "a"\nprompt = "x"\n\n[[task]]\nid = "b"\nprompt = "x"\n{task_line}\n')
    with pytest.raises(PlanError) as info:
        load_plan(path, ProfileSet())
    message = str(info.value)
    assert "\n" not in message and expected in message, message
    if task_line:  # the line of the second [[task]] header
        header = path.read_text().splitlines().index("[[task]]", 4) + 1
        assert message.startswith(f"{path}:{header}: "), message
    else:
        assert message.startswith(f"{path}: "), message


# ------------------------------------------------------------------------------------- running
async def test_a_passing_check(repo: Path, runner) -> None:
    plan = plan_of({"id": "t", "prompt": "echo made > out.txt", "check": "test -f out.txt && echo 'it is there'"})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"t": S.SUCCEEDED}
    (finished,) = rec.of(CheckFinished)
    assert finished.result.ok and finished.result.exit_code == 0 and finished.result.command == "test -f out.txt && echo 'it is there'"
    assert rec.lines("t", "check") == ["it is there"]
    engine_lines = rec.lines("t", "engine")
    assert any(line.startswith("check: test -f out.txt") and "(timeout 10m00s)" in line for line in engine_lines)
    assert "check passed" in engine_lines
    result = rec.result("t")
    assert result.state is S.SUCCEEDED
    assert rec.events.index(finished) < rec.index("t", S.SUCCEEDED) < rec.events.index(result)
    assert rec.states("t") == [S.READY, S.RUNNING, S.SUCCEEDED]


async def test_a_failing_check_fails_the_task(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "t", "prompt": "echo made > out.txt", "check": ["bash", "-c", "echo 2 failed, 5 passed; exit 3"]},
        {"id": "after", "prompt": "true", "depends_on": ["t"]},
    )
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"t": S.FAILED, "after": S.SKIPPED}
    (failed,) = [e for e in rec.transitions("t") if e.new is S.FAILED]
    assert failed.reason == "check failed: exit 3 (5 passed, 2 failed)"
    result = rec.result("t")
    assert result.state is S.FAILED and rec.of(CheckFinished)[0].result.counts == CheckCounts(5, 2, 0, 0, "plain")
    assert result.exit_code == 0  # the agent's own exit: it did its part
    # the agent's work was committed before the check ran; the check's verdict does not undo it
    assert git(repo, "show", f"{result.branch}:out.txt") == "made"


async def test_no_check_when_the_agent_fails_and_a_task_may_opt_out(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "broken", "prompt": "exit 4"},
        {"id": "free", "prompt": "true", "check": ""},
        check="exit 1",
    )
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"broken": S.FAILED, "free": S.SUCCEEDED}
    assert rec.of(CheckFinished) == []


async def test_a_failed_check_gives_the_agent_another_attempt_with_its_output(repo: Path, runner) -> None:
    # The agent's script looks for the check's complaint in its own text (bash gives it in
    # $BASH_EXECUTION_STRING): the needle is written split in two, so the script alone never matches.
    script = textwrap.dedent('''\
        needle="value-is-""broken"
        if printf '%s' "$BASH_EXECUTION_STRING" | grep -q -- "$needle"; then
          echo fixed > value.txt
          printf '%s\\n' "$COCKPIT_CHECK_OUTPUT" > feedback-seen.txt
        else
          echo broken > value.txt
        fi
    ''')
    check = 'v=$(cat value.txt); if [ "$v" = fixed ]; then echo 1 passed; else echo "value-is-$v"; echo 1 failed; exit 1; fi'
    plan = plan_of({"id": "fix", "prompt": script, "retries": 1}, check=check)
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"fix": S.SUCCEEDED}
    checks = [e.result for e in rec.of(CheckFinished)]
    assert [c.ok for c in checks] == [False, True]
    assert checks[0].counts == CheckCounts(0, 1, 0, 0, "plain") and checks[1].counts == CheckCounts(1, 0, 0, 0, "plain")
    starts = [e for e in rec.transitions("fix") if e.new is S.RUNNING]
    assert [e.attempt for e in starts] == [1, 2]
    (sent,) = rec.of(PromptSent)  # the first attempt got the script as written
    assert (sent.task_id, sent.attempt, sent.agent) == ("fix", 2, "shell")
    second = sent.prompt
    assert second.startswith(script.rstrip("\n")) and "# --- cockpit: The check failed ---" in second
    assert "# value-is-broken" in second and f"# The check `{check}` failed after your previous attempt" in second
    assert any("retry 1 of 1 in" in line and "the check's output joins the prompt" in line
               for line in rec.lines("fix", "engine"))
    first, last = rec.results("fix")
    assert first.worktree == last.worktree and first.branch == last.branch  # the same worktree
    branch = last.branch
    assert git(repo, "show", f"{branch}:value.txt") == "fixed"
    assert "value-is-broken" in git(repo, "show", f"{branch}:feedback-seen.txt")  # the environment too


async def test_pytest_counts_from_a_real_run_and_nothing_of_the_check_is_committed(repo_factory, runner) -> None:
    repo = repo_factory("calc", files={
        "test_calc.py": textwrap.dedent('''\
            from calc import add, sub

            def test_add():
                assert add(2, 3) == 5

            def test_add_zero():
                assert add(0, 0) == 0

            def test_sub():
                assert sub(5, 3) == 2
        '''),
    })
    # attempt 1 leaves a bug in sub(); attempt 2 (which gets the check's output) fixes it
    script = textwrap.dedent('''\
        if [ -n "$COCKPIT_CHECK_OUTPUT" ]; then op=-; else op=+; fi
        printf 'def add(a, b):\\n    return a + b\\n\\n\\ndef sub(a, b):\\n    return a %s b\\n' "$op" > calc.py
    ''')
    plan = plan_of({"id": "calc", "prompt": script, "retries": 1,
                    "check": "python -m pytest -q test_calc.py"})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"calc": S.SUCCEEDED}, rec.lines("calc")
    first, second = [e.result for e in rec.of(CheckFinished)]
    assert first.counts == CheckCounts(2, 1, 0, 0, "pytest") and not first.ok
    assert second.counts == CheckCounts(3, 0, 0, 0, "pytest") and second.ok
    assert any("1 failed, 2 passed" in line for line in rec.lines("calc", "check"))
    assert "assert 8 == 2" in "\n".join(first.tail)  # pytest's own explanation reached the feedback
    result = rec.result("calc")
    tracked = git(repo, "ls-tree", "-r", "--name-only", result.branch).split()
    assert sorted(tracked) == ["calc.py", "test_calc.py"]  # no __pycache__ committed
    assert git(result.worktree, "status", "--porcelain") == ""  # and none left behind


async def test_a_check_that_runs_too_long_is_stopped(repo: Path, tmp_path: Path, runner) -> None:
    mark = f"cockpit-check-{tmp_path.name}"
    plan = plan_of({"id": "slow", "prompt": "true", "check": f"echo started; sleep 30 # {mark}", "check_timeout": 0.3})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"slow": S.FAILED}
    (finished,) = rec.of(CheckFinished)
    assert finished.result.timed_out and not finished.result.ok
    (failed,) = [e for e in rec.transitions("slow") if e.new is S.FAILED]
    assert failed.reason.startswith("check timed out after ")
    assert any("the check's timeout of 0.3s was reached" in line for line in rec.lines("slow", "check"))
    assert leaders_with_marker(mark) == []


async def test_cancel_during_the_check_ends_its_process_group(repo: Path, tmp_path: Path, runner) -> None:
    gate = tmp_path / "never"
    mark = f"cockpit-check-{tmp_path.name}"
    plan = plan_of({"id": "t", "prompt": "true", "check": f"echo checking; {wait_for_file(gate)} # {mark}"})
    engine = make_engine(plan, repo)
    run, rec = runner.start(engine)
    # (the engine's line "check: echo checking; ..." comes before the check starts)
    (leader,) = await eventually(lambda: leaders_with_marker(mark), what="the check's process")
    engine.pause("t")  # pause and resume reach the check too
    await rec.wait_state("t", S.PAUSED)
    engine.resume("t")
    engine.cancel("t")
    assert await asyncio.wait_for(run, 30) == {"t": S.CANCELLED}
    assert live_group_members(leader) == []
    (finished,) = rec.of(CheckFinished)
    assert not finished.result.ok


async def test_checks_in_the_headless_output_and_the_store(repo: Path, tmp_path: Path) -> None:
    plan = plan_of(
        {"id": "good", "prompt": "true", "check": "echo '3 passed in 0.01s'"},
        {"id": "bad", "prompt": "true", "check": "echo '1 failed, 2 passed in 0.01s'; exit 1"},
        {"id": "plain", "prompt": "true"},
    )
    engine = make_engine(plan, repo)
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        session = await store.create_session(repo, "checks", None)
        writer = EventWriter(store, session.id, engine.run_id)
        writing = asyncio.create_task(writer.run(engine.bus.subscribe()))
        out = io.StringIO()
        assert await run_headless(engine, out=out) == 1
        await writing
        tasks = {t.key: t for t in await store.tasks(session.id)}
    finally:
        await store.close()
    text = out.getvalue()
    assert "✓ good  check     passed (3 passed)" in text
    assert "✗ bad   check     failed: exit 1 (2 passed, 1 failed)" in text
    assert "  good  check passed (3 passed)" not in text  # the engine's pane line is not repeated
    table = text[text.index("task "):].splitlines()
    assert table[0].split() == ["task", "state", "check", "time", "attempts", "added", "removed", "tokens", "cost"]
    rows = {line.split()[0]: line for line in table[2:] if line.strip()}
    assert "✓ 3 passed" in rows["good"] and "✗ 2 passed, 1 failed" in rows["bad"] and " - " in rows["plain"]
    assert tasks["good"].check == {"command": "echo '3 passed in 0.01s'", "ok": True, "exit_code": 0,
                                   "timed_out": False, "counts": {"passed": 3, "failed": 0, "errors": 0,
                                                                  "skipped": 0, "source": "pytest"}}
    assert tasks["bad"].check["ok"] is False and tasks["bad"].check["counts"]["failed"] == 1
    assert tasks["plain"].check is None
