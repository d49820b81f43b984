"""``cockpit stuck``: how much of each ended session's work git still holds (no screen, no Textual).

The sessions of one repository are measured together at ``--at`` (HEAD by default): each file is
blamed once per head and shared between them. Results come from the store's ``survival`` table when
they are there and still valid (see :mod:`sessions.survival.recorded`). A session that cannot be
measured is reported as lost with the reason; the others are still measured. Under each session,
its tasks (work done, stuck, cost per line that stuck) and the developer's own commits, apart.
"""
from __future__ import annotations

import asyncio
import json
import os

from engine.formatting import plural, usd
from engine.errors import UserError
from engine.worktrees import repo_root
from sessions.store.db_path import resolve_db_path
from sessions.survival.recorded import SessionSurvival, measure_rows, resolve_head, survival_item
from sessions.store.store import Store
from sessions.store.rows import SessionRow
from sessions.survival.results import DEFAULT_HORIZONS, horizon_label, work_lines
from tui.cli.session_commands import _find


async def stuck(
    db: str | None, keys: list[str], repo: str | None, at: str | None, as_json: bool, allow_commit_graph: bool,
) -> int:
    store = await Store.open(resolve_db_path(db))
    try:
        if keys:
            rows: list[SessionRow] = []
            for key in keys:
                row = await _find(store, key, repo)
                if row.status == "active":
                    raise UserError(f"session {row.label} is still active: measure it once it has ended")
                if row not in rows:
                    rows.append(row)
            scope = None
        else:
            scope = repo_root(repo or ".")
            rows = [r for r in await store.list_sessions(scope) if r.status != "active"]
        heads: dict[str, str] = {}
        if scope is not None:  # an unknown --at is an error even when there is nothing to measure
            heads[str(scope)] = await asyncio.to_thread(resolve_head, scope, at or "HEAD")
        by_repo: dict[str, list[SessionRow]] = {}
        lost: dict[int, SessionSurvival] = {}
        for row in rows:
            if row.repo not in heads:
                if not os.path.isdir(row.repo):
                    lost[row.id] = SessionSurvival(row, "", None, f"the repository {row.repo} is not there any more")
                    continue
                heads[row.repo] = await asyncio.to_thread(resolve_head, row.repo, at or "HEAD")
            by_repo.setdefault(row.repo, []).append(row)
        found = dict(lost)
        for repo_path, group in by_repo.items():
            for answer in await measure_rows(store, group, heads[repo_path], allow_commit_graph=allow_commit_graph):
                found[answer.row.id] = answer
        answers = [found[row.id] for row in rows]
    finally:
        await store.close()

    items = [survival_item(a) for a in answers]
    if as_json:
        print(json.dumps(items, indent=2))
        return 0
    if not items:
        print(f"no ended session to measure in {scope}")
        return 0
    print_table(answers, items)
    for line in agent_lines(items):
        print(line)
    print(ewr_line(items))
    return 0


def _percent(ratio: float) -> str:
    return f"{ratio:.0%}"


def _horizon(answer: SessionSurvival, label: str) -> str:
    result = answer.result
    if result is None:
        return "lost"
    value = result.horizons.get(label)
    if value is not None:
        return _percent(value)
    if result.added == 0:
        return "-"  # nothing to survive, then or ever
    point = result.horizon_points.get(label)
    if point is not None and not point.reached:
        return "not yet"
    return "lost"


def print_table(answers: list[SessionSurvival], items: list[dict]) -> None:
    labels = [horizon_label(d) for d in DEFAULT_HORIZONS]
    table = [("session", "added", "surviving", "ratio", "reverted", "method", *labels)]
    for answer, item in zip(answers, items):
        table.append((
            item["session"],
            "-" if item["added"] is None else f"{item['added']:,}",
            "-" if item["surviving"] is None else f"{item['surviving']:,}",
            "-" if item["ratio"] is None else _percent(item["ratio"]),
            "-" if item["reverted"] is None else ("yes" if item["reverted"] else "no"),
            item["method"],
            *(_horizon(answer, label) for label in labels),
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    right = {1, 2, 3}
    for n, row in enumerate(table):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
        if n:
            for line in detail_lines(answers[n - 1]):
                print("  " + line)


def detail_lines(answer: SessionSurvival) -> list[str]:
    """Under a session: why it is lost, or what its agents (and you) did and what stuck."""
    if answer.result is None:
        return [answer.reason] if answer.reason else []
    return work_lines(answer.result)


def agent_lines(items: list[dict]) -> list[str]:
    """Per agent profile, over every task measured: work done, what stuck, cost per line that stuck."""
    agents: dict[str, list] = {}
    for item in items:
        for task in item.get("tasks", []):
            if task["task"].startswith("("):
                continue
            a = agents.setdefault(task["agent"] or "-", [0, 0, 0, 0.0, True])
            a[0] += 1
            a[1] += task["added"]
            a[2] += task["surviving"]
            if task["cost_usd"] is None:
                a[4] = False
            else:
                a[3] += task["cost_usd"]
    if not agents:
        return []
    lines = ["by agent profile:"]
    for agent, (n, added, kept, cost, known) in sorted(agents.items(), key=lambda kv: (-kv[1][1], kv[0])):
        share = f" ({_percent(kept / added)})" if added else ""
        price = f", {usd(cost / kept)} a line that stuck" if known and kept else ""
        lines.append(f"  {agent}: {plural(n, 'task')}, +{added:,} done, {kept:,} stuck{share}{price}")
    return lines


def ewr_line(items: list[dict]) -> str:
    """``EWR(git): 73% of 1,234 lines over 5 sessions`` (the sessions with a ratio)."""
    counted = [i for i in items if i["ratio"] is not None and i["added"]]
    added = sum(i["added"] for i in counted)
    if not added:
        return "EWR(git): no session with lines to measure yet"
    surviving = sum(i["surviving"] for i in counted)
    n = len(counted)
    return f"EWR(git): {_percent(surviving / added)} of {added:,} lines over {plural(n, 'session')}"
