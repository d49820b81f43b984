"""What an ACP agent is billed, from what it chooses to report.

Agents differ: some return the billed tokens of each turn in the prompt response (``usage``, or Gemini
CLI's ``_meta.quota.token_count``), some send a cumulative cost in ``usage_update``, most send only how
full their context window is (``used`` / ``size``), some nothing at all. Only what is billed is counted:
a context size is never taken for tokens spent. Until an agent reports billed tokens its tokens are
unknown (``Usage.tokens_known`` False), and without a stated cost in dollars its cost is unknown.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from engine.usage import Usage


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if 0 <= value < 10**15 else None  # an absurd figure is no figure


class AcpUsage:
    """The attempt's usage so far, built from turn results and usage updates."""

    def __init__(self, turn_tokens: bool = True) -> None:
        self._turn_tokens = turn_tokens  # False: the prompt responses' usage is not the turn's billed tokens
        self._turns = Usage(tokens_known=False)  # billed tokens of the turns that reported them
        self._cost: float | None = None
        self.context: tuple[int, int] | None = None  # (used, size) of the context window, as last told
        self.other_currency = ""  # a cost stated in another currency than USD (not counted)

    def usage(self) -> Usage:
        return replace(self._turns, cost_usd=self._cost, context=self.context)

    def from_update(self, update: Any) -> bool:
        """A ``usage_update``; whether the usage changed."""
        changed = False
        used, size = _count(getattr(update, "used", None)), _count(getattr(update, "size", None))
        if used is not None and size is not None and self.context != (used, size):
            self.context = (used, size)
            changed = True
        cost = getattr(update, "cost", None)
        amount = getattr(cost, "amount", None)
        currency = str(getattr(cost, "currency", "") or "")
        if cost is not None and isinstance(amount, (int, float)) and math.isfinite(amount) and amount >= 0:
            if currency.upper() == "USD":
                if self._cost != float(amount):
                    self._cost = float(amount)
                    changed = True
            else:
                self.other_currency = currency[:8]
        return changed

    def from_turn(self, response: Any) -> bool:
        """The prompt response of a finished turn; whether it reported billed tokens."""
        turn = _standard(getattr(response, "usage", None)) or _gemini(getattr(response, "field_meta", None))
        if turn is None or not self._turn_tokens:
            return False
        known = self._turns if self._turns.tokens_known else Usage()
        self._turns = Usage(
            tokens_in=known.tokens_in + turn.tokens_in, tokens_out=known.tokens_out + turn.tokens_out,
            cache_write=known.cache_write + turn.cache_write, cache_read=known.cache_read + turn.cache_read,
        )
        return True


def _standard(usage: Any) -> Usage | None:
    """The protocol's (unstable) per-turn usage: input excludes the cache figures, as its total shows."""
    if usage is None:
        return None
    tokens_in, tokens_out = _count(getattr(usage, "input_tokens", None)), _count(getattr(usage, "output_tokens", None))
    if tokens_in is None or tokens_out is None:
        return None
    return Usage(
        tokens_in=tokens_in,
        tokens_out=tokens_out + (_count(getattr(usage, "thought_tokens", None)) or 0),
        cache_write=_count(getattr(usage, "cached_write_tokens", None)) or 0,
        cache_read=_count(getattr(usage, "cached_read_tokens", None)) or 0,
    )


def _gemini(meta: Any) -> Usage | None:
    """Gemini CLI's ``_meta.quota.token_count`` of a prompt response (the turn's totals)."""
    quota = meta.get("quota") if isinstance(meta, dict) else None
    counts = quota.get("token_count") if isinstance(quota, dict) else None
    if not isinstance(counts, dict):
        return None
    tokens_in, tokens_out = _count(counts.get("input_tokens")), _count(counts.get("output_tokens"))
    if tokens_in is None or tokens_out is None:
        return None
    return Usage(tokens_in=tokens_in, tokens_out=tokens_out)
