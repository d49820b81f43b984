"""The engine: runs a plan's tasks in parallel, in dependency order, and publishes what happens.

One scheduling loop starts ready tasks while there are free slots; each attempt runs as its own
asyncio task and, when it ends, settles the task and releases its dependents. Bookkeeping is
O(1) per task and per dependency edge, so the cost of a task does not grow with the plan.

Human commands (pause, resume, cancel, retry, send) are plain methods; an impossible command
raises :class:`CommandError` with a sentence for the user.

Budgets are judged on every usage report (:meth:`Engine._usage`), in tokens (input, output, cache
write and cache read together) and/or USD. A task's limit is its plan's ``budget_usd`` /
``budget_tokens``, else its profile's; it counts from the task's first start or the developer's last
retry (automatic retries count against the same budget). Reached, the agent is stopped (its whole
process group for a program) and the task ends ``budget_exceeded``: never retried automatically,
dependents skipped. A USD limit cannot be judged while the cost is unknown: one engine line says so
and the task goes on. The run's limit (the plan's, or the engine's ``budget_usd`` / ``budget_tokens``)
counts every task; reached, no new task starts (running ones finish), every waiting task is skipped
("session budget reached") and a :class:`BudgetReached` event says so.

Admission. When the plan has a task that lets the engine choose its profile, a profile with its own
``max_parallel``, or a circuit breaker has been tripped, each task passes :meth:`Engine._admit` before it
starts: it is routed (:mod:`engine.routing`; a ``TaskRouted`` event and a pane line), and it waits
(*held*, in a queue of its profile) while its profile runs its own ``max_parallel`` tasks or its breaker
is open (:mod:`engine.breakers`). A held task goes back to the front of the queue when a slot of its
profile frees or its breaker closes; a routed task whose profile's breaker opens is routed again.
Without any of these the start path is the plain one. Every step stays O(1) per task.

After the agent of an attempt succeeds, the task's check runs (:mod:`engine.checks`): the task succeeds
only if it passes; if it fails and the task has retries left, the next attempt gets its output in its
prompt. The prompt an attempt gets is the task's prompt with its role's instructions, the diffs of its
dependencies (for a reviewer) and that feedback (:mod:`engine.roles`); when it is not the prompt as
written, a ``PromptSent`` event carries it just before the attempt's change to ``running``.
"""
from __future__ import annotations

import asyncio
from functools import partial
import os
import random
import secrets
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Callable

from engine.agents.base import FAILURE_KINDS, Agent, AgentContext, AgentExit, CannotTakeMessage
from engine.agents.command import CommandAgent
from engine.breakers import CLOSED, DEFAULT_COOLDOWN, DEFAULT_THRESHOLD, HALF_OPEN, OPEN, Breaker
from engine.checks import DEFAULT_CHECK_TIMEOUT, CheckResult, CheckRunner, feedback_text
from engine.durations import format_duration
from engine.events import (
    BreakerChanged, BudgetReached, CheckFinished, EventBus, LogLines, PromptSent, RunFinished, RunStarted,
    TaskInfo, TaskOptions, TaskResult, TaskRouted, TaskStateChanged, UsageUpdate,
)
from engine.output_formats import Usage
from engine.plan import Plan, TaskSpec
from engine.prices import PriceTable
from engine.profiles import AgentProfile, ProfileSet
from engine.roles import BUILTIN_ROLES, DIFF_LIMIT, DependencyDiff, Role, compose_prompt, reviews_text
from engine.routing import AUTO, DEFAULT_MIN_TASKS, Router, TrackRecord
from engine.states import TERMINAL, TRANSITIONS, InvalidTransition, TaskState
from engine.worktrees import Worktree, WorktreeError, WorktreeManager, resolve_commit

S = TaskState
NO_USAGE = Usage()  # shared "nothing reported yet"; never mutated
# An attempt stopped by the engine ends in these states even if it was paused (no "resumed to finish").
_STOPPED_STATES = frozenset({S.CANCELLED, S.TIMED_OUT, S.BUDGET_EXCEEDED})
_EXTERNAL = frozenset(FAILURE_KINDS)
_SUCCESS = (S.SUCCEEDED, "exit 0")
_ATTEMPT = tuple(f"attempt {n}" for n in range(64))  # the reason of a change to running, made once
# An attempt that ended in these states (without an external failure) shows the profile works.
_RAN_STATES = frozenset({S.SUCCEEDED, S.FAILED, S.TIMED_OUT})
_RETRIED = frozenset({S.FAILED, S.TIMED_OUT})  # the states an automatic retry follows
AgentFactory = Callable[[TaskSpec, AgentProfile, AgentContext], Agent]


class CommandError(Exception):
    """A command that cannot be carried out now; the text is for the user."""


def usage_tokens(usage: Usage) -> int:
    """The tokens a budget counts: input, output, cache write and cache read, as reported."""
    return usage.tokens_in + usage.tokens_out + usage.cache_write + usage.cache_read


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def default_agent_factory(
    spec: TaskSpec, profile: AgentProfile, ctx: AgentContext, prices: PriceTable | None = None
) -> Agent:
    """A program agent, or for kind ``anthropic`` an API agent (``prices``: default the built-in
    table; pass ``functools.partial(default_agent_factory, prices=config.price_table())``)."""
    if profile.kind == "anthropic":
        from engine.agents.anthropic_agent import AnthropicAgent  # the SDK loads only when needed

        return AnthropicAgent(profile, ctx, prices=prices)
    return CommandAgent(profile, ctx)


class _UnmadeAgent:
    """Stands in for an agent whose factory raised: its run() raises that error."""

    accepts_messages = False

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def run(self) -> AgentExit:
        raise self.error

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def stop(self, grace: float) -> None: ...

    async def send(self, text: str) -> None:
        raise CannotTakeMessage("the agent could not be started")


class TaskRun:
    """The live state of one task of the run (slotted: a plan may have tens of thousands)."""

    __slots__ = (
        "spec", "id", "state", "attempts", "auto_retries_used", "waiting_deps", "dependents", "worktree",
        "agent", "stop_reason", "reason", "started_at", "finished_at", "run_seconds", "_resumed_at",
        "_attempt_carry", "retry_handle", "retry_pending", "usage_done", "usage_now", "last_result",
        "budget_base", "budget_hit", "cost_noted", "profile", "route_problem", "in_flight", "counted",
        "held", "trial", "feedback", "reviews",
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
        # the profile that runs it (None: a routed task not yet routed)
        self.profile: str | None = None if spec.agents else spec.agent
        self.route_problem = ""  # why a routed task could not be given a profile
        self.in_flight = False  # an attempt (or its start) is under way
        self.counted: str | None = None  # the profile whose running count this attempt holds
        self.held = ""  # why it waits (said once per reason)
        self.trial = False  # its attempt is the trial of a half-open breaker
        self.feedback: str | None = None  # the failed check's output, for the next attempt's prompt
        self.reviews: str | None = None  # the dependencies' diffs of a reviewer, made at its first start

    def __repr__(self) -> str:
        return f"TaskRun({self.id!r}, {self.state.value}, attempts={self.attempts})"

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
        )


class Engine:
    def __init__(
        self,
        plan: Plan,
        profiles: ProfileSet,
        repo: str | Path | None,
        *,
        run_id: str | None = None,
        max_parallel: int | None = None,
        worktree_root: Path | None = None,
        use_worktrees: bool = True,
        agent_factory: AgentFactory = default_agent_factory,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        stop_grace: float = 3.0,
        bus: EventBus | None = None,
        budget_usd: float | None = None,
        budget_tokens: int | None = None,
        roles: dict[str, Role] | None = None,
        track_record: TrackRecord | None = None,
        auto_profiles: tuple[str, ...] | list[str] | None = None,
        min_track_record: int = DEFAULT_MIN_TASKS,
        breaker_threshold: int = DEFAULT_THRESHOLD,
        breaker_cooldown: float = DEFAULT_COOLDOWN,
    ) -> None:
        """``budget_usd`` / ``budget_tokens``: the run's spending limits, over the plan's.

        ``roles``: the roles in force (default the built-in ones). ``track_record``: past results by
        profile and role, for ``routing = "best"`` (without it, best falls back to round-robin).
        ``auto_profiles``: the candidates of ``agent = "auto"`` (default every profile not of kind
        shell). ``min_track_record``: past tasks before a record counts. ``breaker_threshold`` /
        ``breaker_cooldown``: the circuit breakers' defaults (a profile may set its own).
        """
        self.plan = plan
        self.profiles = profiles
        self.repo = Path(repo) if repo is not None else None
        self.run_id = run_id or new_run_id()
        self.max_parallel = max_parallel or plan.max_parallel
        self.use_worktrees = use_worktrees and self.repo is not None
        self.worktree_root = worktree_root
        self.agent_factory = agent_factory
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stop_grace = stop_grace
        self.bus = bus or EventBus()
        self.budget_usd = budget_usd if budget_usd is not None else plan.budget_usd
        self.budget_tokens = budget_tokens if budget_tokens is not None else plan.budget_tokens
        self.spent_tokens = 0  # the run's spending so far, every task and attempt
        self.spent_usd = 0.0  # of the costs that are known
        self.session_budget_hit: BudgetReached | None = None  # set once the run's budget is reached
        self._session_cost_noted = False
        self.base_commit = ""
        self.tasks: dict[str, TaskRun] = {t.id: TaskRun(t) for t in plan.tasks}
        for run in self.tasks.values():
            deps = run.spec.depends_on
            if deps:
                run.waiting_deps = len(deps)
                for dep in deps:
                    parent = self.tasks[dep]
                    if parent.dependents:
                        parent.dependents.append(run)  # type: ignore[union-attr]
                    else:
                        parent.dependents = [run]
        self._ready: deque[TaskRun] = deque()
        self._retry_due: deque[TaskRun] = deque()
        self._running = 0
        self._unsettled = len(self.tasks)
        self._attempts: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._run_paused = False
        self._closing = False
        self._finished = False
        self._worktrees: WorktreeManager | None = None
        self._base_env: dict[str, str] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._crash: BaseException | None = None
        self._started = False
        self._workdir = ""
        self._profiles = dict(profiles.profiles)  # plain dict: looked up at every task start
        self._programs_found: set[str] = set()  # profiles whose program was found on the run's PATH
        self.roles = dict(BUILTIN_ROLES if roles is None else roles)
        self.router = Router(track_record, min_track_record)
        self.auto_profiles = tuple(auto_profiles) if auto_profiles is not None else tuple(
            name for name, p in self._profiles.items() if p.kind != "shell")
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown = breaker_cooldown
        self._breakers: dict[str, Breaker] = {}
        # profiles with their own max_parallel, and the tasks running on each
        self._limit = {name: p.max_parallel for name, p in self._profiles.items() if p.max_parallel}
        self._running_by: dict[str, int] = dict.fromkeys(self._limit, 0)
        self._held: dict[str, deque[TaskRun]] = {}  # per profile: tasks waiting for a slot or its breaker
        self._held_any: deque[TaskRun] = deque()  # routed tasks with no candidate available for now
        # admission has work to do (see the module's docstring); else tasks start on the plain path
        self._gated = bool(self._limit) or any(t.agents for t in plan.tasks)

    # ----------------------------------------------------------------- running
    async def run(self, stay_open: bool = False) -> dict[str, TaskState]:
        """Run the plan; returns each task's final state.

        With ``stay_open`` the run goes on after every task settled (so the developer can still
        retry one) until :meth:`close` is called.
        """
        try:
            if self.repo is not None:
                self.base_commit = await asyncio.to_thread(resolve_commit, self.repo, self.plan.base)
            if self.use_worktrees:
                self._worktrees = await asyncio.to_thread(
                    WorktreeManager, self.repo, self.run_id, self.worktree_root
                )
        except BaseException:  # e.g. RepoError: the run never starts; its consumers must not wait
            self._finished = True
            self.bus.close()
            raise
        self._base_env = {**os.environ, **(self._worktrees.env if self._worktrees else {})}
        self._workdir = str(self.repo or os.getcwd())
        self._started = True
        self.bus.publish(RunStarted(
            self.run_id, str(self.repo or ""), self.base_commit,
            self._task_infos(),
            budget_usd=self.budget_usd, budget_tokens=self.budget_tokens,
        ))
        for run in self.tasks.values():
            if run.waiting_deps == 0:
                self._make_ready(run)
        try:
            while True:
                if self._crash is not None:
                    raise self._crash
                self._start_what_can_start()
                if self._closing or (self._unsettled == 0 and not stay_open):
                    if self._unsettled == 0 or self._closing and not self._attempts:
                        break
                self._wake.clear()
                await self._wake.wait()
        finally:
            if self._attempts:  # the run itself was cancelled (e.g. Ctrl+C): stop every agent
                self._cancel_everything("the run was stopped")
                await asyncio.gather(*list(self._attempts), return_exceptions=True)
            for breaker in self._breakers.values():
                breaker.cancel_timer()
            self._finished = True
            states = {tid: run.state for tid, run in self.tasks.items()}
            self.bus.publish(RunFinished(self.run_id, states))
            self.bus.close()
        return states

    def _task_infos(self) -> tuple[TaskInfo, ...]:
        """The TaskInfo of every task, in plan order (the limits of each profile looked up once)."""
        limits = {name: (p.budget_usd, p.budget_tokens) for name, p in self._profiles.items()}
        no_limits = (None, None)
        infos = []
        for t in self.plan.tasks:
            if t.agents or t.role is not None or t.check:
                infos.append(self._task_info(t))
                continue
            usd, tokens = limits.get(t.agent, no_limits)
            if t.budget_usd is not None:
                usd = t.budget_usd
            if t.budget_tokens is not None:
                tokens = t.budget_tokens
            infos.append(TaskInfo(t.id, t.title, t.agent, t.prompt, t.depends_on, t.timeout, t.retries, usd, tokens))
        return tuple(infos)

    def _task_info(self, t: TaskSpec) -> TaskInfo:
        """The TaskInfo of a task with a role, a check or a routed profile."""
        options = TaskOptions(t.role, t.check_text, self._candidates(t) if t.agents else (),
                              t.routing if t.agents else "")
        return TaskInfo(t.id, t.title, t.agent, t.prompt, t.depends_on, t.timeout, t.retries,
                        *self._limits(t, None if t.agents else t.agent), options)

    def close(self) -> None:
        """End a run started with ``stay_open`` once nothing is running."""
        self._closing = True
        self._wake.set()

    @property
    def finished(self) -> bool:
        return self._finished

    def _start_what_can_start(self) -> None:
        while self._retry_due and self._running < self.max_parallel and not self._run_paused:
            run = self._retry_due.popleft()
            if run.in_flight or not run.retry_pending or (self._gated and not self._admit(run)):
                continue
            run.retry_pending = False
            self._launch(run)
        while self._ready and self._running < self.max_parallel and not self._run_paused:
            run = self._ready.popleft()
            if run.state is S.READY and not run.in_flight and (not self._gated or self._admit(run)):
                self._launch(run)

    def _launch(self, run: TaskRun) -> None:
        self._running += 1
        run.in_flight = True
        if self._gated:
            profile = run.profile
            if profile in self._limit:
                self._running_by[profile] += 1
                run.counted = profile
        task = asyncio.create_task(self._attempt(run))
        self._attempts.add(task)
        task.add_done_callback(self._attempt_done)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self._attempts.discard(task)
        self._running -= 1
        if not task.cancelled() and task.exception() is not None:
            self._crash = task.exception()  # a bug in the engine: run() raises it
        self._kick()

    def _kick(self) -> None:
        """Start what can start now; wake the scheduling loop only when the run may be over."""
        if self._started and not self._finished:
            self._start_what_can_start()
        if self._unsettled == 0 or self._closing or self._crash is not None or not self._attempts:
            self._wake.set()

    async def _attempt(self, run: TaskRun) -> None:
        spec = run.spec
        name = run.profile
        if name is None:  # a routed task none of whose candidates is installed
            self._attempt_end(run)
            self._unroutable(run)
            return
        profile = self._profiles[name]
        if run.state is S.READY:  # first start (or a retry asked for by the developer)
            problem = self._missing_program(profile)
            missing = problem is not None
            if problem is None and self._worktrees is not None and run.worktree is None:
                problem = await self._make_worktree(run, profile)
            if spec.role is not None and problem is None and run.reviews is None and run.state is S.READY:
                role = self.roles.get(spec.role)
                if role is not None and role.dependency_diffs:
                    run.reviews = await self._dependency_diffs(run)
            if run.state is not S.READY:  # cancelled while its worktree was being made
                self._attempt_end(run)
                return
            if problem is not None:
                self._set(run, S.FAILED, problem)
                if missing:
                    self._breaker_failure(run, name, "missing", problem)
                self._settle(run)
                self._attempt_end(run)
                return
        run.attempts += 1
        run.stop_reason = None
        run.usage_now = NO_USAGE
        if run.started_at is None:
            run.started_at = time.time()
        workdir = run.worktree.path if run.worktree else self._workdir
        prompt = spec.prompt
        if spec.role is not None or run.feedback is not None:
            prompt = compose_prompt(prompt, profile.kind, self.roles.get(spec.role or ""), run.reviews,
                                    run.feedback)
            self.bus.publish(PromptSent(run.id, run.attempts, name, prompt))
        ctx = AgentContext(
            run.id, prompt, workdir, partial(self._env, run, profile), run.attempts,
            partial(self._emit, run), partial(self._usage, run),
        )
        try:
            agent = self.agent_factory(spec, profile, ctx)
        except Exception as exc:  # e.g. its SDK is not installed: fails the task like a broken run()
            agent = _UnmadeAgent(exc)
        run.agent = agent
        self._set(run, S.RUNNING, _ATTEMPT[run.attempts] if run.attempts < 64 else f"attempt {run.attempts}")
        watchdog = asyncio.create_task(self._watch_timeout(run)) if spec.timeout else None
        try:
            outcome = await agent.run()
        except Exception as exc:  # an agent that breaks fails its task, not the run
            kind = "missing" if isinstance(exc, ImportError) else None
            outcome = AgentExit(None, "", kind)
            self._emit(run, "engine", [f"agent error: {type(exc).__name__}: {exc}"])
        finally:
            if watchdog is not None:
                watchdog.cancel()
            run.agent = None
        self._stop_clock(run)
        run.usage_done, run.usage_now = run.usage(), NO_USAGE
        state, reason = self._outcome(run, outcome)
        if run.worktree is None and not spec.check:  # nothing to commit or check: no await
            self._conclude(run, state, reason, TaskResult(
                run.id, state, run.attempts, "", "", "", "", (), outcome.exit_code, outcome.final_message,
            ), outcome, False)
        else:
            await self._finish_attempt(run, state, reason, outcome)
        run.in_flight = False
        if self._gated:
            self._attempt_end(run)

    def _attempt_end(self, run: TaskRun) -> None:
        """An attempt (or its start) is over: the task may start again, its profile's slot frees, a trial
        without a verdict is void. (An exception out of an attempt ends the whole run.)"""
        run.in_flight = False
        if run.counted is not None:
            self._slot_freed(run)
        if run.trial:  # a half-open breaker's trial ended without a verdict: another task may try
            self._trial_void(run)

    def _outcome(self, run: TaskRun, outcome: AgentExit) -> tuple[TaskState, str]:
        if run.stop_reason is None and outcome.exit_code == 0:  # the common case first
            return _SUCCESS
        if run.stop_reason == "cancel":
            return S.CANCELLED, "cancelled"
        if run.stop_reason == "timeout":
            return S.TIMED_OUT, f"timed out after {run.spec.timeout:g}s"
        if run.stop_reason == "budget" and run.budget_hit is not None:
            return S.BUDGET_EXCEEDED, run.budget_hit.describe()
        if outcome.exit_code == 0:
            return S.SUCCEEDED, "exit 0"
        if outcome.exit_code is None:
            return S.FAILED, "the agent failed"
        if outcome.exit_code < 0:
            return S.FAILED, f"killed by signal {-outcome.exit_code}"
        return S.FAILED, f"exit {outcome.exit_code}"

    async def _finish_attempt(self, run: TaskRun, state: TaskState, reason: str, outcome: AgentExit) -> None:
        if run.worktree is None or self._worktrees is None:
            result = TaskResult(run.id, state, run.attempts, "", "", "", "", (), outcome.exit_code,
                                outcome.final_message)
        else:
            result = await self._collect(run, state, outcome)
        check_failed = False
        if state is S.SUCCEEDED and run.spec.check:
            check = await self._check(run)
            if run.stop_reason == "cancel":
                state, reason = S.CANCELLED, "cancelled"
            elif check.ok:
                run.feedback = None
            else:
                state, reason = S.FAILED, f"check {check.describe()}"
                run.feedback = feedback_text(check)
                check_failed = True
            result = replace(result, state=state)
        self._conclude(run, state, reason, result, outcome, check_failed)

    def _conclude(self, run: TaskRun, state: TaskState, reason: str, result: TaskResult, outcome: AgentExit,
                  check_failed: bool) -> None:
        """The attempt's verdict: the task's state, its result, then an automatic retry or settling (the
        attempt's own end, in :meth:`_attempt_done`, starts what can start next)."""
        if run.state is S.PAUSED and state not in _STOPPED_STATES:
            self._set(run, S.RUNNING, "resumed to finish")
        self._set(run, state, reason)
        run.last_result = result
        self.bus.publish(result)
        if outcome.failure_kind is not None or self._breakers:
            self._breaker_verdict(run, state, outcome)
        if state in _RETRIED and run.auto_retries_used < run.spec.retries and not self._closing:
            run.auto_retries_used += 1
            delay = self._backoff(run.auto_retries_used)
            self._emit(run, "engine", [
                f"retry {run.auto_retries_used} of {run.spec.retries} in {delay:.1f}s"
                + (" (the check's output joins the prompt)" if check_failed else "")
            ])
            run.retry_pending = True
            run.retry_handle = asyncio.get_running_loop().call_later(delay, self._retry_now, run)
            return
        self._settle(run, kick=False)

    async def _check(self, run: TaskRun) -> CheckResult:
        """Run the task's check in its worktree (the agent's work is committed by now), then undo what
        the check left there; the agent's place is the check's meanwhile (pause and cancel reach it)."""
        spec = run.spec
        profile = self._profiles[run.profile or spec.agent]
        timeout = spec.check_timeout or DEFAULT_CHECK_TIMEOUT
        workdir = run.worktree.path if run.worktree else self._workdir
        self._emit(run, "engine", [f"check: {spec.check_text} (timeout {format_duration(timeout)})"])
        runner = CheckRunner(spec.check, workdir, self._env(run, profile), timeout, partial(self._emit, run),
                             self.stop_grace)
        run.agent = runner  # type: ignore[assignment]
        if run.stop_reason is not None:
            await runner.stop(0)
        if run.state is S.RUNNING and run._resumed_at is None:
            run._resumed_at = time.monotonic()  # the check's time is the task's time too
        try:
            result = await runner.run()
        finally:
            run.agent = None
        self._stop_clock(run)
        if run.worktree is not None and self._worktrees is not None:
            try:
                await asyncio.to_thread(self._worktrees.clean, run.worktree, profile.copy_files)
            except Exception as exc:  # git refused: say so; the next commit may then take the leftovers
                self._emit(run, "engine", [f"could not clean what the check left in the worktree: {exc}"])
        self.bus.publish(CheckFinished(run.id, run.attempts, result))
        self._emit(run, "engine", [f"check {result.describe()}"])
        return result

    async def _collect(self, run: TaskRun, state: TaskState, outcome: AgentExit) -> TaskResult:
        """Commit what the agent left in its worktree; the attempt's result with its diff stat."""
        wt, mgr = run.worktree, self._worktrees
        assert wt is not None and mgr is not None
        message = f"cockpit: work left by task {run.id} (attempt {run.attempts}, {state})"
        exclude = self._profiles[run.profile or run.spec.agent].copy_files

        def commit_and_stat() -> tuple[str, tuple]:
            head = mgr.commit_leftovers(wt, message, exclude)
            return head, mgr.diff_stat(wt, head)

        try:
            head, files = await asyncio.to_thread(commit_and_stat)
        except Exception as exc:  # git refused (e.g. the agent broke the worktree): say so, keep going
            self._emit(run, "engine", [f"could not commit the task's leftover changes: {exc}"])
            head, files = wt.start_commit, ()
        return TaskResult(run.id, state, run.attempts, wt.branch, wt.path, wt.start_commit, head, files,
                          outcome.exit_code, outcome.final_message)

    def _backoff(self, n: int) -> float:
        """Exponential backoff with full jitter between half and all of the step."""
        step = min(self.backoff_max, self.backoff_base * (2 ** (n - 1)))
        return step * random.uniform(0.5, 1.0)

    def _retry_now(self, run: TaskRun) -> None:
        run.retry_handle = None
        self._retry_due.append(run)
        self._kick()

    async def _make_worktree(self, run: TaskRun, profile: AgentProfile) -> str | None:
        mgr = self._worktrees
        assert mgr is not None
        try:
            run.worktree = await asyncio.to_thread(
                mgr.create, run.id, self.base_commit, list(run.spec.depends_on)
            )
        except WorktreeError as exc:
            return str(exc)
        copied = await asyncio.to_thread(mgr.copy_files, run.worktree, profile.copy_files)
        self._emit(run, "engine", [f"worktree {run.worktree.path} on branch {run.worktree.branch}"]
                   + ([f"copied {', '.join(copied)}"] if copied else []))
        return None

    async def _watch_timeout(self, run: TaskRun) -> None:
        limit = run.spec.timeout or 0.0
        while True:
            left = limit - self._attempt_seconds(run)
            if left <= 0:
                break
            await asyncio.sleep(left)
        if run.agent is not None and run.stop_reason is None:
            run.stop_reason = "timeout"
            self._emit(run, "engine", [f"timeout of {limit:g}s reached: stopping the agent"])
            await run.agent.stop(self.stop_grace)

    def _attempt_seconds(self, run: TaskRun) -> float:
        if run._resumed_at is None:
            return run._attempt_carry
        return run._attempt_carry + time.monotonic() - run._resumed_at

    # ------------------------------------------------------------ bookkeeping
    def _set(self, run: TaskRun, new: TaskState, reason: str = "") -> None:
        old = run.state
        if new not in TRANSITIONS[old]:
            raise InvalidTransition(run.id, old, new)
        run.state = new
        run.reason = reason
        if new is S.RUNNING:
            if old is not S.PAUSED:
                run._attempt_carry = 0.0
            run._resumed_at = time.monotonic()
        elif old is S.RUNNING:
            self._stop_clock(run)
        if new in TERMINAL:
            run.finished_at = now = time.time()
            self.bus.publish(TaskStateChanged(run.id, old, new, run.attempts, reason, now))
        else:
            self.bus.publish(TaskStateChanged(run.id, old, new, run.attempts, reason))

    def _stop_clock(self, run: TaskRun) -> None:
        if run._resumed_at is not None:
            spent = time.monotonic() - run._resumed_at
            run.run_seconds += spent
            run._attempt_carry += spent
            run._resumed_at = None

    def _make_ready(self, run: TaskRun) -> None:
        self._set(run, S.READY)
        self._ready.append(run)

    def _settle(self, run: TaskRun, kick: bool = True) -> None:
        """The task reached its final state for now: release or skip its dependents, and start what can
        start (``kick``; an attempt that settles its task leaves that to its own end)."""
        self._unsettled -= 1
        if run.state is S.SUCCEEDED:
            for child in run.dependents:
                child.waiting_deps -= 1
                if child.waiting_deps == 0 and child.state is S.PENDING:
                    self._make_ready(child)
        else:
            self._skip_dependents(run)
        if kick:
            self._kick()

    def _skip_dependents(self, run: TaskRun) -> None:
        stack = [(child, run.id) for child in run.dependents]
        while stack:
            child, cause = stack.pop()
            if child.state is S.PENDING:
                self._set(child, S.SKIPPED, f"dependency {cause!r} did not succeed")
                self._unsettled -= 1
                stack.extend((grandchild, child.id) for grandchild in child.dependents)

    def _emit(self, run: TaskRun, stream: str, lines: list[str]) -> None:
        self.bus.publish(LogLines(run.id, stream, tuple(lines), run.attempts))

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

    def _env(self, run: TaskRun, profile: AgentProfile) -> dict[str, str]:
        env = dict(self._base_env)
        env.update(profile.environment())
        env.update(COCKPIT_RUN_ID=self.run_id, COCKPIT_TASK_ID=run.id, COCKPIT_ATTEMPT=str(run.attempts))
        if run.feedback is not None:
            env["COCKPIT_CHECK_OUTPUT"] = run.feedback
        return env

    def _missing_program(self, profile: AgentProfile) -> str | None:
        """The profile's missing-program message, or None; a program once found on the run's PATH (fixed
        as the run starts) is not searched for again (a PATH scan costs more than the rest of a start)."""
        if profile.name in self._programs_found:
            return None
        path = self._base_env.get("PATH") if self._base_env else os.environ.get("PATH")
        problem = profile.missing_program(path)
        if problem is None:
            self._programs_found.add(profile.name)
        return problem

    # ------------------------------------------------------- admission: routing, slots, breakers
    def _admit(self, run: TaskRun) -> bool:
        """Whether ``run`` may start now: routes it if it must be, holds it (False) while its profile is
        full or its breaker is open. A routed task none of whose candidates is installed is admitted
        without a profile: its attempt fails it."""
        name = run.profile
        if run.spec.agents and (name is None or self._breaker_blocks(name)):
            name = self._route(run)
            if name is None:  # held, or (route_problem) failed by its attempt
                return bool(run.route_problem)
        assert name is not None
        breaker = self._breakers.get(name) if self._breakers else None
        if breaker is not None and not breaker.admits():
            if breaker.state == OPEN:
                until = time.strftime("%H:%M:%S", time.localtime(breaker.until)) if breaker.until else "a reset"
                why = (f"held: the circuit breaker of profile {name!r} is open ({breaker.kind}: {breaker.reason}); "
                       f"the task waits until {until} or a reset")
            else:
                why = f"held: profile {name!r} is trying one task after its cool-down; the task waits for its outcome"
            self._hold(run, name, why)
            return False
        limit = self._limit.get(name)
        if limit is not None and self._running_by[name] >= limit:
            self._hold(run, name, f"waiting: profile {name!r} already runs {limit} task{'s' if limit != 1 else ''} "
                                  "(its max_parallel)")
            return False
        if breaker is not None and breaker.state == HALF_OPEN:
            breaker.trial = True
            run.trial = True
        run.held = ""
        return True

    def _breaker_blocks(self, name: str) -> bool:
        breaker = self._breakers.get(name) if self._breakers else None
        return breaker is not None and breaker.state == OPEN

    def _candidates(self, spec: TaskSpec) -> tuple[str, ...]:
        return self.auto_profiles if spec.agents == (AUTO,) else spec.agents

    def _route(self, run: TaskRun) -> str | None:
        """Choose the profile of a routed task; None when it must wait (it is then held) or no candidate
        is installed (``route_problem`` says so, and ``profile`` is None)."""
        spec = run.spec
        candidates = self._candidates(spec)
        available: list[str] = []
        notes: list[str] = []
        for name in candidates:
            problem = self._missing_program(self._profiles[name])
            breaker = self._breakers.get(name) if self._breakers else None
            if problem is not None:
                notes.append(f"{name}: not installed" if self._profiles[name].kind != "anthropic"
                             else f"{name}: no API key")
            elif breaker is not None and not breaker.admits():
                notes.append(f"{name}: breaker {breaker.state}")
            else:
                available.append(name)
        choice = self.router.choose(candidates, available, spec.routing, spec.role)
        if choice is None:
            if any("breaker" in n for n in notes):
                run.profile, run.route_problem = None, ""
                self._hold(run, "", f"held: no candidate profile can take the task now ({'; '.join(notes)})")
                return None
            run.profile = None
            run.route_problem = ("no candidate profile is available"
                                 + (f" ({'; '.join(notes)})" if notes else " (no profile to choose from)"))
            return None
        run.profile = choice.profile
        run.route_problem = ""
        attempt = run.attempts + 1
        self.bus.publish(TaskRouted(run.id, choice.profile, choice.strategy, choice.reason, tuple(candidates),
                                    attempt))
        self._emit(run, "engine", [f"agent {choice.profile} chosen ({choice.strategy}): {choice.reason}"])
        return choice.profile

    def _unroutable(self, run: TaskRun) -> None:
        """Fail a routed task that has no installed candidate (its launch only brings it here)."""
        reason = run.route_problem or "no candidate profile is available"
        if run.state is S.READY:
            self._set(run, S.FAILED, reason)
        else:  # an automatic retry: the task stays as its last attempt ended
            self._emit(run, "engine", [f"automatic retry dropped: {reason}"])
        self._settle(run)

    def _hold(self, run: TaskRun, profile: str, why: str) -> None:
        """Park ``run`` until its profile (``""``: any breaker) can take it; the pane says why, once."""
        (self._held.setdefault(profile, deque()) if profile else self._held_any).append(run)
        if run.held != why:
            run.held = why
            self._emit(run, "engine", [why])

    def _slot_freed(self, run: TaskRun) -> None:
        profile, run.counted = run.counted, None
        assert profile is not None
        self._running_by[profile] -= 1
        queue = self._held.get(profile)
        while queue:  # the oldest live one goes back to the front of the line
            waiting = queue.popleft()
            if self._requeue(waiting, front=True):
                break

    def _release(self, profile: str) -> None:
        """Every task held for ``profile`` (and every routed task held for any) is considered again."""
        queues = [q for q in (self._held.pop(profile, None), self._held_any) if q]
        for queue in queues:
            while queue:
                self._requeue(queue.pop(), front=True)  # from the newest, so the oldest ends first
        self._kick()

    def _requeue(self, run: TaskRun, front: bool) -> bool:
        """Put a held task back in its queue; False for a stale entry (cancelled, or started meanwhile)."""
        if run.in_flight:
            return False
        if run.retry_pending and run.retry_handle is None:
            (self._retry_due.appendleft if front else self._retry_due.append)(run)
            return True
        if run.state is S.READY:
            (self._ready.appendleft if front else self._ready.append)(run)
            return True
        return False

    # ------------------------------------------------------------------------ circuit breakers
    def _breaker(self, name: str) -> Breaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            profile = self._profiles[name]
            breaker = self._breakers[name] = Breaker(
                name,
                profile.breaker_threshold or self.breaker_threshold,
                profile.breaker_cooldown or self.breaker_cooldown,
            )
            self._gated = True
        return breaker

    def _breaker_failure(self, run: TaskRun, name: str, kind: str, reason: str) -> None:
        """An attempt on ``name`` failed for a reason outside the task."""
        breaker = self._breaker(name)
        if run.trial:
            run.trial = False
        if not breaker.failure(kind, reason):
            if breaker.state == CLOSED:
                self._emit(run, "engine", [
                    f"failure outside the task ({kind}): {breaker.failures} of {breaker.threshold} in a row "
                    f"open the circuit breaker of profile {name!r}"])
            return
        breaker.until = time.time() + breaker.cooldown
        breaker.timer = asyncio.get_running_loop().call_later(breaker.cooldown, self._cool_down, name)
        event = BreakerChanged(
            name, OPEN, f"{breaker.failures} failure{'s' if breaker.failures != 1 else ''} in a row outside the "
            f"task ({kind}: {reason})", breaker.failures, kind, breaker.until)
        self.bus.publish(event)
        until = time.strftime("%H:%M:%S", time.localtime(breaker.until))
        self._emit(run, "engine", [f"this failure opened the circuit breaker of profile {name!r}: no task starts "
                                   f"on it until {until} (or a reset)"])
        self._release(name)  # routed tasks held for it choose again; the others are held for the breaker

    def _breaker_verdict(self, run: TaskRun, state: TaskState, outcome: AgentExit) -> None:
        """What the end of an attempt on ``run.profile`` tells the profile's breaker."""
        name = run.profile
        if name is None:
            return
        kind = outcome.failure_kind
        if kind in _EXTERNAL and state is S.FAILED:
            self._breaker_failure(run, name, kind, outcome.final_message or "the agent failed")
            return
        breaker = self._breakers.get(name)
        if breaker is None or state not in _RAN_STATES:
            return  # cancelled or over budget: it tells nothing (a trial's end is seen in _attempt)
        run.trial = False
        if breaker.state == CLOSED:  # the profile works: the row of failures is broken
            breaker.failures = 0
        elif state is S.SUCCEEDED or breaker.state == HALF_OPEN:
            breaker.close()
            how = "a task succeeded on it" if state is S.SUCCEEDED else "the trial task ran"
            self.bus.publish(BreakerChanged(name, CLOSED, how))
            self._emit(run, "engine", [f"circuit breaker of profile {name!r} closed: {how}"])
            self._release(name)

    def _trial_void(self, run: TaskRun) -> None:
        run.trial = False
        breaker = self._breakers.get(run.profile or "")
        if breaker is not None and breaker.state == HALF_OPEN and breaker.trial:
            breaker.trial = False
            self._release(breaker.profile)

    def _cool_down(self, name: str) -> None:
        breaker = self._breakers[name]
        breaker.half_open()
        if self._finished:
            return
        self.bus.publish(BreakerChanged(
            name, HALF_OPEN, f"the cool-down of {format_duration(breaker.cooldown)} passed: one task tries "
            "the profile again"))
        self._release(name)

    def reset_breaker(self, profile: str) -> None:
        """Close the circuit breaker of ``profile`` (the developer's command): its held tasks start."""
        if profile not in self._profiles:
            raise CommandError(f"no agent profile {profile!r}")
        breaker = self._breakers.get(profile)
        if breaker is None or breaker.state == CLOSED:
            raise CommandError(f"the circuit breaker of profile {profile!r} is not open")
        breaker.close()
        self.bus.publish(BreakerChanged(profile, CLOSED, "reset by the developer"))
        self._release(profile)

    def breaker_state(self, profile: str) -> Breaker | None:
        """The breaker of ``profile`` (state, failures in a row, last reason, cool-down end), or None
        while it never saw a failure outside its tasks."""
        return self._breakers.get(profile)

    @property
    def open_breakers(self) -> list[str]:
        """The profiles whose breaker is open or half-open."""
        return [name for name, b in self._breakers.items() if b.state != CLOSED]

    # ------------------------------------------------------------------------------ reviewers
    async def _dependency_diffs(self, run: TaskRun) -> str:
        """The ``Changes to review`` of a reviewer: each dependency's branch against its start commit."""
        deps = [self.tasks[d] for d in run.spec.depends_on]
        share = DIFF_LIMIT // max(1, len(deps))
        diffs: list[DependencyDiff] = []
        for dep in deps:
            result = dep.last_result
            if result is None or not result.branch or self._worktrees is None:
                diffs.append(DependencyDiff(dep.id, "", "", "", "(no branch: the run has no worktrees)"))
                continue
            try:
                text, cut = await asyncio.to_thread(
                    self._worktrees.diff_text, result.start_commit, result.head_commit, share)
            except Exception as exc:  # git refused: the reviewer is told, the task goes on
                text, cut = f"(the diff could not be read: {exc})", 0
            diffs.append(DependencyDiff(dep.id, result.branch, result.start_commit, result.head_commit, text, cut))
        self._emit(run, "engine", [f"the diffs of {', '.join(repr(d.id) for d in deps) or 'no task'} "
                                   "join the prompt"])
        return reviews_text(diffs)

    # --------------------------------------------------------------- commands
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
