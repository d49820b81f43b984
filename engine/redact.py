"""Take secrets out of text before anyone keeps or shows it: keys, tokens, passwords, private keys.

What is found:
- tokens by their provider's prefix: Anthropic ``sk-ant-``, OpenAI ``sk-``, GitHub ``ghp_``/``github_pat_``,
  GitLab ``glpat-``, Slack ``xox?-``, Google ``AIza``, Hugging Face ``hf_``, npm ``npm_``, PyPI ``pypi-``,
  AWS access key ids ``AKIA``/``ASIA``; ``Bearer`` tokens;
- the value assigned to a name that says it is secret: ``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``PASSWORD``,
  ``PASSWD``, ``*_CREDENTIALS`` (``NAME=value``, ``NAME: value``, ``"name": "value"``, any case), whatever the
  value looks like, since a key without a known prefix is still a key;
- a 40-character AWS secret access key standing alone (mixed case with a digit: never a git hash);
- a private key block (``-----BEGIN … PRIVATE KEY-----`` to its END line), line after line, across batches;
- the values of the environment's ``*_API_KEY``, ``*_TOKEN``, ``*_SECRET`` variables.

Runs on every line the agents write, so the common case (no secret) must cost almost nothing: a batch
is tested once, joined, by one prefilter regex that every pattern implies.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

REDACTED = "[REDACTED]"

_KEY_PATTERN = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]+"  # Anthropic (sk-ant-api03-…, sk-ant-admin01-…), any length
    r"|(?<![A-Za-z0-9])sk-(?:proj-)?[A-Za-z0-9_\-]{20,}"  # OpenAI and look-alikes
    r"|(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub classic/OAuth/app tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"  # GitHub fine-grained tokens
    r"|(?<![A-Za-z0-9])glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35,}"  # Google API keys
    r"|(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36,}"  # npm
    r"|(?<![A-Za-z0-9])pypi-AgE[A-Za-z0-9_\-]{50,}"  # PyPI upload tokens
    r"|(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"  # AWS access key ids
)
# an AWS secret access key: 40 of base64's characters alone, with upper, lower and a digit, on a line that
# names AWS (alone, forty such characters are as likely a hash or a piece of base64)
_AWS_SECRET = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])"
    r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)
# "Authorization: Bearer <token>", in the spellings HTTP clients use (Bearer, bearer, BEARER).
_BEARER_PATTERN = re.compile(r"(\b(?:[Bb]earer|BEARER)\s+)[A-Za-z0-9._~+/=\-]{8,}")
# NAME=value, NAME: value, "name": "value", name = 'value' — where NAME says it is a secret. A value that
# reads a variable or calls something ($X, ${X}, os.environ[...], getenv(...)) is code, not a secret.
_ASSIGNED = re.compile(
    r"""(?ix)
    (\b[A-Z0-9_.\-]*(?:_KEY|_TOKEN|_SECRET|SECRET_KEY|PASSWORD|PASSWD|_PASS|_PWD|_CREDENTIALS|_AUTH)\b
     ["']?\s*(?::=|=|:)\s*)
    (?!\$|%|\{|\[|<|os\.|process\.env|getenv|env\[|none\b|null\b|true\b|false\b|["']{2})
    ("[^"\n]+"|'[^'\n]+'|[^\s"',;)}\]]+)
    """
)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
# Every pattern above needs one of these (in lower case), or a secret-sounding name followed by = or :.
_PREFIXES = ("sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "aiza", "hf_", "npm_",
             "pypi-", "akia", "asia", "earer", "private key", "aws")
_NAMES = ("key", "token", "secret", "pass", "pwd", "credential", "auth")


def _trie_pattern(words: Sequence[str]) -> str:
    """A regex matching any of ``words``, as a trie (``s(?:k-|…)|g(?:h…)``): one pass over a text tries only
    the words that start with the character at hand, where testing each word is a pass of its own."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, dict]) -> str:
        arms = [re.escape(char) + branch(child) for char, child in sorted(node.items()) if char]
        if not arms:
            return ""
        either = arms[0] if len(arms) == 1 else "(?:" + "|".join(arms) + ")"
        return f"(?:{either})?" if "" in node else either

    return branch(root)


# One pass for every prefix (on lower case) instead of one pass each: the usual batch has none of them.
_PREFIX_HINTS = re.compile(_trie_pattern(_PREFIXES))
_NAME_THEN_VALUE = re.compile(r"(?:key|token|secret|pass(?:word|wd)?|pwd|credentials?|auth)[\"']?\s*[:=]")  # on lower case

_SECRET_NAME = re.compile(r"(?:^|_)(?:API_KEY|TOKEN|SECRET|KEY|PASSWORD)$", re.IGNORECASE)
MIN_ENV_SECRET = 8


def secret_env_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The values (≥ 8 characters) of ``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD`` variables,
    longest first."""
    values = {v for k, v in environ.items() if len(v) >= MIN_ENV_SECRET and _SECRET_NAME.search(k)}
    return tuple(sorted(values, key=len, reverse=True))


def _maybe(text: str) -> bool:
    """False when no pattern can match ``text``: one pass for the prefixes, a few substring tests and one
    small regex for the names."""
    low = text.lower()
    if _PREFIX_HINTS.search(low) is not None:
        return True
    return any(name in low for name in _NAMES) and _NAME_THEN_VALUE.search(low) is not None


def _assigned(match: re.Match[str]) -> str:
    value = match.group(2)
    quote = value[0] if value[0] in "\"'" else ""
    return match.group(1) + quote + REDACTED + quote


class Redactor:
    """Replaces every secret in a text with ``[REDACTED]``; built once, used for every line."""

    def __init__(self, literals: tuple[str, ...] = ()) -> None:
        self.literals = literals

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Redactor":
        return cls(secret_env_values(os.environ if environ is None else environ))

    def __call__(self, text: str) -> str:
        """``text`` without its secrets (a private key block in it is cut from its BEGIN line on)."""
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        if not _maybe(text):
            return text
        return self._patterns(text)

    def _patterns(self, text: str) -> str:
        begin = _PEM_BEGIN.search(text)
        if begin is not None:
            end = _PEM_END.search(text, begin.end())
            tail = text[end.start():] if end is not None else ""
            text = text[: begin.end()] + REDACTED + tail
        text = _KEY_PATTERN.sub(REDACTED, text)
        if "aws" in text.lower():
            text = _AWS_SECRET.sub(REDACTED, text)
        text = _ASSIGNED.sub(_assigned, text)
        return _BEARER_PATTERN.sub(lambda m: m.group(1) + REDACTED, text)

    def lines(self, lines: Sequence[str], in_key: bool = False) -> tuple[Sequence[str], bool]:
        """Every line redacted, and whether the batch ends inside a private key block (give that back as
        ``in_key`` with the next batch of the same stream). The usual batch, with no secret in it, is
        returned as it is."""
        blob = "\n".join(lines)
        if not in_key and not any(literal in blob for literal in self.literals) and not _maybe(blob):
            return lines, False
        out = []
        for line in lines:
            if in_key:
                end = _PEM_END.search(line)
                if end is None:
                    out.append(REDACTED)
                    continue
                in_key = False
                out.append(self(line))
                continue
            begin = _PEM_BEGIN.search(line)
            if begin is not None and _PEM_END.search(line, begin.end()) is None:
                in_key = True
            out.append(self(line))
        return out, in_key


_default = Redactor.from_environ()


def redact(text: str) -> str:
    """``text`` with keys, tokens, passwords and secret environment values (as of import) replaced."""
    return _default(text)


def redact_lines(lines: Sequence[str]) -> Sequence[str]:
    """:func:`redact` applied to each line of one batch (a private key block ends with the batch)."""
    return _default.lines(lines)[0]
