"""``cockpit review [SESSION]``: open the review of every undecided task of a session (the newest by
default, also one run with ``--headless`` or already ended). Textual is imported only when it runs."""
from __future__ import annotations

from tui.cli.decide import session_decisions
from tui.cli.session_commands import _open


async def run_review(db: str | None, key: str | None, repo: str | None) -> int:
    from tui.bindings import load_keymap
    from tui.review_app import ReviewApp

    store = await _open(db)
    try:
        row, decisions = await session_decisions(store, key, repo)
        app = ReviewApp(store, decisions, row.objective, keymap=load_keymap())
        await app.run_async()
    finally:
        await store.close()
    return 0
