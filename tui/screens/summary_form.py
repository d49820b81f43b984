"""The summary form: everything the machine knows, pre-filled; what only the human knows, asked for.

The form shows a :class:`~sessions.summary.model.SessionSummary` (the saved one, the draft, or the one
:func:`~sessions.summary.builder.build_summary` made) and keeps the fields it does not show (extra
sections, loose text) as they were. The completeness checklist on the right follows every change.
What is typed is kept as the session's draft (:data:`DRAFT_DELAY` seconds after the last change),
so a cockpit killed while the form is open loses nothing. Ctrl+S saves for good
(:func:`~sessions.summary.save.save_final`: the database and the Markdown file) and dismisses the
screen with the :class:`~sessions.summary.save.SavedSummary`; leaving without saving (Escape, then
yes) keeps the draft and dismisses with None.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static, TextArea

from engine.formatting import usd
from engine.errors import UserError
from sessions.reports.assessment import OUTCOME_LABELS
from sessions.summary.completeness import completeness
from sessions.settings import SessionSettings
from sessions.store.store import Store
from sessions.store.db import StoreError
from sessions.store.rows import SessionRow
from sessions.summary.model import Intervention, SessionSummary
from sessions.summary.save import SavedSummary, save_draft, save_final
from tui.bindings import SUMMARY_BINDINGS
from tui.widgets.checklist_panel import ChecklistPanel
from tui.widgets.rating_field import RatingField

DRAFT_DELAY = 0.5  # seconds without a change before the draft is written
STATUS_CHOICES = ("complete", "blocked", "abandoned")
# The form's text areas: widget id -> summary field, in the order they appear.
TEXT_FIELDS = {
    "what-worked": "what_worked",
    "what-didnt": "what_didnt",
    "rating-notes": "rating_notes",
    "technical-notes": "technical_notes",
    "next-priorities": "next_priorities",
    "work-completed": "work_completed",
}
TEXT_TITLES = {
    "what-worked": "What worked",
    "what-didnt": "What didn't work",
    "rating-notes": "Rating notes",
    "technical-notes": "Technical notes for future sessions",
    "next-priorities": "Next session priorities",
    "work-completed": "Work completed",
}
SOURCE_NOTES = {
    "built": "pre-filled by the cockpit",
    "draft": "the draft kept from last time",
    "saved": "the saved summary",
}


def trimmed(text: str) -> str:
    """A section's text as the format keeps it: no blank lines around it."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def usage_line(s: SessionSummary) -> str:
    if s.tokens_in is None and s.tokens_out is None and s.cost_usd is None:
        return "no usage recorded"
    parts = []
    if s.tokens_in is not None:
        parts.append(f"tokens in {s.tokens_in:,}")
    if s.tokens_out is not None:
        parts.append(f"out {s.tokens_out:,}")
    parts.append("cost unknown" if s.cost_usd is None else f"cost {usd(s.cost_usd)}")
    return " · ".join(parts)


def metadata_line(s: SessionSummary) -> str:
    date = s.date.isoformat() if s.date else "no date"
    number = f"session {s.day_number} of the day" if s.day_number is not None else "no session number"
    commits = f"{s.start_commit or '?'} → {s.end_commit or '?'}"
    return f"{date} · {number} · commits {commits}"


class SummaryFormScreen(Screen[SavedSummary | None]):
    CSS_PATH = "summary_form.tcss"
    BINDINGS = SUMMARY_BINDINGS

    def __init__(self, store: Store, row: SessionRow, settings: SessionSettings, summary: SessionSummary,
                 source: str = "built") -> None:
        super().__init__()
        self.store = store
        self.row = row
        self.settings = settings
        self.base = summary
        self.source = source
        self.interventions: list[Intervention] = list(summary.interventions)
        self.saving = False
        self.drafts_written = 0
        self._last_kept: dict | None = None  # what the store holds, as the form shows it
        self._draft_timer: Timer | None = None
        self._draft_lock = asyncio.Lock()

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        s = self.base
        yield Header(show_clock=False)
        with Horizontal(id="summary-body"):
            with VerticalScroll(id="summary-fields"):
                yield Static(metadata_line(s), id="metadata", markup=False)
                with Horizontal(classes="field-row"):
                    yield Label("Status", classes="field-label")
                    yield Select([(c.capitalize(), c) for c in STATUS_CHOICES], prompt="choose the status",
                                 value=s.status if s.status in STATUS_CHOICES else Select.NULL, id="status")
                with Horizontal(classes="field-row"):
                    yield Label("Objective", classes="field-label")
                    yield Input(s.objective, placeholder="one sentence", id="objective")
                with Horizontal(classes="field-row"):
                    yield Label("Rating", classes="field-label")
                    yield RatingField(s.rating, id="rating")
                with Horizontal(classes="field-row"):
                    yield Label("Previous", classes="field-label")
                    with Vertical(id="previous-box"):
                        yield Select([(OUTCOME_LABELS[k], k) for k in OUTCOME_LABELS],
                                     prompt="how was the previous session's work used?",
                                     value=s.previous_outcome or Select.NULL, id="previous-outcome")
                        yield Label(s.previous_session or "no earlier session in this repository",
                                    id="previous-name", classes="field-hint", markup=False)
                for widget_id in list(TEXT_FIELDS)[:5]:
                    yield Label(TEXT_TITLES[widget_id], classes="section-title")
                    yield TextArea(getattr(s, TEXT_FIELDS[widget_id]), id=widget_id, classes="field-text")
                yield Label(TEXT_TITLES["work-completed"], classes="section-title")
                yield TextArea(s.work_completed, id="work-completed", classes="field-text")
                yield Label(f"Files changed ({len(s.files_changed)})", id="files-title", classes="section-title")
                yield DataTable(id="files", cursor_type="row", zebra_stripes=True)
                yield Label("Interventions", id="interventions-title", classes="section-title")
                yield DataTable(id="interventions", cursor_type="row", zebra_stripes=True)
                yield Button("Add an intervention (Ctrl+O)", id="add-intervention")
                yield Label("Usage", classes="section-title")
                yield Static(usage_line(s), id="usage", markup=False)
            with Vertical(id="summary-side"):
                yield Label("Completeness", classes="section-title")
                yield ChecklistPanel(id="checklist")
                yield Static("", id="draft-state")
        yield Footer()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "-narrow")

    def on_mount(self) -> None:
        self.title = f"Session Cockpit · summary of session {self.row.label}"
        self.sub_title = SOURCE_NOTES.get(self.source, self.source)
        files = self.query_one("#files", DataTable)
        files.add_columns("File", "Change", "Lines")
        for r in self.base.files_changed:
            files.add_row(Text(r.path), Text(r.change_type), Text(r.lines))
        if not self.base.files_changed:
            self.query_one("#files-title", Label).update("Files changed: none")
            files.display = False
        table = self.query_one("#interventions", DataTable)
        table.add_columns("When", "What", "Type")
        for item in self.interventions:
            table.add_row(Text(item.when), Text(item.what), Text(item.type))
        self._show_interventions_title()
        shown = self._refresh()
        self.query_one(RatingField).focus()
        if self.source == "built":  # the session is pending completion from now on, with this draft
            self._schedule_draft(0)
        else:
            self._last_kept = shown.to_dict()

    # ------------------------------------------------------------ the model
    def current(self) -> SessionSummary:
        """The summary as the form holds it now."""
        status = self.query_one("#status", Select).value
        previous = self.query_one("#previous-outcome", Select).value
        texts = {field: trimmed(self.query_one(f"#{wid}", TextArea).text) for wid, field in TEXT_FIELDS.items()}
        count = len(self.interventions) if self.interventions else self.base.intervention_count
        return replace(
            self.base,
            status=status if isinstance(status, str) else self.base.status,
            objective=self.query_one("#objective", Input).value.strip(),
            previous_outcome=previous if isinstance(previous, str) else None,
            rating=self.query_one(RatingField).value,
            interventions=list(self.interventions),
            intervention_count=count,
            **texts,
        )

    def _refresh(self) -> SessionSummary:
        summary = self.current()
        self.query_one(ChecklistPanel).show(completeness(summary))
        return summary

    def _changed(self) -> None:
        if not self.is_mounted:
            return
        summary = self._refresh()
        if summary.to_dict() != self._last_kept:
            self._schedule_draft(DRAFT_DELAY)
            self._show_draft_state("changes not kept yet")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._changed()

    def on_rating_field_changed(self, event: RatingField.Changed) -> None:
        self._changed()

    # ------------------------------------------------------------- the draft
    def _schedule_draft(self, delay: float) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(delay, self._draft_due, name="summary-draft")

    def _draft_due(self) -> None:
        self._draft_timer = None
        self.run_worker(self.keep_draft(), group="summary-draft")

    async def keep_draft(self) -> bool:
        """Write the form's content as the draft, if it changed since the last one; True if written."""
        if self.saving:
            return False
        async with self._draft_lock:
            summary = self.current()
            data = summary.to_dict()
            if data == self._last_kept:
                return False
            try:
                await save_draft(self.store, self.row.id, summary)
            except StoreError as exc:
                self.notify(str(exc), title="The draft was not kept", severity="error", markup=False)
                return False
            self._last_kept = data
            self.drafts_written += 1
            self._show_draft_state("draft kept")
            return True

    def _show_draft_state(self, text: str) -> None:
        self.query_one("#draft-state", Static).update(text)

    # ----------------------------------------------------------- the fields
    def action_rate(self, value: int) -> None:
        self.query_one(RatingField).value = value

    def _show_interventions_title(self) -> None:
        n = len(self.interventions)
        count = "none noted" if not n and self.base.intervention_count == 0 else str(n)
        self.query_one("#interventions-title", Label).update(f"Interventions ({count})")

    def action_add_intervention(self) -> None:
        from tui.screens.dialogs import NoteDialog

        def answered(note: tuple[str, str] | None) -> None:
            if not note:
                return
            kind, text = note
            item = Intervention(time.strftime("%H:%M"), text, kind)
            self.interventions.append(item)
            self.query_one("#interventions", DataTable).add_row(Text(item.when), Text(item.what), Text(item.type))
            self._show_interventions_title()
            self._changed()

        self.app.push_screen(NoteDialog(None), answered)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "add-intervention":
            self.action_add_intervention()

    # ------------------------------------------------------- save or leave
    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self.save()

    @work(group="summary-save")
    async def save(self) -> None:
        try:
            async with self._draft_lock:  # a draft being written finishes first
                result = await save_final(self.store, self.row, self.current(), self.settings)
        except (StoreError, UserError, ValueError) as exc:
            self.saving = False
            self.notify(str(exc), title="Not saved", severity="error", markup=False)
            return
        self.dismiss(result)

    def action_leave(self) -> None:
        from tui.screens.dialogs import ConfirmDialog

        if self.saving:  # saving already: the screen goes away with the saved summary
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.leave()

        self.app.push_screen(ConfirmDialog(
            "Leave without saving the summary?",
            f"What you typed is kept as a draft: session {self.row.label} stays pending completion "
            "and its form is offered again at the next start.", yes="Leave"), answered)

    @work(group="summary-save")
    async def leave(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        await self.keep_draft()
        self.dismiss(None)
