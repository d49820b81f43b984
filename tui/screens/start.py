"""The start screen: earlier sessions to assess, the session's objective and its plan.

The screen is a column of sections. First, a session whose summary was never saved (pending
completion) is offered: its summary form opens when the developer says yes. Then the earlier
sessions whose outcome is not known yet (:func:`~sessions.reports.assessment.pending_sessions`, at most
:data:`MAX_PENDING`, newest first), one key per answer (:class:`~tui.widgets.assessment_list.AssessmentList`),
with the effective work rate (human) below them; then the objective (one sentence: an empty one is
refused, a long one warned about) and the plan (a file, or a plan written here). It returns the
started :class:`LiveSession` (or None to leave).
"""
from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, TextArea

from engine.formatting import plural
from engine.errors import UserError
from sessions.reports.assessment import OUTCOME_LABELS, pending_sessions
from sessions.completion import PendingCompletion, close_left_open, pending_completion
from sessions.git.facts import GitFactsError
from sessions.live_session import LiveSession
from sessions.objective import check_objective
from sessions.store.store import Store
from sessions.store.db import StoreError
from sessions.summary.builder import session_summary
from sessions.summary.save import SavedSummary
from sessions.summary.work_rate import human_work_rate
from tui.bindings import START_BINDINGS
from sessions.launcher import SessionLauncher
from tui.widgets.assessment_list import AssessmentList

MAX_PENDING = 8  # earlier sessions asked about at one start: the list never needs to scroll

PLAN_EXAMPLE = '''# Write a plan here, or give a plan file above. For example:
[[task]]
id = "docs"
title = "Write the usage guide"
agent = "claude"
prompt = "Write docs/usage.md from the README"
timeout = "15m"
'''


class StartScreen(Screen[LiveSession | None]):
    CSS_PATH = "start.tcss"
    BINDINGS = START_BINDINGS

    def __init__(self, launcher: SessionLauncher, repo: str = "", *, offer_completion: bool = True) -> None:
        super().__init__()
        self.launcher = launcher
        self.repo = repo
        self.starting = False
        self.offer_completion = offer_completion
        # Answers are kept (in the store) only once the developer moves on from the list: a letter
        # typed there by mistake can be taken back (Backspace) until then.
        self.answers: dict[int, str] = {}  # session id -> outcome given here
        self.saved: dict[int, tuple[str, str]] = {}  # session id -> (outcome, note) in the store
        self.notes: dict[int, str] = {}
        self.loaded = False  # the lists have been read once

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with VerticalScroll(id="start-sections"):
            with Vertical(id="assessment-section", classes="start-section"):
                yield Label("Earlier sessions: how was their work used?", classes="section-title")
                yield Label("f fully used · p partially · u not used · t too early · n n/a · w note · "
                            "s skip all (asked again next time) · Backspace takes an answer back; answers "
                            "are kept once you leave the list", id="assessment-help")
                yield AssessmentList(id="assessment")
                yield Label("", id="assessment-more")
            yield Label("", id="ewr")
            with Vertical(id="objective-section", classes="start-section"):
                yield Label("Objective", classes="section-title")
                yield Input(placeholder="one sentence: what should this session achieve?", id="objective")
                yield Label("", id="objective-hint")
            with Vertical(id="plan-section", classes="start-section"):
                yield Label("Plan", classes="section-title")
                yield Input(placeholder="a plan file (TOML), e.g. plan.toml, or write a plan below",
                            id="plan-path")
                yield TextArea(id="plan-text", placeholder=PLAN_EXAMPLE, tab_behavior="indent")
            yield Label("", id="start-error")
            yield Button("Start the session (Ctrl+S)", variant="primary", id="start")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Session Cockpit · new session"
        self.sub_title = self.repo
        self.query_one("#assessment-section").display = False
        self.query_one("#objective", Input).focus()
        self.reload(offer=self.offer_completion)

    # -------------------------------------------------- earlier sessions
    @property
    def store(self) -> Store:
        return self.launcher.store

    @work(exclusive=True, group="start-load")
    async def reload(self, offer: bool = False) -> None:
        """Read the sessions pending completion (offer the newest), to assess, and the work rate."""
        store, repo = self.store, self.repo
        if offer:
            unfinished = await pending_completion(store, repo)
            if unfinished:
                self.offer_form(unfinished[0], len(unfinished) - 1)
        pending = await pending_sessions(store, repo, too_early_days=self.launcher.settings.too_early_days)
        self.show_pending(pending)
        await self.show_work_rate()
        self.loaded = True

    def show_pending(self, pending: list) -> None:
        section = self.query_one("#assessment-section")
        table = self.query_one(AssessmentList)
        self.answers.clear()
        self.saved.clear()
        self.notes.clear()
        shown = pending[:MAX_PENDING]
        table.show(shown)
        more = len(pending) - len(shown)
        more_label = self.query_one("#assessment-more", Label)
        more_label.update(f"{more} more next time" if more > 0 else "")
        more_label.display = more > 0
        section.display = bool(shown)
        if shown and (self.focused is None or self.focused.id == "objective"
                      and not self.query_one("#objective", Input).value):
            table.focus()

    async def show_work_rate(self) -> None:
        rate = human_work_rate(await self.store.list_sessions(self.repo))
        self.query_one("#ewr", Label).update(
            f"Effective work rate (human): {rate.all_time.text()} · last {rate.recent_size}: {rate.recent.text()}")

    def on_assessment_list_answered(self, event: AssessmentList.Answered) -> None:
        event.stop()
        session_id, outcome = event.session_id, event.outcome
        table = self.query_one(AssessmentList)
        self.answers[session_id] = outcome
        table.set_answer(session_id, outcome, self.notes.get(session_id, ""))
        label = table.sessions[session_id].row.label
        self.notify(f"{label}: {OUTCOME_LABELS[outcome]} (Backspace takes it back; kept once you leave the list)",
                    timeout=4, markup=False)
        left = [int(k.value) for k in table.rows if k.value and int(k.value) not in self.answers]
        if not left:
            self.notify("Every session is answered: now the objective", timeout=3, markup=False)
            self.query_one("#objective", Input).focus()
        else:
            later = [i for i in left if table.get_row_index(str(i)) > table.cursor_row]
            table.move_cursor(row=table.get_row_index(str((later or left)[0])))

    def on_assessment_list_undo_asked(self, event: AssessmentList.UndoAsked) -> None:
        event.stop()
        session_id = event.session_id
        if session_id not in self.answers:
            return
        if session_id in self.saved:
            self.notify("That answer is kept already: change it in the history (F2)", severity="warning",
                        markup=False)
            return
        del self.answers[session_id]
        table = self.query_one(AssessmentList)
        table.clear_answer(session_id)
        if session_id in self.notes:
            table.set_answer(session_id, None, self.notes[session_id])
        self.notify(f"{table.sessions[session_id].row.label}: answer taken back", timeout=3, markup=False)

    def on_assessment_list_left(self, event: AssessmentList.Left) -> None:
        event.stop()
        if self.app.screen is self:  # a dialog over the list (a note) is not moving on
            self.keep_answers()

    @work(group="assess")
    async def keep_answers(self) -> None:
        """Record the answers given (and notes) that the store does not hold yet."""
        changed = False
        for session_id, outcome in list(self.answers.items()):
            answer = (outcome, self.notes.get(session_id, ""))
            if self.saved.get(session_id) == answer:
                continue
            try:
                await self.store.add_assessment(session_id, *answer)
            except StoreError as exc:
                self.notify(str(exc), title="Not recorded", severity="error", markup=False)
                return
            self.saved[session_id] = answer
            changed = True
        if changed:
            await self.show_work_rate()

    def on_assessment_list_note_asked(self, event: AssessmentList.NoteAsked) -> None:
        event.stop()
        from tui.screens.dialogs import LineDialog

        session_id = event.session_id
        label = self.query_one(AssessmentList).sessions[session_id].row.label

        def answered(text: str | None) -> None:
            if text is None:
                return
            self.notes[session_id] = text
            self.query_one(AssessmentList).set_answer(session_id, self.answers.get(session_id), text)
            if session_id in self.saved:  # kept already: kept again, with its note
                self.keep_answers()

        self.app.push_screen(LineDialog(f"A note on session {label}", self.notes.get(session_id, ""),
                                        "why, in a few words (kept with the answer)"), answered)

    def on_assessment_list_skip_asked(self, event: AssessmentList.SkipAsked) -> None:
        event.stop()
        left = len(self.query_one(AssessmentList).sessions) - len(self.answers)
        self.query_one("#assessment-section").display = False
        if left:
            self.notify(f"{plural(left, 'session')} skipped: asked again next time",
                        timeout=4, markup=False)
        self.query_one("#objective", Input).focus()

    # --------------------------------------- a summary never saved
    def offer_form(self, pending: PendingCompletion, others: int) -> None:
        from tui.screens.dialogs import ConfirmDialog

        more = f" ({plural(others, 'more session')} without a summary: cockpit edit LABEL)" \
            if others else ""

        def answered(yes: bool | None) -> None:
            if yes:
                self.open_form(pending)

        self.app.push_screen(ConfirmDialog(
            pending.describe(), "Open its summary form now? If not, it is offered again next time." + more,
            yes="Open the form"), answered)

    @work(group="start-form")
    async def open_form(self, pending: PendingCompletion) -> None:
        from tui.screens.summary_form import SummaryFormScreen

        try:
            row = await close_left_open(self.store, pending.row) if pending.left_open else pending.row
            summary, source = await session_summary(self.store, row)
        except (StoreError, GitFactsError, ValueError) as exc:
            self.notify(str(exc), title="Cannot open the summary", severity="error", markup=False)
            return
        self.app.push_screen(SummaryFormScreen(self.store, row, self.launcher.settings, summary, source),
                             self.form_closed)

    def form_closed(self, result: SavedSummary | None) -> None:
        if result is not None:
            self.notify(" ".join(result.messages()), title="Summary saved", timeout=8, markup=False)
        self.reload()  # the work rate below the list is read again

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "objective":
            return
        problem = check_objective(event.value)
        warning = problem.message if problem is not None and problem.level == "warning" else ""
        self.query_one("#objective-hint", Label).update(escape(warning))
        self.set_class(bool(warning), "-long-objective")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "objective":
            self.query_one("#plan-path", Input).focus()
        else:
            self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "start":
            self.action_start()

    def show_error(self, text: str) -> None:
        self.query_one("#start-error", Label).update(escape(text))
        self.set_class(bool(text), "-error")

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        # Back from it, the list of sessions to assess is read again (some may be assessed there).
        self.keep_answers()  # going there is moving on from the list
        self.app.push_screen(HistoryScreen(self.store, self.repo or None), lambda _: self.reload())

    def action_start(self) -> None:
        if self.starting:
            return
        objective = self.query_one("#objective", Input).value.strip()
        path_text = self.query_one("#plan-path", Input).value.strip()
        plan_text = self.query_one("#plan-text", TextArea).text
        problem = check_objective(objective)
        if problem is not None and problem.level == "error":
            self.show_error(problem.message)
            self.query_one("#objective", Input).focus()
            return
        if not path_text and not plan_text.strip():
            self.show_error("Give a plan file, or write a plan in the box.")
            self.query_one("#plan-path", Input).focus()
            return
        self.show_error("")
        if problem is not None:  # a long objective: allowed, with the warning once more
            self.notify(problem.message, title="Long objective", severity="warning", timeout=6, markup=False)
        self.starting = True
        self.launch(objective, path_text, plan_text)

    @work(exclusive=True, group="start")
    async def launch(self, objective: str, path_text: str, plan_text: str) -> None:
        try:
            if path_text:
                plan = Path(path_text).expanduser()
            else:
                plan = self.launcher.save_plan_text(plan_text)
                self.notify(f"Plan kept in {plan}", timeout=5, markup=False)
            live = await self.launcher.launch(objective, plan)
        except (UserError, StoreError, GitFactsError, OSError) as exc:
            self.show_error(str(exc))
            return
        finally:
            self.starting = False
        self.dismiss(live)
