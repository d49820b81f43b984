"""What the engine tells the world, and the bus that carries it.

Every event is a small slotted dataclass with the wall-clock time it happened (``at``, seconds since
the epoch). Consumers (the store, the TUI, the headless printer) subscribe to an :class:`EventBus`
and read events in order; the engine never waits for a consumer.

One event object goes to every subscriber, so an event is read-only once published: no consumer
writes to one (a consumer that wants another value makes its own object). The classes are not
``frozen`` only because a frozen dataclass sets each field through ``object.__setattr__``: with five
events per task that was a fifth of the engine's whole cost per task (``bench/engine_overhead.py``).
The value objects inside events (:class:`TaskOptions`, :class:`FileStat`) are frozen.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator

from engine.asks import QuestionAnswered, QuestionAsked
from engine.formatting import usd
from engine.states import TaskState
from engine.usage import Usage

if TYPE_CHECKING:
    from engine.checks import CheckResult


@dataclass(slots=True)
class RunStarted:
    run_id: str
    repo: str
    base_commit: str
    tasks: tuple["TaskInfo", ...]
    at: float = field(default_factory=time.time)
    budget_usd: float | None = None  # the run's (session's) spending limits, None: no limit
    budget_tokens: int | None = None


@dataclass(slots=True)
class TaskInfo:
    """The static facts of one task of the plan, as the run starts."""

    id: str
    title: str
    agent: str
    prompt: str
    depends_on: tuple[str, ...]
    timeout: float | None
    retries: int
    budget_usd: float | None = None  # the task's spending limits in force (the plan's, else its profile's)
    budget_tokens: int | None = None
    options: "TaskOptions | None" = None  # role, check, routing; None when the task has none of them

    @property
    def role(self) -> str | None:
        return self.options.role if self.options is not None else None

    @property
    def check(self) -> str:
        """The check as written ("" without one)."""
        return self.options.check if self.options is not None else ""

    @property
    def candidates(self) -> tuple[str, ...]:
        """When the engine chooses the profile (``agent`` is "auto" or "a|b"): among these."""
        return self.options.candidates if self.options is not None else ()

    @property
    def routing(self) -> str:
        """How the engine chooses: fixed | round-robin | best ("" for a fixed profile)."""
        return self.options.routing if self.options is not None else ""


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """What a plan may say of a task beyond the basics (one object, so that the many tasks without any
    cost nothing more to describe)."""

    role: str | None = None
    check: str = ""
    candidates: tuple[str, ...] = ()
    routing: str = ""


@dataclass(slots=True)
class TaskStateChanged:
    task_id: str
    old: TaskState
    new: TaskState
    attempt: int
    reason: str = ""
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class PromptSent:
    """The effective prompt of an attempt, when it is not the task's prompt as written: its role's
    instructions, the diffs it reviews, the output of the check that failed before it (see
    :mod:`engine.roles`). Published just before the task's change to ``running`` for that attempt;
    an attempt without one got ``TaskInfo.prompt`` as it is. ``agent`` is the profile it runs on."""

    task_id: str
    attempt: int
    agent: str
    prompt: str
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class TaskRouted:
    """The engine chose the profile of a task that lets it choose (``agent = "auto"`` or a list), as the
    task (or its attempt ``attempt``) is about to start."""

    task_id: str
    profile: str
    strategy: str  # the strategy that decided: fixed | round-robin | best
    reason: str  # one line for the pane and the store
    candidates: tuple[str, ...]
    attempt: int
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class CheckFinished:
    """A task's check ran after its agent succeeded (``result``: :class:`engine.checks.CheckResult`).
    It comes before the task's change of state that ends the attempt (the check's verdict) and its
    ``TaskResult``."""

    task_id: str
    attempt: int
    result: "CheckResult"
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class BreakerChanged:
    """A profile's circuit breaker changed state (see :mod:`engine.breakers`).

    ``state`` is ``open`` (no task starts on the profile until ``until``, a wall time, or a reset),
    ``half-open`` (the cool-down passed: one trial task may start) or ``closed``. ``reason`` says why
    in one line; ``failures`` and ``kind`` are those that opened it."""

    profile: str
    state: str
    reason: str
    failures: int = 0
    kind: str = ""
    until: float | None = None
    at: float = field(default_factory=time.time)

    def describe(self) -> str:
        if self.state == "open":
            until = time.strftime("%H:%M:%S", time.localtime(self.until)) if self.until else "a reset"
            return (f"circuit breaker of profile {self.profile!r} opened: {self.reason}; no task starts on it "
                    f"until {until} (or a reset)")
        if self.state == "half-open":
            return f"circuit breaker of profile {self.profile!r} half-open: {self.reason}"
        return f"circuit breaker of profile {self.profile!r} closed: {self.reason}"


@dataclass(slots=True)
class LogLines:
    """A batch of complete lines a task wrote, in order, all read at time ``at``.

    ``stream`` is ``stdout`` or ``stderr`` for the agent's own output, ``agent`` for readable lines
    made from a structured output format, ``plan`` for an agent's plan (a checklist), and ``engine`` for
    what the engine says about the task.

    ``key``, when not empty, names what the lines show and says they replace the lines of the same key
    shown before: a tool call's one line as its status changes, the whole plan. A live view rewrites
    them in place; a log (the store, the headless printer) keeps each version in order.
    """

    task_id: str
    stream: str
    lines: tuple[str, ...]
    attempt: int = 0
    at: float = field(default_factory=time.time)
    key: str = ""


@dataclass(slots=True)
class UsageUpdate:
    """The task's usage so far (totals over all its attempts, not a delta; its ``cost_usd`` None while the
    cost is unknown, never a made-up number)."""

    task_id: str
    usage: Usage
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class BudgetReached:
    """A spending limit was reached. ``scope`` ``task``: that task (``task_id``) is being stopped and
    ends ``budget_exceeded``. ``scope`` ``session``: no new task starts, the run's waiting tasks are
    skipped, the running ones finish (``task_id`` is the task whose usage reached it). ``unit`` is
    ``tokens`` (input, output, cache write and cache read together) or ``usd``."""

    scope: str
    task_id: str | None
    unit: str
    spent: float
    limit: float
    at: float = field(default_factory=time.time)

    def describe(self) -> str:
        """``budget reached: 1,234 tokens of 1,000`` / ``session budget reached: $0.5012 of $0.50``."""
        if self.unit == "usd":
            amounts = f"{usd(self.spent)} of {usd(self.limit, 2)}"
        else:
            amounts = f"{int(self.spent):,} tokens of {int(self.limit):,}"
        return f"{'session ' if self.scope == 'session' else ''}budget reached: {amounts}"


@dataclass(frozen=True, slots=True)
class FileStat:
    path: str
    added: int | None  # None for a binary file
    removed: int | None


@dataclass(slots=True)
class TaskResult:
    """A finished attempt of a task: where its work is and how big it is."""

    task_id: str
    state: TaskState
    attempt: int
    branch: str
    worktree: str
    start_commit: str
    head_commit: str
    files: tuple[FileStat, ...]
    exit_code: int | None
    final_message: str = ""
    at: float = field(default_factory=time.time)

    @property
    def added(self) -> int:
        return sum(f.added or 0 for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed or 0 for f in self.files)


@dataclass(slots=True)
class AgentSession:
    """The attempt's agent opened (or resumed) a conversation of its own that outlives the attempt: a
    Claude Code session. A follow-up message after the task ended, or a retry, continues it; ``resume`` is
    the command that continues it by hand, run in the task's worktree (``claude --resume ID``). The id is
    checked to be plain (see :func:`engine.agents.base.plain_session_id`) before it is published."""

    task_id: str
    attempt: int
    session_id: str
    resume: str
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class RunFinished:
    run_id: str
    states: dict[str, TaskState]
    at: float = field(default_factory=time.time)


Event = (RunStarted | TaskStateChanged | LogLines | UsageUpdate | BudgetReached | TaskResult | RunFinished
         | TaskRouted | PromptSent | CheckFinished | BreakerChanged | QuestionAsked | QuestionAnswered | AgentSession)


class Subscription:
    """One consumer's view of the bus: an async iterator over the events published after it began.

    The queue is unbounded on purpose: the engine must never block on a slow consumer. A consumer that
    wants to coalesce reads several events at once with :meth:`get_batch`.
    """

    def __init__(self, bus: "EventBus") -> None:
        self._bus = bus
        self._items: deque[Event | None] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def _push(self, event: Event | None) -> None:
        self._items.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def get(self) -> Event | None:
        """The next event, or None once the bus is closed and everything was read."""
        await self._wait()
        event = self._items.popleft()
        if event is None:
            self.closed = True
        return event

    async def get_batch(self, limit: int = 1000) -> list[Event]:
        """Every event waiting (at most ``limit``), waiting for at least one; [] once closed."""
        if self.closed:
            return []
        await self._wait()
        out: list[Event] = []
        items = self._items
        while items and len(out) < limit:
            event = items.popleft()
            if event is None:
                self.closed = True
                break
            out.append(event)
        return out

    def pending(self) -> int:
        return len(self._items)

    def unsubscribe(self) -> None:
        self._bus._subs.discard(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            event = await self.get()
            if event is None:
                return
            yield event


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._closed = False

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        if self._closed:
            sub._push(None)
        else:
            self._subs.add(sub)
        return sub

    def publish(self, event: Event) -> None:
        for sub in self._subs:
            sub._push(event)

    def close(self) -> None:
        """Tell every subscriber that nothing more will come."""
        self._closed = True
        for sub in self._subs:
            sub._push(None)
