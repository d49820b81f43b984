"""The summary as the machine knows it: everything the cockpit can fill before a human looks.

:func:`build_summary` pre-fills from the store and from git; :func:`session_summary` gives the saved
summary when there is one (the human's edits win), else the built one.

Usage: the summary format has only "Tokens in", "Tokens out" and "Cost (USD)". Its **tokens in
count every input token the models read: uncached input + cache writes + cache reads** (so the
figure compares across agents whatever their caching); tokens out are output tokens. Its cost is
the sum of the costs that are known (a task whose agent reports no cost and has no price adds
none; ``cockpit show --json`` says so with ``cost_complete: false``), and is blank when no task had
a known cost. :func:`usage_totals` keeps the four token counts apart.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Iterable

from engine.formatting import cost_text, plural
from sessions.git.facts import GitFactsError, files_changed, head_commit
from sessions.store.store import Store
from sessions.store.rows import SessionRow, TaskRow
from sessions.summary.model import FileChangeRow, Intervention, SessionSummary


# The states of a task that failed (rather than was stopped or never ran): the session is blocked.
FAILURE_STATES = frozenset({"failed", "timed_out", "budget_exceeded"})


@dataclass(frozen=True)
class UsageTotals:
    """A session's usage over its tasks, every run and attempt (from the stored task rows)."""

    tokens_in: int = 0  # uncached input tokens
    tokens_out: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost_usd: float | None = None  # the sum of the known costs; None when no task had one
    cost_complete: bool = True  # False when a task used tokens at a cost nobody knows
    tokens_unknown: int = 0  # tasks whose agent reported no billed tokens (not in the counts, never guessed)
    approximate: bool = False  # some task's agent rounded its token figures

    @property
    def tokens_complete(self) -> bool:
        return not self.tokens_unknown

    @property
    def input_all(self) -> int:
        """Every input token: the summary's "Tokens in"."""
        return self.tokens_in + self.cache_write + self.cache_read


def usage_totals(tasks: Iterable[TaskRow]) -> UsageTotals:
    tin = tout = cw = cr = 0
    costs: list[float] = []
    complete = True
    unknown = 0
    approximate = False
    for t in tasks:
        tin, tout, cw, cr = tin + t.tokens_in, tout + t.tokens_out, cw + t.cache_write, cr + t.cache_read
        unknown += not t.tokens_known
        approximate = approximate or t.tokens_approximate
        if t.cost_usd is not None:
            costs.append(t.cost_usd)
        elif t.tokens_in or t.tokens_out or t.cache_write or t.cache_read or not t.tokens_known:
            complete = False
    return UsageTotals(tin, tout, cw, cr, round(sum(costs), 6) if costs else None, complete, unknown, approximate)


def _usage_fact(task: TaskRow) -> str | None:
    tokens = task.tokens_in + task.tokens_out + task.cache_write + task.cache_read
    if not task.tokens_known:
        return f"tokens unknown, {cost_text(task.cost_usd)}"
    if not tokens and task.cost_usd is None:
        return None
    return f"{'about ' if task.tokens_approximate else ''}{tokens:,} tokens, {cost_text(task.cost_usd)}"


def previous_label(row: SessionRow) -> str:
    """How the format names a session: ``2026-03-04 Session 1 (summary20260304.1.md)``."""
    return f"{row.date} Session {row.day_number} (summary{row.label}.md)"


async def previous_session(store: Store, row: SessionRow) -> SessionRow | None:
    """The repository's session just before ``row``."""
    earlier = [s for s in await store.list_sessions(row.repo)
               if (s.date, s.day_number) < (row.date, row.day_number)]
    return earlier[0] if earlier else None


def work_completed(tasks: list[TaskRow]) -> str:
    """One ``###`` block per task: what became of it, how big it is, and its final message."""
    blocks = []
    for task in tasks:
        facts = [f"{task.state}", plural(task.attempts, "attempt")]
        usage = _usage_fact(task)
        if usage:
            facts.append(usage)
        if task.files:
            facts.append(f"+{task.added or 0} -{task.removed or 0} in {plural(len(task.files), 'file')}")
        lines = [f"### {task.title or task.key}", f"- `{task.key}` ({task.agent}): {', '.join(facts)}"]
        if task.decision:
            reason = f": {task.decision_reason}" if task.decision_reason else ""
            lines.append(f"- {task.decision}{reason}")
        if task.branch:
            lines.append(f"- branch `{task.branch}`")
        if task.files:
            lines.append("- files: " + ", ".join(f"`{f.path}`" for f in task.files[:8])
                         + (f" and {len(task.files) - 8} more" if len(task.files) > 8 else ""))
        final = (task.final_message or "").strip().splitlines()
        if final:
            lines.append(f"- result: {final[0][:200]}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _files_table(repo: str, start: str | None, end: str | None) -> list[FileChangeRow]:
    if not start or not end or start == end:
        return []
    try:
        changes = files_changed(repo, start, end)
    except GitFactsError:
        return []  # the commits are gone (or the repo moved): the table stays as it was
    return [FileChangeRow.from_counts(c.path, c.change, c.added, c.removed, old_path=c.old_path)
            for c in changes]


def _clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


async def build_summary(store: Store, row: SessionRow) -> SessionSummary:
    tasks = await store.tasks(row.id)
    interventions = await store.interventions(row.id)
    previous = await previous_session(store, row)
    end = row.end_commit
    if end is None and row.status == "active":
        try:
            end = await asyncio.to_thread(head_commit, row.repo)
        except GitFactsError:
            end = None
    files = await asyncio.to_thread(_files_table, row.repo, row.start_commit, end)
    totals = usage_totals(tasks)
    return SessionSummary(
        date=dt.date.fromisoformat(row.date),
        day_number=row.day_number,
        start_commit=(row.start_commit or "")[:7],
        end_commit=(end or "")[:7],
        status=row.status,
        objective=row.objective,
        previous_session=previous_label(previous) if previous else "",
        previous_outcome=(previous.outcome if previous else "na"),
        work_completed=work_completed(tasks),
        files_changed=files,
        interventions=[
            Intervention(_clock(i.at), (f"[{i.task_key}] " if i.task_key else "") + i.text, i.type)
            for i in interventions
        ],
        intervention_count=len(interventions),
        tokens_in=totals.input_all if tasks else None,
        tokens_out=totals.tokens_out if tasks else None,
        cost_usd=totals.cost_usd,
        tokens_unknown=totals.tokens_unknown,
        tokens_approximate=totals.approximate,
    )


async def session_summary(store: Store, row: SessionRow) -> tuple[SessionSummary, str]:
    """The session's summary and where it came from: ``saved``, ``draft`` or ``built``."""
    saved = await store.get_summary(row.id)
    if saved is not None:
        data, draft = saved
        return SessionSummary.from_dict(data), "draft" if draft else "saved"
    return await build_summary(store, row), "built"
