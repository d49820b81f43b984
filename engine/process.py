"""Programs the engine runs (agents, their commands, checks), each under a supervisor of its own.

:class:`Supervised` starts a program under the per-task supervisor (:mod:`engine.supervisor`), a child
subreaper that answers for every process the program starts, even one that left its process group or
session (``setsid``, a double fork, a daemon), and that ends them all when the program ends, when it is
stopped, and when the cockpit dies (even by SIGKILL, or with its terminal). Anything that starts a
program for a task starts it this way: as :class:`Supervised` where the caller wants the program's
standard streams (an ACP connection over its stdin and stdout), as :class:`GroupProcess` where it
wants its output as lines.

The supervisor learns of the cockpit's death from the kernel (``PR_SET_PDEATHSIG``), which tells it when
the *thread* that started it ends: start programs from the thread of the event loop (as asyncio and
anyio do), not from a short-lived worker thread.

Stopping is immediate: every process of the task is frozen (SIGSTOP) at once, then killed. There is no
grace period: in one an agent could still call its API, write a file, and have that work committed as
the stopped task's.

:class:`GroupProcess` reads output in large chunks and splits it into lines here, so a line has no
length limit (a Claude Code stream-json line can be megabytes) and a fast writer costs one read per
chunk, not one per line.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Callable, Union

CHUNK = 1 << 16
LineSink = Callable[[str, list[str]], None]  # (stream, complete lines)
Stdio = Union[int, IO[bytes], None]  # asyncio.subprocess.PIPE / DEVNULL, a file, or inherited
SUPERVISOR = str(Path(__file__).with_name("supervisor.py"))
PIPE = asyncio.subprocess.PIPE
DEVNULL = asyncio.subprocess.DEVNULL
# What a supervisor does on each signal (see engine.supervisor), for a caller that holds only its pid.
PAUSE, RESUME, STOP = signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM


def supervisor_argv(argv: Sequence[str], env: Mapping[str, str] | None = None, status_fd: int = -1) -> list[str]:
    """The command line that runs ``argv`` under a supervisor of its own, started by this process (for a
    library that starts the program itself: start this instead). ``env`` is the environment the program
    will be given (default this process's). Its pid is the supervisor's: send it :data:`PAUSE`,
    :data:`RESUME` or :data:`STOP`; it exits with the program's status once nothing of the task is left."""
    env = os.environ if env is None else env
    return [sys.executable, "-I", "-S", SUPERVISOR, str(os.getpid()), str(status_fd),
            "=" + env["LC_CTYPE"] if "LC_CTYPE" in env else "-", *argv]


PID_FILE_ENV = "COCKPIT_SUPERVISOR_PID_FILE"


def write_launcher(program: str, folder: str | os.PathLike[str]) -> Path:
    """An executable file in ``folder`` that runs ``program`` (with the arguments it is given) under a
    supervisor of its own, for a library that takes only the path of the program to start (such as
    the ``cli_path`` of claude-agent-sdk). It must be started by this process (the cockpit).

    Such a library keeps the process it started to itself: started with :data:`PID_FILE_ENV` naming a
    file, the launcher writes the supervisor's pid there (the shell's own: ``exec`` keeps it), so that
    pause and stop can be sent to it, and takes the variable out of the program's environment."""
    path = Path(folder) / f"supervised-{Path(program).name}"
    path.write_text(
        "#!/bin/sh\n"
        f"if [ -n \"${{{PID_FILE_ENV}:-}}\" ]; then echo $$ > \"${PID_FILE_ENV}\"; fi\n"
        f"unset {PID_FILE_ENV}\n"
        f"exec {shlex.quote(sys.executable)} -I -S {shlex.quote(SUPERVISOR)} \"$PPID\" -1 "
        f"\"${{LC_CTYPE+=$LC_CTYPE}}\" {shlex.quote(program)} \"$@\"\n"
    )
    path.chmod(0o700)
    return path


def read_pid_file(path: str | os.PathLike[str]) -> int | None:
    """The pid a launcher wrote to ``path`` (None: none was written), the file removed."""
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return int(text) if text.isdigit() else None


class Supervised:
    """A program and every process it starts, under a supervisor of their own.

    ``proc`` is the supervisor's :class:`asyncio.subprocess.Process`: its ``stdin``, ``stdout`` and
    ``stderr`` are the program's (the supervisor lets go of them), its ``returncode`` the program's
    status (negative: the signal that killed it), set once every process of the task has ended.
    ``pid`` is the program's own pid; it leads a process group and a session of its own.
    """

    def __init__(self, proc: asyncio.subprocess.Process, pid: int) -> None:
        self.proc = proc
        self.pid = pid
        self.paused = False
        self.stopped = False

    @classmethod
    async def start(
        cls, argv: list[str], cwd: str, env: dict[str, str], *,
        stdin: Stdio = DEVNULL, stdout: Stdio = PIPE, stderr: Stdio = PIPE, limit: int = CHUNK,
    ) -> "Supervised":
        """Start ``argv`` in ``cwd`` with exactly ``env``. FileNotFoundError or PermissionError when
        the program cannot be started, as :func:`asyncio.create_subprocess_exec` would raise."""
        if not argv:
            raise ValueError("no program to run")
        read_fd, write_fd = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *supervisor_argv(argv, env, write_fd),
                cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr, limit=limit,
                start_new_session=True, pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        try:
            word, _, number = (await _read_status(read_fd)).partition(" ")
        except BaseException:
            _signal(proc, signal.SIGKILL)
            raise
        if word == "ok":
            return cls(proc, int(number))
        await proc.wait()
        code = int(number) if word == "err" and number.isdigit() else errno.EIO
        error = PermissionError if code in (errno.EACCES, errno.EPERM) else (
            FileNotFoundError if code == errno.ENOENT else OSError)
        raise error(code, os.strerror(code), argv[0])

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def pause(self) -> None:
        """Stop every process of the task where it is (SIGSTOP)."""
        if _signal(self.proc, PAUSE):
            self.paused = True

    def resume(self) -> None:
        _signal(self.proc, RESUME)
        self.paused = False

    async def stop(self) -> int:
        """Freeze every process of the task at once, kill them all; their status once they are gone."""
        self.stopped = True
        _signal(self.proc, STOP)
        self.paused = False
        return await self.wait()

    async def wait(self) -> int:
        """The program's status, once it and everything it started have ended (the supervisor ends
        what the program leaves behind as soon as the program exits)."""
        # Process.wait() also waits for the pipes to close, which a reader that is not draining them
        # could put off: watch the supervisor's own exit.
        waiter = asyncio.ensure_future(self.proc.wait())
        try:
            while self.proc.returncode is None and not waiter.done():
                await asyncio.wait({waiter}, timeout=0.05)
        finally:
            if not waiter.done():
                waiter.cancel()
        code = self.proc.returncode
        assert code is not None
        return code


class GroupProcess:
    """A supervised program whose standard output and error arrive as lines (``on_lines``)."""

    def __init__(self, supervised: Supervised, on_lines: LineSink,
                 on_close: Callable[[str], None] | None = None) -> None:
        self.supervised = supervised
        self.proc = supervised.proc
        self.pgid = supervised.pid  # the program leads its own group
        self._readers = [
            asyncio.create_task(_pump(self.proc.stdout, "stdout", on_lines, on_close)),
            asyncio.create_task(_pump(self.proc.stderr, "stderr", on_lines, on_close)),
        ]

    @classmethod
    async def start(
        cls, argv: list[str], cwd: str, env: dict[str, str], on_lines: LineSink, stdin: bool = False,
        on_close: Callable[[str], None] | None = None,
    ) -> "GroupProcess":
        """``on_close(stream)`` is called when a stream reaches its end (its last lines came before)."""
        supervised = await Supervised.start(argv, cwd, env, stdin=PIPE if stdin else DEVNULL)
        return cls(supervised, on_lines, on_close)

    @property
    def paused(self) -> bool:
        return self.supervised.paused

    def pause(self) -> None:
        self.supervised.pause()

    def resume(self) -> None:
        self.supervised.resume()

    async def write_line(self, text: str) -> None:
        stdin = self.proc.stdin
        if stdin is None or stdin.is_closing():
            raise BrokenPipeError("the agent's input is closed")
        stdin.write(text.rstrip("\n").encode() + b"\n")
        await stdin.drain()

    async def wait(self) -> int:
        """Wait for the program and everything it started to end, and for the last of its output."""
        code = await self.supervised.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)
        return code

    async def terminate(self, grace: float = 0.0) -> None:
        """End every process of the task at once. ``grace`` is not used: a stopped task does nothing
        more, not even in a grace period (kept so that callers read the same)."""
        await self.supervised.stop()


def _signal(proc: asyncio.subprocess.Process, sig: int) -> bool:
    if proc.returncode is not None:
        return False
    try:
        proc.send_signal(sig)
        return True
    except ProcessLookupError:
        return False


async def _read_status(fd: int) -> str:
    """The supervisor's one status line (``ok PID`` / ``err ERRNO``), "" if it ended without one."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    try:
        return (await reader.readline()).decode().strip()
    finally:
        transport.close()


async def _pump(stream: asyncio.StreamReader | None, name: str, on_lines: LineSink,
                on_close: Callable[[str], None] | None = None) -> None:
    if stream is None:
        return
    try:
        await _read_lines(stream, name, on_lines)
    finally:
        if on_close is not None:
            on_close(name)


async def _read_lines(stream: asyncio.StreamReader, name: str, on_lines: LineSink) -> None:
    pending = bytearray()
    while True:
        chunk = await stream.read(CHUNK)
        if not chunk:
            break
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending += chunk
            continue
        if pending:
            pending += chunk[:cut]
            data = bytes(pending)
            pending = bytearray(chunk[cut + 1 :])
        else:
            data = chunk[:cut]
            pending += chunk[cut + 1 :]
        on_lines(name, _lines(data))
    if pending:
        on_lines(name, _lines(bytes(pending)))


def _lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    if "\r" in text:
        return [line.rstrip("\r") for line in text.split("\n")]
    return text.split("\n")
