"""What the runs left in a repository: the ``cockpit/`` task branches and their worktrees, and removing them.

Each task of a run works on its own branch ``cockpit/<run>/<task>`` in its own linked worktree (see
:mod:`engine.worktrees`). Accepting a task merges its branch and removes its worktree; discarding it
deletes both; every other task leaves both behind. This module finds them, tells what removing one
would lose (commits that no branch kept holds, edits not committed in its worktree) and removes them.
The functions block (they run ``git``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import git

from engine.git_output import stderr_line
from engine.worktrees import BRANCH_PREFIX, WorktreeManager, open_repo

# Reading commands must not take index.lock, so looking never collides with git running elsewhere.
_READ_ENV = {"GIT_OPTIONAL_LOCKS": "0"}


@dataclass(frozen=True)
class TaskRef:
    """A ``cockpit/`` branch (``sha`` None: only its worktree is left) and its linked worktree, if any."""

    branch: str
    sha: str | None
    worktree: str | None

    @property
    def run_id(self) -> str:
        return self.branch[len(BRANCH_PREFIX):].split("/", 1)[0]

    @property
    def task_id(self) -> str:
        rest = self.branch[len(BRANCH_PREFIX):].split("/", 1)
        return rest[1] if len(rest) > 1 else ""


def task_refs(root: str | os.PathLike[str]) -> list[TaskRef]:
    """Every ``cockpit/`` branch of the repository, with the linked worktree it is checked out in."""
    with open_repo(root) as repo:
        heads = repo.git.for_each_ref("--format=%(refname:short)%00%(objectname)", f"refs/heads/{BRANCH_PREFIX}",
                                      env=_READ_ENV)
        listing = repo.git.worktree("list", "--porcelain", "-z", env=_READ_ENV)
    branches = dict(line.split("\0", 1) for line in heads.splitlines() if "\0" in line)
    worktrees: dict[str, str] = {}
    for block in listing.split("\0\0")[1:]:  # the main checkout first: never one of ours
        fields = dict(f.split(" ", 1) if " " in f else (f, "") for f in block.split("\0") if f)
        branch = fields.get("branch", "").removeprefix("refs/heads/")
        if branch.startswith(BRANCH_PREFIX) and "worktree" in fields:
            worktrees[branch] = fields["worktree"]
    names = sorted(set(branches) | set(worktrees))
    return [TaskRef(name, branches.get(name), worktrees.get(name)) for name in names]


def commits_only_on(root: str | os.PathLike[str], branches: list[str], leaving: set[str]) -> dict[str, int]:
    """For each of ``branches``: how many of its commits no branch, remote branch or tag holds once the
    branches in ``leaving`` are gone (0 for a branch whose work is merged or held elsewhere)."""
    if not branches:
        return {}
    excluded = [f"--exclude={name}" for name in sorted(leaving)]
    counts = {}
    with open_repo(root) as repo:
        for name in branches:
            out = repo.git.rev_list("--count", f"refs/heads/{name}", "--not", *excluded, "--branches",
                                    "--remotes", "--tags", env=_READ_ENV)
            counts[name] = int(out.strip() or 0)
    return counts


def uncommitted(worktree: str) -> list[str]:
    """Tracked files of the worktree that differ from its last commit (its folder gone: none)."""
    if not os.path.isdir(worktree):
        return []
    try:
        with git.Repo(worktree) as wt:
            out = wt.git.status("--porcelain=v1", "-z", "--untracked-files=no", env=_READ_ENV)
    except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError):
        return []
    paths, tokens = [], iter(out.split("\0"))
    for entry in tokens:
        if len(entry) >= 4:
            paths.append(entry[3:])
            if entry[0] in "RC":  # the original path follows as its own token
                next(tokens, None)
    return paths


def remove_task_ref(root: str | os.PathLike[str], ref: TaskRef) -> str:
    """Remove the worktree (forced: its uncommitted edits are gone) and delete the branch;
    "" when done, else what went wrong, one line."""
    if not ref.branch.startswith(BRANCH_PREFIX):
        return f"{ref.branch} is not a cockpit task branch; it is left alone"
    if ref.worktree:
        try:
            WorktreeManager(root, ref.run_id).remove(ref.worktree, None, delete_branch=False)
        except (git.GitCommandError, OSError) as exc:
            return f"the worktree {ref.worktree} could not be removed ({exc.__class__.__name__})"
        if Path(ref.worktree).exists():
            return f"the worktree folder {ref.worktree} is still there"
    if ref.sha:
        with open_repo(root) as repo:
            try:
                repo.git.branch("-D", ref.branch)
            except git.GitCommandError as exc:
                return f"could not delete the branch {ref.branch}: {stderr_line(exc.stderr) or 'git failed'}"
    return ""
