"""The engine: runs a plan's tasks in parallel, in dependency order, and publishes what happens.

One scheduling loop starts ready tasks while there are free slots; each attempt runs as its own
asyncio task and, when it ends, settles the task and releases its dependents. Bookkeeping is
O(1) per task and per dependency edge, so the cost of a task does not grow with the plan.

:class:`Engine` holds the run: its construction, the scheduling loop, the attempts and the
bookkeeping. Its other parts are mixins, each in a module of its own: admission (routing, per-profile
slots, circuit breakers; :mod:`engine.admission`), budgets (:mod:`engine.budget_rules`) and the
developer's commands (:mod:`engine.run_commands`). The live state of a task is a
:class:`~engine.task_run.TaskRun`.

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

from engine.admission import Admission
from engine.agents.base import Agent, AgentContext, AgentExit, CannotTakeMessage
from engine.agents.command import CommandAgent
from engine.breakers import DEFAULT_COOLDOWN, DEFAULT_THRESHOLD, Breaker
from engine.budget_rules import BudgetRules
from engine.checks import DEFAULT_CHECK_TIMEOUT, CheckResult, CheckRunner, feedback_text
from engine.durations import format_duration
from engine.events import (
    BudgetReached, CheckFinished, EventBus, LogLines, PromptSent, RunFinished, RunStarted, TaskInfo, TaskOptions,
    TaskResult, TaskStateChanged,
)
from engine.plan import Plan, TaskSpec
from engine.prices import PriceTable
from engine.profiles import AgentProfile, ProfileSet
from engine.roles import BUILTIN_ROLES, DIFF_LIMIT, DependencyDiff, Role, compose_prompt, reviews_text
from engine.routing import DEFAULT_MIN_TASKS, Router, TrackRecord
from engine.run_commands import RunCommands
from engine.states import TERMINAL, TRANSITIONS, InvalidTransition, TaskState
from engine.task_run import NO_USAGE, TaskRun
from engine.worktrees import WorktreeError, WorktreeManager, resolve_commit

S = TaskState
# An attempt stopped by the engine ends in these states even if it was paused (no "resumed to finish").
_STOPPED_STATES = frozenset({S.CANCELLED, S.TIMED_OUT, S.BUDGET_EXCEEDED})
_SUCCESS = (S.SUCCEEDED, "exit 0")
_ATTEMPT = tuple(f"attempt {n}" for n in range(64))  # the reason of a change to running, made once
_RETRIED = frozenset({S.FAILED, S.TIMED_OUT})  # the states an automatic retry follows
AgentFactory = Callable[[TaskSpec, AgentProfile, AgentContext], Agent]


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


class Engine(Admission, BudgetRules, RunCommands):
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
