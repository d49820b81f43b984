"""The start screen's list of earlier sessions whose outcome is not known yet, one key per answer.

The keys (``tui.bindings.ASSESSMENT_BINDINGS``) act on the highlighted row and are the list's own,
so they work while it has the focus and never while the objective is typed. The list only says
what was asked (messages); the start screen records the answers.
"""
from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from sessions.reports.assessment import OUTCOME_LABELS, PendingSession
from tui.bindings import ASSESSMENT_BINDINGS

COLUMNS = (("session", "Session", 13), ("objective", "Objective", 26), ("tasks", "Accepted / discarded", 20),
           ("files", "Files changed", 22), ("answer", "Answer", 19))


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def tasks_text(p: PendingSession) -> Text:
    text = Text()
    if p.accepted:
        text.append("✔ " + ", ".join(p.accepted), style="green")
    if p.discarded:
        if p.accepted:
            text.append(" ")
        text.append("✘ " + ", ".join(p.discarded), style="red")
    if not p.accepted and not p.discarded:
        text.append("no decisions", style="dim")
    text.truncate(COLUMNS[2][2], overflow="ellipsis")
    return text


def files_text(p: PendingSession) -> str:
    if not p.files:
        return "none"
    prefix = f"{len(p.files)}: "
    return prefix + _fit(", ".join(p.files), COLUMNS[3][2] - len(prefix))


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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sessions: dict[int, PendingSession] = {}

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def show(self, pending: list[PendingSession]) -> None:
        self.clear()
        self.sessions = {p.row.id: p for p in pending}
        for p in pending:
            answer = Text("asked before: too early", style="dim italic") if p.asked_before else Text("")
            session = f"{p.row.date} #{p.row.day_number}"
            self.add_row(session, Text(_fit(p.row.objective or "(no objective)", COLUMNS[1][2])), tasks_text(p),
                         Text(files_text(p)), answer, key=str(p.row.id))

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
