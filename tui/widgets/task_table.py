"""The task list: one row per task with its state, running time, attempts and dependencies."""
from __future__ import annotations

from typing import Iterable

from textual.widgets import DataTable

from engine.plan import TaskSpec
from engine.states import TaskState
from engine.formatting import STATE_WIDTH, state_cell

# (label, key, width): fixed widths where a cell changes, so an update needs no relayout
COLUMNS = (("task", "id", None), ("state", "state", STATE_WIDTH + 2), ("time", "time", 6), ("attempts", "attempts", 8),
           ("depends on", "deps", None))


class TaskTable(DataTable[str]):
    """Rows are keyed by task id; the cursor row is the task the keys act on when the table has focus."""

    def __init__(self, tasks: Iterable[TaskSpec], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._tasks = list(tasks)

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        for spec in self._tasks:
            self.add_row(spec.id, state_cell(TaskState.PENDING), "-", "0",
                         ", ".join(spec.depends_on) or "-", key=spec.id)

    def set_state(self, task_id: str, state: TaskState, attempts: int) -> None:
        self.update_cell(task_id, "state", state_cell(state))
        self.update_cell(task_id, "attempts", str(attempts))

    def set_time(self, task_id: str, text: str) -> None:
        if self.get_cell(task_id, "time") != text:
            self.update_cell(task_id, "time", text)

    def current_task(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def select_task(self, task_id: str) -> None:
        self.move_cursor(row=self.get_row_index(task_id))
