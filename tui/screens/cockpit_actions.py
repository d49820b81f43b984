"""The cockpit's commands: every intervention, the review and log views, help, and the end.

Each intervention goes through the :class:`~sessions.live_session.LiveSession`, which records it; a
command the engine refuses (:class:`CommandError`) becomes a notification. Mixed into
:class:`~tui.screens.cockpit.CockpitScreen`, whose state (the session, the focused task, the panels)
these methods use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from engine.errors import CommandError
from engine.states import TaskState
from tui.bindings import APP_BINDINGS, COCKPIT_BINDINGS
from engine.formatting import plural, state_word

if TYPE_CHECKING:
    from tui.screens.cockpit import CockpitScreen

    _Base = CockpitScreen
else:
    _Base = object

S = TaskState


def _command_line(argv: tuple[str, ...]) -> str:
    """A check's argv as the user wrote it (``bash -c LINE`` shows as LINE)."""
    import shlex

    if len(argv) == 3 and argv[:2] == ("bash", "-c"):
        return argv[2]
    return shlex.join(argv)


class CockpitActions(_Base):
    """The key actions of :class:`~tui.screens.cockpit.CockpitScreen` (a mixin of it)."""

    # -------------------------------------------------------- interventions
    def _command(self, what: str, call: Callable[[], Awaitable[None]], done: str = "") -> None:
        """Run a LiveSession command in a worker; a refusal of the engine becomes a notification."""

        async def run() -> None:
            try:
                await call()
            except CommandError as exc:
                self.notify(str(exc), title=f"Cannot {what}", severity="warning", markup=False)
                return
            if done:
                self.notify(done, timeout=3, markup=False)
            self._status_changed = True
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
        task_id = self._task_or_notice()
        if task_id is not None:
            self._command("cancel", lambda: self.live.cancel(task_id))

    def action_cancel_all(self) -> None:
        from tui.screens.dialogs import ConfirmDialog

        left = self._unfinished()

        def answered(yes: bool | None) -> None:
            if yes:
                self._command("cancel", lambda: self.live.cancel(None))

        self.app.push_screen(ConfirmDialog(
            "Cancel every task that has not ended?", f"{plural(left, 'task')} not ended.",
            yes="Cancel all"), answered)

    def action_retry_task(self) -> None:
        task_id = self._task_or_notice()
        if task_id is not None:
            self._command("retry", lambda: self.live.retry(task_id))

    def action_send_message(self) -> None:
        from tui.screens.dialogs import SendMessageDialog

        task_id = self._task_or_notice()
        if task_id is None:
            return

        def answered(text: str | None) -> None:
            if text:
                self._command("send the message", lambda: self.live.send(task_id, text),
                              f"Message sent to {task_id}")

        self.app.push_screen(SendMessageDialog(task_id), answered)

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

        self.app.push_screen(ReviewScreen(self.live, task_id))

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
        run = self.engine.tasks[task_id]
        sent = self.prompts.get(task_id)
        routed = self.routes.get(task_id)
        check = self.checks.get(task_id)
        facts = [
            ("Title", run.spec.title),
            ("Agent", routed.profile if routed else run.spec.agent),
            ("Routing", f"{routed.strategy}: {routed.reason}" if routed else ""),
            ("Role", getattr(run.spec, "role", None) or ""),
            ("Check", _command_line(run.spec.check)),
            ("Last check", check.result.describe() if check else ""),
            ("Depends on", ", ".join(run.spec.depends_on)),
            ("Prompt", f"as sent to attempt {sent.attempt}" if sent else "as written in the plan"),
        ]
        self.app.push_screen(TaskInfoScreen(task_id, [f for f in facts if f[1]],
                                            sent.prompt if sent else run.spec.prompt))

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.live.store, self.live.row.repo))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, help_rows

        active = {ab.binding.id: ab.binding for ab in self.active_bindings.values() if ab.binding.id}
        rows = help_rows(COCKPIT_BINDINGS + APP_BINDINGS, active, self.app.get_key_display)
        self.app.push_screen(HelpScreen(rows))

    # ------------------------------------------------------------ the end
    _end_offered = False

    def offer_end(self) -> None:
        """Once every task has ended (none waits for a retry), say once that the session can end."""
        done = bool(self.states) and self.settled_count() == len(self.states)
        if not done:
            self._end_offered = False
            return
        if self._end_offered or self.ending:
            return
        self._end_offered = True
        key = next((self.app.get_key_display(ab.binding) for ab in self.active_bindings.values()
                    if ab.binding.id == "cockpit.end_session"), "e")
        self.notify(f"All tasks ended: end the session? ({key})", title="Plan finished", timeout=20,
                    markup=False)

    def _unfinished(self) -> int:
        return sum(1 for run in self.engine.tasks.values() if not run.state.terminal)

    def _unreviewed(self) -> list[str]:
        """The ended tasks whose work (files changed on their branch) was neither accepted nor discarded."""
        return [task_id for task_id, run in self.engine.tasks.items()
                if run.state.terminal and run.last_result is not None and run.last_result.files
                and not self.panes[task_id].decision]

    def _confirm_end(self, question: str) -> None:
        from tui.screens.dialogs import ConfirmDialog

        left = self._unfinished()
        detail = (f"{plural(left, 'task')} still running will be cancelled."
                  if left else "Every task has ended.")
        unreviewed = self._unreviewed()
        if unreviewed:
            detail += (f" Not reviewed yet: {', '.join(unreviewed)} (v reviews a task; work left unreviewed "
                       "stays on its branch, undecided).")

        def answered(yes: bool | None) -> None:
            if yes:
                self.end_session()

        self.app.push_screen(ConfirmDialog(question, detail, yes="End session"), answered)

    def action_end_session(self) -> None:
        self._confirm_end(f"End session {self.live.row.label}?")

    def action_quit_cockpit(self) -> None:
        self._confirm_end(f"End session {self.live.row.label} and quit?")

    def end_session(self) -> None:
        """Stop what still runs, close the session in the store, then hand over to the app."""
        if self.ending:
            return
        self.ending = True

        async def run() -> None:
            self.notify("Ending the session…", timeout=3, markup=False)
            row = await self.live.end()
            self.flush_panes()
            hook = getattr(self.app, "on_session_ended", None)
            if hook is not None:
                hook(row)
            else:
                self.app.exit()

        self.run_worker(run(), group="end-session")
