"""The git command line for the survival measure: a small runner, ``git blame --porcelain`` and
``git patch-id --stable`` pipelines.

Blame runs through the git CLI in a subprocess (GitPython's blame builds Python objects line by line
and is slower), so several can run at once from a thread pool: each call is independent and holds
no lock (reads run with ``GIT_OPTIONAL_LOCKS=0``). Pathspecs are literal (``GIT_LITERAL_PATHSPECS=1``): a file
named ``*.py`` means that file only.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.git_output import stderr_line
from sessions.git.facts import GitFactsError

__all__ = [
    "Blame",
    "GitRunner",
    "PATCH_DIFF_OPTIONS",
    "parse_porcelain",
]

# Every knob of the diff that a patch-id depends on is pinned, so a patch-id stored in a fingerprint
# today compares with one computed later under another user configuration (diff.renames,
# diff.algorithm, diff.context, diff.noprefix, ...). A reversed patch needs its prefixes swapped:
# `git diff-tree -p -R` alone prints "diff --git b/f a/f", whose patch-id never matches the revert.
PATCH_DIFF_OPTIONS: tuple[str, ...] = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--diff-algorithm=myers",
    "--indent-heuristic",
    "-U3",
)
_FORWARD_PREFIXES = ("--src-prefix=a/", "--dst-prefix=b/")
_REVERSE_PREFIXES = ("-R", "--src-prefix=b/", "--dst-prefix=a/")

_HEADER = re.compile(rb"([0-9a-f]{40}|[0-9a-f]{64}) \d+ \d+")


def _env() -> dict[str, str]:
    # Read at each call: tests (and callers) may change the environment between calls.
    return {
        **os.environ,
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


class GitRunner:
    """Runs ``git`` in one repository; every method blocks."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd

    def status(self, *args: str, input: bytes | None = None) -> tuple[int, bytes, bytes]:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.cwd,
                input=input,
                capture_output=True,
                env=_env(),
            )
        except FileNotFoundError:
            raise GitFactsError("git is not installed or not on PATH") from None
        return done.returncode, done.stdout, done.stderr

    def run(self, *args: str, input: bytes | None = None, ok: tuple[int, ...] = (0,)) -> bytes:
        code, out, err = self.status(*args, input=input)
        if code not in ok:
            raise GitFactsError(stderr_line(err) or f"git {args[0]} failed in {self.cwd} (exit {code})")
        return out

    def text(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        return self.run(*args, ok=ok).decode("utf-8", "surrogateescape")

    # ------------------------------------------------------------------ patch-ids

    def patch_ids(
        self, revs: Sequence[str], paths: Iterable[str] | None = None, reverse: bool = False
    ) -> dict[str, str]:
        """``{commit: patch-id}`` of the non-merge commits of ``revs`` (``git patch-id --stable``).

        With ``paths``, only the commits touching one of them, but each with its whole patch.
        ``reverse``: the patch-id of the inverse patch, which is what a revert of the commit has.
        A commit with an empty patch has none.
        """
        log = [
            "git",
            "log",
            "--no-merges",
            "-p",
            "--full-diff",
            "--format=commit %H",
            *PATCH_DIFF_OPTIONS,
            *(_REVERSE_PREFIXES if reverse else _FORWARD_PREFIXES),
            *revs,
        ]
        if paths is not None:
            log += ["--", *paths]
        env = _env()
        # git log's errors go to a file: a pipe nobody reads while waiting for patch-id could fill
        with tempfile.TemporaryFile() as errors:
            try:
                producer = subprocess.Popen(log, cwd=self.cwd, stdout=subprocess.PIPE, stderr=errors, env=env)
            except FileNotFoundError:
                raise GitFactsError("git is not installed or not on PATH") from None
            try:
                consumer = subprocess.Popen(
                    ["git", "patch-id", "--stable"],
                    cwd=self.cwd,
                    stdin=producer.stdout,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
                out, _ = consumer.communicate()
            finally:
                assert producer.stdout is not None
                producer.stdout.close()  # a dead consumer must not leave the producer blocked
                producer.wait()
            if producer.returncode != 0:
                errors.seek(0)
                raise GitFactsError(stderr_line(errors.read()) or f"git log failed in {self.cwd}")
        ids: dict[str, str] = {}
        for line in out.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 2:
                ids[parts[1]] = parts[0]
        return ids

    # ------------------------------------------------------------------ blame

    def objects(self, specs: Sequence[str], content: bool = True) -> list[tuple[str | None, str, bytes]]:
        """(type, object id, content) of each ``<rev>:<path>`` or object id, in one ``cat-file``
        (``--batch``; ``--batch-check`` without ``content``, which then is always b"").

        A missing object, or a path holding a newline (the batch protocol is one name a line),
        gives (None, "", b"").
        """
        asked = [s for s in specs if "\n" not in s]
        found: dict[str, tuple[str | None, str, bytes]] = {}
        if asked:
            out = self.run(
                "cat-file", "--batch" if content else "--batch-check",
                input="".join(f"{s}\n" for s in asked).encode(),
            )
            pos = 0
            for spec in asked:
                eol = out.index(b"\n", pos)
                header = out[pos:eol].split()
                pos = eol + 1
                if len(header) != 3:  # "<spec> missing", "<spec> ambiguous"
                    found[spec] = (None, "", b"")
                    continue
                if content:
                    size = int(header[2])
                    found[spec] = (header[1].decode(), header[0].decode(), out[pos : pos + size])
                    pos += size + 1
                else:
                    found[spec] = (header[1].decode(), header[0].decode(), b"")
        return [found.get(s, (None, "", b"")) for s in specs]

    def blame(
        self,
        path: str,
        revs: Sequence[str],
        options: Sequence[str],
    ) -> "Blame":
        """``git blame --porcelain <options> <revs> -- path``, of the whole file: a blame limited to
        some lines (``-L``) cuts git's blocks, and so changes what ``-M``/``-C`` find (their score is
        per block). A path missing at the revision gives an empty Blame.
        """
        code, out, err = self.status("blame", "--porcelain", *options, *revs, "--", path)
        if code != 0:
            message = stderr_line(err) or f"git blame failed for {path}"
            if "no such path" in message:
                return Blame(path=path, commits={}, lines=[], missing=True)
            raise GitFactsError(message)
        commits, lines = parse_porcelain(out)
        return Blame(path=path, commits=commits, lines=lines, missing=False)


@dataclass
class BlameCommit:
    sha: str
    time: int  # committer time, seconds since the epoch
    boundary: bool  # blame stopped here: the line is older than the range asked for


@dataclass
class Blame:
    path: str
    commits: dict[str, BlameCommit]
    lines: list[tuple[str, bytes]]  # (commit, content without the newline), in file order
    missing: bool = False


def parse_porcelain(data: bytes) -> tuple[dict[str, BlameCommit], list[tuple[str, bytes]]]:
    """Commits and lines of ``git blame --porcelain`` output.

    Each line of the file is a header ``<sha> <orig> <final> [<count>]``, the commit's fields the
    first time the commit appears (``committer-time``, ``boundary``, ...) and the content after a
    TAB. Fields are keywords, never 40/64 hex digits, so a header is told apart by its form alone.
    """
    commits: dict[str, BlameCommit] = {}
    lines: list[tuple[str, bytes]] = []
    current: BlameCommit | None = None
    for raw in data.split(b"\n"):
        if raw[:1] == b"\t":
            if current is not None:
                lines.append((current.sha, raw[1:]))
            continue
        if not raw:
            continue
        if _HEADER.match(raw):
            sha = raw[: raw.index(b" ")].decode("ascii")
            found = commits.get(sha)
            if found is None:
                found = commits[sha] = BlameCommit(sha=sha, time=0, boundary=False)
            current = found
        elif current is not None:
            if raw == b"boundary":
                current.boundary = True
            elif raw.startswith(b"committer-time "):
                try:
                    current.time = int(raw[15:])
                except ValueError:
                    pass
    return commits, lines
