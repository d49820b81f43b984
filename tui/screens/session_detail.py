"""One past session: its summary (Markdown), its tasks and decisions, its interventions, its
survival curve; assess it from here while its outcome is unknown, or edit its summary.

Open it with ``app.push_screen(SessionDetailScreen(store, session_id), callback)``: the callback
gets ``(session_id, outcome)`` when the session was assessed here, else None. Everything is read
from the store in a worker as the screen opens (the summary as :func:`session_summary` gives it:
the saved one, or the draft, or one built from the record); ``loaded`` is True once it is all on
screen.

Assessing takes the start screen's keys (f fully used, p partially, u not used, t too early, n n/a)
and is offered while the session is pending: never assessed, or "too early" last time. A session
still running is not assessed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Markdown, Static

from engine.formatting import plural, resume_text, tokens_sum_text, usd_short
from sessions.reports.assessment import OUTCOME_LABELS
from sessions.reports.history import disagrees
from sessions.store.store import Store
from sessions.store.rows import Intervention, SessionRow, TaskRow
from sessions.summary.builder import session_summary, usage_totals
from sessions.summary.export import NORTH_STAR, export_markdown
from sessions.survival.results import DEFAULT_HORIZONS, SurvivalResult, horizon_label, work_lines
from tui.bindings import APP_BINDINGS, DETAIL_BINDINGS

__all__ = ["SessionDetailScreen", "SurvivalBar", "survival_bars"]

BAR_WIDTH = 20
RULE = "\n\n---\n\n"  # between the sections of an exported summary
SOURCE_WORDS = {"saved": "saved", "draft": "a draft, not saved yet",
                "built": "built from the record: no summary was saved"}


CHECKLIST_HEADING = "## Completeness Checklist"


def on_screen(markdown: str) -> str:
    """The summary as the screen shows it: what happened first. The format's North Star paragraph is
    the same in every summary (left out), and its checklist, a list of the sections to fill, comes
    last rather than before the sections themselves."""
    sections = markdown.replace(NORTH_STAR + RULE, "", 1).rstrip("\n").split(RULE)
    checklist = [s for s in sections if s.startswith(CHECKLIST_HEADING)]
    rest = [s for s in sections if not s.startswith(CHECKLIST_HEADING)]
    return RULE.join(rest + checklist) + "\n"


@dataclass(frozen=True)
class SurvivalBar:
    label: str  # "1d", "7d", "30d", "now"
    ratio: float | None
    detail: str  # "8 of 10 lines", "due 2026-03-12", "not measured"


def survival_bars(result: SurvivalResult | None, horizons: tuple[float, ...] = DEFAULT_HORIZONS) -> list[SurvivalBar]:
    """The survival curve: one bar per horizon after the session's end, and the newest figure."""
    if result is None:
        return [SurvivalBar(horizon_label(d), None, "not measured") for d in horizons] + [
            SurvivalBar("now", None, "not yet: cockpit stuck")]
    bars = []
    labels = list(dict.fromkeys([*(horizon_label(d) for d in horizons), *result.horizon_points]))
    for label in labels:
        point = result.horizon_points.get(label)
        if point is None:
            bars.append(SurvivalBar(label, result.horizons.get(label), "not measured"))
        elif not point.reached:
            due = time.strftime("%Y-%m-%d", time.localtime(point.due))
            bars.append(SurvivalBar(label, None, f"due {due}"))
        elif point.ratio is None:
            bars.append(SurvivalBar(label, None, point.reason or "no figure"))
        else:
            kept = "" if point.surviving is None else f"{point.surviving:,} of {result.added:,} lines"
            bars.append(SurvivalBar(label, point.ratio, kept + (" · reverted" if point.reverted else "")))
    if result.ratio is None:
        now = SurvivalBar("now", None, result.reason or "no figure")
    else:
        now = SurvivalBar("now", result.ratio, f"{result.surviving:,} of {result.added:,} lines"
                          + (" · reverted" if result.reverted else ""))
    return bars + [now]


def newest_survival(rows: list[tuple[str, float, str]]) -> SurvivalResult | None:
    """The newest result that can be read, of ``store.survival_rows`` (newest first)."""
    for _head, _at, data in rows:
        try:
            return SurvivalResult.from_json(data)
        except (ValueError, TypeError, KeyError):
            continue  # written by another version of the measure
    return None


def _clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


class SessionDetailScreen(Screen[tuple[int, str] | None]):
    CSS_PATH = "session_detail.tcss"
    BINDINGS = DETAIL_BINDINGS

    def __init__(self, store: Store, session_id: int) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self.row: SessionRow | None = None
        self.markdown = ""
        self.tasks: list[TaskRow] = []
        self.interventions: list[Intervention] = []
        self.survival: SurvivalResult | None = None
        self.outcome: str | None = None
        self.assessed: str | None = None  # the outcome given here
        self.loaded = False
        self.busy = False

    # ----------------------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static(id="detail-facts")
        with Horizontal(id="detail-body"):
            with VerticalScroll(id="detail-summary"):
                yield Markdown(id="detail-markdown", open_links=False)
            with Vertical(id="detail-side"):
                yield Static(id="detail-outcome")
                yield Static(id="detail-survival")
                yield DataTable(id="detail-tasks", cursor_type="row", zebra_stripes=True)
                yield Static(id="detail-resume")
                yield DataTable(id="detail-interventions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Session Cockpit · session"
        for name, border in (("#detail-summary", "Summary"), ("#detail-survival", "Survival of its lines"),
                             ("#detail-tasks", "Tasks"), ("#detail-interventions", "Interventions"),
                             ("#detail-outcome", "Outcome"), ("#detail-resume", "Continue by hand")):
            self.query_one(name).border_title = border
        tasks = self.query_one("#detail-tasks", DataTable)
        for label, key, justify in (("task", "task", "left"), ("agent", "agent", "left"), ("state", "state", "left"),
                                    ("+lines", "added", "right"), ("decision", "decision", "left"),
                                    ("cost", "cost", "right")):
            tasks.add_column(Text(label, justify=justify), key=key)  # type: ignore[arg-type]
        interventions = self.query_one("#detail-interventions", DataTable)
        for label, key in (("at", "at"), ("task", "task"), ("type", "type"), ("what", "text")):
            interventions.add_column(label, key=key)
        self.query_one("#detail-facts", Static).update("reading the session…")
        self.load()

    # ------------------------------------------------------------------------------- data
    @work(exclusive=True, group="detail-load")
    async def load(self) -> None:
        store = self.store
        row = await store.get_session(self.session_id)
        if row is None:
            self.query_one("#detail-facts", Static).update(Text(f"no session {self.session_id}", style="bold"))
            return
        summary, source = await session_summary(store, row)
        self.tasks = await store.tasks(row.id)
        self.interventions = await store.interventions(row.id)
        self.survival = newest_survival(await store.survival_rows(row.id))
        self.row = row
        self.outcome = row.outcome
        self.markdown = export_markdown(summary)
        self.sub_title = f"{row.label} · {row.objective}" if row.objective else row.label
        self.query_one("#detail-summary").border_title = f"Summary ({SOURCE_WORDS.get(source, source)})"
        self._show_facts()
        self._show_outcome()
        self._show_survival()
        self._fill_tasks()
        self._fill_interventions()
        await self.query_one("#detail-markdown", Markdown).update(on_screen(self.markdown))
        self.loaded = True
        self.refresh_bindings()

    def _show_facts(self) -> None:
        row = self.row
        assert row is not None
        usage = usage_totals(self.tasks)
        cost = usage.cost_usd
        parts: list[str | tuple[str, str]] = [(row.label, "bold"), f" · {row.status}"]
        if row.rating is not None:
            parts.append(f" · rated {row.rating}/5")
        decided = [t.decision for t in self.tasks]
        parts.append(f" · {len(self.tasks)} tasks ({decided.count('accepted')} accepted, "
                     f"{decided.count('discarded')} discarded)" if self.tasks else " · no tasks recorded")
        n = len(self.interventions)
        parts.append(f" · {plural(n, 'intervention')}")
        if self.tasks:
            spent = usage.input_all + usage.tokens_out
            if spent or usage.tokens_unknown:
                parts.append(f" · {tokens_sum_text(spent, usage.tokens_unknown, usage.approximate)}")
            parts.append(f" · {usd_short(cost)}" + ("" if usage.cost_complete else " (some costs unknown)"))
        if row.source == "import":
            parts.append(" · imported")
        parts.append("\n")
        parts.append(("Objective: ", "bold"))
        parts.append(" ".join(row.objective.split()) or "-")
        self.query_one("#detail-facts", Static).update(Text.assemble(*parts))

    @property
    def pending(self) -> bool:
        """The session may be assessed: ended, and its outcome unknown ("too early" counts as unknown)."""
        return self.row is not None and self.row.status != "active" and self.outcome in (None, "too-early")

    def _show_outcome(self) -> None:
        row = self.row
        assert row is not None
        widget = self.query_one("#detail-outcome", Static)
        ratio = self.survival.ratio if self.survival is not None else None
        if row.status == "active":
            text = Text("The session is still running: assess it once it has ended.")
        elif self.pending:
            said = "too early last time; " if self.outcome == "too-early" else ""
            text = Text.assemble(
                ("pending", "bold"), f" · {said}how was its work used?\n",
                ("f", "bold"), " fully  ", ("p", "bold"), " partially  ", ("u", "bold"), " not used  ",
                ("t", "bold"), " too early  ", ("n", "bold"), " n/a",
            )
        else:
            assert self.outcome is not None
            text = Text.assemble((OUTCOME_LABELS.get(self.outcome, self.outcome), "bold"),
                                 " (cockpit assess changes it)" if not self.assessed else " · recorded now")
        if disagrees(self.outcome, ratio):
            text.append(f"\n≠ git disagrees: {ratio:.0%} of its lines survive", style="bold")
        widget.update(text)
        widget.set_class(disagrees(self.outcome, ratio), "-disagree")

    def _show_survival(self) -> None:
        success = self.app.theme_variables.get("text-success", "green")
        lines = []
        for bar in survival_bars(self.survival):
            line = Text(f"{bar.label:>4} ")
            if bar.ratio is None:
                line.append("·" * BAR_WIDTH, style="dim")
                line.append("    -  ")
            else:
                filled = round(max(0.0, min(1.0, bar.ratio)) * BAR_WIDTH)
                line.append("█" * filled, style=success)
                line.append("░" * (BAR_WIDTH - filled), style="dim")
                line.append(f" {bar.ratio:>4.0%}  ")
            line.append(bar.detail, style="dim")
            lines.append(line)
        if self.survival is not None:  # what each task did and what stuck; your own commits apart
            lines.extend(Text(text, style="dim") for text in work_lines(self.survival))
        self.query_one("#detail-survival", Static).update(Text("\n").join(lines))

    def _fill_tasks(self) -> None:
        success = self.app.theme_variables.get("text-success", "green")
        error = self.app.theme_variables.get("text-error", "red")
        table = self.query_one("#detail-tasks", DataTable)
        table.clear()
        styles = {"accepted": success, "discarded": error}
        table.add_rows(
            (Text(t.key), Text(t.agent), Text(t.state), Text("-" if t.added is None else f"+{t.added}", justify="right"),
             Text(t.decision or "undecided", style=styles.get(t.decision or "", "dim")),
             Text(usd_short(t.cost_usd), justify="right"))
            for t in self.tasks
        )
        sessions = [Text.assemble((f"{t.key}  ", "bold"), resume_text(t.resume_command, t.worktree or ""))
                    for t in self.tasks if t.resume_command]
        resume = self.query_one("#detail-resume", Static)
        resume.display = bool(sessions)
        resume.update(Text("\n").join(sessions))

    def _fill_interventions(self) -> None:
        table = self.query_one("#detail-interventions", DataTable)
        table.clear()
        table.add_rows(
            (Text(_clock(i.at)), Text(i.task_key or "-"), Text(i.type), Text(" ".join(i.text.split())))
            for i in self.interventions
        )

    # --------------------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "assess":
            return True if self.pending else None  # shown dimmed when there is nothing to assess
        return True

    def action_assess(self, outcome: str) -> None:
        if not self.pending or self.busy:
            return
        self.busy = True
        self._assess(outcome)

    @work(exclusive=True, group="detail-assess")
    async def _assess(self, outcome: str) -> None:
        try:
            await self.store.add_assessment(self.session_id, outcome)
        except Exception as exc:  # a locked database: say so, nothing changed
            self.notify(f"not recorded: {exc}", title="Assessment", severity="error", markup=False)
            return
        finally:
            self.busy = False
        self.outcome = outcome
        self.assessed = outcome
        self._show_outcome()
        self.refresh_bindings()
        label = self.row.label if self.row is not None else str(self.session_id)
        self.notify(f"Session {label}: {OUTCOME_LABELS.get(outcome, outcome)}", title="Assessed", markup=False)

    def action_edit_summary(self) -> None:
        if self.row is None or self.busy:
            return
        if self.row.status == "active":
            self.notify("The session is still running: its summary form opens when it ends.", title="Edit",
                        markup=False)
            return
        self._open_form()

    @work(exclusive=True, group="detail-edit")
    async def _open_form(self) -> None:
        """The summary form (as ``cockpit edit`` opens it); the screen reads the session again after."""
        from engine.errors import UserError
        from sessions.settings import SessionSettings, load_session_settings
        from tui.screens.summary_form import SummaryFormScreen

        row = self.row
        assert row is not None
        try:
            if Path(row.repo).is_dir():
                settings = load_session_settings(Path(row.repo))
            else:  # the repository moved or is gone: the database only
                settings = SessionSettings(summary_folder=None)
            summary, source = await session_summary(self.store, row)
        except (UserError, ValueError, OSError) as exc:
            self.notify(str(exc), title="Cannot open the summary", severity="error", markup=False)
            return
        self.app.push_screen(SummaryFormScreen(self.store, row, settings, summary, source),
                             lambda _saved: self.load())

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, help_rows

        active = {ab.binding.id: ab.binding for ab in self.active_bindings.values() if ab.binding.id}
        rows = help_rows(DETAIL_BINDINGS + APP_BINDINGS, active, self.app.get_key_display)
        self.app.push_screen(HelpScreen(rows, title="Keys of a past session"))

    def action_back(self) -> None:
        self.dismiss((self.session_id, self.assessed) if self.assessed else None)
