"""Take secrets out of text before it is stored: API keys, bearer tokens, secret environment values.

Runs on every log line the agents write, so the common case (no secret) must cost almost nothing.
:func:`may_hold_key` is a handful of substring tests (single characters first, which are found with
``memchr``) that every key pattern below implies; only text that passes it meets a regular
expression. :func:`redact_lines` does that test once on a whole batch of lines joined together.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

REDACTED = "[REDACTED]"

# Key characters: what the providers use in their tokens (letters, digits, '_' and '-').
_KEY_PATTERN = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]+"  # Anthropic (sk-ant-api03-…, sk-ant-admin01-…), any length
    r"|(?<![A-Za-z0-9])sk-(?:proj-)?[A-Za-z0-9_\-]{20,}"  # OpenAI and look-alikes
    r"|(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub classic/OAuth/app tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"  # GitHub fine-grained tokens
    r"|(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"  # AWS access key ids
)
# "Authorization: Bearer <token>", in the spellings HTTP clients use (Bearer, bearer, BEARER).
_BEARER_PATTERN = re.compile(r"(\b(?:[Bb]earer|BEARER)\s+)[A-Za-z0-9._~+/=\-]{8,}")

_SECRET_NAME = re.compile(r"(?:^|_)(?:API_KEY|TOKEN|SECRET)$", re.IGNORECASE)
MIN_ENV_SECRET = 8


def may_hold_key(text: str) -> bool:
    """False when no key or bearer pattern can match ``text`` (each pattern needs one of these)."""
    return (
        ("-" in text and "sk-" in text)
        or ("_" in text and "gh" in text)  # gh?_… and github_pat_…
        or "IA" in text  # AKIA…, ASIA…
        or "earer" in text
        or "EARER" in text
    )


def secret_env_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The values (≥ 8 characters) of ``*_API_KEY``, ``*_TOKEN`` and ``*_SECRET`` variables, longest first."""
    values = {v for k, v in environ.items() if len(v) >= MIN_ENV_SECRET and _SECRET_NAME.search(k)}
    return tuple(sorted(values, key=len, reverse=True))


class Redactor:
    """Replaces every secret in a text with ``[REDACTED]``; built once, used for every line."""

    def __init__(self, literals: tuple[str, ...] = ()) -> None:
        self.literals = literals

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Redactor":
        return cls(secret_env_values(os.environ if environ is None else environ))

    def __call__(self, text: str) -> str:
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        if not may_hold_key(text):
            return text
        text = _KEY_PATTERN.sub(REDACTED, text)
        return _BEARER_PATTERN.sub(lambda m: m.group(1) + REDACTED, text)

    def lines(self, lines: Sequence[str]) -> Sequence[str]:
        """Every line redacted; the usual batch, with no secret in it, is returned as it is.

        The test is made once on the lines joined by newlines. No pattern or secret value that fits
        in one line is missed that way; a match across two lines only sends the batch the slow way.
        """
        blob = "\n".join(lines)
        if any(literal in blob for literal in self.literals) or (
            may_hold_key(blob) and (_KEY_PATTERN.search(blob) or _BEARER_PATTERN.search(blob))
        ):
            return [self(line) for line in lines]
        return lines


_default = Redactor.from_environ()


def redact(text: str) -> str:
    """``text`` with API keys, bearer tokens and secret environment values (as of import) replaced."""
    return _default(text)


def redact_lines(lines: Sequence[str]) -> Sequence[str]:
    """:func:`redact` applied to each line (no newline in any), fast when none holds a secret."""
    return _default.lines(lines)
