"""``cockpit history``: the history screen on its own (the cockpit opens the same screen with ``h``).

This module imports Textual: the command line imports it only for ``cockpit history``.
"""
from __future__ import annotations

from pathlib import Path

from textual.app import App

from sessions.store.db_path import resolve_db_path
from sessions.store.store import Store
from tui.bindings import APP_BINDINGS
from tui.commands import CockpitCommands
from tui.screens.history import HistoryScreen


class HistoryApp(App[None]):
    """Opens the store in its own event loop, shows :class:`HistoryScreen`, leaves when it closes."""

    CSS_PATH = "app.tcss"
    TITLE = "Session Cockpit"
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {CockpitCommands}

    def __init__(self, db: str | Path, repo: str | None, every_repo: bool = False,
                 keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.db = Path(db)
        self.repo = repo
        self.every_repo = every_repo
        self.keymap = keymap or {}
        self.store: Store | None = None

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.store = await Store.open(self.db)
        self.push_screen(HistoryScreen(self.store, self.repo, self.every_repo), lambda _: self.exit())

    async def on_unmount(self) -> None:
        if self.store is not None:
            await self.store.close()


async def run_history(db: str | None, repo: str | None, every_repo: bool) -> int:
    """Open the history of ``repo`` (the current folder's repository by default), or of every
    repository with ``every_repo`` (then a repository is optional: outside one, every repository)."""
    from engine.errors import UserError
    from engine.worktrees import repo_root
    from tui.bindings import load_keymap

    root: str | None
    try:
        root = str(repo_root(repo or "."))
    except UserError:
        if not every_repo or repo is not None:
            raise
        root = None
    keymap = load_keymap()
    path = resolve_db_path(db)
    app = HistoryApp(path, root, every_repo, keymap=keymap)
    await app.run_async()
    return 0
