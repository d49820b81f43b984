"""The review screen: what accepting a finished task would bring into the developer's branch, and the
developer's decision on it.

Open it with ``app.push_screen(ReviewScreen(decisions, task_id), callback)`` (a running session's
``live.decisions``, or an ended one's :class:`~sessions.decisions.Decisions`): the callback gets
``"accepted"``, ``"discarded"`` or ``None`` (went back without deciding). After a decision the
screen also posts :class:`ReviewScreen.Decided` to the app (``on_review_screen_decided``), naming
every task the decision recorded.

The file list is the change accepting would make to the checkout's branch (a merge of the task's
branch), each file marked by the task it comes from: "this task", or "from docs, discarded" for a
dependency's work the branch does not hold. When such work is there, accepting asks first
(:class:`~tui.screens.accept_question.AcceptQuestion`): only the task's own commits, or with its
dependencies (a discarded one only when ticked by name). A refusal (dirty checkout, conflict,
detached HEAD...) is shown as a notification and nothing changes. Discarding asks for an optional
reason first. The git work and the diff run in threads.
"""
from __future__ import annotations

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
from engine.formatting import diff_size_text, plural, resume_text, tokens_text, usd_short
from sessions.decisions import Decisions, TaskFacts, status_word
from sessions.git.diff import FileDiff
from sessions.git.incoming import Incoming
from tui.screens.accept_question import AcceptChoice, AcceptQuestion
from tui.widgets.diff_view import DiffView

__all__ = ["DiscardDialog", "ReviewScreen"]


class ReviewScreen(Screen[str | None]):
    """The diff of one ended task, file by file, with accept (merge) and discard."""

    CSS_PATH = "review.tcss"
    BINDINGS = [
        Binding("a", "accept", "Accept", id="review.accept",
                tooltip="Bring the task's work into the branch your checkout is on (asks when it holds "
                        "work of dependencies you have not accepted)"),
        Binding("d", "discard", "Discard", id="review.discard",
                tooltip="Delete the task's worktree and branch (asks for a reason first)"),
        Binding("n", "next_file", "Next file", id="review.next_file", tooltip="Show the diff of the next file"),
        Binding("p", "previous_file", "Prev file", id="review.previous_file",
                tooltip="Show the diff of the previous file"),
        Binding("escape", "back", "Back", id="review.back", tooltip="Back to the cockpit without deciding"),
    ]

    class Decided(Message):
        """The developer accepted or discarded a task's work (posted to the app as the screen closes)."""

        def __init__(self, task_id: str, decision: str, detail: str, tasks: tuple[str, ...] = ()) -> None:
            super().__init__()
            self.task_id = task_id
            self.decision = decision  # "accepted" | "discarded"
            self.detail = detail  # what was done, one line
            self.tasks = tasks or (task_id,)  # every task recorded with that decision (dependencies too)

    def __init__(self, decisions: Decisions, task_id: str, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.decisions = decisions
        self.task_id = task_id
        self.facts: TaskFacts | None = None
        self.tasks: dict[str, TaskFacts] = {}
        self.incoming: Incoming | None = None
        self.pending: list[TaskFacts] = []  # dependencies whose work the branch does not hold
        self.loaded = False  # the diff (or the reason there is none) is on screen
        self.busy = False  # a decision is being carried out
        self.last_refusal = ""  # the last reason an accept or discard was refused

    # ----------------------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Vertical(id="review-header"):
            yield Static(id="review-title")
            yield Static(id="review-facts")
            yield Static(id="review-numstat")
            yield Static(id="review-conflicts")
            yield Static(id="review-message")
            yield Static(id="review-session")
        with Horizontal(id="review-body"):
            yield DataTable(id="review-files", cursor_type="row", zebra_stripes=False)
            yield DiffView(id="review-diff")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#review-files", DataTable)
        table.add_column("File", key="path")
        table.add_column("From", key="source")
        table.add_column("Change", key="change")
        table.add_column("+/\u2212", key="lines")
        self.query_one("#review-title", Static).update(
            Content.from_markup("Review task [b]$task[/b]", task=self.task_id))
        self.query_one(DiffView).show_message("loading the diff\u2026")
        table.focus()
        self._load()

    def _show_header(self, task: TaskFacts) -> None:
        self.query_one("#review-title", Static).update(
            Content.from_markup("Review task [b]$task[/b] \u00b7 $title", task=self.task_id, title=task.title or self.task_id)
        )
        facts = [
            task.state, f"agent {task.agent or '?'}", plural(task.attempts, "attempt"),
            f"{tokens_text(task.tokens, task.tokens_known, task.tokens_approximate)} tokens · "
            f"{usd_short(task.cost_usd, 'cost unknown')}"
            if task.tokens or task.cost_usd is not None or not task.tokens_known else "no usage reported",
        ]
        if task.decision:
            facts.append(f"already {task.decision}")
        self.query_one("#review-facts", Static).update(Content(" \u00b7 ".join(facts)))
        message = " ".join(task.final_message.split())
        self.query_one("#review-message", Static).update(
            Content.from_markup("[b]Final message:[/b] $message", message=message) if message
            else Content("No final message.")
        )
        session = self.query_one("#review-session", Static)
        session.display = bool(task.resume_command)
        if task.resume_command:  # plain text: the id was checked, the path is the cockpit's own
            session.update(Content.assemble(("Continue by hand: ", "bold"),
                                            resume_text(task.resume_command, task.worktree)))

    def source_text(self, key: str) -> str:
        """"this task", or "from docs, discarded" for a dependency's work."""
        if key == self.task_id:
            return "this task"
        dep = self.tasks.get(key)
        return f"from {key}, {status_word(dep)}" if dep is not None else f"from {key}"

    def _show_numstat(self, incoming: Incoming) -> None:
        plus, minus, rest = diff_size_text(incoming.added, incoming.removed, len(incoming.files)).split(" ", 2)
        parts: list[str | tuple[str, str]] = ["Accepting brings ", (plus, "$text-success"), " ", (minus, "$text-error"),
                                              " ", rest]
        sources = incoming.sources()  # in the dependencies' order, as the accept question lists them
        others = [d.key for d in self.pending if d.key in sources]
        others += [k for k in sources if k != self.task_id and k not in others]
        if others:
            counts = [f"{plural(len(incoming.of(k)), 'file')} {self.source_text(k)}" for k in others]
            parts.append(": ")
            parts.append((f"{plural(len(incoming.of(self.task_id)), 'file')} of this task; " + "; ".join(counts),
                          "$text-warning"))
        elif incoming.files:
            parts.append(", all of this task")
        self.query_one("#review-numstat", Static).update(Content.assemble(*parts))
        conflicts = self.query_one("#review-conflicts", Static)
        conflicts.display = bool(incoming.conflicts)
        if incoming.conflicts:
            conflicts.update(Content.assemble(
                ("A merge would conflict in " + ", ".join(incoming.conflicts), "$text-error")))

    # ------------------------------------------------------------------------------ data
    @work(exclusive=True, group="review-load")
    async def _load(self) -> None:
        view = self.query_one(DiffView)
        try:
            self.tasks = await self.decisions.tasks()
        except Exception as exc:  # the store could not be read: say it, no traceback
            view.show_message(f"could not read the task: {exc}")
            self.loaded = True
            return
        task = self.facts = self.tasks.get(self.task_id)
        if task is None:
            self.query_one("#review-facts", Static).update(Content(f"no task {self.task_id!r} in this session"))
            view.show_message(f"no task {self.task_id!r} in this session")
            self.loaded = True
            return
        self._show_header(task)
        if task.state in ("pending", "ready", "running", "paused"):
            view.show_message(f"task {self.task_id} is {task.state}: there is nothing to review yet")
            self.loaded = True
            return
        if not task.branch or not task.head_commit:
            view.show_message("the task ran without a worktree: there is no branch to review")
            self.loaded = True
            return
        try:
            self.pending = await self.decisions.pending(self.task_id)
            incoming = await self.decisions.incoming(self.task_id)
        except CommandError as exc:
            view.show_message(str(exc))
            self.loaded = True
            return
        self.incoming = incoming
        self._show_numstat(incoming)
        self._fill_files(incoming)
        if not incoming.files:
            view.show_message("the task changed no files" if task.start_commit == task.head_commit
                              else "accepting brings nothing: your branch holds all of this work")
        self.loaded = True

    def _fill_files(self, incoming: Incoming) -> None:
        table = self.query_one("#review-files", DataTable)
        success = self.app.theme_variables.get("text-success", "green")
        error = self.app.theme_variables.get("text-error", "red")
        warning = self.app.theme_variables.get("text-warning", "yellow")
        rows = []
        for item in incoming.files:
            f = item.file
            path = Text(f"{f.old_path} \u2192 {f.path}" if f.old_path else f.path)
            if f.binary:
                lines = Text("binary")
            else:
                lines = Text.assemble((f"+{f.added}", success), " ", (f"\u2212{f.removed}", error))
            source = Text("; ".join(self.source_text(k) for k in item.sources),
                          style="" if item.sources == (self.task_id,) else warning)
            rows.append((path, source, Text(f.change), lines))
        # Widths fixed from the content: a table sized later (when idle) would first draw narrow columns.
        table.clear(columns=True)
        # "From" second: on a narrow screen it is what must stay in sight
        for key, label, column in (("path", "File", 0), ("source", "From", 1), ("change", "Change", 2),
                                   ("lines", "+/\u2212", 3)):
            width = max([cell_len(label)] + [row[column].cell_len for row in rows])
            table.add_column(label, key=key, width=width)
        for index, row in enumerate(rows):
            table.add_row(*row, key=str(index))
        if incoming.files:
            table.move_cursor(row=0)
            self._show_file(0)

    def _show_file(self, index: int) -> None:
        if self.incoming is None or not 0 <= index < len(self.incoming.files):
            return
        f: FileDiff = self.incoming.files[index].file
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
        if self.busy or not self.loaded:
            return
        if self.pending and self.facts is not None and not self.facts.decision:
            question = AcceptQuestion(self.task_id, self.pending, self.incoming, self.source_text)
            self.app.push_screen(question, callback=self._accept_answer)
            return
        self.busy = True
        self._accept(AcceptChoice("merge"))

    def _accept_answer(self, choice: AcceptChoice | None) -> None:
        if choice is not None and not self.busy:
            self.busy = True
            self._accept(choice)

    def action_discard(self) -> None:
        if self.busy:
            return
        branch = self.facts.branch if self.facts is not None else ""
        self.app.push_screen(DiscardDialog(self.task_id, branch), callback=self._discard_answer)

    def _discard_answer(self, reason: str | None) -> None:
        if reason is not None and not self.busy:
            self.busy = True
            self._discard(reason)

    @work(exclusive=True, group="review-decision")
    async def _accept(self, choice: AcceptChoice) -> None:
        try:
            result = await self.decisions.accept(self.task_id, choice.mode, choice.include)
        except Exception as exc:  # CommandError/ReviewError: a refusal; anything else: say it, no traceback
            self._refused("Not accepted", exc)
            return
        finally:
            self.busy = False
        self._decided("accepted", result.describe(), result.tasks)

    @work(exclusive=True, group="review-decision")
    async def _discard(self, reason: str) -> None:
        try:
            await self.decisions.discard(self.task_id, reason)
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

    def _decided(self, decision: str, detail: str, tasks: tuple[str, ...] = ()) -> None:
        self.app.notify(f"Task {self.task_id} {decision}: {detail}", title=decision.capitalize(), markup=False)
        self.app.post_message(self.Decided(self.task_id, decision, detail, tasks))
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
