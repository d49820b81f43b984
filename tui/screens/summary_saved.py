"""After the summary is saved: where it went, its completeness, and the effective work rate (human)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from sessions.summary.completeness import completeness
from sessions.summary.save import SavedSummary
from sessions.summary.work_rate import HumanWorkRate
from tui.bindings import SAVED_BINDINGS


def work_rate_line(rate: HumanWorkRate) -> str:
    return (f"Effective work rate (human): {rate.all_time.text()} · "
            f"last {rate.recent_size}: {rate.recent.text()}")


class SummarySavedDialog(ModalScreen[str]):
    """Answers "leave", or "new" (back to the start screen) when ``offer_new``."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = SAVED_BINDINGS

    def __init__(self, result: SavedSummary, offer_new: bool = True) -> None:
        super().__init__(classes="dialog-screen")
        self.result = result
        self.offer_new = offer_new

    def compose(self) -> ComposeResult:
        r = self.result
        with Vertical(classes="dialog saved-dialog"):
            yield Label(r.messages()[0], classes="dialog-title", markup=False)
            for line in r.messages()[1:]:
                yield Label(line, classes="dialog-detail saved-file", markup=False)
            yield Label("Completeness: " + completeness(r.summary).score_line(), classes="dialog-detail",
                        markup=False)
            if r.rate is not None:
                yield Label(work_rate_line(r.rate), id="saved-ewr", classes="saved-ewr", markup=False)
            with Horizontal(classes="dialog-buttons"):
                if self.offer_new:
                    yield Button("New session (s)", id="new")
                yield Button("Leave (Enter)", variant="primary", id="leave")

    def on_mount(self) -> None:
        self.query_one("#leave", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.offer_new if action == "new_session" else True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss("new" if event.button.id == "new" else "leave")

    def action_leave(self) -> None:
        self.dismiss("leave")

    def action_new_session(self) -> None:
        self.dismiss("new")
