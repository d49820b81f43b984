"""The session summary: plain dataclasses holding every field of the summary format, no I/O.

The format is the Markdown file of a session (``summary<label>.md``); ``sessions.summary.parse``
reads it and ``sessions.summary.export`` writes it. Text fields hold Markdown verbatim (the body of their
section, without leading or trailing blank lines); a blank value is ``""`` for text and ``None``
for everything else.

Sections the format does not name are kept in ``extra_sections``, each with the place it stood
(``after``, see ``ANCHORS``; the importer lists them in written order: by anchor, then document
order). Text found inside a known section that belongs to no field is kept in ``loose_text`` (see
``LOOSE_KEYS``). Both are written back where they came from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "ANCHORS",
    "CHANGE_TYPES",
    "COLLAB_ANCHORS",
    "LOOSE_KEYS",
    "OUTCOMES",
    "STATUSES",
    "TOP_ANCHORS",
    "ExtraSection",
    "FileChangeRow",
    "Intervention",
    "SessionSummary",
    "parse_line_counts",
]

STATUSES = ("active", "complete", "blocked", "abandoned")
# Previous session outcome: fully used, partially used, not used, too early to tell, not applicable.
OUTCOMES = ("fully", "partially", "not-used", "too-early", "na")
CHANGE_TYPES = ("created", "modified", "deleted", "renamed")

# Where an extra section stood: after the named top-level section ("start" = before the title).
TOP_ANCHORS = (
    "start", "title", "north_star", "checklist", "metadata", "objective", "previous",
    "work_completed", "files_changed", "collaboration", "technical_notes", "next_priorities",
    "usage",
)
# Level-3 extra sections inside "## Collaboration Assessment", after the named subsection.
COLLAB_ANCHORS = (
    "collaboration:start", "collaboration:interventions", "collaboration:what_worked",
    "collaboration:what_didnt", "collaboration:rating",
)
# Every anchor, in the order the exporter writes them; the importer orders extra_sections so
# (stable: sections at one anchor keep their document order).
ANCHORS = TOP_ANCHORS[:9] + COLLAB_ANCHORS + TOP_ANCHORS[9:]
# Known sections that may hold text no field takes (written back at that place).
LOOSE_KEYS = (
    "start", "title", "metadata", "previous", "files_changed", "collaboration", "interventions",
    "rating", "usage",
)

_COUNT = re.compile(r"^\s*(?:\+\s*(\d+))?\s*[,/;]?\s*(?:[-\u2212]\s*(\d+))?\s*$")


def parse_line_counts(lines: str) -> tuple[int | None, int | None]:
    """``(added, removed)`` from a Lines cell: "+64" → (64, 0), "-5" → (0, 5), "+3 -1" → (3, 1).

    Anything else ("", "~90" which is an estimate, "binary", "lots") is unknown: (None, None).
    """
    m = _COUNT.match(lines)
    if not m or (m.group(1) is None and m.group(2) is None):
        return None, None
    return int(m.group(1) or 0), int(m.group(2) or 0)


@dataclass
class FileChangeRow:
    """One row of the Files Changed table, as text; ``added``/``removed`` are read from ``lines``."""

    path: str
    change_type: str = ""  # created/modified/deleted/renamed, or another word kept as given
    lines: str = ""  # as written: "+64", "~90", "+3 -1"

    @property
    def added(self) -> int | None:
        return parse_line_counts(self.lines)[0]

    @property
    def removed(self) -> int | None:
        return parse_line_counts(self.lines)[1]

    @classmethod
    def from_counts(
        cls, path: str, change_type: str, added: int | None, removed: int | None,
        *, old_path: str | None = None,
    ) -> FileChangeRow:
        """A row from git numbers (``None`` = binary); a rename shows as ``old → new``."""
        shown = f"{old_path} \u2192 {path}" if old_path else path
        if added is None or removed is None:
            lines = "binary"
        elif added and removed:
            lines = f"+{added} -{removed}"
        elif removed:
            lines = f"-{removed}"
        else:
            lines = f"+{added}"
        return cls(shown, change_type, lines)


@dataclass
class Intervention:
    """One row of the interventions table."""

    when: str = ""  # as written, e.g. "10:42"
    what: str = ""
    type: str = ""  # redirect, pause, cancel, retry, message, note, ...


@dataclass
class ExtraSection:
    """A section the format does not name, kept verbatim.

    ``level`` is the heading level (1 or 2 at top level, 3 inside Collaboration Assessment);
    ``heading`` the heading text without the ``#``s; ``body`` everything under it up to the next
    section, without surrounding blank lines and the closing ``---``; ``after`` one of ``ANCHORS``.
    """

    heading: str
    body: str = ""
    level: int = 2
    after: str = "next_priorities"

    def __post_init__(self) -> None:
        if self.after not in ANCHORS:
            raise ValueError(f"unknown anchor {self.after!r}")
        if (self.level == 3) != (self.after in COLLAB_ANCHORS) or self.level not in (1, 2, 3):
            raise ValueError(f"level {self.level} does not fit anchor {self.after!r}")


@dataclass
class SessionSummary:
    date: date | None = None
    day_number: int | None = None  # session number of that day, from 1
    start_commit: str = ""
    end_commit: str = ""
    status: str | None = None  # one of STATUSES
    objective: str = ""
    previous_session: str = ""  # e.g. "2026-03-04 Session 1 (summary20260304.1.md)"
    previous_outcome: str | None = None  # one of OUTCOMES
    work_completed: str = ""
    files_changed: list[FileChangeRow] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)
    intervention_count: int | None = None
    what_worked: str = ""
    what_didnt: str = ""
    rating: int | None = None  # 1..5
    rating_notes: str = ""
    technical_notes: str = ""
    next_priorities: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    # Tasks whose agent reported no billed tokens: their tokens are not in the counts above, which are
    # then a floor. Approximate: some agent rounded its figures. Both describe the counts, so they need one.
    tokens_unknown: int = 0
    tokens_approximate: bool = False
    extra_sections: list[ExtraSection] = field(default_factory=list)
    loose_text: dict[str, str] = field(default_factory=dict)  # keys: LOOSE_KEYS
    # The checklist as a file recorded it (checklist key → ticked); None when not read from a file.
    # Derived state, so not part of equality: the exporter recomputes it unless told otherwise.
    checklist: dict[str, bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.previous_outcome is not None and self.previous_outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.previous_outcome!r} is not one of {', '.join(OUTCOMES)}")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise ValueError(f"rating {self.rating} is not 1-5")
        if self.cost_usd is not None and not math.isfinite(self.cost_usd):
            raise ValueError("cost must be a finite number")
        if self.tokens_unknown < 0:
            raise ValueError("tasks with unknown tokens cannot be fewer than none")
        if (self.tokens_unknown or self.tokens_approximate) and self.tokens_in is None and self.tokens_out is None:
            raise ValueError("unknown or approximate tokens describe token counts, and there are none")
        for key in self.loose_text:
            if key not in LOOSE_KEYS:
                raise ValueError(f"unknown loose-text section {key!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (dates as ISO strings); ``from_dict`` reverses it."""
        return {
            "format": 1,
            "date": self.date.isoformat() if self.date else None,
            "day_number": self.day_number,
            "start_commit": self.start_commit,
            "end_commit": self.end_commit,
            "status": self.status,
            "objective": self.objective,
            "previous_session": self.previous_session,
            "previous_outcome": self.previous_outcome,
            "work_completed": self.work_completed,
            "files_changed": [
                {"path": r.path, "change_type": r.change_type, "lines": r.lines,
                 "added": r.added, "removed": r.removed}
                for r in self.files_changed
            ],
            "interventions": [
                {"when": i.when, "what": i.what, "type": i.type} for i in self.interventions
            ],
            "intervention_count": self.intervention_count,
            "what_worked": self.what_worked,
            "what_didnt": self.what_didnt,
            "rating": self.rating,
            "rating_notes": self.rating_notes,
            "technical_notes": self.technical_notes,
            "next_priorities": self.next_priorities,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "tokens_unknown": self.tokens_unknown,
            "tokens_approximate": self.tokens_approximate,
            "extra_sections": [
                {"heading": e.heading, "body": e.body, "level": e.level, "after": e.after}
                for e in self.extra_sections
            ],
            "loose_text": dict(self.loose_text),
            "checklist": dict(self.checklist) if self.checklist is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionSummary:
        """Rebuild from ``to_dict`` output; missing keys take their defaults."""
        d = dict(data)
        d.pop("format", None)
        raw_date = d.pop("date", None)
        rows = d.pop("files_changed", None) or []
        people = d.pop("interventions", None) or []
        extras = d.pop("extra_sections", None) or []
        names = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in d.items() if k in names}
        return cls(
            date=date.fromisoformat(raw_date) if raw_date else None,
            files_changed=[
                FileChangeRow(r["path"], r.get("change_type", ""), r.get("lines", "")) for r in rows
            ],
            interventions=[
                Intervention(i.get("when", ""), i.get("what", ""), i.get("type", "")) for i in people
            ],
            extra_sections=[
                ExtraSection(e["heading"], e.get("body", ""), e.get("level", 2),
                             e.get("after", "next_priorities"))
                for e in extras
            ],
            **kwargs,
        )
