"""The app's consumer of the engine's event bus.

:class:`EventPump` reads the bus in batches (``Subscription.get_batch``) and hands each event to a
:class:`EventSink` (the cockpit screen) through the table of :mod:`engine.event_dispatch`. It never
draws anything itself: the sink buffers log lines and draws on its own clock, so a flood of events
costs a few list operations each. After each
batch it yields to the event loop, so keys and repaints are never starved however fast events come.
"""
from __future__ import annotations

import asyncio
from typing import Protocol

from engine.event_dispatch import EventHandler, handler_table
from engine.events import LogLines, Subscription


class EventSink(EventHandler, Protocol):
    """The cockpit screen: every event's method, and word that nothing more will come."""

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
        table = handler_table(sink)

        def count_lines(event: LogLines) -> None:
            self.lines += len(event.lines)
            on_lines(event)

        table[LogLines] = count_lines
        try:
            while True:
                events = await self.subscription.get_batch(self.batch_limit)
                if not events:
                    break
                self.events += len(events)
                for event in events:
                    table[type(event)](event)
                await asyncio.sleep(0)  # get_batch does not suspend while events wait: let the UI run
        finally:
            self.subscription.unsubscribe()
        sink.on_bus_closed()
