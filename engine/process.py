"""An agent program as a subprocess in its own process group.

Output is read in large chunks and split into lines here, so a line has no length limit (a
Claude Code stream-json line can be megabytes) and a fast writer costs one read per chunk, not
one per line. Ending a process ends its whole group: SIGTERM, a grace period, SIGKILL; a paused
group gets SIGCONT after SIGTERM so that it can act on it.
"""
from __future__ import annotations

import asyncio
import os
import signal
from typing import Callable

CHUNK = 1 << 16
LineSink = Callable[[str, list[str]], None]  # (stream, complete lines)


class GroupProcess:
    def __init__(self, proc: asyncio.subprocess.Process, on_lines: LineSink,
                 on_close: Callable[[str], None] | None = None) -> None:
        self.proc = proc
        self.pgid = proc.pid  # start_new_session: the child leads its own group
        self.paused = False
        self._readers = [
            asyncio.create_task(_pump(proc.stdout, "stdout", on_lines, on_close)),
            asyncio.create_task(_pump(proc.stderr, "stderr", on_lines, on_close)),
        ]

    @classmethod
    async def start(
        cls, argv: list[str], cwd: str, env: dict[str, str], on_lines: LineSink, stdin: bool = False,
        on_close: Callable[[str], None] | None = None,
    ) -> "GroupProcess":
        """``on_close(stream)`` is called when a stream reaches its end (its last lines came before)."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        return cls(proc, on_lines, on_close)

    def signal_group(self, sig: int) -> bool:
        try:
            os.killpg(self.pgid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def pause(self) -> None:
        if self.signal_group(signal.SIGSTOP):
            self.paused = True

    def resume(self) -> None:
        self.signal_group(signal.SIGCONT)
        self.paused = False

    async def write_line(self, text: str) -> None:
        stdin = self.proc.stdin
        if stdin is None or stdin.is_closing():
            raise BrokenPipeError("the agent's input is closed")
        stdin.write(text.rstrip("\n").encode() + b"\n")
        await stdin.drain()

    async def wait(self) -> int:
        """Wait for the leader to exit, then end what is left of its group and drain the output."""
        # Since Python 3.12 Process.wait() also waits for the pipes to close, which a child left in
        # the background (holding stdout) can put off for ever: watch the leader's exit status.
        waiter = asyncio.ensure_future(self.proc.wait())
        while self.proc.returncode is None and not waiter.done():
            await asyncio.wait({waiter}, timeout=0.05)
        code = self.proc.returncode
        await self.end_group(grace=0.5)
        await self._drain()
        if not waiter.done():
            waiter.cancel()
        assert code is not None
        return code

    async def terminate(self, grace: float = 3.0) -> None:
        """End the whole group: TERM, ``grace`` seconds, then KILL."""
        await self.end_group(grace)

    async def end_group(self, grace: float) -> None:
        if not self.signal_group(signal.SIGTERM):
            return
        self.signal_group(signal.SIGCONT)
        self.paused = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while loop.time() < deadline:
            if not _group_alive(self.pgid):
                return
            await asyncio.sleep(0.02)
        self.signal_group(signal.SIGKILL)
        for _ in range(100):
            if not _group_alive(self.pgid):
                return
            await asyncio.sleep(0.01)

    async def _drain(self) -> None:
        await asyncio.gather(*self._readers, return_exceptions=True)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    """killpg(0) also succeeds for zombies; look for a member that is not one (Linux /proc)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


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

