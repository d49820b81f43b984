"""``cockpit report``: the history screen's figures on the command line (no screen, no Textual).

Per session rows, the totals (EWR both ways with their counts) and the agent table, from
:mod:`sessions.reports.history`; survival is never measured here (``cockpit stuck`` does that): a session's
EWR(git) is its newest cached result. Formats: a terminal table (default), ``--json``, ``--csv``
(the sessions table only: one table is what CSV readers expect) and ``--markdown``.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

from engine.errors import UserError
from engine.formatting import cost_text, plural, tokens_sum_text, total_cost_text
from engine.worktrees import repo_root
from sessions.store.db_path import resolve_db_path
from sessions.reports.history import (
    DISAGREE_FULLY_BELOW, DISAGREE_NOT_USED_ABOVE, ROW_COLUMNS, AgentRow, History, HistoryRow, HistoryTotals,
    parse_date, read_history, row_dict,
)
from sessions.store.store import Store

FORMATS = ("text", "json", "csv", "markdown")
DISAGREEMENT_RULE = (
    f"the outcome is \"fully\" and under {DISAGREE_FULLY_BELOW:.0%} of the lines survive, or it is "
    f"\"not-used\" and over {DISAGREE_NOT_USED_ABOVE:.0%} survive"
)


async def report(db: str | None, repo: str | None, every_repo: bool, since: str | None, fmt: str) -> int:
    if since is not None:
        try:
            since = parse_date(since)
        except ValueError as exc:
            raise UserError(f"--since: {exc}") from None
    scope = None if every_repo else repo_root(repo or ".")
    store = await Store.open(resolve_db_path(db))
    try:
        history = await read_history(store, scope, since)
    finally:
        await store.close()
    render = {"text": render_text, "json": render_json, "csv": render_csv, "markdown": render_markdown}[fmt]
    sys.stdout.write(render(history))
    return 0


# --------------------------------------------------------------------------- plain data


def report_data(history: History) -> dict[str, Any]:
    """``{"scope", "sessions", "totals", "agents"}``: None (JSON null) where nothing is measured."""
    return {
        "scope": {"repo": history.repo, "since": history.since},
        "sessions": [row_dict(r) for r in history.rows],
        "totals": history.totals().to_dict(),
        "agents": [a.to_dict() for a in history.agents()],
    }


def render_json(history: History) -> str:
    return json.dumps(report_data(history), indent=2) + "\n"


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render_csv(history: History) -> str:
    """The sessions table only: a header line, then one line per session (newest first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROW_COLUMNS)
    for row in history.rows:
        writer.writerow([_csv_cell(v) for v in row_dict(row).values()])
    return out.getvalue()


# --------------------------------------------------------------------------- for people


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _per_line(value: float | None) -> str:
    return cost_text(value, "-")


def _rating(value: int | None) -> str:
    return "-" if value is None else f"{value}/5"


def _lines(value: float) -> str:
    return f"{value:,.0f}"


def _scope_text(history: History) -> str:
    where = f"in {history.repo}" if history.repo else "in every repository"
    return where + (f" since {history.since}" if history.since else "")


def _git_text(row: HistoryRow) -> str:
    if row.ewr_git is None:
        return "-"
    return f"{row.ewr_git:.0%} of {row.survival_added:,}"


def total_lines(t: HistoryTotals) -> list[str]:
    human = t.ewr_human.text()
    recent = t.ewr_human_recent.text()
    if t.ewr_git is None:
        git = "no session measured yet (cockpit stuck measures them)"
    else:
        git = (f"{t.ewr_git:.0%} of {t.survival_added:,} lines over {plural(t.ewr_git_count, 'session', grouped=True)} "
               f"measured")
    return [
        f"EWR(human): {human}; last {t.recent_size}: {recent}",
        f"EWR(git):   {git}",
        f"tasks: {t.tasks:,} ({t.accepted:,} accepted, {t.discarded:,} discarded); "
        f"interventions: {t.interventions:,}",
        f"cost: {total_cost_text(t.cost_usd)}; tokens: {tokens_sum_text(t.tokens, t.tokens_unknown, unit='')}; cost per surviving line: "
        f"{_per_line(t.cost_per_surviving_line)}",
    ]


def _table(rows: list[tuple[str, ...]], right: set[int], last_free: bool = False) -> list[str]:
    width = len(rows[0])
    measured = width - 1 if last_free else width
    widths = [max(len(r[i]) for r in rows) for i in range(measured)]
    out = []
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        if last_free:
            cells.append(r[-1])
        out.append("  ".join(cells).rstrip())
    return out


def agent_cells(a: AgentRow) -> tuple[str, ...]:
    return (
        a.agent or "-", f"{a.tasks:,}", f"{a.accepted}/{a.decided}", _pct(a.accepted_share), _pct(a.survival),
        _lines(a.attributed_surviving) if a.attributed_added else "-",
        "-" if a.interventions_per_task is None else f"{a.interventions_per_task:.2f}",
        total_cost_text(a.cost_usd), _per_line(a.cost_per_surviving_line),
    )


AGENT_HEADER = ("agent", "tasks", "accepted", "share", "survival", "lines kept", "interv/task", "cost",
                "$/line kept")


def render_text(history: History) -> str:
    rows = history.rows
    t = history.totals()
    out = [f"{plural(t.sessions, 'session', grouped=True)} {_scope_text(history)}"]
    if not rows:
        return out[0] + "\n"
    out += total_lines(t)
    out.append("")
    table = [("session", "status", "rating", "outcome", "EWR(git)", "interv", "acc/disc", "cost", "objective")]
    for r in rows:
        table.append((
            r.label + (" !" if r.disagreement else ""), r.status, _rating(r.rating), r.outcome or "pending",
            _git_text(r), str(r.interventions), f"{r.accepted}/{r.discarded}", total_cost_text(r.cost_usd, r.cost_complete),
            " ".join(r.objective.split())[:50],
        ))
    out += _table(table, right={4, 5, 6, 7}, last_free=True)
    if any(not r.cost_complete for r in rows):
        out.append("cost: + some of the tasks' costs are unknown (the known ones are summed); ? none is known")
    if t.disagreements:
        out.append(f"! the outcome and git disagree: {DISAGREEMENT_RULE}")
    agents = history.agents()
    if agents:
        out.append("")
        out += _table([AGENT_HEADER, *(agent_cells(a) for a in agents)], right=set(range(1, 9)))
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or "-"


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    return lines


def render_markdown(history: History) -> str:
    t = history.totals()
    out = ["# Session Cockpit report", "", f"{plural(t.sessions, 'session', grouped=True)} {_scope_text(history)}.", ""]
    out += ["## Totals", ""]
    out += _md_table(("Figure", "Value"), [
        ("EWR (human), all time", f"{_pct(t.ewr_human.value)} over {plural(t.ewr_human.count, 'session', grouped=True)}"),
        (f"EWR (human), last {t.recent_size}",
         f"{_pct(t.ewr_human_recent.value)} over {plural(t.ewr_human_recent.count, 'session', grouped=True)}"),
        ("EWR (git)", "no session measured yet" if t.ewr_git is None else
         f"{_pct(t.ewr_git)} of {t.survival_added:,} lines over {plural(t.ewr_git_count, 'session', grouped=True)} measured"),
        ("Tasks", f"{t.tasks:,} ({t.accepted:,} accepted, {t.discarded:,} discarded)"),
        ("Interventions", f"{t.interventions:,}"),
        ("Cost", total_cost_text(t.cost_usd)),
        ("Tokens", tokens_sum_text(t.tokens, t.tokens_unknown, unit="")),
        ("Cost per surviving line", _per_line(t.cost_per_surviving_line)),
    ], right=set())
    out += ["", "## Sessions", ""]
    if history.rows:
        out += _md_table(
            ("Session", "Status", "Rating", "Outcome", "EWR (git)", "Interventions", "Accepted", "Discarded",
             "Cost", "Objective"),
            [(r.label + (" ⚠" if r.disagreement else ""), r.status, _rating(r.rating), r.outcome or "pending",
              _git_text(r), str(r.interventions), str(r.accepted), str(r.discarded),
              total_cost_text(r.cost_usd, r.cost_complete), r.objective) for r in history.rows],
            right={4, 5, 6, 7, 8},
        )
        if any(not r.cost_complete for r in history.rows):
            out += ["", "A cost marked + leaves out tasks whose cost is unknown; ? means none is known."]
    else:
        out.append("No sessions.")
    out += ["", "## Agents", ""]
    agents = history.agents()
    if agents:
        out += _md_table(
            ("Agent", "Tasks", "Accepted", "Accepted share", "Survival of accepted work", "Surviving lines",
             "Interventions per task", "Cost", "Cost per surviving line"),
            [agent_cells(a) for a in agents], right=set(range(1, 9)),
        )
        out += ["", "Survival of accepted work: each measured session's lines are shared among its accepted "
                "tasks in proportion to the lines each added."]
    else:
        out.append("No tasks.")
    out += ["", "## Disagreements", "", f"Marked ⚠ above: {DISAGREEMENT_RULE}.", ""]
    marked = [r for r in history.rows if r.disagreement]
    out += [f"- **{r.label}** ({_md(r.objective)}): outcome {r.outcome}, {_git_text(r)} lines surviving"
            for r in marked] or ["None."]
    return "\n".join(out) + "\n"
