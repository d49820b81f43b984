"""Sessions as plain data for ``cockpit sessions --json`` and ``cockpit show --json``."""
from __future__ import annotations

import time
from typing import Any

from sessions.summary.completeness import completeness
from sessions.store.store import Store
from sessions.store.rows import SessionRow, TaskRow
from sessions.summary.model import SessionSummary
from sessions.summary.builder import FAILURE_STATES, session_summary, usage_totals


# What a task left in these states in a session whose cockpit died is: it will never go on.
_UNFINISHED = frozenset({"pending", "ready", "running", "paused"})


def session_item(row: SessionRow, live: bool | None = None) -> dict[str, Any]:
    """``live``: whether a living cockpit runs the session (None: not known). An active session whose
    cockpit died says so (``cockpit_gone``): its tasks are not running, whatever was last recorded."""
    return {
        "id": row.id,
        "label": row.label,
        "repo": row.repo,
        "date": row.date,
        "day_number": row.day_number,
        "objective": row.objective,
        "status": row.status,
        "start_commit": row.start_commit,
        "end_commit": row.end_commit,
        "rating": row.rating,
        "outcome": row.outcome,
        "source": row.source,
        "cockpit_gone": row.status == "active" and live is False,
    }


def task_item(task: TaskRow) -> dict[str, Any]:
    return {
        "id": task.key,
        "title": task.title,
        "agent": task.agent,  # the profile that ran it (for a routed task, the one the engine chose)
        "role": task.role,
        "route": task.route,  # why the engine chose that profile; None for a fixed one
        "state": task.state,
        "failure": task.state in FAILURE_STATES,  # failed, timed_out, budget_exceeded
        "attempts": task.attempts,
        "tokens_in": task.tokens_in,
        "tokens_out": task.tokens_out,
        "cache_write": task.cache_write,
        "cache_read": task.cache_read,
        "cost_usd": task.cost_usd,
        "tokens_known": task.tokens_known,  # False: the agent reports no billed tokens (the counts are unknown)
        "tokens_approximate": task.tokens_approximate,
        "decision": task.decision,
        "decision_reason": task.decision_reason,
        # how accepted work came in: "merge" or "picked" (only its own commits, copied), through which
        # task's accept (None: its own), and each picked commit with its copy on the branch
        "accepted_as": task.accepted_as,
        "accepted_via": task.accepted_via,
        "accepted_into": task.accepted_into,
        "accept_commit": task.accept_commit,
        "picked": [list(pair) for pair in task.picked],
        "branch": task.branch,
        "added": task.added,
        "removed": task.removed,
        "check": task.check,  # the last check: command, ok, exit_code, timed_out, counts; None without one
        # its agent's own session (a Claude Code session id) and the command that continues it by hand
        "agent_session": task.agent_session,
        "resume_command": task.resume_command,
    }


def completeness_item(summary: SessionSummary) -> dict[str, list[int]]:
    comp = completeness(summary)
    return {group: list(comp.count(group)) for group in ("cockpit", "human", "optional")}


def usage_item(tasks: list[TaskRow], summary: SessionSummary) -> dict[str, Any]:
    """The session's totals: from its tasks (every run and attempt), or for a session without tasks
    (an imported one) what its summary says (its tokens in count the cache tokens too)."""
    if not tasks:
        return {"tokens_in": summary.tokens_in, "tokens_out": summary.tokens_out, "cache_write": None,
                "cache_read": None, "cost_usd": summary.cost_usd, "cost_complete": True,
                "tokens_complete": not summary.tokens_unknown, "tokens_unknown": summary.tokens_unknown,
                "tokens_approximate": summary.tokens_approximate}
    totals = usage_totals(tasks)
    # tokens_unknown: how many tasks' agents reported no billed tokens (the counts leave them out)
    return {"tokens_in": totals.tokens_in, "tokens_out": totals.tokens_out, "cache_write": totals.cache_write,
            "cache_read": totals.cache_read, "cost_usd": totals.cost_usd, "cost_complete": totals.cost_complete,
            "tokens_complete": totals.tokens_complete, "tokens_unknown": totals.tokens_unknown,
            "tokens_approximate": totals.approximate}


async def session_detail(store: Store, row: SessionRow, live: bool | None = None) -> dict[str, Any]:
    summary, source = await session_summary(store, row)
    tasks = await store.tasks(row.id)
    interventions = await store.interventions(row.id)
    item = session_item(row, live)
    task_items = [task_item(t) for t in tasks]
    if item["cockpit_gone"]:
        for t in task_items:
            if t["state"] in _UNFINISHED:
                t["state"] = "interrupted"  # as the next cockpit in the repository will record it
    item.update(
        summary_source=source,
        tasks=task_items,
        interventions=[
            {"at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(i.at)), "task": i.task_key,
             "type": i.type, "text": i.text}
            for i in interventions
        ] or [{"at": x.when, "task": None, "type": x.type, "text": x.what} for x in summary.interventions],
        files_changed=[
            {"path": f.path, "change": f.change_type, "added": f.added, "removed": f.removed}
            for f in summary.files_changed
        ],
        work_completed=summary.work_completed,
        previous_session=summary.previous_session,
        previous_outcome=summary.previous_outcome,
        tasks_failed=sum(1 for t in tasks if t.state in FAILURE_STATES),
        **usage_item(tasks, summary),
        completeness=completeness_item(summary),
    )
    return item
