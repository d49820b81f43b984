"""Budgets: the spending limits of each task and of the whole run, and the verdict when one is reached.

Budgets are judged on every usage report (:meth:`Budgets.record`), in tokens (input, output, cache
write and cache read together: :attr:`Usage.total <engine.usage.Usage.total>`) and/or USD. A task's
limit is its plan's ``budget_usd`` / ``budget_tokens``, else its profile's; it counts from the task's
first start or the developer's last retry (automatic retries count against the same budget). Reached,
the agent is stopped (its whole process group for a program) and the task ends ``budget_exceeded``:
never retried automatically, dependents skipped. A USD limit cannot be judged while the cost is
unknown, nor a token limit while the agent reports no billed tokens (an ACP agent that tells only how
full its context is): one engine line says so and the task goes on. The run's limit (the plan's, or the engine's
``budget_usd`` / ``budget_tokens``) counts every task; reached, no new task starts (running ones
finish), every waiting task is skipped ("session budget reached") and a :class:`BudgetReached` event
says so.

:class:`Budgets` keeps the totals and gives the verdicts; the engine acts on them (it stops the agent,
skips the waiting tasks).
"""
from __future__ import annotations

from typing import Callable

from engine.events import BudgetReached, EventBus, UsageUpdate
from engine.formatting import usd
from engine.plan import TaskSpec
from engine.profiles import AgentProfile
from engine.task_run import TaskRun
from engine.usage import Usage, usage_problem

Emit = Callable[[TaskRun, str, list[str]], None]


class Budgets:
    """The run's spending (every task and attempt) and the limits it is judged against."""

    def __init__(self, bus: EventBus, profiles: dict[str, AgentProfile], budget_usd: float | None,
                 budget_tokens: int | None, emit: Emit) -> None:
        self.bus = bus
        self.profiles = profiles
        self.budget_usd = budget_usd
        self.budget_tokens = budget_tokens
        self.spent_tokens = 0
        self.spent_usd = 0.0  # of the costs that are known
        self.session_hit: BudgetReached | None = None  # set once the run's budget is reached
        self._limited = budget_usd is not None or budget_tokens is not None
        self._session_cost_noted = False
        self._emit = emit

    def record(self, run: TaskRun, usage: Usage) -> tuple[Usage, BudgetReached | None]:
        """The attempt of ``run`` reports its cumulative ``usage``: published and added to the run's totals.
        Returns the task's usage over its attempts, and the task's limit when this report reached it.
        A report no agent could truly make (:func:`~engine.usage.usage_problem`) is ignored with a line:
        an agent's numbers are untrusted, and a negative count would pass the budgets."""
        problem = usage_problem(usage)
        if problem is not None:
            self._emit(run, "engine", [f"a usage report of the agent was ignored: {problem}"])
            return run.usage(), None
        old, run.usage_now = run.usage_now, usage
        total = run.usage()
        self.bus.publish(UsageUpdate(run.id, total))
        # the attempt's figures are cumulative: the run's totals move by the difference
        self.spent_tokens += usage.total - old.total
        if usage.cost_usd is not None or old.cost_usd is not None:
            self.spent_usd += (usage.cost_usd or 0.0) - (old.cost_usd or 0.0)
        if run.stop_reason is None and run.agent is not None:
            return total, self._judge_task(run, total)
        return total, None

    @property
    def session_open(self) -> bool:
        """The run has a limit of its own that has not been reached yet."""
        return self.session_hit is None and self._limited

    def judge_session(self, run: TaskRun, total: Usage) -> BudgetReached | None:
        """The run's limit, when the report of ``run`` (its task's usage now ``total``) reached it."""
        if self.budget_tokens is not None and self.spent_tokens >= self.budget_tokens:
            hit = BudgetReached("session", run.id, "tokens", self.spent_tokens, self.budget_tokens)
        elif self.budget_usd is not None and self.spent_usd >= self.budget_usd:
            hit = BudgetReached("session", run.id, "usd", self.spent_usd, self.budget_usd)
        else:
            if (self.budget_usd is not None and total.cost_usd is None and not self._session_cost_noted
                    and total.total > 0):
                self._session_cost_noted = True
                self._emit(run, "engine", [f"cost unknown: the session's {usd(self.budget_usd, 2)} budget counts "
                                           "only the costs agents report"])
            return None
        self.session_hit = hit
        return hit

    def limits(self, spec: TaskSpec, profile_name: str | None) -> tuple[float | None, int | None]:
        """The task's (USD, tokens) limits: the plan's, else its profile's (a routed task has one only
        once it is routed)."""
        profile = self.profiles.get(profile_name)  # type: ignore[arg-type]
        if profile is None:
            return spec.budget_usd, spec.budget_tokens
        return (spec.budget_usd if spec.budget_usd is not None else profile.budget_usd,
                spec.budget_tokens if spec.budget_tokens is not None else profile.budget_tokens)

    @staticmethod
    def count_afresh(run: TaskRun) -> None:
        """The task's budget counts from what it has spent so far (the developer retries it)."""
        total = run.usage()
        run.budget_base = (total.total, total.cost_usd or 0.0)
        run.budget_hit, run.cost_noted = None, False

    def _judge_task(self, run: TaskRun, total: Usage) -> BudgetReached | None:
        max_usd, max_tokens = self.limits(run.spec, run.profile)
        if max_usd is None and max_tokens is None:
            return None
        base_tokens, base_usd = run.budget_base
        tokens = total.total - base_tokens
        if max_tokens is not None and total.tokens_known and tokens >= max_tokens:
            return BudgetReached("task", run.id, "tokens", tokens, max_tokens)
        if max_tokens is not None and not total.tokens_known and not run.tokens_noted:
            run.tokens_noted = True
            self._emit(run, "engine", [f"tokens unknown: the agent does not report the tokens it is billed, so the "
                                       f"task's {max_tokens:,}-token budget cannot be enforced (it is not stopped)"])
        if max_usd is not None:
            if total.cost_usd is not None:
                if total.cost_usd - base_usd >= max_usd:
                    return BudgetReached("task", run.id, "usd", total.cost_usd - base_usd, max_usd)
            elif not run.cost_noted and (tokens > 0 or not total.tokens_known):
                run.cost_noted = True
                self._emit(run, "engine", [f"cost unknown so far: the task's {usd(max_usd, 2)} budget cannot be "
                                           "judged until the agent reports a cost (it is not stopped)"])
        return None
