"""The completeness checklist and its score line."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from sessions.summary.completeness import (
    CHECKLIST,
    Completeness,
    completeness,
    one_clear_sentence,
)
from sessions.summary.model import FileChangeRow, Intervention, SessionSummary
from sessions.summary.parse import load_summary
from tests.helpers.paths import DATA

EXAMPLE = DATA / "summary20260304.2.md"


def full() -> SessionSummary:
    return SessionSummary(
        date=date(2026, 3, 4), day_number=2, start_commit="1a2b3c4", end_commit="9f8e7d6",
        status="complete", objective="Add CSV export to the report command.",
        previous_session="2026-03-04 Session 1", previous_outcome="fully",
        work_completed="- `report --format csv` writes one row per entry",
        files_changed=[FileChangeRow("src/export.py", "modified", "+64")],
        interventions=[Intervention("10:42", "redirected it", "redirect")], intervention_count=1,
        what_worked="- small tasks", what_didnt="- guessing", rating=4,
        technical_notes="- dialect is explicit", next_priorities="- streaming",
    )


def test_example_counts_as_the_example_says() -> None:
    s = load_summary(EXAMPLE)
    recorded = completeness(s, use_recorded=True)
    assert recorded.score_line() == "6/6 required (Cockpit), 2/3 required (Human), 2/3 optional"
    assert (recorded.cockpit, recorded.human, recorded.optional) == (6, 2, 2)
    # By the rules the example's Technical Notes section *is* filled in, so the computed checklist
    # ticks that line where the example's own checklist left it unticked.
    computed = completeness(s)
    assert computed.score_line() == "6/6 required (Cockpit), 2/3 required (Human), 3/3 optional"
    assert {k for k, v in computed.states().items() if not v} == {"rating"}
    assert {k for k, v in recorded.states().items() if not v} == {"rating", "technical"}


def test_labels_are_those_of_the_format() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    written = re.findall(r"^- \[[ xX]\] (.*)$", text, re.MULTILINE)
    assert [item.label for item in CHECKLIST] == written[:12]
    assert [item.group for item in CHECKLIST] == ["cockpit"] * 6 + ["human"] * 3 + ["optional"] * 3


def test_empty_and_full() -> None:
    empty = completeness(SessionSummary())
    assert empty.score_line() == "0/6 required (Cockpit), 0/3 required (Human), 0/3 optional"
    assert not empty.required_done
    done = completeness(full())
    assert done.score_line() == "6/6 required (Cockpit), 3/3 required (Human), 3/3 optional"
    assert done.required_done
    assert [line.label for line in done.group("human")] == [i.label for i in CHECKLIST[6:9]]
    assert done.count("optional") == (3, 3)


def states_after(**changes: object) -> dict[str, bool]:
    s = full()
    for key, value in changes.items():
        setattr(s, key, value)
    return completeness(s).states()


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"date": None}, {"metadata"}),
        ({"day_number": None}, {"metadata"}),
        ({"start_commit": ""}, {"metadata"}),
        ({"end_commit": ""}, {"metadata", "end_commit"}),
        ({"end_commit": "TBD"}, {"metadata", "end_commit"}),
        ({"status": None}, {"metadata", "status"}),
        ({"status": "active"}, {"status"}),
        ({"status": "blocked"}, set()),
        ({"status": "abandoned"}, set()),
        ({"objective": ""}, {"objective"}),
        ({"work_completed": ""}, {"deliverables"}),
        ({"work_completed": "- TBD\n- ..."}, {"deliverables"}),
        ({"work_completed": "### Heading only"}, {"deliverables"}),
        ({"work_completed": "Refactored the parser"}, set()),
        ({"files_changed": []}, {"files_table"}),
        ({"files_changed": [FileChangeRow("a.py", "", "+1")]}, {"files_table"}),
        ({"previous_outcome": None}, {"previous"}),
        ({"previous_outcome": "too-early"}, set()),
        ({"previous_outcome": "na"}, set()),
        ({"interventions": [], "intervention_count": None}, {"interventions"}),
        ({"interventions": [], "intervention_count": 2}, {"interventions"}),
        ({"interventions": [], "intervention_count": 0}, set()),
        ({"rating": None}, {"rating"}),
        ({"what_worked": ""}, {"worked"}),
        ({"what_didnt": "- TODO"}, {"worked"}),
        ({"technical_notes": "   "}, {"technical"}),
        ({"next_priorities": "-"}, {"priorities"}),
    ],
)
def test_each_rule(changes: dict[str, object], failing: set[str]) -> None:
    assert {k for k, v in states_after(**changes).items() if not v} == failing


def test_no_files_is_accurate_when_nothing_changed() -> None:
    assert states_after(files_changed=[], end_commit="1a2b3c4")["files_table"]
    assert not states_after(files_changed=[], start_commit="", end_commit="")["files_table"]


@pytest.mark.parametrize(
    ("objective", "ok"),
    [
        ("Add CSV export to the report command.", True),
        ("Fix the flaky login test", True),
        ("Make `report --format csv` stream rows (no list in memory)!", True),
        ("Version 2.0 of the parser ships today.", True),  # "2.0" is no sentence break
        ("TBD", False),
        ("Fix bugs", False),  # fewer than 3 words
        ("Add CSV export. Then add JSON export.", False),  # two sentences
        ("Add CSV export?\nAnd JSON.", False),
        ("- Add CSV export to the report", False),  # a list
        ("Add CSV export to the report.\n\nAlso docs for it.", False),  # two paragraphs
        (" ".join(["word"] * 41), False),  # too long to be clear
    ],
)
def test_one_clear_sentence(objective: str, ok: bool) -> None:
    assert one_clear_sentence(objective) is ok


def test_recorded_checklist_only_overrides_the_lines_it_has() -> None:
    s = full()
    s.checklist = {"rating": False}
    assert completeness(s, use_recorded=True).states()["rating"] is False
    assert completeness(s, use_recorded=True).human == 2
    assert completeness(s).human == 3  # recorded state is ignored unless asked for


def test_from_states() -> None:
    c = Completeness.from_states({"metadata": True, "rating": True, "unknown": True})
    assert c.score_line() == "1/6 required (Cockpit), 1/3 required (Human), 0/3 optional"
