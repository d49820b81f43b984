"""Small modal dialogs: note an intervention, one line of text, confirm."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from sessions.live_session import INTERVENTION_TYPES
from tui.bindings import CONFIRM_BINDINGS, DIALOG_BINDINGS

# What a developer writes down by hand; the rest (pause, cancel...) the cockpit records itself.
NOTE_TYPES = ("note", "redirect", "fix", "clarify")
assert set(NOTE_TYPES) <= set(INTERVENTION_TYPES)


class NoteDialog(ModalScreen[tuple[str, str] | None]):
    """(type, text) of an intervention the developer writes down, or None."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = DIALOG_BINDINGS

    def __init__(self, task_id: str | None) -> None:
        super().__init__(classes="dialog-screen")
        self.task_id = task_id

    def compose(self) -> ComposeResult:
        about = f"task [b]{escape(self.task_id)}[/b]" if self.task_id else "the session"
        with Vertical(classes="dialog"):
            yield Label(f"Note an intervention on {about}", classes="dialog-title")
            yield Select([(t, t) for t in NOTE_TYPES], value="note", allow_blank=False, id="kind")
            yield Input(placeholder="what you did or decided", id="text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Note", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def _save(self) -> None:
        text = self.query_one("#text", Input).value.strip()
        if not text:
            self.notify("Write what happened first (Escape to close)", severity="warning", markup=False)
            return
        self.dismiss((str(self.query_one("#kind", Select).value), text))

    def action_cancel(self) -> None:
        self.dismiss(None)


class LineDialog(ModalScreen[str | None]):
    """One line of text (it may be empty: that clears it), or None when closed with Escape."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = DIALOG_BINDINGS

    def __init__(self, title: str, value: str = "", placeholder: str = "", button: str = "Keep") -> None:
        super().__init__(classes="dialog-screen")
        self.heading = title
        self.value = value
        self.placeholder = placeholder
        self.button = button  # what the primary button says (Enter does the same)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(escape(self.heading), classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="line")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.button, variant="primary", id="keep")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#line", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.query_one("#line", Input).value.strip() if event.button.id == "keep" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; y or Enter on Yes answers yes, n or Escape no."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = CONFIRM_BINDINGS

    def __init__(self, question: str, detail: str = "", yes: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.detail = detail
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(escape(self.question), classes="dialog-title")
            if self.detail:
                yield Label(escape(self.detail), classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
