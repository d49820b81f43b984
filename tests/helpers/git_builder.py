"""Build small git repositories for tests, with every commit at a date the test chooses.

    repo = GitBuilder(tmp_path / "repo")           # on branch main, clock at T0
    base = repo.commit("base", {"a.py": "x = 1\\n"})  # writes the files, commits at the clock
    repo.tick(hours=2)                               # the clock moves only when asked
    repo.commit("more", {"a.py": None})              # None deletes a file

Dates go to both GIT_AUTHOR_DATE and GIT_COMMITTER_DATE (``@<epoch> +0000``), also for commits
that git makes itself (merge, rebase, cherry-pick, revert), so horizons are deterministic. No
global or system config is read; the identity is fixed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC
HOUR = 3_600
DAY = 86_400


class GitBuilder:
    def __init__(self, path: Path, clock: int = T0, branch: str = "main") -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.git("init", "-q", "-b", branch)

    # ------------------------------------------------------------------ running git

    def env(self) -> dict[str, str]:
        date = f"@{self.clock} +0000"
        return {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test Author",
            "GIT_COMMITTER_EMAIL": "test@example.com",
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_DATE": date,
            "GIT_EDITOR": "true",
            "GIT_SEQUENCE_EDITOR": "true",
        }

    def git(self, *args: str, input: str | None = None) -> str:
        done = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
            cwd=self.path,
            input=input,
            capture_output=True,
            text=True,
            env=self.env(),
        )
        if done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout.rstrip("\n")

    def rev(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", "--verify", f"{rev}^{{commit}}")

    # ------------------------------------------------------------------ the clock

    def tick(self, seconds: int = 0, *, hours: float = 0, days: float = 0) -> int:
        self.clock += int(seconds + hours * HOUR + days * DAY)
        return self.clock

    # ------------------------------------------------------------------ files and commits

    def write(self, files: dict[str, str | bytes | None]) -> None:
        """Write (str or bytes) or delete (None) files of the work tree."""
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_bytes(content.encode("utf-8"))

    def read(self, name: str) -> str:
        return (self.path / name).read_text(encoding="utf-8")

    def commit(self, message: str, files: dict[str, str | bytes | None] | None = None, tick: int = 60) -> str:
        """Write ``files``, commit everything at the clock, then move the clock on by ``tick`` seconds."""
        if files:
            self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self.clock += tick
        return self.rev()

    def move(self, old: str, new: str, message: str | None = None, tick: int = 60) -> str:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)
        return self.commit(message or f"move {old} to {new}", tick=tick)

    # ------------------------------------------------------------------ branches and history

    def checkout(self, branch: str, create_from: str | None = None) -> None:
        if create_from is None:
            self.git("checkout", "-q", branch)
        else:
            self.git("checkout", "-q", "-b", branch, create_from)

    def merge(self, branch: str, message: str | None = None, ff: bool = False, tick: int = 60) -> str:
        args = ["merge", "-q", "--ff" if ff else "--no-ff"]
        if not ff:
            args += ["-m", message or f"Merge {branch}"]
        self.git(*args, branch)
        self.clock += tick
        return self.rev()

    def squash_merge(self, branch: str, message: str, tick: int = 60) -> str:
        self.git("merge", "-q", "--squash", branch)
        return self.commit(message, tick=tick)

    def rebase(self, onto: str, tick: int = 60) -> str:
        self.git("rebase", "-q", onto)
        self.clock += tick
        return self.rev()

    def cherry_pick(self, *commits: str, tick: int = 60) -> str:
        self.git("cherry-pick", *commits)
        self.clock += tick
        return self.rev()

    def revert(self, commit: str, message: str | None = None, tick: int = 60) -> str:
        """``git revert``; with ``message``, the revert is committed with that message instead."""
        if message is None:
            self.git("revert", "--no-edit", commit)
        else:
            self.git("revert", "--no-commit", commit)
            self.git("commit", "-q", "-m", message)
        self.clock += tick
        return self.rev()

    def delete_branch(self, branch: str) -> None:
        self.git("branch", "-D", branch)

    def gc(self) -> None:
        """Forget everything unreachable: expire every reflog and prune at once."""
        self.git("reflog", "expire", "--expire=now", "--all")
        self.git("gc", "-q", "--prune=now")

    def exists(self, rev: str) -> bool:
        done = subprocess.run(
            ["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=self.path, capture_output=True, env=self.env()
        )
        return done.returncode == 0


def lines(n: int, prefix: str = "line", start: int = 1) -> str:
    """``n`` distinct meaningful lines, "<prefix> <i> ..." each, newline-terminated."""
    return "".join(f"{prefix} {i} = compute_something({i})\n" for i in range(start, start + n))


def func(name: str, n: int = 6) -> str:
    """A function of ``n`` long, distinct lines (long enough for blame -M/-C to follow them)."""
    body = "".join(
        f"    value_{i} = compute_the_{name}_quantity_number_{i}(argument_{i}, other_{i})\n"
        for i in range(n)
    )
    return f"def {name}():\n{body}    return value_0\n"


def feature_commits(gb: GitBuilder) -> list[str]:
    """Three commits on a new branch ``feature`` from main, 19 meaningful lines (feat.py, util.py);
    the branch stays checked out."""
    gb.checkout("feature", create_from="main")
    return [
        gb.commit("s1", {"feat.py": func("alpha")}),
        gb.commit("s2", {"util.py": lines(5, "util")}),
        gb.commit("s3", {"feat.py": func("alpha") + func("beta", 4)}),
    ]


def land_and_forget(gb: GitBuilder, rewrite: str) -> None:
    """Land branch ``feature`` on main rewritten (``rebase`` then fast-forward, or ``squash``), delete the
    branch, a day later delete 2 of util.py's 5 lines, and garbage-collect: the branch's own commits are
    gone from the repository."""
    if rewrite == "rebase":
        gb.checkout("feature")
        gb.rebase("main")
        gb.checkout("main")
        gb.merge("feature", ff=True)
    else:
        gb.squash_merge("feature", "Add feature (squashed)")
    gb.delete_branch("feature")
    gb.tick(days=1)
    gb.commit("delete util 2 lines", {"util.py": lines(3, "util")})
    gb.gc()
