"""Agents that are programs: Claude Code, codex, aider, gemini, or a bash script (the shell profile).

The program runs in the task's worktree in its own process group. Standard output is parsed by
the profile's output format into readable lines and usage; standard error is shown as it is.

When the program cannot be started it fails with ``failure_kind`` ``missing``; when a CLI agent (kind
``command``, not ``shell``: a script's output is the task's own) exits non-zero with an
authentication, rate-limit or network message among its last lines, with that kind
(:mod:`engine.agents.failures`).
"""
from __future__ import annotations

from collections import deque

from engine.agents.base import AgentContext, AgentExit, CannotTakeMessage
from engine.agents.failures import TAIL, failure_in
from engine.agents.program_version import refused_flag
from engine.output_formats import failure_of, make_parser
from engine.process import GroupProcess
from engine.profiles import AgentProfile


class CommandAgent:
    def __init__(self, profile: AgentProfile, ctx: AgentContext) -> None:
        self.profile = profile
        self.ctx = ctx
        self.accepts_messages = profile.follow_up == "stdin"
        self._parser = make_parser(profile.output)  # None: plain text, shown as it comes
        self._final = ""
        self._proc: GroupProcess | None = None
        self._stopped = False
        self._paused = False  # the engine's wish, kept for a pause that comes before the process
        # the last lines printed, read for the reason of a failure (CLI agents only)
        self._tail: deque[str] | None = deque(maxlen=TAIL) if profile.kind == "command" else None

    async def run(self) -> AgentExit:
        argv = self.profile.command(self.ctx.prompt)
        try:
            self._proc = await GroupProcess.start(
                argv, self.ctx.workdir, self.ctx.env, self._on_lines, stdin=self.accepts_messages
            )
        except (FileNotFoundError, PermissionError) as exc:  # gone from PATH, or not executable
            message = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
            self.ctx.emit_lines("stderr", [message])
            return AgentExit(127, message, "missing")
        if self._stopped:  # stop() arrived while the program was starting
            await self._proc.terminate(0.5)
        elif self._paused:  # so did pause()
            self._proc.pause()
        code = await self._proc.wait()
        if code > 0 and self._tail is not None and not self._stopped:
            refused = await refused_flag(self.profile, self._tail, self.ctx.env)
            if refused is not None:
                self.ctx.emit_lines("engine", [refused])
                return AgentExit(code, refused)
            found = failure_in(self._tail)
            if found is not None:  # the line that tells it is the final word of a run that failed
                return AgentExit(code, self._final or found[1], found[0])
        hidden = failure_of(self._parser)
        if code == 0 and hidden is not None and not self._stopped:  # a failure its exit status hides
            kind, line = hidden
            self.ctx.emit_lines("engine", [f"the agent exited 0 after an API error it gave up on: {line}"])
            return AgentExit(1, line, kind)
        return AgentExit(code, self._final)

    def _on_lines(self, stream: str, lines: list[str]) -> None:
        if self._tail is not None:
            self._tail.extend(lines)
        if stream != "stdout":
            self.ctx.emit_lines(stream, lines)
            return
        if self._parser is None:
            for line in reversed(lines):
                if line.strip():
                    self._final = line
                    break
            self.ctx.emit_lines("stdout", lines)
            return
        shown: list[str] = []
        parse = self._parser.parse
        for line in lines:
            parsed = parse(line)
            shown.extend(parsed.lines)
            if parsed.usage is not None:
                self.ctx.report_usage(parsed.usage)
            if parsed.final_message is not None:
                self._final = parsed.final_message
        if shown:
            self.ctx.emit_lines("agent", shown)

    def pause(self) -> None:
        self._paused = True
        if self._proc is not None:
            self._proc.pause()

    def resume(self) -> None:
        self._paused = False
        if self._proc is not None:
            self._proc.resume()

    async def stop(self, grace: float) -> None:
        self._stopped = True
        if self._proc is not None:
            await self._proc.terminate(grace)

    async def send(self, text: str) -> None:
        if not self.accepts_messages:
            if self.profile.output == "claude-stream-json":  # claude -p reads its prompt once, then no input
                raise CannotTakeMessage(
                    f"agent profile {self.profile.name!r} runs claude -p, which takes no message once started: "
                    "the claude profile (Claude Code through its SDK) does")
            raise CannotTakeMessage(
                f"agent profile {self.profile.name!r} does not take follow-up messages "
                "(set follow_up = \"stdin\" in its profile if the program reads its input)"
            )
        if self._proc is None:
            raise CannotTakeMessage("the agent has not started yet")
        try:
            await self._proc.write_line(text)
        except (BrokenPipeError, ConnectionResetError):
            raise CannotTakeMessage("the agent closed its input; it takes no more messages") from None
