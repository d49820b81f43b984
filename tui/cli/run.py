"""``cockpit run`` and ``cockpit demo``: a recorded session around a headless run, or the cockpit.

Textual is imported only inside :func:`run_cockpit`, so the headless path starts fast.
"""
from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from engine.scheduler import Engine
from engine.worktrees import repo_root
from sessions.store.db_path import resolve_db_path
from sessions.lifecycle import RecordedRun, begin_session, finish_session, recover_dead_sessions, status_for
from sessions.settings import load_session_settings
from sessions.store.db import StoreError
from sessions.store.store import Store
from tui.cli.headless import run_headless


RECORD_INCOMPLETE = 3  # the exit status of a run whose record could not be completed


def _say(text: str, file: Any = None) -> None:
    """Print a line, unless the terminal is gone (it closed: the run goes on and is recorded)."""
    try:
        print(text, file=file or sys.stdout, flush=True)
    except OSError:
        pass


def _say_recording(trouble: str | None) -> None:
    if trouble is None:
        _say("recording resumed: the lines kept in memory were written", sys.stderr)
    else:
        _say(f"recording stopped: {trouble}; the run goes on, its record is kept in memory and written "
             "when it can be", sys.stderr)


async def run_recorded(engine: Engine, plan_path: Path, db: str | None, objective: str, logs: bool) -> int:
    assert engine.repo is not None
    store = await Store.open(resolve_db_path(db))
    try:
        for found in await recover_dead_sessions(store, engine.repo):
            tasks = f": tasks {', '.join(found.tasks)} marked interrupted" if found.tasks else ""
            _say(f"note: session {found.session.label} was left open by a cockpit that stopped{tasks}", sys.stderr)
        session = await begin_session(store, engine.repo, objective)
        recorder = RecordedRun(store, session, engine, str(plan_path.resolve()))
        recorder.on_trouble = _say_recording
        await recorder.start()
        code = 1
        row = None
        try:
            code = await run_headless(engine, show_logs=logs)
        finally:
            try:
                await recorder.wait()
                states = {tid: run.state for tid, run in engine.tasks.items()}
                row = await finish_session(store, session, status_for(states))
            except (StoreError, sqlite3.Error, OSError) as exc:
                # the run is over and was shown; its record could not be completed: said, exit 3
                _say(f"cockpit: {exc}", sys.stderr)
        if row is None:
            return RECORD_INCOMPLETE
        _say(f"\nsession {row.label} recorded ({row.status}) in {store.path}; see it with: cockpit show {row.label}")
        with_work = [tid for tid, run in engine.tasks.items() if run.last_result is not None and run.last_result.files]
        if with_work:
            _say(f"its work is not reviewed yet ({', '.join(with_work)}): accept or discard it with: "
                 f"cockpit review {row.label}")
        return code
    finally:
        await store.close()


async def run_cockpit(plan_path: Path | None, repo: str | None, db: str | None, objective: str,
                      max_parallel: int | None, **engine_options: Any) -> int:
    """Open the cockpit on ``plan_path`` in a new session, or on the start screen when it is None.

    0 when every task of every session started here succeeded, else 1. The sessions are printed
    (label, status, how to see them) once the app has gone.
    """
    from tui.app import CockpitApp  # Textual is imported here only
    from tui.bindings import load_keymap
    from sessions.launcher import SessionLauncher

    keymap = load_keymap()
    root = repo_root(repo or ".")
    store = await Store.open(resolve_db_path(db))
    try:
        launcher = SessionLauncher(store, root, max_parallel, settings=load_session_settings(root),
                                   **engine_options)
        await launcher.recover(root)
        live = await launcher.launch(objective, plan_path) if plan_path is not None else None
        app = CockpitApp(launcher, live=live, keymap=keymap)
        loop = asyncio.get_running_loop()
        # The terminal closed (or the cockpit was told to end): leave the app, then every session is
        # ended below as on a quit, its running tasks cancelled and its record completed.
        for sig in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(sig, app.exit)
        try:
            await app.run_async()
        finally:
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            try:
                rows = await launcher.close()
            except (StoreError, sqlite3.Error, OSError) as exc:
                _say(f"cockpit: {exc}", sys.stderr)
                rows = None
        if rows is None:
            return RECORD_INCOMPLETE
        if not rows:
            _say("no session was started")
        for row in rows:
            _say(f"session {row.label} recorded ({row.status}) in {store.path}; see it with: cockpit show {row.label}")
        ok = bool(rows) and all(
            run.state.value == "succeeded" for live in launcher.sessions for run in live.engine.tasks.values()
        )
        return 0 if ok else 1
    finally:
        await store.close()
