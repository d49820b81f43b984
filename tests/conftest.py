"""Shared fixtures: isolated user dirs, real temporary git repositories, and an event recorder.

Every test runs with its config, data and worktree folders inside its own tmp_path, with no
global or system git config and a fixed git identity, so nothing depends on (or touches) the
machine's user folders.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers.events import EngineRunner
from tests.helpers.paths import FAKE_AGENTS
from tests.helpers.repos import IDENTITY, make_git_repo


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


@pytest.fixture
async def runner():
    r = EngineRunner()
    try:
        yield r
    finally:
        await r.aclose()


@pytest.fixture
def fake_agents_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake ``claude`` and ``codex`` of tests/helpers/fake_agents first on PATH."""
    monkeypatch.setenv("PATH", f"{FAKE_AGENTS}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in ("FAKE_AGENT_EXIT", "FAKE_AGENT_SLEEP"):
        monkeypatch.delenv(name, raising=False)
    return FAKE_AGENTS


@pytest.fixture
async def store(tmp_path: Path):
    """A Store on ``tmp_path/cockpit.db``, closed after the test."""
    from sessions.store.store import Store

    s = await Store.open(tmp_path / "cockpit.db")
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The path of a store file in the test's folder (made by the first command that opens it)."""
    return str(tmp_path / "cockpit.db")


@pytest.fixture
def gb(tmp_path: Path):
    """A GitBuilder repository with a base commit (README.md, a.py of 5 lines), an hour ago."""
    from tests.helpers.git_builder import GitBuilder, lines

    repo = GitBuilder(tmp_path / "repo")
    repo.commit("base", {"README.md": "# project\n", "a.py": lines(5, "base")})
    repo.tick(hours=1)
    return repo
