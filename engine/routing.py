"""Routing: which agent profile runs a task whose plan lets the engine choose.

``agent = "auto"`` (the candidates are every profile that is not of kind ``shell``, or the list
``[routing] profiles`` of ``cockpit.toml``) or ``agent = ["claude", "codex"]`` (those, in that order).
A candidate is *available* when its program is installed (for an API profile: its key is set) and its
circuit breaker is not open (:mod:`engine.breakers`). The strategy (``routing`` in the plan or the task,
default ``fixed``):

- ``fixed``: the first available candidate;
- ``round-robin``: the next available candidate in turn (a turn per candidate list, for the run);
- ``best``: the candidate whose past tasks of the same role in this repository have the best record,
  from a :class:`TrackRecord` the engine is given (the sessions store implements it): the highest
  accepted share, then the highest survival where it was measured (a measured survival beats none).
  A record counts only from ``min_tasks`` past tasks (default 5): while any available candidate has
  fewer, the choice falls back to round-robin (so that a profile never tried still gets its turns).

The engine calls :meth:`Router.choose` when a routed task starts (and again when the profile chosen
before has its breaker open); the choice and its reason go to the task's pane and to a
``TaskRouted`` event.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, Sequence

AUTO = "auto"
STRATEGIES = ("fixed", "round-robin", "best")
DEFAULT_STRATEGY = "fixed"
DEFAULT_MIN_TASKS = 5


class Record(NamedTuple):
    """A profile's past tasks of one role in this repository."""

    tasks: int  # the tasks that count: decided by the developer (accepted or discarded)
    accepted_share: float | None  # accepted / tasks; None without tasks
    survival: float | None  # git survival of its accepted work, where measured (None: never)


class TrackRecord(Protocol):
    """Past results by profile and role (``role`` None: tasks without a role)."""

    def record(self, profile: str, role: str | None) -> Record | tuple[int, float | None, float | None]: ...


@dataclass(frozen=True)
class Choice:
    profile: str
    strategy: str  # the strategy that decided (``round-robin`` when ``best`` fell back)
    reason: str


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


class Router:
    def __init__(self, track_record: TrackRecord | None = None, min_tasks: int = DEFAULT_MIN_TASKS) -> None:
        self.track_record = track_record
        self.min_tasks = min_tasks
        self._turns: dict[tuple[str, ...], int] = {}

    def choose(self, candidates: Sequence[str], available: Sequence[str], strategy: str,
               role: str | None = None) -> Choice | None:
        """The profile for a task (None when no candidate is available)."""
        if not available:
            return None
        among = ", ".join(candidates)
        if strategy == "fixed":
            first = available[0]
            skipped = [c for c in candidates[: candidates.index(first)]] if first in candidates else []
            note = f" ({', '.join(skipped)} unavailable)" if skipped else ""
            return Choice(first, "fixed", f"first available of {among}{note}")
        if strategy == "best":
            return self._best(candidates, available, role)
        return self._round_robin(candidates, available, "round-robin")

    def _round_robin(self, candidates: Sequence[str], available: Sequence[str], why: str) -> Choice:
        key = tuple(candidates)
        start = self._turns.get(key, 0)
        n = len(key)
        for step in range(n):
            index = (start + step) % n
            if key[index] in available:
                self._turns[key] = index + 1
                return Choice(key[index], "round-robin", f"{why} over {', '.join(candidates)}")
        choice = available[0]  # a candidate outside the list (cannot happen through the engine)
        return Choice(choice, "round-robin", f"{why} over {', '.join(candidates)}")

    def _best(self, candidates: Sequence[str], available: Sequence[str], role: str | None) -> Choice:
        what = f"past {role} tasks" if role else "past tasks without a role"
        if self.track_record is None:
            return self._round_robin(candidates, available, "best: no track record is available; round-robin")
        records = {p: Record(*self.track_record.record(p, role)) for p in available}
        short = [p for p in available if records[p].tasks < self.min_tasks]
        if short:
            counts = ", ".join(f"{p} {records[p].tasks}" for p in available)
            return self._round_robin(
                candidates, available,
                f"best: too few {what} in this repository ({counts}; {self.min_tasks} needed); round-robin",
            )

        def rank(p: str) -> tuple[float, float]:
            r = records[p]
            return (r.accepted_share or 0.0, -1.0 if r.survival is None else r.survival)

        best = max(available, key=rank)  # max keeps the first of equals: the candidates' order
        others = "; ".join(f"{p} {_pct(records[p].accepted_share)} of {records[p].tasks}"
                           + (f", survival {_pct(records[p].survival)}" if records[p].survival is not None else "")
                           for p in available if p != best)
        r = records[best]
        survival = f", survival {_pct(r.survival)}" if r.survival is not None else ""
        return Choice(best, "best", f"best record of {what}: {_pct(r.accepted_share)} accepted of {r.tasks}"
                      f"{survival}" + (f" (vs {others})" if others else ""))
