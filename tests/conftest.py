"""Shared fixtures: isolated user dirs, real temporary git repositories, and an event recorder.

Every test runs with its config, data and worktree folders inside its own tmp_path, with no
global or system git config and a fixed git identity, so nothing depends on (or touches) the
machine's user folders.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

from engine.events import Event, EventBus, LogLines, TaskResult, TaskStateChanged, UsageUpdate
from engine.states import TaskState

TESTS = Path(__file__).parent
FAKE_AGENTS = TESTS / "fake_agents"
IDENTITY = {"name": "Test Author", "email": "test@example.com"}

# How long a test waits for an event before it fails: generous, since CI may be two busy cores.
# Nothing waits this long when things work; it only bounds a test that would otherwise hang.
EVENT_TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, data and worktree folders under tmp_path; no global git config; a fixed identity."""
    home = tmp_path / "_home"
    for name in ("config", "data", "cache", "state", "worktrees"):
        (home / name).mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("COCKPIT_WORKTREES", str(home / "worktrees"))
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", IDENTITY["name"])
        monkeypatch.setenv(f"GIT_{who}_EMAIL", IDENTITY["email"])
    return home


@pytest.fixture
def worktrees_dir(isolated_dirs: Path) -> Path:
    """Where the engine puts task worktrees in this test (COCKPIT_WORKTREES)."""
    return isolated_dirs / "worktrees"


# ------------------------------------------------------------------------------------------ git
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


@pytest.fixture
def repo_factory(tmp_path: Path) -> Callable[..., Path]:
    """``repo_factory(name="repo", files=None, commit=True)``: a fresh repository under tmp_path."""
    counter = iter(range(1_000_000))

    def make(name: str | None = None, files: dict[str, str] | None = None, commit: bool = True) -> Path:
        return make_git_repo(tmp_path / (name or f"repo{next(counter)}"), files, commit)

    return make


@pytest.fixture
def repo(repo_factory: Callable[..., Path]) -> Path:
    """A repository with README.md committed on ``main``."""
    return repo_factory("repo")


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


# ------------------------------------------------------------------------------------ processes
def proc_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` from /proc (``R``, ``S``, ``T``, ``Z``...), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2:].split()[0].decode()


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes of group ``pgid`` that are alive (zombies do not count)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def pids_with_marker(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker``."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if marker.encode() in cmdline and proc_state(int(entry)) not in (None, "Z"):
            found.append(int(entry))
    return found


def process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def leaders_with_marker(marker: str) -> list[int]:
    """Process-group leaders whose command line holds ``marker`` (a forked child not yet exec'd
    shares its parent's command line, so the leader is the one to look at)."""
    return [pid for pid in pids_with_marker(marker) if process_group(pid) == pid]


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting for its parent to reap it is not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return proc_state(pid) not in (None, "Z")


async def eventually(check: Callable[[], Any], timeout: float = EVENT_TIMEOUT, what: str = "condition") -> Any:
    """Poll ``check`` until it is truthy (returns its value); fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------------------- events
class Recorder:
    """Collects every event of a bus, in order, and lets a test wait for one."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        self.closed = False
        self._sub = bus.subscribe()
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def _collect(self) -> None:
        while True:
            batch = await self._sub.get_batch()
            self.events.extend(batch)
            self._changed.set()
            if not batch:
                self.closed = True
                return

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float = EVENT_TIMEOUT, what: str = ""
    ) -> Event:
        """The first event (already seen or still to come) for which ``predicate`` is true."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            if self.closed:
                raise AssertionError(f"the run ended without {what or 'the awaited event'}")
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or 'an event'}; got {self.summary()}")
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def wait_state(self, task_id: str, state: TaskState, timeout: float = EVENT_TIMEOUT) -> TaskStateChanged:
        return await self.wait_for(
            lambda e: isinstance(e, TaskStateChanged) and e.task_id == task_id and e.new is state,
            timeout, f"task {task_id} -> {state}",
        )

    async def wait_line(self, task_id: str, text: str, timeout: float = EVENT_TIMEOUT) -> LogLines:
        return await self.wait_for(
            lambda e: isinstance(e, LogLines) and e.task_id == task_id and any(text in l for l in e.lines),
            timeout, f"a line of {task_id} holding {text!r}",
        )

    async def finished(self, timeout: float = EVENT_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("timed out waiting for the bus to close")
            await asyncio.wait({self._task}, timeout=left)

    # --- views
    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def transitions(self, task_id: str | None = None) -> list[TaskStateChanged]:
        return [e for e in self.of(TaskStateChanged) if task_id is None or e.task_id == task_id]

    def states(self, task_id: str) -> list[TaskState]:
        return [e.new for e in self.transitions(task_id)]

    def index(self, task_id: str, state: TaskState) -> int:
        for i, e in enumerate(self.events):
            if isinstance(e, TaskStateChanged) and e.task_id == task_id and e.new is state:
                return i
        raise AssertionError(f"task {task_id} never became {state}: {self.states(task_id)}")

    def lines(self, task_id: str, stream: str | Iterable[str] | None = None) -> list[str]:
        streams = {stream} if isinstance(stream, str) else set(stream) if stream else None
        return [
            line for e in self.of(LogLines)
            if e.task_id == task_id and (streams is None or e.stream in streams)
            for line in e.lines
        ]

    def results(self, task_id: str) -> list[TaskResult]:
        return [e for e in self.of(TaskResult) if e.task_id == task_id]

    def result(self, task_id: str) -> TaskResult:
        found = self.results(task_id)
        assert found, f"no TaskResult for {task_id}"
        return found[-1]

    def usage(self, task_id: str) -> list[UsageUpdate]:
        return [e for e in self.of(UsageUpdate) if e.task_id == task_id]

    def max_concurrent(self, states: frozenset[TaskState] = frozenset({TaskState.RUNNING, TaskState.PAUSED})) -> int:
        current: dict[str, TaskState] = {}
        best = 0
        for e in self.transitions():
            current[e.task_id] = e.new
            best = max(best, sum(1 for s in current.values() if s in states))
        return best

    def summary(self) -> str:
        return "; ".join(f"{e.task_id}:{e.old}->{e.new}({e.reason})" for e in self.transitions())

    async def aclose(self) -> None:
        self._sub.unsubscribe()
        if not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class EngineRunner:
    """Starts engines in the background and makes sure none outlives its test."""

    def __init__(self) -> None:
        self._runs: list[tuple[Any, asyncio.Task[Any], Recorder]] = []

    def start(self, engine: Any, stay_open: bool = False) -> tuple[asyncio.Task[Any], Recorder]:
        recorder = Recorder(engine.bus)
        task = asyncio.get_running_loop().create_task(engine.run(stay_open=stay_open))
        self._runs.append((engine, task, recorder))
        return task, recorder

    async def run(self, engine: Any, timeout: float = EVENT_TIMEOUT) -> tuple[dict[str, TaskState], Recorder]:
        """Run ``engine`` to the end; its final states and every event it published."""
        task, recorder = self.start(engine)
        states = await asyncio.wait_for(task, timeout)
        await recorder.finished()
        return states, recorder

    async def aclose(self) -> None:
        for engine, task, recorder in self._runs:
            # shown by pytest only when the test failed: what each task went through, and why
            print(f"run {engine.run_id}: {recorder.summary()}")
            for e in recorder.of(LogLines):
                if e.stream in ("engine", "stderr"):
                    print(f"  {e.task_id} [{e.stream}] " + " | ".join(e.lines)[:500])
            if not task.done():
                task.cancel()  # run()'s own cleanup stops every agent it started
                await asyncio.gather(task, return_exceptions=True)
            await recorder.aclose()


@pytest.fixture
async def runner():
    r = EngineRunner()
    try:
        yield r
    finally:
        await r.aclose()


@pytest.fixture
def fake_agents_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake ``claude`` and ``codex`` of tests/fake_agents first on PATH."""
    monkeypatch.setenv("PATH", f"{FAKE_AGENTS}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in ("FAKE_AGENT_EXIT", "FAKE_AGENT_SLEEP"):
        monkeypatch.delenv(name, raising=False)
    return FAKE_AGENTS


# ------------------------------------------------------------------------------ plans & engines
def plan_of(*tasks: dict[str, Any], profiles: Any = None, **top: Any):
    """A Plan from task tables (as a TOML file would give them); the default agent is ``shell``."""
    from engine.plan import parse_plan
    from engine.profiles import ProfileSet

    data = {"agent": "shell", **top, "task": list(tasks)}
    return parse_plan(data, profiles or ProfileSet())


def make_engine(plan: Any, repo: Path | None, profiles: Any = None, **options: Any):
    """An Engine tuned for tests: tiny backoff and stop grace, so nothing waits for long."""
    from engine.profiles import ProfileSet
    from engine.scheduler import Engine

    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_max", 0.05)
    options.setdefault("stop_grace", 0.3)
    return Engine(plan, profiles or ProfileSet(), repo, **options)


def wait_for_file(path: Path | str) -> str:
    """A bash line that waits (in short sleeps) until ``path`` exists: a gate a test opens."""
    return f'while [ ! -e "{path}" ]; do sleep 0.02; done'


@pytest.fixture
async def store(tmp_path: Path):
    """A Store on ``tmp_path/cockpit.db``, closed after the test."""
    from sessions.store import Store

    s = await Store.open(tmp_path / "cockpit.db")
    try:
        yield s
    finally:
        await s.close()


# ------------------------------------------------------------------------------ the command line
def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``cockpit ARGS`` run in this process: (exit code, stdout, stderr)."""
    from tui.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The path of a store file in the test's folder (made by the first command that opens it)."""
    return str(tmp_path / "cockpit.db")


@pytest.fixture
def gb(tmp_path: Path):
    """A GitBuilder repository with a base commit (README.md, a.py of 5 lines), an hour ago."""
    from git_builder import GitBuilder, lines

    repo = GitBuilder(tmp_path / "repo")
    repo.commit("base", {"README.md": "# project\n", "a.py": lines(5, "base")})
    repo.tick(hours=1)
    return repo
