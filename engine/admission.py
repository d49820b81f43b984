"""Admission: which profile runs a task, and whether it may start now (routing, slots, circuit breakers).

When the plan has a task that lets the engine choose its profile, a profile with its own
``max_parallel``, or a circuit breaker has been tripped, each task passes :meth:`Admission.admit` before
it starts: it is routed (:mod:`engine.routing`; a ``TaskRouted`` event and a pane line), and it waits
(*held*, in a queue of its profile) while its profile runs its own ``max_parallel`` tasks or its breaker
is open (:mod:`engine.breakers`). A held task goes back to the front of the queue when a slot of its
profile frees or its breaker closes; a routed task whose profile's breaker opens is routed again.
Without any of these the start path is the plain one. Every step stays O(1) per task.

:class:`Admission` owns the slots, the held queues and the breakers; the engine asks it before a start
and tells it when an attempt ends. A held task that may start again goes back to the engine through the
``requeue`` it is given (the engine's queues are the engine's).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable

from engine.formatting import plural
from engine.agents.base import FAILURE_KINDS, AgentExit
from engine.breakers import CLOSED, HALF_OPEN, OPEN, Breaker
from engine.durations import format_duration
from engine.errors import CommandError
from engine.events import BreakerChanged, EventBus, TaskRouted
from engine.plan import TaskSpec
from engine.profiles import AgentProfile
from engine.routing import AUTO, Router
from engine.states import TaskState
from engine.task_run import TaskRun

S = TaskState
_EXTERNAL = frozenset(FAILURE_KINDS)
# An attempt that ended in these states (without an external failure) shows the profile works.
_RAN_STATES = frozenset({S.SUCCEEDED, S.FAILED, S.TIMED_OUT})


class Admission:
    """Routing, per-profile slots, held queues and circuit breakers of a run."""

    def __init__(
        self, bus: EventBus, profiles: dict[str, AgentProfile], *, router: Router, auto_profiles: tuple[str, ...],
        breaker_threshold: int, breaker_cooldown: float, gated: bool,
        emit: Callable[[TaskRun, str, list[str]], None], missing_program: Callable[[AgentProfile], str | None],
        requeue: Callable[[TaskRun], bool], kick: Callable[[], None],
    ) -> None:
        """``requeue`` puts a held task back at the front of the engine's queue (False for a stale entry);
        ``kick`` starts what can start."""
        self.bus = bus
        self.router = router
        self.auto_profiles = auto_profiles
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown = breaker_cooldown
        self._profiles = profiles
        self._emit = emit
        self._missing_program = missing_program
        self._requeue = requeue
        self._kick = kick
        self.breakers: dict[str, Breaker] = {}
        # profiles with their own max_parallel, and the tasks running on each
        self._limit = {name: p.max_parallel for name, p in profiles.items() if p.max_parallel}
        self._running_by: dict[str, int] = dict.fromkeys(self._limit, 0)
        self._held: dict[str, deque[TaskRun]] = {}  # per profile: tasks waiting for a slot or its breaker
        self._held_any: deque[TaskRun] = deque()  # routed tasks with no candidate available for now
        # admission has work to do (see the module's docstring); else tasks start on the plain path
        self.gated = gated or bool(self._limit)
        self._closed = False

    def close(self) -> None:
        """The run is over: no cool-down ends any more."""
        for breaker in self.breakers.values():
            breaker.cancel_timer()
        self._closed = True

    # ------------------------------------------------------------------------ routing and slots
    def admit(self, run: TaskRun) -> bool:
        """Whether ``run`` may start now: routes it if it must be, holds it (False) while its profile is
        full or its breaker is open. A routed task none of whose candidates is installed is admitted
        without a profile: its attempt fails it."""
        name = run.profile
        if run.spec.agents and (name is None or self._breaker_blocks(name)):
            name = self._route(run)
            if name is None:  # held, or (route_problem) failed by its attempt
                return bool(run.route_problem)
        assert name is not None
        breaker = self.breakers.get(name) if self.breakers else None
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
            self._hold(run, name, f"waiting: profile {name!r} already runs {plural(limit, 'task')} "
                                  "(its max_parallel)")
            return False
        if breaker is not None and breaker.state == HALF_OPEN:
            breaker.trial = True
            run.trial = True
        run.held = ""
        return True

    def _breaker_blocks(self, name: str) -> bool:
        breaker = self.breakers.get(name) if self.breakers else None
        return breaker is not None and breaker.state == OPEN

    def candidates(self, spec: TaskSpec) -> tuple[str, ...]:
        return self.auto_profiles if spec.agents == (AUTO,) else spec.agents

    def _route(self, run: TaskRun) -> str | None:
        """Choose the profile of a routed task; None when it must wait (it is then held) or no candidate
        is installed (``route_problem`` says so, and ``profile`` is None)."""
        spec = run.spec
        candidates = self.candidates(spec)
        available: list[str] = []
        notes: list[str] = []
        for name in candidates:
            problem = self._missing_program(self._profiles[name])
            breaker = self.breakers.get(name) if self.breakers else None
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

    def _hold(self, run: TaskRun, profile: str, why: str) -> None:
        """Park ``run`` until its profile (``""``: any breaker) can take it; the pane says why, once."""
        (self._held.setdefault(profile, deque()) if profile else self._held_any).append(run)
        if run.held != why:
            run.held = why
            self._emit(run, "engine", [why])

    def took_slot(self, run: TaskRun) -> None:
        """An attempt of ``run`` starts: it holds a slot of its profile if that profile has a limit."""
        profile = run.profile
        if profile in self._limit:
            self._running_by[profile] += 1  # type: ignore[index]
            run.counted = profile

    def attempt_end(self, run: TaskRun) -> None:
        """An attempt (or its start) is over: its profile's slot frees, a trial without a verdict is void."""
        if run.counted is not None:
            self._slot_freed(run)
        if run.trial:  # a half-open breaker's trial ended without a verdict: another task may try
            self._trial_void(run)

    def _slot_freed(self, run: TaskRun) -> None:
        profile, run.counted = run.counted, None
        assert profile is not None
        self._running_by[profile] -= 1
        queue = self._held.get(profile)
        while queue:  # the oldest live one goes back to the front of the line
            waiting = queue.popleft()
            if self._requeue(waiting):
                break

    def _release(self, profile: str) -> None:
        """Every task held for ``profile`` (and every routed task held for any) is considered again."""
        queues = [q for q in (self._held.pop(profile, None), self._held_any) if q]
        for queue in queues:
            while queue:
                self._requeue(queue.pop())  # from the newest, so the oldest ends first
        self._kick()

    # ------------------------------------------------------------------------ circuit breakers
    def _breaker(self, name: str) -> Breaker:
        breaker = self.breakers.get(name)
        if breaker is None:
            profile = self._profiles[name]
            breaker = self.breakers[name] = Breaker(
                name,
                profile.breaker_threshold or self.breaker_threshold,
                profile.breaker_cooldown or self.breaker_cooldown,
            )
            self.gated = True
        return breaker

    def breaker_failure(self, run: TaskRun, name: str, kind: str, reason: str) -> None:
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
            name, OPEN, f"{plural(breaker.failures, 'failure')} in a row outside the "
            f"task ({kind}: {reason})", breaker.failures, kind, breaker.until)
        self.bus.publish(event)
        until = time.strftime("%H:%M:%S", time.localtime(breaker.until))
        self._emit(run, "engine", [f"this failure opened the circuit breaker of profile {name!r}: no task starts "
                                   f"on it until {until} (or a reset)"])
        self._release(name)  # routed tasks held for it choose again; the others are held for the breaker

    def verdict(self, run: TaskRun, state: TaskState, outcome: AgentExit) -> None:
        """What the end of an attempt on ``run.profile`` tells the profile's breaker."""
        name = run.profile
        if name is None:
            return
        kind = outcome.failure_kind
        if kind in _EXTERNAL and state is S.FAILED:
            self.breaker_failure(run, name, kind, outcome.final_message or "the agent failed")
            return
        breaker = self.breakers.get(name)
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
        breaker = self.breakers.get(run.profile or "")
        if breaker is not None and breaker.state == HALF_OPEN and breaker.trial:
            breaker.trial = False
            self._release(breaker.profile)

    def _cool_down(self, name: str) -> None:
        breaker = self.breakers[name]
        breaker.half_open()
        if self._closed:
            return
        self.bus.publish(BreakerChanged(
            name, HALF_OPEN, f"the cool-down of {format_duration(breaker.cooldown)} passed: one task tries "
            "the profile again"))
        self._release(name)

    def reset(self, profile: str) -> None:
        """Close the circuit breaker of ``profile`` (the developer's command): its held tasks start."""
        if profile not in self._profiles:
            raise CommandError(f"no agent profile {profile!r}")
        breaker = self.breakers.get(profile)
        if breaker is None or breaker.state == CLOSED:
            raise CommandError(f"the circuit breaker of profile {profile!r} is not open")
        breaker.close()
        self.bus.publish(BreakerChanged(profile, CLOSED, "reset by the developer"))
        self._release(profile)

    def breaker_state(self, profile: str) -> Breaker | None:
        """The breaker of ``profile`` (state, failures in a row, last reason, cool-down end), or None
        while it never saw a failure outside its tasks."""
        return self.breakers.get(profile)

    @property
    def open_breakers(self) -> list[str]:
        """The profiles whose breaker is open or half-open."""
        return [name for name, b in self.breakers.items() if b.state != CLOSED]
