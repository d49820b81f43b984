"""The tasks of one session to review (``cockpit review``): one row per task with its state and its
decision, the undecided first. Enter reviews the task under the cursor; on opening, and after each
decision, the review of the next undecided task opens by itself, so every undecided task is reviewed
in turn; Escape in a review comes back to this list. Escape here leaves.
"""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sessions.decisions import Decisions, TaskFacts
from tui.screens.review import ReviewScreen

__all__ = ["SessionReviewScreen"]

_ENDED_WITH_WORK = ("succeeded", "failed", "timed_out", "cancelled", "interrupted", "budget_exceeded")


def undecided(task: TaskFacts) -> bool:
    """An ended task whose work is on its branch and was neither accepted nor discarded."""
    return task.decision is None and bool(task.branch and task.head_commit) and task.state in _ENDED_WITH_WORK


class SessionReviewScreen(Screen[None]):
    CSS_PATH = "session_review.tcss"
    BINDINGS = [
        Binding("enter", "review", "Review", id="session_review.review", tooltip="Review the task under the cursor"),
        Binding("escape", "leave", "Leave", id="session_review.leave", tooltip="Leave; undecided work stays on its branch"),
    ]

    def __init__(self, decisions: Decisions, objective: str = "") -> None:
        super().__init__()
        self.decisions = decisions
        self.objective = objective
        self.tasks: list[TaskFacts] = []
        self.skipped: set[str] = set()  # reviews left without deciding: not opened again by themselves
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(id="session-review-title")
        yield Static(id="session-review-note")
        yield DataTable(id="session-review-tasks", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        title = "Review session [b]$label[/b]" + (" · $objective" if self.objective else "")
        self.query_one("#session-review-title", Static).update(
            Content.from_markup(title, label=self.decisions.label, objective=self.objective))
        table = self.query_one(DataTable)
        for label, key in (("task", "task"), ("state", "state"), ("decision", "decision"), ("depends on", "deps")):
            table.add_column(label, key=key)
        self._refresh(open_next=True)

    @work(exclusive=True, group="session-review")
    async def _refresh(self, open_next: bool) -> None:
        tasks = list((await self.decisions.tasks()).values())
        self.tasks = sorted(tasks, key=lambda t: not undecided(t))  # stable: plan order within each group
        table = self.query_one(DataTable)
        table.clear()
        warning = self.app.theme_variables.get("text-warning", "yellow")
        for t in self.tasks:
            decision = (Text(t.decision, style="bold") if t.decision
                        else Text("not reviewed", style=warning) if undecided(t) else Text("-", style="dim"))
            table.add_row(Text(t.key), Text(t.state), decision, Text(", ".join(t.depends_on) or "-"), key=t.key)
        waiting = [t for t in self.tasks if undecided(t)]
        note = (f"{len(waiting)} task{'s' if len(waiting) != 1 else ''} not reviewed: Enter reviews the one under "
                "the cursor" if waiting else "Every task with work is decided.")
        self.query_one("#session-review-note", Static).update(Content(note))
        self.loaded = True
        table.focus()
        following = [t for t in waiting if t.key not in self.skipped]
        if open_next and following:
            self._open(following[0].key)

    def _open(self, key: str) -> None:
        def back(decision: str | None) -> None:
            if decision is None:
                self.skipped.add(key)
            self._refresh(open_next=decision is not None)

        self.app.push_screen(ReviewScreen(self.decisions, key), callback=back)

    def action_review(self) -> None:
        table = self.query_one(DataTable)
        if self.loaded and table.row_count:
            self._open(self.tasks[table.cursor_row].key)

    @on(DataTable.RowSelected, "#session-review-tasks")
    def _selected(self, event: DataTable.RowSelected) -> None:
        """Enter on the table (which takes the key before the screen's binding)."""
        event.stop()
        self.action_review()

    def action_leave(self) -> None:
        self.dismiss(None)
