"""The completeness checklist of a session summary and its score line.

Twelve lines in three groups; each line's rule, as applied by ``completeness``:

Required (Cockpit fills)
  metadata      date, session number, start and end commit and status are all set.
  objective     one clear sentence: a single paragraph, not a list, 3 to 40 words, no sentence
                break inside (". " / "! " / "? " followed by more text), not a placeholder.
  deliverables  work completed names something concrete: at least one line (list item or
                paragraph, headings aside) of two or more words that is not a placeholder.
  files_table   at least one row, every row with a path and a change type; or no rows and the
                start commit equals the end commit (nothing changed).
  end_commit    the end commit is set (not blank, not a placeholder).
  status        status is Complete, Blocked or Abandoned (set, and no longer Active).
Required (Human fills)
  previous      a previous-session outcome is ticked (any of the five, "too early" and N/A too).
  interventions at least one intervention row, or the count says 0 ("none" noted).
  rating        a rating 1-5 is given.
Optional but Valuable
  worked        both "What Worked" and "What Didn't Work" are filled in.
  technical     technical notes are filled in.
  priorities    next session priorities are filled in.

"Filled in" means some line holds text other than list markers, punctuation and placeholders
("TBD", "TODO", "TBA", "XXX", "fill in", "pending"). A commit is "set" when it is such text and
not "none"/"N/A". A summary read from a file keeps the checklist the file recorded in
``SessionSummary.checklist``; ``completeness(s, use_recorded=True)`` reports that instead of the
rule for each line the file recorded.

The format's own example leaves "Technical notes" unticked although its Technical Notes section
holds a note: by these rules that line holds (6/6, 2/3, 3/3); the example's recorded checklist
gives the 6/6, 2/3, 2/3 it states.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sessions.summary.model import SessionSummary

__all__ = [
    "CHECKLIST", "GROUPS", "GROUP_HEADINGS", "ChecklistItem", "ChecklistLine", "Completeness",
    "completeness", "one_clear_sentence",
]

GROUPS = ("cockpit", "human", "optional")
GROUP_HEADINGS = {
    "cockpit": "Required (Cockpit fills)",
    "human": "Required (Human fills)",
    "optional": "Optional but Valuable",
}


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    group: str  # one of GROUPS
    label: str  # as written in the Markdown checklist


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("metadata", "cockpit", "Metadata complete (date, session#, commits, status)"),
    ChecklistItem("objective", "cockpit", "Objective is one clear sentence"),
    ChecklistItem("deliverables", "cockpit", "Work completed has concrete deliverables"),
    ChecklistItem("files_table", "cockpit", "Files changed table is accurate"),
    ChecklistItem("end_commit", "cockpit", "End commit hash updated"),
    ChecklistItem("status", "cockpit", "Status updated to Complete/Blocked"),
    ChecklistItem("previous", "human", 'Previous session outcome assessed (or "N/A" if first)'),
    ChecklistItem("interventions", "human", 'Interventions logged (or "none" noted)'),
    ChecklistItem("rating", "human", "Rating provided (1-5)"),
    ChecklistItem("worked", "optional", "What worked / didn't work filled in"),
    ChecklistItem("technical", "optional", "Technical notes for future sessions"),
    ChecklistItem("priorities", "optional", "Next session priorities listed"),
)


@dataclass(frozen=True)
class ChecklistLine:
    item: ChecklistItem
    done: bool

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def label(self) -> str:
        return self.item.label

    @property
    def group(self) -> str:
        return self.item.group


@dataclass(frozen=True)
class Completeness:
    lines: tuple[ChecklistLine, ...]

    def group(self, group: str) -> tuple[ChecklistLine, ...]:
        return tuple(line for line in self.lines if line.group == group)

    def count(self, group: str) -> tuple[int, int]:
        """(lines that hold, lines in the group)."""
        lines = self.group(group)
        return sum(line.done for line in lines), len(lines)

    @property
    def cockpit(self) -> int:
        return self.count("cockpit")[0]

    @property
    def human(self) -> int:
        return self.count("human")[0]

    @property
    def optional(self) -> int:
        return self.count("optional")[0]

    @property
    def required_done(self) -> bool:
        """Every required line (cockpit and human) holds."""
        return all(line.done for line in self.lines if line.group != "optional")

    def states(self) -> dict[str, bool]:
        return {line.key: line.done for line in self.lines}

    def score_line(self) -> str:
        c, h, o = (self.count(g) for g in GROUPS)
        return (f"{c[0]}/{c[1]} required (Cockpit), {h[0]}/{h[1]} required (Human), "
                f"{o[0]}/{o[1]} optional")

    @classmethod
    def from_states(cls, states: Mapping[str, bool]) -> Completeness:
        """Lines from ``key → done``; a key not given counts as not done."""
        return cls(tuple(ChecklistLine(item, bool(states.get(item.key))) for item in CHECKLIST))


_PLACEHOLDERS = {"tbd", "todo", "tba", "xxx", "fill in", "pending"}
_PUNCT = " .,:;!?-_*\u2026`'\"()[]<>"
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])(?:\s+\[[ xX]\])?(?:\s+|$)")
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]*\s+\S")


def _content_lines(text: str) -> list[str]:
    """Lines that say something: list markers removed; headings, blanks and placeholders left out."""
    out = []
    for raw in text.split("\n"):
        if raw.lstrip().startswith("#"):
            continue
        line = _LIST_MARK.sub("", raw).strip()
        key = line.lower().strip(_PUNCT)
        if key and key not in _PLACEHOLDERS:
            out.append(line)
    return out


def _filled(text: str) -> bool:
    return bool(_content_lines(text))


def _is_set(value: str) -> bool:
    key = value.strip().lower().strip(_PUNCT)
    return bool(key) and key not in _PLACEHOLDERS and key not in {"none", "n/a", "na"}


def one_clear_sentence(text: str) -> bool:
    """See the module docstring: one paragraph, no list, 3-40 words, one sentence, not a placeholder."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if len(paragraphs) != 1 or any(_LIST_MARK.match(line) for line in text.split("\n")):
        return False
    sentence = " ".join(paragraphs[0].split())
    words = sentence.split(" ")
    if not 3 <= len(words) <= 40 or not _filled(sentence):
        return False
    return not _SENTENCE_BREAK.search(sentence)


def _deliverables(text: str) -> bool:
    return any(len(line.split()) >= 2 for line in _content_lines(text))


def _files_table(s: SessionSummary) -> bool:
    if s.files_changed:
        return all(r.path.strip() and r.change_type.strip() for r in s.files_changed)
    return _is_set(s.start_commit) and s.start_commit.strip() == s.end_commit.strip()


def _rules(s: SessionSummary) -> dict[str, bool]:
    return {
        "metadata": (s.date is not None and s.day_number is not None and _is_set(s.start_commit)
                     and _is_set(s.end_commit) and s.status is not None),
        "objective": one_clear_sentence(s.objective),
        "deliverables": _deliverables(s.work_completed),
        "files_table": _files_table(s),
        "end_commit": _is_set(s.end_commit),
        "status": s.status in ("complete", "blocked", "abandoned"),
        "previous": s.previous_outcome is not None,
        "interventions": bool(s.interventions) or s.intervention_count == 0,
        "rating": s.rating is not None,
        "worked": _filled(s.what_worked) and _filled(s.what_didnt),
        "technical": _filled(s.technical_notes),
        "priorities": _filled(s.next_priorities),
    }


def completeness(summary: SessionSummary, *, use_recorded: bool = False) -> Completeness:
    """The checklist of ``summary`` by the rules above.

    With ``use_recorded`` a line the summary's recorded checklist (read from a file) holds is
    taken from there instead; lines it lacks still follow the rules.
    """
    states = _rules(summary)
    if use_recorded and summary.checklist:
        states.update({k: v for k, v in summary.checklist.items() if k in states})
    return Completeness.from_states(states)
