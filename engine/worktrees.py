"""One git worktree per task, outside the user's checkout, on branch ``cockpit/<run>/<task>``.

A task's worktree starts from the run's base commit plus the branches of the tasks it depends
on (merged in order). When the agent stops, whatever it left uncommitted is committed on the task
branch. The user's own checkout is never touched: only refs and ``.git/worktrees`` change.

Every function here blocks (it runs git); the engine calls them in a worker thread.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import git

from engine.errors import RepoError
from engine.paths import data_dir
from engine.events import FileStat
from engine.git_output import parse_numstat_z, stderr_line

BRANCH_PREFIX = "cockpit/"
FALLBACK_NAME = "Session Cockpit"
FALLBACK_EMAIL = "cockpit@localhost"


class WorktreeError(Exception):
    """A task's worktree could not be made or merged; the message is shown to the user."""


@dataclass(frozen=True)
class Worktree:
    task_id: str
    path: str
    branch: str
    start_commit: str


@dataclass(frozen=True)
class StaleWorktree:
    path: str
    branch: str
    run_id: str
    exists: bool
    index_lock: str = ""  # the index.lock a git command cut short left in it ("" when none)


def open_repo(path: str | Path) -> git.Repo:
    try:
        return git.Repo(path, search_parent_directories=True)
    except git.NoSuchPathError:
        raise RepoError(f"{Path(path).absolute()}: no such folder") from None
    except git.InvalidGitRepositoryError:
        raise RepoError(f"{Path(path).resolve()}: not inside a git repository (use --repo PATH)") from None


def repo_root(path: str | Path) -> Path:
    with open_repo(path) as repo:
        if repo.bare or repo.working_tree_dir is None:
            raise RepoError(f"{path}: a bare repository has no checkout to run agents in")
        return Path(repo.working_tree_dir)


def resolve_commit(root: str | Path, rev: str | None) -> str:
    """The full sha of ``rev`` (default HEAD), or a RepoError naming what is wrong."""
    with open_repo(root) as repo:
        if rev is None:
            try:
                return repo.head.commit.hexsha
            except ValueError:
                raise RepoError(f"{root}: the repository has no commits yet; make a first commit") from None
        try:
            return repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
        except git.GitCommandError:
            raise RepoError(f"{root}: base {rev!r} is not a branch, tag or commit of this repository") from None


def identity_env(root: str | Path) -> dict[str, str]:
    """Author/committer variables to set when the repository has no identity configured."""
    with open_repo(root) as repo:
        reader = repo.config_reader()
        has_name = reader.has_option("user", "name")
        has_email = reader.has_option("user", "email")
    env: dict[str, str] = {}
    if not has_name and "GIT_AUTHOR_NAME" not in os.environ:
        env.update(GIT_AUTHOR_NAME=FALLBACK_NAME, GIT_COMMITTER_NAME=FALLBACK_NAME)
    if not has_email and "GIT_AUTHOR_EMAIL" not in os.environ:
        env.update(GIT_AUTHOR_EMAIL=FALLBACK_EMAIL, GIT_COMMITTER_EMAIL=FALLBACK_EMAIL)
    return env


def default_worktree_root(root: str | Path) -> Path:
    override = os.environ.get("COCKPIT_WORKTREES")
    base = Path(override) if override else data_dir() / "worktrees"
    root = Path(root).resolve()
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:8]
    return base / f"{_slug(root.name)}-{digest}"


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


class _RepoLock:
    """One lock per repository for the git commands that add or remove worktrees.

    ``git worktree add`` writes ``.git/worktrees/<name>/`` in several steps, and a concurrent
    ``worktree add`` (or ``branch -D``) that reads every worktree fails on a half-written one
    ("failed to read .git/worktrees/<name>/commondir"): tasks starting together must take turns,
    within this process (a thread lock) and across cockpits on the same repository (``flock`` on a
    file in the repository's git folder, released by the kernel if a cockpit dies).
    """

    def __init__(self, git_dir: str) -> None:
        key = str(Path(git_dir).resolve())
        with _THREAD_LOCKS_GUARD:
            self._thread = _THREAD_LOCKS.setdefault(key, threading.Lock())
        self._path = os.path.join(key, "cockpit-worktrees.lock")
        self._fd: int | None = None

    def __enter__(self) -> "_RepoLock":
        self._thread.acquire()
        try:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:  # a read-only git folder: the thread lock still orders this process
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._thread.release()


def branch_name(run_id: str, task_id: str) -> str:
    return f"{BRANCH_PREFIX}{run_id}/{task_id}"


class WorktreeManager:
    """Makes, commits and removes the worktrees of one run."""

    def __init__(self, root: str | Path, run_id: str, worktree_root: Path | None = None) -> None:
        self.root = Path(root)
        self.run_id = run_id
        self.dir = (worktree_root or default_worktree_root(root)) / run_id
        self.env = identity_env(root)
        with open_repo(root) as repo:
            self._lock = _RepoLock(repo.common_dir)

    def create(self, task_id: str, base: str, depends_on: list[str]) -> Worktree:
        path = self.dir / task_id
        branch = branch_name(self.run_id, task_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_repo(self.root) as repo, self._lock:
            try:
                repo.git.worktree("add", "--quiet", "-b", branch, str(path), base)
            except git.GitCommandError as exc:
                raise WorktreeError(f"could not create the worktree {path}: {_git_error(exc)}") from None
        try:
            start = self._merge_dependencies(path, depends_on)
        except WorktreeError:
            # nothing of this attempt is worth keeping: a retry must be able to start afresh
            self.remove(str(path), branch, delete_branch=True)
            raise
        return Worktree(task_id, str(path), branch, start)

    def add_detached(self, name: str, commit: str) -> str:
        """A scratch worktree at ``commit`` on no branch (remove it with :meth:`remove`); its path."""
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_repo(self.root) as repo, self._lock:
            try:
                repo.git.worktree("add", "--quiet", "--detach", str(path), commit)
            except git.GitCommandError as exc:
                raise WorktreeError(f"could not create the worktree {path}: {_git_error(exc)}") from None
        return str(path)

    def _merge_dependencies(self, path: Path, depends_on: list[str]) -> str:
        with git.Repo(path) as wt, wt.git.custom_environment(**self.env):
            for dep in depends_on:
                dep_branch = branch_name(self.run_id, dep)
                try:
                    wt.git.merge("--no-edit", "--quiet", dep_branch)
                except git.GitCommandError:
                    conflicts = wt.git.diff("--name-only", "--diff-filter=U").split()
                    try:
                        wt.git.merge("--abort")
                    except git.GitCommandError:
                        pass
                    files = ", ".join(conflicts[:5]) or "unknown files"
                    raise WorktreeError(
                        f"merging the result of {dep!r} conflicts with what came before (in {files})"
                    ) from None
            return wt.head.commit.hexsha

    def copy_files(self, worktree: Worktree, files: tuple[str, ...]) -> list[str]:
        """Copy files such as ``.env`` from the checkout into the worktree; the ones copied."""
        copied = []
        for name in files:
            src = self.root / name
            if src.is_file():
                dest = Path(worktree.path) / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
                copied.append(name)
        return copied

    def commit_leftovers(self, worktree: Worktree, message: str, exclude: tuple[str, ...] = ()) -> str:
        """Commit what the agent left uncommitted; the branch's head sha."""
        with git.Repo(worktree.path) as wt, wt.git.custom_environment(**self.env):
            wt.git.add("--all")
            for name in exclude:  # files we copied in (e.g. .env) are not the agent's work
                try:
                    wt.git.reset("--quiet", "HEAD", "--", name)
                except git.GitCommandError:
                    pass
            if wt.git.diff("--cached", "--name-only"):
                wt.git.commit("--quiet", "--no-verify", "-m", message)
            return wt.head.commit.hexsha

    def diff_text(self, start: str, head: str, limit: int) -> tuple[str, int]:
        """``git diff start head`` of the repository, cut to ``limit`` characters: (text, characters cut)."""
        with open_repo(self.root) as repo:
            out = repo.git.diff("--no-color", "--no-ext-diff", "-M", start, head)
        if len(out) <= limit:
            return out, 0
        cut = out.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        return out[:cut], len(out) - cut

    def clean(self, worktree: Worktree, keep: tuple[str, ...] = ()) -> None:
        """Undo what was left in the worktree since its last commit (a check's byproducts such as
        ``__pycache__``), keeping ignored files and ``keep`` (files copied in, such as ``.env``)."""
        with git.Repo(worktree.path) as wt:
            wt.git.reset("--hard", "--quiet", "HEAD")
            wt.git.clean("-d", "--force", "--quiet", *[f"--exclude={name}" for name in keep])

    def diff_stat(self, worktree: Worktree, head: str) -> tuple[FileStat, ...]:
        with git.Repo(worktree.path) as wt:
            out = wt.git.diff("--numstat", "-z", "-M", worktree.start_commit, head)
        return parse_numstat_z(out)

    def remove(self, worktree_path: str, branch: str | None, delete_branch: bool) -> None:
        with open_repo(self.root) as repo, self._lock:
            remove_worktree(repo, worktree_path)
            if delete_branch and branch:
                try:
                    repo.git.branch("-D", branch)
                except git.GitCommandError:
                    pass


def remove_worktree(repo: git.Repo, path: str) -> None:
    try:
        repo.git.worktree("remove", "--force", path)
    except git.GitCommandError:
        shutil.rmtree(path, ignore_errors=True)
        repo.git.worktree("prune")


def stale_worktrees(root: str | Path, current_run: str | None = None) -> list[StaleWorktree]:
    """Worktrees on cockpit branches (``cockpit/<run>/<task>``) left by earlier runs: reported, never
    deleted here. The user's own checkout is never one of them, whatever branch it is on."""
    with open_repo(root) as repo:
        out = repo.git.worktree("list", "--porcelain")
    found = []
    for block in out.strip().split("\n\n")[1:]:  # the first is the main checkout
        fields = dict(line.split(" ", 1) for line in block.splitlines() if " " in line)
        branch = fields.get("branch", "").removeprefix("refs/heads/")
        run_id, _, task = branch.removeprefix(BRANCH_PREFIX).partition("/")
        if not branch.startswith(BRANCH_PREFIX) or not run_id or not task or run_id == current_run:
            continue
        path = fields.get("worktree", "")
        found.append(StaleWorktree(path, branch, run_id, os.path.isdir(path), index_lock(path) or ""))
    return found


def index_lock(worktree_path: str | Path) -> str | None:
    """The ``index.lock`` in a worktree's git folder, if there is one: a git command that was cut short
    (killed, or the cockpit died during a commit) left it, and every later git command there fails."""
    dot_git = Path(worktree_path) / ".git"
    try:
        if dot_git.is_dir():
            git_dir = dot_git
        else:
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = Path(worktree_path) / text.removeprefix("gitdir:").strip()
    except OSError:
        return None
    lock = git_dir / "index.lock"
    return str(lock) if lock.exists() else None


def blocking_branch(root: str | Path) -> str | None:
    """The branch that keeps git from making any ``cockpit/...`` branch (a branch named ``cockpit``:
    git cannot hold both ``cockpit`` and ``cockpit/x``), or None."""
    name = BRANCH_PREFIX.rstrip("/")
    with open_repo(root) as repo:
        try:
            repo.git.show_ref("--verify", "--quiet", f"refs/heads/{name}")
        except git.GitCommandError:
            return None
    return name


def _git_error(exc: git.GitCommandError) -> str:
    # GitPython hands stderr over as "\n  stderr: '<text>'"
    text = re.sub(r"^\s*stderr:\s*'?", "", exc.stderr or "").rstrip("'\" \n")
    return stderr_line(text) or f"git exited with {exc.status}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "repo"
