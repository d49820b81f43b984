"""Agent text made harmless for a terminal: every control sequence but colour removed, whole."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from engine.agent_text import AgentText
from engine.terminal_text import plain, safe_lines, safe_text

SGR = re.compile(r"\x1b\[[0-9;:]*m")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b]52;c;cHduZWQ=\x07after", "after"),  # OSC 52: the clipboard
    ("\x1b]0;pwned\x1b\\title", "title"),  # OSC 0: the window title, ST-terminated
    ("a\x1b[?1049lb", "ab"),  # leave the alternate screen
    ("x\x1bcy", "xy"),  # full reset
    ("\x1b[2J\x1b[Hcleared", "cleared"),
    ("8-bit \x9b31mCSI", "8-bit 31mCSI"),  # the introducer goes; what is left is plain text
    ("bell\x07 and \x08backspace\rreturn", "bell and backspacereturn"),
    ("\x1bP+q544e\x1b\\dcs", "dcs"),
    ("link \x1b]8;;https://example.com/evil\x1b\\text\x1b]8;;\x1b\\", "link text"),
    ("cut at the end \x1b[", "cut at the end "),
    ("unterminated \x1b]0;title", "unterminated "),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
])
def test_control_sequences_are_removed_whole(text: str, shown: str) -> None:
    assert safe_text(text) == shown
    assert plain(text) == shown


def test_colour_is_kept_where_it_is_wanted_and_removed_where_not() -> None:
    text = "\x1b[1;31mFAILED\x1b[0m test_x"
    assert safe_text(text) == text
    assert plain(text) == "FAILED test_x"


def test_a_clean_batch_is_given_back_as_it_is() -> None:
    lines = ["one", "two é €", "tab\there"]
    assert safe_lines(lines) is lines
    coloured = ["\x1b[32mok\x1b[0m", "plain"]
    assert safe_lines(coloured) == coloured


@given(st.text(alphabet=st.sampled_from(list("\x1b[];?0123456789mcPX^_\\\x07\x9b\x9d\x90ab \t\r\n")) | st.characters(),
               max_size=60))
def test_nothing_but_colour_gets_through(text: str) -> None:
    out = safe_text(text)
    assert not CONTROL.search(SGR.sub("", out))
    assert not CONTROL.search(plain(text))
    assert safe_text(out) == out  # idempotent


def test_agent_text_is_safe_and_redacted_with_key_blocks_across_batches() -> None:
    text = AgentText({"MY_API_KEY": "env-secret-value-123"})
    assert text.lines("t", "stdout", ["\x1b]0;x\x07use env-secret-value-123", "-----BEGIN EC PRIVATE KEY-----"]) == [
        "use [REDACTED]", "-----BEGIN EC PRIVATE KEY-----[REDACTED]"]
    assert text.lines("t", "stderr", ["other stream"]) == ["other stream"]
    assert text.lines("t", "stdout", ["MHcCAQEEIBodyOfTheKey", "-----END EC PRIVATE KEY-----", "after"]) == [
        "[REDACTED]", "-----END EC PRIVATE KEY-----", "after"]
    assert text.text("done.\n\x1b[?1049lPASSWORD=hunter2hunter2") == "done.\nPASSWORD=[REDACTED]"
