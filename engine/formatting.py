"""How every part of the cockpit writes counts, states, tokens and cost for people to read.

One module, so that a state has one mark, a count one plural and a cost one form wherever it is
shown: in the panes and tables, the headless progress lines, the reports and the engine's own lines.
It lives in the engine, the lowest wing that writes any of them.
"""
from __future__ import annotations

from engine.states import TaskState

S = TaskState

STATE_MARK = {
    S.PENDING: "·", S.READY: "·", S.RUNNING: "▶", S.PAUSED: "‖", S.SUCCEEDED: "✓", S.FAILED: "✗",
    S.TIMED_OUT: "⏱", S.CANCELLED: "■", S.SKIPPED: "↷", S.BUDGET_EXCEEDED: "$",
}
_WORD = {S.TIMED_OUT: "timed out", S.BUDGET_EXCEEDED: "over budget"}
STATE_WIDTH = 11  # the longest state word ("over budget")


def state_word(state: TaskState) -> str:
    return _WORD.get(state) or state.value.replace("_", " ")


def state_cell(state: TaskState) -> str:
    return f"{STATE_MARK.get(state, '·')} {state_word(state)}"


def plural(n: int, word: str, grouped: bool = False) -> str:
    """``1 task``, ``3 tasks``; ``grouped``: ``1,204 sessions`` (the reports group the thousands, the
    engine's and the panes' lines do not)."""
    return f"{n:,} {word}{'' if n == 1 else 's'}" if grouped else f"{n} {word}{'' if n == 1 else 's'}"


def count_text(n: int) -> str:
    """``950``, ``12.3k``, ``4.1M``."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def tokens_text(tokens: int, known: bool = True, approximate: bool = False) -> str:
    """Every token as ``12,345``; ``-`` when none; ``unknown`` for an agent that reports none (never
    zero); ``~`` before figures the agent rounded."""
    if not known:
        return "unknown"
    return f"{'~' if approximate else ''}{tokens:,}" if tokens else "-"


def tokens_sum_text(tokens: int, unknown: int = 0, approximate: bool = False, unit: str = " tokens",
                    grouped: bool = True) -> str:
    """A sum over several tasks: ``12,300 tokens``; ``~12,300 tokens`` when some agent rounded its
    figures; ``≥ 12,300 tokens (2 tasks unknown)`` when some agents reported no billed tokens (theirs
    are not in the sum, and never estimated); ``unknown tokens (2 tasks)`` when none is known.
    The summary's Markdown writes the digits bare, without the unit (``grouped=False, unit=""``)."""
    if unknown and not tokens:
        return f"unknown{unit} ({plural(unknown, 'task')})"
    text = f"{'~' if approximate else ''}{tokens:,}{unit}" if grouped else f"{'~' if approximate else ''}{tokens}{unit}"
    return f"≥ {text} ({plural(unknown, 'task')} unknown)" if unknown else text


def usd(amount: float, places: int = 4) -> str:
    """``$0.0123``: a cost to the hundredth of a cent (one agent turn often costs less than a cent);
    ``places=2`` for a limit the developer wrote (``$0.50``) and for a pane's short total."""
    return f"${amount:.{places}f}"


def usd_short(amount: float | None, unknown: str = "-") -> str:
    """``$0.0123`` below a dollar, ``$12.34`` and ``$1,234.56`` above; ``unknown`` for None."""
    if amount is None:
        return unknown
    return f"${amount:.4f}" if amount < 1 else f"${amount:,.2f}"


def cost_text(cost_usd: float | None, unknown: str = "cost unknown") -> str:
    """``$0.0123``, or ``unknown`` when no price is known (never a made-up number)."""
    return unknown if cost_usd is None else usd(cost_usd)


def total_cost_text(cost_usd: float | None, complete: bool = True) -> str:
    """A sum of several tasks' costs: ``$1.37``; ``+`` when some task's cost is unknown, ``?`` when no
    cost of a task that used tokens is known, ``-`` when nothing was spent."""
    if cost_usd is None:
        return "-" if complete else "?"
    return f"${cost_usd:,.2f}" + ("" if complete else "+")


def usage_text(tokens: int, cost_usd: float | None, known: bool = True, approximate: bool = False,
               context: tuple[int, int] | None = None) -> str:
    """Tokens and cost when known (``12.3k tok · $0.42``); ``cost unknown`` when there are tokens but
    no price; ``tokens unknown`` for an agent that reports none (never zero); ``≈`` before figures the
    agent rounded; ``ctx 12%`` how full its context window is, when it says; "" before any usage."""
    if known and tokens == 0 and cost_usd is None and context is None:
        return ""
    if not known:
        parts = ["tokens unknown"]
    else:
        parts = [f"{'≈' if approximate else ''}{count_text(tokens)} tok"] if tokens else []
    parts.append("cost unknown" if cost_usd is None else usd(cost_usd, 2))
    if context is not None and context[1] > 0:
        parts.append(f"ctx {min(100, round(100 * context[0] / context[1]))}%")
    return " · ".join(parts)


def diff_size_text(added: int, removed: int, files: int) -> str:
    """``+12 −3 in 2 files`` (a true minus sign, as diff tools show it)."""
    return f"+{added} \u2212{removed} in {plural(files, 'file')}"


def resume_text(command: str, workdir: str = "") -> str:
    """How to continue an agent's own session by hand: ``claude --resume ID   (in /its/worktree)``: the
    command, and the folder it is run in (Claude Code keeps a session with the folder it ran in)."""
    return f"{command}   (in {workdir})" if workdir else command
