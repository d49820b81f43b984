"""The cockpit: one live pane per task, the task list, the overall progress, and every intervention.

Events come from the engine's bus through an :class:`~tui.event_pump.EventPump`, which only records
them: log lines are buffered in their pane, state changes and notices are noted. One timer (every
``FLUSH_INTERVAL`` seconds) then draws what changed: the states (pane, task list, progress), the
notices (several tasks that ended together make one notification), and the lines of the panes that
are visible, one ``write_lines`` call each. Another timer, once a second, updates every elapsed time.
Every human action goes through the :class:`~sessions.live_session.LiveSession`, which records it.
"""
from __future__ import annotations

import gc
from typing import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import DescendantFocus
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar

from engine.events import (
    BreakerChanged, BudgetReached, CheckFinished, LogLines, PromptSent, RunFinished, RunStarted, TaskResult,
    TaskRouted, TaskStateChanged, UsageUpdate,
)
from engine.states import TaskState
from sessions.live_session import LiveSession
from tui.bindings import COCKPIT_BINDINGS
from engine.formatting import diff_size_text, state_word, usage_text
from tui.display import elapsed_text
from tui.event_pump import EventPump
from tui.widgets.agent_pane import DEFAULT_MAX_LINES, AgentPane
from tui.widgets.interventions_panel import InterventionsPanel
from tui.widgets.pane_grid import PaneGrid
from tui.widgets.task_table import TaskTable
from tui.screens.cockpit_actions import CockpitActions

S = TaskState
TaskClock = Callable[[str], float]  # a task's running time in seconds

# States that deserve the developer's attention: a notification and the terminal bell.
# (severity, text for one task, text for several tasks that got there within one flush)
NOTICE = {
    S.SUCCEEDED: ("information", "{task} succeeded", "{tasks} succeeded"),
    S.FAILED: ("error", "{task} failed ({reason})", "{tasks} failed"),
    S.TIMED_OUT: ("error", "{task} timed out ({reason})", "{tasks} timed out"),
    S.PAUSED: ("warning", "{task} is paused: waiting for you (p resumes it)",
               "{tasks} are paused: waiting for you"),
    S.BUDGET_EXCEEDED: ("error", "{task} was stopped: {reason}", "{tasks} were stopped at their budget"),
}


class CockpitScreen(CockpitActions, Screen[None]):
    CSS_PATH = "cockpit.tcss"
    BINDINGS = COCKPIT_BINDINGS
    ALLOW_IN_MAXIMIZED_VIEW = "Header, Footer, #runbar"
    FLUSH_INTERVAL = 0.08
    FLUSH_BUDGET = 2000  # lines written into panes per flush (at least one pane's whole tail)

    def __init__(self, live: LiveSession, clock: TaskClock | None = None,
                 max_lines: int = DEFAULT_MAX_LINES) -> None:
        super().__init__()
        self.live = live
        self.engine = live.engine
        self.clock: TaskClock = clock or (lambda task_id: self.engine.tasks[task_id].elapsed())
        specs = self.engine.plan.tasks
        self.panes: dict[str, AgentPane] = {t.id: AgentPane(t.id, t.title, t.agent, max_lines) for t in specs}
        self.states: dict[str, TaskState] = {t.id: S.PENDING for t in specs}
        self.attempts: dict[str, int] = {t.id: 0 for t in specs}
        self.pump: EventPump | None = None
        self.bus_closed = False
        self.run_finished = False
        self.ending = False
        self._started = False
        # panes with lines not drawn yet, oldest first (an ordered set: dict keys)
        self._dirty: dict[AgentPane, None] = {}
        self._restyle: set[str] = set()  # tasks whose state changed since the last draw
        self._notices: dict[TaskState, list[tuple[str, str]]] = {}  # state -> [(task, reason)]
        self._status_changed = False
        self.budget_reached = ""  # the session's budget, once reached
        self.prompts: dict[str, PromptSent] = {}  # the newest effective prompt of each task, when changed
        self.routes: dict[str, TaskRouted] = {}  # the profile the engine chose, for routed tasks
        self.checks: dict[str, CheckFinished] = {}  # the newest check result of each task
        self._last_task: str | None = specs[0].id if specs else None

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
        yield Footer(compact=True)

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
        await self.live.start()

    def on_unmount(self) -> None:
        gc.unfreeze()

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
        self._status_changed = True

    def on_lines(self, event: LogLines) -> None:
        pane = self.panes.get(event.task_id)
        if pane is not None:
            pane.add_lines(event.stream, event.lines)
            self._dirty.setdefault(pane)

    def on_state(self, event: TaskStateChanged) -> None:
        task_id = event.task_id
        if task_id not in self.panes:
            return
        self.states[task_id] = event.new
        self.attempts[task_id] = max(self.attempts[task_id], event.attempt)
        self._restyle.add(task_id)
        if event.new in NOTICE:
            self._notices.setdefault(event.new, []).append((task_id, event.reason or state_word(event.new)))

    def on_usage(self, event: UsageUpdate) -> None:
        pane = self.panes.get(event.task_id)
        if pane is not None:
            # every token, as budgets, the headless table and the history count them (cache included)
            pane.set_usage(usage_text(event.usage.total, event.usage.cost_usd))

    def on_result(self, event: TaskResult) -> None:
        pane = self.panes.get(event.task_id)
        if pane is None:
            return
        parts = [] if event.exit_code is None else [f"exit {event.exit_code}"]
        if event.files:
            parts.append(diff_size_text(event.added, event.removed, len(event.files)))
        pane.set_result(" · ".join(parts))

    def on_budget(self, event: BudgetReached) -> None:
        if event.scope == "session":
            self.budget_reached = event.describe()
            self._status_changed = True
            self.notify(f"{event.describe()}: no new task starts", severity="error", timeout=10, markup=False)
            self.app.bell()

    def on_prompt(self, event: PromptSent) -> None:
        self.prompts[event.task_id] = event

    def on_routed(self, event: TaskRouted) -> None:
        self.routes[event.task_id] = event

    def on_check(self, event: CheckFinished) -> None:
        self.checks[event.task_id] = event
        result = event.result
        self.notify(f"{event.task_id}: check {result.describe()}", markup=False,
                    severity="information" if result.ok else "warning", timeout=5)

    def on_breaker(self, event: BreakerChanged) -> None:
        self._status_changed = True
        if event.state == "open":
            self.notify(f"profile {event.profile}: circuit breaker open, its tasks wait ({event.reason}); "
                        "b resets it", severity="error", timeout=10, markup=False)
            self.app.bell()
        else:
            self.notify(f"profile {event.profile}: circuit breaker {event.state}", timeout=4, markup=False)

    def on_run_finished(self, event: RunFinished) -> None:
        self.run_finished = True
        self._status_changed = True

    def on_bus_closed(self) -> None:
        self.bus_closed = True
        self.flush_panes()

    def _apply_state(self, task_id: str, state: TaskState, attempts: int) -> None:
        self.states[task_id] = state
        self.attempts[task_id] = max(self.attempts[task_id], attempts)
        self.panes[task_id].set_state(state, self.attempts[task_id])
        self.table.set_state(task_id, state, self.attempts[task_id])
        self._show_elapsed(task_id)

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
        if self._notices:
            self._announce()
        if not self._drawn():
            return
        if self._restyle or self._status_changed:
            for task_id in self._restyle:
                self._apply_state(task_id, self.states[task_id], self.attempts[task_id])
            self._restyle.clear()
            self._status_changed = False
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
        for state, items in self._notices.items():
            severity, one, several = NOTICE[state]
            if len(items) == 1:
                text = one.format(task=items[0][0], reason=items[0][1])
            else:
                text = several.format(tasks=", ".join(task for task, _ in items))
            self.notify(text, severity=severity, timeout=6, markup=False)  # type: ignore[arg-type]
        self._notices.clear()
        self.app.bell()

    def tick(self) -> None:
        """Once a second: every elapsed time (one timer for the whole screen)."""
        for task_id in self.panes:
            self._show_elapsed(task_id)

    def _show_elapsed(self, task_id: str) -> None:
        text = elapsed_text(self.clock(task_id), self.attempts[task_id])
        self.panes[task_id].set_elapsed(text)
        self.table.set_time(task_id, text)

    def settled_count(self) -> int:
        tasks = self.engine.tasks
        return sum(1 for tid, s in self.states.items() if s.terminal and not tasks[tid].retry_pending)

    def _update_progress(self) -> None:
        self.progress.update(progress=self.settled_count())

    def _update_run_status(self) -> None:
        counts: dict[TaskState, int] = {}
        for state in self.states.values():
            counts[state] = counts.get(state, 0) + 1
        parts = [f"run {self.engine.run_id}"]
        for state in (S.RUNNING, S.PAUSED, S.READY):
            if counts.get(state):
                parts.append(f"{counts[state]} {state_word(state)}")
        parts.append(f"{self.settled_count()}/{len(self.states)} settled")
        if self.budget_reached:
            parts.append(self.budget_reached.upper())
        if self.run_finished:
            parts.append("run ended")
        elif self.engine.run_paused:
            parts.append("RUN PAUSED")
        self.query_one("#run-status", Label).update(" · ".join(parts), layout=False)

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
