"""Terminals an ACP agent asks its client for (``terminal/create`` and the rest).

A terminal is a command run in the task's worktree (or a folder inside it), each in a process group of
its own, started by the agent's attempt and ended with it: :meth:`Terminals.close` ends every one still
running when the attempt ends, however it ends. Output is kept up to the byte limit the agent asked
for (the newest part, cut at a character boundary), as the protocol wants.

A command without arguments is a command line (Claude Code's adapter sends ``npm test && ls``) and runs
under ``bash -c``; with arguments it is a program run as is.
"""
from __future__ import annotations

import asyncio
import itertools
import signal
from dataclasses import dataclass, field

from engine.process import GroupProcess

DEFAULT_OUTPUT_LIMIT = 1_000_000  # bytes kept when the agent sets no limit
MAX_TERMINALS = 32  # running at once per attempt: an agent that spawns without end is refused
KILL_GRACE = 1.0


class TerminalError(Exception):
    """A request about a terminal that cannot be served; the text is for the agent."""


@dataclass
class Terminal:
    id: str
    process: GroupProcess | None = None
    limit: int = DEFAULT_OUTPUT_LIMIT
    chunks: list[str] = field(default_factory=list)
    size: int = 0  # bytes held in chunks
    truncated: bool = False
    exit_code: int | None = None
    signal: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    waiter: asyncio.Task[None] | None = None

    def add(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        self.chunks.append(text)
        self.size += len(data)
        while self.size > self.limit and self.chunks:
            self.truncated = True
            first = self.chunks[0].encode("utf-8", "replace")
            excess = self.size - self.limit
            if len(first) <= excess:
                self.chunks.pop(0)
                self.size -= len(first)
            else:
                kept = first[excess:].decode("utf-8", "ignore")  # never half a character
                self.chunks[0] = kept
                self.size -= len(first) - len(kept.encode("utf-8"))

    @property
    def output(self) -> str:
        return "".join(self.chunks)


class Terminals:
    """The terminals of one attempt of one ACP agent."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._terminals: dict[str, Terminal] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self._paused = False

    async def create(self, command: str, args: list[str] | None, env: dict[str, str], cwd: str,
                     limit: int | None) -> str:
        if self._closed:
            raise TerminalError("the task is ending: no new terminal")
        if not isinstance(command, str) or not command.strip():
            raise TerminalError("a terminal needs a command")
        running = sum(1 for t in self._terminals.values() if not t.done.is_set())
        if running >= MAX_TERMINALS:
            raise TerminalError(f"too many terminals running at once (at most {MAX_TERMINALS})")
        argv = [command, *args] if args else ["bash", "-c", command]
        terminal = Terminal(f"term-{next(self._ids)}", limit=max(0, limit) if limit is not None else DEFAULT_OUTPUT_LIMIT)
        try:
            terminal.process = await GroupProcess.start(
                argv, cwd, {**self._env, **env}, lambda _stream, lines: terminal.add("".join(f"{line}\n" for line in lines)),
            )
        except OSError as exc:
            raise TerminalError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        terminal.waiter = asyncio.create_task(self._wait(terminal))
        self._terminals[terminal.id] = terminal
        if self._paused:  # the task was paused while this one was starting
            terminal.process.pause()
        return terminal.id

    async def _wait(self, terminal: Terminal) -> None:
        assert terminal.process is not None
        code = await terminal.process.wait()
        if code < 0:
            try:
                terminal.signal = signal.Signals(-code).name
            except ValueError:
                terminal.signal = f"signal {-code}"
        else:
            terminal.exit_code = code
        terminal.done.set()

    def get(self, terminal_id: str) -> Terminal:
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise TerminalError(f"no terminal {terminal_id!r}")
        return terminal

    async def wait(self, terminal_id: str) -> Terminal:
        terminal = self.get(terminal_id)
        await terminal.done.wait()
        return terminal

    async def kill(self, terminal_id: str) -> None:
        terminal = self.get(terminal_id)
        if terminal.process is not None and not terminal.done.is_set():
            await terminal.process.terminate(KILL_GRACE)

    async def release(self, terminal_id: str) -> None:
        await self.kill(terminal_id)
        self._terminals.pop(terminal_id, None)

    def pause(self) -> None:
        self._paused = True
        for terminal in self._terminals.values():
            if terminal.process is not None and not terminal.done.is_set():
                terminal.process.pause()

    def resume(self) -> None:
        self._paused = False
        for terminal in self._terminals.values():
            if terminal.process is not None:
                terminal.process.resume()

    async def close(self) -> None:
        """End every terminal (the attempt is over); no new one starts after this."""
        self._closed = True
        running = [t for t in self._terminals.values() if t.process is not None and not t.done.is_set()]
        await asyncio.gather(*(t.process.terminate(KILL_GRACE) for t in running if t.process is not None),
                             return_exceptions=True)
        for terminal in self._terminals.values():
            if terminal.waiter is not None and not terminal.waiter.done():
                terminal.waiter.cancel()
