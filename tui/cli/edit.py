"""``cockpit edit SESSION``: open a past session's summary form (its saved summary or draft, else the
one the cockpit builds); saving updates the database and the Markdown file.

The session is found before Textual is imported, so an unknown one is one line and exit 2, fast.
"""
from __future__ import annotations

from pathlib import Path

from engine.errors import UserError
from sessions.completion import close_left_open
from sessions.liveness import is_live
from sessions.settings import SessionSettings, load_session_settings
from sessions.summary.builder import session_summary
from tui.cli.session_commands import _find, _open


async def edit_session(db: str | None, key: str, repo: str | None) -> int:
    store = await _open(db)
    try:
        row = await _find(store, key, repo)
        if row.status == "active":
            if is_live(store.path, row.id):
                raise UserError(f"session {row.label} is running in a cockpit now: end it there first")
            row = await close_left_open(store, row)
            print(f"session {row.label} was left open by a cockpit that stopped: ended as {row.status}")
        if Path(row.repo).is_dir():
            settings = load_session_settings(Path(row.repo))
        else:  # the repository moved or is gone: the database only
            settings = SessionSettings(summary_folder=None)
            print(f"note: {row.repo} is gone: the summary is saved in the database only")
        summary, source = await session_summary(store, row)

        from tui.bindings import load_keymap
        from tui.summary_app import SummaryApp

        app = SummaryApp(store, row, settings, summary, source, keymap=load_keymap())
        result = await app.run_async()
    finally:
        await store.close()
    if result is None:
        print(f"session {row.label}: summary not saved (what was typed is kept as a draft)")
        return 0
    for line in result.messages():
        print(line)
    if result.rate is not None:
        rate = result.rate
        print(f"effective work rate (human): {rate.all_time.text()}; last {rate.recent_size}: {rate.recent.text()}")
    return 0
