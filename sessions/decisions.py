"""Accepting or discarding the work of a live session's tasks: the checks that need the run, the git
work in a thread, and the decision recorded on the task.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from engine.errors import CommandError
from engine.events import TaskResult
from engine.scheduler import Engine
from engine.states import TaskState
from engine.task_run import TaskRun
from sessions.git.merge import AcceptResult, accept, discard
from sessions.store.rows import SessionRow
from sessions.store.store import Store


class TaskDecisions:
    """The accept and discard of one live session; a task is decided once, by one caller at a time."""

    def __init__(self, store: Store, engine: Engine, repo: Path, row: Callable[[], SessionRow]) -> None:
        self.store = store
        self.engine = engine
        self.repo = repo
        self._row = row
        self._busy: set[str] = set()

    def _reviewable(self, task_id: str) -> tuple[TaskRun, TaskResult]:
        """The task's last result, or CommandError saying why it cannot be decided now."""
        try:
            run = self.engine.tasks[task_id]
        except KeyError:
            raise CommandError(f"no task {task_id!r} in this run") from None
        if run.retry_pending:
            raise CommandError(f"task {task_id!r} is waiting for an automatic retry: review it once it has ended")
        if not run.state.terminal:
            raise CommandError(f"task {task_id!r} is {run.state}: only a task that has ended can be reviewed")
        result = run.last_result
        if result is None or not result.branch:
            raise CommandError(f"task {task_id!r} left no branch to review")
        return run, result

    async def _check_undecided(self, task_id: str) -> None:
        rows = [t for t in await self.store.tasks(self._row().id) if t.key == task_id]
        if rows and rows[-1].decision:
            raise CommandError(f"task {task_id!r} was already {rows[-1].decision}")

    def _deciding(self, task_id: str) -> "_Deciding":
        return _Deciding(self._busy, task_id)

    def merge_message(self, task_id: str) -> str:
        run = self.engine.tasks[task_id]
        branch = run.last_result.branch if run.last_result else ""
        title = run.spec.title or task_id
        return (f"Accept task {task_id}: {title}\n\n"
                f"Session Cockpit session {self._row().label}, run {self.engine.run_id}, branch {branch}.")

    async def accept(self, task_id: str) -> AcceptResult:
        """Merge the task's branch into the checkout's branch and record the decision ``accepted``."""
        _, result = self._reviewable(task_id)
        with self._deciding(task_id):
            await self._check_undecided(task_id)
            outcome = await asyncio.to_thread(
                accept, self.repo, result.branch, result.worktree, self.merge_message(task_id)
            )
            await self.store.set_decision(self._row().id, task_id, "accepted", "")
        return outcome

    async def discard(self, task_id: str, reason: str = "") -> None:
        """Delete the task's worktree and branch and record the decision ``discarded`` (with the reason)."""
        run, result = self._reviewable(task_id)
        waiting = [child.id for child in run.dependents if child.state in (TaskState.PENDING, TaskState.READY)]
        if waiting:
            raise CommandError(
                f"task {', '.join(repr(w) for w in waiting)} will start from the work of {task_id!r}; "
                "discard it once they have started or been cancelled"
            )
        with self._deciding(task_id):
            await self._check_undecided(task_id)
            await asyncio.to_thread(discard, self.repo, result.branch, result.worktree)
            await self.store.set_decision(self._row().id, task_id, "discarded", reason.strip())


class _Deciding:
    def __init__(self, busy: set[str], task_id: str) -> None:
        self.busy = busy
        self.task_id = task_id

    def __enter__(self) -> None:
        if self.task_id in self.busy:
            raise CommandError(f"task {self.task_id!r} is being accepted or discarded already")
        self.busy.add(self.task_id)

    def __exit__(self, *exc: object) -> None:
        self.busy.discard(self.task_id)
