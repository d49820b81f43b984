"""``cockpit accept`` and ``cockpit discard``: the review's decisions without a screen, with the same checks.

A refusal is one line and exit code 2, and changes nothing. ``cockpit review`` (the screen) is in
:mod:`tui.cli.review`.
"""
from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from engine.errors import CommandError, UserError
from engine.worktrees import repo_root
from sessions.decisions import Decisions, NeedsChoice
from sessions.store.rows import SessionRow
from sessions.store.store import Store
from tui.cli.session_commands import _find, _open


async def session_decisions(store: Store, key: str | None, repo: str | None) -> tuple[SessionRow, Decisions]:
    """The session ``key`` (id or label; None: the repository's newest) and its decisions."""
    if key is None:
        scope = repo_root(repo or ".")
        rows = await store.list_sessions(scope)
        if not rows:
            raise UserError(f"no sessions yet in {scope}")
        row = rows[0]
    else:
        row = await _find(store, key, repo)
    if row.source != "cockpit":
        raise UserError(f"session {row.label} was imported from a summary: it has no tasks to review")
    if not Path(row.repo).is_dir():
        raise UserError(f"the repository of session {row.label} is not at {row.repo} any more")
    return row, Decisions(store, row.id, row.repo, row.label)


async def _decide(db: str | None, key: str, task: str, repo: str | None,
                  decide: Callable[[Decisions], Awaitable[tuple[str, str]]]) -> int:
    """Run one decision on the session's task; its line on stdout, or a refusal's on stderr (exit 2)."""
    store = await _open(db)
    try:
        row, decisions = await session_decisions(store, key, repo)
        try:
            verb, detail = await decide(decisions)
        except NeedsChoice as exc:
            print(f"cockpit: task {task!r} of session {row.label} holds work of {exc.names()} that is not in "
                  "your branch: accept it with --own (only its own commits) or --with-deps (with that work); "
                  "nothing was changed", file=sys.stderr)
            return 2
        except CommandError as exc:
            print(f"cockpit: {exc}", file=sys.stderr)
            return 2
    finally:
        await store.close()
    print(f"{verb} {task} of session {row.label}: {detail}")
    return 0


async def accept_task(db: str | None, key: str, task: str, repo: str | None, mode: str,
                      include: list[str]) -> int:
    async def accept(decisions: Decisions) -> tuple[str, str]:
        return "accepted", (await decisions.accept(task, mode, include)).describe()

    return await _decide(db, key, task, repo, accept)


async def discard_task(db: str | None, key: str, task: str, repo: str | None, reason: str) -> int:
    async def discard(decisions: Decisions) -> tuple[str, str]:
        await decisions.discard(task, reason)
        return "discarded", "its worktree and branch are deleted"

    return await _decide(db, key, task, repo, discard)
