"""The start screen's list of earlier sessions whose outcome is not known yet, one key per answer.

The keys (``tui.bindings.ASSESSMENT_BINDINGS``) act on the highlighted row and are the list's own,
so they work while it has the focus and never while the objective is typed. The list only says
what was asked (messages), and when the focus left it; the start screen records the answers. Its
columns share the width it has, so that it fits an 80-column terminal.
"""
from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from sessions.reports.assessment import OUTCOME_LABELS, PendingSession
from tui.bindings import ASSESSMENT_BINDINGS

COLUMNS = (("session", "Session", 13), ("objective", "Objective", 26), ("tasks", "Accepted / discarded", 20),
           ("files", "Files changed", 22), ("answer", "Answer", 19))
FIXED = {"session", "answer"}  # the columns that keep their width; the others share what is left
CELL_PADDING = 2  # a DataTable cell's padding (one cell each side)


def column_widths(width: int) -> dict[str, int]:
    """The width of each column for a list ``width`` cells wide: the full widths when they fit, else
    the objective, decisions and files columns share what the session and answer columns leave."""
    full = {key: w for key, _, w in COLUMNS}
    room = width - CELL_PADDING * len(COLUMNS) - 2  # the scrollbar's gutter and a margin
    if sum(full.values()) <= room:
        return full
    flexible = [key for key in full if key not in FIXED]
    left = max(len(flexible) * 6, room - sum(full[k] for k in FIXED))
    total = sum(full[k] for k in flexible)
    widths = {k: (full[k] if k in FIXED else max(6, full[k] * left // total)) for k in full}
    return widths


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def tasks_text(p: PendingSession, width: int = COLUMNS[2][2]) -> Text:
    text = Text()
    if p.accepted:
        text.append("✔ " + ", ".join(p.accepted), style="green")
    if p.discarded:
        if p.accepted:
            text.append(" ")
        text.append("✘ " + ", ".join(p.discarded), style="red")
    if not p.accepted and not p.discarded:
        text.append("no decisions", style="dim")
    text.truncate(width, overflow="ellipsis")
    return text


def files_text(p: PendingSession, width: int = COLUMNS[3][2]) -> str:
    if not p.files:
        return "none"
    prefix = f"{len(p.files)}: "
    return prefix + _fit(", ".join(p.files), width - len(prefix))


class AssessmentList(DataTable[object]):
    BINDINGS = ASSESSMENT_BINDINGS

    class Answered(Message):
        def __init__(self, session_id: int, outcome: str) -> None:
            super().__init__()
            self.session_id = session_id
            self.outcome = outcome

    class NoteAsked(Message):
        def __init__(self, session_id: int) -> None:
            super().__init__()
            self.session_id = session_id

    class SkipAsked(Message):
        pass

    class UndoAsked(Message):
        def __init__(self, session_id: int) -> None:
            super().__init__()
            self.session_id = session_id

    class Left(Message):
        """The focus went elsewhere: the answers given are to be kept now."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sessions: dict[int, PendingSession] = {}
        self.answer_cells: dict[int, Text] = {}  # what the answer column shows, kept across a re-fit
        self.widths = column_widths(10_000)

    def on_mount(self) -> None:
        for key, label, _ in COLUMNS:
            self.add_column(label, key=key, width=self.widths[key])

    def on_resize(self) -> None:
        widths = column_widths(self.size.width)
        if widths != self.widths:  # the columns fit the list: the rows are written again at the new widths
            self.widths = widths
            cursor = self.cursor_row
            self.clear(columns=True)
            self.on_mount()
            self.show(list(self.sessions.values()), keep_answers=True)
            if self.row_count:
                self.move_cursor(row=min(cursor, self.row_count - 1))

    def show(self, pending: list[PendingSession], keep_answers: bool = False) -> None:
        self.clear()
        self.sessions = {p.row.id: p for p in pending}
        if not keep_answers:
            self.answer_cells.clear()
        w = self.widths
        for p in pending:
            answer = Text("asked before: too early", style="dim italic") if p.asked_before else Text("")
            answer = self.answer_cells.get(p.row.id, answer)
            session = f"{p.row.date} #{p.row.day_number}"
            self.add_row(session, Text(_fit(p.row.objective or "(no objective)", w["objective"])),
                         tasks_text(p, w["tasks"]), Text(files_text(p, w["files"])), answer, key=str(p.row.id))

    def current_session(self) -> int | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None

    def set_answer(self, session_id: int, outcome: str | None, note: str = "") -> None:
        text = Text()
        if outcome:
            text.append("✔ " + OUTCOME_LABELS[outcome], style="bold")
        if note:
            text.append(" ✎" if outcome else "✎ note", style="italic")
        self.answer_cells[session_id] = text
        self.update_cell(str(session_id), "answer", text)

    def action_answer(self, outcome: str) -> None:
        session_id = self.current_session()
        if session_id is not None:
            self.post_message(self.Answered(session_id, outcome))

    def action_note(self) -> None:
        session_id = self.current_session()
        if session_id is not None:
            self.post_message(self.NoteAsked(session_id))

    def action_skip(self) -> None:
        self.post_message(self.SkipAsked())

    def action_undo(self) -> None:
        session_id = self.current_session()
        if session_id is not None:
            self.post_message(self.UndoAsked(session_id))

    def on_blur(self) -> None:
        self.post_message(self.Left())

    def clear_answer(self, session_id: int) -> None:
        p = self.sessions[session_id]
        self.answer_cells.pop(session_id, None)
        self.update_cell(str(session_id), "answer",
                         Text("asked before: too early", style="dim italic") if p.asked_before else Text(""))
