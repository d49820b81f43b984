"""Text from an agent made harmless for a terminal: what it prints can never drive the user's terminal.

An agent's output is untrusted. A terminal acts on control sequences found in text: OSC 52 sets the
clipboard, OSC 0 the window title, ``ESC[?1049l`` leaves the alternate screen under a running TUI,
``ESC c`` resets the terminal, an 8-bit CSI (``\\x9b``) does on some terminals what ``ESC[`` does.
:func:`safe_lines` removes every such sequence and every other control character (tab and newline are kept),
whole: an OSC's payload goes with it, so nothing of it reaches the screen, the store or an export.

Colour (SGR, ``ESC[…m``) is the one sequence kept: it only colours text and it is what test runners
and compilers print. Where even colour is not wanted (a pane, Markdown), :func:`plain` removes it too.

The engine applies :func:`safe_lines` where an agent's text enters the event stream, so the store,
the panes, the headless printer and the exports all receive text that is already safe.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

# One alternation, tried left to right at each ESC or control character:
_UNSAFE = re.compile(
    r"(\x1b\[[0-9;:]{0,64}m)"  # group 1: SGR, kept
    r"|\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # any other CSI (a cut one to the end of what came)
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC: title, clipboard, hyperlinks, colours...
    r"|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?"  # DCS, SOS, PM, APC: strings with a payload
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"  # two-character sequences (ESC c, ESC 7, ESC =...) and a lone ESC
    r"|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]"  # other C0 controls but tab and newline, DEL, the C1 set
)
_SGR = re.compile(r"\x1b\[[0-9;:]{0,64}m")
# everything _UNSAFE could match starts with one of these
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _keep_sgr(match: re.Match[str]) -> str:
    return match.group(1) or ""


def safe_text(text: str) -> str:
    """``text`` without any control sequence or character but SGR colour, tab and newline."""
    if _CONTROL.search(text) is None:
        return text
    return _UNSAFE.sub(_keep_sgr, text)


def safe_lines(lines: Sequence[str]) -> Sequence[str]:
    """:func:`safe_text` of each line; the usual batch, with no control character, comes back as it is
    (one scan of the batch joined by newlines, which are never unsafe)."""
    if _CONTROL.search("\n".join(lines)) is None:
        return lines
    return [safe_text(line) for line in lines]


def plain(text: str) -> str:
    """``text`` made safe and without colour either (for a pane, Markdown, a file)."""
    text = safe_text(text)
    return _SGR.sub("", text) if "\x1b" in text else text


def plain_lines(lines: Sequence[str]) -> Sequence[str]:
    """:func:`plain` of each line; a batch without any control character comes back as it is."""
    if _CONTROL.search("\n".join(lines)) is None:
        return lines
    return [plain(line) for line in lines]
