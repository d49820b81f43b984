"""The results of the survival measure (:func:`sessions.survival.measure.measure`), and the git-measured
effective work rate over them.

Ratio None rules
  * the session added no meaningful lines (``added == 0``): nothing can survive, 0/0 is not a rate;
  * ``method == "lost"``;
  * a horizon not reached yet (``now < end_time + horizon``): not yet measurable;
  * a horizon before which the branch has no commit.
``ewr_git`` sums only the sessions with a ratio.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.formatting import usd

__all__ = [
    "DAY",
    "DEFAULT_HORIZONS",
    "METHODS",
    "FileSurvival",
    "HorizonPoint",
    "PartPoint",
    "PartSurvival",
    "RevertingCommit",
    "SurvivalResult",
    "ewr_git",
    "horizon_label",
    "work_lines",
]

DEFAULT_HORIZONS: tuple[float, ...] = (1, 7, 30)
DAY = 86_400
METHODS = ("blame", "patch-id", "content", "lost")
RESULT_VERSION = 2


def horizon_label(days: float) -> str:
    return f"{days:g}d"


@dataclass
class FileSurvival:
    path: str  # at the session's end
    path_at_head: str | None  # where its lines are at head after renames; None when it is gone
    added: int
    surviving: int  # found in that file (lines moved to other files count in moved_elsewhere)


@dataclass
class RevertingCommit:
    sha: str
    reverts: list[str]  # the session commits it reverts
    how: str  # "message" | "patch-id"


@dataclass
class HorizonPoint:
    days: float
    due: int  # end_time + days, seconds since the epoch
    reached: bool
    head: str | None = None
    ratio: float | None = None
    surviving: int | None = None
    method: str | None = None
    reverted: bool | None = None
    reason: str | None = None


@dataclass
class PartPoint:
    """One part (a task, the developer's own commits, an imported range) at one head."""

    surviving: int | None  # None: not measured there (horizon not reached, no head)
    method: str | None = None  # how its lines were found: "merge" | "patch-id" | "content" | "none"
    note: str | None = None  # "never reviewed", "discarded", ...


@dataclass
class PartSurvival:
    """What one task's own commits (or the developer's, or an imported range) added and what stuck."""

    key: str  # the task key, "(own)" or "(range)"
    added: int
    surviving: int  # at the main head; 0 for discarded or undecided work
    decision: str | None = None  # "accepted" | "discarded" | None (never reviewed); tasks only
    agent: str = ""
    cost_usd: float | None = None
    method: str | None = None
    note: str | None = None
    horizons: dict[str, PartPoint] = field(default_factory=dict)
    reverting: list[RevertingCommit] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)  # path at its tip -> lines added

    @property
    def ratio(self) -> float | None:
        return self.surviving / self.added if self.added else None

    @property
    def cost_per_line(self) -> float | None:
        """Cost per line that stuck (None: no cost known or nothing stuck)."""
        if self.cost_usd is None or not self.surviving:
            return None
        return self.cost_usd / self.surviving


@dataclass
class SurvivalResult:
    start: str | None
    end: str
    head: str  # the commit the main figure was taken at (``at`` resolved)
    added: int
    surviving: int
    ratio: float | None
    method: str  # "blame" | "patch-id" | "content" | "lost"
    reverted: bool
    reverting_commits: list[RevertingCommit]
    horizons: dict[str, float | None]  # {"1d": ratio | None, ...}
    horizon_points: dict[str, HorizonPoint]
    per_file: list[FileSurvival]
    moved_elsewhere: int = 0  # surviving lines found in files other than their own
    excluded: dict[str, str] = field(default_factory=dict)  # files left out of A, and why
    mapped: dict[str, str] = field(default_factory=dict)  # session commit -> its copy at head
    reason: str | None = None  # why ratio is None, or what the method means here
    measured_at: float = 0.0  # the ``now`` of the measure
    options: dict[str, Any] = field(default_factory=dict)
    kind: str = "tasks"  # "tasks": a cockpit session's task branches; "range": an imported commit range
    rule: str = ""  # which commits were counted as the agents', in words
    tasks: list[PartSurvival] = field(default_factory=list)  # one per task (or the imported range)
    own: PartSurvival | None = None  # the developer's own commits during the session: never in EWR(git)
    missing: dict[str, str] = field(default_factory=dict)  # tasks with no record of their work, and why

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = RESULT_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SurvivalResult":
        data = dict(data)
        if data.pop("version", None) != RESULT_VERSION:
            raise ValueError("survival result of another version")
        data["reverting_commits"] = [RevertingCommit(**r) for r in data["reverting_commits"]]
        data["horizon_points"] = {k: HorizonPoint(**v) for k, v in data["horizon_points"].items()}
        data["per_file"] = [FileSurvival(**f) for f in data["per_file"]]
        data["tasks"] = [_part(t) for t in data.get("tasks", [])]
        data["own"] = None if data.get("own") is None else _part(data["own"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> "SurvivalResult":
        return cls.from_dict(json.loads(text))

    def stale(self, now: float) -> bool:
        """True when a horizon that was not reached when this was measured is reached by ``now``."""
        return any(not p.reached and now >= p.due for p in self.horizon_points.values())


def work_lines(result: SurvivalResult) -> list[str]:
    """In words, under a session's figures: the rule of an imported one, each task (its profile, lines
    done, stuck, cost per line that stuck, decision, reverts), the developer's own commits apart."""
    lines = []
    if result.kind == "range":
        lines.append(f"counted: {result.rule}")
    for task in result.tasks:
        if task.key.startswith("("):
            continue
        stuck = f" ({task.surviving / task.added:.0%})" if task.added else ""
        cost = "" if task.cost_per_line is None else f", {usd(task.cost_per_line)} a line that stuck"
        flags = [task.decision or "never reviewed"]
        if any(p.note == "never reviewed" for p in task.horizons.values()) and "never reviewed" not in flags:
            flags.append("never reviewed")
        flags += [f"reverted by {r.sha[:8]} ({r.how})" for r in task.reverting]
        agent = f" ({task.agent})" if task.agent else ""
        lines.append(f"task {task.key}{agent}: +{task.added:,}, stuck {task.surviving:,}{stuck}{cost}"
                     f" · {', '.join(flags)}")
    for key, why in result.missing.items():
        lines.append(f"task {key}: not measured, {why}")
    own = result.own
    if own is not None and own.added:
        lines.append(f"your own: +{own.added:,}, {own.surviving / own.added:.0%} still there (not in EWR(git))")
    return lines


def _part(data: dict[str, Any]) -> PartSurvival:
    data = dict(data)
    data["horizons"] = {k: PartPoint(**v) for k, v in data.get("horizons", {}).items()}
    data["reverting"] = [RevertingCommit(**r) for r in data.get("reverting", [])]
    return PartSurvival(**data)


def ewr_git(results: Iterable[SurvivalResult]) -> tuple[float | None, int]:
    """Git-measured effective work rate: Σ surviving / Σ added over the sessions with a ratio.

    Returns (rate, how many sessions counted); (None, 0) when none has a ratio.
    """
    added = surviving = count = 0
    for result in results:
        if result.ratio is None or result.added <= 0:
            continue
        added += result.added
        surviving += result.surviving
        count += 1
    return (surviving / added if added else None), count
