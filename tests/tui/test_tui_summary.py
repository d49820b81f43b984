"""The summary form with Pilot, on real sessions (shell plans run by the engine in real repositories,
recorded in a real store): the pre-fill, the live checklist, the rating keys, saving to the database and
the Markdown file, leaving without saving, the draft surviving a SIGKILL, and ``cockpit edit``."""
from __future__ import annotations

import asyncio
import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, TextArea

import tui.summary_app
from tests.helpers.events import EVENT_TIMEOUT, eventually
from tests.helpers.paths import ROOT
from tests.helpers.repos import git
from tests.helpers.session_runs import ENGINE_OPTIONS, run_session, write_plan
from sessions.completion import pending_completion
from sessions.settings import SessionSettings, load_session_settings
from sessions.store.store import Store
from sessions.store.db import prepare_database
from sessions.summary.model import FileChangeRow, Intervention, SessionSummary
from sessions.summary.builder import session_summary
from sessions.summary.parse import load_summary
from sessions.summary.save import save_final
from tui.app import CockpitApp
from tui.cli.main import main
from tui.screens.cockpit import CockpitScreen
from tui.screens.dialogs import ConfirmDialog, NoteDialog
from tui.screens.start import StartScreen
from tui.screens.summary_form import SummaryFormScreen
from tui.screens.summary_saved import SummarySavedDialog
from sessions.launcher import SessionLauncher
from tui.summary_app import SummaryApp
from tui.widgets.checklist_panel import ChecklistPanel
from tui.widgets.rating_field import RatingField
from tests.helpers.tui_pilot import Notices, until

SIZE = (120, 40)
WORDS = {"id": "words", "title": "Add a word counter",
         "prompt": "printf 'def count(t):\\n    return len(t.split())\\n' > words.py\necho 'wrote words.py'"}
NOTES = {"id": "notes", "title": "Write the notes", "prompt": "echo '# Notes' > notes.md"}


async def form_app(store: Store, repo: Path, plans: Path, settings: SessionSettings | None = None,
                   **run: Any) -> SummaryApp:
    """The form (in the app ``cockpit edit`` runs) for a new real session of WORDS."""
    row = await run_session(store, repo, plans, [WORDS], "Count the words of a text", **run)
    summary, source = await session_summary(store, row)
    return SummaryApp(store, row, settings or SessionSettings(), summary, source)


def form_of(app: Any) -> SummaryFormScreen:
    return next(s for s in app.screen_stack if isinstance(s, SummaryFormScreen))


def score(form: SummaryFormScreen) -> str:
    return form.query_one(ChecklistPanel).score


# ------------------------------------------------------------------------ end of a session
async def test_ending_opens_the_form_prefilled_from_the_real_session(store: Store, repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plans", [WORDS, NOTES])
    launcher = SessionLauncher(store, repo, note=lambda text: None, **ENGINE_OPTIONS)
    live = await launcher.launch("Count the words of a text", plan)
    app = CockpitApp(launcher, live=live)
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        cockpit = await until(pilot, lambda: isinstance(app.screen, CockpitScreen) and app.screen, "the cockpit")
        await until(pilot, lambda: all(s.terminal for s in cockpit.states.values()), "every task ended")
        await until(pilot, lambda: notices.find("All tasks ended: end the session? (e)"), "the offer to end")
        await live.accept("words")
        await live.discard("notes", "not needed")
        await live.note(None, "redirect", "asked for a shorter function")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        row = form.row
        assert app.ended and app.ended[0].id == row.id
        assert row.status == "complete" and row.end_commit == git(repo, "rev-parse", "HEAD")
        meta = str(form.query_one("#metadata").render())
        assert meta == (f"{row.date} · session {row.day_number} of the day · "
                        f"commits {row.start_commit[:7]} → {row.end_commit[:7]}")
        assert form.query_one("#status", Select).value == "complete"
        assert form.query_one("#objective", Input).value == "Count the words of a text"
        assert form.query_one("#previous-outcome", Select).value == "na"  # the repository's first session
        work = form.query_one("#work-completed", TextArea).text
        assert "### Add a word counter" in work and "- accepted" in work
        assert "### Write the notes" in work and "- discarded: not needed" in work
        files = form.query_one("#files", DataTable)
        assert [[str(c) for c in files.get_row_at(i)] for i in range(files.row_count)] == [
            ["words.py", "created", "+2"]]
        people = form.query_one("#interventions", DataTable)
        assert people.row_count == 1
        assert [str(c) for c in people.get_row_at(0)][1:] == ["asked for a shorter function", "redirect"]
        assert str(form.query_one("#usage").render()) == "tokens in 0 · out 0 · cost unknown"
        assert form.query_one(RatingField).has_focus
        await until(pilot, lambda: form.drafts_written >= 1, "the session pending completion, with a draft")
    found = await pending_completion(store, repo)
    assert [(p.row.id, p.draft) for p in found] == [(row.id, True)]


async def test_live_completeness_and_rating_keys(store: Store, repo: Path, tmp_path: Path) -> None:
    app = await form_app(store, repo, tmp_path / "plans")
    async with app.run_test(size=SIZE) as pilot:
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        assert score(form) == "6/6 required (Cockpit), 2/3 required (Human), 0/3 optional"
        rating = form.query_one(RatingField)
        assert rating.has_focus and rating.value is None
        await pilot.press("3")  # one key on the focused rating
        assert rating.value == 3 and str(rating.render()).startswith("★★★☆☆")
        assert score(form) == "6/6 required (Cockpit), 3/3 required (Human), 0/3 optional"
        form.query_one("#status", Select).focus()
        await pilot.press("5")  # anywhere on the form but in a text field
        assert rating.value == 5
        worked = form.query_one("#what-worked", TextArea)
        worked.focus()
        await pilot.press(*"small tasks", "4")  # typed, not a rating, in a text field
        assert rating.value == 5 and worked.text == "small tasks4"
        await pilot.pause()
        assert score(form).endswith("0/3 optional")  # what didn't work is still empty
        form.query_one("#what-didnt", TextArea).focus()
        await pilot.press(*"nothing")
        await pilot.pause()
        assert score(form) == "6/6 required (Cockpit), 3/3 required (Human), 1/3 optional"
        form.query_one("#objective", Input).value = ""
        await pilot.pause()
        assert score(form).startswith("5/6 required (Cockpit)")
        checklist = str(form.query_one(ChecklistPanel).render())
        assert "✘ Objective: one clear sentence" in checklist and "✔ Rating 1-5" in checklist


async def test_save_writes_database_and_file_that_imports_back(store: Store, repo: Path, tmp_path: Path) -> None:
    app = await form_app(store, repo, tmp_path / "plans")
    async with app.run_test(size=SIZE) as pilot:
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        await pilot.press("4")
        form.query_one("#status", Select).value = "blocked"
        for widget_id, text in [("what-worked", "Small tasks"), ("what-didnt", "The agent guessed"),
                                ("rating-notes", "Good enough"), ("technical-notes", "Dialect is explicit"),
                                ("next-priorities", "- Stream large exports")]:
            form.query_one(f"#{widget_id}", TextArea).focus()
            await pilot.press(*text)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, NoteDialog), "the intervention dialog")
        await pilot.press(*"redirected the agent", "enter")
        await until(pilot, lambda: app.screen is form and len(form.interventions) == 1, "the new row")
        assert form.query_one("#interventions", DataTable).row_count == 1
        expected = form.current()
        await pilot.press("ctrl+s")
        dialog = await until(pilot, lambda: isinstance(app.screen, SummarySavedDialog) and app.screen, "saved")
        result = dialog.result
        assert "Effective work rate (human): no assessed sessions yet" in str(dialog.query_one("#saved-ewr").render())
        await pilot.press("enter")
    assert app.return_value is result
    path = repo / "Summary" / f"summary{result.row.label}.md"
    assert result.written == path and path.is_file()
    saved = await store.get_summary(result.row.id)
    assert saved is not None and saved[1] is False
    from_db = SessionSummary.from_dict(saved[0])
    assert from_db == expected
    assert from_db.rating == 4 and from_db.status == "blocked" and from_db.next_priorities == "- Stream large exports"
    assert from_db.interventions[0].what == "redirected the agent" and from_db.interventions[0].type == "note"
    assert from_db.intervention_count == 1
    assert load_summary(path) == from_db  # the file imports back to the same fields
    row = await store.get_session(result.row.id)
    assert row is not None and row.rating == 4 and row.status == "blocked"
    assert await pending_completion(store, repo) == []


async def test_a_different_existing_file_is_kept(store: Store, repo: Path, tmp_path: Path) -> None:
    app = await form_app(store, repo, tmp_path / "plans")
    target = repo / "Summary" / f"summary{app.row.label}.md"
    target.parent.mkdir()
    target.write_text("# my own notes\n")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen), "the form")
        await pilot.press("2", "ctrl+s")
        dialog = await until(pilot, lambda: isinstance(app.screen, SummarySavedDialog) and app.screen, "saved")
        shown = " ".join(str(label.render()) for label in dialog.query(".saved-file"))
        assert f"{target} exists and differs: the file was kept" in shown
        assert f"cockpit export {app.row.label} -o {target} --force" in shown
    assert target.read_text() == "# my own notes\n"
    saved = await store.get_summary(app.row.id)
    assert saved is not None and saved[1] is False and saved[0]["rating"] == 2


async def test_the_summary_folder_setting_and_our_own_file_replaced(store: Store, repo: Path, tmp_path: Path) -> None:
    (repo / "cockpit.toml").write_text('[summary]\nfolder = "notes/sessions"\n\n[assessment]\ntoo_early_days = 7\n')
    settings = load_session_settings(repo)
    assert settings == SessionSettings(too_early_days=7.0, summary_folder="notes/sessions")
    row = await run_session(store, repo, tmp_path / "plans", [WORDS], "Count the words of a text")
    summary, _ = await session_summary(store, row)
    first = await save_final(store, row, summary, settings)
    assert first.written == repo / "notes" / "sessions" / f"summary{row.label}.md"
    edited = await save_final(store, row, SessionSummary.from_dict({**summary.to_dict(), "rating": 5}), settings)
    assert edited.written == first.written and edited.kept is None  # the cockpit's own file: replaced
    assert load_summary(first.written).rating == 5
    first.written.write_text(first.written.read_text() + "\nhand-written line\n")
    again = await save_final(store, row, SessionSummary.from_dict({**summary.to_dict(), "rating": 1}), settings)
    assert again.written is None and again.kept == first.written  # edited by hand: kept
    default = await save_final(store, row, summary, SessionSettings())
    assert default.written == repo / "Summary" / f"summary{row.label}.md"
    (repo / "cockpit.toml").write_text("[summary]\nfolder = false\n")
    assert load_session_settings(repo).summary_folder is None
    none = await save_final(store, row, summary, load_session_settings(repo))
    assert none.written is None and none.kept is None and none.messages() == [
        f"Summary of session {row.label} saved in the database."]


async def test_leaving_without_saving_keeps_it_pending(store: Store, repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plans", [WORDS])
    launcher = SessionLauncher(store, repo, note=lambda text: None, **ENGINE_OPTIONS)
    live = await launcher.launch("Count the words of a text", plan)
    app = CockpitApp(launcher, live=live)
    async with app.run_test(size=SIZE) as pilot:
        cockpit = await until(pilot, lambda: isinstance(app.screen, CockpitScreen) and app.screen, "the cockpit")
        await until(pilot, lambda: all(s.terminal for s in cockpit.states.values()), "the task ended")
        await pilot.press("e", "y")
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        form.query_one("#technical-notes", TextArea).focus()
        await pilot.press(*"keep this")
        await pilot.press("escape")
        dialog = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, "asked")
        assert "Leave without saving" in dialog.question
        await pilot.press("y")
        await until(pilot, lambda: app.return_value is not None, "the app leaving")
    found = await pending_completion(store, repo)
    assert [(p.row.id, p.draft) for p in found] == [(live.row.id, True)]
    saved = await store.get_summary(live.row.id)
    assert saved is not None and saved[0]["technical_notes"] == "keep this"  # nothing typed lost


async def test_after_saving_a_new_session_starts_from_the_start_screen(store: Store, repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plans", [WORDS])
    launcher = SessionLauncher(store, repo, note=lambda text: None, **ENGINE_OPTIONS)
    live = await launcher.launch("Count the words of a text", plan)
    app = CockpitApp(launcher, live=live)
    async with app.run_test(size=SIZE) as pilot:
        cockpit = await until(pilot, lambda: isinstance(app.screen, CockpitScreen) and app.screen, "the cockpit")
        await until(pilot, lambda: all(s.terminal for s in cockpit.states.values()), "the task ended")
        await pilot.press("e", "y")
        await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen), "the form")
        await pilot.press("5", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, SummarySavedDialog), "saved")
        await pilot.press("s")
        start = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded and app.screen,
                            "the start screen")
        assert [type(s).__name__ for s in app.screen_stack][-1] == "StartScreen"
        assert not any(isinstance(s, CockpitScreen) for s in app.screen_stack)
        table = start.query_one("#assessment", DataTable)
        assert table.row_count == 1 and "Count the words" in str(table.get_row_at(0)[1])


# ------------------------------------------------------------------ the draft survives a kill
CHILD = textwrap.dedent('''
    import asyncio, sys
    from pathlib import Path
    from sessions.store.store import Store
    from tui.app import CockpitApp
    from tui.screens.summary_form import SummaryFormScreen
    from sessions.launcher import SessionLauncher

    async def main(db, repo, plan):
        store = await Store.open(db)
        launcher = SessionLauncher(store, repo, note=lambda text: None, backoff_base=0.01, backoff_max=0.05,
                                   stop_grace=0.3)
        live = await launcher.launch("Survive a kill", Path(plan))
        app = CockpitApp(launcher, live=live)
        async with app.run_test(size=(120, 40)) as pilot:
            while not all(r.state.terminal for r in live.engine.tasks.values()):
                await asyncio.sleep(0.02)
            await pilot.pause(0.2)
            await pilot.press("e")
            await pilot.pause(0.2)
            await pilot.press("y")
            while not isinstance(app.screen, SummaryFormScreen):
                await asyncio.sleep(0.02)
            await pilot.pause()
            await pilot.press("4")
            app.screen.query_one("#what-worked").focus()
            await pilot.press(*"typed before the kill")
            print("TYPED", flush=True)
            await asyncio.sleep(3600)

    asyncio.run(main(*sys.argv[1:]))
''')


def _draft_in_db(db: Path) -> dict | None:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT data, is_draft FROM summaries").fetchall()
    finally:
        conn.close()
    for data, draft in rows:
        found = json.loads(data)
        if draft and found.get("what_worked") == "typed before the kill" and found.get("rating") == 4:
            return found
    return None


async def test_the_draft_survives_a_kill(store: Store, repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plans", [WORDS])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store.path), str(repo), str(plan)], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), EVENT_TIMEOUT)  # type: ignore[union-attr]
        assert line.strip() == "TYPED", child.stderr.read() if child.poll() is not None else line  # type: ignore[union-attr]
        await eventually(lambda: _draft_in_db(store.path), EVENT_TIMEOUT, "the draft in the database")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    # the next cockpit in that repository offers the session's form first, with the same draft
    app = CockpitApp(SessionLauncher(store, repo, note=lambda text: None, **ENGINE_OPTIONS))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, "the offer")
        assert "ended without a saved summary (its draft is kept)" in dialog.question
        await pilot.press("y")
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        assert form.source == "draft"
        assert form.query_one("#what-worked", TextArea).text == "typed before the kill"
        assert form.query_one(RatingField).value == 4
        assert form.row.objective == "Survive a kill"


def test_another_reader_never_removes_our_write_ahead_log(tmp_path: Path) -> None:
    """A second prepare of the file in this process (as an event writer does) must not drop SQLite's
    locks: else another program closing its connection deletes the log we still write to."""
    db = tmp_path / "c.db"
    reader = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1 FROM repos').fetchall(); c.close()"

    async def scenario() -> list[str]:
        store = await Store.open(db)
        try:
            await store.ensure_repo(tmp_path / "one")
            prepare_database(db)
            subprocess.run([sys.executable, "-c", reader, str(db)], check=True)
            await store.ensure_repo(tmp_path / "two")
            assert Path(f"{db}-wal").exists()
            conn = sqlite3.connect(db)  # what a newly started cockpit would read
            try:
                return [r[0] for r in conn.execute("SELECT path FROM repos ORDER BY id")]
            finally:
                conn.close()
        finally:
            await store.close()

    assert asyncio.run(scenario()) == [str(tmp_path / "one"), str(tmp_path / "two")]


# ------------------------------------------------------------------------------ cockpit edit
def test_cockpit_edit(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "c.db"

    async def make() -> str:
        store = await Store.open(db)
        try:
            row = await run_session(store, repo, tmp_path / "plans", [WORDS], "Count the words of a text")
            return row.label
        finally:
            await store.close()

    label = asyncio.run(make())
    seen: dict[str, Any] = {}

    async def scripted(self: SummaryApp, *args: Any, **kwargs: Any) -> Any:
        async with self.run_test(size=SIZE) as pilot:
            form = await eventually(lambda: isinstance(self.screen, SummaryFormScreen) and self.screen,
                                    EVENT_TIMEOUT, "the form")
            seen["label"], seen["source"] = form.row.label, form.source
            await pilot.press("5", "ctrl+s")
            await eventually(lambda: isinstance(self.screen, SummarySavedDialog), EVENT_TIMEOUT, "saved")
            await pilot.press("enter")
        return self.return_value

    monkeypatch.setattr(tui.summary_app.SummaryApp, "run_async", scripted)
    assert main(["edit", label, "--repo", str(repo), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert seen == {"label": label, "source": "built"}
    path = repo / "Summary" / f"summary{label}.md"
    assert f"Written to {path}." in out and "effective work rate (human)" in out
    assert load_summary(path).rating == 5

    assert main(["edit", "20990101.1", "--repo", str(repo), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no session '20990101.1'" in err


def test_cockpit_edit_unknown_session_is_one_line(repo: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tui.cli", "edit", "999", "--db", str(tmp_path / "c.db")],
                          cwd=repo, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no session '999'" in done.stderr


# ------------------------------------------------------------------------------------ snapshot
class SnapshotSummaryApp(SummaryApp):
    """The form of a fixed summary; the store opened in the app's own event loop."""

    CSS_PATH = str(Path(tui.summary_app.__file__).parent / "app.tcss")

    def __init__(self, db: Path, session_id: int, summary: SessionSummary) -> None:
        super().__init__(None, None, SessionSettings(summary_folder=None), summary, "draft")  # type: ignore[arg-type]
        self.db, self.session_id = db, session_id

    async def on_mount(self) -> None:  # runs before SummaryApp.on_mount
        self.store = await Store.open(self.db)
        self.row = await self.store.get_session(self.session_id)

    async def on_unmount(self) -> None:
        await self.store.close()


SNAPSHOT_SUMMARY = SessionSummary(
    date=datetime.date(2025, 1, 1), day_number=1, start_commit="1a2b3c4", end_commit="9f8e7d6",
    status="complete", objective="Add CSV export to the report command",
    previous_session="2024-12-31 Session 1 (summary20241231.1.md)", previous_outcome="partially",
    work_completed="### CSV export\n- `report --format csv` writes one row per entry\n- accepted",
    files_changed=[FileChangeRow("src/report/export.py", "modified", "+64 -3"),
                   FileChangeRow("tests/test_export.py", "created", "+90")],
    interventions=[Intervention("10:42", "[export] Agent wrote to the wrong module; redirected it", "redirect")],
    intervention_count=1, what_worked="- Small tasks with one file each", rating=4,
    tokens_in=123456, tokens_out=7890, cost_usd=0.4215,
)


@pytest.mark.parametrize("part,size", [("top", SIZE), ("bottom", SIZE), ("top", (80, 24))],
                         ids=["top", "bottom", "top-80x24"])
def test_summary_form_snapshot(snap_compare, repo: Path, tmp_path: Path, part: str, size: tuple[int, int]) -> None:
    """The top (what the human fills, the checklist) and the bottom (what the cockpit filled)."""
    db = tmp_path / "cockpit.db"

    async def make() -> int:
        store = await Store.open(db)
        try:
            row = await store.create_session(repo, SNAPSHOT_SUMMARY.objective, "1a2b3c4", date="2025-01-01")
            await store.end_session(row.id, "complete", "9f8e7d6")
            await store.save_summary(row.id, SNAPSHOT_SUMMARY.to_dict(), draft=True)
            return row.id
        finally:
            await store.close()

    session_id = asyncio.run(make())

    async def settle(pilot: Any) -> None:
        form = await eventually(lambda: isinstance(pilot.app.screen, SummaryFormScreen) and pilot.app.screen,
                                EVENT_TIMEOUT, "the form")
        await pilot.pause()
        if part == "bottom":
            form.query_one("#summary-fields").scroll_end(animate=False, immediate=True)
            await pilot.pause()

    assert snap_compare(SnapshotSummaryApp(db, session_id, SNAPSHOT_SUMMARY), terminal_size=size,
                        run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_the_field_with_the_focus_is_plain_to_see(repo: Path, tmp_path: Path, size: tuple[int, int]) -> None:
    db = tmp_path / "cockpit.db"
    store = await Store.open(db)
    try:
        row = await store.create_session(repo, SNAPSHOT_SUMMARY.objective, "1a2b3c4", date="2025-01-01")
        await store.end_session(row.id, "complete", "9f8e7d6")
    finally:
        await store.close()
    app = SnapshotSummaryApp(db, row.id, SNAPSHOT_SUMMARY)
    async with app.run_test(size=size) as pilot:
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        objective, worked = form.query_one("#objective"), form.query_one("#what-worked")
        objective.focus()
        await pilot.pause()
        focused, resting = objective.styles.border_top, worked.styles.border_top
        assert focused != resting and objective.styles.background != worked.styles.background
        worked.focus()
        await pilot.pause()
        assert worked.styles.border_top == focused and objective.styles.border_top == resting
        assert form.query_one("#summary-side").region.right <= size[0]  # the checklist in view
        await pilot.press(*"typed here")
        assert "typed here" in worked.text and objective.value == SNAPSHOT_SUMMARY.objective
