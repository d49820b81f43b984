"""What an agent spent: tokens by kind and, when it is known, the cost in USD."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Usage:
    """Cumulative usage (of an attempt, or of a task over its attempts); replaced, never mutated."""

    tokens_in: int = 0  # input tokens (not counting cache)
    tokens_out: int = 0
    cache_write: int = 0  # cache_creation_input_tokens
    cache_read: int = 0  # cache_read_input_tokens / cached_input_tokens
    cost_usd: float | None = None  # None = unknown, never invented
    # False: the agent reports no billed tokens; the counts above are then not zeros but unknown
    tokens_known: bool = True
    approximate: bool = False  # the agent reports rounded figures (aider's "1.2k")
    # how full the agent's context window is, (tokens in it, its size), when it says: never tokens spent
    context: tuple[int, int] | None = None

    @property
    def total(self) -> int:
        """Every token: input, output, cache write and cache read, as reported (what budgets count)."""
        return self.tokens_in + self.tokens_out + self.cache_write + self.cache_read


# The largest token count (and dollar amount) a usage report may hold: far above any real run, and
# small enough that the totals of thousands of tasks still fit a SQLite integer.
MAX_TOKENS = 10**15
MAX_COST_USD = 10.0**9
_TOKEN_FIELDS = ("tokens_in", "tokens_out", "cache_write", "cache_read")


def usage_problem(usage: Usage) -> str | None:
    """Why an agent's usage report cannot be true (a count that is negative, not a whole number, or
    beyond any real run; a cost that is not a finite non-negative amount), or None when it can."""
    for name in _TOKEN_FIELDS:
        value = getattr(usage, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
            return f"{name} {value!r} is not a token count"
    cost = usage.cost_usd
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (int, float))
                             or not 0 <= cost <= MAX_COST_USD):  # NaN fails both comparisons
        return f"cost_usd {cost!r} is not an amount"
    return None
