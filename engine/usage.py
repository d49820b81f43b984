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
