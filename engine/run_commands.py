"""The developer's commands to a running plan: pause, resume, cancel, retry, send.

Human commands are plain methods of the engine (:class:`RunCommands`, mixed into
:class:`~engine.scheduler.Engine`, whose state they use); an impossible command raises
:class:`CommandError` with a sentence for the user.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Callable

from engine.agents.base import CannotTakeMessage
from engine.budget_rules import usage_tokens
from engine.events import BudgetReached
from engine.states import TaskState
from engine.task_run import TaskRun

S = TaskState


class CommandError(Exception):
    """A command that cannot be carried out now; the text is for the user."""


class RunCommands:
    """The commands of :class:`~engine.scheduler.Engine` (a mixin of it)."""

    # the attributes and methods of the Engine that these use (it sets and defines them)
    tasks: dict[str, TaskRun]
    stop_grace: float
    session_budget_hit: BudgetReached | None
    _run_paused: bool
    _finished: bool
    _unsettled: int
    _retry_due: deque[TaskRun]
    _background: set[asyncio.Task[None]]
    _set: Callable[[TaskRun, TaskState, str], None]
    _settle: Callable[[TaskRun], None]
    _make_ready: Callable[[TaskRun], None]
    _kick: Callable[[], None]
    _emit: Callable[[TaskRun, str, list[str]], None]

    def _get(self, task_id: str) -> TaskRun:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise CommandError(f"no task {task_id!r} in this run") from None

    def pause(self, task_id: str | None = None) -> None:
        """Pause one running task (its process group is stopped), or the whole run (no new starts)."""
        if task_id is None:
            self._run_paused = True
            return
        run = self._get(task_id)
        if run.state is not S.RUNNING or run.agent is None:
            raise CommandError(f"task {task_id!r} is {run.state}, not running: nothing to pause")
        run.agent.pause()
        self._set(run, S.PAUSED, "paused")

    def resume(self, task_id: str | None = None) -> None:
        if task_id is None:
            self._run_paused = False
            self._kick()
            return
        run = self._get(task_id)
        if run.state is not S.PAUSED or run.agent is None:
            raise CommandError(f"task {task_id!r} is {run.state}, not paused")
        run.agent.resume()
        self._set(run, S.RUNNING, "resumed")

    @property
    def run_paused(self) -> bool:
        return self._run_paused

    def cancel(self, task_id: str | None = None) -> None:
        """Cancel one task, or every task that has not finished."""
        if task_id is None:
            self._cancel_everything("cancelled")
            return
        run = self._get(task_id)
        if run.state.terminal and not run.retry_pending:
            raise CommandError(f"task {task_id!r} has already ended ({run.state})")
        self._cancel(run, "cancelled")

    def _cancel_everything(self, reason: str) -> None:
        self._run_paused = True  # nothing new starts while we stop the rest
        for run in self.tasks.values():
            if not run.state.terminal or run.retry_pending:
                self._cancel(run, reason)

    def _cancel(self, run: TaskRun, reason: str) -> None:
        if run.retry_pending:  # waiting for an automatic retry: it stays as it ended
            self._drop_retry(run)
            self._emit(run, "engine", ["automatic retry cancelled"])
            self._settle(run)
        elif run.state in (S.PENDING, S.READY):
            self._set(run, S.CANCELLED, reason)
            self._settle(run)
        elif run.state in (S.RUNNING, S.PAUSED) and run.stop_reason is None:
            run.stop_reason = "cancel"
            self._stop_agent(run)
        self._kick()

    def _stop_agent(self, run: TaskRun) -> None:
        """Stop the task's agent in the background (TERM, grace, KILL of its process group)."""
        if run.agent is not None:
            stopper = asyncio.get_running_loop().create_task(run.agent.stop(self.stop_grace))
            self._background.add(stopper)
            stopper.add_done_callback(self._background.discard)

    def _drop_retry(self, run: TaskRun) -> None:
        if run.retry_handle is not None:
            run.retry_handle.cancel()
            run.retry_handle = None
        if run in self._retry_due:
            self._retry_due.remove(run)
        run.retry_pending = False

    def retry(self, task_id: str) -> None:
        """Run a task that failed, timed out, was cancelled or went over its budget again; its skipped
        dependents come back. The task's budget counts afresh from here."""
        run = self._get(task_id)
        if self._finished:
            raise CommandError("the run has ended; start a new run to try again")
        if self.session_budget_hit is not None:
            raise CommandError(f"the {self.session_budget_hit.describe()}: no new task starts in this run")
        if run.retry_pending:  # already on its way back: start it now
            if run.retry_handle is not None:
                self._drop_retry(run)
                run.retry_pending = True
                self._retry_due.append(run)
            self._kick()
            return
        if run.state not in (S.FAILED, S.TIMED_OUT, S.CANCELLED, S.BUDGET_EXCEEDED):
            raise CommandError(f"task {task_id!r} is {run.state}: only a failed, timed-out or cancelled task "
                               "(or one over its budget) can be retried")
        self._unsettled += 1
        run.auto_retries_used = 0
        if run.spec.agents:  # routed again as it starts
            run.profile = None
        total = run.usage()
        run.budget_base = (usage_tokens(total), total.cost_usd or 0.0)
        run.budget_hit, run.cost_noted = None, False
        self._make_ready(run)
        self._revive_dependents(run)
        if self._run_paused and not any(
            r.state in (S.RUNNING, S.PAUSED) for r in self.tasks.values()
        ):
            self._run_paused = False  # a retry after "cancel all" means: go on
        self._kick()

    def _revive_dependents(self, run: TaskRun) -> None:
        stack = list(run.dependents)
        while stack:
            child = stack.pop()
            # a dependent comes back only if none of its other dependencies has failed for good
            if child.state is S.SKIPPED and all(
                self._may_succeed(self.tasks[dep]) for dep in child.spec.depends_on
            ):
                self._set(child, S.PENDING, f"dependency {run.id!r} is being retried")
                self._unsettled += 1
                child.waiting_deps = sum(
                    1 for dep in child.spec.depends_on if self.tasks[dep].state is not S.SUCCEEDED
                )
                stack.extend(child.dependents)

    @staticmethod
    def _may_succeed(run: TaskRun) -> bool:
        """Succeeded, still to run or running, or waiting for an automatic retry."""
        return run.state is S.SUCCEEDED or not run.state.terminal or run.retry_pending

    async def send(self, task_id: str, text: str) -> None:
        """Give a running agent a follow-up message."""
        run = self._get(task_id)
        if run.state not in (S.RUNNING, S.PAUSED) or run.agent is None:
            raise CommandError(f"task {task_id!r} is {run.state}: a message goes to a running agent")
        try:
            await run.agent.send(text)
        except CannotTakeMessage as exc:
            raise CommandError(str(exc)) from None
        self._emit(run, "engine", [f"message sent: {text}"])
