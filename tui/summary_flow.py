"""The end of a session in the cockpit app: the summary form, then the saved summary and the work rate.

Ending the session (``e`` in the cockpit) hands its row to :func:`open_summary_after_end`: the form
opens pre-filled (:func:`~sessions.summary.builder.session_summary`). Saved, a dialog says where the
summary went and shows the effective work rate (human); the developer leaves, or goes back to the
start screen for a new session. Left without saving, the app exits and the session stays pending
completion (its draft is offered at the next start).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sessions.git.facts import GitFactsError
from sessions.store.db import StoreError
from sessions.store.rows import SessionRow
from sessions.summary.builder import session_summary
from sessions.summary.save import SavedSummary
from tui.screens.summary_form import SummaryFormScreen
from tui.screens.summary_saved import SummarySavedDialog

if TYPE_CHECKING:
    from tui.app import CockpitApp


def open_summary_after_end(app: CockpitApp, row: SessionRow) -> None:
    app.run_worker(_open(app, row), group="summary-open")


async def _open(app: CockpitApp, row: SessionRow) -> None:
    store = app.launcher.store
    try:
        summary, source = await session_summary(store, row)
    except (StoreError, GitFactsError, ValueError) as exc:
        app.notify(str(exc), title="Cannot open the summary form", severity="error", markup=False)
        app.exit(row)
        return

    def closed(result: SavedSummary | None) -> None:
        if result is None:
            app.exit(row)  # pending completion: offered again at the next start
            return

        def answered(choice: str | None) -> None:
            if choice == "new":
                back_to_start(app)
            else:
                app.exit(result.row)

        app.push_screen(SummarySavedDialog(result, offer_new=True), answered)

    app.push_screen(SummaryFormScreen(store, row, app.launcher.settings, summary, source), closed)


def back_to_start(app: CockpitApp) -> None:
    """Close the cockpit of the ended session and open the start screen for a new one."""
    from tui.screens.start import StartScreen

    while len(app.screen_stack) > 1:
        app.pop_screen()
    app.push_screen(StartScreen(app.launcher, app.repo, offer_completion=False), app._started)
