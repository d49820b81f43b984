"""The protocol every agent follows, whatever runs it (a subprocess, an API loop, a test double).

The engine makes one :class:`Agent` per attempt with an :class:`AgentContext`, awaits
:meth:`Agent.run`, and may meanwhile call ``pause``, ``resume``, ``stop`` and ``send``.
An agent reports what it writes and what it costs through the context's callbacks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from engine.output_formats import Usage


class CannotTakeMessage(Exception):
    """This agent cannot take a follow-up message; the text says why, for the user."""


@dataclass
class AgentContext:
    task_id: str
    prompt: str
    workdir: str
    env: dict[str, str]
    attempt: int
    emit_lines: Callable[[str, list[str]], None]  # (stream, lines)
    report_usage: Callable[[Usage], None]  # the attempt's cumulative usage so far
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class AgentExit:
    exit_code: int | None
    final_message: str = ""


class Agent(Protocol):
    accepts_messages: bool

    async def run(self) -> AgentExit: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def stop(self, grace: float) -> None: ...

    async def send(self, text: str) -> None: ...
