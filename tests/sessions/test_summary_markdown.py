"""Markdown export/import of session summaries (the format of sessions.summary.model)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions.summary.completeness import completeness
from sessions.summary.model import (
    ANCHORS,
    CHANGE_TYPES,
    COLLAB_ANCHORS,
    LOOSE_KEYS,
    OUTCOMES,
    STATUSES,
    TOP_ANCHORS,
    ExtraSection,
    FileChangeRow,
    Intervention,
    SessionSummary,
    parse_line_counts,
)
from sessions.summary.export import export_markdown, summary_filename
from sessions.summary.parse import SummaryFormatError, load_summary, parse_markdown, section_key
from tests.helpers.paths import DATA

EXAMPLE = DATA / "summary20260304.2.md"  # the example of the format document, verbatim
EXTRAS = DATA / "summary20260306.1.md"  # extra sections, loose text, usage, a code fence
PARTIAL = DATA / "summary20260305.1.md"  # blank values, missing sections, no separators


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------- well-formed


def test_example_reads_every_field() -> None:
    s = load_summary(EXAMPLE)
    assert s.date == date(2026, 3, 4) and s.day_number == 2
    assert (s.start_commit, s.end_commit, s.status) == ("1a2b3c4", "9f8e7d6", "complete")
    assert s.objective == "Add CSV export to the report command."
    assert s.previous_session == "2026-03-04 Session 1 (summary20260304.1.md)"
    assert s.previous_outcome == "partially"
    assert s.work_completed == (
        "### CSV export\n- `report --format csv` writes one row per entry\n"
        "- Header row matches the JSON field names"
    )
    assert s.files_changed == [
        FileChangeRow("src/report/export.py", "modified", "+64"),
        FileChangeRow("tests/test_export.py", "created", "~90"),
    ]
    assert (s.files_changed[0].added, s.files_changed[0].removed) == (64, 0)
    assert (s.files_changed[1].added, s.files_changed[1].removed) == (None, None)  # "~" = estimate
    assert s.interventions == [
        Intervention("10:42", "Agent wrote to the wrong module; redirected it", "redirect")
    ]
    assert s.intervention_count == 1
    assert s.what_worked == "- Small tasks with one file each"
    assert s.what_didnt == "- The agent guessed the CSV dialect"
    assert s.rating is None and s.rating_notes == ""
    assert s.technical_notes == "- Dialect is now explicit (`excel`)"
    assert s.next_priorities == "- Stream large exports instead of building them in memory"
    assert (s.tokens_in, s.tokens_out, s.cost_usd) == (None, None, None)
    assert s.extra_sections == [] and s.loose_text == {}
    assert s.checklist is not None and s.checklist["technical"] is False and s.checklist["rating"] is False


def test_example_written_back_byte_for_byte_with_its_recorded_checklist() -> None:
    text = read(EXAMPLE)
    assert export_markdown(parse_markdown(text), checklist="recorded") == text


def test_export_computes_the_checklist_by_default() -> None:
    out = export_markdown(load_summary(EXAMPLE))
    # The example leaves "Technical notes" unticked although its Technical Notes section is filled.
    assert "- [x] Technical notes for future sessions" in out
    assert "**Completeness Score:** 6/6 required (Cockpit), 2/3 required (Human), 3/3 optional" in out
    assert "**Rating:** /5" in out
    assert out.startswith("# Session Summary - 2026-03-04 Session 2\n\n---\n\n## North Star Metric")


@pytest.mark.parametrize("path", [EXAMPLE, EXTRAS, PARTIAL], ids=lambda p: p.name)
def test_reparse_of_export_is_stable(path: Path) -> None:
    first = load_summary(path)
    text = export_markdown(first)
    again = parse_markdown(text)
    assert again == first
    assert export_markdown(again) == text


def test_rating_written_as_n_of_5() -> None:
    s = load_summary(EXAMPLE)
    s.rating, s.rating_notes = 4, "Solid."
    out = export_markdown(s)
    assert "**Rating:** 4/5\n\n**Notes:**\n\nSolid.\n" in out
    assert parse_markdown(out).rating == 4


# ------------------------------------------------------------------------------- partial


def test_partial_file_blank_values_and_missing_sections() -> None:
    s = load_summary(PARTIAL)
    assert s.date == date(2026, 3, 5) and s.day_number == 1  # from the file name
    assert s.start_commit == "4c5d6e7" and s.end_commit == "" and s.status == "active"
    assert s.objective == "Try the new agent profile on the flaky test."
    assert s.rating is None and s.rating_notes == ""
    assert s.files_changed == [] and s.work_completed == "" and s.technical_notes == ""
    assert s.previous_outcome is None and s.previous_session == ""
    assert s.interventions == [] and s.intervention_count == 0  # "None." counts as "none noted"
    assert s.loose_text == {"interventions": "None."}
    assert s.checklist is None  # no checklist section in the file
    out = export_markdown(s)
    assert "**Intervention Count:** 0\n\nNone.\n" in out
    assert "- **End Commit:**\n" in out and "- **Status:** Active\n" in out


def test_date_and_number_from_title_when_metadata_is_blank() -> None:
    s = parse_markdown("# Session Summary - 2026-01-02 Session 3\n\n## Metadata\n- **Date:**\n")
    assert (s.date, s.day_number) == (date(2026, 1, 2), 3)


def test_metadata_wins_over_title_and_title_over_file_name() -> None:
    text = "# Session Summary - 2026-01-02 Session 3\n\n## Metadata\n- **Session:** 5\n"
    s = parse_markdown(text, "Summary/summary20250101.9.md")
    assert (s.date, s.day_number) == (date(2026, 1, 2), 5)


def test_title_alone_is_enough_and_empty_sections_are_blank() -> None:
    s = parse_markdown("# Session Summary\n")
    assert s == SessionSummary()


def test_file_without_title_but_with_known_sections() -> None:
    s = parse_markdown("## Objective\n\nShip it today.\n", "summary20260101.2.md")
    assert (s.date, s.day_number, s.objective) == (date(2026, 1, 1), 2, "Ship it today.")


# ------------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("name", "line", "reason"),
    [
        ("malformed_not_a_summary.md", None, "not a session summary"),
        ("malformed_title_date.md", 1, "unparseable date in title '2026-02-30'"),
        ("malformed_metadata_date.md", 4, "unparseable date '4 March'"),
        ("malformed_rating_range.md", 7, "rating '6/5' is not 1-5"),
        ("malformed_rating_word.md", 5, "rating 'great' is not 1-5"),
        ("malformed_status.md", 4, "status 'Done-ish' is not one of Active, Complete"),
        ("malformed_session_number.md", 4, "session number 'second' is not a number"),
        ("summary20261345.1.md", None, "unparseable date in file name '2026-13-45'"),
    ],
)
def test_malformed_files_give_one_clear_line(name: str, line: int | None, reason: str) -> None:
    path = DATA / name
    with pytest.raises(SummaryFormatError) as info:
        load_summary(path)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert reason in message and reason in err.reason
    assert err.source == str(path) and err.line == line
    if line:
        assert f": line {line}: " in message


@pytest.mark.parametrize("text", ["", "\n\n", "just text\n", "## Random heading\n\ntext\n"])
def test_not_a_summary(text: str) -> None:
    with pytest.raises(SummaryFormatError, match=r"^notes\.md: not a session summary"):
        parse_markdown(text, "notes.md")


@pytest.mark.parametrize("rating", ["0", "6", "4/10", "3.5/5", "-1", "five"])
def test_rating_outside_1_to_5(rating: str) -> None:
    with pytest.raises(SummaryFormatError, match="is not 1-5"):
        parse_markdown(f"# Session Summary\n\n## Session Rating\n\n**Rating:** {rating}\n")


@pytest.mark.parametrize(("written", "value"), [("", None), ("/5", None), ("_/5", None),
                                                 ("3", 3), ("3/5", 3), ("3 / 5", 3), ("5/5 great", 5)])
def test_rating_forms(written: str, value: int | None) -> None:
    s = parse_markdown(f"# Session Summary\n\n## Session Rating\n\n**Rating:** {written}\n")
    assert s.rating == value


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "summary20260101.1.md"
    path.write_bytes(b"# Session Summary\n\xff\xfe\n")
    with pytest.raises(SummaryFormatError, match="not UTF-8"):
        load_summary(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SummaryFormatError, match="summary20260101.1.md"):
        load_summary(tmp_path / "summary20260101.1.md")


# ------------------------------------------------------------------------------- extra sections


def test_extra_sections_and_loose_text_written_back_unchanged() -> None:
    text = read(EXTRAS)
    s = parse_markdown(text, EXTRAS.name)
    assert [(e.heading, e.level, e.after) for e in s.extra_sections] == [
        ("Phase Status", 2, "metadata"),
        ("Tests Added", 2, "work_completed"),
        ("Agent Notes", 3, "collaboration:what_didnt"),
        ("Implementation Highlights", 2, "technical_notes"),
    ]
    assert s.loose_text == {
        "start": "<!-- imported from the old Summary/ folder -->",
        "metadata": "- **Branch:** feature/streaming-export",
    }
    assert "## this is not a heading" in s.extra_sections[3].body  # inside a code fence
    assert (s.tokens_in, s.tokens_out, s.cost_usd) == (182340, 20411, 1.37)
    assert s.rating == 4 and s.status == "blocked"
    assert [(r.added, r.removed) for r in s.files_changed] == [(48, 30), (3, 1), (120, 0), (0, 75)]
    assert export_markdown(s, checklist="recorded") == text
    out = export_markdown(s)  # checklist recomputed: the same here, as the file's was right
    assert out == text
    for chunk in re.split(r"\n\n---\n\n", text):
        if chunk.startswith(("## Phase Status", "## Tests Added", "## Implementation Highlights")):
            assert f"\n\n---\n\n{chunk}\n\n---\n\n" in out


def test_extra_section_keeps_its_place_when_sections_are_shuffled() -> None:
    text = read(EXTRAS)
    blocks = text.split("\n\n---\n\n")
    # Move "Tests Added" (which follows Work Completed) with Work Completed to the very end.
    work = next(i for i, b in enumerate(blocks) if b.startswith("## Work Completed"))
    moved = blocks[work:work + 2]
    assert moved[1].startswith("## Tests Added")
    rest = blocks[:work] + blocks[work + 2:]
    rest[-1] = rest[-1].rstrip("\n")
    shuffled = "\n\n---\n\n".join(rest + moved) + "\n"
    s = parse_markdown(shuffled)
    assert s == parse_markdown(text)
    assert export_markdown(s) == text


def test_sections_in_any_order() -> None:
    text = read(EXAMPLE)
    title, *sections = re.split(r"\n(?=## )", text)
    shuffled = "\n".join([title] + sections[::-1])
    assert parse_markdown(shuffled) == parse_markdown(text)


def test_duplicate_known_section_is_kept_as_extra() -> None:
    s = parse_markdown("# Session Summary\n\n## Objective\n\nOne.\n\n## Objective\n\nTwo.\n")
    assert s.objective == "One."
    assert s.extra_sections == [ExtraSection("Objective", "Two.", 2, "objective")]
    assert "## Objective\n\nOne.\n\n---\n\n## Objective\n\nTwo.\n" in export_markdown(s)


# ------------------------------------------------------------------------------- tolerance


def test_crlf_and_bom() -> None:
    text = read(EXAMPLE)
    crlf = "\ufeff" + text.replace("\n", "\r\n")
    assert parse_markdown(crlf) == parse_markdown(text)
    assert parse_markdown(text.replace("\n", "\r")) == parse_markdown(text)


def test_headings_with_extra_words_and_level_two_subsections() -> None:
    text = """# Session Summary: 2026-03-04 Session 2 (CSV work)

## Session Metadata
- **Date**: 2026-03-04
- Status: completed

## Objective (one sentence)

Add CSV export.

## Work Completed Today

- done

## Files Changed (from git)

| Lines | File |
|---|---|
| +3 | `a.py` |

## What Worked Well

- small tasks

## What Didn’t Work So Well

- guessing

## Session Rating and Notes

**Rating:** 5/5

**Notes:** great

## Interventions

| Time | Type | What |
|--|--|--|
| 10:00 | pause | stopped it |

## Next Session Priorities (draft)

- more
"""
    s = parse_markdown(text)
    assert (s.date, s.day_number, s.status) == (date(2026, 3, 4), 2, "complete")
    assert s.objective == "Add CSV export." and s.work_completed == "- done"
    assert s.files_changed == [FileChangeRow("a.py", "", "+3")]
    assert s.what_worked == "- small tasks" and s.what_didnt == "- guessing"
    assert s.rating == 5 and s.rating_notes == "great"
    assert s.interventions == [Intervention("10:00", "stopped it", "pause")]
    assert s.next_priorities == "- more" and s.extra_sections == []


def test_checkboxes_any_case() -> None:
    text = read(EXAMPLE).replace("- [x] Partially used", "- [ ] Partially used")
    text = text.replace("- [ ] Too early", "- [X] Too early").replace("- [ ] Rating", "- [X] Rating")
    s = parse_markdown(text)
    assert s.previous_outcome == "too-early"
    assert s.checklist is not None and s.checklist["rating"] is True


def test_outcome_written_as_text() -> None:
    s = parse_markdown("# Session Summary\n\n## Previous Session Outcome\n\n**Outcome:** Not used\n")
    assert s.previous_outcome == "not-used"


def test_tables_with_missing_cells_and_extra_spaces() -> None:
    text = """# Session Summary

## Files Changed

|   File   |Change Type|  Lines |
|:---|:---:|---:|
|   `a.py`   |   Modified   |
| b.py | renamed | +1 -1 |
| c.py | moved |  |
|  |  |  |

## Collaboration Assessment

### Interventions During This Session

| When | What Happened | Type |
|------|---------------|------|
| 10:42 | used a \\| pipe |
|   | just a note |   |

**Intervention Count:** 2
"""
    s = parse_markdown(text)
    assert s.files_changed == [
        FileChangeRow("a.py", "modified", ""),  # known change words are lower-cased
        FileChangeRow("b.py", "renamed", "+1 -1"),
        FileChangeRow("c.py", "moved", ""),  # unknown words kept as given
    ]
    assert s.interventions == [Intervention("10:42", "used a | pipe", ""),
                               Intervention("", "just a note", "")]
    assert "| 10:42 | used a \\| pipe |  |" in export_markdown(s)


def test_interventions_none_noted() -> None:
    base = "# Session Summary\n\n## Collaboration Assessment\n\n### Interventions\n\n"
    assert parse_markdown(base + "**Intervention Count:** none\n").intervention_count == 0
    assert parse_markdown(base + "- No interventions this time.\n").intervention_count == 0
    assert parse_markdown(base + "Nothing to report.\n").intervention_count is None


def test_usage_section_round_trip_and_absent_when_empty() -> None:
    s = SessionSummary(tokens_in=1200, tokens_out=30, cost_usd=0.00001)
    out = export_markdown(s)
    assert out.endswith("## Usage\n\n- **Tokens in:** 1200\n- **Tokens out:** 30\n"
                        "- **Cost (USD):** 0.00001\n")
    assert parse_markdown(out) == s
    assert "## Usage" not in export_markdown(SessionSummary())
    t = parse_markdown("# Session Summary\n\n## Usage\n\n- Tokens in: 1,200\n- **Cost:** $0.42\n")
    assert (t.tokens_in, t.cost_usd) == (1200, 0.42)


@pytest.mark.parametrize(("s", "lines"), [
    (SessionSummary(tokens_in=12300, tokens_out=40, tokens_unknown=2),
     "- **Tokens in:** ≥ 12300 (2 tasks unknown)\n- **Tokens out:** ≥ 40 (2 tasks unknown)\n"),
    (SessionSummary(tokens_in=0, tokens_out=0, tokens_unknown=1),
     "- **Tokens in:** unknown (1 task)\n- **Tokens out:** unknown (1 task)\n"),
    (SessionSummary(tokens_in=1200, tokens_out=56, tokens_approximate=True),
     "- **Tokens in:** ~1200\n- **Tokens out:** ~56\n"),
], ids=["some-unknown", "all-unknown", "rounded"])
def test_usage_says_tokens_no_agent_reported_are_unknown(s: SessionSummary, lines: str) -> None:
    """Tokens an agent did not report are never written as 0: the counts are a floor, and say how
    many tasks are missing from them; the importer reads each form back."""
    out = export_markdown(s)
    assert "## Usage\n\n" + lines in out
    assert parse_markdown(out) == s
    assert parse_markdown("# Session Summary\n\n## Usage\n\n- Tokens in: >= 1,200 (3 tasks unknown)\n"
                          ).tokens_unknown == 3


def test_line_breaks_in_one_line_values_do_not_break_the_layout() -> None:
    s = SessionSummary(end_commit="abc\ndef", files_changed=[FileChangeRow("a\nb.py", "x\ny", "")])
    back = parse_markdown(export_markdown(s))
    assert back.end_commit == "abc def"
    assert back.files_changed == [FileChangeRow("a b.py", "x y", "")]


def test_export_redacts_secrets() -> None:
    key = "sk-ant-api03-" + "a" * 40
    s = SessionSummary(technical_notes=f"- used {key} by mistake")
    assert key not in export_markdown(s)
    assert "- used [REDACTED] by mistake" in export_markdown(s)
    assert key in export_markdown(s, redact=None)


def test_filename_and_line_counts() -> None:
    assert summary_filename(SessionSummary(date=date(2026, 3, 4), day_number=2)) == "summary20260304.2.md"
    with pytest.raises(ValueError):
        summary_filename(SessionSummary())
    assert parse_line_counts("+3 -1") == (3, 1)
    assert parse_line_counts("+3/-1") == (3, 1)
    assert parse_line_counts("-7") == (0, 7)
    assert parse_line_counts("~90") == (None, None)
    assert parse_line_counts("binary") == (None, None)
    assert FileChangeRow.from_counts("b.py", "renamed", 2, 1, old_path="a.py") == \
        FileChangeRow("a.py \u2192 b.py", "renamed", "+2 -1")
    assert FileChangeRow.from_counts("x.png", "created", None, None).lines == "binary"
    assert FileChangeRow.from_counts("x.py", "deleted", 0, 9).lines == "-9"
    assert FileChangeRow.from_counts("x.py", "created", 9, 0).lines == "+9"


def test_model_rejects_values_outside_the_format() -> None:
    with pytest.raises(ValueError):
        SessionSummary(rating=6)
    with pytest.raises(ValueError):
        SessionSummary(status="done")
    with pytest.raises(ValueError):
        SessionSummary(previous_outcome="maybe")
    with pytest.raises(ValueError):
        ExtraSection("X", "", 2, "collaboration:rating")


# ------------------------------------------------------------------------------- round trip
#
# Generated text excludes what would change the document's structure: control characters (so
# "\r" and tabs), line/paragraph separators, spaces other than " ", private-use characters, the
# BOM, and a backslash or backtick in table cells and single-line values (headings, commits,
# labels). A line that would read as a heading, a code fence or a horizontal rule (or, in loose
# text, as a field, checkbox, table row or "none" note) gets a harmless prefix. Values are
# stripped, as a parser must strip them.

_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs", "Co"),
                       exclude_characters="\ufeff")
_CELL_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs", "Co"),
                            exclude_characters="\ufeff\\`")
_WORD = st.text(_CHARS, min_size=1, max_size=8)
_CELL_WORD = st.text(_CELL_CHARS, min_size=1, max_size=8)
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_LOOSE_LOOKALIKE = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\*\*|\[|[A-Za-z][A-Za-z #()/]{0,30}?\s*:)|^\W*(?:none|no intervention)",
    re.IGNORECASE,
)


def _line(words: list[str]) -> str:
    return " ".join(words)


@st.composite
def _text(draw: st.DrawFn, loose: bool = False, max_lines: int = 4) -> str:
    lines = []
    for _ in range(draw(st.integers(0, max_lines))):
        line = _line(draw(st.lists(_WORD, max_size=6))) if draw(st.integers(0, 5)) else ""
        if draw(st.booleans()) and line:
            line = draw(st.sampled_from(["- ", "  ", "1. ", "> "])) + line
        stripped = line.lstrip()
        if stripped.startswith(("#", "```", "~~~")) or _RULE.match(line) or \
                (loose and (stripped.startswith("|") or _LOOSE_LOOKALIKE.match(line))):
            line = "1 " + line
        lines.append(line)
    return "\n".join(lines).strip()


_ONE_LINE = st.lists(_CELL_WORD, max_size=5).map(_line).map(str.strip)
_CELL = _ONE_LINE
_HEADING_WORDS = ["Tests Added", "Phase Status", "Implementation Highlights", "Open Questions",
                  "Links", "Benchmarks 2", "Risques et décisions"]


def _is_extra_heading(heading: str) -> bool:
    return bool(heading) and section_key(heading) is None and not heading.endswith("#") \
        and not re.match(r"\s*session\s+summary\b", heading, re.IGNORECASE)


@st.composite
def _extra(draw: st.DrawFn) -> ExtraSection:
    after = draw(st.sampled_from(ANCHORS))
    heading = draw(st.one_of(st.sampled_from(_HEADING_WORDS), _ONE_LINE).filter(_is_extra_heading))
    level = 3 if after in COLLAB_ANCHORS else draw(st.sampled_from([1, 2, 2]))
    return ExtraSection(heading, draw(_text()), level, after)


@st.composite
def summaries(draw: st.DrawFn) -> SessionSummary:
    optional = lambda strategy: st.one_of(st.none(), strategy)  # noqa: E731
    tokens_in, tokens_out = draw(optional(st.integers(0, 10**12))), draw(optional(st.integers(0, 10**12)))
    counts = [c for c in (tokens_in, tokens_out) if c is not None]
    unknown = draw(st.integers(0, 10**4)) if counts and draw(st.booleans()) else 0
    # "unknown (2 tasks)" stands for a count of 0 that no agent reported: it is not rounded either
    approximate = any(counts) and draw(st.booleans())
    commit = st.one_of(st.just(""), st.text("0123456789abcdef", min_size=7, max_size=40), _ONE_LINE)
    change = st.one_of(st.sampled_from(CHANGE_TYPES + ("",)),
                       _ONE_LINE.filter(lambda w: w.lower() not in CHANGE_TYPES))
    lines = st.one_of(st.sampled_from(["", "+64", "~90", "+3 -1", "-5", "binary"]), _CELL)
    rows = st.lists(st.builds(FileChangeRow, _CELL.filter(bool), change, lines), max_size=3)
    people = st.lists(st.builds(Intervention, _CELL, _CELL.filter(bool), _CELL), max_size=3)
    extras = draw(st.lists(_extra(), max_size=4))
    extras.sort(key=lambda e: ANCHORS.index(e.after))  # the order they are written in
    loose = draw(st.dictionaries(st.sampled_from(LOOSE_KEYS), _text(loose=True).filter(bool),
                                 max_size=3))
    return SessionSummary(
        date=draw(optional(st.dates(date(2000, 1, 1), date(2100, 12, 31)))),
        day_number=draw(optional(st.integers(1, 999))),
        start_commit=draw(commit),
        end_commit=draw(commit),
        status=draw(optional(st.sampled_from(STATUSES))),
        objective=draw(_text(max_lines=2)),
        previous_session=draw(_ONE_LINE),
        previous_outcome=draw(optional(st.sampled_from(OUTCOMES))),
        work_completed=draw(_text()),
        files_changed=draw(rows),
        interventions=draw(people),
        intervention_count=draw(optional(st.integers(0, 500))),
        what_worked=draw(_text()),
        what_didnt=draw(_text()),
        rating=draw(optional(st.integers(1, 5))),
        rating_notes=draw(_text()),
        technical_notes=draw(_text()),
        next_priorities=draw(_text()),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=draw(optional(st.floats(0, 1e6, allow_nan=False, allow_infinity=False))),
        tokens_unknown=unknown,
        tokens_approximate=approximate,
        extra_sections=extras,
        loose_text=loose,
    )


_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(summaries())
def test_round_trip_property(s: SessionSummary) -> None:
    text = export_markdown(s)
    back = parse_markdown(text)
    assert back == s
    assert back.checklist == completeness(s).states()
    assert export_markdown(back) == text
    assert export_markdown(back, checklist="recorded") == text


@_SETTINGS
@given(summaries())
def test_dict_round_trip_property(s: SessionSummary) -> None:
    data = json.loads(json.dumps(s.to_dict()))
    assert SessionSummary.from_dict(data) == s
    assert [r["added"] for r in data["files_changed"]] == [r.added for r in s.files_changed]


def test_dict_keeps_the_recorded_checklist() -> None:
    s = load_summary(EXAMPLE)
    t = SessionSummary.from_dict(json.loads(json.dumps(s.to_dict())))
    assert t == s and t.checklist == s.checklist
    assert set(TOP_ANCHORS) <= set(ANCHORS)
