"""Accepting and discarding the tasks of an ended session (of DEPENDANT_PLAN, the demo's shape), on
real repositories and a real store."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import CommandError
from sessions.decisions import Decisions, NeedsChoice
from sessions.git.checkout import ReviewError
from sessions.store.store import Store
from tests.helpers.repos import checkout_snapshot, git
from tests.helpers.session_runs import DEPENDANT_PLAN, run_session



@pytest.fixture
async def ended(store: Store, repo_factory, tmp_path: Path) -> Decisions:
    """The session run to its end with no decision taken; its decisions."""
    repo = repo_factory("project", {"textstats.py": "x = 1\n"})
    row = await run_session(store, repo, tmp_path / "plans", DEPENDANT_PLAN, "the demo's shape")
    return Decisions(store, row.id, repo, row.label)


async def decided(d: Decisions) -> dict[str, tuple]:
    return {t.key: (t.decision, t.accepted_as, t.accepted_via) for t in await d.store.tasks(d.session_id)}


def files_at_head(repo: Path) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", "HEAD").split())


async def test_the_review_of_a_dependant_marks_each_file_by_the_task_it_comes_from(ended: Decisions) -> None:
    await ended.discard("docs", "not needed")
    incoming = await ended.incoming("changelog")
    assert {f.file.path: f.sources for f in incoming.files} == {
        "CHANGELOG.md": ("changelog",), "docs/usage.md": ("docs",), "tests/test_wc.py": ("tests",),
        "textstats.py": ("wordcount",),
    }
    assert (incoming.added, incoming.removed, incoming.conflicts) == (9, 0, ())
    assert [t.key for t in await ended.pending("changelog")] == ["docs", "wordcount", "tests"]
    # once tests and wordcount are accepted, only what the branch still lacks is shown
    await ended.accept("tests", "with-deps")
    incoming = await ended.incoming("changelog")
    assert {f.file.path: f.sources for f in incoming.files} == {
        "CHANGELOG.md": ("changelog",), "docs/usage.md": ("docs",),
    }


async def test_accept_of_a_dependant_without_a_choice_is_refused_and_changes_nothing(ended: Decisions) -> None:
    repo = ended.repo
    await ended.discard("docs")
    before, decisions = checkout_snapshot(repo), await decided(ended)
    with pytest.raises(NeedsChoice) as err:
        await ended.accept("changelog")
    assert err.value.names() == "docs (discarded), wordcount (not reviewed), tests (not reviewed)"
    assert checkout_snapshot(repo) == before and await decided(ended) == decisions


async def test_own_commits_only_bring_in_nothing_of_the_dependencies(ended: Decisions) -> None:
    repo = ended.repo
    await ended.discard("docs")
    head = git(repo, "rev-parse", "HEAD")
    accepted = await ended.accept("changelog", "own")
    assert files_at_head(repo) == {"textstats.py", "CHANGELOG.md"}
    assert (repo / "textstats.py").read_text() == "x = 1\n"
    assert git(repo, "rev-parse", "HEAD~1") == head and git(repo, "status", "--porcelain") == ""
    assert "(cherry picked from commit" in git(repo, "log", "-1", "--format=%B")
    assert accepted.left_out == ("docs (discarded)", "wordcount (not reviewed)", "tests (not reviewed)")
    assert await decided(ended) == {
        "wordcount": (None, None, None), "docs": ("discarded", None, None), "tests": (None, None, None),
        "changelog": ("accepted", "picked", None),
    }
    row = next(t for t in await ended.store.tasks(ended.session_id) if t.key == "changelog")
    assert row.picked == ((row.head_commit, git(repo, "rev-parse", "HEAD")),)
    assert row.accepted_into == "main" and row.accept_commit == git(repo, "rev-parse", "HEAD")


async def test_with_its_dependencies_a_discarded_one_stays_out_unless_named(ended: Decisions) -> None:
    repo = ended.repo
    await ended.discard("docs")
    accepted = await ended.accept("changelog", "with-deps")
    assert files_at_head(repo) == {"textstats.py", "CHANGELOG.md", "tests/test_wc.py"}
    assert "word_count" in (repo / "textstats.py").read_text()
    assert accepted.tasks == ("changelog", "wordcount", "tests") and accepted.left_out == ("docs (discarded)",)
    assert await decided(ended) == {
        "wordcount": ("accepted", "picked", "changelog"), "docs": ("discarded", None, None),
        "tests": ("accepted", "picked", "changelog"), "changelog": ("accepted", "picked", None),
    }
    assert git(repo, "rev-list", "--count", "--merges", "HEAD") == "0"  # copies, no merge of the branch


async def test_naming_the_discarded_dependency_merges_the_whole_branch(ended: Decisions) -> None:
    repo = ended.repo
    await ended.discard("docs")
    with pytest.raises(CommandError, match="tests: not a discarded dependency of 'changelog'"):
        await ended.accept("changelog", "with-deps", ["tests"])
    accepted = await ended.accept("changelog", "with-deps", ["docs"])
    assert files_at_head(repo) >= {"docs/usage.md", "tests/test_wc.py", "CHANGELOG.md"}
    merge = git(repo, "rev-parse", "HEAD")
    assert accepted.outcome.merge_commit == merge
    rows = {t.key: t for t in await ended.store.tasks(ended.session_id)}
    assert {k: (r.decision, r.accepted_as, r.accepted_via, r.accept_commit) for k, r in rows.items()} == {
        "wordcount": ("accepted", "merge", "changelog", merge), "docs": ("accepted", "merge", "changelog", merge),
        "tests": ("accepted", "merge", "changelog", merge), "changelog": ("accepted", "merge", None, merge),
    }


async def test_a_dependant_whose_dependency_is_undecided(ended: Decisions) -> None:
    repo = ended.repo
    with pytest.raises(NeedsChoice, match=r"wordcount \(not reviewed\)"):
        await ended.accept("tests")
    worktrees = {t.key: t.worktree for t in (await ended.tasks()).values()}
    await ended.accept("tests", "with-deps")
    assert files_at_head(repo) >= {"tests/test_wc.py"} and "word_count" in (repo / "textstats.py").read_text()
    assert git(repo, "rev-list", "--count", "--merges", "HEAD") == "1"
    decisions = await decided(ended)
    assert decisions["wordcount"] == ("accepted", "merge", "tests") and decisions["tests"] == ("accepted", "merge", None)
    assert not Path(worktrees["tests"]).exists() and not Path(worktrees["wordcount"]).exists()
    with pytest.raises(CommandError, match="'wordcount' was already accepted"):
        await ended.accept("wordcount")


async def test_an_own_commits_accept_that_conflicts_is_refused_and_changes_nothing(ended: Decisions) -> None:
    repo = ended.repo
    (repo / "CHANGELOG.md").write_text("# Mine\n")
    git(repo, "add", "CHANGELOG.md")
    git(repo, "commit", "-q", "-m", "my own changelog")
    before, decisions = checkout_snapshot(repo), await decided(ended)
    assert (await ended.incoming("changelog")).conflicts == ("CHANGELOG.md",)  # the review says so first
    worktrees = git(repo, "worktree", "list", "--porcelain")
    with pytest.raises(ReviewError) as err:
        await ended.accept("changelog", "own")
    assert "would conflict in CHANGELOG.md; nothing was changed" in str(err.value) and "\n" not in str(err.value)
    assert checkout_snapshot(repo) == before and await decided(ended) == decisions
    assert git(repo, "worktree", "list", "--porcelain") == worktrees  # the scratch worktree is gone


async def test_an_own_commits_accept_refuses_a_dirty_checkout(ended: Decisions) -> None:
    repo = ended.repo
    (repo / "textstats.py").write_text("x = 2\n")
    before = checkout_snapshot(repo)
    with pytest.raises(ReviewError, match="uncommitted changes to textstats.py"):
        await ended.accept("wordcount", "own")
    assert checkout_snapshot(repo) == before


async def test_a_discarded_task_is_deleted_and_cannot_be_accepted_alone(ended: Decisions) -> None:
    repo = ended.repo
    branch = (await ended.task("docs")).branch
    await ended.discard("docs", "  wrong place  ")
    assert git(repo, "branch", "--list", branch) == ""
    assert (await ended.task("docs")).decision_reason == "wrong place"
    with pytest.raises(CommandError, match="'docs' was already discarded"):
        await ended.accept("docs", "own")
    with pytest.raises(CommandError, match="no task 'nope'"):
        await ended.discard("nope")
