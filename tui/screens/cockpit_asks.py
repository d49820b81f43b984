"""The cockpit's side of the ask channel: which agents wait for the developer, and the keys that answer.

A question is drawn as soon as its event arrives, in the same loop turn (not at the next flush of the
panes, nor at the screen's next frame): the agent is blocked until someone answers. Its pane shows
its :class:`~tui.widgets.question_panel.QuestionPanel` at its foot and says "waiting for you" in its
title, the task list marks the task, the run bar counts the agents waiting, and a notification rings
the bell. ``w`` goes to the agent that has waited longest; ``y`` allows once, ``a`` / ``s`` allow
always for the task / the session, ``d`` denies (with a reason for the agent, optional). Each answer
goes through the :class:`~sessions.live_session.LiveSession`, which records it as an intervention.
"""
from __future__ import annotations

from typing import Any

from engine.asks import Question, QuestionAnswered, QuestionAsked
from engine.errors import CommandError

WAITING_CELL = "? waiting"  # the task list's state cell of a task whose agent waits for you


def draw_now(screen: Any) -> None:
    """Lay the screen out and hand the frame to the terminal now, not at its next frame.

    Textual draws on a 60 Hz clock once the screen's queue of messages is empty; under a flood of
    lines that wait is several frames long, each busy with the other panes. Textual has no public
    call for this; its own Pilot calls the screen's private frame methods, and so does this one. If
    a Textual release renames it, the question is drawn at the next frame as any change is.
    """
    refresh_layout = getattr(screen, "_refresh_layout", None)
    if refresh_layout is not None and screen.is_current and not screen.app._batch_count:
        refresh_layout()


class AskDesk:
    """Held by the cockpit screen (composition): the questions on show in the panes, and the answers.
    ``screen`` is the :class:`~tui.screens.cockpit.CockpitScreen` (not imported: it imports this)."""

    def __init__(self, screen: Any) -> None:
        self.screen = screen

    # ------------------------------------------------------------------ what the engine says
    def asked(self, event: QuestionAsked) -> None:
        task_id = event.task_id
        if task_id not in self.screen.panes:
            return
        if self._show_in_pane(task_id):
            draw_now(self.screen)
        # The task list's mark, the run bar's count, the notification (a toast to mount and lay out)
        # and the bell come in the frame after the question's, which draws its pane alone.
        self.screen.call_after_refresh(self._announce, event)

    def _announce(self, event: QuestionAsked) -> None:
        task_id = event.task_id
        waiting = bool(self.screen.engine.asks.waiting_for(task_id))
        self._show_elsewhere(task_id, waiting)
        if not waiting:
            return  # answered already (by a rule, or at once): nothing to call the developer for
        q = event.question
        self.screen.notify(f"{task_id} asks: {q.describe()[:200]} (w goes there)", title="Waiting for you",
                           severity="warning", timeout=8, markup=False)
        self.screen.app.bell()

    def answered(self, event: QuestionAnswered) -> None:
        if event.asked and event.task_id in self.screen.panes:
            self._show_elsewhere(event.task_id, self._show_in_pane(event.task_id))

    def _show_in_pane(self, task_id: str) -> bool:
        """Bring the task's pane in line with the questions waiting now; whether it shows one."""
        waiting = self.screen.engine.asks.waiting_for(task_id)
        pane = self.screen.panes[task_id]
        panel = pane.question_panel
        if waiting:
            panel.show(waiting[0], len(waiting) - 1)
            pane.set_waiting(True)
        elif panel.display:
            panel.display = False
            pane.set_waiting(False)
        return bool(waiting)

    def _show_elsewhere(self, task_id: str, waiting: bool) -> None:
        """The task's row in the task list and the run bar's count, as its pane shows."""
        screen = self.screen
        marked = screen.table.get_cell(task_id, "state") == WAITING_CELL
        if waiting and not marked:
            screen.table.update_cell(task_id, "state", WAITING_CELL)
        elif marked and not waiting:
            screen.table.set_state(task_id, screen.states[task_id], screen.model.attempts[task_id])
        screen._update_run_status()

    def asking(self, task_id: str) -> bool:
        pane = self.screen.panes.get(task_id)
        return pane is not None and pane.question_panel.display

    def mark_row(self, task_id: str) -> None:
        """After the task list redrew the task's state: keep it marked while its agent waits."""
        if self.asking(task_id):
            self.screen.table.update_cell(task_id, "state", WAITING_CELL)

    def tick(self) -> None:
        """Once a second: the time each question on show has waited."""
        for pane in self.screen.panes.values():
            if pane.question_panel.display:
                pane.question_panel.refresh_text()

    def waiting_tasks(self) -> int:
        return sum(1 for pane in self.screen.panes.values() if pane.question_panel.display)

    # ------------------------------------------------------------------ the developer's keys
    def oldest(self) -> Question | None:
        waiting = self.screen.engine.asks.waiting()
        return waiting[0] if waiting else None

    def jump(self) -> None:
        """Focus the pane of the agent that has waited longest."""
        question = self.oldest()
        if question is None:
            self.screen.notify("No agent is waiting for you", timeout=3, markup=False)
            return
        pane = self.screen.panes.get(question.task_id)
        if pane is None:
            return
        if self.screen.maximized is not None:
            self.screen.maximize(pane, container=False)
        pane.focus()
        pane.scroll_visible()

    def question_here(self) -> Question | None:
        """The oldest question of the task the keys act on, or a notice that it has none."""
        task_id = self.screen.current_task()
        waiting = self.screen.engine.asks.waiting_for(task_id) if task_id else []
        if waiting:
            return waiting[0]
        elsewhere = self.oldest()
        hint = " (w goes to the agent waiting longest)" if elsewhere is not None else ""
        self.screen.notify(f"{task_id or 'This task'} asks nothing now{hint}", severity="warning", timeout=4,
                           markup=False)
        return None

    def answer(self, kind: str, scope: str = "once") -> None:
        question = self.question_here()
        if question is None:
            return
        if kind.startswith("reject"):
            self._deny(question, kind)
            return
        if not (question.offers("allow_once") or question.offers("allow_always")):
            self.screen.notify("This agent offers no way to allow it: d denies", severity="warning", markup=False)
            return
        self._send(question, kind, scope)

    def _deny(self, question: Question, kind: str) -> None:
        from tui.screens.dialogs import LineDialog

        def answered(reason: str | None) -> None:
            if reason is not None:  # Escape: no answer yet
                self._send(question, kind, "once", reason)

        self.screen.app.push_screen(LineDialog(
            f"Deny {question.describe()[:80]}: why? (the agent is told; Enter with nothing denies without a reason)",
            placeholder="e.g. use git clean instead", button="Deny"), answered)

    def _send(self, question: Question, kind: str, scope: str, reason: str = "") -> None:
        screen = self.screen
        try:
            screen.live.answer(question.id, kind, scope, reason)  # the agent has it now
        except CommandError as exc:
            screen.notify(str(exc), title="Cannot answer", severity="warning", markup=False)
            return

        async def shown() -> None:
            await screen.live.recorded()
            await screen.reload_interventions()

        screen.run_worker(shown(), group="answers")
