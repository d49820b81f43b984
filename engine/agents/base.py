"""The protocol every agent follows, whatever runs it (a subprocess, an API loop, a test double).

The engine makes one :class:`Agent` per attempt with an :class:`AgentContext`, awaits
:meth:`Agent.run`, and may meanwhile call ``pause``, ``resume``, ``stop`` and ``send``.
An agent reports what it writes and what it costs through the context's callbacks, and asks for a
decision (a permission) with ``await ctx.ask(Request(...))`` (:mod:`engine.asks`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Protocol

from engine.asks import Answer, Asker, Request
from engine.usage import Usage


class CannotTakeMessage(Exception):
    """This agent cannot take a follow-up message; the text says why, for the user."""


class AgentContext:
    """What an agent gets to work with. ``env`` may be given as a function: it is called once, the
    first time an agent reads it (an in-process agent never pays for a copy of the environment)."""

    __slots__ = ("task_id", "prompt", "workdir", "_env", "attempt", "emit_lines", "report_usage", "extra", "ask",
                 "note_session")

    def __init__(
        self,
        task_id: str,
        prompt: str,
        workdir: str,
        env: dict[str, str] | Callable[[], dict[str, str]],
        attempt: int,
        emit_lines: Callable[..., None],  # (stream, lines[, key]): see engine.events.LogLines
        report_usage: Callable[[Usage], None],  # the attempt's cumulative usage so far
        extra: dict[str, object] | None = None,
        ask: Asker | None = None,  # where the agent asks for a decision (engine.asks); None: nobody answers
        # (session id, command that continues it by hand): the agent's own conversation, which outlives the
        # attempt (a Claude Code session); the engine publishes it (engine.events.AgentSession)
        note_session: Callable[[str, str], None] | None = None,
    ) -> None:
        self.task_id = task_id
        self.prompt = prompt
        self.workdir = workdir
        self._env = env
        self.attempt = attempt
        self.emit_lines = emit_lines
        self.report_usage = report_usage
        self.extra = extra if extra is not None else {}
        self.ask: Asker = ask if ask is not None else _nobody_to_ask
        self.note_session: Callable[[str, str], None] = note_session or _nowhere

    @property
    def env(self) -> dict[str, str]:
        if callable(self._env):
            self._env = self._env()
        return self._env


def _nowhere(session_id: str, resume: str) -> None:
    """Where a context made without an engine notes the agent's session: nowhere."""


_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def plain_session_id(value: object) -> str:
    """``value`` when it is a plain session id (letters, digits, ``.``, ``_``, ``-``; at most 128), else "".

    A session id comes from the agent, whose output is untrusted: it is shown as text, stored, put in a
    command line to copy and given back to the agent as an argument, so anything else is not kept."""
    return value if isinstance(value, str) and _PLAIN_ID.fullmatch(value) else ""


async def _nobody_to_ask(request: Request) -> Answer:
    """The answer of a context made without an ask channel (an agent run on its own): no."""
    option = next((o for o in request.options if o.kind == "reject_once"), None)
    return Answer(False, option, reason="there is no one to ask", by="policy")


# Why an attempt failed when the reason lies outside the task (see engine.breakers):
# the program (or the API key) is missing, authentication failed, the service stayed rate-limited or
# overloaded after the SDK's own retries, the network is down.
FAILURE_KINDS = ("missing", "auth", "rate_limit", "network")


@dataclass
class AgentExit:
    exit_code: int | None
    final_message: str = ""
    failure_kind: str | None = None  # one of FAILURE_KINDS, or None (the task's own failure, or none)


class Agent(Protocol):
    accepts_messages: bool

    async def run(self) -> AgentExit: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def stop(self, grace: float) -> None: ...

    async def send(self, text: str) -> None: ...
