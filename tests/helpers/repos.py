"""Real git repositories for tests: git with a fixed identity, a repository maker, a checkout's snapshot."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

IDENTITY = {"name": "Test Author", "email": "test@example.com"}


def git(cwd: str | Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd`` with a fixed identity; its stdout without the final newline."""
    done = subprocess.run(
        ["git", "-c", f"user.name={IDENTITY['name']}", "-c", f"user.email={IDENTITY['email']}",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd, capture_output=True, text=True,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.rstrip("\n")


def make_git_repo(path: Path, files: dict[str, str] | None = None, commit: bool = True) -> Path:
    """A git repository at ``path`` on branch ``main`` with ``files`` in a first commit."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "-b", "main")
    for name, text in (files if files is not None else {"README.md": "hello\nworld\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if commit:
        git(path, "add", "--all")
        git(path, "commit", "--quiet", "--allow-empty", "-m", "first commit")
    return path


def checkout_snapshot(path: Path) -> dict[str, Any]:
    """What the user sees of their checkout: HEAD, branch, status, every file's bytes."""
    files = {}
    for p in sorted(path.rglob("*")):
        if ".git" in p.relative_to(path).parts or not p.is_file():
            continue
        files[str(p.relative_to(path))] = p.read_bytes()
    return {
        "head": git(path, "rev-parse", "HEAD"),
        "branch": git(path, "branch", "--show-current"),
        "status": git(path, "status", "--porcelain", "--untracked-files=all"),
        "index": git(path, "diff", "--cached"),
        "files": files,
    }
