"""Telling an agent program's failure that lies outside the task from the task's own failure.

A CLI agent (Claude Code, codex, aider, gemini) that cannot log in, is rate-limited or cannot reach its
service exits non-zero after printing a message about it. :func:`classify_output` reads the last lines
the program printed (standard error and output) for such a message; the kind it finds goes on
``AgentExit.failure_kind`` and feeds the profile's circuit breaker (:mod:`engine.breakers`).

Only the end of the output is read, and only when the program failed: a task whose own output merely
mentions a rate limit is not affected unless the program then fails with it among its last lines.
"""
from __future__ import annotations

import re
from typing import Iterable

TAIL = 30  # lines read from the end of the output

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("auth", re.compile(
        r"authentication[_ ]error|authentication failed|invalid (?:x-)?api[ -]?key|incorrect api key|"
        r"api key (?:is )?(?:not valid|invalid|missing)|unauthori[sz]ed|\b401\b|not logged in|please (?:run )?/?login|"
        r"log ?in required|oauth token (?:has )?expired|credentials? (?:not found|expired|invalid)|"
        r"permission[_ ]denied.*(?:api|token|key)|\b403\b.*(?:api|forbidden)",
        re.IGNORECASE)),
    ("rate_limit", re.compile(
        r"rate[_ ]?limit|too many requests|\b429\b|overloaded|\b529\b|quota exceeded|insufficient_quota|"
        r"usage limit|resource[_ ]exhausted|service unavailable|\b503\b",
        re.IGNORECASE)),
    ("network", re.compile(
        r"could not resolve host|name or service not known|temporary failure in name resolution|"
        r"network is unreachable|connection refused|connection reset|connection error|econnrefused|"
        r"econnreset|enotfound|etimedout|eai_again|getaddrinfo|unable to connect|failed to connect",
        re.IGNORECASE)),
)


def classify_output(lines: Iterable[str]) -> str | None:
    """The failure kind (``auth``, ``rate_limit``, ``network``) the lines tell of, or None."""
    found = failure_in(lines)
    return found[0] if found else None


def failure_in(lines: Iterable[str]) -> tuple[str, str] | None:
    """``(kind, the last line that tells it)`` for the first kind the lines tell of, or None."""
    lines = list(lines)
    for kind, pattern in _PATTERNS:
        for line in reversed(lines):
            if pattern.search(line):
                return kind, " ".join(line.split())[:300]
    return None
