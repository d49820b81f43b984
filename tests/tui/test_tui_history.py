"""The history screens driven through Textual's Pilot, on the database tests/helpers/history_data.py fills
with real headless runs, decisions, interventions, assessments and imported summaries:

    A (.1 today) fully, 60% of 10, rated 5    B (.2) fully, 25% of 4: disagrees
    C (.3) not used, 100% of 5: disagrees      D (.4) blocked, pending, nothing committed
    20260304.2 imported, fully, 90% of 10      20260306.1 imported, blocked, pending, rated 4, $1.37

Each test works on its own copy of the database (assessing writes to it). The snapshots use a copy
whose recorded sessions are moved to a fixed date, with fixed times, a saved summary and a survival
curve, so that nothing on screen depends on the day or the machine.
"""
from __future__ import annotations

import asyncio
import datetime
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Markdown, Select

from tests.helpers.history_data import OBJECTIVES, Built, build, isolate
from sessions.reports.history import agent_table, filter_rows, load_history_file, sort_rows
from sessions.store.store import Store
from sessions.summary.model import FileChangeRow, Intervention, SessionSummary
from sessions.survival.results import HorizonPoint, SurvivalResult
from tui.cli.main import main
from tui.history_app import HistoryApp
from tui.cli.report import agent_cells
from tui.screens.history import HistoryScreen
from tui.screens.session_detail import SessionDetailScreen, survival_bars
from tui.widgets.trend_charts import TrendCharts, series, session_ticks
from tests.helpers.tui_pilot import until

SIZE = (120, 40)
I1, I2 = "20260304.2", "20260306.1"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("history_tui")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base / "_home")
        return build(base)


def copy_db(built: Built, target: Path) -> str:
    """A copy of the built database (sqlite's backup: the WAL's pages come along)."""
    source, copy = sqlite3.connect(built.db), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return str(target)


@pytest.fixture
def db(built: Built, tmp_path: Path) -> str:
    return copy_db(built, tmp_path / "cockpit.db")


def key_of(built: Built) -> dict[int, str]:
    return {v: k for k, v in built.ids.items()}


async def history_screen(pilot: Any) -> HistoryScreen:
    app = pilot.app
    screen = await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded and app.screen,
                         "the history loaded")
    return screen


async def detail_screen(pilot: Any) -> SessionDetailScreen:
    app = pilot.app
    return await until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and app.screen.loaded
                       and app.screen, "the session's detail loaded")


def table_rows(table: DataTable) -> list[list[str]]:
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def shown_keys(built: Built, screen: HistoryScreen) -> list[str]:
    """The sessions in the table, top to bottom (A..D or the imported labels)."""
    by_label = {label: key for key, label in built.labels.items()}
    return [by_label[r[0][2:]] for r in table_rows(screen.table)]


# --------------------------------------------------------------------------------------- the table
async def test_the_table_shows_every_session_with_its_figures(built: Built, db: str) -> None:
    loaded: list[int] = []

    def hook(message: Any) -> None:
        if isinstance(message, HistoryScreen.Loaded):
            loaded.append(message.rows)

    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen = await history_screen(pilot)
        await until(pilot, lambda: loaded, "the Loaded message")
        assert set(loaded) == {6}  # (the hook sees it at the screen and again at the app)
        assert shown_keys(built, screen) == ["D", "C", "B", "A", I2, I1]  # newest first
        rows = {r[0][2:]: r for r in table_rows(screen.table)}
        a, b, c = rows[built.labels["A"]], rows[built.labels["B"]], rows[built.labels["C"]]
        assert a == ["  " + built.labels["A"], "Add the CSV export", "complete", "★★★★★", "fully", "60% of 10", "4",
                     "2/1", "$0.02"]
        assert c[3] == "★★☆☆☆" and c[4] == "not used" and c[5] == "100% of 5"
        # the two disagreements are marked; the others are not
        assert b[0].startswith("≠ ") and c[0].startswith("≠ ") and not a[0].startswith("≠")
        d, i2, i1 = rows[built.labels["D"]], rows[I2], rows[I1]
        assert (d[2], d[3], d[4], d[5], d[8]) == ("blocked", "-", "pending", "-", "?")  # codex: cost unknown
        assert (i2[1], i2[3], i2[6], i2[7], i2[8]) == (
            "Stream large CSV exports instead of building them in memory.", "★★★★☆", "2", "-", "$1.37")
        assert (i1[4], i1[5]) == ("fully", "90% of 10")
        totals = str(screen.query_one("#history-totals").render())
        assert "6 of 6 sessions" in totals and "EWR(human) 75% over 4" in totals
        assert "EWR(git) 72% of 29 lines over 4" in totals and "≠ 2 disagree" in totals
        assert app.sub_title == "repo" or screen.sub_title == "repo"  # a short name, never a path


async def test_sorting_by_keys_and_by_header_clicks(built: Built, db: str) -> None:
    history = load_history_file(db, built.repo)
    keys = key_of(built)

    def expected(column: str, descending: bool) -> list[str]:
        return [keys[r.id] for r in sort_rows(history.rows, column, descending)]

    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        await pilot.press("s")  # the next column: the objective, A to Z
        assert (screen.sort_key, screen.descending) == ("objective", False)
        assert shown_keys(built, screen) == expected("objective", False)
        await pilot.press("r")
        assert shown_keys(built, screen) == expected("objective", True)
        header = str(screen.table.columns["objective"].label)  # type: ignore[index]
        assert header == "objective ▼"
        for _ in range(3):  # status, rating, outcome
            await pilot.press("s")
        assert screen.sort_key == "outcome" and shown_keys(built, screen) == expected("outcome", True)

        # a click on a header sorts by its column; on the same header again, the other way
        screen.table.focus()
        screen.table.post_message(DataTable.HeaderSelected(screen.table, screen.table.columns["ewr_git"].key,  # type: ignore[index]
                                                           5, screen.table.columns["ewr_git"].label))  # type: ignore[index]
        await until(pilot, lambda: screen.sort_key == "ewr_git", "sorted by EWR(git)")
        assert screen.descending and shown_keys(built, screen) == ["C", I1, "A", "B", "D", I2]
        assert shown_keys(built, screen) == expected("ewr_git", True)
        x = sum(screen.table.columns[c.key].get_render_width(screen.table)  # type: ignore[index]
                for c in screen._columns()[:5]) + 2
        await pilot.click("#history-table", offset=(x, 0))
        await until(pilot, lambda: not screen.descending, "reversed by a second click")
        assert shown_keys(built, screen) == ["B", "A", I1, "C", "D", I2]  # the unmeasured last both ways
        assert "sorted by EWR(git) ▲" in str(screen.query_one("#history-totals").render())

        # the highlighted session stays highlighted across a sort
        screen.table.move_cursor(row=2)
        chosen = screen.current_row
        await pilot.press("r")
        assert screen.current_row == chosen


async def test_filtering_by_text_status_outcome_rating_date_and_disagreement(built: Built, db: str) -> None:
    rows = load_history_file(db, built.repo).rows
    keys = key_of(built)

    def expected(**criteria: Any) -> list[str]:
        return [keys[r.id] for r in filter_rows(rows, **criteria)]

    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        await pilot.press("slash")
        assert isinstance(screen.focused, Input) and screen.focused.id == "filter-text"
        await pilot.press(*"CSV")
        await until(pilot, lambda: shown_keys(built, screen) == expected(text="CSV"), "the text filter")
        assert shown_keys(built, screen) == ["A", I2, I1] and (len(screen.shown), len(screen.history.rows)) == (3, 6)
        assert "3 of 6 sessions" in str(screen.query_one("#history-totals").render())
        await pilot.press("enter")  # back to the table
        assert screen.focused is screen.table

        screen.query_one("#filter-text", Input).value = ""
        screen.query_one("#filter-status", Select).value = "blocked"
        await until(pilot, lambda: shown_keys(built, screen) == ["D", I2], "the status filter")

        screen.query_one("#filter-status", Select).clear()
        screen.query_one("#filter-outcome", Select).value = "pending"
        await until(pilot, lambda: shown_keys(built, screen) == expected(outcomes={"pending"}), "the outcome filter")

        screen.query_one("#filter-outcome", Select).clear()
        screen.query_one("#filter-rating", Select).value = (4, None)
        await until(pilot, lambda: shown_keys(built, screen) == ["A", I2], "the rating filter")

        screen.query_one("#filter-rating", Select).clear()
        screen.query_one("#filter-from", Input).value = "2026-03-05"
        screen.query_one("#filter-to", Input).value = "2026-03-31"
        await until(pilot, lambda: shown_keys(built, screen) == [I2], "the date filter")
        screen.query_one("#filter-to", Input).value = "March"  # not a date: that bound is left out
        await until(pilot, lambda: shown_keys(built, screen) == expected(date_from="2026-03-05"), "a bad date")
        assert screen.query_one("#filter-to", Input).has_class("-invalid")

        screen.query_one("#filter-from", Input).value = ""
        screen.query_one("#filter-to", Input).value = ""
        await until(pilot, lambda: len(shown_keys(built, screen)) == 6, "no filter")
        await pilot.press("d")
        await until(pilot, lambda: shown_keys(built, screen) == ["C", "B"], "the disagreements only")
        await pilot.press("d")
        await until(pilot, lambda: len(shown_keys(built, screen)) == 6, "every session again")


async def test_every_repository_shows_their_short_names(built: Built, db: str) -> None:
    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        assert "repo" not in screen.table.columns
        await pilot.press("a")
        await until(pilot, lambda: screen.loaded and screen.every_repo, "every repository")
        assert "repo" in screen.table.columns and screen.sub_title == "every repository"
        assert {r[-1] for r in table_rows(screen.table)} == {"repo"}
        for _ in range(9):  # to the last column: the repository's
            await pilot.press("s")
        assert screen.sort_key == "repo"
        await pilot.press("a")
        await until(pilot, lambda: screen.loaded and not screen.every_repo, "one repository again")
        assert "repo" not in screen.table.columns and screen.table.row_count == 6
        assert (screen.sort_key, screen.descending) == ("session", True)


async def test_the_keys_follow_the_keymap(built: Built, db: str, isolated_dirs: Path) -> None:
    from tui.bindings import keymap_path, load_keymap

    keymap_path().parent.mkdir(parents=True, exist_ok=True)
    keymap_path().write_text('"history.sort" = "o"\n"detail.fully" = "F"\n')
    app = HistoryApp(db, str(built.repo), keymap=load_keymap())
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        await pilot.press("o")
        assert screen.sort_key == "objective"
        await pilot.press("question_mark")
        await pilot.pause()
        rows = {row.binding_id: row for row in app.screen.rows}  # type: ignore[attr-defined]
        assert rows["history.sort"].keys == "o" and "history.open" in rows


# --------------------------------------------------------------------------------- one session
async def test_the_detail_screen_shows_summary_tasks_interventions_and_survival(built: Built, db: str) -> None:
    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        screen.table.move_cursor(row=shown_keys(built, screen).index("A"))
        await pilot.press("enter")
        detail = await detail_screen(pilot)
        assert detail.session_id == built.ids["A"]
        assert detail.sub_title == f"{built.labels['A']} · {OBJECTIVES['A']}"
        markdown = detail.query_one("#detail-markdown", Markdown)
        assert "## Objective\n\nAdd the CSV export" in markdown.source
        assert any("Add the CSV export" in str(block.content) for block in markdown.children
                   if hasattr(block, "content"))
        tasks = table_rows(detail.query_one("#detail-tasks", DataTable))
        assert [(t[0], t[1], t[4]) for t in tasks] == [("c1", "careful", "accepted"), ("h1", "hasty", "accepted"),
                                                      ("s1", "shell", "discarded")]
        assert [t[3] for t in tasks] == ["+3", "+1", "+4"]
        interventions = table_rows(detail.query_one("#detail-interventions", DataTable))
        assert [(i[1], i[2]) for i in interventions] == [("c1", "message"), ("h1", "message"), ("h1", "message"),
                                                         ("-", "message")]
        survival = str(detail.query_one("#detail-survival").render())
        assert "now" in survival and "60%" in survival and "6 of 10 lines" in survival
        outcome = str(detail.query_one("#detail-outcome").render())
        assert "fully used" in outcome
        assert not detail.pending
        await pilot.press("p")  # assessed already: nothing changes
        await pilot.pause()
        async with await Store.open(db) as store:
            assert await store.outcome(built.ids["A"]) == "fully"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back to the history")


async def test_the_detail_screen_says_when_some_tasks_tokens_are_unknown(tmp_path: Path) -> None:
    """A task whose agent reported no billed tokens is not counted as 0: the total is a floor."""
    from tests.helpers.repos import make_git_repo
    from tests.helpers.session_runs import record_mixed_usage

    repo = make_git_repo(tmp_path / "repo")
    db = str(tmp_path / "usage.db")
    async with await Store.open(db) as store:
        await record_mixed_usage(store, str(repo))
    app = HistoryApp(db, str(repo))
    async with app.run_test(size=SIZE) as pilot:
        await history_screen(pilot)
        await pilot.press("enter")
        detail = await detail_screen(pilot)
        await until(pilot, lambda: detail.loaded, "the detail loaded")
        facts = " ".join(str(detail.query_one("#detail-facts").render()).split())
        assert "≥ ~1,256 tokens (1 task unknown) · $0.2500 (some costs unknown)" in facts


async def test_assessing_a_pending_session_from_the_history(built: Built, db: str) -> None:
    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        screen.table.move_cursor(row=shown_keys(built, screen).index(I2))
        await pilot.press("enter")
        detail = await detail_screen(pilot)
        assert detail.pending and "pending" in str(detail.query_one("#detail-outcome").render())
        await pilot.press("p")
        await until(pilot, lambda: not detail.pending, "the assessment recorded")
        async with await Store.open(db) as store:
            assert await store.outcome(built.ids[I2]) == "partially"
        assert not detail.pending and "partially used" in str(detail.query_one("#detail-outcome").render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back to the history")
        row = {r[0][2:]: r for r in table_rows(screen.table)}[I2]
        assert row[4] == "partially"
        assert screen.current_row is not None and screen.current_row.id == built.ids[I2]
        totals = str(screen.query_one("#history-totals").render())
        assert "EWR(human) 70% over 5" in totals  # (1 + 1 + 0 + 1 + 0.5) / 5


async def test_a_too_early_session_can_be_assessed_again(built: Built, db: str) -> None:
    async with await Store.open(db) as store:
        await store.add_assessment(built.ids["D"], "too-early")
    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        screen.open_session(next(r for r in screen.shown if r.id == built.ids["D"]))
        detail = await detail_screen(pilot)
        assert detail.pending and "too early last time" in str(detail.query_one("#detail-outcome").render())
        assert "nothing was committed" in str(detail.query_one("#detail-survival").render())
        await pilot.press("n")
        await until(pilot, lambda: not detail.pending, "assessed")
    async with await Store.open(db) as store:
        assert await store.outcome(built.ids["D"]) == "na"


# ----------------------------------------------------------------------------- agents and trends
async def test_the_agent_table_has_the_figures_of_history_agents(built: Built, db: str) -> None:
    history = load_history_file(db, built.repo)
    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        await pilot.press("3")
        table = screen.query_one("#agent-table", DataTable)
        await until(pilot, lambda: table.row_count == 4, "the agent table")
        rows = table_rows(table)
        assert rows == [list(agent_cells(a)) for a in history.agents()]
        by_agent = {r[0]: r for r in rows}
        # the hand-computed case of tests/sessions/test_history.py::test_agent_table_by_hand
        assert by_agent["careful"][1:7] == ["2", "1/2", "50%", "60%", "4", "0.50"]  # 4.5 lines kept
        assert by_agent["careful"][8] == "$0.0055"  # 0.0246 / 4.5
        assert by_agent["hasty"][1:5] == ["3", "2/3", "67%", "87%"]  # 6.5 / 7.5
        assert by_agent["hasty"][8] == "$0.0057"  # 0.0369 / 6.5
        assert by_agent["shell"][4] == "25%" and by_agent["shell"][8] == "-"
        assert by_agent["codex"][2:5] == ["0/0", "-", "-"]

        # the agent table follows the filter
        await pilot.press("1", "slash", *"add the csv export", "enter")
        await until(pilot, lambda: len(screen.shown) == 1, "one session kept")
        await pilot.press("3")
        await until(pilot, lambda: table.row_count == 3, "the agents of that session")
        only_a = agent_table(screen.shown, history.tasks)
        assert table_rows(table) == [list(agent_cells(a)) for a in only_a]


async def test_the_trends_render(built: Built, db: str) -> None:
    history = load_history_file(db, built.repo)
    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await history_screen(pilot)
        await pilot.press("2")
        charts = screen.query_one(TrendCharts)
        await until(pilot, lambda: len(charts.drawn) == 5, "the charts drawn")
        points = history.trend()
        ewr = charts.drawn["trend-ewr"]
        git = ewr.lines["ewr_git"]
        assert git.ys == [0.9, 0.6, 0.25, 1.0] and git.per == 1  # oldest first; the unmeasured left out
        assert git.xs == [1, 3, 4, 5] and git.positions == 6  # one x position per session
        assert ewr.lines["ewr_human"].ys == [1.0, 1.0, 1.0, 0.0]
        # B ("fully", 25% survives) and C ("not used", all survives) disagree: a bar between the two values
        assert [p.label for p in points[3:5]] == [built.labels["B"], built.labels["C"]]
        assert ewr.disagreements == [(4.0, 0.25, 1.0), (5.0, 0.0, 1.0)]
        assert charts.drawn["trend-rating"].lines["rating"].ys == [4.0, 5.0, 2.0]
        assert charts.drawn["trend-interventions"].lines["interventions"].ys == [1, 2, 4, 1, 0, 0]
        assert charts.drawn["trend-cost-line"].lines["cost_per_surviving_line"].ys == pytest.approx(
            [0.0246 / 6, 0.0123 / 1, 0.0246 / 5])
        await pilot.pause()
        # the wide chart names every session: the first of each day in full, then its number of the day
        assert ewr.labels == [points[0].label, points[1].label, built.labels["A"], ".2", ".3", ".4"]
        for chart_id, title in (("trend-ewr", "EWR per session: human (outcome) and git (survival)"),
                                ("trend-cost-line", "Cost per surviving line")):
            plot = screen.query_one(f"#{chart_id}")
            assert plot.size.width > 40 and plot.size.height > 5
            assert title in plot.render().plain  # type: ignore[union-attr]


def test_trend_series_average_runs_of_sessions_past_the_limit() -> None:
    from sessions.reports.history import TrendPoint

    points = [TrendPoint(f"{i}", f"2026-01-{1 + i // 10:02d}", None, i / 100 if i % 3 else None, None, i, None, None)
              for i in range(100)]
    s = series(points, "interventions", max_points=10)
    assert s.per == 10 and len(s.xs) == 10 and s.sessions == 100 and s.positions == 10
    assert s.ys[0] == sum(range(10)) / 10 and s.xs == [float(i) for i in range(1, 11)]
    git = series(points, "ewr_git", max_points=10)
    assert git.ys[0] == pytest.approx(sum(i / 100 for i in range(10) if i % 3) / 6)
    assert series([], "ewr_git").xs == []
    assert len(series(points, "interventions").xs) == 100  # under the limit: one point a session


def test_session_ticks_keep_the_labels_that_fit() -> None:
    from sessions.reports.history import TrendPoint

    def point(label: str) -> TrendPoint:
        return TrendPoint(label, f"{label[:4]}-{label[4:6]}-{label[6:8]}", None, None, None, 0, None, None)

    points = [point(f"20261202.{n}") for n in range(1, 9)] + [point("20261203.1"), point("20261203.2")]
    assert session_ticks(points, 200) == (
        [float(x) for x in range(1, 11)],
        ["20261202.1", ".2", ".3", ".4", ".5", ".6", ".7", ".8", "20261203.1", ".2"],
    )
    ticks, labels = session_ticks(points, 40)  # 4 cells a session: some labels give way
    assert ticks[0] == 1.0 and labels[0] == "20261202.1" and len(ticks) < len(points)
    assert ticks == sorted(ticks) and all(label.startswith(".") or len(label) == 10 for label in labels)
    assert session_ticks([], 80) == ([], [])


def test_survival_bars_of_a_curve() -> None:
    result = SurvivalResult(
        start="a", end="b", head="c", added=10, surviving=6, ratio=0.6, method="blame", reverted=False,
        reverting_commits=[], horizons={"1d": 0.9, "7d": 0.7, "30d": None},
        horizon_points={"1d": HorizonPoint(1, 100, True, "c", 0.9, 9, "blame"),
                        "7d": HorizonPoint(7, 200, True, "c", 0.7, 7, "blame"),
                        "30d": HorizonPoint(30, 86400 * 400, False)},
        per_file=[],
    )
    bars = survival_bars(result)
    assert [(b.label, b.ratio) for b in bars] == [("1d", 0.9), ("7d", 0.7), ("30d", None), ("now", 0.6)]
    assert bars[0].detail == "9 of 10 lines" and bars[2].detail.startswith("due 1971-")
    assert [b.ratio for b in survival_bars(None)] == [None] * 4


# ------------------------------------------------------------------------------------ the entries
async def test_the_start_screen_and_the_cockpit_open_the_history(built: Built, db: str, tmp_path: Path) -> None:
    from tui.app import CockpitApp
    from sessions.launcher import SessionLauncher

    plan = tmp_path / "plan.toml"
    plan.write_text('[[task]]\nid = "hello"\nagent = "shell"\nprompt = "echo hello"\n')
    async with await Store.open(db) as store:
        launcher = SessionLauncher(store, built.repo, note=lambda text: None, stop_grace=0.3)
        app = CockpitApp(launcher)
        async with app.run_test(size=SIZE) as pilot:
            from tui.screens.start import StartScreen

            await until(pilot, lambda: isinstance(app.screen, StartScreen) or len(app.screen_stack) > 2,
                        "the start screen")
            await pilot.pause(0.3)
            while not isinstance(app.screen, StartScreen):  # what it offers first (a summary to write)
                await pilot.press("escape")
            await pilot.press("f2")  # from the start screen (whatever has the focus)
            screen = await history_screen(pilot)
            assert screen.table.row_count == 6
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HistoryScreen), "back to the start screen")

        launcher = SessionLauncher(store, built.repo, note=lambda text: None, stop_grace=0.3)
        live = await launcher.launch("Look back from the cockpit", plan)
        app = CockpitApp(launcher, live=live)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("h")
            screen = await history_screen(pilot)
            assert screen.table.row_count == 7  # the running session too
            assert screen.shown[0].status == "active"
            screen.open_session(screen.shown[0])
            detail = await detail_screen(pilot)
            assert not detail.pending  # a running session is not assessed
            assert "still running" in str(detail.query_one("#detail-outcome").render())


def test_cockpit_history_outside_a_repository_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["history", "--repo", str(tmp_path), "--db", str(tmp_path / "c.db")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("cockpit: ") and len(err.strip().splitlines()) == 1


async def test_cockpit_history_opens_the_screen(built: Built, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cockpit history --all --db PATH`` builds the app the screen lives in (run here with Pilot)."""
    from tui import history_app

    opened: list[HistoryApp] = []

    async def run_async(self: HistoryApp) -> None:
        opened.append(self)
        async with self.run_test(size=SIZE) as pilot:
            screen = await history_screen(pilot)
            assert screen.every_repo and screen.table.row_count == 6

    monkeypatch.setattr(history_app.HistoryApp, "run_async", run_async)
    monkeypatch.chdir(built.repo)
    assert await history_app.run_history(db, None, True) == 0
    assert opened and opened[0].repo == str(built.repo) and opened[0].every_repo


# --------------------------------------------------------------------------------------- snapshots
NOON = 1773144000.0  # 2026-03-10 12:00:00 UTC


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def survival_curve(head: str) -> str:
    points = {
        "1d": HorizonPoint(1, int(NOON + 86400), True, head, 0.9, 9, "blame", False),
        "7d": HorizonPoint(7, int(NOON + 7 * 86400), True, head, 0.7, 7, "blame", False),
        "30d": HorizonPoint(30, int(NOON + 30 * 86400), False),
    }
    return SurvivalResult(
        start="0" * 40, end="1" * 40, head=head, added=10, surviving=6, ratio=0.6, method="blame", reverted=False,
        reverting_commits=[], horizons={k: p.ratio for k, p in points.items()}, horizon_points=points, per_file=[],
    ).to_json()


@pytest.fixture
def fixed_db(built: Built, tmp_path: Path, utc) -> str:
    """The built database with the recorded sessions on 2026-03-10, fixed times, A's saved summary
    and survival curve."""
    path = copy_db(built, tmp_path / "fixed.db")
    conn = sqlite3.connect(path)
    with conn:
        for key in "ABCD":
            conn.execute("UPDATE sessions SET date = '2026-03-10', started_at = ?, ended_at = ? WHERE id = ?",
                         (NOON, NOON + 1800, built.ids[key]))
        ids = [r[0] for r in conn.execute("SELECT id FROM interventions ORDER BY id")]
        for n, i in enumerate(ids):
            conn.execute("UPDATE interventions SET at = ? WHERE id = ?", (NOON + 60 * (n + 1), i))
    conn.close()

    async def save() -> None:
        async with await Store.open(path) as store:
            a = built.ids["A"]
            summary = SessionSummary(
                date=datetime.date(2026, 3, 10), day_number=1, start_commit="1a2b3c4",
                end_commit="9f8e7d6", status="complete", objective="Add the CSV export",
                previous_session="2026-03-06 Session 1 (summary20260306.1.md)", previous_outcome="partially",
                work_completed="### CSV export\n- `c1` (careful): the writer and its tests\n- `h1` (hasty): the flag",
                files_changed=[FileChangeRow.from_counts("report/csv.py", "created", 3, 0)],
                interventions=[Intervention("12:01", "[c1] about c1", "message")], intervention_count=4,
                what_worked="Small tasks, one file each.", what_didnt="The shell task wrote the wrong file.",
                rating=5, next_priorities="- Stream the export", tokens_in=600, tokens_out=164, cost_usd=0.0246,
            )
            await store.save_summary(a, summary.to_dict(), draft=False)
            await store.save_survival(a, built.head, survival_curve(built.head), computed_at=3000.0)

    asyncio.run(save())
    return path


async def _loaded(pilot: Any) -> None:
    await history_screen(pilot)
    await pilot.pause()


async def _open_a(pilot: Any) -> None:
    screen = await history_screen(pilot)
    row = next(r for r in screen.shown if r.label == "20260310.1")
    screen.table.move_cursor(row=screen.shown.index(row))
    await pilot.press("enter")
    await detail_screen(pilot)
    await pilot.pause(0.2)


def test_snapshot_of_the_history_screen(snap_compare, built: Built, fixed_db: str) -> None:
    assert snap_compare(HistoryApp(fixed_db, str(built.repo)), terminal_size=SIZE, run_before=_loaded)


def test_snapshot_of_the_session_detail_screen(snap_compare, built: Built, fixed_db: str) -> None:
    assert snap_compare(HistoryApp(fixed_db, str(built.repo)), terminal_size=SIZE, run_before=_open_a)


@pytest.fixture
def one_day_db(tmp_path: Path, repo_factory) -> tuple[str, Path]:
    """Eight sessions of one day (2026-03-10), each rated, assessed, measured, with interventions and a cost."""
    repo = repo_factory("repo")
    path = str(tmp_path / "one-day.db")
    ratings = [5, 4, 2, 3, 5, 1, 4, 3]
    outcomes = ["fully", "partially", "not-used", "fully", "fully", "not-used", "partially", "fully"]
    survived = [9, 4, 7, 2, 10, 9, 5, 8]  # of 10 lines: the 4th ("fully", 20%) and the 6th ("not used", 90%) disagree

    async def fill() -> None:
        async with await Store.open(path) as store:
            for i in range(8):
                row = await store.create_session(repo, f"objective {i + 1}", "0" * 40, date="2026-03-10")
                await store.save_summary(row.id, {"rating": ratings[i], "cost_usd": 0.05 * (i % 3 + 1)}, draft=False)
                await store.add_assessment(row.id, outcomes[i], at=NOON + i)
                for n in range(i % 3 + 1):
                    await store.add_intervention(row.id, None, "note", f"note {n}", at=NOON + i)
                result = SurvivalResult(
                    start="0" * 40, end="1" * 40, head="2" * 40, added=10, surviving=survived[i],
                    ratio=survived[i] / 10, method="blame", reverted=False, reverting_commits=[], horizons={},
                    horizon_points={}, per_file=[],
                )
                await store.save_survival(row.id, "2" * 40, result.to_json(), computed_at=3000.0)
                await store.end_session(row.id, "complete", "1" * 40)

    asyncio.run(fill())
    return path, repo


async def _trends(pilot: Any) -> None:
    screen = await history_screen(pilot)
    await pilot.press("2")
    charts = screen.query_one(TrendCharts)
    await until(pilot, lambda: len(charts.drawn) == 5, "the charts drawn")
    await pilot.pause(0.2)


def test_snapshot_of_the_trends_of_eight_sessions_of_one_day(snap_compare, one_day_db: tuple[str, Path]) -> None:
    path, repo = one_day_db
    assert snap_compare(HistoryApp(path, str(repo)), terminal_size=(100, 30), run_before=_trends)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_the_session_detail_opens_on_what_happened(built: Built, db: str, size: tuple[int, int]) -> None:
    app = HistoryApp(db, str(built.repo))
    async with app.run_test(size=size) as pilot:
        screen = await history_screen(pilot)
        screen.open_session(next(r for r in screen.shown if r.id == built.ids["D"]))
        detail = await detail_screen(pilot)
        markdown = detail.query_one("#detail-markdown")
        headings = [str(h.render()).strip() for h in markdown.query("MarkdownH2")]
        assert headings[0] != "Completeness Checklist" and headings[-1] == "Completeness Checklist", headings
        assert "Before closing the session" not in str(markdown.query("MarkdownBlock").first().render())
