"""The start screen with Pilot: earlier sessions to assess (keys, note, skip), the human work rate, the
objective check, and the session whose summary was never saved, offered first. Sessions are real runs
of shell plans in real repositories, recorded in a real store."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.events import EVENT_TIMEOUT, eventually
from tests.helpers.session_runs import ENGINE_OPTIONS, run_session, start_live, write_plan
from sessions.settings import SessionSettings
from sessions.store.store import Store
import tui.app
from tui.app import CockpitApp
from tui.screens.cockpit import CockpitScreen
from tui.screens.dialogs import ConfirmDialog, LineDialog
from tui.screens.start import MAX_PENDING, StartScreen
from tui.screens.summary_form import SummaryFormScreen
from sessions.launcher import SessionLauncher
from tui.widgets.assessment_list import AssessmentList
from tests.helpers.tui_pilot import Notices, until

SIZE = (120, 40)
WORDCOUNT = {"id": "wordcount", "title": "Add a word counter",
             "prompt": "printf 'def count(t):\\n    return len(t.split())\\n' > words.py\necho wrote words.py"}
DOCS = {"id": "docs", "title": "Write the guide", "prompt": "mkdir -p docs\necho '# Guide' > docs/guide.md"}
LINT = {"id": "lint", "title": "Tidy the header", "prompt": "echo '# tidy' >> README.md"}


def start_app(store: Store, repo: Path, settings: SessionSettings | None = None) -> CockpitApp:
    launcher = SessionLauncher(store, repo, note=lambda text: None, settings=settings, **ENGINE_OPTIONS)
    return CockpitApp(launcher)


async def two_sessions(store: Store, repo: Path, plans: Path) -> tuple[Any, Any]:
    """Two ended sessions with saved summaries: the older with a task accepted and one discarded."""
    older = await run_session(store, repo, plans, [WORDCOUNT, LINT], "Count the words of a text",
                              date="2025-01-01", accept=("wordcount",), discard=("lint",), saved_summary=True)
    newer = await run_session(store, repo, plans, [DOCS], "Write the usage guide", date="2025-01-02",
                              saved_summary=True)
    return older, newer


async def notes_of(store: Store, session_id: int) -> list[tuple[str, str]]:
    rows = await store._read("SELECT outcome, note FROM assessments WHERE session_id = ? ORDER BY id",
                             (session_id,))
    return [(r[0], r[1]) for r in rows]


# ------------------------------------------------------------------------------------- tests
async def test_assessment_keys_note_and_work_rate(store: Store, repo: Path, tmp_path: Path) -> None:
    older, newer = await two_sessions(store, repo, tmp_path / "plans")
    app = start_app(store, repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen, read")
        table = screen.query_one(AssessmentList)
        assert screen.query_one("#assessment-section").display
        assert table.has_focus
        # newest first, each with its objective, date, decisions and files
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == ["2025-01-02 #1", "2025-01-01 #1"]
        row = table.get_row_at(1)
        assert str(row[1]) == "Count the words of a text"
        assert str(row[2]) == "✔ wordcount ✘ lint"
        assert str(row[3]) == "2: words.py, README.md"
        assert "no assessed sessions yet" in str(screen.query_one("#ewr").render())

        await pilot.press("w")  # a note for the highlighted (newest) session
        await until(pilot, lambda: isinstance(app.screen, LineDialog), "the note input")
        await pilot.press(*"docs were rewritten", "enter")
        await until(pilot, lambda: app.screen is screen, "back on the list")
        await pilot.press("p")
        await until(pilot, lambda: newer.id in screen.answers, "the answer given")
        assert await store.outcome(newer.id) is None  # kept only once the developer leaves the list
        assert "partially used" in str(table.get_row_at(0)[4])
        assert table.cursor_row == 1  # on to the next session to assess

        await pilot.press("f")  # the last one: on to the objective, and the answers are kept
        await until(pilot, lambda: older.id in screen.saved and newer.id in screen.saved, "the answers kept")
        assert await store.outcome(older.id) == "fully"
        assert await store.outcome(newer.id) == "partially"
        assert await notes_of(store, newer.id) == [("partially", "docs were rewritten")]
        await until(pilot, lambda: "75% over 2 sessions" in str(screen.query_one("#ewr").render()),
                    "the work rate of both")
        assert screen.query_one("#objective").has_focus  # everything assessed: on to the objective


@pytest.mark.parametrize("key,outcome", [("u", "not-used"), ("t", "too-early"), ("n", "na")])
async def test_each_answer_key(store: Store, repo: Path, tmp_path: Path, key: str, outcome: str) -> None:
    row = await run_session(store, repo, tmp_path / "plans", [DOCS], "Write the usage guide",
                            saved_summary=True)
    app = start_app(store, repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen")
        await pilot.press(key)
        await until(pilot, lambda: row.id in screen.saved, "the answer kept")
    assert await store.outcome(row.id) == outcome


async def test_skip_asks_again_next_time(store: Store, repo: Path, tmp_path: Path) -> None:
    older, newer = await two_sessions(store, repo, tmp_path / "plans")
    notices = Notices()
    app = start_app(store, repo)
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen")
        await pilot.press("s")
        await pilot.pause()
        assert not screen.query_one("#assessment-section").display
        assert screen.query_one("#objective").has_focus
        assert notices.find("2 sessions skipped: asked again next time")
    assert await store.outcome(older.id) is None and await store.outcome(newer.id) is None
    again = start_app(store, repo)
    async with again.run_test(size=SIZE) as pilot:
        screen = await until(pilot, lambda: isinstance(again.screen, StartScreen) and again.screen.loaded
                             and again.screen, "the start screen again")
        assert screen.query_one(AssessmentList).row_count == 2


async def test_at_most_one_screen_of_sessions_and_too_early_comes_back(store: Store, repo: Path) -> None:
    ids = []
    for day in range(1, MAX_PENDING + 3):  # ten sessions: eight are asked, two wait
        row = await store.create_session(repo, f"objective {day}", "abc", date=f"2025-02-{day:02}")
        await store.end_session(row.id, "complete", "abc")
        await store.save_summary(row.id, {"objective": f"objective {day}"}, draft=False)
        ids.append(row.id)
    await store.add_assessment(ids[-1], "too-early", at=time.time() - 3600)  # an hour ago
    app = start_app(store, repo, SessionSettings(too_early_days=1))
    async with app.run_test(size=SIZE) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen")
        assert screen.query_one(AssessmentList).row_count == MAX_PENDING
        assert str(screen.query_one("#assessment-more").render()) == "1 more next time"
    # with "too early" after 0 days, the newest comes back at once
    app = start_app(store, repo, SessionSettings(too_early_days=0))
    async with app.run_test(size=SIZE) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen")
        table = screen.query_one(AssessmentList)
        assert table.get_row_at(0)[0] == "2025-02-10 #1"
        assert "too early" in str(table.get_row_at(0)[4])
        assert str(screen.query_one("#assessment-more").render()) == "2 more next time"


async def test_objective_empty_refused_long_warned(store: Store, repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plans", [{"id": "hello", "prompt": "echo hello"}])
    notices = Notices()
    app = start_app(store, repo)
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen")
        screen.query_one("#plan-path").value = str(plan)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "State the session's objective first" in str(screen.query_one("#start-error").render())
        assert app.screen is screen
        objective = screen.query_one("#objective")
        objective.focus()
        await pilot.press(*"Add the export. Then fix the report too")
        await pilot.pause()
        assert screen.has_class("-long-objective")
        assert "more than one sentence" in str(screen.query_one("#objective-hint").render())
        objective.value = " ".join(["word"] * 30)
        await pilot.pause()
        assert "long (30 words)" in str(screen.query_one("#objective-hint").render())
        objective.value = "Add the CSV export to the report"
        await pilot.pause()
        assert not screen.has_class("-long-objective")
        objective.value = "Add the export. Then fix the report too"
        await pilot.press("ctrl+s")  # warned about, but allowed
        cockpit = await until(pilot, lambda: isinstance(app.screen, CockpitScreen) and app.screen,
                              "the cockpit")
        assert cockpit.live.row.objective == "Add the export. Then fix the report too"
        assert notices.find("Long objective: The objective holds more than one sentence")


async def test_a_session_without_saved_summary_is_offered_first(store: Store, repo: Path, tmp_path: Path) -> None:
    row = await run_session(store, repo, tmp_path / "plans", [DOCS], "Write the usage guide")
    app = start_app(store, repo)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen,
                             "the offer of the summary form")
        assert f"Session {row.label} ended without a saved summary (no summary yet)" in dialog.question
        await pilot.press("n")  # not now: the start screen, the session still to be assessed
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen")
        assert screen.query_one(AssessmentList).row_count == 1
    app = start_app(store, repo)  # offered again
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the offer again")
        await pilot.press("y")
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        assert form.row.id == row.id and form.source == "built"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "back on the start screen")
    saved = await store.get_summary(row.id)
    assert saved is not None and saved[1] is False


async def test_a_session_left_open_is_closed_and_its_form_opened(store: Store, repo: Path, tmp_path: Path) -> None:
    live = await start_live(store, repo, write_plan(tmp_path / "plans", [DOCS]), "Left open")
    live.session.lock.release()  # as if its cockpit had died: active, and nobody holds it
    app = start_app(store, repo)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, "the offer")
        assert "was left open by a cockpit that stopped" in dialog.question
        await pilot.press("y")
        form = await until(pilot, lambda: isinstance(app.screen, SummaryFormScreen) and app.screen, "the form")
        assert form.row.status == "abandoned"
        await until(pilot, lambda: form.drafts_written >= 1, "the first draft")
    row = await store.get_session(live.row.id)
    assert row is not None and row.status == "abandoned" and row.ended_at is not None


# ------------------------------------------------------------------------------------ snapshot
class SnapshotStartApp(CockpitApp):
    """Opens its store in the app's own event loop (the snapshot runs the app in a loop of its own)."""

    CSS_PATH = str(Path(tui.app.__file__).parent / "app.tcss")

    def __init__(self, db: Path, repo: Path) -> None:
        super().__init__(SessionLauncher(None, repo, note=lambda text: None), repo=str(repo))  # type: ignore[arg-type]
        self.db = db

    async def on_mount(self) -> None:  # runs before CockpitApp.on_mount
        self.launcher.store = await Store.open(self.db)

    async def on_unmount(self) -> None:  # runs before CockpitApp.on_unmount
        await self.launcher.store.close()
        self.launcher.sessions.clear()


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["120x40", "80x24"])
def test_start_screen_snapshot(snap_compare, repo_factory, tmp_path: Path, size: tuple[int, int]) -> None:
    repo = repo_factory("snap", {"README.md": "snapshot\n"})
    db = tmp_path / "cockpit.db"

    async def prepare() -> None:
        store = await Store.open(db)
        try:
            await two_sessions(store, repo, tmp_path / "plans")
            assessed = await store.create_session(repo, "An earlier, assessed session", "abc", date="2024-12-30")
            await store.end_session(assessed.id, "complete", "def")
            await store.save_summary(assessed.id, {"objective": "assessed"}, draft=False)
            await store.add_assessment(assessed.id, "fully")
        finally:
            await store.close()

    asyncio.run(prepare())

    async def settle(pilot: Any) -> None:
        app = pilot.app
        screen = await eventually(lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                                  and app.screen, EVENT_TIMEOUT, "the start screen")
        screen.sub_title = "~/projects/snap"  # not the temporary path
        await pilot.pause()

    assert snap_compare(SnapshotStartApp(db, repo), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_answers_stay_put_until_the_developer_moves_on(store: Store, repo: Path, tmp_path: Path,
                                                             size: tuple[int, int]) -> None:
    older, newer = await two_sessions(store, repo, tmp_path / "plans")
    notices = Notices()
    app = start_app(store, repo)
    async with app.run_test(size=size, message_hook=notices) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, StartScreen) and app.screen.loaded
                             and app.screen, "the start screen")
        table = screen.query_one(AssessmentList)
        assert table.has_focus
        focused_border = table.styles.border_top
        assert table.region.right <= size[0] and sum(c.get_render_width(table) for c in table.columns.values()) \
            <= table.region.width  # every column in view, none cut
        await pilot.press("u")  # a letter meant for another field: an answer, said, and taken back
        await until(pilot, lambda: notices.find("not used (Backspace takes it back"), "the toast")
        assert screen.answers == {newer.id: "not-used"}
        await pilot.press("up", "backspace")
        assert screen.answers == {} and "not used" not in str(table.get_row_at(0)[4])
        assert notices.find("answer taken back")
        await pilot.press("p")
        assert screen.answers == {newer.id: "partially"} and await store.outcome(newer.id) is None
        objective = screen.query_one("#objective")
        objective.focus()  # moving on from the list keeps its answers
        await until(pilot, lambda: newer.id in screen.saved, "the answer kept")
        assert table.styles.border_top != focused_border  # where the keys go is visible
        assert await store.outcome(newer.id) == "partially" and await store.outcome(older.id) is None
        await pilot.press(*"fun task")  # typing in the objective never answers
        await pilot.pause()
        assert screen.answers == {newer.id: "partially"} and objective.value == "fun task"
