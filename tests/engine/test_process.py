"""GroupProcess: lines of any length, CRLF, separate streams, and ending everything the program started."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.helpers.events import eventually
from tests.helpers.processes import live_group_members, pid_alive, proc_state
from engine.process import CHUNK, PID_FILE_ENV, STOP, GroupProcess, read_pid_file, write_launcher

WAIT = 30  # seconds: bounds a test that would hang, never reached when things work


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, stream: str, lines: list[str]) -> None:
        self.calls.append((stream, list(lines)))

    def lines(self, stream: str) -> list[str]:
        return [line for s, batch in self.calls if s == stream for line in batch]


async def start(argv: list[str], sink: Sink, stdin: bool = False, cwd: str | None = None) -> GroupProcess:
    return await GroupProcess.start(argv, cwd or os.getcwd(), dict(os.environ), sink, stdin=stdin)


async def run(argv: list[str], stdin: bool = False) -> tuple[int, Sink]:
    sink = Sink()
    proc = await start(argv, sink, stdin)
    code = await asyncio.wait_for(proc.wait(), WAIT)
    return code, sink


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_a_5mb_line_without_newline_arrives_whole() -> None:
    code, sink = await run(py("import sys; sys.stdout.write('x' * 5_000_000)"))
    assert code == 0
    assert [len(line) for line in sink.lines("stdout")] == [5_000_000]
    assert sink.lines("stdout")[0] == "x" * 5_000_000


async def test_a_5mb_line_between_others() -> None:
    code, sink = await run(py(
        "import sys; w = sys.stdout.write; w('first\\n'); w('y' * 5_000_000 + '\\n'); w('last\\n')"
    ))
    assert [len(line) for line in sink.lines("stdout")] == [5, 5_000_000, 4]
    assert sink.lines("stdout")[-1] == "last"


async def test_crlf_lines_lose_their_carriage_return() -> None:
    code, sink = await run(["printf", "one\\r\\ntwo\\r\\n\\r\\nthree\\r\\nlast"])
    assert sink.lines("stdout") == ["one", "two", "", "three", "last"]


async def test_stderr_comes_on_its_own_stream() -> None:
    code, sink = await run(["bash", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 4"])
    assert code == 4
    assert sink.lines("stdout") == ["out1", "out2"]
    assert sink.lines("stderr") == ["err1", "err2"]


async def test_many_lines_keep_their_order_and_come_in_batches() -> None:
    code, sink = await run(["seq", "1", "200000"])
    assert sink.lines("stdout") == [str(i) for i in range(1, 200_001)]
    assert len(sink.calls) < 20_000  # whole chunks, not one call a line


async def test_multibyte_character_across_a_chunk_boundary() -> None:
    expr = f"'a' * {CHUNK - 1} + 'é' + 'ü' * 10 + '\\n' + '€' * {CHUNK // 2}"
    code, sink = await run(py(f"import sys; sys.stdout.buffer.write(({expr}).encode())"))
    assert sink.lines("stdout") == ["a" * (CHUNK - 1) + "é" + "ü" * 10, "€" * (CHUNK // 2)]


async def test_invalid_utf8_is_replaced_not_fatal() -> None:
    code, sink = await run(py("import sys; sys.stdout.buffer.write(b'ok\\nbad \\xff\\xfe here\\n')"))
    assert sink.lines("stdout") == ["ok", "bad \ufffd\ufffd here"]


async def test_empty_output_gives_no_lines() -> None:
    code, sink = await run(["true"])
    assert code == 0 and sink.calls == []


async def test_exit_by_signal_is_negative() -> None:
    code, sink = await run(["bash", "-c", "kill -TERM $$"])
    assert code == -15


async def test_runs_in_its_own_process_group_and_cwd(tmp_path: Path) -> None:
    sink = Sink()
    proc = await start(["bash", "-c", "echo $$; ps -o pgid= -p $$; pwd"], sink, cwd=str(tmp_path))
    await asyncio.wait_for(proc.wait(), WAIT)
    pid, pgid, cwd = [line.strip() for line in sink.lines("stdout")]
    assert int(pid) == int(pgid) == proc.pgid != os.getpgid(0)
    assert cwd == str(tmp_path)


async def test_terminate_ends_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    sink = Sink()
    proc = await start(["bash", "-c", f'sleep 1000 & echo "$$ $!" > {pidfile}; echo ready; wait'], sink)
    await eventually(lambda: "ready" in sink.lines("stdout"), WAIT, "the script to start")
    pids = [int(p) for p in pidfile.read_text().split()]
    assert all(pid_alive(p) for p in pids)
    await proc.terminate(grace=1.0)
    code = await asyncio.wait_for(proc.wait(), WAIT)
    assert code == -9  # frozen, then killed: no grace period to act in
    assert [p for p in pids if pid_alive(p)] == []
    assert live_group_members(proc.pgid) == []


async def test_terminate_kills_what_ignores_term(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    sink = Sink()
    script = f"trap '' TERM; sleep 1000 & echo \"$$ $!\" > {pidfile}; echo ready; wait; wait; wait"
    proc = await start(["bash", "-c", script], sink)
    await eventually(lambda: "ready" in sink.lines("stdout"), WAIT, "the script to start")
    pids = [int(p) for p in pidfile.read_text().split()]
    await proc.terminate(grace=0.2)
    code = await asyncio.wait_for(proc.wait(), WAIT)
    assert code == -9
    assert [p for p in pids if pid_alive(p)] == []
    assert live_group_members(proc.pgid) == []


async def test_a_background_child_holding_stdout_does_not_keep_wait_waiting(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code, sink = await run(["bash", "-c", f"sleep 1000 & echo $! > {pidfile}; echo leader done"])
    assert code == 0
    assert sink.lines("stdout") == ["leader done"]
    assert not pid_alive(int(pidfile.read_text()))


async def test_pause_and_resume_stop_and_continue_the_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    gate = tmp_path / "gate"
    sink = Sink()
    script = (f'sleep 1000 & echo "$$ $!" > {pidfile}; echo ready; '
              f'while [ ! -e {gate} ]; do sleep 0.02; done; echo through; kill $!')
    proc = await start(["bash", "-c", script], sink)
    await eventually(lambda: "ready" in sink.lines("stdout"), WAIT, "the script to start")
    leader, child = [int(p) for p in pidfile.read_text().split()]
    proc.pause()
    assert proc.paused
    await eventually(lambda: proc_state(leader) == "T" and proc_state(child) == "T", WAIT, "the group to stop")
    gate.touch()
    await asyncio.sleep(0.2)
    assert "through" not in sink.lines("stdout")
    proc.resume()
    assert not proc.paused
    code = await asyncio.wait_for(proc.wait(), WAIT)
    assert code == 0 and sink.lines("stdout") == ["ready", "through"]


async def test_terminate_a_paused_group(tmp_path: Path) -> None:
    sink = Sink()
    proc = await start(["bash", "-c", "echo ready; sleep 1000"], sink)
    await eventually(lambda: "ready" in sink.lines("stdout"), WAIT, "the script to start")
    proc.pause()
    await eventually(lambda: proc_state(proc.pgid) == "T", WAIT, "the group to stop")
    await proc.terminate(grace=1.0)
    assert await asyncio.wait_for(proc.wait(), WAIT) == -9
    assert live_group_members(proc.pgid) == []


async def test_write_lines_to_stdin() -> None:
    sink = Sink()
    proc = await start(["bash", "-c", 'read a; echo "1:$a"; read b; echo "2:$b"'], sink, stdin=True)
    await proc.write_line("hello there\n")
    await proc.write_line("ünïcode")
    assert await asyncio.wait_for(proc.wait(), WAIT) == 0
    assert sink.lines("stdout") == ["1:hello there", "2:ünïcode"]


async def test_write_line_without_stdin_raises() -> None:
    sink = Sink()
    proc = await start(["true"], sink, stdin=False)
    with pytest.raises(BrokenPipeError):
        await proc.write_line("nobody listens")
    await asyncio.wait_for(proc.wait(), WAIT)


async def test_signals_to_a_finished_group_are_harmless() -> None:
    sink = Sink()
    proc = await start(["true"], sink)
    await asyncio.wait_for(proc.wait(), WAIT)
    proc.pause()
    proc.resume()
    await proc.terminate(grace=0.1)


async def test_a_launcher_tells_its_supervisor_s_pid_and_keeps_the_variable_from_the_program(tmp_path: Path) -> None:
    """A library that starts the launcher keeps the process to itself: the pid file is how pause and
    stop reach the supervisor; the program it runs never sees the variable."""
    program = tmp_path / "program"
    program.write_text(f"#!{sys.executable}\nimport os, time\n"
                       f"print(os.environ.get({PID_FILE_ENV!r}, 'unset'), flush=True)\ntime.sleep(30)\n")
    program.chmod(0o700)
    launcher = write_launcher(str(program), tmp_path)
    pid_file = tmp_path / "pid"
    proc = await asyncio.create_subprocess_exec(str(launcher), stdout=asyncio.subprocess.PIPE,
                                                env={**os.environ, PID_FILE_ENV: str(pid_file)})
    assert proc.stdout is not None
    try:
        assert (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip() == "unset"
        assert read_pid_file(pid_file) == proc.pid  # the process the library started: the supervisor
        assert not pid_file.exists()
        os.kill(proc.pid, STOP)  # reaches the program through its supervisor
        assert await asyncio.wait_for(proc.wait(), 10) != 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert read_pid_file(tmp_path / "never-written") is None
