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
"""
from __future__ import annotations

import asyncio
from functools import partial
import os
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from engine.agents.base import Agent, AgentContext, AgentExit, CannotTakeMessage
from engine.agents.command import CommandAgent
from engine.events import (
    BudgetReached, EventBus, LogLines, RunFinished, RunStarted, TaskInfo, TaskResult, TaskStateChanged,
    UsageUpdate,
)
from engine.output_formats import Usage
from engine.plan import Plan, TaskSpec
from engine.prices import PriceTable
from engine.profiles import AgentProfile, ProfileSet
from engine.states import TRANSITIONS, InvalidTransition, TaskState
from engine.worktrees import Worktree, WorktreeError, WorktreeManager, resolve_commit

S = TaskState
NO_USAGE = Usage()  # shared "nothing reported yet"; never mutated
# An attempt stopped by the engine ends in these states even if it was paused (no "resumed to finish").
_STOPPED_STATES = frozenset({S.CANCELLED, S.TIMED_OUT, S.BUDGET_EXCEEDED})
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


@dataclass
class TaskRun:
    """The live state of one task of the run."""

    spec: TaskSpec
    id: str = field(init=False)
    state: TaskState = S.PENDING
    attempts: int = 0
    auto_retries_used: int = 0
    waiting_deps: int = 0
    dependents: list["TaskRun"] = field(default_factory=list)
    worktree: Worktree | None = None
    agent: Agent | None = None
    stop_reason: str | None = None  # "cancel" | "timeout" | "budget" while an attempt is being stopped
    reason: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    run_seconds: float = 0.0  # running time of finished attempts
    _resumed_at: float | None = None  # monotonic time the current running stretch began
    _attempt_carry: float = 0.0  # running time of the current attempt before its last pause
    retry_handle: asyncio.TimerHandle | None = None
    retry_pending: bool = False  # an automatic retry is scheduled or waiting for a slot
    usage_done: Usage = field(default_factory=Usage)  # totals of finished attempts
    usage_now: Usage = field(default_factory=lambda: NO_USAGE)  # the current attempt's so far
    last_result: TaskResult | None = None
    budget_base: tuple[int, float] = (0, 0.0)  # (tokens, USD) spent before the developer's last retry
    budget_hit: BudgetReached | None = None  # why the current attempt is being stopped
    cost_noted: bool = False  # "cost unknown: the USD budget cannot be judged" was said

    def __post_init__(self) -> None:
        self.id = self.spec.id

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
    ) -> None:
        """``budget_usd`` / ``budget_tokens``: the run's spending limits, over the plan's."""
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
            run.waiting_deps = len(run.spec.depends_on)
            for dep in run.spec.depends_on:
                self.tasks[dep].dependents.append(run)
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
        self._programs_found: set[tuple[str, str | None]] = set()  # (program, PATH) seen installed

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
            tuple(TaskInfo(t.id, t.title, t.agent, t.prompt, t.depends_on, t.timeout, t.retries,
                           *self._limits(t))
                  for t in self.plan.tasks),
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
            self._finished = True
            states = {tid: run.state for tid, run in self.tasks.items()}
            self.bus.publish(RunFinished(self.run_id, states))
            self.bus.close()
        return states

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
            run.retry_pending = False
            self._launch(run)
        while self._ready and self._running < self.max_parallel and not self._run_paused:
            run = self._ready.popleft()
            if run.state is S.READY:
                self._launch(run)

    def _launch(self, run: TaskRun) -> None:
        self._running += 1
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
        profile = self._profiles[spec.agent]
        if run.state is S.READY:  # first start (or a retry asked for by the developer)
            problem = self._missing_program(profile)
            if problem is None and self._worktrees is not None and run.worktree is None:
                problem = await self._make_worktree(run, profile)
            if run.state is not S.READY:  # cancelled while its worktree was being made
                return
            if problem is not None:
                self._set(run, S.FAILED, problem)
                self._settle(run)
                return
        run.attempts += 1
        run.stop_reason = None
        run.usage_now = NO_USAGE
        if run.started_at is None:
            run.started_at = time.time()
        workdir = run.worktree.path if run.worktree else self._workdir
        ctx = AgentContext(
            run.id, spec.prompt, workdir, partial(self._env, run, profile), run.attempts,
            partial(self._emit, run), partial(self._usage, run),
        )
        try:
            agent = self.agent_factory(spec, profile, ctx)
        except Exception as exc:  # e.g. its SDK is not installed: fails the task like a broken run()
            agent = _UnmadeAgent(exc)
        run.agent = agent
        self._set(run, S.RUNNING, f"attempt {run.attempts}")
        watchdog = asyncio.create_task(self._watch_timeout(run)) if spec.timeout else None
        try:
            outcome = await agent.run()
        except Exception as exc:  # an agent that breaks fails its task, not the run
            outcome = AgentExit(None, "")
            self._emit(run, "engine", [f"agent error: {type(exc).__name__}: {exc}"])
        finally:
            if watchdog is not None:
                watchdog.cancel()
            run.agent = None
        self._stop_clock(run)
        run.usage_done, run.usage_now = run.usage(), NO_USAGE
        state, reason = self._outcome(run, outcome)
        await self._finish_attempt(run, state, reason, outcome)

    def _outcome(self, run: TaskRun, outcome: AgentExit) -> tuple[TaskState, str]:
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
        if run.state is S.PAUSED and state not in _STOPPED_STATES:
            self._set(run, S.RUNNING, "resumed to finish")
        self._set(run, state, reason)
        run.last_result = result
        self.bus.publish(result)
        if state in (S.FAILED, S.TIMED_OUT) and run.auto_retries_used < run.spec.retries and not self._closing:
            run.auto_retries_used += 1
            delay = self._backoff(run.auto_retries_used)
            self._emit(run, "engine", [
                f"retry {run.auto_retries_used} of {run.spec.retries} in {delay:.1f}s"
            ])
            run.retry_pending = True
            run.retry_handle = asyncio.get_running_loop().call_later(delay, self._retry_now, run)
            return
        self._settle(run)

    async def _collect(self, run: TaskRun, state: TaskState, outcome: AgentExit) -> TaskResult:
        """Commit what the agent left in its worktree; the attempt's result with its diff stat."""
        wt, mgr = run.worktree, self._worktrees
        assert wt is not None and mgr is not None
        message = f"cockpit: work left by task {run.id} (attempt {run.attempts}, {state})"
        exclude = self.profiles[run.spec.agent].copy_files

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
        if new.terminal:
            run.finished_at = time.time()
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

    def _settle(self, run: TaskRun) -> None:
        """The task reached its final state for now: release or skip its dependents."""
        self._unsettled -= 1
        if run.state is S.SUCCEEDED:
            for child in run.dependents:
                child.waiting_deps -= 1
                if child.waiting_deps == 0 and child.state is S.PENDING:
                    self._make_ready(child)
        else:
            self._skip_dependents(run)
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

    def _limits(self, spec: TaskSpec) -> tuple[float | None, int | None]:
        """The task's (USD, tokens) limits: the plan's, else its profile's."""
        profile = self._profiles[spec.agent]
        return (spec.budget_usd if spec.budget_usd is not None else profile.budget_usd,
                spec.budget_tokens if spec.budget_tokens is not None else profile.budget_tokens)

    def task_budget(self, task_id: str) -> tuple[float | None, int | None]:
        """The (USD, tokens) limits of a task, None where it has none."""
        return self._limits(self._get(task_id).spec)

    def _judge_task_budget(self, run: TaskRun, total: Usage) -> None:
        max_usd, max_tokens = self._limits(run.spec)
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
        return env

    def _path(self) -> str | None:
        return self._base_env.get("PATH") if self._base_env else os.environ.get("PATH")

    def _missing_program(self, profile: AgentProfile) -> str | None:
        """The profile's missing-program message, or None; a program once found on a PATH is not
        searched for again in this run (a PATH scan costs more than the rest of a task start)."""
        path = self._path()
        key = (profile.program, path)
        if key in self._programs_found:
            return None
        problem = profile.missing_program(path)
        if problem is None:
            self._programs_found.add(key)
        return problem

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
