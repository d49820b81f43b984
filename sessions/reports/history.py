"""Looking back: one row per session, the totals, the trends and the agent table.

The history screen and ``cockpit report`` both read :func:`load_history` (two SQL queries: the
sessions with their rating, outcome, newest survival and intervention count; and the tasks' facts,
summed per session and kept for the agent table), then work on plain rows with the pure functions
of this module (:func:`filter_rows` / :class:`RowFilter`, :func:`sort_rows`, :func:`totals`,
:func:`trend`, :func:`agent_table`): filtering, sorting and re-counting a filtered view never touch
the database. 10,000 sessions load in about 0.2 s.

Nothing here measures survival: a session's EWR(git) is the newest result cached in the
``survival`` table (by ``cockpit stuck`` or the screens), or None when there is none.

Definitions (the figures the history screen and the report show):

* **Cost** of a session: the sum of its tasks' known costs (``cost_complete`` is False when a task
  used tokens and its cost is unknown), or for a session without tasks (an imported one) what its
  summary says. **Tokens**: every token of its tasks (input, output, cache write and read), or the
  summary's tokens in + out (its "tokens in" already counts the cache). A task whose agent reports
  no billed tokens adds nothing to them and is counted in ``tokens_unknown``: the sum is then a floor,
  shown as "≥ 12,300 tokens (2 tasks unknown)", never an estimate; its cost is unknown unless stated.
* **EWR(human)**: :func:`sessions.summary.work_rate.human_work_rate` over the rows (newest first).
* **EWR(git)** of a set of sessions: Σ surviving / Σ added over the sessions *measured*, that is
  with a cached ratio and lines added (the rule of :func:`sessions.survival.results.ewr_git`).
* **Disagreement** (:func:`disagrees`): the human said "fully" and under half the lines survive
  (< :data:`DISAGREE_FULLY_BELOW`), or the human said "not-used" and more than
  :data:`DISAGREE_NOT_USED_ABOVE` survive (the threshold is higher there because unused lines often
  stay in the code for a while before anyone removes them). "partially" never disagrees strongly.
* **Agent table** (:func:`agent_table`), per agent profile (``tasks.agent``):

  - *tasks*: task rows run (every run of a plan counts); *accepted share*: accepted / decided.
  - *survival of accepted work*: the lines its **accepted** tasks' own commits added and what
    stuck of them, as ``cockpit stuck`` measured each task (the newest cached result). A result
    measured before tasks were told apart has no figures per task: its session's lines are shared
    among its accepted tasks in proportion to each one's added lines (equally when none reports
    added lines). A measured session without accepted tasks (imported) is attributed to nobody.
  - *interventions per task*: interventions tied to one of the agent's tasks / its tasks.
  - *cost per surviving line*: the known cost of all its tasks (accepted or not: discarded work
    is part of the price) in measured sessions / its attributed surviving lines; None when no such
    cost is known or no line is attributed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sessions.store.rows import rating_value, repo_key, session_label
from sessions.summary.work_rate import OUTCOME_VALUE, RECENT, WorkRate, human_work_rate

__all__ = [
    "AGENT_COLUMNS", "AgentRow", "DISAGREE_FULLY_BELOW", "DISAGREE_NOT_USED_ABOVE", "History", "HistoryRow", "HistoryTotals",
    "ROW_COLUMNS", "RowFilter", "SORT_COLUMNS", "TaskFact", "TrendPoint", "agent_table", "disagrees",
    "OUTCOME_RANK", "filter_rows", "load_history", "load_history_file", "newest_first", "parse_date", "read_history", "row_dict", "sort_rows",
    "totals", "trend",
]

DISAGREE_FULLY_BELOW = 0.5
DISAGREE_NOT_USED_ABOVE = 0.8


def disagrees(outcome: str | None, ewr_git: float | None) -> bool:
    """True when the human outcome and the git survival disagree strongly (see the module's docstring)."""
    if ewr_git is None:
        return False
    if outcome == "fully":
        return ewr_git < DISAGREE_FULLY_BELOW
    if outcome == "not-used":
        return ewr_git > DISAGREE_NOT_USED_ABOVE
    return False


# --------------------------------------------------------------------------- rows


@dataclass(slots=True)
class HistoryRow:
    """One session of the history table. Treat it as read-only (it is not frozen only because
    a frozen dataclass is twice as slow to build, and 10,000 of them are built at once)."""

    id: int
    label: str  # 20260304.2
    repo: str
    date: str  # ISO, 2026-03-04
    day_number: int
    objective: str
    status: str  # active | complete | blocked | abandoned
    rating: int | None  # 1..5 from the summary
    outcome: str | None  # the newest assessment; None while pending
    ewr_git: float | None  # the newest cached survival ratio
    survival_added: int | None  # lines the session's commits added (None: never measured)
    survival_surviving: int | None
    interventions: int
    accepted: int
    discarded: int
    tasks: int
    cost_usd: float | None  # sum of the known costs
    tokens: int | None
    disagreement: bool
    cost_complete: bool = True  # False when a task used tokens and its cost is unknown
    source: str = "cockpit"  # or "import"
    survival_tasks: dict[str, tuple[int, int]] | None = None  # task -> (added, stuck), as measured
    tokens_unknown: int = 0  # tasks whose agent reported no billed tokens: ``tokens`` is a floor

    @property
    def ewr_human(self) -> float | None:
        """The outcome's value (fully 1, partially 0.5, not used 0), None otherwise."""
        return OUTCOME_VALUE.get(self.outcome or "")

    @property
    def measured(self) -> bool:
        """Counts in EWR(git): a cached ratio with lines added."""
        return self.ewr_git is not None and bool(self.survival_added)

    @property
    def cost_per_surviving_line(self) -> float | None:
        if self.cost_usd is None or not self.measured or not self.survival_surviving:
            return None
        return self.cost_usd / self.survival_surviving


ROW_COLUMNS: tuple[str, ...] = (
    "id", "label", "repo", "date", "day_number", "objective", "status", "rating", "outcome", "ewr_human",
    "ewr_git", "survival_added", "survival_surviving", "interventions", "accepted", "discarded", "tasks",
    "cost_usd", "cost_complete", "tokens", "tokens_unknown", "cost_per_surviving_line", "disagreement", "source",
)


def row_dict(row: HistoryRow) -> dict[str, Any]:
    """The row as plain data, keys in :data:`ROW_COLUMNS` order (the report's JSON and CSV)."""
    return {name: getattr(row, name) for name in ROW_COLUMNS}


class TaskFact(NamedTuple):
    """What the agent table (and the sessions' task figures) need of one task row."""

    id: int
    session_id: int
    agent: str
    decision: str | None
    cost_usd: float | None
    added: int | None
    tokens: int
    interventions: int  # tied to this task
    key: str = ""  # the task's id in its plan
    tokens_known: bool = True  # False: its agent reported no billed tokens (``tokens`` is 0, not a count)


@dataclass
class History:
    rows: list[HistoryRow]  # newest first (date, number of the day, id)
    tasks: list[TaskFact]
    repo: str | None = None  # None: every repository
    since: str | None = None

    def totals(self, rows: Sequence[HistoryRow] | None = None) -> "HistoryTotals":
        return totals(self.rows if rows is None else rows)

    def agents(self, rows: Sequence[HistoryRow] | None = None) -> list["AgentRow"]:
        return agent_table(self.rows if rows is None else rows, self.tasks)

    def trend(self, rows: Sequence[HistoryRow] | None = None) -> list["TrendPoint"]:
        return trend(self.rows if rows is None else rows)


# --------------------------------------------------------------------------- reading

_SESSIONS_SQL = """
SELECT s.id, r.path, s.date, s.day_number, s.objective, s.status, s.source,
       (SELECT CASE WHEN json_valid(data) THEN json_extract(data, '$.rating', '$.tokens_in', '$.tokens_out',
               '$.cost_usd', '$.tokens_unknown') END FROM summaries WHERE session_id = s.id),
       (SELECT outcome FROM assessments WHERE session_id = s.id ORDER BY at DESC, id DESC LIMIT 1),
       (SELECT CASE WHEN json_valid(data) THEN json_extract(data, '$.ratio', '$.added', '$.surviving', '$.tasks') END
          FROM survival WHERE session_id = s.id ORDER BY computed_at DESC LIMIT 1),
       (SELECT count(*) FROM interventions WHERE session_id = s.id)
FROM sessions s JOIN repos r ON r.id = s.repo_id
{where}
ORDER BY s.date DESC, s.day_number DESC, s.id DESC
"""

# The tasks' facts, read once for both the sessions' task figures and the agent table (a task row
# is wide, with its prompt and final message: scanning them twice would cost more than the rest).
_TASKS_SQL = """
SELECT t.id, t.session_id, t.agent, t.decision, t.cost_usd, t.added,
       t.tokens_in + t.tokens_out + t.cache_write + t.cache_read, COALESCE(i.n, 0), t.task_key, t.tokens_known = 1
FROM tasks t JOIN sessions s ON s.id = t.session_id JOIN repos r ON r.id = s.repo_id
LEFT JOIN (SELECT task_id, count(*) AS n FROM interventions WHERE task_id IS NOT NULL GROUP BY task_id) i
       ON i.task_id = t.id
{where}
ORDER BY t.id
"""


def parse_date(value: str | dt.date) -> str:
    """``YYYY-MM-DD`` (or a date) as an ISO string; ValueError with one line otherwise."""
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _scope(repo: str | os.PathLike[str] | None, since: str | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if repo is not None:
        clauses.append("r.path = ?")
        params.append(repo_key(repo))
    if since is not None:
        clauses.append("s.date >= ?")
        params.append(since)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _json_list(text: str | None, size: int) -> list[Any]:
    if text is None:
        return [None] * size
    try:
        values = json.loads(text)
    except ValueError:
        return [None] * size
    return values if isinstance(values, list) and len(values) == size else [None] * size


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


class _TaskSums:
    __slots__ = ("n", "accepted", "discarded", "costs", "unknown", "tokens", "tokens_unknown")

    def __init__(self) -> None:
        self.n = self.accepted = self.discarded = self.unknown = self.tokens = self.tokens_unknown = 0
        self.costs: list[float] = []

    def add(self, t: TaskFact) -> None:
        self.n += 1
        self.accepted += t.decision == "accepted"
        self.discarded += t.decision == "discarded"
        self.tokens += t.tokens
        self.tokens_unknown += not t.tokens_known
        if t.cost_usd is not None:
            self.costs.append(t.cost_usd)
        elif t.tokens or not t.tokens_known:
            self.unknown += 1


_NO_TASKS = _TaskSums()


def _history_row(r: Sequence[Any], sums: _TaskSums) -> HistoryRow:
    sid, repo, date, day_number, objective, status, source, summary, outcome, survival, interventions = r
    rating, s_in, s_out, s_cost, s_unknown = _json_list(summary, 5)
    ratio, added, surviving, per_task = _json_list(survival, 4)
    ratio, added, surviving = _number(ratio), _int(added), _int(surviving)
    tokens: int | None
    if sums.n:
        cost_usd = round(sum(sums.costs), 6) if sums.costs else None
        tokens, cost_complete, tokens_unknown = sums.tokens, not sums.unknown, sums.tokens_unknown
    else:  # no tasks (an imported session): what its summary says
        cost_usd = _number(s_cost)
        s_in, s_out = _int(s_in), _int(s_out)
        tokens = None if s_in is None and s_out is None else (s_in or 0) + (s_out or 0)
        cost_complete = True
        tokens_unknown = _int(s_unknown) or 0
    return HistoryRow(  # positional (in the order of the fields): faster, 10,000 times over
        sid, session_label(date, day_number), repo, date, day_number, objective, status, rating_value(rating), outcome,
        ratio, added, surviving, interventions, sums.accepted, sums.discarded, sums.n, cost_usd, tokens,
        disagrees(outcome, ratio), cost_complete, source, _task_figures(per_task), tokens_unknown,
    )


def _task_figures(value: Any) -> dict[str, tuple[int, int]] | None:
    """The measured figures of each task, {key: (added, stuck)}; None for a result without them."""
    if not isinstance(value, list) or not value:
        return None
    found = {}
    for t in value:
        if isinstance(t, dict) and isinstance(t.get("key"), str):
            added, kept = _int(t.get("added")), _int(t.get("surviving"))
            if added is not None and kept is not None:
                found[t["key"]] = (added, kept)
    return found or None


def load_history(
    conn: sqlite3.Connection, repo: str | os.PathLike[str] | None = None, since: str | dt.date | None = None,
) -> History:
    """The sessions of ``repo`` (every repository when None) dated ``since`` or later, newest first,
    and their tasks' facts. Two queries on ``conn`` (a plain sqlite3 connection to the store): the
    sessions with their summary's rating, outcome, newest survival and intervention count; and the
    tasks, whose figures are summed per session here."""
    since_text = None if since is None else parse_date(since)
    where, params = _scope(repo, since_text)
    tasks = list(map(TaskFact._make, conn.execute(_TASKS_SQL.format(where=where), params)))
    sums: dict[int, _TaskSums] = {}
    for t in tasks:
        found = sums.get(t.session_id)
        if found is None:
            found = sums[t.session_id] = _TaskSums()
        found.add(t)
    rows = [_history_row(r, sums.get(r[0], _NO_TASKS))
            for r in conn.execute(_SESSIONS_SQL.format(where=where), params)]
    return History(rows, tasks, None if repo is None else repo_key(repo), since_text)


def load_history_file(
    path: str | os.PathLike[str], repo: str | os.PathLike[str] | None = None, since: str | dt.date | None = None,
    busy_timeout_ms: int = 5000,
) -> History:
    """:func:`load_history` on a read-only connection of its own to the store at ``path`` (which must
    exist and be migrated: open it with ``Store.open`` first). Blocking: run it in a thread."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        return load_history(conn, repo, since)
    finally:
        conn.close()


async def read_history(store: Any, repo: str | os.PathLike[str] | None = None,
                       since: str | dt.date | None = None) -> History:
    """:func:`load_history_file` for an open :class:`~sessions.store.store.Store`, in a thread (the
    store's own connections are not used, so a screen never waits on its writes)."""
    import asyncio

    return await asyncio.to_thread(load_history_file, store.path, repo, since, store.busy_timeout_ms)


# --------------------------------------------------------------------------- filtering and sorting


@dataclass(frozen=True)
class RowFilter:
    """What the history table shows. Empty fields do not filter; bounds are inclusive.

    ``text`` is looked for (case-insensitive) in the objective and the label; a rating bound
    leaves out the unrated sessions; ``outcomes`` may hold ``"pending"`` for the unassessed.
    """

    text: str = ""
    statuses: frozenset[str] = frozenset()
    outcomes: frozenset[str] = frozenset()
    rating_min: int | None = None
    rating_max: int | None = None
    date_from: str | None = None  # ISO dates
    date_to: str | None = None
    disagreement_only: bool = False

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, parse_date(value))
        for name in ("statuses", "outcomes"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))

    @property
    def empty(self) -> bool:
        return self == RowFilter()

    def matches(self, row: HistoryRow) -> bool:
        if self.text:
            needle = self.text.casefold()
            if needle not in row.objective.casefold() and needle not in row.label and needle not in row.date:
                return False
        if self.statuses and row.status not in self.statuses:
            return False
        if self.outcomes and (row.outcome or "pending") not in self.outcomes:
            return False
        if self.rating_min is not None or self.rating_max is not None:
            if row.rating is None:
                return False
            if self.rating_min is not None and row.rating < self.rating_min:
                return False
            if self.rating_max is not None and row.rating > self.rating_max:
                return False
        if self.date_from is not None and row.date < self.date_from:
            return False
        if self.date_to is not None and row.date > self.date_to:
            return False
        if self.disagreement_only and not row.disagreement:
            return False
        return True

    def apply(self, rows: Iterable[HistoryRow]) -> list[HistoryRow]:
        if self.empty:
            return list(rows)
        return [r for r in rows if self.matches(r)]


def filter_rows(rows: Iterable[HistoryRow], **criteria: Any) -> list[HistoryRow]:
    """``filter_rows(rows, text="csv", statuses={"complete"}, rating_min=3, date_from="2026-03-01")``:
    the rows :class:`RowFilter` (same keywords) keeps, in their order."""
    return RowFilter(**criteria).apply(rows)


# Outcomes in a meaningful order: by value, then the two without one (pending sorts last as None).
OUTCOME_RANK = {"not-used": 0, "partially": 1, "fully": 2, "too-early": 3, "na": 4}

_SORT_KEYS: dict[str, Callable[[HistoryRow], Any]] = {
    "label": lambda r: (r.date, r.day_number, r.id),
    "date": lambda r: (r.date, r.day_number, r.id),
    "objective": lambda r: r.objective.casefold() or None,
    "repo": lambda r: r.repo,
    "status": lambda r: r.status,
    "outcome": lambda r: OUTCOME_RANK.get(r.outcome or ""),
    "tasks_decided": lambda r: r.accepted + r.discarded,
}
SORT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((*ROW_COLUMNS, *_SORT_KEYS)))


def sort_rows(rows: Iterable[HistoryRow], column: str, descending: bool = False) -> list[HistoryRow]:
    """The rows sorted by ``column`` (any name of :data:`SORT_COLUMNS`), rows without a value (None)
    last in either direction; equal values keep their order. ``label``/``date`` sort by date then
    number of the day, ``outcome`` by value (not used < partially < fully < too early < n/a)."""
    if column not in SORT_COLUMNS:
        raise ValueError(f"cannot sort by {column!r}; columns: {', '.join(SORT_COLUMNS)}")
    key = _SORT_KEYS.get(column) or (lambda r: getattr(r, column))
    keyed = [(key(r), r) for r in rows]
    present = [item for item in keyed if item[0] is not None]
    missing = [r for k, r in keyed if k is None]
    present.sort(key=lambda item: item[0], reverse=descending)
    return [r for _, r in present] + missing


def newest_first(rows: Iterable[HistoryRow]) -> list[HistoryRow]:
    return sort_rows(rows, "date", descending=True)


# --------------------------------------------------------------------------- totals and trends


@dataclass(frozen=True)
class HistoryTotals:
    sessions: int
    ewr_human: WorkRate  # all time
    ewr_human_recent: WorkRate  # the last ``recent_size`` assessed sessions
    ewr_git: float | None
    ewr_git_count: int  # sessions measured
    survival_added: int  # over the measured sessions
    survival_surviving: int
    interventions: int
    tasks: int
    accepted: int
    discarded: int
    cost_usd: float | None  # known costs of every session
    tokens: int
    tokens_unknown: int  # tasks whose agent reported no billed tokens: ``tokens`` is a floor
    disagreements: int
    cost_per_surviving_line: float | None  # known cost of the measured sessions / their surviving lines
    recent_size: int = RECENT

    def to_dict(self) -> dict[str, Any]:
        n = self.recent_size
        return {
            "sessions": self.sessions,
            "ewr_human": self.ewr_human.value, "ewr_human_count": self.ewr_human.count,
            f"ewr_human_last_{n}": self.ewr_human_recent.value,
            f"ewr_human_last_{n}_count": self.ewr_human_recent.count,
            "ewr_git": self.ewr_git, "ewr_git_count": self.ewr_git_count,
            "survival_added": self.survival_added, "survival_surviving": self.survival_surviving,
            "interventions": self.interventions, "tasks": self.tasks, "accepted": self.accepted,
            "discarded": self.discarded, "cost_usd": self.cost_usd, "tokens": self.tokens,
            "tokens_unknown": self.tokens_unknown, "cost_per_surviving_line": self.cost_per_surviving_line, "disagreements": self.disagreements,
        }


def _known_sum(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known), 6) if known else None


def totals(rows: Sequence[HistoryRow], recent: int = RECENT) -> HistoryTotals:
    """The figures of ``rows`` (in any order)."""
    human = human_work_rate(newest_first(rows), recent)  # type: ignore[arg-type]  # reads .outcome only
    measured = [r for r in rows if r.measured]
    added = sum(r.survival_added or 0 for r in measured)
    surviving = sum(r.survival_surviving or 0 for r in measured)
    measured_cost = _known_sum(r.cost_usd for r in measured)
    return HistoryTotals(
        sessions=len(rows), ewr_human=human.all_time, ewr_human_recent=human.recent,
        ewr_git=surviving / added if added else None, ewr_git_count=len(measured),
        survival_added=added, survival_surviving=surviving,
        interventions=sum(r.interventions for r in rows), tasks=sum(r.tasks for r in rows),
        accepted=sum(r.accepted for r in rows), discarded=sum(r.discarded for r in rows),
        cost_usd=_known_sum(r.cost_usd for r in rows), tokens=sum(r.tokens or 0 for r in rows),
        tokens_unknown=sum(r.tokens_unknown for r in rows),
        disagreements=sum(r.disagreement for r in rows),
        cost_per_surviving_line=measured_cost / surviving if measured_cost is not None and surviving else None,
        recent_size=recent,
    )


@dataclass(frozen=True, slots=True)
class TrendPoint:
    label: str
    date: str
    ewr_human: float | None  # the session's outcome value
    ewr_git: float | None
    rating: int | None
    interventions: int
    cost_usd: float | None
    cost_per_surviving_line: float | None
    disagreement: bool = False  # the human outcome and the git survival disagree strongly (:func:`disagrees`)


def trend(rows: Iterable[HistoryRow]) -> list[TrendPoint]:
    """One point per session, oldest first (the x axis of the charts)."""
    return [
        TrendPoint(r.label, r.date, r.ewr_human, r.ewr_git, r.rating, r.interventions, r.cost_usd,
                   r.cost_per_surviving_line, r.disagreement)
        for r in reversed(newest_first(rows))
    ]


# --------------------------------------------------------------------------- the agent table


@dataclass
class AgentRow:
    agent: str
    tasks: int = 0
    accepted: int = 0
    discarded: int = 0
    interventions: int = 0
    cost_usd: float | None = None  # known cost of all its tasks
    tokens: int = 0
    tokens_unknown: int = 0  # its tasks that reported no billed tokens
    measured_tasks: int = 0  # its tasks in measured sessions
    measured_cost_usd: float | None = None  # their known cost
    attributed_added: float = 0.0
    attributed_surviving: float = 0.0
    _costs: list[float] = field(default_factory=list, repr=False, compare=False)
    _measured_costs: list[float] = field(default_factory=list, repr=False, compare=False)

    @property
    def decided(self) -> int:
        return self.accepted + self.discarded

    @property
    def accepted_share(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    @property
    def survival(self) -> float | None:
        """Survival of its accepted work: attributed surviving / attributed added lines."""
        return self.attributed_surviving / self.attributed_added if self.attributed_added else None

    @property
    def interventions_per_task(self) -> float | None:
        return self.interventions / self.tasks if self.tasks else None

    @property
    def cost_per_surviving_line(self) -> float | None:
        if self.measured_cost_usd is None or not self.attributed_surviving:
            return None
        return self.measured_cost_usd / self.attributed_surviving

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data.update(decided=self.decided, accepted_share=self.accepted_share, survival=self.survival,
                    interventions_per_task=self.interventions_per_task,
                    cost_per_surviving_line=self.cost_per_surviving_line)
        return data


AGENT_COLUMNS: tuple[str, ...] = (
    "agent", "tasks", "accepted", "discarded", "decided", "accepted_share", "survival", "attributed_added",
    "attributed_surviving", "interventions", "interventions_per_task", "cost_usd", "tokens", "tokens_unknown", "measured_tasks",
    "measured_cost_usd", "cost_per_surviving_line",
)


def agent_table(rows: Iterable[HistoryRow], tasks: Iterable[TaskFact]) -> list[AgentRow]:
    """Per agent profile, over the sessions of ``rows`` (see the module's docstring); most tasks first."""
    sessions = {r.id: r for r in rows}
    agents: dict[str, AgentRow] = {}
    accepted_by_session: dict[int, list[TaskFact]] = {}
    for t in tasks:
        row = sessions.get(t.session_id)
        if row is None:
            continue
        a = agents.get(t.agent)
        if a is None:
            a = agents[t.agent] = AgentRow(t.agent)
        a.tasks += 1
        a.accepted += t.decision == "accepted"
        a.discarded += t.decision == "discarded"
        a.interventions += t.interventions
        a.tokens += t.tokens
        a.tokens_unknown += not t.tokens_known
        if t.cost_usd is not None:
            a._costs.append(t.cost_usd)
        if row.measured:
            a.measured_tasks += 1
            if t.cost_usd is not None:
                a._measured_costs.append(t.cost_usd)
            if t.decision == "accepted":
                accepted_by_session.setdefault(t.session_id, []).append(t)
    for session_id, accepted in accepted_by_session.items():
        row = sessions[session_id]
        if row.survival_tasks is not None:  # measured task by task
            for t in accepted:
                added, kept = row.survival_tasks.get(t.key, (0, 0))
                agents[t.agent].attributed_added += added
                agents[t.agent].attributed_surviving += kept
            continue
        weights = [max(t.added or 0, 0) for t in accepted]
        whole = sum(weights)
        if not whole:  # no accepted task reports its lines: shared equally
            weights, whole = [1] * len(accepted), len(accepted)
        for t, weight in zip(accepted, weights):
            share = weight / whole
            a = agents[t.agent]
            a.attributed_added += (row.survival_added or 0) * share
            a.attributed_surviving += (row.survival_surviving or 0) * share
    for a in agents.values():
        a.cost_usd = _known_sum(a._costs)
        a.measured_cost_usd = _known_sum(a._measured_costs)
    return sorted(agents.values(), key=lambda a: (-a.tasks, a.agent))
