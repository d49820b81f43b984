from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from engine import redact as redact_module
from engine.redact import REDACTED, Redactor, redact, redact_lines, secret_env_values
from tests.helpers.paths import ROOT

ANTHROPIC = "sk-ant-api03-AbCdEf_0123456789-ghIJKLmnopQRstuVWxyz_0123456789AA"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key={ANTHROPIC} end", f"key={REDACTED} end"),
        ("sk-ant-admin01-xyz", REDACTED),
        ("OPENAI sk-proj-abcdefghijklmnopqrstuvwx12 ok", f"OPENAI {REDACTED} ok"),
        ("old sk-abcdefghijklmnopqrstuvwxyz0123", f"old {REDACTED}"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789!", f"token {REDACTED}!"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", REDACTED),
        ("aws AKIAIOSFODNN7EXAMPLE here", f"aws {REDACTED} here"),
        ("Authorization: Bearer eyJhbGciOi.J9x-_/+=", f"Authorization: Bearer {REDACTED}"),
        ('{"authorization": "bearer abcdefgh12345678"}', f'{{"authorization": "bearer {REDACTED}"}}'),
    ],
)
def test_secrets_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "sk-short is not a key",
        "task-abcdefghijklmnopqrstuvwxyz0123 is a branch name, not a key",
        "a bearer of bad news",
        "AKIA too short",
        "plain log line: 12 passed, 0 failed in 0.42s",
        "",
    ],
)
def test_harmless_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_clean_line_is_returned_as_is() -> None:
    line = "compiling src/app/models.py (123 ms)"
    assert redact(line) is line


def test_secret_environment_values() -> None:
    env = {
        "MY_API_KEY": "supersecretvalue",
        "GITHUB_TOKEN": "tok-1234567890",
        "DB_SECRET": "hunter2hunter2",
        "SHORT_TOKEN": "abc",  # too short to be worth hiding: would redact ordinary words
        "HOME": "/root/not-a-secret",
        "TOKENIZER": "not-matched-name",
    }
    assert set(secret_env_values(env)) == {"supersecretvalue", "tok-1234567890", "hunter2hunter2"}
    red = Redactor.from_environ(env)
    assert red("export X=supersecretvalue; curl -H tok-1234567890") == f"export X={REDACTED}; curl -H {REDACTED}"
    assert red("abc /root/not-a-secret not-matched-name") == "abc /root/not-a-secret not-matched-name"


def test_environment_is_read_at_import_time() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACME_API_KEY": "zz-literal-secret-zz"}
    out = subprocess.run(
        [sys.executable, "-c", "from engine.redact import redact; print(redact('use zz-literal-secret-zz now'))"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )
    assert out.stdout.strip() == f"use {REDACTED} now"


def test_batch_of_lines() -> None:
    clean = ("one", "two", "three")
    assert redact_lines(clean) is clean  # no work per line when no line can hold a secret
    mixed = ("one", f"key {ANTHROPIC}", "Bearer abcdefghijkl")
    assert list(redact_lines(mixed)) == ["one", f"key {REDACTED}", f"Bearer {REDACTED}"]
    assert list(redact_lines((f"x {ANTHROPIC}",))) == [f"x {REDACTED}"]


_KEY_CHARS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=80
)


@given(prefix=st.text(max_size=40), key=_KEY_CHARS, suffix=st.text(max_size=40))
def test_no_anthropic_key_survives(prefix: str, key: str, suffix: str) -> None:
    out = redact(prefix + "sk-ant-" + key + suffix)
    assert not re.search(r"sk-ant-[A-Za-z0-9_\-]", out)


@given(st.text(max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


_PIECES = st.sampled_from(
    ["sk-ant-", "sk-", "proj-", "abcdefghijklmnopqrstuvwxyz", "0123456789", "Bearer ", "bearer", "BEARER ", "ghp_",
     "github_pat_", "AKIA", "IOSFODNN7EXAMPLE", " ", "-", "_", "x", "é", "\t"]
)


@given(st.lists(st.lists(_PIECES, max_size=8).map("".join), max_size=6))
def test_batch_is_the_same_as_line_by_line(lines: list[str]) -> None:
    assert list(redact_lines(tuple(lines))) == [redact(line) for line in lines]


@pytest.mark.parametrize(("text", "expected"), [
    ("ANTHROPIC_API_KEY=plainkeywithoutprefix", f"ANTHROPIC_API_KEY={REDACTED}"),
    ("export OPENAI_API_KEY='two words'", f"export OPENAI_API_KEY='{REDACTED}'"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", f"AWS_SECRET_ACCESS_KEY={REDACTED}"),
    ("aws secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", f"aws secret: {REDACTED}"),
    ('{"password": "hunter2"}', f'{{"password": "{REDACTED}"}}'),
    ("DB_PASSWORD: s3cr3t!", f"DB_PASSWORD: {REDACTED}"),
    ("service_token=abc123", f"service_token={REDACTED}"),
    ("CLIENT_SECRET = 'xyz'", f"CLIENT_SECRET = '{REDACTED}'"),
    ("glpat-abcdefghijklmnopqrstuvwx", REDACTED),
    ("xoxb-1234567890-abcdefghij", REDACTED),
    ("AIzaSyA-abcdefghijklmnopqrstuvwxyz0123456", REDACTED),
    ("hf_abcdefghijklmnopqrstuvwxyz012345", REDACTED),
    ("npm_abcdefghijklmnopqrstuvwxyz0123456789", REDACTED),
    ("-----BEGIN OPENSSH PRIVATE KEY-----b3BlbnNzaC1rZXk-----END OPENSSH PRIVATE KEY-----",
     f"-----BEGIN OPENSSH PRIVATE KEY-----{REDACTED}-----END OPENSSH PRIVATE KEY-----"),
])
def test_assignments_aws_keys_private_keys_and_more_prefixes(text: str, expected: str) -> None:
    assert Redactor(())(text) == expected


@pytest.mark.parametrize("text", [
    "max_tokens = 4096",
    "input_tokens: 120, output_tokens: 8",
    "api_key = os.environ['ANTHROPIC_API_KEY']",
    "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
    "token = None",
    "commit 3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a",  # a hash is not an AWS key
    "x wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # forty such characters alone, with no word of AWS
])
def test_code_and_counts_are_not_taken_for_secrets(text: str) -> None:
    assert Redactor(())(text) == text


def test_a_private_key_block_over_several_lines() -> None:
    lines = ["before", "-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA", "x4Ukpw0KFAKE", "-----END RSA PRIVATE KEY-----",
             "after"]
    out, inside = Redactor(()).lines(lines)
    assert list(out) == ["before", f"-----BEGIN RSA PRIVATE KEY-----{REDACTED}", REDACTED, REDACTED,
                         "-----END RSA PRIVATE KEY-----", "after"]
    assert not inside


# Text made of the hints' own pieces, so that most draws hold a hint or nearly one.
_PIECES = st.sampled_from(["sk-", "s", "k", "-", "gh", "p_", "github_pat_", "glpat-", "xox", "aiza", "hf_", "npm_",
                           "pypi-", "AKIA", "asia", "Bearer ", "earer", "private key", "PRIVATE KEY", "aws", "key",
                           "token", "secret", "pass", "word", "pwd", "credential", "auth", "=", ":", " ", "\n",
                           "x", "_", "'", '"', "ö"])


@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_one_pass_prefilter_says_what_the_substring_tests_say(text: str) -> None:
    """The prefilter finds every hint in one pass; it must let through exactly what a test of each hint does."""
    low = text.lower()
    by_substrings = any(hint in low for hint in redact_module._PREFIXES) or (
        any(name in low for name in redact_module._NAMES) and redact_module._NAME_THEN_VALUE.search(low) is not None)
    assert redact_module._maybe(text) == by_substrings
