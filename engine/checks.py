"""Checks: a command run in the task's worktree after its agent stops; the task succeeds only if it passes.

A task's ``check`` (or the plan's, for every task that does not opt out with ``check = ""`` or
``false``) is a command line run with ``bash -c`` or an argv array. It runs in the task's worktree,
in its own process group (:class:`~engine.process.GroupProcess`), with its own timeout
(``check_timeout``, default :data:`DEFAULT_CHECK_TIMEOUT`) that counts running time only (a paused
check does not use it up). Its output streams into the task's log as stream ``check``.

The check runs only when the agent succeeded, after the agent's work was committed on the task
branch; what the check itself leaves in the worktree (``__pycache__``, reports...) is removed
afterwards, so it never becomes part of the task's work.

Counts: the end of the output is read for a test summary, in this order:

- unittest: ``Ran 5 tests in 0.01s`` followed by ``OK`` / ``OK (skipped=1)`` /
  ``FAILED (failures=1, errors=2)``;
- pytest: ``3 passed, 1 failed, 2 errors in 0.12s`` (with or without the ``===`` borders), and
  ``no tests ran in 0.01s``;
- a plain line of counts: ``5 passed, 1 failed`` (also ``Tests: 1 failed, 3 passed, 4 total``).

The exit status decides whether the check passed; the counts are what the pane shows.

When the check fails and the task has ``retries`` left, the next attempt of the agent (same worktree)
gets :func:`feedback_text`: the command, the counts and the last :data:`FEEDBACK_LINES` lines (at
most :data:`FEEDBACK_CHARS` characters) of its output. How it reaches the agent is in
:mod:`engine.roles` (:func:`~engine.roles.compose_prompt`).
"""
from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from engine.agents.base import CannotTakeMessage
from engine.durations import format_duration
from engine.process import GroupProcess

STREAM = "check"
DEFAULT_CHECK_TIMEOUT = 600.0
TAIL_LINES = 200  # lines of output kept: the counts are read there, the feedback is cut from it
FEEDBACK_LINES = 60
FEEDBACK_CHARS = 6000

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_WORD = r"(?:passed|failed|errors?|skipped|xfailed|xpassed|warnings?|deselected|rerun|total|todo|pending)"
_ITEM = re.compile(rf"(\d+) ({_WORD})\b")
_SUMMARY = re.compile(
    rf"^[=\s-]*(?:[A-Za-z][A-Za-z ]*:\s*)?"
    rf"(?P<items>\d+ {_WORD}(?:,?\s+\d+ {_WORD})*)"
    rf"(?P<time>\s+in\s+[\d.]+\s*s\b.*?)?[=\s-]*$"
)
_NO_TESTS = re.compile(r"^[=\s-]*no tests ran\b")
_RAN = re.compile(r"^Ran (\d+) tests? in ")
_UNITTEST_END = re.compile(r"^(OK|FAILED)\b(?:\s*\((?P<details>[^)]*)\))?\s*$")


@dataclass(frozen=True, slots=True)
class CheckCounts:
    """The tests a check reported. ``source``: ``pytest``, ``unittest`` or ``plain``."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    source: str = ""

    def describe(self) -> str:
        """``3 passed, 1 failed, 2 errors`` (zero counts left out; ``no tests ran`` when all are)."""
        parts = [f"{n} {word}" for n, word in (
            (self.passed, "passed"), (self.failed, "failed"),
            (self.errors, "error" if self.errors == 1 else "errors"), (self.skipped, "skipped"),
        ) if n]
        return ", ".join(parts) or "no tests ran"

    def as_dict(self) -> dict[str, object]:
        return {"passed": self.passed, "failed": self.failed, "errors": self.errors, "skipped": self.skipped,
                "source": self.source}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """How a check went. ``ok`` is the verdict (exit status 0, in time)."""

    command: str
    ok: bool
    exit_code: int | None  # None: it could not be started
    counts: CheckCounts | None
    timed_out: bool = False
    seconds: float = 0.0
    tail: tuple[str, ...] = ()  # the last lines of its output (at most TAIL_LINES)
    error: str = ""  # why it could not be started

    def describe(self) -> str:
        """``passed (3 passed)``, ``failed: exit 1 (1 failed, 2 passed)``, ``timed out after 10m00s``."""
        counts = f" ({self.counts.describe()})" if self.counts is not None else ""
        if self.ok:
            return f"passed{counts}"
        if self.error:
            return f"could not start: {self.error}"
        if self.timed_out:
            return f"timed out after {format_duration(self.seconds)}{counts}"
        if self.exit_code is not None and self.exit_code < 0:
            return f"failed: killed by signal {-self.exit_code}{counts}"
        return f"failed: exit {self.exit_code}{counts}"

    def as_dict(self) -> dict[str, object]:
        return {"command": self.command, "ok": self.ok, "exit_code": self.exit_code,
                "timed_out": self.timed_out, "counts": self.counts.as_dict() if self.counts else None}


def check_text(argv: tuple[str, ...]) -> str:
    """The check as the user wrote it: the command line of ``bash -c LINE``, else the argv quoted."""
    if len(argv) == 3 and argv[0] == "bash" and argv[1] == "-c":
        return argv[2]
    return shlex.join(argv)


# ------------------------------------------------------------------------------------ counts
def parse_counts(lines: list[str] | tuple[str, ...]) -> CheckCounts | None:
    """The test counts in the end of a check's output, or None when it holds no summary."""
    cleaned = [_ANSI.sub("", line).strip() for line in lines]
    for i in range(len(cleaned) - 1, -1, -1):
        line = cleaned[i]
        if not line:
            continue
        end = _UNITTEST_END.match(line)
        if end is not None:
            for j in range(i - 1, max(-1, i - 6), -1):
                ran = _RAN.match(cleaned[j])
                if ran is not None:
                    return _unittest(int(ran.group(1)), end.group(1), end.group("details") or "")
        if _NO_TESTS.match(line):
            return CheckCounts(source="pytest")
        summary = _SUMMARY.match(line)
        if summary is not None:
            found: dict[str, int] = {}
            for number, word in _ITEM.findall(summary.group("items")):
                key = {"error": "errors", "warning": "warnings"}.get(word, word)
                found[key] = found.get(key, 0) + int(number)
            if not ({"passed", "failed", "errors", "skipped", "total"} & found.keys()):
                continue  # e.g. "3 warnings" alone is no test summary
            return CheckCounts(
                passed=found.get("passed", 0) + found.get("xpassed", 0),
                failed=found.get("failed", 0),
                errors=found.get("errors", 0),
                skipped=found.get("skipped", 0) + found.get("xfailed", 0) + found.get("deselected", 0),
                source="pytest" if summary.group("time") else "plain",
            )
    return None


def _unittest(ran: int, verdict: str, details: str) -> CheckCounts:
    values: dict[str, int] = {}
    for part in details.split(","):
        name, _, number = part.strip().partition("=")
        if number.strip().isdigit():
            values[name.strip()] = int(number)
    failed = values.get("failures", 0) + values.get("unexpected successes", 0)
    errors = values.get("errors", 0)
    skipped = values.get("skipped", 0) + values.get("expected failures", 0)
    return CheckCounts(max(0, ran - failed - errors - skipped), failed, errors, skipped, "unittest")


# ------------------------------------------------------------------------------------ feedback
def feedback_text(result: CheckResult) -> str:
    """What the agent's next attempt is told about the failed check (bounded)."""
    tail = list(result.tail[-FEEDBACK_LINES:])
    while tail and not tail[-1].strip():
        tail.pop()
    size = 0
    kept: list[str] = []
    for line in reversed(tail):
        size += len(line) + 1
        if size > FEEDBACK_CHARS:
            kept.append("[... earlier output cut ...]")
            break
        kept.append(line)
    kept.reverse()
    head = (f"The check `{result.command}` failed after your previous attempt ({result.describe()}). "
            "Your work so far is still in the worktree. Find the cause and fix it so that the check passes.")
    if not kept:
        return head + "\nIt printed nothing."
    return head + "\nThe end of its output:\n" + "\n".join(kept)


# ------------------------------------------------------------------------------------ running
class CheckRunner:
    """Runs one check; while it runs it stands where the task's agent stood, so the engine's pause,
    resume and cancel reach it (a message cannot: the agent has finished)."""

    accepts_messages = False

    def __init__(self, argv: tuple[str, ...], workdir: str, env: dict[str, str], timeout: float,
                 emit: Callable[[str, list[str]], None], grace: float = 3.0) -> None:
        self.argv = argv
        self.workdir = workdir
        self.env = env
        self.timeout = timeout
        self.emit = emit
        self.grace = grace
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._proc: GroupProcess | None = None
        self._stopped = False
        self._paused = False
        self._changed = asyncio.Event()
        self._carry = 0.0  # running seconds before the last pause
        self._since: float | None = None

    def _elapsed(self) -> float:
        if self._since is None:
            return self._carry
        return self._carry + time.monotonic() - self._since

    def _on_lines(self, stream: str, lines: list[str]) -> None:
        self._tail.extend(lines)
        self.emit(STREAM, lines)

    async def run(self) -> CheckResult:
        command = check_text(self.argv)
        self._since = None if self._paused else time.monotonic()
        try:
            proc = await GroupProcess.start(list(self.argv), self.workdir, self.env, self._on_lines)
        except OSError as exc:
            error = f"{self.argv[0]}: {exc.strerror or exc}"
            self.emit(STREAM, [f"cannot start the check: {error}"])
            return CheckResult(command, False, None, None, error=error)
        self._proc = proc
        if self._stopped:
            await proc.terminate(0.5)
        elif self._paused:
            proc.pause()
        waiter = asyncio.ensure_future(proc.wait())
        timed_out = False
        try:
            while not waiter.done():
                self._changed.clear()
                left = None if self._paused else self.timeout - self._elapsed()
                if left is not None and left <= 0:
                    timed_out = True
                    self.emit(STREAM, [f"the check's timeout of {format_duration(self.timeout)} was reached: "
                                       "stopping it"])
                    await proc.terminate(self.grace)
                    break
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({waiter, changed}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
            code = await waiter
        finally:
            if not waiter.done():  # cancelled from outside: end the group, leave nothing behind
                await proc.terminate(0.5)
                waiter.cancel()
        seconds = self._elapsed()
        tail = tuple(self._tail)
        ok = code == 0 and not timed_out and not self._stopped
        return CheckResult(command, ok, code, parse_counts(tail), timed_out, seconds, tail)

    def pause(self) -> None:
        if not self._paused:
            self._paused = True
            if self._since is not None:
                self._carry += time.monotonic() - self._since
                self._since = None
            if self._proc is not None:
                self._proc.pause()
            self._changed.set()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._since = time.monotonic()
            if self._proc is not None:
                self._proc.resume()
            self._changed.set()

    async def stop(self, grace: float) -> None:
        self._stopped = True
        if self._proc is not None:
            await self._proc.terminate(grace)

    async def send(self, text: str) -> None:
        raise CannotTakeMessage("the agent has finished and its check is running: it takes no message")
