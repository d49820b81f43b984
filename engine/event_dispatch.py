"""One way to read events: each event class to the method of a handler that takes it.

Every consumer of the bus (the cockpit's event pump, the store's writer, the headless printer) names
its methods after the kinds of event (``on_lines``, ``on_state``, ...) and builds its table once with
:func:`handler_table`; reading an event is then ``table[type(event)](event)``. A dict keyed by the
exact class costs what the old chains of ``type(event) is ...`` cost (about 55 ns an event), where
``functools.singledispatch`` costs ten times as much (it walks the class's MRO through a cache of
weak references on every call); the store's writer takes some 275,000 lines a second and the pump
runs on the UI's loop, so the table it is. Events are never subclassed, so the exact class is enough.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

from engine.events import (
    AgentSession, BreakerChanged, BudgetReached, CheckFinished, LogLines, PromptSent, QuestionAnswered, QuestionAsked, RunFinished,
    RunStarted, TaskResult, TaskRouted, TaskStateChanged, UsageUpdate,
)

# The method a handler defines for each class of event.
HANDLER_METHODS: dict[type, str] = {
    LogLines: "on_lines",
    TaskStateChanged: "on_state",
    UsageUpdate: "on_usage",
    TaskResult: "on_result",
    BudgetReached: "on_budget",
    PromptSent: "on_prompt",
    TaskRouted: "on_routed",
    CheckFinished: "on_check",
    BreakerChanged: "on_breaker",
    RunStarted: "on_run_started",
    RunFinished: "on_run_finished",
    QuestionAsked: "on_question",
    QuestionAnswered: "on_answered",
    AgentSession: "on_agent_session",
}


class EventHandler(Protocol):
    """What a consumer may define; it defines only the methods of the events it reads."""

    def on_run_started(self, event: RunStarted) -> Any: ...

    def on_lines(self, event: LogLines) -> Any: ...

    def on_state(self, event: TaskStateChanged) -> Any: ...

    def on_usage(self, event: UsageUpdate) -> Any: ...

    def on_budget(self, event: BudgetReached) -> Any: ...

    def on_prompt(self, event: PromptSent) -> Any: ...

    def on_routed(self, event: TaskRouted) -> Any: ...

    def on_check(self, event: CheckFinished) -> Any: ...

    def on_breaker(self, event: BreakerChanged) -> Any: ...

    def on_result(self, event: TaskResult) -> Any: ...

    def on_run_finished(self, event: RunFinished) -> Any: ...

    def on_question(self, event: QuestionAsked) -> Any: ...

    def on_answered(self, event: QuestionAnswered) -> Any: ...

    def on_agent_session(self, event: AgentSession) -> Any: ...


def ignore(event: object) -> None:
    """The handler of the events a consumer does not read."""


def handler_table(handler: object, missing: Callable[[Any], Any] = ignore) -> dict[type, Callable[[Any], Any]]:
    """Each event class to ``handler``'s bound method for it; ``missing`` for the classes it has no
    method for, and for any other object read from the bus (so a consumer never fails on a kind of
    event newer than itself). A consumer whose methods are coroutines passes a coroutine function."""
    table: defaultdict[type, Callable[[Any], Any]] = defaultdict(lambda: missing)
    for kind, name in HANDLER_METHODS.items():
        table[kind] = getattr(handler, name, missing)
    return table
