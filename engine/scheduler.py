"""The engine: runs a plan's tasks in parallel, in dependency order, and publishes what happens.

One scheduling loop starts ready tasks while there are free slots; each attempt runs as its own
asyncio task and, when it ends, settles the task and releases its dependents. Bookkeeping is
O(1) per task and per dependency edge, so the cost of a task does not grow with the plan.

:class:`Engine` holds the run: its construction (:class:`~engine.options.EngineOptions`), the
scheduling loop, the attempts, the bookkeeping and the developer's commands (pause, resume, cancel,
retry, send (to an ended task: continue its agent's conversation, :mod:`engine.continuation`), reset a
breaker: an impossible one raises :class:`~engine.errors.CommandError` with a sentence for the user). It holds two parts, each in a module of its own: :class:`~engine.admission.Admission`
(routing, per-profile slots, circuit breakers) and :class:`~engine.budgets.Budgets` (spending and
limits). The live state of a task, its clock included, is a :class:`~engine.task_run.TaskRun`.

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

from engine.admission import Admission
from engine.agents.base import Agent, AgentContext, AgentExit, CannotTakeMessage, plain_session_id
from engine.agents.command import CommandAgent
from engine.agent_text import AgentText
from engine.asks import Answer, AskChannel, AskError
from engine.breakers import Breaker
from engine.budgets import Budgets
from engine.checks import DEFAULT_CHECK_TIMEOUT, CheckResult, CheckRunner, feedback_text
from engine import continuation
from engine.durations import format_duration
from engine.formatting import state_word
from engine.errors import CommandError
from engine.events import (
    AgentSession, BudgetReached, CheckFinished, EventBus, LogLines, PromptSent, RunFinished, RunStarted, TaskInfo, TaskOptions,
    TaskResult, TaskStateChanged,
)
from engine.options import EngineOptions
from engine.plan import Plan, TaskSpec
from engine.prices import PriceTable
from engine.profiles import AgentProfile, ProfileSet
from engine.roles import BUILTIN_ROLES, DIFF_LIMIT, DependencyDiff, compose_prompt, reviews_text
from engine.routing import Router
from engine.states import TERMINAL, TRANSITIONS, InvalidTransition, TaskState
from engine.task_run import NO_USAGE, TaskRun
from engine.usage import Usage
from engine.worktrees import WorktreeError, WorktreeManager, index_lock, resolve_commit

S = TaskState
# An attempt stopped by the engine ends in these states even if it was paused (no "resumed to finish").
_STOPPED_STATES = frozenset({S.CANCELLED, S.TIMED_OUT, S.BUDGET_EXCEEDED})
_SUCCESS = (S.SUCCEEDED, "exit 0")
_ATTEMPT = tuple(f"attempt {n}" for n in range(64))  # the reason of a change to running, made once
_RETRIED = frozenset({S.FAILED, S.TIMED_OUT})  # the states an automatic retry follows


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def default_agent_factory(
    spec: TaskSpec, profile: AgentProfile, ctx: AgentContext, prices: PriceTable | None = None
) -> Agent:
    """A program agent, for kind ``claude`` Claude Code through its SDK, or for kind ``anthropic`` an API agent
    (``prices``: default the built-in
    table; pass ``functools.partial(default_agent_factory, prices=config.price_table())``)."""
    if profile.kind == "anthropic":
        from engine.agents.anthropic_agent import AnthropicAgent  # the SDK loads only when needed

        return AnthropicAgent(profile, ctx, prices=prices)
    if profile.kind == "acp":
        from engine.agents.acp_agent import AcpAgent  # the protocol package loads only when needed

        return AcpAgent(profile, ctx)

    if profile.kind == "claude":
        from engine.agents.claude_sdk import ClaudeSdkAgent  # the Claude Agent SDK loads only when needed

        return ClaudeSdkAgent(profile, ctx, prices=prices)
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


class Engine:
    def __init__(self, plan: Plan, profiles: ProfileSet, repo: str | Path | None,
                 options: EngineOptions | None = None) -> None:
        """Runs ``plan`` with ``profiles`` in ``repo`` (None: no repository, no worktrees); ``options``
        (default :class:`EngineOptions` ``()``) say how."""
        o = options or EngineOptions()
        self.plan = plan
        self.profiles = profiles
        self.repo = Path(repo) if repo is not None else None
        self.run_id = o.run_id or new_run_id()
        self.max_parallel = o.max_parallel or plan.max_parallel
        self.use_worktrees = o.use_worktrees and self.repo is not None
        self.worktree_root = o.worktree_root
        self.agent_factory = o.agent_factory or default_agent_factory
        self.backoff_base = o.backoff_base
        self.backoff_max = o.backoff_max
        self.stop_grace = o.stop_grace
        self.bus = o.bus or EventBus()
        # the agents' questions and the developer's answers (engine.asks); waiting stops the task's clock
        self.asks = AskChannel(self.bus.publish, interactive=o.interactive, on_wait=self._on_wait)
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
        self._text = AgentText()  # every line a task writes passes through it (safe, without secrets)
        self._background: set[asyncio.Task[None]] = set()
        self._crash: BaseException | None = None
        self._started = False
        self._workdir = ""
        self._profiles = dict(profiles.profiles)  # plain dict: looked up at every task start
        self._programs_found: set[str] = set()  # profiles whose program was found on the run's PATH
        self.roles = dict(BUILTIN_ROLES if o.roles is None else o.roles)
        self.admission = Admission(
            self.bus, self._profiles,
            router=Router(o.track_record, o.min_track_record),
            auto_profiles=tuple(o.auto_profiles) if o.auto_profiles is not None else tuple(
                name for name, p in self._profiles.items() if p.kind != "shell"),
            breaker_threshold=o.breaker_threshold, breaker_cooldown=o.breaker_cooldown,
            gated=any(t.agents for t in plan.tasks),
            emit=self._emit, missing_program=self._missing_program, requeue=self._requeue, kick=self._kick,
        )
        self.budgets = Budgets(
            self.bus, self._profiles,
            o.budget_usd if o.budget_usd is not None else plan.budget_usd,
            o.budget_tokens if o.budget_tokens is not None else plan.budget_tokens,
            self._emit,
        )

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
        self._text = AgentText(self._base_env)
        # questions quote agents' commands and paths: the run's own secrets are redacted there too
        self.asks.text = self._text
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
            self.admission.close()
            self.asks.close()
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
        options = TaskOptions(t.role, t.check_text, self.admission.candidates(t) if t.agents else (),
                              t.routing if t.agents else "")
        return TaskInfo(t.id, t.title, t.agent, t.prompt, t.depends_on, t.timeout, t.retries,
                        *self.budgets.limits(t, None if t.agents else t.agent), options)

    def close(self) -> None:
        """End a run started with ``stay_open`` once nothing is running."""
        self._closing = True
        self._wake.set()

    @property
    def finished(self) -> bool:
        return self._finished

    def _start_what_can_start(self) -> None:
        admission = self.admission
        while self._retry_due and self._running < self.max_parallel and not self._run_paused:
            run = self._retry_due.popleft()
            if run.in_flight or not run.retry_pending or (admission.gated and not admission.admit(run)):
                continue
            run.retry_pending = False
            self._launch(run)
        while self._ready and self._running < self.max_parallel and not self._run_paused:
            run = self._ready.popleft()
            if run.state is S.READY and not run.in_flight and (not admission.gated or admission.admit(run)):
                self._launch(run)

    def _launch(self, run: TaskRun) -> None:
        self._running += 1
        run.in_flight = True
        if self.admission.gated:
            self.admission.took_slot(run)
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
                    self.admission.breaker_failure(run, name, "missing", problem)
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
        follow_up, run.follow_up = run.follow_up, None
        if follow_up is not None:  # the conversation goes on: the message is the whole prompt
            prompt = follow_up
            self.bus.publish(PromptSent(run.id, run.attempts, name, self._text.text(prompt)))
        elif spec.role is not None or run.feedback is not None or run.message is not None:
            prompt = compose_prompt(prompt, profile.kind, self.roles.get(spec.role or ""), run.reviews,
                                    run.feedback, run.message)
            # the diffs it reviews and a check's output are agent text: shown and stored made safe
            self.bus.publish(PromptSent(run.id, run.attempts, name, self._text.text(prompt)))
        if run.memory is None:
            run.memory = {}
        ctx = AgentContext(
            run.id, prompt, workdir, partial(self._env, run, profile), run.attempts,
            partial(self._emit, run), partial(self._usage, run), run.memory,
            self.asks.asker(run.id, run.attempts, name, workdir, profile.permissions),
            partial(self._agent_session, run),
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
            if outcome.final_message:
                outcome.final_message = self._text.text(outcome.final_message)
        except Exception as exc:  # an agent that breaks fails its task, not the run
            kind = "missing" if isinstance(exc, ImportError) else None
            outcome = AgentExit(None, "", kind)
            self._emit(run, "engine", [f"agent error: {type(exc).__name__}: {exc}"])
        finally:
            if watchdog is not None:
                watchdog.cancel()
            run.agent = None
            if run.waiting:  # an agent that ended with a question open: nobody waits for it any more
                self.asks.stop_task(run.id, "the agent ended")
        run.stop_clock()
        run.usage_done, run.usage_now = run.usage(), NO_USAGE
        state, reason = self._outcome(run, outcome)
        if run.worktree is None and not spec.check:  # nothing to commit or check: no await
            self._conclude(run, state, reason, TaskResult(
                run.id, state, run.attempts, "", "", "", "", (), outcome.exit_code, outcome.final_message,
            ), outcome, False)
        else:
            await self._finish_attempt(run, state, reason, outcome)
        run.in_flight = False
        if self.admission.gated:
            self._attempt_end(run)

    def _attempt_end(self, run: TaskRun) -> None:
        """An attempt (or its start) is over: the task may start again, its profile's slot frees, a trial
        without a verdict is void. (An exception out of an attempt ends the whole run.)"""
        run.in_flight = False
        if run.counted is not None or run.trial:
            self.admission.attempt_end(run)

    def _unroutable(self, run: TaskRun) -> None:
        """Fail a routed task that has no installed candidate (its launch only brings it here)."""
        reason = run.route_problem or "no candidate profile is available"
        if run.state is S.READY:
            self._set(run, S.FAILED, reason)
        else:  # an automatic retry: the task stays as its last attempt ended
            self._emit(run, "engine", [f"automatic retry dropped: {reason}"])
        self._settle(run)

    def _requeue(self, run: TaskRun) -> bool:
        """Put a task admission held back at the front of its queue; False for a stale entry (cancelled,
        or started meanwhile)."""
        if run.in_flight:
            return False
        if run.retry_pending and run.retry_handle is None:
            self._retry_due.appendleft(run)
            return True
        if run.state is S.READY:
            self._ready.appendleft(run)
            return True
        return False

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
        if outcome.failure_kind is not None or self.admission.breakers:
            self.admission.verdict(run, state, outcome)
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
        if run.state is S.RUNNING:
            run.resume_clock()  # the check's time is the task's time too
        try:
            result = await runner.run()
        finally:
            run.agent = None
        run.stop_clock()
        if run.worktree is not None and self._worktrees is not None:
            try:
                await asyncio.to_thread(self._worktrees.clean, run.worktree, profile.copy_files)
            except Exception as exc:  # git refused: say so; the next commit may then take the leftovers
                self._emit(run, "engine", [f"could not clean what the check left in the worktree: {exc}"])
        result = replace(result, tail=tuple(self._text.lines(run.id, "check-tail", result.tail)))
        self.bus.publish(CheckFinished(run.id, run.attempts, result))
        self._emit(run, "engine", [f"check {result.describe()}"])
        return result

    async def _collect(self, run: TaskRun, state: TaskState, outcome: AgentExit) -> TaskResult:
        """Commit what the agent left in its worktree; the attempt's result with its diff stat."""
        wt, mgr = run.worktree, self._worktrees
        assert wt is not None and mgr is not None
        message = f"cockpit: work left by task {run.id} (attempt {run.attempts}, {state})"
        profile = self._profiles[run.profile or run.spec.agent]
        exclude = profile.copy_files + profile.leave_out

        def commit_and_stat() -> tuple[str, tuple]:
            head = mgr.commit_leftovers(wt, message, exclude)
            return head, mgr.diff_stat(wt, head)

        lock = index_lock(wt.path)
        if lock is not None:  # left by a git the agent ran, cut short: nothing of the task runs any more
            try:
                os.unlink(lock)
                self._emit(run, "engine", [f"removed {lock}, left by a git command of the agent that was cut short"])
            except OSError as exc:
                self._emit(run, "engine", [f"{lock} is left by a git command cut short and cannot be removed: "
                                           f"{exc.strerror or exc}; the leftover commit will fail"])
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
            left = limit - run.attempt_seconds()
            if left <= 0:
                break
            await asyncio.sleep(left)
        if run.agent is not None and run.stop_reason is None:
            run.stop_reason = "timeout"
            self._emit(run, "engine", [f"timeout of {limit:g}s reached: stopping the agent"])
            self.asks.stop_task(run.id, "the task timed out")
            await run.agent.stop(self.stop_grace)

    # ------------------------------------------------------------------------------ budgets
    def _usage(self, run: TaskRun, usage: Usage) -> None:
        """The attempt of ``run`` reports its usage: the budgets judge it, the engine acts on a verdict."""
        budgets = self.budgets
        total, hit = budgets.record(run, usage)
        if hit is not None:
            run.stop_reason = "budget"
            run.budget_hit = hit
            self._emit(run, "engine", [f"{hit.describe()}: stopping the agent"])
            self.bus.publish(hit)
            self._stop_agent(run)
        if budgets.session_open:
            hit = budgets.judge_session(run, total)
            if hit is not None:
                self._session_budget_reached(hit)

    def _session_budget_reached(self, hit: BudgetReached) -> None:
        """Nothing new starts; the running tasks finish."""
        self.bus.publish(hit)
        for other in self.tasks.values():
            if other.state is S.PENDING or other.state is S.READY:
                self._set(other, S.SKIPPED, "session budget reached")
                self._unsettled -= 1
        self._ready.clear()
        for other in [r for r in self.tasks.values() if r.retry_pending]:
            self._drop_retry(other)
            self._emit(other, "engine", ["automatic retry dropped: session budget reached"])
            self._settle(other)
        self._kick()

    def task_budget(self, task_id: str) -> tuple[float | None, int | None]:
        """The (USD, tokens) limits of a task, None where it has none."""
        run = self._get(task_id)
        return self.budgets.limits(run.spec, run.profile)

    @property
    def budget_usd(self) -> float | None:
        """The run's USD limit (the engine's, else the plan's), or None."""
        return self.budgets.budget_usd

    @property
    def budget_tokens(self) -> int | None:
        return self.budgets.budget_tokens

    @property
    def spent_tokens(self) -> int:
        """The run's spending so far, every task and attempt."""
        return self.budgets.spent_tokens

    @property
    def spent_usd(self) -> float:
        """The run's spending in USD, of the costs that are known."""
        return self.budgets.spent_usd

    @property
    def session_budget_hit(self) -> BudgetReached | None:
        """Why nothing new starts, once the run's budget is reached."""
        return self.budgets.session_hit

    # ------------------------------------------------------------------------------ breakers
    @property
    def auto_profiles(self) -> tuple[str, ...]:
        """The candidates of ``agent = "auto"``."""
        return self.admission.auto_profiles

    def reset_breaker(self, profile: str) -> None:
        """Close the circuit breaker of ``profile`` (the developer's command): its held tasks start."""
        self.admission.reset(profile)

    def breaker_state(self, profile: str) -> Breaker | None:
        """The breaker of ``profile`` (state, failures in a row, last reason, cool-down end), or None
        while it never saw a failure outside its tasks."""
        return self.admission.breaker_state(profile)

    @property
    def open_breakers(self) -> list[str]:
        """The profiles whose breaker is open or half-open."""
        return self.admission.open_breakers

    # ------------------------------------------------------------------------------ the developer's commands
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
        """Stop the task's agent in the background (TERM, grace, KILL of its process group); what it waits
        for the developer to answer is denied first."""
        if run.waiting:
            self.asks.stop_task(run.id, "the task was cancelled" if run.stop_reason == "cancel"
                                else "the task was stopped")
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

    def retry(self, task_id: str, message: str | None = None, fresh: bool = False) -> None:
        """Run a task that failed, timed out, was cancelled or went over its budget again; its skipped
        dependents come back. The task's budget counts afresh from here. A ``message`` from the developer
        goes into the prompt of the attempts that follow (a retry without one drops the last one).

        ``fresh``: its earlier work is gone (the developer discarded it, worktree and branch): it starts
        over in a new worktree made as its first one was, and its agent's conversation, which built that
        work, and a failed check's feedback on it are not carried over."""
        run = self._get(task_id)
        if fresh and run.retry_pending:
            raise CommandError(f"task {task_id!r} is waiting for an automatic retry in its worktree: "
                               "let it end before it starts over")
        if self._finished:
            raise CommandError("the run has ended; start a new run to try again")
        if self.budgets.session_hit is not None:
            raise CommandError(f"the {self.budgets.session_hit.describe()}: no new task starts in this run")
        if run.retry_pending:  # already on its way back: start it now
            if message is not None:
                run.message = message
                self._emit(run, "engine", [f"retried with your message: {message}"])
            if run.retry_handle is not None:
                self._drop_retry(run)
                run.retry_pending = True
                self._retry_due.append(run)
            self._kick()
            return
        if run.state not in (S.FAILED, S.TIMED_OUT, S.CANCELLED, S.BUDGET_EXCEEDED):
            raise CommandError(f"task {task_id!r} is {run.state}: only a failed, timed-out or cancelled task "
                               "(or one over its budget) can be retried")
        run.message = message
        run.follow_up = None  # a follow-up cancelled before it started is not the retry's prompt
        if fresh:
            self._start_over(run)
        if message is not None:
            self._emit(run, "engine", [f"retried with your message: {message}"])
        if run.spec.agents:  # routed again as it starts
            run.profile = None
        self._run_again(run)

    def _run_again(self, run: TaskRun, reason: str = "") -> None:
        """An ended task runs again by the developer's word (a retry, a follow-up): its budget counts
        afresh, its automatic retries are whole again, its skipped dependents come back, and a run
        paused by "cancel all" goes on."""
        self._unsettled += 1
        run.auto_retries_used = 0
        Budgets.count_afresh(run)
        self._make_ready(run, reason)
        self._revive_dependents(run)
        if self._run_paused and not any(r.state in (S.RUNNING, S.PAUSED) for r in self.tasks.values()):
            self._run_paused = False
        self._kick()

    def _start_over(self, run: TaskRun) -> None:
        """Forget what the task's attempts left (its worktree, its agent's session, its check's feedback):
        the next attempt makes a new worktree (the old one's path and branch are free again)."""
        run.worktree = None
        run.memory = None
        run.agent_session = None
        run.feedback = None
        run.reviews = None
        self._emit(run, "engine", ["the work of its earlier attempt was discarded: it starts from a fresh worktree"])

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
        """Give a running agent a follow-up message; to a task that has ended, the message continues its
        agent's conversation in a new attempt (:meth:`continue_refusal` says when it cannot)."""
        run = self._get(task_id)
        if run.state.terminal and not run.retry_pending:
            self._continue(run, text)
            return
        if run.state not in (S.RUNNING, S.PAUSED) or run.agent is None:
            raise CommandError(f"task {task_id!r} is {run.state}: a message goes to a running agent")
        try:
            await run.agent.send(text)
        except CannotTakeMessage as exc:
            raise CommandError(str(exc)) from None
        self._emit(run, "engine", [f"message sent: {text}"])

    def continue_refusal(self, task_id: str) -> str | None:
        """Why a message cannot continue the conversation of the task, which has ended, in this run (one
        line for the developer), or None when it can."""
        run = self._get(task_id)
        if self._finished or self._closing:
            return "the run has ended: a conversation goes on only while its run is open"
        if self.budgets.session_hit is not None:
            return f"the {self.budgets.session_hit.describe()}: no new attempt starts in this run"
        return continuation.refusal(run, self._profiles.get(run.profile or run.spec.agent))

    def _continue(self, run: TaskRun, text: str) -> None:
        """A new attempt of an ended task whose prompt is ``text``, resuming its agent's conversation in
        the same worktree. As a retry by hand does: the task's budget counts afresh from here, its timeout
        counts the new attempt alone, its automatic retries are whole again (they follow with the task's
        prompt and this message), and dependents it skipped come back; one that waited for it waits again."""
        if not text.strip():
            raise CommandError("a follow-up message needs some text")
        why = self.continue_refusal(run.id)
        if why is not None:
            raise CommandError(f"task {run.id!r} {state_word(run.state)}, and its conversation cannot go on: {why}")
        was = run.state
        run.follow_up = run.message = text
        if was is S.SUCCEEDED:
            for child in run.dependents:
                if child.state is S.PENDING:  # it had counted this dependency as done
                    child.waiting_deps += 1
        self._emit(run, "engine", [f"follow-up after it {state_word(was)}: the conversation goes on with your message"])
        self._run_again(run, continuation.FOLLOW_UP)

    def answer(self, question_id: str, kind: str, scope: str = "once", reason: str = "") -> Answer:
        """The developer's answer to an agent's question (see :meth:`engine.asks.AskChannel.answer`)."""
        try:
            return self.asks.answer(question_id, kind, scope, reason)
        except AskError as exc:
            raise CommandError(str(exc)) from None

    # ------------------------------------------------------------ bookkeeping
    def _agent_session(self, run: TaskRun, session_id: str, resume: str) -> None:
        """The attempt's agent told its own session (kept in the task's memory by the agent itself)."""
        session_id = plain_session_id(session_id)
        if session_id:
            event = AgentSession(run.id, run.attempts, session_id, self._text.text(resume))
            run.agent_session = (event.session_id, event.resume)
            self.bus.publish(event)

    def _on_wait(self, task_id: str, waiting: bool) -> None:
        """The task's agent began or ended waiting for the developer: time spent waiting is not the task's
        running time (its timeout does not count it)."""
        run = self.tasks.get(task_id)
        if run is None:
            return
        run.waiting = waiting
        if run.state is S.RUNNING:
            if waiting:
                run.stop_clock()
            else:
                run.resume_clock()

    def _set(self, run: TaskRun, new: TaskState, reason: str = "") -> None:
        old = run.state
        if new not in TRANSITIONS[old]:
            raise InvalidTransition(run.id, old, new)
        run.state = new
        run.reason = reason
        if new is S.RUNNING:
            if not run.waiting:  # resumed while its agent waits for the developer: still not running time
                run.start_clock(old is not S.PAUSED)
        elif old is S.RUNNING:
            run.stop_clock()
        if new in TERMINAL:
            run.finished_at = now = time.time()
            self.bus.publish(TaskStateChanged(run.id, old, new, run.attempts, reason, now))
        else:
            self.bus.publish(TaskStateChanged(run.id, old, new, run.attempts, reason))

    def _make_ready(self, run: TaskRun, reason: str = "") -> None:
        self._set(run, S.READY, reason)
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

    def _emit(self, run: TaskRun, stream: str, lines: list[str], key: str = "") -> None:
        lines = self._text.lines(run.id, stream, lines)
        self.bus.publish(LogLines(run.id, stream, tuple(lines), run.attempts, key=key))

    def _env(self, run: TaskRun, profile: AgentProfile) -> dict[str, str]:
        env = dict(self._base_env)
        env.update(profile.environment())
        env.update(COCKPIT_RUN_ID=self.run_id, COCKPIT_TASK_ID=run.id, COCKPIT_ATTEMPT=str(run.attempts))
        if run.feedback is not None:
            env["COCKPIT_CHECK_OUTPUT"] = run.feedback
        if run.message is not None:
            env["COCKPIT_MESSAGE"] = run.message
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
