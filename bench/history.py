"""The history screen on 10,000 sessions, against a plain Textual DataTable app in the same run.

A database of 10,000 sessions in one repository (made through the real schema: ``prepare_database``,
then ``executemany`` inserts of sessions, tasks, summaries, assessments, survival results and
interventions) is opened by

* the cockpit: ``HistoryApp`` (``cockpit history``): the screen reads the sessions with
  ``read_history`` in a worker, makes the cells, fills its table with one ``add_rows`` call;
* the baseline: a plain app of one ``Input`` and one ``DataTable``, which reads the same 10,000 rows
  (the same columns) with one SQL query in ``on_mount`` and adds them with ``add_rows``; it filters
  in Python over the rows it read, refilling the table at each key.

Two figures, each side headless (``App.run_test``, 120x40):

* **first paint**: from the start of the app until its table holds the rows (the app's own
  "loaded" message, posted after the refresh that follows ``add_rows``, then until the app is idle);
* **filter**: typing ``parser`` into the filter input (one key at a time, each processed before the
  next, as ``Pilot.press`` does) until the table holds exactly the rows whose objective has it.

Each side runs ROUNDS times, back to back within a round; a figure is the median over the rounds of
each round's ratio (cockpit / baseline: lower is better).

    python bench/history.py

Ends with ``BENCH history first_paint_ratio <v> target <= 1.5`` and
``BENCH history filter_ratio <v> target <= 1.5``; exits 0 either way.
"""
from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult  # noqa: E402
from textual.message import Message  # noqa: E402
from textual.widgets import DataTable, Input  # noqa: E402

from sessions.reports.history import load_history_file  # noqa: E402
from sessions.store.db import prepare_database  # noqa: E402
from sessions.store.rows import repo_key  # noqa: E402
from tui.history_app import HistoryApp  # noqa: E402
from tui.screens.history import HistoryScreen, build_cells, CellStyles  # noqa: E402

SESSIONS = 10_000
ROUNDS = 5
SIZE = (120, 40)
TYPED = "parser"
TARGET = 1.5

_VERBS = ("Add", "Fix", "Rewrite", "Speed up", "Document", "Test", "Refactor", "Remove", "Port", "Review")
_THINGS = ("the CSV export", "the login flow", "the parser", "the report command", "the cache layer",
           "the settings page", "the API client", "the build script", "the migration", "the search index",
           "the flaky test", "the error messages")
_AGENTS = ("claude", "codex", "careful", "hasty", "shell")


# --------------------------------------------------------------------------------------- the data
def make_database(path: Path, repo: str, n: int = SESSIONS, seed: int = 8) -> None:
    """``n`` sessions in ``repo``, through the real schema, with plain sqlite3 ``executemany``."""
    prepare_database(path)
    rnd = random.Random(seed)
    conn = sqlite3.connect(path)
    sessions, tasks, summaries, assessments, survival, interventions = [], [], [], [], [], []
    day0 = 738_000  # an ordinal date: 2021-07-...
    task_id = 0
    with conn:
        conn.execute("INSERT INTO repos (id, path) VALUES (1, ?)", (repo_key(repo),))
        for sid in range(1, n + 1):
            date = time.strftime("%Y-%m-%d", time.gmtime((day0 + sid // 4 - 719_163) * 86400))
            number = sid % 4 + 1
            objective = f"{rnd.choice(_VERBS)} {rnd.choice(_THINGS)} ({sid})"
            status = rnd.choices(("complete", "blocked", "abandoned"), (8, 2, 1))[0]
            started = 1.6e9 + sid * 3600
            sessions.append((sid, 1, date, number, objective, status, "a" * 40, "b" * 40, started, started + 1800))
            for k in range(rnd.randint(1, 3)):
                task_id += 1
                decision = rnd.choices(("accepted", "discarded", None), (6, 3, 1))[0]
                tasks.append((task_id, sid, f"t{k}", rnd.choice(_AGENTS), "succeeded", 1, rnd.randint(100, 9000),
                              rnd.randint(10, 900), 0, 0, round(rnd.random() * 0.05, 4), rnd.randint(0, 60), 0,
                              decision, "do the thing " * 20))
                if rnd.random() < 0.3:
                    interventions.append((sid, task_id, started + 60, "message", "a follow-up"))
            if rnd.random() < 0.6:
                summaries.append((sid, json.dumps({"objective": objective, "rating": rnd.randint(1, 5)}), 0, started))
            if rnd.random() < 0.7:
                assessments.append((sid, rnd.choice(("fully", "partially", "not-used", "too-early", "na")), "",
                                    started + 86400))
            if rnd.random() < 0.6:
                added = rnd.randint(1, 400)
                kept = rnd.randint(0, added)
                survival.append((sid, "c" * 40, started + 7 * 86400,
                                 json.dumps({"ratio": kept / added, "added": added, "surviving": kept})))
            if rnd.random() < 0.4:
                interventions.append((sid, None, started + 120, "note", "by hand"))
        conn.executemany(
            "INSERT INTO sessions (id, repo_id, date, day_number, objective, status, start_commit, end_commit,"
            " started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", sessions)
        conn.executemany(
            "INSERT INTO tasks (id, session_id, task_key, agent, state, attempts, tokens_in, tokens_out, cache_write,"
            " cache_read, cost_usd, added, removed, decision, prompt) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tasks)
        conn.executemany("INSERT INTO summaries (session_id, data, is_draft, updated_at) VALUES (?, ?, ?, ?)",
                         summaries)
        conn.executemany("INSERT INTO assessments (session_id, outcome, note, at) VALUES (?, ?, ?, ?)", assessments)
        conn.executemany("INSERT INTO survival (session_id, head, computed_at, data) VALUES (?, ?, ?, ?)", survival)
        conn.executemany("INSERT INTO interventions (session_id, task_id, at, type, text) VALUES (?, ?, ?, ?, ?)",
                         interventions)
    conn.close()


# ------------------------------------------------------------------------------------ the baseline
BASELINE_SQL = """
SELECT s.date || '.' || s.day_number, s.objective, s.status,
       (SELECT json_extract(data, '$.rating') FROM summaries WHERE session_id = s.id),
       (SELECT outcome FROM assessments WHERE session_id = s.id ORDER BY at DESC, id DESC LIMIT 1),
       (SELECT json_extract(data, '$.ratio') FROM survival WHERE session_id = s.id ORDER BY computed_at DESC LIMIT 1),
       (SELECT count(*) FROM interventions WHERE session_id = s.id),
       (SELECT count(*) FROM tasks WHERE session_id = s.id AND decision = 'accepted'),
       (SELECT count(*) FROM tasks WHERE session_id = s.id AND decision = 'discarded'),
       (SELECT sum(cost_usd) FROM tasks WHERE session_id = s.id)
FROM sessions s
ORDER BY s.date DESC, s.day_number DESC, s.id DESC
"""


class PlainApp(App[None]):
    """One SQL query, one DataTable, a filter Input refilling the table at each key."""

    class Loaded(Message):
        pass

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db
        self.rows: list[tuple[Any, ...]] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter", id="filter")
        yield DataTable(id="table", cursor_type="row")

    def on_mount(self) -> None:
        conn = sqlite3.connect(self.db)
        try:
            self.rows = conn.execute(BASELINE_SQL).fetchall()
        finally:
            conn.close()
        table = self.query_one(DataTable)
        table.add_columns("session", "objective", "status", "rating", "outcome", "EWR(git)", "interv.", "accepted",
                          "discarded", "cost")
        table.add_rows(self.rows)
        table.focus()
        self.call_after_refresh(self.post_message, self.Loaded())

    def on_input_changed(self, event: Input.Changed) -> None:
        needle = event.value.casefold()
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows([r for r in self.rows if needle in r[1].casefold()])


# -------------------------------------------------------------------------------------- measuring
async def _wait(check: Any, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out")
        await asyncio.sleep(0.001)


async def measure(make_app: Any, loaded_type: type, table_of: Any, filter_of: Any, expected: int,
                  total: int) -> tuple[float, float]:
    """(seconds to the first paint of the rows, seconds to apply the typed filter)."""
    seen: list[float] = []

    def hook(message: Any) -> None:
        if isinstance(message, loaded_type) and not seen:
            seen.append(time.perf_counter())

    start = time.perf_counter()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await _wait(lambda: seen)
        await pilot.pause()
        first_paint = time.perf_counter() - start
        table = table_of(app)
        assert table.row_count == total, (table.row_count, total)
        filter_input = filter_of(app)
        filter_input.focus()
        await pilot.pause()
        start = time.perf_counter()
        await pilot.press(*TYPED)
        await _wait(lambda: table_of(app).row_count == expected)
        await pilot.pause()
        filtering = time.perf_counter() - start
        assert table_of(app).row_count == expected
    return first_paint, filtering


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        folder = Path(tmp)
        repo = folder / "repo"
        repo.mkdir()
        db = folder / "cockpit.db"
        t0 = time.perf_counter()
        make_database(db, str(repo))
        print(f"database: {SESSIONS:,} sessions made in {time.perf_counter() - t0:.2f} s")

        t0 = time.perf_counter()
        history = load_history_file(db, repo)
        read = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_cells(history.rows, CellStyles(), False)
        cells = time.perf_counter() - t0
        expected = sum(1 for r in history.rows if TYPED in r.objective.casefold())
        print(f"read_history: {read:.3f} s; the cells of {len(history.rows):,} rows: {cells:.3f} s; "
              f"'{TYPED}' keeps {expected:,} rows")

        def history_table(app: App) -> DataTable:
            return app.screen.query_one("#history-table", DataTable)

        def history_filter(app: App) -> Input:
            return app.screen.query_one("#filter-text", Input)

        paint_ratios, filter_ratios = [], []
        for n in range(ROUNDS):
            ours = await measure(lambda: HistoryApp(db, str(repo)), HistoryScreen.Loaded, history_table,
                                 history_filter, expected, SESSIONS)
            plain = await measure(lambda: PlainApp(db), PlainApp.Loaded, lambda app: app.query_one(DataTable),
                                  lambda app: app.query_one(Input), expected, SESSIONS)
            paint_ratios.append(ours[0] / plain[0])
            filter_ratios.append(ours[1] / plain[1])
            print(f"round {n + 1}: first paint {ours[0]:.2f} s vs plain {plain[0]:.2f} s "
                  f"(ratio {paint_ratios[-1]:.2f}); filter {ours[1]:.2f} s vs plain {plain[1]:.2f} s "
                  f"(ratio {filter_ratios[-1]:.2f})")
    paint, filtering = statistics.median(paint_ratios), statistics.median(filter_ratios)
    print(f"median ratios (cockpit / plain DataTable, lower is better): first paint {paint:.2f}, filter {filtering:.2f}")
    print(f"BENCH history first_paint_ratio {paint:.2f} target <= {TARGET}")
    print(f"BENCH history filter_ratio {filtering:.2f} target <= {TARGET}")


if __name__ == "__main__":
    asyncio.run(main())
