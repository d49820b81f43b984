"""``cockpit clean``: the task branches and worktrees that earlier runs left, listed, then removed."""
from __future__ import annotations

import asyncio

from engine.worktrees import repo_root
from sessions.cleanup import apply_clean, clean_exit_status, describe_clean, plan_clean
from sessions.store.db_path import resolve_db_path
from sessions.store.store import Store


async def clean(db: str | None, repo: str | None, names: list[str], dry_run: bool) -> int:
    """Print what goes and what stays (and why), then remove (not with ``dry_run``); 1 if a removal failed."""
    root = repo_root(repo or ".")
    store = await Store.open(resolve_db_path(db))
    try:
        plan = await plan_clean(store, root, names)
    finally:
        await store.close()
    if not dry_run and plan.removed:
        await asyncio.to_thread(apply_clean, plan)
    for line in describe_clean(plan, done=not dry_run):
        print(line)
    return clean_exit_status(plan)
