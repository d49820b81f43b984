"""Durations as people write them in plans and configs: ``90``, ``"90s"``, ``"15m"``, ``"1h30m"``."""
from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds in ``value``; raises ValueError with a message fit for a user."""
    if isinstance(value, bool):
        raise ValueError(f"bad duration {value!r}: expected a number of seconds or text like \"15m\"")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):  # TOML allows nan and inf
            raise ValueError(f"bad duration {value!r}: must be a finite number of seconds")
        if value <= 0:
            raise ValueError(f"bad duration {value!r}: must be more than zero")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"bad duration {value!r}: expected a number of seconds or text like \"15m\"")
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        total = float(text)  # checked below, so the message quotes what the user wrote
    else:
        pos, total = 0, 0.0
        for match in _PART.finditer(text):
            if text[pos:match.start()].strip():
                break
            total += float(match.group(1)) * _UNIT[match.group(2).lower()]
            pos = match.end()
        if pos == 0 or text[pos:].strip():
            raise ValueError(f"bad duration {value!r}: expected text like \"90s\", \"15m\" or \"1h30m\"")
    if not math.isfinite(total):
        raise ValueError(f"bad duration {value!r}: must be a finite number of seconds")
    if total <= 0:
        raise ValueError(f"bad duration {value!r}: must be more than zero")
    return total


def format_duration(seconds: float) -> str:
    """A short human form: ``4.2s``, ``3m05s``, ``1h02m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
