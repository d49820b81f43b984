"""Waiting on engines in tests: polling, an event recorder, a runner that stops every engine it started,
and plans and engines tuned for tests."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Iterable

from engine.events import Event, EventBus, LogLines, TaskResult, TaskStateChanged, UsageUpdate
from engine.states import TaskState

# How long a test waits for an event before it fails: generous, since CI may be two busy cores.
# Nothing waits this long when things work; it only bounds a test that would otherwise hang.
EVENT_TIMEOUT = 30.0


async def eventually(check: Callable[[], Any], timeout: float = EVENT_TIMEOUT, what: str = "condition") -> Any:
    """Poll ``check`` until it is truthy (returns its value); fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Recorder:
    """Collects every event of a bus, in order, and lets a test wait for one."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        self.closed = False
        self._sub = bus.subscribe()
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def _collect(self) -> None:
        while True:
            batch = await self._sub.get_batch()
            self.events.extend(batch)
            self._changed.set()
            if not batch:
                self.closed = True
                return

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float = EVENT_TIMEOUT, what: str = ""
    ) -> Event:
        """The first event (already seen or still to come) for which ``predicate`` is true."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            if self.closed:
                raise AssertionError(f"the run ended without {what or 'the awaited event'}")
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or 'an event'}; got {self.summary()}")
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def wait_state(self, task_id: str, state: TaskState, timeout: float = EVENT_TIMEOUT) -> TaskStateChanged:
        return await self.wait_for(
            lambda e: isinstance(e, TaskStateChanged) and e.task_id == task_id and e.new is state,
            timeout, f"task {task_id} -> {state}",
        )

    async def wait_line(self, task_id: str, text: str, timeout: float = EVENT_TIMEOUT) -> LogLines:
        return await self.wait_for(
            lambda e: isinstance(e, LogLines) and e.task_id == task_id and any(text in l for l in e.lines),
            timeout, f"a line of {task_id} holding {text!r}",
        )

    async def finished(self, timeout: float = EVENT_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("timed out waiting for the bus to close")
            await asyncio.wait({self._task}, timeout=left)

    # --- views
    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def transitions(self, task_id: str | None = None) -> list[TaskStateChanged]:
        return [e for e in self.of(TaskStateChanged) if task_id is None or e.task_id == task_id]

    def states(self, task_id: str) -> list[TaskState]:
        return [e.new for e in self.transitions(task_id)]

    def index(self, task_id: str, state: TaskState) -> int:
        for i, e in enumerate(self.events):
            if isinstance(e, TaskStateChanged) and e.task_id == task_id and e.new is state:
                return i
        raise AssertionError(f"task {task_id} never became {state}: {self.states(task_id)}")

    def lines(self, task_id: str, stream: str | Iterable[str] | None = None) -> list[str]:
        streams = {stream} if isinstance(stream, str) else set(stream) if stream else None
        return [
            line for e in self.of(LogLines)
            if e.task_id == task_id and (streams is None or e.stream in streams)
            for line in e.lines
        ]

    def results(self, task_id: str) -> list[TaskResult]:
        return [e for e in self.of(TaskResult) if e.task_id == task_id]

    def result(self, task_id: str) -> TaskResult:
        found = self.results(task_id)
        assert found, f"no TaskResult for {task_id}"
        return found[-1]

    def usage(self, task_id: str) -> list[UsageUpdate]:
        return [e for e in self.of(UsageUpdate) if e.task_id == task_id]

    def max_concurrent(self, states: frozenset[TaskState] = frozenset({TaskState.RUNNING, TaskState.PAUSED})) -> int:
        current: dict[str, TaskState] = {}
        best = 0
        for e in self.transitions():
            current[e.task_id] = e.new
            best = max(best, sum(1 for s in current.values() if s in states))
        return best

    def summary(self) -> str:
        return "; ".join(f"{e.task_id}:{e.old}->{e.new}({e.reason})" for e in self.transitions())

    async def aclose(self) -> None:
        self._sub.unsubscribe()
        if not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class EngineRunner:
    """Starts engines in the background and makes sure none outlives its test."""

    def __init__(self) -> None:
        self._runs: list[tuple[Any, asyncio.Task[Any], Recorder]] = []

    def start(self, engine: Any, stay_open: bool = False) -> tuple[asyncio.Task[Any], Recorder]:
        recorder = Recorder(engine.bus)
        task = asyncio.get_running_loop().create_task(engine.run(stay_open=stay_open))
        self._runs.append((engine, task, recorder))
        return task, recorder

    async def run(self, engine: Any, timeout: float = EVENT_TIMEOUT) -> tuple[dict[str, TaskState], Recorder]:
        """Run ``engine`` to the end; its final states and every event it published."""
        task, recorder = self.start(engine)
        states = await asyncio.wait_for(task, timeout)
        await recorder.finished()
        return states, recorder

    async def aclose(self) -> None:
        for engine, task, recorder in self._runs:
            # shown by pytest only when the test failed: what each task went through, and why
            print(f"run {engine.run_id}: {recorder.summary()}")
            for e in recorder.of(LogLines):
                if e.stream in ("engine", "stderr"):
                    print(f"  {e.task_id} [{e.stream}] " + " | ".join(e.lines)[:500])
            if not task.done():
                task.cancel()  # run()'s own cleanup stops every agent it started
                await asyncio.gather(task, return_exceptions=True)
            await recorder.aclose()


def plan_of(*tasks: dict[str, Any], profiles: Any = None, **top: Any):
    """A Plan from task tables (as a TOML file would give them); the default agent is ``shell``."""
    from engine.plan import parse_plan
    from engine.profiles import ProfileSet

    data = {"agent": "shell", **top, "task": list(tasks)}
    return parse_plan(data, profiles or ProfileSet())


def make_engine(plan: Any, repo: Path | None, profiles: Any = None, **options: Any):
    """An Engine tuned for tests: tiny backoff and stop grace, so nothing waits for long."""
    from engine.options import EngineOptions
    from engine.profiles import ProfileSet
    from engine.scheduler import Engine

    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_max", 0.05)
    options.setdefault("stop_grace", 0.3)
    return Engine(plan, profiles or ProfileSet(), repo, EngineOptions(**options))


def wait_for_file(path: Path | str) -> str:
    """A bash line that waits (in short sleeps) until ``path`` exists: a gate a test opens."""
    return f'while [ ! -e "{path}" ]; do sleep 0.02; done'
