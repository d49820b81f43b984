"""``cockpit sessions``, ``show``, ``export`` and ``import``: the store read and written without a screen.

``cockpit stuck`` is in :mod:`tui.cli.stuck`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.formatting import cost_text, tokens_sum_text, tokens_text
from engine.errors import UserError
from engine.terminal_text import plain
from engine.worktrees import repo_root
from sessions.liveness import is_live
from sessions.store.db_path import resolve_db_path
from sessions.summary.importer import import_summaries
from sessions.reports.views import session_detail, session_item
from sessions.store.store import Store
from sessions.store.rows import SessionRow
from sessions.summary.model import SessionSummary
from sessions.summary.builder import session_summary
from sessions.summary.export import export_markdown


def _markdown(summary: SessionSummary) -> str:
    """An imported summary nobody edited keeps the checklist its file ticked; others are computed."""
    return export_markdown(summary, checklist="recorded" if summary.checklist is not None else "computed")


async def _open(db: str | None) -> Store:
    return await Store.open(resolve_db_path(db))


async def _find(store: Store, key: str, repo: str | None) -> SessionRow:
    scope = None
    if not (key.strip().isascii() and key.strip().isdigit()):
        scope = repo_root(repo or ".")
    row = await store.get_session(key, scope)
    if row is None:
        where = f" in {scope}" if scope else ""
        raise UserError(f"no session {key!r}{where} (list them with: cockpit sessions)")
    return row


def _live(store: Store, row: SessionRow) -> bool | None:
    """Whether a living cockpit runs ``row`` (None: not known, e.g. its lock folder cannot be made)."""
    if row.status != "active":
        return None
    try:
        return is_live(store.path, row.id)
    except OSError:
        return None


def _status(item: dict) -> str:
    return "active, its cockpit is gone" if item["cockpit_gone"] else item["status"]


async def list_sessions(db: str | None, repo: str | None, every_repo: bool, as_json: bool) -> int:
    scope = None if every_repo else repo_root(repo or ".")
    store = await _open(db)
    try:
        rows = await store.list_sessions(scope)
        items = [session_item(r, _live(store, r)) for r in rows]
    finally:
        await store.close()
    if as_json:
        print(json.dumps(items, indent=2))
        return 0
    if not rows:
        print("no sessions yet" + (f" in {scope}" if scope else ""))
        return 0
    table = [("label", "id", "status", "rating", "outcome", "objective")]
    for r, item in zip(rows, items):
        table.append((r.label, str(r.id), _status(item), f"{r.rating}/5" if r.rating else "-",
                      r.outcome or "pending", (r.objective or "")[:60]))
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        print(plain("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + "  " + row[5]))
    return 0


async def _cached_survival(store: Store, row: SessionRow) -> dict | None:
    """The session's stored survival at its repository's HEAD (measured by ``cockpit stuck``), or
    None; never measured here."""
    import asyncio

    from sessions.git.facts import GitFactsError, head_commit
    from sessions.survival.recorded import cached_survival, result_item

    if row.status == "active" or not Path(row.repo).is_dir():
        return None
    try:
        head = await asyncio.to_thread(head_commit, row.repo)
    except GitFactsError:
        return None
    result = None if head is None else await cached_survival(store, row.id, head)
    return None if result is None else result_item(row, result, cached=True)


async def show_session(db: str | None, key: str, repo: str | None, fmt: str) -> int:
    store = await _open(db)
    try:
        row = await _find(store, key, repo)
        if fmt == "markdown":
            summary, _ = await session_summary(store, row)
            sys.stdout.write(_markdown(summary))
            return 0
        detail = await session_detail(store, row, _live(store, row))
        detail["survival"] = await _cached_survival(store, row)
    finally:
        await store.close()
    if fmt == "json":
        print(json.dumps(detail, indent=2))
        return 0
    _print_detail(detail)
    return 0


def _print_detail(detail: dict) -> None:
    """The plain-text ``show``: what was recorded, with no control character (an old record may hold some)."""
    def say(text: str) -> None:
        print(plain(text))

    say(f"session {detail['label']} (id {detail['id']}) in {detail['repo']}: {_status(detail)}")
    say(f"objective: {detail['objective'] or '-'}")
    say(f"commits:   {(detail['start_commit'] or '-')[:10]} .. {(detail['end_commit'] or '-')[:10]}")
    say(f"outcome:   {detail['outcome'] or 'pending'}    rating: "
          f"{str(detail['rating']) + '/5' if detail['rating'] else '-'}")
    comp = detail["completeness"]
    say("summary:   " + ", ".join(f"{n}/{d} {g}" for g, (n, d) in comp.items())
          + f" ({detail['summary_source']})")
    if detail["tokens_in"] is not None or detail["cost_usd"] is not None:
        spent = sum(detail[k] or 0 for k in ("tokens_in", "tokens_out", "cache_write", "cache_read"))
        tokens = tokens_sum_text(spent, detail["tokens_unknown"], detail["tokens_approximate"])
        say(f"usage:     {tokens}, {cost_text(detail['cost_usd'])}"
            + ("" if detail["cost_complete"] else " (some costs unknown)"))
    stuck = detail["survival"]
    if stuck is not None:
        ratio = "-" if stuck["ratio"] is None else f"{stuck['ratio']:.0%}"
        say(f"survival:  {ratio} of {stuck['added']} lines at {stuck['head'][:10]} ({stuck['method']}"
              + (", reverted" if stuck["reverted"] else "") + ")")
    for t in detail["tasks"]:
        spent = t["tokens_in"] + t["tokens_out"] + t["cache_write"] + t["cache_read"]
        say(f"  task {t['id']:<14} {t['state']:<10} {t['attempts']} attempt(s)  "
            f"tokens {tokens_text(spent, t['tokens_known'], t['tokens_approximate'])}  {cost_text(t['cost_usd'])}"
              + (f"  {t['decision']}" if t["decision"] else ""))
    for i in detail["interventions"]:
        say(f"  {i['at']}  {i['type']:<8} {i['text']}")


async def export_session(db: str | None, key: str, repo: str | None, out: str | None, force: bool) -> int:
    store = await _open(db)
    try:
        row = await _find(store, key, repo)
        summary, _ = await session_summary(store, row)
    finally:
        await store.close()
    text = _markdown(summary)
    if out is None or out == "-":
        sys.stdout.write(text)
        return 0
    path = Path(out).expanduser()
    if path.is_dir():
        path = path / f"summary{row.label}.md"
    if path.exists() and not force and path.read_text(errors="replace") != text:
        raise UserError(f"{path} exists and differs; use --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return 0


async def import_files(db: str | None, paths: list[str], repo: str | None) -> int:
    root = repo_root(repo or ".")
    store = await _open(db)
    try:
        report = await import_summaries(store, paths, root)
    finally:
        await store.close()
    for path, label in report.imported:
        print(f"imported {path} as session {label}")
    for path, label in report.already:
        print(f"already there: {path} (session {label})")
    for message in report.failed:
        print(f"cockpit: {message}", file=sys.stderr)
    print(f"{len(report.imported)} imported, {len(report.already)} already there, "
          f"{len(report.failed)} not read")
    return 2 if report.failed else 0


async def assess_session(db: str | None, key: str, repo: str | None, outcome: str, note: str) -> int:
    """Record how a session's work was used, and show the human work rate it gives."""
    from sessions.summary.work_rate import human_work_rate

    store = await _open(db)
    try:
        row = await _find(store, key, repo)
        if row.status == "active":
            raise UserError(f"session {row.label} is still active: assess it once it has ended")
        await store.add_assessment(row.id, outcome, note)
        rate = human_work_rate(await store.list_sessions(row.repo))
    finally:
        await store.close()
    print(f"session {row.label}: {outcome}" + (f" ({note})" if note else ""))
    print(f"effective work rate (human): {rate.all_time.text()}; last {rate.recent_size}: {rate.recent.text()}")
    return 0
