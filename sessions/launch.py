"""Preparing a run: everything that can be wrong with the plan, the configuration and the repository is
found here, before anything starts or is recorded."""
from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import Any, Callable

from engine.config import load_config
from engine.errors import UserError
from engine.options import EngineOptions
from engine.plan import load_plan
from engine.profiles import check_api_key, claude_sdk_missing
from engine.routing import AUTO
from engine.scheduler import Engine, default_agent_factory
from engine.worktrees import blocking_branch, repo_root, resolve_commit, stale_worktrees
from sessions.cleanup import worktree_count_notice
from sessions.reports.track_record import StoreTrackRecord
from sessions.settings import SECTIONS as SESSION_SECTIONS, session_settings
from sessions.store.db_path import resolve_db_path


def note_to_stderr(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def prepare(plan_path: Path, repo: str | None, max_parallel: int | None,
            note: Callable[[str], None] = note_to_stderr, *, db: str | os.PathLike[str] | None = None,
            **engine_options: Any) -> Engine:
    """Everything that can be wrong with the input is found here, before anything starts.

    ``note`` receives what the user should know (how many worktrees earlier runs left);
    ``engine_options`` are fields of the engine's :class:`EngineOptions` (tests shorten its backoff and stop grace;
    ``budget_usd`` / ``budget_tokens`` are the session's limits, over the plan's). A plan whose tasks
    call the Anthropic API while no API key is set is refused here, and so is a task that lets the engine
    choose its profile (``agent = "auto"`` or a list) when none of its candidates is installed.

    The engine gets the roles and routing settings of ``cockpit.toml``; when a task routes with
    ``best``, also the track record of the repository read from the store at ``db`` (``--db``,
    ``COCKPIT_DB`` or the default).
    """
    root = repo_root(repo or ".")
    config = load_config(root, extra_sections=SESSION_SECTIONS)
    session_settings(config)  # [assessment] and [summary] checked now, with the rest of the file
    plan = load_plan(plan_path, config.profiles, config.roles)
    fixed = [config.profiles[agent] for agent in sorted({t.agent for t in plan.tasks if not t.agents})]
    problem = check_api_key(fixed)
    if problem is not None:
        raise UserError(problem)
    for profile in fixed:  # the Claude Agent SDK is an extra: say what to install before anything starts
        if profile.kind == "claude" and (problem := claude_sdk_missing(profile)) is not None:
            raise UserError(problem)
    routed = [t for t in plan.tasks if t.agents]
    auto = config.routing.profiles or tuple(n for n, p in config.profiles.profiles.items() if p.kind != "shell")
    for task in routed:
        candidates = auto if task.agents == (AUTO,) else task.agents
        if all(config.profiles[name].missing_program() is not None for name in candidates):
            raise UserError(f"{plan.source}: task {task.id!r}: agent {task.agent!r}: none of its candidate "
                            f"profiles ({', '.join(candidates)}) is installed (or has its API key)")
    if any(t.routing == "best" for t in routed):
        engine_options.setdefault("track_record", StoreTrackRecord.load(resolve_db_path(db and str(db)), root))
    engine_options.setdefault("roles", config.roles)
    engine_options.setdefault("auto_profiles", config.routing.profiles)
    engine_options.setdefault("min_track_record", config.routing.min_tasks)
    resolve_commit(root, plan.base)
    blocking = blocking_branch(root)
    if blocking is not None:
        raise UserError(f"{root} has a branch named {blocking!r}: git cannot also make the task branches "
                        f"{blocking}/<run>/<task> beside it; rename it (git branch -m {blocking} NEW-NAME)")
    stale = stale_worktrees(root)
    if stale:
        note(worktree_count_notice(len(stale)))
    for found in stale:
        if found.index_lock:
            note(f"worktree {found.path}: its index is locked ({found.index_lock}): a git command was cut "
                 "short there; remove that file once no git command runs in it")
    engine_options.setdefault("agent_factory", partial(default_agent_factory, prices=config.price_table()))
    return Engine(plan, config.profiles, root, EngineOptions(max_parallel=max_parallel, **engine_options))


