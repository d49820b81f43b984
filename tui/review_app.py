"""``cockpit review``: the review of an earlier session's tasks on its own, outside a running cockpit.

This module imports Textual: the command line imports it only for ``cockpit review``.
"""
from __future__ import annotations


from textual.app import App

from sessions.decisions import Decisions
from sessions.store.store import Store
from tui.bindings import APP_BINDINGS
from tui.commands import CockpitCommands
from tui.screens.review import ReviewScreen
from tui.screens.session_review import SessionReviewScreen


class ReviewApp(App[None]):
    """Shows :class:`SessionReviewScreen` of one session; leaves when it closes."""

    CSS_PATH = "app.tcss"
    TITLE = "Session Cockpit"
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {CockpitCommands}

    def __init__(self, store: Store, decisions: Decisions, objective: str = "",
                 keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.store = store
        self.decisions = decisions
        self.objective = objective
        self.keymap = keymap or {}
        self.decided: list[ReviewScreen.Decided] = []

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.sub_title = f"review of session {self.decisions.label}"
        self.push_screen(SessionReviewScreen(self.decisions, self.objective), lambda _: self.exit())

    def on_review_screen_decided(self, message: ReviewScreen.Decided) -> None:
        self.decided.append(message)
