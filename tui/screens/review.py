"""The review screen: what a finished task changed, and the developer's decision on it.

Open it with ``app.push_screen(ReviewScreen(live, task_id), callback)``: the callback gets
``"accepted"``, ``"discarded"`` or ``None`` (went back without deciding). After a decision the
screen also posts :class:`ReviewScreen.Decided` to the app (``on_review_screen_decided``).

Accepting merges the task branch into the checkout's branch; a refusal (dirty checkout, conflict,
detached HEAD...) is shown as a notification and nothing changes. Discarding asks for an optional
reason first. The git work runs in a thread (``LiveSession.accept``/``discard``); the diff is read
in a thread as the screen opens.
"""
from __future__ import annotations

import asyncio

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Static

from engine.errors import CommandError
from engine.formatting import diff_size_text, plural, usd_short
from sessions.live_session import LiveSession
from sessions.git.diff import TaskDiff, task_diff
from tui.widgets.diff_view import DiffView

__all__ = ["DiscardDialog", "ReviewScreen"]


class ReviewScreen(Screen[str | None]):
    """The diff of one ended task, file by file, with accept (merge) and discard."""

    CSS_PATH = "review.tcss"
    BINDINGS = [
        Binding("a", "accept", "Accept", id="review.accept",
                tooltip="Merge the task's branch into the branch your checkout is on"),
        Binding("d", "discard", "Discard", id="review.discard",
                tooltip="Delete the task's worktree and branch (asks for a reason first)"),
        Binding("n", "next_file", "Next file", id="review.next_file", tooltip="Show the diff of the next file"),
        Binding("p", "previous_file", "Prev file", id="review.previous_file",
                tooltip="Show the diff of the previous file"),
        Binding("escape", "back", "Back", id="review.back", tooltip="Back to the cockpit without deciding"),
    ]

    class Decided(Message):
        """The developer accepted or discarded a task's work (posted to the app as the screen closes)."""

        def __init__(self, task_id: str, decision: str, detail: str) -> None:
            super().__init__()
            self.task_id = task_id
            self.decision = decision  # "accepted" | "discarded"
            self.detail = detail  # what was done, one line

    def __init__(self, live: LiveSession, task_id: str, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.live = live
        self.task_id = task_id
        self.diff: TaskDiff | None = None
        self.loaded = False  # the diff (or the reason there is none) is on screen
        self.busy = False  # a decision is being carried out
        self.last_refusal = ""  # the last reason an accept or discard was refused

    # ----------------------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Vertical(id="review-header"):
            yield Static(id="review-title")
            yield Static(id="review-facts")
            yield Static(id="review-numstat")
            yield Static(id="review-message")
        with Horizontal(id="review-body"):
            yield DataTable(id="review-files", cursor_type="row", zebra_stripes=False)
            yield DiffView(id="review-diff")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#review-files", DataTable)
        table.add_column("File", key="path")
        table.add_column("Change", key="change")
        table.add_column("+/\u2212", key="lines")
        self._show_header()
        self.query_one(DiffView).show_message("loading the diff\u2026")
        table.focus()
        self._load()

    def _show_header(self, decision: str | None = None) -> None:
        run = self.live.engine.tasks.get(self.task_id)
        title = run.spec.title if run is not None and run.spec.title else self.task_id
        self.query_one("#review-title", Static).update(
            Content.from_markup("Review task [b]$task[/b] \u00b7 $title", task=self.task_id, title=title)
        )
        if run is None:
            self.query_one("#review-facts", Static).update(Content(f"no task {self.task_id!r} in this run"))
            return
        usage = run.usage()
        tokens = usage.total
        facts = [
            str(run.state), f"agent {run.profile or run.spec.agent}", plural(run.attempts, "attempt"),
            f"{tokens:,} tokens · {usd_short(usage.cost_usd, 'cost unknown')}" if tokens or usage.cost_usd is not None
            else "no usage reported",
        ]
        if decision:
            facts.append(f"already {decision}")
        self.query_one("#review-facts", Static).update(Content(" \u00b7 ".join(facts)))
        result = run.last_result
        if result is not None:
            self._show_numstat(result.added, result.removed, len(result.files))
            message = " ".join(result.final_message.split())
            self.query_one("#review-message", Static).update(
                Content.from_markup("[b]Final message:[/b] $message", message=message) if message
                else Content("No final message.")
            )

    def _show_numstat(self, added: int, removed: int, files: int) -> None:
        plus, minus, rest = diff_size_text(added, removed, files).split(" ", 2)
        self.query_one("#review-numstat", Static).update(Content.assemble(
            (plus, "$text-success"), " ", (minus, "$text-error"), " ", rest,
        ))

    # ------------------------------------------------------------------------------ data
    @work(exclusive=True, group="review-load")
    async def _load(self) -> None:
        view = self.query_one(DiffView)
        run = self.live.engine.tasks.get(self.task_id)
        result = run.last_result if run is not None else None
        if run is None or not run.state.terminal or result is None:
            state = run.state if run is not None else "unknown"
            view.show_message(f"task {self.task_id} is {state}: there is nothing to review yet")
            self.loaded = True
            return
        if not result.branch:
            view.show_message("the task ran without a worktree: there is no branch to review")
            self.loaded = True
            return
        decision = await self._decision()
        if decision:
            self._show_header(decision)
        try:
            diff = await asyncio.to_thread(task_diff, self.live.repo, result.start_commit, result.head_commit)
        except CommandError as exc:
            view.show_message(str(exc))
            self.loaded = True
            return
        self.diff = diff
        self._show_numstat(diff.added, diff.removed, len(diff.files))
        self._fill_files(diff)
        if not diff.files:
            view.show_message("the task changed no files")
        self.loaded = True

    async def _decision(self) -> str | None:
        try:
            rows = [t for t in await self.live.store.tasks(self.live.row.id) if t.key == self.task_id]
        except Exception:  # the header can do without it; accept/discard check again
            return None
        return rows[-1].decision if rows else None

    def _fill_files(self, diff: TaskDiff) -> None:
        table = self.query_one("#review-files", DataTable)
        success = self.app.theme_variables.get("text-success", "green")
        error = self.app.theme_variables.get("text-error", "red")
        rows = []
        for f in diff.files:
            path = Text(f"{f.old_path} \u2192 {f.path}" if f.old_path else f.path)
            if f.binary:
                lines = Text("binary")
            else:
                lines = Text.assemble((f"+{f.added}", success), " ", (f"\u2212{f.removed}", error))
            rows.append((path, Text(f.change), lines))
        # Widths fixed from the content: a table sized later (when idle) would first draw narrow columns.
        table.clear(columns=True)
        for key, label, column in (("path", "File", 0), ("change", "Change", 1), ("lines", "+/\u2212", 2)):
            width = max([cell_len(label)] + [row[column].cell_len for row in rows])
            table.add_column(label, key=key, width=width)
        for index, row in enumerate(rows):
            table.add_row(*row, key=str(index))
        if diff.files:
            table.move_cursor(row=0)
            self._show_file(0)

    def _show_file(self, index: int) -> None:
        if self.diff is None or not 0 <= index < len(self.diff.files):
            return
        f = self.diff.files[index]
        view = self.query_one(DiffView)
        if f.binary:
            view.show_message("binary file", f.path)
        else:
            view.show_diff(f.path, f.diff)

    @on(DataTable.RowHighlighted, "#review-files")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show_file(int(event.row_key.value))

    # --------------------------------------------------------------------------- actions
    def action_next_file(self) -> None:
        self._step(1)

    def action_previous_file(self) -> None:
        self._step(-1)

    def _step(self, delta: int) -> None:
        table = self.query_one("#review-files", DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)))

    def action_back(self) -> None:
        if not self.busy:
            self.dismiss(None)

    def action_accept(self) -> None:
        if not self.busy:
            self.busy = True
            self._accept()

    def action_discard(self) -> None:
        if self.busy:
            return
        run = self.live.engine.tasks.get(self.task_id)
        branch = run.last_result.branch if run is not None and run.last_result is not None else ""
        self.app.push_screen(DiscardDialog(self.task_id, branch), callback=self._discard_answer)

    def _discard_answer(self, reason: str | None) -> None:
        if reason is not None and not self.busy:
            self.busy = True
            self._discard(reason)

    @work(exclusive=True, group="review-decision")
    async def _accept(self) -> None:
        try:
            result = await self.live.accept(self.task_id)
        except Exception as exc:  # CommandError/ReviewError: a refusal; anything else: say it, no traceback
            self._refused("Not accepted", exc)
            return
        finally:
            self.busy = False
        self._decided("accepted", result.describe())

    @work(exclusive=True, group="review-decision")
    async def _discard(self, reason: str) -> None:
        try:
            await self.live.discard(self.task_id, reason)
        except Exception as exc:
            self._refused("Not discarded", exc)
            return
        finally:
            self.busy = False
        self._decided("discarded", "worktree and branch deleted" + (f" ({reason.strip()})" if reason.strip() else ""))

    def _refused(self, title: str, exc: Exception) -> None:
        text = str(exc) if isinstance(exc, CommandError) else f"{type(exc).__name__}: {exc}"
        self.last_refusal = " ".join(text.split())
        self.notify(self.last_refusal, title=title, severity="error", markup=False, timeout=10)

    def _decided(self, decision: str, detail: str) -> None:
        self.app.notify(f"Task {self.task_id} {decision}: {detail}", title=decision.capitalize(), markup=False)
        self.app.post_message(self.Decided(self.task_id, decision, detail))
        self.dismiss(decision)


class DiscardDialog(ModalScreen[str | None]):
    """Asks before a task's work is deleted; dismisses with the reason ("" for none) or None."""

    CSS_PATH = "review.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="review.discard_cancel", tooltip="Keep the task's work"),
    ]

    def __init__(self, task_id: str, branch: str) -> None:
        super().__init__()
        self.task_id = task_id
        self.branch = branch

    def compose(self) -> ComposeResult:
        with Vertical(id="discard-dialog"):
            yield Label(Content.from_markup("Discard the work of task [b]$task[/b]?", task=self.task_id),
                        id="discard-title")
            where = f"its worktree and branch {self.branch}" if self.branch else "its worktree and branch"
            yield Static(Content(f"This deletes {where}. Work that no other branch holds is lost."),
                         id="discard-explain")
            yield Input(placeholder="Why? (optional, kept with the session)", id="discard-reason")
            with Horizontal(id="discard-buttons"):
                yield Button("Discard", variant="error", id="discard-confirm")
                yield Button("Keep", id="discard-cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#discard-reason")
    @on(Button.Pressed, "#discard-confirm")
    def _confirm(self) -> None:
        self.dismiss(self.query_one(Input).value.strip())

    @on(Button.Pressed, "#discard-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
