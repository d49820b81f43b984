"""``cockpit accept`` and ``cockpit discard``: the review's decisions without a screen, with the same checks.

A refusal is one line and exit code 2, and changes nothing. ``cockpit review`` (the screen) is in
:mod:`tui.cli.review`.
"""
from __future__ import annotations

import sys
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


async def accept_task(db: str | None, key: str, task: str, repo: str | None, mode: str,
                      include: list[str]) -> int:
    store = await _open(db)
    try:
        row, decisions = await session_decisions(store, key, repo)
        try:
            accepted = await decisions.accept(task, mode, include)
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
    print(f"accepted {task} of session {row.label}: {accepted.describe()}")
    return 0


async def discard_task(db: str | None, key: str, task: str, repo: str | None, reason: str) -> int:
    store = await _open(db)
    try:
        row, decisions = await session_decisions(store, key, repo)
        try:
            await decisions.discard(task, reason)
        except CommandError as exc:
            print(f"cockpit: {exc}", file=sys.stderr)
            return 2
    finally:
        await store.close()
    print(f"discarded {task} of session {row.label}: its worktree and branch are deleted")
    return 0
