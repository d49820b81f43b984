"""The history screen: looking back over the sessions of a repository (or of every repository).

Three tabs. **Sessions**: one row per session (date/label, objective, status, rating, outcome,
EWR(git), interventions, tasks accepted/discarded, cost), sorted by any column (click its header,
or ``s`` for the next column and ``r`` to reverse), filtered by text, status, outcome, rating and
date in the bar above it; rows where the human outcome and git survival disagree are marked ``≠``.
**Trends**: the charts of :mod:`tui.widgets.trend_charts`. **Agents**: the agent table ("which
agent's work sticks"). Trends and agents follow the sessions the filter keeps.

The data is read once, in a worker (:func:`sessions.reports.history.read_history`: two queries in a
thread), and the table's cells are made once per session, in a thread too; filtering and sorting
then work on those rows in memory (:class:`~sessions.reports.history.RowFilter`,
:func:`~sessions.reports.history.sort_rows`), never on the database. A filter refills the table with one
``add_rows`` call; a new sort only reorders the rows the table holds (``DataTable.sort``), so the
table does not measure them again. Cells are ``rich.text.Text``: nothing a user wrote is read as
markup, and the table has no markup to parse.

The screen posts :class:`HistoryScreen.Loaded` once the table holds its rows (what
``bench/history.py`` times its first paint by).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.validation import Function
from textual.widgets import DataTable, Footer, Header, Input, Select, Static, TabbedContent, TabPane
from textual.widgets.data_table import RowKey

from engine.formatting import total_cost_text
from sessions.reports.history import History, HistoryRow, RowFilter, disagrees, parse_date, read_history, sort_rows
from sessions.store.store import Store
from tui.bindings import APP_BINDINGS, HISTORY_BINDINGS
from tui.cli.report import AGENT_HEADER, agent_cells
from tui.widgets.trend_charts import TrendCharts

__all__ = ["COLUMNS", "CellStyles", "Column", "HistoryScreen", "row_cells", "short_repo"]

DISAGREE_GLYPH = "≠"
OUTCOME_WORDS = {"fully": "fully", "partially": "partially", "not-used": "not used", "too-early": "too early",
                 "na": "n/a"}


@dataclass(frozen=True)
class Column:
    key: str  # the DataTable column key
    label: str
    width: int
    sort: str  # the sessions.reports.history sort column
    descending: bool  # the first direction when this column is chosen
    justify: str = "left"


COLUMNS: tuple[Column, ...] = (
    Column("session", "session", 12, "date", True),
    Column("objective", "objective", 0, "objective", False),  # 0: the width the others leave
    Column("status", "status", 9, "status", False),
    Column("rating", "rating", 6, "rating", True),
    Column("outcome", "outcome", 9, "outcome", True),
    Column("ewr_git", "EWR(git)", 10, "ewr_git", True, "right"),
    Column("interventions", "interv.", 7, "interventions", True, "right"),
    Column("decided", "acc/disc", 8, "accepted", True, "right"),
    Column("cost", "cost", 8, "cost_usd", True, "right"),
)
REPO_COLUMN = Column("repo", "repo", 10, "repo", False)
MIN_OBJECTIVE = 12

STATUS_OPTIONS = [(s, s) for s in ("complete", "blocked", "abandoned", "active")]
OUTCOME_OPTIONS = [("pending", "pending")] + [(word, key) for key, word in OUTCOME_WORDS.items()]
RATING_OPTIONS = [("★ 5", (5, 5)), ("★ 4+", (4, None)), ("★ 3+", (3, None)), ("★ 2-", (None, 2)), ("★ 1", (1, 1))]


def short_repo(path: str) -> str:
    """How a repository is named on screen: its folder's name."""
    return Path(path).name or path


@dataclass(frozen=True)
class CellStyles:
    """Rich styles for the cells (from the app's theme, read on the event loop)."""

    warning: str = "yellow"
    success: str = "green"
    error: str = "red"
    accent: str = "blue"
    star: str = "yellow"

    @classmethod
    def from_theme(cls, variables: dict[str, str]) -> "CellStyles":
        return cls(
            warning=variables.get("text-warning", "yellow"), success=variables.get("text-success", "green"),
            error=variables.get("text-error", "red"), accent=variables.get("text-primary", "blue"),
            star=variables.get("warning", "yellow"),
        )


class Cell(Text):
    """A cell of the history table: a Text the table never measures.

    Every column of the table has a fixed width, so measuring its cells is wasted work, and a
    DataTable measures every new cell (for 10,000 rows that is most of the time it takes to show
    them, and again at each filter). Rich and Textual take a renderable without ``__rich_measure__``
    as fitting any width; the cell is drawn cropped (with an ellipsis) to its column's width.
    """

    __rich_measure__ = None  # type: ignore[assignment]


def _text(value: str, style: str = "", justify: str = "left") -> Text:
    return Text(value, style=style, justify=justify, no_wrap=True, overflow="ellipsis", end="")  # type: ignore[arg-type]


def _cell(value: str, style: str = "", justify: str = "left") -> Cell:
    return Cell(value, style=style, justify=justify, no_wrap=True, overflow="ellipsis", end="")  # type: ignore[arg-type]


class _Cells:
    """Makes the cells of rows, one object for equal cells (most cells repeat: "complete", "0",
    "-", the stars...) but for the first one, which stands for its row (see ``HistoryScreen.sort_by``)."""

    def __init__(self, styles: CellStyles, with_repo: bool) -> None:
        self.styles = styles
        self.with_repo = with_repo
        self.made: dict[tuple[str, str, str], Cell] = {}

    def shared(self, value: str, style: str = "", justify: str = "left") -> Cell:
        key = (value, style, justify)
        found = self.made.get(key)
        if found is None:
            found = self.made[key] = _cell(value, style, justify)
        return found

    def rating(self, rating: int | None) -> Cell:
        key = (str(rating), "rating", "")
        found = self.made.get(key)
        if found is None:
            if rating is None:
                found = _cell("-", "dim")
            else:
                r = max(0, min(5, rating))
                found = Cell.assemble(("★" * r, self.styles.star), ("☆" * (5 - r), "dim"), no_wrap=True, end="")
            self.made[key] = found
        return found

    def row(self, row: HistoryRow) -> tuple[Cell, ...]:
        styles, shared = self.styles, self.shared
        mark = styles.warning + " bold" if row.disagreement else ""
        status_style = {"complete": styles.success, "blocked": styles.error, "abandoned": "dim",
                        "active": styles.accent}.get(row.status, "")
        outcome = shared(OUTCOME_WORDS.get(row.outcome or "", row.outcome or "pending"),
                         mark or ("dim italic" if row.outcome is None else ""))
        git = "-" if row.ewr_git is None else f"{row.ewr_git:.0%} of {row.survival_added or 0:,}"
        cells = (
            _cell(f"{DISAGREE_GLYPH if row.disagreement else ' '} {row.label}", mark),
            _cell(" ".join(row.objective.split()) or "-"),
            shared(row.status, status_style),
            self.rating(row.rating),
            outcome,
            shared(git, mark, "right"),
            shared(str(row.interventions), "", "right"),
            shared(f"{row.accepted}/{row.discarded}" if row.tasks else "-", "", "right"),
            shared(total_cost_text(row.cost_usd, row.cost_complete), "", "right"),
        )
        return cells + (shared(short_repo(row.repo)),) if self.with_repo else cells


def row_cells(row: HistoryRow, styles: CellStyles, with_repo: bool = False) -> tuple[Text, ...]:
    """The table's cells of one session, in :data:`COLUMNS` order (then the repository's name)."""
    return _Cells(styles, with_repo).row(row)


def build_cells(rows: Iterable[HistoryRow], styles: CellStyles, with_repo: bool) -> dict[int, tuple[Text, ...]]:
    """The cells of every row, by session id."""
    maker = _Cells(styles, with_repo)
    return {r.id: maker.row(r) for r in rows}


def _is_date(text: str) -> bool:
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


class HistoryScreen(Screen[None]):
    CSS_PATH = "history.tcss"
    BINDINGS = HISTORY_BINDINGS

    class Loaded(Message):
        """The table holds the sessions (``rows`` of them) read from the store."""

        def __init__(self, rows: int) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, store: Store, repo: str | None, every_repo: bool = False) -> None:
        super().__init__()
        self.store = store
        self.repo = repo
        self.every_repo = every_repo or repo is None
        self.history: History | None = None
        self.cells: dict[int, tuple[Text, ...]] = {}
        self.sorted_rows: list[HistoryRow] = []  # every row, in the order of the sort
        self.shown: list[HistoryRow] = []  # what the table shows, in its order
        self.row_keys: dict[RowKey, HistoryRow] = {}
        self.flt = RowFilter()
        self.sort_key = "session"
        self.descending = True
        self.disagreement_only = False
        self.loaded = False
        self.error = ""
        self._filter_pending = False
        self._stale: set[str] = {"trends", "agents"}
        self._columns_with_repo: tuple[bool, int] | None = None  # what the columns were made for
        self._resize_timer: Timer | None = None

    # ----------------------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with TabbedContent(id="history-tabs", initial="sessions"):
            with TabPane("Sessions", id="sessions"):
                with Horizontal(id="history-filters"):
                    yield Input(placeholder="/ filter: objective, label or date", id="filter-text", compact=True)
                    yield Select(STATUS_OPTIONS, prompt="any status", id="filter-status", compact=True)
                    yield Select(OUTCOME_OPTIONS, prompt="any outcome", id="filter-outcome", compact=True)
                    yield Select(RATING_OPTIONS, prompt="any rating", id="filter-rating", compact=True)
                    yield Input(placeholder="from date", id="filter-from", compact=True, max_length=10,
                                validators=[Function(_is_date, "not a date (YYYY-MM-DD)")], valid_empty=True)
                    yield Input(placeholder="to date", id="filter-to", compact=True, max_length=10,
                                validators=[Function(_is_date, "not a date (YYYY-MM-DD)")], valid_empty=True)
                yield Static("reading the sessions…", id="history-totals")
                yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Trends", id="trends"):
                yield TrendCharts(id="trend-charts")
            with TabPane("Agents", id="agents"):
                yield Static(id="agents-intro")
                yield DataTable(id="agent-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def table(self) -> DataTable:
        return self.query_one("#history-table", DataTable)

    def on_mount(self) -> None:
        self.title = "Session Cockpit · history"
        self._set_scope_title()
        agents = self.query_one("#agent-table", DataTable)
        for i, label in enumerate(AGENT_HEADER):
            agents.add_column(Text(label, justify="left" if i == 0 else "right"), key=label)
        self.table.focus()
        self.table.loading = True
        self.load()

    def _set_scope_title(self) -> None:
        self.sub_title = "every repository" if self.every_repo else short_repo(self.repo or "")

    def _columns(self) -> tuple[Column, ...]:
        return COLUMNS + ((REPO_COLUMN,) if self.every_repo else ())

    def _objective_width(self, columns: tuple[Column, ...]) -> int:
        others = sum(self._width(c) + 2 for c in columns if c.width)  # 2: the cell padding
        available = (self.app.size.width or 120) - others - 2 - 1  # the objective's padding, the scrollbar
        return max(MIN_OBJECTIVE, available)

    @staticmethod
    def _width(column: Column) -> int:
        return max(column.width, len(column.label) + 2)  # room for the sort arrow

    def _make_columns(self) -> None:
        columns = self._columns()
        width = self._objective_width(columns)
        if self._columns_with_repo == (self.every_repo, width):
            return
        self._columns_with_repo = (self.every_repo, width)
        table = self.table
        table.clear(columns=True)
        for c in columns:
            table.add_column(Text(c.label, justify=c.justify), key=c.key,  # type: ignore[arg-type]
                             width=self._width(c) if c.width else width)
        self._label_headers()

    def _label_headers(self) -> None:
        for c in self._columns():
            column = self.table.columns.get(c.key)  # type: ignore[call-overload]
            if column is None:
                continue
            arrow = (" ▼" if self.descending else " ▲") if c.key == self.sort_key else ""
            column.label = Text(c.label + arrow, justify=c.justify, style="bold" if arrow else "")  # type: ignore[arg-type]

    def on_resize(self) -> None:
        """A new width: the objective's column takes what the others leave (once the resizing stops)."""
        if self.history is None:
            return
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.3, self._fit_width)

    def _fit_width(self) -> None:
        if self.history is None or self._columns_with_repo == (self.every_repo,
                                                                self._objective_width(self._columns())):
            return
        self._make_columns()  # the table is emptied: fill it again
        self._refill(force=True)

    # ------------------------------------------------------------------------------- data
    @work(exclusive=True, group="history-load")
    async def load(self) -> None:
        """Read the sessions (in a thread), make their cells (in a thread), fill the table."""
        repo = None if self.every_repo else self.repo
        styles = CellStyles.from_theme(self.app.theme_variables)
        with_repo = self.every_repo
        try:
            history = await read_history(self.store, repo)
            cells = await asyncio.to_thread(build_cells, history.rows, styles, with_repo)
        except Exception as exc:  # a locked or unreadable database: say so, keep the screen
            self.error = f"cannot read the sessions: {exc}"
            self.table.loading = False
            self.query_one("#history-totals", Static).update(Text(self.error, style="bold"))
            self.notify(self.error, severity="error", markup=False)
            return
        self.history = history
        self.cells = cells
        self.sorted_rows = self._sorted(history.rows)
        self._make_columns()
        self._refill(force=True)
        self.table.loading = False
        self.loaded = True
        self.call_after_refresh(self.post_message, self.Loaded(len(history.rows)))

    def _sorted(self, rows: list[HistoryRow]) -> list[HistoryRow]:
        if self.sort_key == "session" and self.descending:
            return list(rows)  # read newest first already
        column = next(c for c in self._columns() if c.key == self.sort_key)
        return sort_rows(rows, column.sort, self.descending)

    @property
    def current_row(self) -> HistoryRow | None:
        table = self.table
        if not table.row_count:
            return None
        row_key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        return self.row_keys.get(row_key)

    def _refill(self, force: bool = False) -> None:
        """Apply the filter: the table gets the rows it keeps, in the order of the sort."""
        self._filter_pending = False
        flt = self._read_filter()
        if flt == self.flt and not force:
            return
        self.flt = flt
        current = self._chosen_row()
        shown = flt.apply(self.sorted_rows)
        table = self.table
        table.clear()
        keys = table.add_rows(self.cells[r.id] for r in shown)
        self.shown = shown
        self.row_keys = dict(zip(keys, shown))
        self._restore_cursor(current)
        self._show_totals()
        self._stale = {"trends", "agents"}
        self._refresh_active_tab()

    def _chosen_row(self) -> HistoryRow | None:
        """The session the cursor was moved to (None while it stays on the first row: then the table
        shows its top after a new sort or filter, rather than following that first row)."""
        return self.current_row if self.table.cursor_row > 0 else None

    def _restore_cursor(self, row: HistoryRow | None) -> None:
        if row is None:
            return
        for index, shown in enumerate(self.shown):
            if shown.id == row.id:
                self.table.move_cursor(row=index, animate=False)
                return

    def _read_filter(self) -> RowFilter:
        text = self.query_one("#filter-text", Input).value.strip()
        status = self.query_one("#filter-status", Select).value
        outcome = self.query_one("#filter-outcome", Select).value
        rating = self.query_one("#filter-rating", Select).value
        low, high = rating if isinstance(rating, tuple) else (None, None)
        dates = []
        for name in ("#filter-from", "#filter-to"):
            value = self.query_one(name, Input).value.strip()
            dates.append(parse_date(value) if value and _is_date(value) else None)
        return RowFilter(
            text=text,
            statuses=frozenset({status}) if isinstance(status, str) else frozenset(),
            outcomes=frozenset({outcome}) if isinstance(outcome, str) else frozenset(),
            rating_min=low, rating_max=high, date_from=dates[0], date_to=dates[1],
            disagreement_only=self.disagreement_only,
        )

    def _show_totals(self) -> None:
        if self.history is None:
            return
        total = len(self.history.rows)
        if not total:
            where = "any repository" if self.every_repo else short_repo(self.repo or "")
            self.query_one("#history-totals", Static).update(Text(
                f"No sessions in {where} yet: `cockpit run PLAN` records one, `cockpit import FOLDER` brings "
                "summaries in."))
            return
        t = self.history.totals(self.shown)
        column = next(c for c in self._columns() if c.key == self.sort_key)
        parts: list[Any] = [
            (f"{len(self.shown):,}", "bold"), f" of {total:,} sessions · ",
            ("EWR(human) ", "bold"), f"{_pct(t.ewr_human.value)} over {t.ewr_human.count:,} · ",
            ("EWR(git) ", "bold"),
            "-" if t.ewr_git is None else f"{_pct(t.ewr_git)} of {t.survival_added:,} lines over {t.ewr_git_count:,}",
            f" · {DISAGREE_GLYPH} {t.disagreements:,} disagree",
            f" · sorted by {column.label} {'▼' if self.descending else '▲'}",
        ]
        if self.disagreement_only:
            parts.append((f" · only {DISAGREE_GLYPH}", "bold"))
        self.query_one("#history-totals", Static).update(Text.assemble(*parts))

    # -------------------------------------------------------------------------- filters
    @on(Input.Changed, "#history-filters Input")
    @on(Select.Changed, "#history-filters Select")
    def _filter_changed(self, event: Message) -> None:
        event.stop()
        if self.history is None or self._filter_pending:
            return
        # Coalesced: keys that arrive while the table refills are all applied by one refill.
        self._filter_pending = True
        self.call_later(self._refill)

    @on(Input.Submitted, "#history-filters Input")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_focus(self.table)

    # ----------------------------------------------------------------------------- sort
    def sort_by(self, key: str, descending: bool) -> None:
        """Sort by the table column ``key``: only the order of the rows the table holds changes."""
        if self.history is None:
            return
        self.sort_key, self.descending = key, descending
        self.sorted_rows = self._sorted(self.history.rows)
        self._label_headers()
        if self._filter_pending or self._read_filter() != self.flt:
            self._refill(force=True)
            return
        current = self._chosen_row()
        shown = self.flt.apply(self.sorted_rows)  # the rows of the table, in the new order
        position = {id(self.cells[r.id][0]): i for i, r in enumerate(shown)}
        self.table.sort("session", key=lambda cell: position[id(cell)])
        self.shown = shown
        self._restore_cursor(current)
        self._show_totals()

    @on(DataTable.HeaderSelected, "#history-table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = str(event.column_key.value)
        column = next((c for c in self._columns() if c.key == key), None)
        if column is None:
            return
        if key == self.sort_key:
            self.sort_by(key, not self.descending)
        else:
            self.sort_by(key, column.descending)

    def action_next_sort(self) -> None:
        keys = [c.key for c in self._columns()]
        column = self._columns()[(keys.index(self.sort_key) + 1) % len(keys)]
        self.sort_by(column.key, column.descending)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_key, not self.descending)

    # --------------------------------------------------------------------------- actions
    def action_focus_filter(self) -> None:
        self.action_show_tab("sessions")
        # At once (``focus()`` waits for the next turn): the keys typed right after go to the field.
        self.set_focus(self.query_one("#filter-text", Input))

    def action_toggle_disagreements(self) -> None:
        self.disagreement_only = not self.disagreement_only
        if self.history is not None:
            self._refill()

    def action_toggle_scope(self) -> None:
        if self.repo is None:
            self.notify("Not in a repository: every repository's sessions are shown", markup=False)
            return
        self.every_repo = not self.every_repo
        if self.sort_key not in {c.key for c in self._columns()}:  # sorted by the repository's column
            self.sort_key, self.descending = "session", True
        self._set_scope_title()
        self.history = None
        self.loaded = False
        self.table.loading = True
        self.load()

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#history-tabs", TabbedContent).active = tab
        target = {"sessions": "#history-table", "agents": "#agent-table"}.get(tab)
        if target:
            self.set_focus(self.query_one(target))

    @on(TabbedContent.TabActivated, "#history-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self._refresh_active_tab()

    def _refresh_active_tab(self) -> None:
        if self.history is None:
            return
        active = self.query_one("#history-tabs", TabbedContent).active
        if active not in self._stale:
            return
        self._stale.discard(active)
        if active == "trends":
            self.query_one(TrendCharts).show(self.history.trend(self.shown))
        elif active == "agents":
            self._fill_agents()

    def _fill_agents(self) -> None:
        assert self.history is not None
        agents = self.history.agents(self.shown)
        table = self.query_one("#agent-table", DataTable)
        table.clear()
        table.add_rows(
            tuple(_text(cell, "bold" if i == 0 else "", "left" if i == 0 else "right")
                  for i, cell in enumerate(agent_cells(a)))
            for a in agents
        )
        self.query_one("#agents-intro", Static).update(Text.assemble(
            ("Which agent's work sticks", "bold"),
            f" · over the {len(self.shown):,} sessions the filter keeps. Survival of accepted work: each measured "
            "session's surviving lines are shared among its accepted tasks by the lines each added; the cost per "
            "surviving line counts every task of the measured sessions, discarded ones too.",
        ))

    def action_open_session(self) -> None:
        row = self.current_row
        if row is not None:
            self.open_session(row)

    @on(DataTable.RowSelected, "#history-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.row_keys.get(event.row_key)
        if row is not None:
            self.open_session(row)

    def open_session(self, row: HistoryRow) -> None:
        from tui.screens.session_detail import SessionDetailScreen

        self.app.push_screen(SessionDetailScreen(self.store, row.id), callback=self._detail_closed)

    def _detail_closed(self, outcome: tuple[int, str] | None) -> None:
        """Back from a session: if it was assessed there, its row says so now."""
        if outcome is None or self.history is None:
            return
        session_id, value = outcome
        for index, row in enumerate(self.history.rows):
            if row.id == session_id:
                new = replace(row, outcome=value, disagreement=disagrees(value, row.ewr_git))
                self.history.rows[index] = new
                self.cells[session_id] = row_cells(new, CellStyles.from_theme(self.app.theme_variables),
                                                   self.every_repo)
                break
        else:
            return
        self.sorted_rows = self._sorted(self.history.rows)
        self._refill(force=True)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, help_rows

        active = {ab.binding.id: ab.binding for ab in self.active_bindings.values() if ab.binding.id}
        rows = help_rows(HISTORY_BINDINGS + APP_BINDINGS, active, self.app.get_key_display)
        self.app.push_screen(HelpScreen(rows, title="Keys of the history"))

    def action_back(self) -> None:
        focused = self.focused
        if isinstance(focused, (Input, Select)):
            self.set_focus(self.table)
            return
        self.dismiss(None)
