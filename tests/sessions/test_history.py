"""sessions.reports.history: the rows, filters, sorting, totals, trends and the agent table, on a database
filled by real headless runs, decisions, assessments, interventions and imported summaries (see
tests/helpers/history_data.py for what each session holds)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.helpers.history_data import Built, build, isolate, task_added
from sessions.reports.history import (
    SORT_COLUMNS, HistoryRow, RowFilter, agent_table, disagrees, filter_rows, load_history, load_history_file,
    read_history, sort_rows, totals, trend,
)
from sessions.store.store import Store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("history")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base / "_home")
        return build(base)


@pytest.fixture
def rows(built: Built) -> list[HistoryRow]:
    return load_history_file(built.db, built.repo).rows


def by_key(built: Built, rows: list[HistoryRow]) -> dict[str, HistoryRow]:
    ids = {v: k for k, v in built.ids.items()}
    return {ids[r.id]: r for r in rows}


def keys(built: Built, rows: list[HistoryRow]) -> list[str]:
    ids = {v: k for k, v in built.ids.items()}
    return [ids[r.id] for r in rows]


I1, I2 = "20260304.2", "20260306.1"


def test_the_runs_recorded_what_the_hand_computation_assumes(built: Built) -> None:
    assert task_added(built.db) == {"c1": 3, "h1": 1, "s1": 4, "c2": 2, "s2": 2, "h2": 2, "h3": 1, "d1": 0, "x1": 1}


# --------------------------------------------------------------------------- rows


def test_rows_newest_first_with_their_figures(built: Built, rows: list[HistoryRow]) -> None:
    assert keys(built, rows) == ["D", "C", "B", "A", I2, I1]
    r = by_key(built, rows)
    a = r["A"]
    assert (a.label, a.date, a.day_number, a.repo) == (built.labels["A"], built.today, 1, str(built.repo))
    assert (a.objective, a.status, a.rating, a.outcome, a.source) == ("Add the CSV export", "complete", 5, "fully",
                                                                      "cockpit")
    assert (a.tasks, a.accepted, a.discarded, a.interventions) == (3, 2, 1, 4)
    assert a.cost_usd == pytest.approx(2 * 0.0123) and a.cost_complete  # the shell task has no cost, no tokens
    assert a.tokens == 2 * 382
    # the newest cached survival (computed_at 2000), not the older one at another head (10 of 10)
    assert (a.ewr_git, a.survival_added, a.survival_surviving) == (0.6, 10, 6)
    assert a.ewr_human == 1.0 and a.measured and not a.disagreement
    assert a.cost_per_surviving_line == pytest.approx(0.0246 / 6)

    b, c, d = r["B"], r["C"], r["D"]
    assert (b.tasks, b.accepted, b.discarded, b.interventions, b.rating) == (2, 1, 1, 1, None)
    assert (b.ewr_git, b.outcome, b.cost_usd) == (0.25, "fully", pytest.approx(0.0123))
    assert (c.ewr_git, c.outcome, c.rating, c.ewr_human) == (1.0, "not-used", 2, 0.0)
    # D: a failed task and a codex task (tokens, no cost); its survival says nothing was committed
    assert (d.status, d.tasks, d.accepted, d.discarded, d.outcome) == ("blocked", 2, 0, 0, None)
    assert d.cost_usd is None and d.cost_complete is False and d.tokens == 2280
    assert (d.ewr_git, d.survival_added, d.survival_surviving, d.measured) == (None, 0, 0, False)

    # imported: no tasks, so the summary's usage; its interventions were imported with it
    i1, i2 = r[I1], r[I2]
    assert (i2.source, i2.status, i2.rating, i2.cost_usd, i2.tokens, i2.interventions) == (
        "import", "blocked", 4, 1.37, 182340 + 20411, 2)
    assert (i2.ewr_git, i2.survival_added, i2.outcome) == (None, None, None)  # never measured, pending
    assert (i1.outcome, i1.ewr_git, i1.tasks, i1.tokens) == ("fully", 0.9, 0, None)  # outcome from 20260306.1


def test_disagreements_are_marked_by_one_rule(built: Built, rows: list[HistoryRow]) -> None:
    # B: "fully" with 25% surviving; C: "not-used" with 100% surviving. A (fully, 60%) and the import
    # (fully, 90%) agree; D and 20260306.1 have nothing to compare.
    assert {k for k, r in by_key(built, rows).items() if r.disagreement} == {"B", "C"}
    assert disagrees("fully", 0.49) and not disagrees("fully", 0.5)
    assert disagrees("not-used", 0.81) and not disagrees("not-used", 0.8)
    assert not disagrees("partially", 0.0) and not disagrees("partially", 1.0)
    assert not disagrees("fully", None) and not disagrees(None, 0.0) and not disagrees("na", 0.0)


def test_scope_by_repository_and_date(built: Built, tmp_path: Path) -> None:
    conn = sqlite3.connect(built.db)
    try:
        assert len(load_history(conn).rows) == 6  # every repository
        since = load_history(conn, built.repo, "2026-03-05")
        assert keys(built, since.rows) == ["D", "C", "B", "A", I2] and since.since == "2026-03-05"
        assert {t.session_id for t in since.tasks} == {built.ids[k] for k in "ABCD"}
        assert keys(built, load_history(conn, built.repo, built.today).rows) == ["D", "C", "B", "A"]
        other = load_history(conn, tmp_path)
        assert other.rows == [] and other.tasks == [] and other.totals().ewr_git is None
        with pytest.raises(ValueError, match="not a date"):
            load_history(conn, built.repo, "2026-02-30")
    finally:
        conn.close()


async def test_read_history_from_an_open_store(built: Built) -> None:
    async with await Store.open(built.db) as store:
        history = await read_history(store, built.repo)
    assert history.rows == load_history_file(built.db, built.repo).rows
    assert history.repo == str(built.repo.resolve())


# --------------------------------------------------------------------------- filters and sorting


def test_filters(built: Built, rows: list[HistoryRow]) -> None:
    def kept(**criteria) -> list[str]:
        return keys(built, filter_rows(rows, **criteria))

    assert kept() == ["D", "C", "B", "A", I2, I1]
    assert kept(text="csv") == ["A", I2, I1]  # in the objectives, case-insensitive
    assert kept(text="20260304") == [I1]  # in the label
    assert kept(statuses={"blocked"}) == ["D", I2]
    assert kept(rating_min=4) == ["A", I2]  # the unrated are left out by a rating bound
    assert kept(rating_min=2, rating_max=4) == ["C", I2]
    assert kept(date_from="2026-03-05", date_to="2026-03-31") == [I2]
    assert kept(date_to="2026-03-04") == [I1]
    assert kept(outcomes={"pending"}) == ["D", I2]
    assert kept(outcomes={"fully", "not-used"}) == ["C", "B", "A", I1]
    assert kept(disagreement_only=True) == ["C", "B"]
    assert kept(text="csv", statuses={"complete"}, rating_min=5) == ["A"]
    flt = RowFilter(text="PARSER")
    assert [r.id for r in rows if flt.matches(r)] == [built.ids["C"]] and not flt.empty
    assert RowFilter().empty
    with pytest.raises(ValueError, match="not a date"):
        RowFilter(date_from="March")


def test_sorting_puts_missing_values_last_both_ways(built: Built, rows: list[HistoryRow]) -> None:
    def order(column: str, descending: bool = False) -> list[str]:
        return keys(built, sort_rows(rows, column, descending))

    # ewr_git: B .25, A .6, 20260304.2 .9, C 1.0; D and 20260306.1 unmeasured (in their former order)
    assert order("ewr_git") == ["B", "A", I1, "C", "D", I2]
    assert order("ewr_git", descending=True) == ["C", I1, "A", "B", "D", I2]
    assert order("rating") == ["C", I2, "A", "D", "B", I1]
    assert order("rating", True) == ["A", I2, "C", "D", "B", I1]
    assert order("label") == [I1, I2, "A", "B", "C", "D"]  # by date, then number of the day
    assert order("date", True) == ["D", "C", "B", "A", I2, I1]
    assert order("cost_usd", True) == [I2, "C", "A", "B", "D", I1]  # 1.37, .0246 (C, A keep their order), .0123
    assert order("interventions", True) == ["A", I2, "B", I1, "D", "C"]
    assert order("outcome") == ["C", "B", "A", I1, "D", I2]  # not used < fully; pending last
    assert order("objective") == [I1, "A", "B", "C", I2, "D"]  # "add csv..." < "add the csv..." < "fix..."
    assert order("disagreement", True)[:2] == ["C", "B"]
    assert order("cost_per_surviving_line") == ["A", "C", "B", "D", I2, I1]  # .0246/6, .0246/5, .0123/1
    for column in SORT_COLUMNS:
        assert sorted(r.id for r in sort_rows(rows, column)) == sorted(r.id for r in rows)
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        sort_rows(rows, "nope")


# --------------------------------------------------------------------------- totals and trend


def test_totals_by_hand(built: Built, rows: list[HistoryRow]) -> None:
    t = totals(rows)
    # EWR(human): A fully 1, B fully 1, C not used 0, 20260304.2 fully 1 -> 3/4 over 4 sessions
    assert (t.ewr_human.value, t.ewr_human.count) == (0.75, 4)
    assert (t.ewr_human_recent.value, t.ewr_human_recent.count) == (0.75, 4)
    # EWR(git): measured A 6/10, B 1/4, C 5/5, 20260304.2 9/10 -> (6+1+5+9)/(10+4+5+10) = 21/29
    assert (t.survival_surviving, t.survival_added, t.ewr_git_count) == (21, 29, 4)
    assert t.ewr_git == pytest.approx(21 / 29)
    assert (t.sessions, t.tasks, t.accepted, t.discarded, t.interventions, t.disagreements) == (6, 9, 4, 3, 8, 2)
    # cost: 5 claude-made tasks at 0.0123 + the imported 1.37; per surviving line over the measured
    # sessions only: A .0246 + B .0123 + C .0246 (20260304.2 has no cost) over 21 lines
    assert t.cost_usd == pytest.approx(5 * 0.0123 + 1.37)
    assert t.cost_per_surviving_line == pytest.approx(0.0615 / 21)
    data = t.to_dict()
    for key in ("ewr_human", "ewr_human_count", "ewr_human_last_10", "ewr_human_last_10_count", "ewr_git",
                "ewr_git_count"):
        assert key in data
    # the last N: with N=2, the two newest assessed sessions are C (0) and B (1)
    assert totals(rows, recent=2).ewr_human_recent.value == 0.5


def test_trend_is_oldest_first(built: Built, rows: list[HistoryRow]) -> None:
    points = trend(rows)
    assert [p.label for p in points] == [built.labels[k] for k in (I1, I2, "A", "B", "C", "D")]
    a = points[2]
    assert (a.ewr_human, a.ewr_git, a.rating, a.interventions) == (1.0, 0.6, 5, 4)
    assert a.cost_usd == pytest.approx(0.0246) and a.cost_per_surviving_line == pytest.approx(0.0246 / 6)
    assert (points[1].ewr_human, points[1].ewr_git, points[1].cost_per_surviving_line) == (None, None, None)


# --------------------------------------------------------------------------- the agent table


def test_agent_table_by_hand(built: Built) -> None:
    history = load_history_file(built.db, built.repo)
    agents = {a.agent: a for a in history.agents()}
    assert [a.agent for a in history.agents()] == ["hasty", "shell", "careful", "codex"]  # most tasks first

    # careful: c1 (A, 3 lines, accepted), c2 (B, 2 lines, discarded).
    #   A measured 10 added / 6 surviving; its accepted tasks c1 (3 lines) and h1 (1 line) share it
    #   3/4 : 1/4 -> careful 7.5 added, 4.5 surviving. B's only accepted task is s2 (shell).
    #   survival 4.5 / 7.5 = 0.6; accepted share 1/2; interventions 1 (on c1) / 2 tasks = 0.5;
    #   cost in measured sessions c1 + c2 = 0.0246 -> 0.0246 / 4.5 per surviving line.
    c = agents["careful"]
    assert (c.tasks, c.accepted, c.discarded, c.decided, c.accepted_share) == (2, 1, 1, 2, 0.5)
    assert (c.attributed_added, c.attributed_surviving) == (pytest.approx(7.5), pytest.approx(4.5))
    assert c.survival == pytest.approx(0.6)
    assert (c.interventions, c.interventions_per_task) == (1, 0.5)
    assert c.cost_per_surviving_line == pytest.approx(0.0246 / 4.5)

    # hasty: h1 (A, 1 line, accepted), h2 (C, 2 lines, accepted), h3 (C, 1 line, discarded).
    #   A: 1/4 of 10 added = 2.5, of 6 surviving = 1.5; C (5 of 5) has one accepted task, h2: all of it.
    #   added 2.5 + 5 = 7.5, surviving 1.5 + 5 = 6.5 -> 6.5 / 7.5 = 0.8667; share 2/3;
    #   interventions 2 (both on h1) / 3 tasks; cost h1 + h2 + h3 = 0.0369 (all in measured sessions) / 6.5.
    h = agents["hasty"]
    assert (h.tasks, h.accepted, h.discarded, h.accepted_share) == (3, 2, 1, pytest.approx(2 / 3))
    assert (h.attributed_added, h.attributed_surviving) == (pytest.approx(7.5), pytest.approx(6.5))
    assert h.survival == pytest.approx(6.5 / 7.5)
    assert h.interventions_per_task == pytest.approx(2 / 3)
    assert h.cost_per_surviving_line == pytest.approx(0.0369 / 6.5)

    # shell: s1 (A, discarded), s2 (B, accepted: all of B, 4 added, 1 surviving), d1 (D, failed, undecided).
    #   survival 1/4; share 1/2; interventions 1 (on s2) / 3; no cost is known -> None per line.
    s = agents["shell"]
    assert (s.tasks, s.accepted, s.discarded, s.accepted_share) == (3, 1, 1, 0.5)
    assert (s.attributed_added, s.attributed_surviving, s.survival) == (4.0, 1.0, 0.25)
    assert s.interventions_per_task == pytest.approx(1 / 3)
    assert s.cost_usd is None and s.cost_per_surviving_line is None

    # codex: x1 in D (nothing measured, undecided): nothing to say but the count.
    x = agents["codex"]
    assert (x.tasks, x.decided, x.accepted_share, x.survival, x.cost_per_surviving_line) == (1, 0, None, None, None)
    assert x.tokens == 2280 and x.cost_usd is None

    # the attributed lines add up to the measured lines of the sessions with accepted tasks (A, B, C)
    assert sum(a.attributed_added for a in agents.values()) == pytest.approx(10 + 4 + 5)
    assert sum(a.attributed_surviving for a in agents.values()) == pytest.approx(6 + 1 + 5)


def test_agent_table_follows_the_rows_given(built: Built) -> None:
    history = load_history_file(built.db, built.repo)
    only_a = filter_rows(history.rows, text="add the csv export")
    agents = {a.agent: a for a in agent_table(only_a, history.tasks)}
    assert set(agents) == {"careful", "hasty", "shell"}
    assert (agents["hasty"].tasks, agents["hasty"].survival) == (1, pytest.approx(0.6))
    assert (agents["shell"].accepted_share, agents["shell"].survival) == (0.0, None)
    assert history.agents(only_a)[0].agent == "careful"  # 1 task each: by name
    assert history.totals(only_a).ewr_git == 0.6
