"""Markdown export of session summaries (the format that :mod:`sessions.summary.model` holds).

``export_markdown`` writes the layout of the format's example byte for byte; a ``## Usage`` section
(tokens in/out, cost) is added at the end only when it has something to say. Reading it back is
``sessions.summary.parse``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from engine.formatting import tokens_sum_text
from sessions.summary.completeness import GROUP_HEADINGS, GROUPS, Completeness, completeness
from engine.redact import redact as redact_secrets
from engine.terminal_text import plain
from sessions.summary.model import OUTCOMES, ExtraSection, SessionSummary

__all__ = [
    "NORTH_STAR",
    "OUTCOME_LABELS",
    "export_markdown",
    "summary_filename",
]


# ------------------------------------------------------------------------------- fixed text

NORTH_STAR = """## North Star Metric: Effective Work Rate

**Definition:** (work that stuck) / (total work done)

"Work that stuck" = still in codebase, not reverted, not redone, actually used.

We measure this by assessing *previous* session outcomes at the start of each new session."""

OUTCOME_LABELS = {
    "fully": "Fully used - work shipped/merged, no changes needed",
    "partially": "Partially used - some rework required",
    "not-used": "Not used - reverted, replaced, or abandoned",
    "too-early": "Too early - not enough time to assess",
    "na": "N/A - first session or no prior deliverables",
}


# ------------------------------------------------------------------------------- export


def export_markdown(
    summary: SessionSummary, *, checklist: Literal["computed", "recorded"] = "computed",
    redact: Callable[[str], str] | None = redact_secrets,
) -> str:
    """The summary as Markdown in the format. The checklist is computed from the fields, or with
    ``checklist="recorded"`` taken from ``summary.checklist`` where that has a line. Secrets
    (API keys, tokens) are replaced by ``[REDACTED]`` unless ``redact`` is None; control sequences and
    characters (but tab and newline) never reach it."""
    s = summary
    comp = completeness(s, use_recorded=checklist == "recorded")

    def extras(anchor: str) -> list[str]:
        return [_extra(e) for e in s.extra_sections if e.after == anchor]

    loose = s.loose_text
    blocks: list[str] = []
    title = " ".join(p for p in (s.date.isoformat() if s.date else "",
                                 f"Session {s.day_number}" if s.day_number is not None else "") if p)
    title_block = "# Session Summary" + (f" - {title}" if title else "")
    blocks.append(_join(title_block, loose.get("title", "")))
    blocks += extras("title")
    blocks.append(NORTH_STAR)
    blocks += extras("north_star")
    blocks.append(_checklist(comp))
    blocks += extras("checklist")
    blocks.append("## Metadata\n" + "\n".join([
        _field("- **Date:**", s.date.isoformat() if s.date else ""),
        _field("- **Session:**", f"{s.day_number} (of day)" if s.day_number is not None else ""),
        _field("- **Start Commit:**", s.start_commit),
        _field("- **End Commit:**", s.end_commit),
        _field("- **Status:**", s.status.capitalize() if s.status else ""),
    ]) + (f"\n\n{loose['metadata']}" if loose.get("metadata") else ""))
    blocks += extras("metadata")
    blocks.append(_join("## Objective", s.objective))
    blocks += extras("objective")
    outcome_lines = "\n".join(
        f"- [{'x' if s.previous_outcome == key else ' '}] {OUTCOME_LABELS[key]}" for key in OUTCOMES
    )
    blocks.append(_join("## Previous Session Outcome", _field("**Last Session:**", s.previous_session),
                        "**Outcome:**\n" + outcome_lines, loose.get("previous", "")))
    blocks += extras("previous")
    blocks.append(_join("## Work Completed", s.work_completed))
    blocks += extras("work_completed")
    files = [[_code(r.path), r.change_type, r.lines] for r in s.files_changed]
    blocks.append(_join("## Files Changed", _table(("File", "Change Type", "Lines"), files),
                        loose.get("files_changed", "")))
    blocks += extras("files_changed")
    blocks.append(_collaboration(s))
    blocks += extras("collaboration")
    blocks.append(_join("## Technical Notes", s.technical_notes))
    blocks += extras("technical_notes")
    blocks.append(_join("## Next Session Priorities", s.next_priorities))
    blocks += extras("next_priorities")
    usage = (s.tokens_in, s.tokens_out, s.cost_usd)
    if any(v is not None for v in usage) or loose.get("usage") or extras("usage"):
        blocks.append(_join("## Usage", "\n".join([
            _field("- **Tokens in:**", _tokens(s, s.tokens_in)),
            _field("- **Tokens out:**", _tokens(s, s.tokens_out)),
            _field("- **Cost (USD):**", "" if s.cost_usd is None else _money(s.cost_usd)),
        ]), loose.get("usage", "")))
        blocks += extras("usage")
    head = "\n\n---\n\n".join(extras("start") + [blocks[0]])
    text = "\n\n---\n\n".join([head] + blocks[1:]) + "\n"
    text = f"{loose['start']}\n\n{text}" if loose.get("start") else text
    text = plain(text)  # a record made before agent text was made safe on its way in may hold any byte
    return redact(text) if redact is not None else text


def _tokens(s: SessionSummary, count: int | None) -> str:
    """A token count as the summary writes it: bare digits, ``~`` when rounded, ``≥ 1200 (2 tasks
    unknown)`` when some task's agent reported none (the parser reads each form back)."""
    return "" if count is None else tokens_sum_text(count, s.tokens_unknown, s.tokens_approximate, unit="", grouped=False)


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def _one_line(value: str) -> str:
    """Values written on one line (fields, table cells) cannot hold a line break: it becomes a space."""
    return " ".join(value.splitlines()) if "\n" in value or "\r" in value else value


def _field(label: str, value: str) -> str:
    return f"{label} {_one_line(value)}" if value else label


def _code(path: str) -> str:
    if not path:
        return ""
    return f"`` {path} ``" if "`" in path else f"`{path}`"


def _money(value: float) -> str:
    return format(Decimal(repr(value)), "f")


def _extra(e: ExtraSection) -> str:
    return _join("#" * e.level + " " + e.heading, e.body)


def _checklist(comp: Completeness) -> str:
    parts = ["## Completeness Checklist", "Before closing the session, verify:"]
    for group in GROUPS:
        lines = [f"- [{'x' if line.done else ' '}] {line.label}" for line in comp.group(group)]
        parts.append(f"### {GROUP_HEADINGS[group]}\n" + "\n".join(lines))
    parts.append(f"**Completeness Score:** {comp.score_line()}")
    return _join(*parts)


def _table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("-" * (len(h) + 2) for h in header) + "|"]
    lines += ["| " + " | ".join(_one_line(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _collaboration(s: SessionSummary) -> str:
    def extras(anchor: str) -> list[str]:
        return [_extra(e) for e in s.extra_sections if e.after == anchor]

    count = "" if s.intervention_count is None else str(s.intervention_count)
    rows = [[i.when, i.what, i.type] for i in s.interventions]
    return _join(
        "## Collaboration Assessment", s.loose_text.get("collaboration", ""),
        *extras("collaboration:start"),
        "### Interventions During This Session",
        _table(("When", "What Happened", "Type"), rows),
        _field("**Intervention Count:**", count), s.loose_text.get("interventions", ""),
        *extras("collaboration:interventions"),
        "---",
        "### What Worked", s.what_worked, *extras("collaboration:what_worked"),
        "### What Didn't Work", s.what_didnt, *extras("collaboration:what_didnt"),
        "---",
        "### Session Rating", f"**Rating:** {s.rating if s.rating is not None else ''}/5",
        s.loose_text.get("rating", ""), "**Notes:**", s.rating_notes,
        *extras("collaboration:rating"),
    )


def summary_filename(summary: SessionSummary) -> str:
    """``summaryYYYYMMDD.N.md``, the name users keep these files under (date and number needed)."""
    if summary.date is None or summary.day_number is None:
        raise ValueError("a summary file name needs the date and the session number")
    return f"summary{summary.date:%Y%m%d}.{summary.day_number}.md"
