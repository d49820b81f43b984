"""The per-task supervisor: no process an agent starts outlives its task or the cockpit, whatever it did
to leave its process group (setsid, a double fork, a daemon), and a stopped task does nothing more."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.process import GroupProcess, Supervised
from tests.helpers.events import eventually
from tests.helpers.processes import pid_alive, proc_state

WAIT = 30  # seconds: bounds a test that would hang, never reached when things work
ROOT = str(Path(__file__).resolve().parents[2])

# A script that leaves three processes behind in three ways, writes their pids, then says "ready".
ESCAPES = textwrap.dedent("""\
    setsid sleep 1001 &
    echo $! > {pids}.setsid
    ( setsid bash -c 'sleep 1002 & echo $! > {pids}.double' & )
    nohup bash -c 'trap "" HUP TERM; exec sleep 1003' > /dev/null 2>&1 &
    echo $! > {pids}.daemon
    while [ ! -s {pids}.double ]; do sleep 0.01; done
    echo ready
""")


class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, stream: str, lines: list[str]) -> None:
        self.lines.extend(lines)


def escapees(tmp_path: Path) -> list[int]:
    return [int((tmp_path / f"pids.{kind}").read_text()) for kind in ("setsid", "double", "daemon")]


async def started_with_escapees(tmp_path: Path) -> tuple[GroupProcess, list[int]]:
    """A program that left three processes out of its group, and their pids, all alive."""
    sink = Sink()
    script = ESCAPES.format(pids=tmp_path / "pids") + "sleep 1000\n"
    proc = await GroupProcess.start(["bash", "-c", script], str(tmp_path), dict(os.environ), sink)
    await eventually(lambda: "ready" in sink.lines, WAIT, "the script to start")
    left = escapees(tmp_path)
    assert all(pid_alive(pid) for pid in left)
    return proc, left


async def test_what_left_the_group_ends_with_the_program(tmp_path: Path) -> None:
    sink = Sink()
    script = ESCAPES.format(pids=tmp_path / "pids") + "exit 3\n"
    proc = await GroupProcess.start(["bash", "-c", script], str(tmp_path), dict(os.environ), sink)
    assert await asyncio.wait_for(proc.wait(), WAIT) == 3
    assert sink.lines == ["ready"]
    left = escapees(tmp_path)
    assert [pid for pid in left if pid_alive(pid)] == []


async def test_stop_ends_what_left_the_group(tmp_path: Path) -> None:
    proc, left = await started_with_escapees(tmp_path)
    await asyncio.wait_for(proc.terminate(), WAIT)
    assert await asyncio.wait_for(proc.wait(), WAIT) == -signal.SIGKILL
    assert [pid for pid in left if pid_alive(pid)] == []


async def test_a_stopped_program_does_nothing_more_not_even_its_term_trap(tmp_path: Path) -> None:
    """No grace period: a trap on TERM (where an agent would make one more call or write) never runs."""
    sink = Sink()
    late = tmp_path / "late.txt"
    script = f"trap 'echo late > {late}; exit 0' TERM; echo ready; while true; do sleep 0.01; done"
    proc = await GroupProcess.start(["bash", "-c", script], str(tmp_path), dict(os.environ), sink)
    await eventually(lambda: "ready" in sink.lines, WAIT, "the script to start")
    await asyncio.wait_for(proc.terminate(grace=3.0), WAIT)
    await asyncio.sleep(0.2)
    assert not late.exists()


async def test_pause_stops_what_left_the_group_too(tmp_path: Path) -> None:
    proc, left = await started_with_escapees(tmp_path)
    proc.pause()
    await eventually(lambda: all(proc_state(pid) == "T" for pid in [proc.pgid, *left]), WAIT, "all to stop")
    proc.resume()
    await eventually(lambda: all(proc_state(pid) in ("S", "R") for pid in [proc.pgid, *left]), WAIT, "all to go on")
    await proc.terminate()
    assert [pid for pid in left if pid_alive(pid)] == []


@pytest.mark.parametrize("how", ["SIGKILL", "SIGHUP"])
def test_nothing_outlives_a_killed_cockpit(tmp_path: Path, how: str) -> None:
    """A cockpit killed with SIGKILL, or whose terminal closed (SIGHUP), leaves no process behind."""
    script = ESCAPES.format(pids=tmp_path / "pids") + "sleep 1000\n"
    cockpit = textwrap.dedent(f"""\
        import asyncio, os, sys
        from engine.process import GroupProcess
        async def main():
            proc = await GroupProcess.start(["bash", "-c", {script!r}], {str(tmp_path)!r}, dict(os.environ),
                                            lambda s, lines: print(*lines, flush=True))
            print(proc.pgid, flush=True)
            await asyncio.sleep(1000)
        asyncio.run(main())
    """)
    child = subprocess.Popen([sys.executable, "-c", cockpit], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        first, second = child.stdout.readline().strip(), child.stdout.readline().strip()
        program = int(first if first != "ready" else second)
        left = [program, *escapees(tmp_path)]
        assert all(pid_alive(pid) for pid in left)
        child.send_signal(getattr(signal, how))
        child.wait(WAIT)
        asyncio.run(eventually(lambda: not any(pid_alive(pid) for pid in left), WAIT, "the task's processes to end"))
    finally:
        child.kill()
        child.wait(WAIT)


async def test_a_missing_program_raises_as_create_subprocess_exec_does(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await Supervised.start(["no-such-program-anywhere"], str(tmp_path), dict(os.environ))
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    with pytest.raises(PermissionError):
        await Supervised.start([str(script)], str(tmp_path), dict(os.environ))


async def test_supervised_gives_the_program_s_own_streams(tmp_path: Path) -> None:
    """What an ACP client needs: the program's stdin and stdout as asyncio streams."""
    sup = await Supervised.start(
        ["bash", "-c", 'read line; echo "got $line"; echo err >&2'], str(tmp_path), dict(os.environ),
        stdin=asyncio.subprocess.PIPE,
    )
    assert sup.proc.stdin is not None and sup.proc.stdout is not None and sup.proc.stderr is not None
    sup.proc.stdin.write(b"hello\n")
    await sup.proc.stdin.drain()
    assert await asyncio.wait_for(sup.proc.stdout.readline(), WAIT) == b"got hello\n"
    assert await asyncio.wait_for(sup.proc.stderr.readline(), WAIT) == b"err\n"
    assert await asyncio.wait_for(sup.wait(), WAIT) == 0
    assert sup.returncode == 0


async def test_the_program_runs_with_exactly_the_environment_and_folder_given(tmp_path: Path) -> None:
    sink = Sink()
    env = {"PATH": os.environ["PATH"], "ONLY": "this"}
    proc = await GroupProcess.start(["bash", "-c", "pwd; echo $ONLY; env | wc -l"], str(tmp_path), env, sink)
    assert await asyncio.wait_for(proc.wait(), WAIT) == 0
    assert sink.lines[:2] == [str(tmp_path), "this"]


# ------------------------------------------------------------------------ a task, in the engine
@pytest.mark.parametrize("how", ["timeout", "cancel"])
async def test_a_stopped_task_s_commit_holds_nothing_done_after_its_stop(repo: Path, tmp_path: Path, runner,
                                                                          how: str) -> None:
    """The agent traps TERM to write one more file (as an agent would make one more API call and write
    its answer), and a process it left in a session of its own writes later: neither lands in the
    task's leftover commit, and neither process is left."""
    from engine.states import TaskState
    from tests.helpers.events import make_engine, plan_of
    from tests.helpers.repos import git

    pids = tmp_path / "ghost.pid"
    script = (f"trap 'echo late > late.txt; exit 0' TERM; echo early > early.txt; "
              f"( setsid bash -c 'echo $$ > {pids}; sleep 1.5; echo ghost > ghost.txt' & ); "
              f"while [ ! -s {pids} ]; do sleep 0.01; done; echo working; while true; do sleep 0.02; done")
    task = {"id": "t", "prompt": script} | ({"timeout": "1s"} if how == "timeout" else {})
    engine = make_engine(plan_of(task), repo)
    run, rec = runner.start(engine)
    await rec.wait_line("t", "working")
    if how == "cancel":
        engine.cancel("t")
    states = await asyncio.wait_for(run, WAIT)
    assert states == {"t": TaskState.TIMED_OUT if how == "timeout" else TaskState.CANCELLED}
    result = engine.tasks["t"].last_result
    assert result is not None
    committed = git(repo, "ls-tree", "-r", "--name-only", result.head_commit).split()
    assert "early.txt" in committed and "late.txt" not in committed
    assert not pid_alive(int(pids.read_text()))
    await asyncio.sleep(1.6)  # past the moment the ghost would have written
    assert not (Path(result.worktree) / "ghost.txt").exists()
