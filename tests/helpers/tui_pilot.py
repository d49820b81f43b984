"""What the Pilot tests of the screens share: waiting for the app, and catching its notifications."""
from __future__ import annotations

from typing import Any, Callable

from textual.notifications import Notify

from tests.helpers.events import EVENT_TIMEOUT, eventually


class Notices:
    """Every notification the app posted (a run_test message hook)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, message: Any) -> None:
        if isinstance(message, Notify):
            self.texts.append(f"{message.notification.title}: {message.notification.message}")

    def find(self, text: str) -> str | None:
        return next((t for t in self.texts if text in t), None)


async def until(pilot: Any, check: Callable[[], Any], what: str) -> Any:
    """Until ``check()`` is truthy (the app runs meanwhile); its value."""
    value = await eventually(check, EVENT_TIMEOUT, what)
    await pilot.pause()
    return value
