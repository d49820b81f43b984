"""Starts recorded sessions for the cockpit and ends whatever it started. Imports nothing from Textual.

The cockpit app receives a :class:`SessionLauncher`: the start screen calls :meth:`launch` with the
objective and the plan, and when the app goes away :meth:`close` ends every session that is still
open (so a session is never left active by a cockpit that quit).
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable


from engine.paths import data_dir, private_dir
from sessions.lifecycle import begin_session, recover_dead_sessions
from sessions.live_session import LiveSession
from sessions.settings import SessionSettings
from sessions.store.store import Store
from sessions.store.rows import SessionRow
from sessions.launch import note_to_stderr, prepare


def plans_dir() -> Path:
    """Where plans written in the start screen are kept (the user's data dir, private)."""
    return private_dir(data_dir() / "plans")


class SessionLauncher:
    def __init__(self, store: Store, repo: str | Path | None = None, max_parallel: int | None = None, *,
                 note: Callable[[str], None] = note_to_stderr, settings: SessionSettings | None = None,
                 **engine_options: Any) -> None:
        self.store = store
        self.settings = settings or SessionSettings()  # [assessment] and [summary] of cockpit.toml
        self.repo = str(repo) if repo is not None else None
        self.max_parallel = max_parallel
        self.note = note
        self.engine_options = engine_options
        self.sessions: list[LiveSession] = []
        self.notes: list[str] = []  # what prepare() said of the repository at the last launch (stale worktrees...)

    async def recover(self, repo: Path) -> None:
        """Report sessions of ``repo`` a cockpit left open when it died (their tasks become interrupted)."""
        for found in await recover_dead_sessions(self.store, repo):
            tasks = f": tasks {', '.join(found.tasks)} marked interrupted" if found.tasks else ""
            self.note(f"session {found.session.label} was left open by a cockpit that stopped{tasks}")

    async def launch(self, objective: str, plan_path: Path) -> LiveSession:
        """A new recorded session running ``plan_path`` (not started: the cockpit starts it).

        Raises UserError (bad plan, not a repository...) before anything is recorded.
        """
        notes: list[str] = []
        engine = await asyncio.to_thread(
            prepare, plan_path, self.repo, self.max_parallel, notes.append, db=self.store.path,
            **self.engine_options,
        )
        for text in notes:
            self.note(text)
        self.notes = notes
        assert engine.repo is not None
        session = await begin_session(self.store, engine.repo, objective)
        live = LiveSession(self.store, session, engine, str(plan_path.resolve()))
        self.sessions.append(live)
        return live

    def save_plan_text(self, text: str) -> Path:
        """Keep a plan written in the start screen as a file (nothing the user wrote is lost)."""
        path = plans_dir() / time.strftime("plan-%Y%m%d-%H%M%S.toml")
        n = 1
        while path.exists():
            n += 1
            path = path.with_name(time.strftime(f"plan-%Y%m%d-%H%M%S-{n}.toml"))
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return path

    async def close(self) -> list[SessionRow]:
        """End every session still open; the rows of every session this launcher started."""
        rows = []
        for live in self.sessions:
            if live.session.lock.held:
                rows.append(await live.end())
            else:
                row = await self.store.get_session(live.row.id)
                rows.append(row or live.row)
        return rows
