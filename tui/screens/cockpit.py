"""The cockpit: one live pane per task, the task list, the overall progress, and every intervention.

Events come from the engine's bus through an :class:`~tui.event_pump.EventPump`, which only records
them: log lines are buffered in their pane, everything else goes to the screen's
:class:`~tui.cockpit_model.CockpitModel`. One timer (every ``FLUSH_INTERVAL`` seconds) then draws
what changed: the states (pane, task list, progress), the notices (several tasks that ended together
make one notification), and the lines of the panes that are visible, one ``write_lines`` call each.
Another timer, once a second, updates every elapsed time. Every human action goes through the
:class:`~sessions.live_session.LiveSession`, which records it; a command the engine refuses
(:class:`CommandError`) becomes a notification. When the session has ended, the screen says so with
:class:`CockpitScreen.SessionEnded` and the app decides what comes next.
"""
from __future__ import annotations

import gc
import sqlite3
from typing import Awaitable, Callable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import DescendantFocus
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar

from engine.events import (
    BreakerChanged, BudgetReached, CheckFinished, LogLines, PromptSent, QuestionAnswered, QuestionAsked, RunFinished,
    RunStarted, TaskResult, TaskRouted, TaskStateChanged, UsageUpdate,
)
from engine.errors import CommandError
from engine.states import TaskState
from sessions.live_session import LiveSession
from engine.formatting import diff_size_text, plural, state_word, usage_text
from sessions.store.db import StoreError
from sessions.store.rows import SessionRow
from tui.bindings import APP_BINDINGS, COCKPIT_BINDINGS
from tui.cockpit_model import CockpitModel
from tui.display import elapsed_text
from tui.event_pump import EventPump
from tui.widgets.agent_pane import DEFAULT_MAX_LINES, AgentPane
from tui.widgets.interventions_panel import InterventionsPanel
from tui.widgets.message_line import MessageLine
from tui.widgets.pane_grid import PaneGrid
from tui.widgets.task_table import TaskTable
from tui.screens.cockpit_asks import AskDesk

S = TaskState
TaskClock = Callable[[str], float]  # a task's running time in seconds
WORKTREE_LINE = "worktree "  # the engine's line saying where a task's worktree is
COCKPIT_ACTIONS = frozenset(b.action.split("(")[0] for b in COCKPIT_BINDINGS)


class CockpitScreen(Screen[None]):
    """One pane per task and the keys that act on the focused task (or on the whole run)."""

    CSS_PATH = "cockpit.tcss"
    BINDINGS = COCKPIT_BINDINGS
    ALLOW_IN_MAXIMIZED_VIEW = "Header, Footer, #runbar"
    FLUSH_INTERVAL = 0.08
    FLUSH_BUDGET = 2000  # lines written into panes per flush (at least one pane's whole tail)
    # The collector's thresholds while a run streams. With Python's (700, 10, 10) a flood of lines
    # (every line a few containers: events, lists, strips) brings a full collection every couple of
    # seconds, each 50-95 ms during which no key and no question is handled; young collections
    # stay a few milliseconds with these, and full ones come about ten times less often.
    GC_THRESHOLDS = (2000, 10, 50)

    class SessionEnded(Message):
        """The session was ended from the cockpit (its row, as closed in the store)."""

        def __init__(self, row: SessionRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, live: LiveSession, clock: TaskClock | None = None,
                 max_lines: int = DEFAULT_MAX_LINES) -> None:
        super().__init__()
        self.live = live
        self.engine = live.engine
        self.clock: TaskClock = clock or (lambda task_id: self.engine.tasks[task_id].elapsed())
        specs = self.engine.plan.tasks
        self.panes: dict[str, AgentPane] = {t.id: AgentPane(t.id, t.title, t.agent, max_lines) for t in specs}
        self.model = CockpitModel(self.engine.run_id, self.engine.tasks, self.engine.continue_refusal)
        self.pump: EventPump | None = None
        self._started = False
        self._gc_thresholds: tuple[int, int, int] | None = None  # the collector's, while the run streams
        # panes with lines not drawn yet, oldest first (an ordered set: dict keys)
        self._dirty: dict[AgentPane, None] = {}
        self._line_modes: dict[str, str] = {}  # task -> what its open input line does (send, continue, retry)
        self._last_task: str | None = specs[0].id if specs else None
        self.asks = AskDesk(self)  # the agents' questions on show, and the keys that answer them

    @property
    def states(self) -> dict[str, TaskState]:
        """Each task's state as the events have told it so far."""
        return self.model.states

    @property
    def checks(self) -> dict[str, CheckFinished]:
        return self.model.checks

    @property
    def ending(self) -> bool:
        return self.model.ending

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="runbar"):
            yield Label("", id="run-status")
            yield ProgressBar(total=len(self.panes), show_eta=False, id="progress")
        yield PaneGrid(*self.panes.values(), id="panes")
        with Horizontal(id="bottom"):
            yield TaskTable(self.engine.plan.tasks, id="tasks")
            yield InterventionsPanel(id="interventions")
        # no palette hint: on a narrow terminal it hides the keys (Ctrl+P still opens the palette)
        yield Footer(compact=True, show_command_palette=False)

    @property
    def grid(self) -> PaneGrid:
        return self.query_one(PaneGrid)

    @property
    def table(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def interventions(self) -> InterventionsPanel:
        return self.query_one(InterventionsPanel)

    @property
    def progress(self) -> ProgressBar:
        return self.query_one(ProgressBar)

    async def on_mount(self) -> None:
        row = self.live.row
        self.title = f"Session Cockpit · {row.label}"
        self.sub_title = row.objective
        self.query_one("#tasks").border_title = "Tasks"
        self.query_one("#interventions").border_title = "Interventions"
        subscription = self.engine.bus.subscribe()  # before the run starts: no event is missed
        self._sync_from_engine()
        self.pump = EventPump(subscription, self)
        self.run_worker(self.pump.run(), name="event-pump", group="event-pump")
        self.set_interval(self.FLUSH_INTERVAL, self.flush_panes, name="flush-panes")
        self.set_interval(1.0, self.tick, name="elapsed")
        self.tick()
        self._update_run_status()
        if self.panes:
            next(iter(self.panes.values())).focus()
        await self.reload_interventions()
        self.set_timer(2.0, self._start_run)  # in case the grid never gets a size

    def on_pane_grid_arranged(self, event: PaneGrid.Arranged) -> None:
        # The screen is laid out and drawn with its final shape first; then the run starts, so
        # the first layouts do not compete with the first flood of lines.
        self.call_after_refresh(self._start_run)

    async def _start_run(self) -> None:
        if self._started or self.live.running or self.engine.finished:
            return
        self._started = True
        gc.freeze()  # what exists now lives as long as the screen: full collections skip it
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*self.GC_THRESHOLDS)
        self.live.recorder.on_trouble = self._recording_trouble
        await self.live.start()

    def _recording_trouble(self, trouble: str | None) -> None:
        """The store cannot be written (or can again): said at once; the run goes on meanwhile."""
        if trouble is None:
            self.notify("Recording resumed: what was kept in memory is written", timeout=6, markup=False)
        else:
            self.notify(f"Recording stopped: {trouble}. The run goes on; its record is kept in memory and "
                        "written when it can be.", severity="error", timeout=30, markup=False)

    def on_unmount(self) -> None:
        gc.unfreeze()
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)

    def on_resize(self) -> None:
        self.set_class(self.size.height < 32, "-short")

    def _sync_from_engine(self) -> None:
        """Take the engine's current states (for a run that started before this screen)."""
        for task_id, run in self.engine.tasks.items():
            if run.state is not S.PENDING or run.attempts:
                self._apply_state(task_id, run.state, run.attempts)
        self._update_progress()

    # ----------------------------------------------------- events (EventSink)
    def on_run_started(self, event: RunStarted) -> None:
        self.model.status_changed = True

    def on_lines(self, event: LogLines) -> None:
        pane = self.panes.get(event.task_id)
        if pane is not None:
            lines = event.lines
            if event.stream == "engine":  # where the task works is in its info screen (i), not every pane
                lines = [line for line in lines if not line.startswith(WORKTREE_LINE)]
            pane.add_lines(event.stream, lines, event.key)
            self._dirty.setdefault(pane)

    def on_state(self, event: TaskStateChanged) -> None:
        rule = self.model.on_state(event)
        if event.new is S.RUNNING and event.old is not S.PAUSED and event.task_id in self.panes:
            # a new attempt: the last one's exit is history (its own result comes with its end)
            self.panes[event.task_id].set_result("")
        if rule:
            pane = self.panes[event.task_id]
            pane.add_lines("rule", [rule])
            self._dirty.setdefault(pane)

    def on_usage(self, event: UsageUpdate) -> None:
        pane = self.panes.get(event.task_id)
        if pane is not None:
            # every token, as budgets, the headless table and the history count them (cache included)
            usage = event.usage
            pane.set_usage(usage_text(usage.total, usage.cost_usd, usage.tokens_known, usage.approximate,
                                      usage.context))

    def on_result(self, event: TaskResult) -> None:
        pane = self.panes.get(event.task_id)
        if pane is None:
            return
        parts = [] if event.exit_code is None else [f"exit {event.exit_code}"]
        if event.files:
            parts.append(diff_size_text(event.added, event.removed, len(event.files)))
        pane.set_result(" · ".join(parts))

    def on_budget(self, event: BudgetReached) -> None:
        if self.model.on_budget(event):
            self.notify(f"{event.describe()}: no new task starts", severity="error", timeout=10, markup=False)
            self.app.bell()

    def on_prompt(self, event: PromptSent) -> None:
        self.model.on_prompt(event)

    def on_routed(self, event: TaskRouted) -> None:
        self.model.on_routed(event)

    def on_check(self, event: CheckFinished) -> None:
        self.model.on_check(event)
        result = event.result
        self.notify(f"{event.task_id}: check {result.describe()}", markup=False,
                    severity="information" if result.ok else "warning", timeout=5)

    def on_breaker(self, event: BreakerChanged) -> None:
        self.model.status_changed = True
        if event.state == "open":
            self.notify(f"profile {event.profile}: circuit breaker open, its tasks wait ({event.reason}); "
                        "b resets it", severity="error", timeout=10, markup=False)
            self.app.bell()
        else:
            self.notify(f"profile {event.profile}: circuit breaker {event.state}", timeout=4, markup=False)

    def on_question(self, event: QuestionAsked) -> None:
        self.asks.asked(event)  # drawn now, not at the next flush: the agent waits for it

    def on_answered(self, event: QuestionAnswered) -> None:
        self.asks.answered(event)

    def on_run_finished(self, event: RunFinished) -> None:
        self.model.on_run_finished()

    def on_bus_closed(self) -> None:
        self.model.bus_closed = True
        self.flush_panes()

    def _apply_state(self, task_id: str, state: TaskState, attempts: int) -> None:
        self.model.take_state(task_id, state, attempts)
        attempts = self.model.attempts[task_id]
        pane = self.panes[task_id]
        pane.set_state(state, attempts)
        self.table.set_state(task_id, state, attempts)
        self.asks.mark_row(task_id)
        self._show_elapsed(task_id)
        if pane is self.maximized or pane.has_class("-talking"):
            self._say_line(task_id)

    def _say_line(self, task_id: str) -> None:
        """The input line on show says what a message would do now (or why none can go)."""
        mode, hint = self.model.message_mode(task_id)
        self.panes[task_id].message_line.placeholder = hint

    # --------------------------------------------------------------- drawing
    def _drawn(self) -> bool:
        """Whether this screen is on the terminal now (on top, or just under a dialog)."""
        if self.is_active:
            return True
        stack = self.app.screen_stack
        return isinstance(self.app.screen, ModalScreen) and len(stack) > 1 and stack[-2] is self

    def flush_panes(self) -> None:
        """Draw what changed since the last call (the timer's callback, every FLUSH_INTERVAL).

        Notices go out whatever screen is on top; states and lines are drawn when this screen is
        on the terminal, and lines only into visible panes (one write_lines each): hidden ones wait.
        """
        model = self.model
        if model.has_notices:
            self._announce()
        if not self._drawn():
            return
        if model.restyle or model.status_changed:
            for task_id in model.restyle:
                self._apply_state(task_id, model.states[task_id], model.attempts[task_id])
            model.restyle.clear()
            model.status_changed = False
            self._update_progress()
            self._update_run_status()
            self.offer_end()
        if self._dirty:
            self._flush_lines()

    def _flush_lines(self) -> None:
        """Write the waiting lines of visible panes, oldest first, about FLUSH_BUDGET lines a call.

        Under a flood every pane has a full tail waiting; writing them all at each flush would
        take longer than the flush interval and starve the keys. With the budget, the panes take
        turns (each still gets its whole tail in one write_lines), and the cost of a flush (and of
        the repaint it causes) stays bounded however fast lines come.
        """
        grid = self.grid
        budget = self.FLUSH_BUDGET
        for pane in list(self._dirty):
            if budget <= 0:
                break
            if grid.is_pane_visible(pane):
                budget -= pane.flush()
                del self._dirty[pane]

    def _announce(self) -> None:
        """One notification per kind of news (and one bell), however many tasks it is about."""
        for severity, text in self.model.take_notices():
            self.notify(text, severity=severity, timeout=6, markup=False)  # type: ignore[arg-type]
        self.app.bell()

    def tick(self) -> None:
        """Once a second: every elapsed time (one timer for the whole screen)."""
        for task_id in self.panes:
            self._show_elapsed(task_id)
        self.asks.tick()

    def _show_elapsed(self, task_id: str) -> None:
        text = elapsed_text(self.clock(task_id), self.model.attempts[task_id])
        self.panes[task_id].set_elapsed(text)
        self.table.set_time(task_id, text)

    def _update_progress(self) -> None:
        self.progress.update(progress=self.model.settled_count())

    def _update_run_status(self) -> None:
        self.query_one("#run-status", Label).update(
            self.model.run_status(self.engine.run_paused, self.asks.waiting_tasks()), layout=False)

    # ---------------------------------------------------------------- focus
    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if isinstance(event.widget, AgentPane):
            self._last_task = event.widget.task_id
            self.table.select_task(event.widget.task_id)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.table and self.table.has_focus and event.row_key.value:
            self._last_task = event.row_key.value

    def focused_pane(self) -> AgentPane | None:
        widget = self.focused
        while widget is not None and widget is not self:
            if isinstance(widget, AgentPane):
                return widget
            widget = widget.parent  # type: ignore[assignment]
        return None

    def current_task(self) -> str | None:
        """The task the keys act on: the focused pane's, else the task list's cursor row."""
        pane = self.focused_pane()
        if pane is not None:
            return pane.task_id
        if self.focused is self.table:
            return self.table.current_task()
        return self._last_task

    def _task_or_notice(self) -> str | None:
        task_id = self.current_task()
        if task_id is None:
            self.notify("Focus a task's pane first (Tab or the arrows)", severity="warning", markup=False)
        return task_id

    def action_move_focus(self, direction: str) -> None:
        pane = self.focused_pane()
        if pane is None:
            task_id = self.current_task()
            target = self.panes.get(task_id) if task_id else None
        else:
            target = self.grid.neighbour(pane, direction)
        if target is not None:
            if self.maximized is not None:
                self.maximize(target, container=False)
            target.focus()

    def action_step_focus(self, step: int) -> None:
        """j / k: the next or previous pane, round the grid."""
        panes = self.grid.panes
        if not panes:
            return
        pane = self.focused_pane()
        task_id = pane.task_id if pane is not None else self.current_task()
        index = next((i for i, p in enumerate(panes) if p.task_id == task_id), -step if step > 0 else 0)
        target = panes[(index + step) % len(panes)]
        if self.maximized is not None:
            self.maximize(target, container=False)
        target.focus()

    def action_next_question(self) -> None:
        self.asks.jump()

    def action_answer(self, kind: str, scope: str = "once") -> None:
        self.asks.answer(kind, scope)

    def action_focus_tasks(self) -> None:
        self.table.focus()

    def action_enlarge(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        task_id = self.current_task()
        if task_id is not None:
            pane = self.panes[task_id]
            pane.focus()
            self.maximize(pane, container=False)
            self._say_line(task_id)

    # -------------------------------------------------------- interventions
    def _command(self, what: str, call: Callable[[], Awaitable[None]], done: str = "") -> None:
        """Run a LiveSession command in a worker; a refusal of the engine becomes a notification."""

        async def run() -> None:
            try:
                await call()
            except CommandError as exc:
                self.notify(str(exc), title=f"Cannot {what}", severity="warning", markup=False)
                return
            except (StoreError, sqlite3.Error, OSError) as exc:  # the engine took it; the store could not
                self.notify(f"Done, but it could not be recorded: {exc}", title=what.capitalize(),
                            severity="error", timeout=30, markup=False)
                return
            if done:
                self.notify(done, timeout=3, markup=False)
            self.model.status_changed = True
            await self.reload_interventions()

        self.run_worker(run(), group="commands")

    async def reload_interventions(self) -> None:
        await self.interventions.reload(self.live.store, self.live.row.id)

    def action_pause_task(self) -> None:
        task_id = self._task_or_notice()
        if task_id is None:
            return
        if self.engine.tasks[task_id].state is S.PAUSED:
            self._command("resume", lambda: self.live.resume(task_id))
        else:
            self._command("pause", lambda: self.live.pause(task_id))

    def action_pause_run(self) -> None:
        if self.engine.run_paused:
            self._command("resume the run", lambda: self.live.resume(None), "The run goes on")
        else:
            self._command("pause the run", lambda: self.live.pause(None),
                          "Run paused: no new task starts (P resumes)")

    def action_cancel_task(self) -> None:
        """Cancel the task; while its agent runs, only once the developer said yes (its work so far stops)."""
        task_id = self._task_or_notice()
        if task_id is None:
            return
        run = self.engine.tasks[task_id]
        if run.state not in (S.RUNNING, S.PAUSED):
            self._command("cancel", lambda: self.live.cancel(task_id))
            return
        from tui.screens.dialogs import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self._command("cancel", lambda: self.live.cancel(task_id))

        self.app.push_screen(ConfirmDialog(
            f"Cancel task {task_id}?", f"Its agent is {state_word(run.state)} (attempt {run.attempts}) and will be "
            "stopped; r runs it again later.", yes="Cancel task"), answered)

    def action_cancel_all(self) -> None:
        from tui.screens.dialogs import ConfirmDialog

        left = self.model.unfinished()

        def answered(yes: bool | None) -> None:
            if yes:
                self._command("cancel", lambda: self.live.cancel(None))

        self.app.push_screen(ConfirmDialog(
            "Cancel every task that has not ended?", f"{plural(left, 'task')} not ended.",
            yes="Cancel all"), answered)

    def action_retry_task(self) -> None:
        task_id = self._task_or_notice()
        if task_id is not None:
            self._command("retry", lambda: self._retry(task_id))

    async def _retry(self, task_id: str, message: str | None = None) -> None:
        """Retry the task; its work, redone, waits for a decision again (a discarded one's retry starts
        from a fresh worktree: the pane no longer says "discarded")."""
        await self.live.retry(task_id, message)
        if task_id in self.model.decisions:
            self.set_decision(task_id, "")

    # ------------------------------------------------------------ messages
    @property
    def ESCAPE_TO_MINIMIZE(self) -> bool:  # type: ignore[override]  # noqa: N802 (Textual's name)
        """Escape restores the enlarged pane, except in its input line, where it goes back to the pane."""
        return not isinstance(self.focused, MessageLine)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a pane's input line has the focus, keys are text: no key of the cockpit acts."""
        if isinstance(self.focused, MessageLine) and action in COCKPIT_ACTIONS:
            return False
        return True

    def action_send_message(self) -> None:
        """Open the task's input line, saying first what a message would do (or why none can go)."""
        task_id = self._task_or_notice()
        if task_id is None:
            return
        mode, hint = self.model.message_mode(task_id)
        if mode == "none":
            self.notify(hint, title="No message now", severity="warning", markup=False)
            return
        pane = self.panes[task_id]
        if self.maximized is not None and self.maximized is not pane:
            self.maximize(pane, container=False)
        pane.open_line(hint)
        self._line_modes[task_id] = mode

    def on_message_line_send(self, event: MessageLine.Send) -> None:
        line, text = event.line, event.text
        task_id = line.task_id
        mode, hint = self.model.message_mode(task_id)
        if mode != self._line_modes.get(task_id):  # the task changed meanwhile: say so before acting
            self._line_modes[task_id] = mode
            line.placeholder = hint
            self.notify(f"{hint}" if mode != "none" else f"{hint}; your text stays in the line",
                        title=f"{task_id} is {state_word(self.engine.tasks[task_id].state)} now",
                        severity="warning", markup=False)
            return
        if mode == "send":
            what, call = "send the message", lambda: self.live.send(task_id, text)
        elif mode == "continue":
            what, call = "continue its conversation", lambda: self.live.send(task_id, text)
        else:
            what, call = "retry", lambda: self._retry(task_id, text)

        async def run() -> None:
            try:
                await call()
            except CommandError as exc:
                self.notify(str(exc), title=f"Cannot {what}", severity="warning", markup=False)
                return  # the text stays in the line
            line.remember(text)
            pane = self.panes[task_id]
            if self.maximized is not pane:
                pane.close_line()
            self.model.status_changed = True
            await self.reload_interventions()

        self.run_worker(run(), group="commands")

    def on_message_line_left(self, event: MessageLine.Left) -> None:
        self.panes[event.line.task_id].close_line()

    def action_note(self) -> None:
        from tui.screens.dialogs import NoteDialog

        task_id = self.current_task()

        def answered(note: tuple[str, str] | None) -> None:
            if note:
                kind, text = note
                self._command("note it", lambda: self.live.note(task_id, kind, text), "Noted")

        self.app.push_screen(NoteDialog(task_id), answered)

    def action_review(self) -> None:
        task_id = self._task_or_notice()
        if task_id is None:
            return
        state = self.engine.tasks[task_id].state
        if not state.terminal:
            self.notify(f"Task {task_id} is {state_word(state)}: review it once it has ended",
                        severity="warning", markup=False)
            return
        from tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(self.live.decisions, task_id))

    def set_decision(self, task_id: str, decision: str) -> None:
        """The developer accepted or discarded the task's work (in the review screen): its pane says so
        ("": undecided again)."""
        if decision:
            self.model.decisions[task_id] = decision
        else:
            self.model.decisions.pop(task_id, None)
        pane = self.panes.get(task_id)
        if pane is not None:
            pane.set_decision(decision)

    def action_log_view(self) -> None:
        from tui.screens.log_view import LogViewScreen

        task_id = self._task_or_notice()
        if task_id is not None:
            self.app.push_screen(LogViewScreen(self.live.store, self.live.row.id, self.engine.run_id, task_id))

    def action_reset_breaker(self) -> None:
        """Close an open circuit breaker: the focused task's profile's, else the only open one."""
        open_ = self.engine.open_breakers
        if not open_:
            self.notify("No circuit breaker is open", timeout=3, markup=False)
            return
        task_id = self.current_task()
        run = self.engine.tasks.get(task_id) if task_id else None
        profile = getattr(run, "profile", None) or (run.spec.agent if run is not None else None)
        if profile not in open_:
            if len(open_) > 1:
                self.notify(f"Open breakers: {', '.join(open_)}: focus a task of the one to reset",
                            severity="warning", markup=False)
                return
            profile = open_[0]
        self._command("reset the breaker", lambda: self.live.reset_breaker(profile),
                      f"Circuit breaker of {profile} reset: its tasks may start")

    def action_task_info(self) -> None:
        from tui.screens.task_info import TaskInfoScreen

        task_id = self._task_or_notice()
        if task_id is None:
            return
        facts, prompt = self.model.task_facts(task_id)
        self.app.push_screen(TaskInfoScreen(task_id, facts, prompt))

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.live.store, self.live.row.repo))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, help_rows

        active = {ab.binding.id: ab.binding for ab in self.active_bindings.values() if ab.binding.id}
        rows = help_rows(COCKPIT_BINDINGS + APP_BINDINGS, active, self.app.get_key_display)
        self.app.push_screen(HelpScreen(rows))

    # ------------------------------------------------------------ the end
    def offer_end(self) -> None:
        """Once every task has ended (none waits for a retry), say once that the session can end."""
        if not self.model.should_offer_end():
            return
        key = next((self.app.get_key_display(ab.binding) for ab in self.active_bindings.values()
                    if ab.binding.id == "cockpit.end_session"), "e")
        self.notify(f"All tasks ended: end the session? ({key})", title="Plan finished", timeout=20,
                    markup=False)

    def _confirm_end(self, question: str) -> None:
        from tui.screens.dialogs import ConfirmDialog

        detail = self.model.end_detail({task_id for task_id, pane in self.panes.items() if pane.decision})

        def answered(yes: bool | None) -> None:
            if yes:
                self.end_session()

        self.app.push_screen(ConfirmDialog(question, detail, yes="End session"), answered)

    def action_end_session(self) -> None:
        self._confirm_end(f"End session {self.live.row.label}?")

    def action_quit_cockpit(self) -> None:
        self._confirm_end(f"End session {self.live.row.label} and quit?")

    def end_session(self) -> None:
        """Stop what still runs, close the session in the store, then say so (the app goes on from there)."""
        if self.model.ending:
            return
        self.model.ending = True

        async def run() -> None:
            self.notify("Ending the session…", timeout=3, markup=False)
            try:
                row = await self.live.end()
            except (StoreError, sqlite3.Error, OSError) as exc:  # e.g. the disk is full: try again later
                self.model.ending = False
                self.notify(f"The session could not be closed: {exc}. Nothing is lost yet: free some space and "
                            "end it again.", severity="error", timeout=30, markup=False)
                return
            self.flush_panes()
            self.post_message(self.SessionEnded(row))

        self.run_worker(run(), group="end-session")
