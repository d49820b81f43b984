"""CockpitApp: the start screen (objective and plan), then the cockpit of the running session, then
its summary form.

The app gets a :class:`~sessions.launcher.SessionLauncher` (which owns the store and starts
recorded sessions) and either the session already made (``cockpit run``), or a plan to launch
as it starts, or neither (the start screen asks). When it goes away, every session it started and
did not end is ended (:meth:`SessionLauncher.close`).

The app alone moves between screens: each screen says what happened (its ``push_screen`` result, or
a message such as :class:`CockpitScreen.SessionEnded`) and the app opens what comes next. Ending the
session opens the summary form pre-filled (:func:`~sessions.summary.builder.session_summary`). Saved,
a dialog says where the summary went and shows the effective work rate (human); the developer leaves,
or goes back to the start screen for a new session. Left without saving, the app exits and the
session stays pending completion (its draft is offered at the next start).
"""
from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.message import Message

from sessions.git.facts import GitFactsError
from sessions.launcher import SessionLauncher
from sessions.live_session import LiveSession
from sessions.store.db import StoreError
from sessions.store.rows import SessionRow
from sessions.summary.builder import session_summary
from sessions.summary.save import SavedSummary
from tui.bindings import APP_BINDINGS
from tui.commands import CockpitCommands
from tui.screens.cockpit import CockpitScreen, TaskClock
from tui.screens.summary_form import SummaryFormScreen
from tui.screens.summary_saved import SummarySavedDialog


class CockpitApp(App[SessionRow | None]):
    CSS_PATH = "app.tcss"
    TITLE = "Session Cockpit"
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {CockpitCommands}

    def __init__(self, launcher: SessionLauncher, live: LiveSession | None = None, *,
                 plan: Path | None = None, objective: str = "", clock: TaskClock | None = None,
                 keymap: dict[str, str] | None = None, repo: str = "") -> None:
        super().__init__()
        self.launcher = launcher
        self.live = live
        self.plan = plan
        self.objective = objective
        self.clock = clock
        self.keymap = keymap or {}
        self.repo = repo or (launcher.repo or "")
        self.ended: list[SessionRow] = []

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        if self.live is None and self.plan is not None:
            self.live = await self.launcher.launch(self.objective, self.plan)
        if self.live is not None:
            self.open_cockpit(self.live)
        else:
            self.open_start()

    def open_start(self, offer_completion: bool = True) -> None:
        from tui.screens.start import StartScreen

        self.push_screen(StartScreen(self.launcher, self.repo, offer_completion=offer_completion), self._started)

    def _started(self, live: LiveSession | None) -> None:
        if live is None:
            self.exit()
            return
        self.open_cockpit(live)

    def open_cockpit(self, live: LiveSession) -> None:
        self.live = live
        self.push_screen(CockpitScreen(live, clock=self.clock))
        if self.launcher.notes:  # one notice for all of them
            self.notify("\n".join(self.launcher.notes), title="Note", timeout=10, markup=False)

    def on_review_screen_decided(self, message: Message) -> None:
        """Work was accepted or discarded in the review screen (which said so): mark the pane of every
        task the decision recorded (an accept with its dependencies records them too)."""
        decision, tasks = message.decision, message.tasks  # type: ignore[attr-defined]
        for screen in self.screen_stack:
            if isinstance(screen, CockpitScreen):
                for task_id in tasks:
                    screen.set_decision(task_id, decision)

    def on_cockpit_screen_session_ended(self, message: CockpitScreen.SessionEnded) -> None:
        """The session was ended from the cockpit: its summary form opens."""
        self.ended.append(message.row)
        self.run_worker(self._open_summary(message.row), group="summary-open")

    async def _open_summary(self, row: SessionRow) -> None:
        store = self.launcher.store
        try:
            summary, source = await session_summary(store, row)
        except (StoreError, GitFactsError, ValueError) as exc:
            self.notify(str(exc), title="Cannot open the summary form", severity="error", markup=False)
            self.exit(row)
            return

        def closed(result: SavedSummary | None) -> None:
            if result is None:
                self.exit(row)  # pending completion: offered again at the next start
                return

            def answered(choice: str | None) -> None:
                if choice == "new":
                    self.back_to_start()
                else:
                    self.exit(result.row)

            self.push_screen(SummarySavedDialog(result, offer_new=True), answered)

        self.push_screen(SummaryFormScreen(store, row, self.launcher.settings, summary, source), closed)

    def back_to_start(self) -> None:
        """Close the cockpit of the ended session and open the start screen for a new one."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.open_start(offer_completion=False)

    async def action_quit(self) -> None:
        """Ctrl+Q: like q in the cockpit (the session is ended first); in the summary form, like
        Escape (asks, keeps the draft); elsewhere, leave."""
        screen = self.screen
        if isinstance(screen, SummaryFormScreen):  # leaving the summary form asks first
            screen.action_leave()
            return
        if isinstance(screen, CockpitScreen) and not screen.ending:
            screen.action_quit_cockpit()
            return
        for cockpit in self.screen_stack:
            if isinstance(cockpit, CockpitScreen) and not cockpit.ending:
                self.notify("Close this screen first, then q ends the session", severity="warning", markup=False)
                return
        self.exit()

    async def on_unmount(self) -> None:
        await self.launcher.close()
