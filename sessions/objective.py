"""The check of a session's objective at the start: one sentence, stated.

An empty objective is refused; a long one (more than ``LONG_WORDS`` words, or more than one
sentence, or several lines) is allowed with a warning, since one clear sentence is what the
summary's checklist asks for (:func:`sessions.summary.completeness.one_clear_sentence`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LONG_WORDS = 25
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]*\s+\S")


@dataclass(frozen=True)
class ObjectiveCheck:
    level: str  # "error" (refused) or "warning" (allowed)
    message: str


def check_objective(text: str) -> ObjectiveCheck | None:
    """None when the objective is one sentence of reasonable length."""
    stated = text.strip()
    if not stated:
        return ObjectiveCheck("error", "State the session's objective first (one sentence).")
    words = len(stated.split())
    if words > LONG_WORDS:
        return ObjectiveCheck("warning", f"The objective is long ({words} words): one sentence of at most "
                                         f"{LONG_WORDS} words is easier to judge later.")
    if "\n" in stated or _SENTENCE_BREAK.search(" ".join(stated.split())):
        return ObjectiveCheck("warning", "The objective holds more than one sentence: "
                                         "one sentence is easier to judge later.")
    return None
