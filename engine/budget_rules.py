"""Budgets: the spending limits of each task and of the whole run, and what happens when one is reached.

Budgets are judged on every usage report (:meth:`BudgetRules._usage`), in tokens (input, output, cache
write and cache read together) and/or USD. A task's limit is its plan's ``budget_usd`` /
``budget_tokens``, else its profile's; it counts from the task's first start or the developer's last
retry (automatic retries count against the same budget). Reached, the agent is stopped (its whole
process group for a program) and the task ends ``budget_exceeded``: never retried automatically,
dependents skipped. A USD limit cannot be judged while the cost is unknown: one engine line says so
and the task goes on. The run's limit (the plan's, or the engine's ``budget_usd`` / ``budget_tokens``)
counts every task; reached, no new task starts (running ones finish), every waiting task is skipped
("session budget reached") and a :class:`BudgetReached` event says so.

:class:`BudgetRules` is mixed into :class:`~engine.scheduler.Engine`, whose state these methods use.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

from engine.events import BudgetReached, EventBus, UsageUpdate
from engine.output_formats import Usage
from engine.plan import TaskSpec
from engine.profiles import AgentProfile
from engine.states import TaskState
from engine.task_run import TaskRun

S = TaskState


def usage_tokens(usage: Usage) -> int:
    """The tokens a budget counts: input, output, cache write and cache read, as reported."""
    return usage.tokens_in + usage.tokens_out + usage.cache_write + usage.cache_read


class BudgetRules:
    """The budgets of :class:`~engine.scheduler.Engine` (a mixin of it): judged as usage comes in."""

    # the attributes and methods of the Engine that these use (it sets and defines them)
    bus: EventBus
    tasks: dict[str, TaskRun]
    budget_usd: float | None
    budget_tokens: int | None
    spent_tokens: int
    spent_usd: float
    session_budget_hit: BudgetReached | None
    _session_cost_noted: bool
    _profiles: dict[str, AgentProfile]
    _ready: deque[TaskRun]
    _unsettled: int
    _get: Callable[[str], TaskRun]
    _set: Callable[[TaskRun, TaskState, str], None]
    _settle: Callable[[TaskRun], None]
    _kick: Callable[[], None]
    _emit: Callable[[TaskRun, str, list[str]], None]
    _stop_agent: Callable[[TaskRun], None]
    _drop_retry: Callable[[TaskRun], None]

    def _usage(self, run: TaskRun, usage: Usage) -> None:
        old, run.usage_now = run.usage_now, usage
        total = run.usage()
        self.bus.publish(UsageUpdate(run.id, total.tokens_in, total.tokens_out, total.cache_write,
                                     total.cache_read, total.cost_usd))
        # the attempt's figures are cumulative: the run's totals move by the difference
        self.spent_tokens += usage_tokens(usage) - usage_tokens(old)
        if usage.cost_usd is not None or old.cost_usd is not None:
            self.spent_usd += (usage.cost_usd or 0.0) - (old.cost_usd or 0.0)
        if run.stop_reason is None and run.agent is not None:
            self._judge_task_budget(run, total)
        if self.session_budget_hit is None and (self.budget_tokens is not None or self.budget_usd is not None):
            self._judge_session_budget(run, total)

    def _limits(self, spec: TaskSpec, profile_name: str | None) -> tuple[float | None, int | None]:
        """The task's (USD, tokens) limits: the plan's, else its profile's (a routed task has one only
        once it is routed)."""
        profile = self._profiles.get(profile_name)  # type: ignore[arg-type]
        if profile is None:
            return spec.budget_usd, spec.budget_tokens
        return (spec.budget_usd if spec.budget_usd is not None else profile.budget_usd,
                spec.budget_tokens if spec.budget_tokens is not None else profile.budget_tokens)

    def task_budget(self, task_id: str) -> tuple[float | None, int | None]:
        """The (USD, tokens) limits of a task, None where it has none."""
        run = self._get(task_id)
        return self._limits(run.spec, run.profile)

    def _judge_task_budget(self, run: TaskRun, total: Usage) -> None:
        max_usd, max_tokens = self._limits(run.spec, run.profile)
        if max_usd is None and max_tokens is None:
            return
        base_tokens, base_usd = run.budget_base
        tokens = usage_tokens(total) - base_tokens
        if max_tokens is not None and tokens >= max_tokens:
            self._stop_over_budget(run, BudgetReached("task", run.id, "tokens", tokens, max_tokens))
        elif max_usd is not None:
            if total.cost_usd is not None:
                if total.cost_usd - base_usd >= max_usd:
                    self._stop_over_budget(
                        run, BudgetReached("task", run.id, "usd", total.cost_usd - base_usd, max_usd))
            elif not run.cost_noted and tokens > 0:
                run.cost_noted = True
                self._emit(run, "engine", [f"cost unknown so far: the task's ${max_usd:.2f} budget cannot be "
                                           "judged until the agent reports a cost (it is not stopped)"])

    def _stop_over_budget(self, run: TaskRun, hit: BudgetReached) -> None:
        run.stop_reason = "budget"
        run.budget_hit = hit
        self._emit(run, "engine", [f"{hit.describe()}: stopping the agent"])
        self.bus.publish(hit)
        self._stop_agent(run)

    def _judge_session_budget(self, run: TaskRun, total: Usage) -> None:
        if self.budget_tokens is not None and self.spent_tokens >= self.budget_tokens:
            hit = BudgetReached("session", run.id, "tokens", self.spent_tokens, self.budget_tokens)
        elif self.budget_usd is not None and self.spent_usd >= self.budget_usd:
            hit = BudgetReached("session", run.id, "usd", self.spent_usd, self.budget_usd)
        else:
            if (self.budget_usd is not None and total.cost_usd is None and not self._session_cost_noted
                    and usage_tokens(total) > 0):
                self._session_cost_noted = True
                self._emit(run, "engine", [f"cost unknown: the session's ${self.budget_usd:.2f} budget counts "
                                           "only the costs agents report"])
            return
        self.session_budget_hit = hit
        self.bus.publish(hit)
        for other in self.tasks.values():  # nothing new starts; the running tasks finish
            if other.state is S.PENDING or other.state is S.READY:
                self._set(other, S.SKIPPED, "session budget reached")
                self._unsettled -= 1
        self._ready.clear()
        for other in [r for r in self.tasks.values() if r.retry_pending]:
            self._drop_retry(other)
            self._emit(other, "engine", ["automatic retry dropped: session budget reached"])
            self._settle(other)
        self._kick()
