"""Effective work rate as the human sees it: the mean assessed outcome of earlier sessions.

Fully used counts 1.0, partially used 0.5, not used 0.0. "Too early" is not a value (the session
stays pending and is asked about again later) and "n/a" is left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from engine.formatting import plural
from sessions.store.rows import SessionRow

OUTCOME_VALUE = {"fully": 1.0, "partially": 0.5, "not-used": 0.0}
RECENT = 10


@dataclass(frozen=True)
class WorkRate:
    value: float | None  # None when no session is assessed
    count: int  # the assessed sessions behind the value

    def text(self) -> str:
        if self.value is None:
            return "no assessed sessions yet"
        return f"{self.value:.0%} over {plural(self.count, 'session')}"


@dataclass(frozen=True)
class HumanWorkRate:
    all_time: WorkRate
    recent: WorkRate  # over the last RECENT assessed sessions
    recent_size: int = RECENT

    def to_dict(self) -> dict[str, object]:
        return {
            "ewr_human": self.all_time.value, "ewr_human_count": self.all_time.count,
            f"ewr_human_last_{self.recent_size}": self.recent.value,
            f"ewr_human_last_{self.recent_size}_count": self.recent.count,
        }


def _rate(values: list[float]) -> WorkRate:
    return WorkRate(sum(values) / len(values) if values else None, len(values))


def human_work_rate(sessions: Iterable[SessionRow], recent: int = RECENT) -> HumanWorkRate:
    """``sessions`` newest first (as the store lists them); only assessed outcomes with a value count."""
    values = [OUTCOME_VALUE[s.outcome] for s in sessions if s.outcome in OUTCOME_VALUE]
    return HumanWorkRate(_rate(values), _rate(values[:recent]), recent)
