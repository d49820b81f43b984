"""Task states and the transitions allowed between them.

An invalid transition is a bug in the engine, so it raises instead of being ignored.
"""
from __future__ import annotations

from enum import Enum


class TaskState(str, Enum):
    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    BUDGET_EXCEEDED = "budget_exceeded"  # stopped by the engine on reaching its spending limit

    def __str__(self) -> str:  # so f-strings show "running", not "TaskState.RUNNING"
        return self.value

    # Enum hashes by name in Python code; the engine looks states up in sets and dicts on every
    # transition, so hash as the str it is (consistent with ==, which compares as str): C speed.
    __hash__ = str.__hash__

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {TaskState.SUCCEEDED, TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELLED, TaskState.SKIPPED,
     TaskState.BUDGET_EXCEEDED}
)

_S = TaskState
TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    _S.PENDING: frozenset({_S.READY, _S.SKIPPED, _S.CANCELLED}),
    # ready -> failed: the task could not start (agent program missing, merge conflict of its dependencies).
    # ready -> skipped: the session budget was reached before it started.
    _S.READY: frozenset({_S.RUNNING, _S.FAILED, _S.CANCELLED, _S.SKIPPED}),
    _S.RUNNING: frozenset({_S.PAUSED, _S.SUCCEEDED, _S.FAILED, _S.TIMED_OUT, _S.CANCELLED, _S.BUDGET_EXCEEDED}),
    _S.PAUSED: frozenset({_S.RUNNING, _S.FAILED, _S.TIMED_OUT, _S.CANCELLED, _S.BUDGET_EXCEEDED}),
    # a follow-up message after it ended continues its agent's conversation in a new attempt (the developer's
    # act only: engine.scheduler.Engine.send)
    _S.SUCCEEDED: frozenset({_S.READY}),
    # automatic retry goes straight back to running; a retry asked for by the developer goes to ready.
    _S.FAILED: frozenset({_S.RUNNING, _S.READY}),
    _S.TIMED_OUT: frozenset({_S.RUNNING, _S.READY}),
    _S.CANCELLED: frozenset({_S.READY}),
    # never retried automatically (it would spend again); the developer may retry it.
    _S.BUDGET_EXCEEDED: frozenset({_S.READY}),
    # a skipped task comes back when the dependency that failed is retried.
    _S.SKIPPED: frozenset({_S.PENDING}),
}


class InvalidTransition(RuntimeError):
    def __init__(self, task_id: str, old: TaskState, new: TaskState) -> None:
        super().__init__(f"task {task_id!r}: invalid state transition {old} -> {new}")
        self.task_id, self.old, self.new = task_id, old, new
