"""A database for the history and report tests, filled the way a user fills it.

Four sessions are recorded by real headless runs (``cockpit run --headless``) of plans in a real
repository, with the fake ``claude`` and ``codex`` of tests/helpers/fake_agents and two agent profiles of the
user's config (``careful`` and ``hasty``, both made from ``claude-cli``: $0.0123 and 382 tokens a task);
then the developer decides on the tasks, records interventions, assesses, rates, and two summary
files of tests/data/summaries are imported. Survival results are saved through the store, as
``cockpit stuck`` saves them (history never measures).

    session  agent tasks (added lines) and decisions              interv.  outcome    survival
    A  .1    careful c1 (3) accepted, hasty h1 (1) accepted,     c1: 1    fully      6 of 10 (newest; an
             shell s1 (4) discarded                              h1: 2               older one: 10 of 10)
                                                                 none: 1
    B  .2    careful c2 (2) discarded, shell s2 (2) accepted     s2: 1    fully      1 of 4
    C  .3    hasty h2 (2) accepted, hasty h3 (1) discarded       -        not-used   5 of 5
    D  .4    shell d1 fails (exit 4), codex x1 (1) undecided     -        -          nothing committed
    20260304.2 (imported, no tasks)                              -        fully      9 of 10
    20260306.1 (imported, no tasks, rating 4, $1.37, 2 interventions)   -          not measured

A, B, C and D are dated the day the test runs (numbers 1 to 4); A is rated 5, C 2.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.paths import FAKE_AGENTS
from tests.helpers.repos import git, IDENTITY, make_git_repo
from sessions.store.store import Store
from sessions.summary.model import SessionSummary
from sessions.survival.results import SurvivalResult
from tui.cli.main import main

from tests.helpers.paths import DATA

CONFIG = """
[agents.careful]
extends = "claude-cli"

[agents.hasty]
extends = "claude-cli"
"""


def _writes(prefix: str, n: int) -> str:
    """A prompt making the fake claude write ``n`` one-line files (``n`` added lines)."""
    return "\\n".join(f"write {prefix}{i}.txt: line {i} of {prefix}" for i in range(n))


def _task(key: str, agent: str, prompt: str) -> str:
    return f'[[task]]\nid = "{key}"\nagent = "{agent}"\nprompt = "{prompt}"\n\n'


PLANS = {
    "A": _task("c1", "careful", _writes("c1_", 3)) + _task("h1", "hasty", _writes("h1_", 1))
    + _task("s1", "shell", "printf 'a\\\\nb\\\\nc\\\\nd\\\\n' > s1.txt"),
    "B": _task("c2", "careful", _writes("c2_", 2)) + _task("s2", "shell", "printf 'a\\\\nb\\\\n' > s2.txt"),
    "C": _task("h2", "hasty", _writes("h2_", 2)) + _task("h3", "hasty", _writes("h3_", 1)),
    "D": _task("d1", "shell", "exit 4") + _task("x1", "codex", _writes("x1_", 1)),
}
OBJECTIVES = {
    "A": "Add the CSV export", "B": "Fix the flaky login test", "C": "Rewrite the parser in one go",
    "D": "Try the codex profile",
}


@dataclass
class Built:
    db: str
    repo: Path
    ids: dict[str, int]  # "A".."D" and the two imported labels -> session id
    labels: dict[str, str]
    head: str
    today: str  # the date of the recorded runs


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """What conftest's ``isolated_dirs`` does, for a fixture wider than one test."""
    for name in ("config", "data", "cache", "state", "worktrees"):
        (home / name).mkdir(parents=True, exist_ok=True)
    for var, name in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                      ("XDG_STATE_HOME", "state"), ("COCKPIT_WORKTREES", "worktrees")):
        mp.setenv(var, str(home / name))
    mp.delenv("COCKPIT_DB", raising=False)
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    mp.setenv("GIT_TERMINAL_PROMPT", "0")
    for who in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{who}_NAME", IDENTITY["name"])
        mp.setenv(f"GIT_{who}_EMAIL", IDENTITY["email"])
    mp.setenv("PATH", f"{FAKE_AGENTS}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in ("FAKE_AGENT_EXIT", "FAKE_AGENT_SLEEP"):
        mp.delenv(name, raising=False)


def survival_json(head: str, added: int, surviving: int) -> str:
    """A result as ``cockpit stuck`` saves it (ratio None when nothing was added)."""
    return SurvivalResult(
        start="0" * 40, end="1" * 40, head=head, added=added, surviving=surviving,
        ratio=surviving / added if added else None, method="blame", reverted=False, reverting_commits=[],
        horizons={}, horizon_points={}, per_file=[],
        reason=None if added else "nothing was committed in the session (start == end)",
    ).to_json()


def build(base: Path) -> Built:
    """Fill a database under ``base`` (call inside :func:`isolate`)."""
    home = base / "_home"
    (home / "config" / "cockpit").mkdir(parents=True, exist_ok=True)
    (home / "config" / "cockpit" / "cockpit.toml").write_text(CONFIG)
    repo = make_git_repo(base / "repo")
    db = str(base / "cockpit.db")
    for name in ("A", "B", "C", "D"):
        plan = base / f"plan{name}.toml"
        plan.write_text(PLANS[name])
        code = main(["run", str(plan), "--headless", "--repo", str(repo), "--db", db,
                     "--objective", OBJECTIVES[name]])
        assert code == (1 if name == "D" else 0), name
    folder = base / "Summary"
    folder.mkdir()
    for name in ("summary20260304.2.md", "summary20260306.1.md"):
        shutil.copy(DATA / name, folder / name)
    assert main(["import", str(folder), "--repo", str(repo), "--db", db]) == 0
    head = git(repo, "rev-parse", "HEAD")
    return asyncio.run(_decide(db, repo, head))


async def _decide(db: str, repo: Path, head: str) -> Built:
    async with await Store.open(db) as store:
        rows = {r.label: r for r in await store.list_sessions(repo)}
        recorded = sorted((r for r in rows.values() if r.source == "cockpit"), key=lambda r: r.day_number)
        assert [r.objective for r in recorded] == [OBJECTIVES[k] for k in "ABCD"]
        ids = {k: r.id for k, r in zip("ABCD", recorded)}
        ids.update({label: rows[label].id for label in ("20260304.2", "20260306.1")})
        labels = {k: r.label for k, r in zip("ABCD", recorded)}
        labels.update({label: label for label in ("20260304.2", "20260306.1")})
        a, b, c, d = (ids[k] for k in "ABCD")
        for session, key, decision in ((a, "c1", "accepted"), (a, "h1", "accepted"), (a, "s1", "discarded"),
                                       (b, "c2", "discarded"), (b, "s2", "accepted"),
                                       (c, "h2", "accepted"), (c, "h3", "discarded")):
            await store.set_decision(session, key, decision)
        for session, key in ((a, "c1"), (a, "h1"), (a, "h1"), (a, None), (b, "s2")):
            await store.add_intervention(session, key, "message", f"about {key}")
        for session, outcome in ((a, "fully"), (b, "fully"), (c, "not-used")):
            await store.add_assessment(session, outcome)
        await store.save_summary(a, SessionSummary(objective=OBJECTIVES["A"], rating=5).to_dict(), draft=False)
        await store.save_summary(c, SessionSummary(objective=OBJECTIVES["C"], rating=2).to_dict(), draft=False)
        await store.save_survival(a, "0" * 40, survival_json("0" * 40, 10, 10), computed_at=1000.0)  # older
        await store.save_survival(a, head, survival_json(head, 10, 6), computed_at=2000.0)
        await store.save_survival(b, head, survival_json(head, 4, 1), computed_at=2000.0)
        await store.save_survival(c, head, survival_json(head, 5, 5), computed_at=2000.0)
        await store.save_survival(d, head, survival_json(head, 0, 0), computed_at=2000.0)
        await store.save_survival(ids["20260304.2"], head, survival_json(head, 10, 9), computed_at=2000.0)
        today = rows[labels["A"]].date
    return Built(db, repo, ids, labels, head, today)


def task_added(db: str) -> dict[str, int | None]:
    """Each task's added lines as the engine recorded them (checked by the tests, not assumed)."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT task_key, added FROM tasks"))
    finally:
        conn.close()


def dump(obj: object) -> str:
    return json.dumps(obj, indent=2, default=str)
