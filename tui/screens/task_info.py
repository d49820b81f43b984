"""One task's facts: the prompt its agent actually got (role, reviewed diffs, check feedback), its
agent and how it was chosen, its check."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, TextArea

from tui.bindings import TASK_INFO_BINDINGS


class TaskInfoScreen(ModalScreen[None]):
    BINDINGS = TASK_INFO_BINDINGS
    CSS_PATH = "task_info.tcss"

    def __init__(self, task_id: str, facts: list[tuple[str, str]], prompt: str) -> None:
        super().__init__()
        self.task_id = task_id
        self.facts = facts
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="task-info"):
            yield Label(f"Task {self.task_id}", id="task-info-title")
            table: DataTable[str] = DataTable(id="task-info-facts", show_header=False, cursor_type="none")
            yield table
            yield Label("Effective prompt", id="task-info-prompt-title")
            yield TextArea(self.prompt, read_only=True, id="task-info-prompt", soft_wrap=True)

    def on_mount(self) -> None:
        table = self.query_one("#task-info-facts", DataTable)
        table.add_columns("what", "value")
        table.add_rows(self.facts)

    def action_close(self) -> None:
        self.dismiss(None)
