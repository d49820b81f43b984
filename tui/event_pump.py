"""The app's consumer of the engine's event bus.

:class:`EventPump` reads the bus in batches (``Subscription.get_batch``) and hands each event to a
:class:`EventSink` (the cockpit screen) by kind. It never draws anything itself: the sink buffers log
lines and draws on its own clock, so a flood of events costs a few list operations each. After each
batch it yields to the event loop, so keys and repaints are never starved however fast events come.
"""
from __future__ import annotations

import asyncio
from typing import Protocol

from engine.events import (
    BreakerChanged, BudgetReached, CheckFinished, LogLines, PromptSent, RunFinished, RunStarted, Subscription,
    TaskResult, TaskRouted, TaskStateChanged, UsageUpdate,
)


class EventSink(Protocol):
    def on_run_started(self, event: RunStarted) -> None: ...

    def on_lines(self, event: LogLines) -> None: ...

    def on_state(self, event: TaskStateChanged) -> None: ...

    def on_usage(self, event: UsageUpdate) -> None: ...

    def on_budget(self, event: BudgetReached) -> None: ...

    def on_prompt(self, event: PromptSent) -> None: ...

    def on_routed(self, event: TaskRouted) -> None: ...

    def on_check(self, event: CheckFinished) -> None: ...

    def on_breaker(self, event: BreakerChanged) -> None: ...

    def on_result(self, event: TaskResult) -> None: ...

    def on_run_finished(self, event: RunFinished) -> None: ...

    def on_bus_closed(self) -> None: ...


class EventPump:
    """``await EventPump(subscription, sink).run()`` until the bus closes."""

    def __init__(self, subscription: Subscription, sink: EventSink, batch_limit: int = 2000) -> None:
        self.subscription = subscription
        self.sink = sink
        self.batch_limit = batch_limit
        self.events = 0
        self.lines = 0  # log lines handed to the sink

    async def run(self) -> None:
        sink = self.sink
        on_lines = sink.on_lines
        try:
            while True:
                events = await self.subscription.get_batch(self.batch_limit)
                if not events:
                    break
                self.events += len(events)
                for event in events:
                    kind = type(event)
                    if kind is LogLines:
                        self.lines += len(event.lines)
                        on_lines(event)
                    elif kind is TaskStateChanged:
                        sink.on_state(event)
                    elif kind is UsageUpdate:
                        sink.on_usage(event)
                    elif kind is TaskResult:
                        sink.on_result(event)
                    elif kind is BudgetReached:
                        sink.on_budget(event)
                    elif kind is PromptSent:
                        sink.on_prompt(event)
                    elif kind is TaskRouted:
                        sink.on_routed(event)
                    elif kind is CheckFinished:
                        sink.on_check(event)
                    elif kind is BreakerChanged:
                        sink.on_breaker(event)
                    elif kind is RunStarted:
                        sink.on_run_started(event)
                    elif kind is RunFinished:
                        sink.on_run_finished(event)
                await asyncio.sleep(0)  # get_batch does not suspend while events wait: let the UI run
        finally:
            self.subscription.unsubscribe()
        sink.on_bus_closed()
