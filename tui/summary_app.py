"""``cockpit edit``: the summary form of one past session, on its own."""
from __future__ import annotations

from textual.app import App

from sessions.settings import SessionSettings
from sessions.store.store import Store
from sessions.store.rows import SessionRow
from sessions.summary.model import SessionSummary
from sessions.summary.save import SavedSummary
from tui.bindings import APP_BINDINGS
from tui.commands import CockpitCommands
from tui.screens.summary_form import SummaryFormScreen
from tui.screens.summary_saved import SummarySavedDialog


class SummaryApp(App[SavedSummary | None]):
    """Shows the form; returns the :class:`SavedSummary`, or None when left without saving."""

    CSS_PATH = "app.tcss"
    TITLE = "Session Cockpit"
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {CockpitCommands}

    def __init__(self, store: Store, row: SessionRow, settings: SessionSettings, summary: SessionSummary,
                 source: str, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.store = store
        self.row = row
        self.settings = settings
        self.summary = summary
        self.source = source
        self.keymap = keymap or {}

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.push_screen(SummaryFormScreen(self.store, self.row, self.settings, self.summary, self.source),
                         self._form_closed)

    def _form_closed(self, result: SavedSummary | None) -> None:
        if result is None:
            self.exit(None)
            return
        self.push_screen(SummarySavedDialog(result, offer_new=False), lambda _: self.exit(result))

    async def action_quit(self) -> None:
        """Ctrl+Q: in the form, like Escape (asks; the draft is kept); elsewhere, leave."""
        if isinstance(self.screen, SummaryFormScreen):
            self.screen.action_leave()
            return
        self.exit(None)
