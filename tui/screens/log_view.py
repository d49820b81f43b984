"""A task's whole log, read from the database page by page, with search over all of it.

The pane in the cockpit holds only the tail of a task's output; this screen reads the lines the
store kept (:meth:`Store.log_lines`), ``PAGE_SIZE`` at a time, and searches every line with
:meth:`Store.search_log`. Jumping to a hit outside the page on screen loads the page that starts
at the hit; ``[`` goes back to the page seen before.
"""
from __future__ import annotations

from rich.text import Text

from engine.terminal_text import plain
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label

from sessions.store.store import Store
from sessions.store.rows import LogLine
from tui.bindings import LOG_VIEW_BINDINGS
from tui.display import clock_time

PAGE_SIZE = 2000
HIT_LIMIT = 1000
HIT_STYLE = "bold reverse"


class LogViewScreen(Screen[None]):
    CSS_PATH = "log_view.tcss"
    BINDINGS = LOG_VIEW_BINDINGS

    def __init__(self, store: Store, session_id: int, run_id: str, task_key: str,
                 page_size: int = PAGE_SIZE) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self.run_id = run_id
        self.task_key = task_key
        self.page_size = page_size
        self.task_row_id: int | None = None
        self.page: list[LogLine] = []
        self._starts: list[int] = []  # after_id of each page seen, the current one last
        self.hits: list[LogLine] = []
        self.hit_index = -1
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Label(f"Log of task [b]{escape(self.task_key)}[/b]", id="log-title")
        with Horizontal(id="search-bar"):
            yield Input(placeholder="search the whole log, Enter to find", id="search")
            yield Label("", id="hits")
        yield DataTable(id="lines", cursor_type="row", zebra_stripes=False)
        yield Label("", id="page-status")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#lines", DataTable)
        table.add_column("time", key="time")
        table.add_column("#", key="attempt")
        table.add_column("stream", key="stream")
        table.add_column("line", key="text")
        for row in await self.store.tasks(self.session_id):
            if row.key == self.task_key and (row.run_id == self.run_id or self.task_row_id is None):
                self.task_row_id = row.id
        if self.task_row_id is None:
            self.query_one("#page-status", Label).update("this task has no lines in the database yet")
            return
        await self.show_page(0)
        table.focus()

    # ------------------------------------------------------------------ pages
    async def show_page(self, after_id: int, remember: bool = True) -> bool:
        """Show the page of lines after ``after_id``; False (nothing changed) when there are none."""
        assert self.task_row_id is not None
        rows = await self.store.log_lines(self.task_row_id, after_id, self.page_size)
        if not rows and self._starts:
            return False
        if remember:
            self._starts.append(after_id)
        self.page = rows
        table = self.query_one("#lines", DataTable)
        table.clear()
        table.add_rows(
            [(clock_time(r.at), str(r.attempt), r.stream, self._line_text(r.text)) for r in rows]
        )
        self._update_status()
        return True

    def _line_text(self, line: str) -> Text:
        """A line, with what the search found in it highlighted (the store matches ASCII letters
        in any case, and so does the highlight)."""
        text = Text(plain(line))
        if self.query_text:
            text.highlight_words([self.query_text], style=HIT_STYLE, case_sensitive=False)
        return text

    def _update_status(self) -> None:
        page = len(self._starts)
        if not self.page:
            text = "no lines yet"
        else:
            more = " · ] next page" if len(self.page) == self.page_size else " · end of the log so far (] reloads)"
            text = f"page {page} · {len(self.page)} lines{more}" + (" · [ previous page" if page > 1 else "")
        self.query_one("#page-status", Label).update(text)

    @work(exclusive=True, group="log-page")
    async def action_next_page(self) -> None:
        if self.task_row_id is None:
            return
        after = self.page[-1].id if self.page else (self._starts[-1] if self._starts else 0)
        if not await self.show_page(after):
            self.notify("No more lines (yet)", timeout=2, markup=False)

    @work(exclusive=True, group="log-page")
    async def action_previous_page(self) -> None:
        if len(self._starts) <= 1:
            self.notify("This is the first page seen", timeout=2, markup=False)
            return
        self._starts.pop()
        await self.show_page(self._starts[-1], remember=False)

    @work(exclusive=True, group="log-page")
    async def action_first_page(self) -> None:
        if self.task_row_id is None:
            return
        self._starts = []
        await self.show_page(0)

    # ----------------------------------------------------------------- search
    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.search(event.value)

    async def search(self, text: str) -> int:
        """Find ``text`` in the whole log and jump to the first hit; the number of hits."""
        changed = text != self.query_text
        self.query_text = text
        if changed and self.page and self._starts:  # the page on show, its highlights redone
            await self.show_page(self._starts[-1], remember=False)
        if self.task_row_id is None or not text:
            self.hits, self.hit_index = [], -1
            self.query_one("#hits", Label).update("")
            return 0
        self.hits = await self.store.search_log(self.task_row_id, text, HIT_LIMIT)
        self.hit_index = -1
        if not self.hits:
            self.query_one("#hits", Label).update("no line matches")
            return 0
        await self.jump(0)
        self.query_one("#lines", DataTable).focus()
        return len(self.hits)

    async def jump(self, index: int) -> None:
        hit = self.hits[index]
        self.hit_index = index
        table = self.query_one("#lines", DataTable)
        if not any(line.id == hit.id for line in self.page):
            await self.show_page(hit.id - 1)
        row = next(i for i, line in enumerate(self.page) if line.id == hit.id)
        table.move_cursor(row=row, scroll=True)
        more = f" (first {HIT_LIMIT})" if len(self.hits) >= HIT_LIMIT else ""
        self.query_one("#hits", Label).update(f"hit {index + 1} of {len(self.hits)}{more}")

    @property
    def cursor_line(self) -> LogLine | None:
        table = self.query_one("#lines", DataTable)
        if not self.page or table.cursor_row < 0 or table.cursor_row >= len(self.page):
            return None
        return self.page[table.cursor_row]

    async def action_next_hit(self) -> None:
        if self.hits:
            await self.jump((self.hit_index + 1) % len(self.hits))

    async def action_previous_hit(self) -> None:
        if self.hits:
            await self.jump((self.hit_index - 1) % len(self.hits))

    def action_close(self) -> None:
        self.dismiss(None)
