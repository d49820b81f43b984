"""The live state of one task of a run (:class:`TaskRun`), as the engine keeps and updates it."""
from __future__ import annotations

import asyncio
import time

from engine.agents.base import Agent
from engine.events import BudgetReached, TaskResult
from engine.usage import Usage
from engine.plan import TaskSpec
from engine.states import TaskState
from engine.worktrees import Worktree

S = TaskState
NO_USAGE = Usage()  # shared "nothing reported yet"; never mutated


class TaskRun:
    """The live state of one task of the run (slotted: a plan may have tens of thousands)."""

    __slots__ = (
        "spec", "id", "state", "attempts", "auto_retries_used", "waiting_deps", "dependents", "worktree",
        "agent", "stop_reason", "reason", "started_at", "finished_at", "run_seconds", "_resumed_at",
        "_attempt_carry", "retry_handle", "retry_pending", "usage_done", "usage_now", "last_result",
        "budget_base", "budget_hit", "cost_noted", "tokens_noted", "profile", "route_problem", "in_flight", "counted",
        "held", "trial", "feedback", "message", "follow_up", "reviews", "memory", "waiting", "agent_session",
    )

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec
        self.id = spec.id
        self.state: TaskState = S.PENDING
        self.attempts = 0
        self.auto_retries_used = 0
        self.waiting_deps = 0  # dependencies that have not succeeded yet
        self.dependents: list[TaskRun] | tuple[()] = ()  # a list once a task depends on this one
        self.worktree: Worktree | None = None
        self.agent: Agent | None = None
        self.stop_reason: str | None = None  # "cancel" | "timeout" | "budget" while an attempt is being stopped
        self.reason = ""
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.run_seconds = 0.0  # running time of finished attempts
        self._resumed_at: float | None = None  # monotonic time the current running stretch began
        self._attempt_carry = 0.0  # running time of the current attempt before its last pause
        self.retry_handle: asyncio.TimerHandle | None = None
        self.retry_pending = False  # an automatic retry is scheduled or waiting for a slot
        self.usage_done: Usage = NO_USAGE  # totals of finished attempts (replaced, never mutated)
        self.usage_now: Usage = NO_USAGE  # the current attempt's so far
        self.last_result: TaskResult | None = None
        self.budget_base: tuple[int, float] = (0, 0.0)  # (tokens, USD) spent before the developer's last retry
        self.budget_hit: BudgetReached | None = None  # why the current attempt is being stopped
        self.cost_noted = False  # "cost unknown: the USD budget cannot be judged" was said
        self.tokens_noted = False  # "tokens unknown: the token budget cannot be enforced" was said
        # the profile that runs it (None: a routed task not yet routed)
        self.profile: str | None = None if spec.agents else spec.agent
        self.route_problem = ""  # why a routed task could not be given a profile
        self.in_flight = False  # an attempt (or its start) is under way
        self.counted: str | None = None  # the profile whose running count this attempt holds
        self.held = ""  # why it waits (said once per reason)
        self.trial = False  # its attempt is the trial of a half-open breaker
        self.feedback: str | None = None  # the failed check's output, for the next attempt's prompt
        self.message: str | None = None  # the developer's message given with a retry, for its attempts
        self.follow_up: str | None = None  # the prompt of the next attempt: a follow-up after the task ended
        self.reviews: str | None = None  # the dependencies' diffs of a reviewer, made at its first start
        # what the task's agents keep from one attempt to the next (a Claude session to resume), made at
        # the first start
        self.memory: dict[str, object] | None = None
        self.waiting = False  # its agent waits for the developer's answer to a question
        # its agent's own session, newest (engine.events.AgentSession): (id, the command that continues it)
        self.agent_session: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"TaskRun({self.id!r}, {self.state.value}, attempts={self.attempts})"

    # ------------------------------------------------------------------ the clock
    def start_clock(self, new_attempt: bool) -> None:
        """A running stretch begins: a new attempt's (its time counts from zero) or a paused one's."""
        if new_attempt:
            self._attempt_carry = 0.0
        self._resumed_at = time.monotonic()

    def resume_clock(self) -> None:
        """The clock runs again if it was stopped (the check's time is the task's time too)."""
        if self._resumed_at is None:
            self._resumed_at = time.monotonic()

    def stop_clock(self) -> None:
        if self._resumed_at is not None:
            spent = time.monotonic() - self._resumed_at
            self.run_seconds += spent
            self._attempt_carry += spent
            self._resumed_at = None

    def attempt_seconds(self) -> float:
        """Seconds the current attempt has spent running (what its timeout counts)."""
        if self._resumed_at is None:
            return self._attempt_carry
        return self._attempt_carry + time.monotonic() - self._resumed_at

    def elapsed(self) -> float:
        """Seconds spent running (pauses do not count)."""
        if self._resumed_at is None:
            return self.run_seconds
        return self.run_seconds + time.monotonic() - self._resumed_at

    def usage(self) -> Usage:
        a, b = self.usage_done, self.usage_now
        if b is NO_USAGE:
            return a
        cost = None if a.cost_usd is None and b.cost_usd is None else (a.cost_usd or 0.0) + (b.cost_usd or 0.0)
        return Usage(
            a.tokens_in + b.tokens_in, a.tokens_out + b.tokens_out,
            a.cache_write + b.cache_write, a.cache_read + b.cache_read, cost,
            a.tokens_known and b.tokens_known, a.approximate or b.approximate, b.context or a.context,
        )
