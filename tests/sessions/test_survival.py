"""The survival measure on real repositories built in tmp_path, with known answers.

Every commit is dated by the builder's clock and every measure gets ``now=`` explicitly, so the
horizons are deterministic. No test looks at wall-clock time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers.git_builder import DAY, GitBuilder, feature_commits, func, land_and_forget, lines
from sessions.survival.fingerprints import Fingerprint, session_fingerprint
from sessions.git.blame import parse_porcelain
from sessions.git.facts import GitFactsError
from sessions.survival.line_filter import FileFilter, line_hash, meaningful, normalize
from sessions.survival.measure import measure
from sessions.survival.cache import DictCache, JsonFileCache
from sessions.survival.results import SurvivalResult, ewr_git


# --------------------------------------------------------------------------- the basics


def test_all_lines_kept(gb: GitBuilder) -> None:
    start = gb.rev()
    gb.commit("s1", {"a.py": lines(5, "base") + lines(10, "new")})
    end = gb.commit("s2", {"b.py": lines(4, "bee")})
    gb.tick(days=2)
    gb.commit("unrelated later work", {"README.md": "# project\n\nmore\n"})

    result = measure(gb.path, start, end, now=gb.clock)

    assert (result.added, result.surviving, result.ratio) == (14, 14, 1.0)
    assert result.method == "blame"
    assert result.reverted is False and result.reverting_commits == []
    assert result.head == gb.rev()
    assert {f.path: (f.added, f.surviving, f.path_at_head) for f in result.per_file} == {
        "a.py": (10, 10, "a.py"),
        "b.py": (4, 4, "b.py"),
    }
    assert result.reason is None


def test_measured_at_the_end_itself_is_one(gb: GitBuilder) -> None:
    start = gb.rev()
    gb.commit("s1", {"a.py": "    " + lines(3, "moved base").replace("\n", "\n    ", 2) + lines(5, "base")})
    end = gb.commit("s2", {"a.py": lines(5, "base") + func("f")})
    result = measure(gb.path, start, end, at=end, now=gb.clock)
    assert result.ratio == 1.0
    assert result.added == 8  # the function: def line + 6 body lines + return


def test_some_lines_deleted_later_exact_count(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"a.py": lines(5, "base") + lines(10, "new")})
    gb.tick(days=1)
    kept = lines(5, "base") + lines(3, "new") + lines(4, "new", start=7)  # drops new 4, 5, 6
    gb.commit("someone deletes three lines", {"a.py": kept})
    gb.tick(days=1)
    gb.commit("and rewrites one", {"a.py": kept.replace("new 1 = ", "renamed_new 1 = ")})

    result = measure(gb.path, start, end, now=gb.clock)

    assert (result.added, result.surviving) == (10, 6)
    assert result.ratio == pytest.approx(0.6)
    assert result.per_file[0].surviving == 6


def test_file_renamed_after_the_session_is_still_found(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"tool.py": lines(8, "tool")})
    gb.tick(days=1)
    gb.move("tool.py", "pkg/tool_v2.py")
    gb.tick(days=1)
    text = gb.read("pkg/tool_v2.py").splitlines(keepends=True)
    gb.commit("drop one line", {"pkg/tool_v2.py": "".join(text[:-1])})
    gb.tick(days=1)
    gb.move("pkg/tool_v2.py", "pkg/tool_v3.py")

    result = measure(gb.path, start, end, now=gb.clock)

    assert (result.added, result.surviving, result.method) == (8, 7, "blame")
    (only,) = result.per_file
    assert (only.path, only.path_at_head, only.surviving) == ("tool.py", "pkg/tool_v3.py", 7)


def test_whitespace_only_reformatting_is_not_removal(gb: GitBuilder) -> None:
    start = gb.rev()
    code = func("shape", 5)
    end = gb.commit("session", {"shape.py": code})
    gb.tick(days=1)
    reformatted = "".join(
        ("\t" + line.strip() + "   \n") if line.startswith("    ") else line.replace("():", "() :")
        for line in code.splitlines(keepends=True)
    )
    gb.commit("reformat: tabs, spaces, trailing blanks", {"shape.py": reformatted})

    result = measure(gb.path, start, end, now=gb.clock)

    assert result.added == 7
    assert result.ratio == 1.0


def test_blank_and_punctuation_lines_do_not_count(gb: GitBuilder) -> None:
    start = gb.rev()
    text = "CONFIG = {\n    'a': 1,\n\n    'b': 2,\n}\n\n\n# end\n);\n   \n*/\n"
    end = gb.commit("session", {"conf.py": text})
    gb.tick(days=1)
    gb.commit("tidy up blank lines and braces", {"conf.py": "CONFIG = {\n    'a': 1,\n    'b': 2,\n# end\n"})

    result = measure(gb.path, start, end, now=gb.clock)

    assert result.added == 4  # CONFIG = {, 'a': 1, 'b': 2, # end
    assert result.surviving == 4


def test_binary_lock_vendored_and_generated_files_are_left_out(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit(
        "session",
        {
            "real.py": lines(3, "real"),
            "package-lock.json": '{\n  "name": "x",\n  "lockfileVersion": 3\n}\n',
            "sub/poetry.lock": "[[package]]\nname = 'x'\n",
            "go.sum": "example.com/x v1.0.0 h1:abc=\n",
            "logo.png": bytes(range(256)) * 8,
            "vendor/lib.py": lines(20, "vendored"),
            "web/node_modules/m/index.js": "module.exports = 1;\n",
            "api_pb2.py": lines(10, "proto"),
            "static/app.min.js": "var a=1;var b=2;\n",
            "gen/models.py": "# Code generated by modelgen. DO NOT EDIT.\n" + lines(12, "model"),
            "data.bin": b"header\x00\x01\x02 binary body\n",
        },
    )
    result = measure(gb.path, start, end, now=gb.clock)

    assert result.added == 3 and result.ratio == 1.0
    assert [f.path for f in result.per_file] == ["real.py"]
    assert result.excluded == {
        "api_pb2.py": "generated",
        "data.bin": "binary",
        "gen/models.py": "generated",
        "go.sum": "lock file",
        "logo.png": "binary",
        "package-lock.json": "lock file",
        "static/app.min.js": "generated",
        "sub/poetry.lock": "lock file",
        "vendor/lib.py": "vendored",
        "web/node_modules/m/index.js": "vendored",
    }


def test_filter_lists_are_configurable(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"real.py": lines(3, "real"), "vendor/lib.py": lines(4, "ours")})
    keep_vendor = FileFilter(vendored_dirs=())
    assert measure(gb.path, start, end, now=gb.clock).added == 3
    assert measure(gb.path, start, end, now=gb.clock, file_filter=keep_vendor).added == 7


def test_session_that_added_nothing_has_no_ratio(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("only deletes and blank lines", {"a.py": lines(3, "base") + "\n\n}\n"})
    result = measure(gb.path, start, end, now=gb.clock)
    assert result.added == 0 and result.ratio is None
    assert "no meaningful lines" in (result.reason or "")
    assert ewr_git([result]) == (None, 0)


# --------------------------------------------------------------------------- reverts


def test_revert_by_message(gb: GitBuilder) -> None:
    start = gb.rev()
    c1 = gb.commit("s1", {"one.py": lines(6, "one")})
    c2 = gb.commit("s2", {"two.py": lines(4, "two")})
    gb.tick(days=1)
    revert = gb.revert(c2)

    result = measure(gb.path, start, c2, now=gb.clock)

    assert result.reverted is True
    assert [(r.sha, r.reverts, r.how) for r in result.reverting_commits] == [(revert, [c2], "message")]
    assert (result.added, result.surviving) == (10, 6)
    assert result.ratio == pytest.approx(0.6)
    assert c1 not in result.reverting_commits[0].reverts


def test_revert_by_inverse_patch_without_the_message(gb: GitBuilder) -> None:
    start = gb.rev()
    c1 = gb.commit("s1", {"one.py": lines(6, "one")})
    end = gb.commit("s2", {"two.py": lines(4, "two")})
    gb.tick(days=1)
    undo = gb.revert(c1, message="clean up: this did not work out")

    result = measure(gb.path, start, end, now=gb.clock)

    assert result.reverted is True
    assert [(r.sha, r.reverts, r.how) for r in result.reverting_commits] == [(undo, [c1], "patch-id")]
    assert (result.added, result.surviving) == (10, 4)


def test_revert_within_the_session_is_not_a_later_revert(gb: GitBuilder) -> None:
    start = gb.rev()
    c1 = gb.commit("s1", {"one.py": lines(6, "one")})
    gb.revert(c1)
    end = gb.commit("s3", {"two.py": lines(4, "two")})
    result = measure(gb.path, start, end, now=gb.clock)
    assert result.reverted is False
    assert (result.added, result.ratio) == (4, 1.0)


# --------------------------------------------------------------------------- rewritten history


def _feature_session(gb: GitBuilder) -> tuple[str, list[str]]:
    """A session of three commits on branch feature from main; main moves on meanwhile."""
    start = gb.rev()
    commits = feature_commits(gb)
    gb.checkout("main")
    gb.tick(hours=2)
    gb.commit("main moves on", {"README.md": "# project\n\nnews\n"})
    return start, commits


def test_rebase_onto_moved_main_is_traced_by_patch_id(gb: GitBuilder) -> None:
    start, commits = _feature_session(gb)
    end = commits[-1]
    moved_main = gb.rev("main")
    gb.checkout("feature")
    new_end = gb.rebase("main")
    gb.checkout("main")
    gb.merge("feature", ff=True)
    gb.tick(days=1)
    gb.commit("delete util 3 lines", {"util.py": lines(2, "util")})

    result = measure(gb.path, start, end, now=gb.clock)
    twin = measure(gb.path, moved_main, new_end, now=gb.clock)  # the rebased commits as the session

    assert result.method == "patch-id"
    assert twin.method == "blame"
    assert (result.added, result.surviving, result.ratio) == (twin.added, twin.surviving, twin.ratio)
    assert result.added == 19 and result.surviving == 16
    assert set(result.mapped) == set(commits)
    assert all(sha != copy for sha, copy in result.mapped.items())


def test_cherry_pick_is_traced_by_patch_id(gb: GitBuilder) -> None:
    start, commits = _feature_session(gb)
    gb.cherry_pick(*commits)
    gb.tick(days=1)
    result = measure(gb.path, start, commits[-1], now=gb.clock)
    assert result.method == "patch-id"
    assert (result.added, result.ratio) == (19, 1.0)


def test_squash_merge_is_traced_by_content(gb: GitBuilder) -> None:
    start, commits = _feature_session(gb)
    gb.tick(hours=1)
    gb.squash_merge("feature", "Add feature (squashed)")
    gb.tick(days=1)
    gb.commit("delete util 2 lines", {"util.py": lines(3, "util")})

    result = measure(gb.path, start, commits[-1], now=gb.clock)

    assert result.method == "content"
    assert (result.added, result.surviving) == (19, 17)
    assert result.reverted is False


@pytest.mark.parametrize("how", ["message", "patch-id"])
def test_revert_of_a_squash_merge(gb: GitBuilder, how: str) -> None:
    start, commits = _feature_session(gb)
    squash = gb.squash_merge("feature", "Add feature (squashed)")
    gb.tick(days=1)
    undo = gb.revert(squash, message=None if how == "message" else "take the feature out again")

    result = measure(gb.path, start, commits[-1], now=gb.clock)

    assert (result.method, result.added, result.surviving, result.ratio) == ("content", 19, 0, 0.0)
    assert result.mapped == {c: squash for c in commits}
    assert [(r.sha, r.reverts, r.how) for r in result.reverting_commits] == [(undo, sorted(commits), how)]


def test_never_merged_session_is_lost_not_dropped(gb: GitBuilder) -> None:
    start, commits = _feature_session(gb)
    gb.tick(days=1)
    gb.commit("more main work", {"a.py": lines(5, "base") + lines(2, "main")})
    result = measure(gb.path, start, commits[-1], now=gb.clock)
    assert result.method == "lost" and result.ratio is None
    assert "patch-id" in (result.reason or "") and "content" in (result.reason or "")
    assert result.added == 19
    assert ewr_git([result]) == (None, 0)


@pytest.mark.parametrize("rewrite", ["rebase", "squash"])
def test_fingerprint_alone_after_garbage_collection(gb: GitBuilder, rewrite: str) -> None:
    start, commits = _feature_session(gb)
    end = commits[-1]
    stored = session_fingerprint(gb.path, start, end).to_json()  # what the database would keep
    land_and_forget(gb, rewrite)
    assert not any(gb.exists(c) for c in commits)

    fingerprint = Fingerprint.from_json(stored)
    result = measure(gb.path, fingerprint=fingerprint, now=gb.clock)

    assert result.method == ("patch-id" if rewrite == "rebase" else "content")
    assert (result.added, result.surviving) == (19, 17)
    assert result.end == end
    # without the fingerprint there is nothing to measure: one clear error, not a traceback
    with pytest.raises(GitFactsError, match="unknown revision"):
        measure(gb.path, start, end, now=gb.clock)


def test_fingerprint_after_gc_when_start_is_gone_too(tmp_path: Path) -> None:
    gb = GitBuilder(tmp_path / "repo")
    gb.commit("root", {"README.md": "hi\n"})
    gb.checkout("topic", create_from="main")
    start = gb.commit("topic base", {"base.py": lines(3, "b")})
    end = gb.commit("session", {"work.py": lines(6, "w")})
    fp = session_fingerprint(gb.path, start, end)
    gb.checkout("main")
    gb.tick(days=1)
    gb.squash_merge("topic", "everything squashed")
    gb.delete_branch("topic")
    gb.gc()
    assert not gb.exists(start)
    result = measure(gb.path, fingerprint=Fingerprint.from_json(fp.to_json()), now=gb.clock)
    assert (result.method, result.added, result.ratio) == ("content", 6, 1.0)


def test_a_stored_fingerprint_gives_the_same_answer_while_the_commits_exist(gb: GitBuilder) -> None:
    start = gb.rev()
    gb.commit("s1", {"k.py": lines(6, "k")})
    end = gb.commit("s2", {"k.py": lines(4, "k"), "m.py": func("m")})
    gb.tick(days=2)
    gb.commit("later", {"m.py": func("m", 3)})
    fresh = measure(gb.path, start, end, now=gb.clock)
    stored = Fingerprint.from_json(session_fingerprint(gb.path, start, end).to_json())
    again = measure(gb.path, start, end, fingerprint=stored, now=gb.clock)
    assert fresh.to_dict() == again.to_dict()
    assert (fresh.added, fresh.surviving) == (12, 9)
    with pytest.raises(ValueError, match="not the fingerprint's"):
        measure(gb.path, end, end, fingerprint=stored, now=gb.clock)


def test_a_fingerprint_made_with_other_options_is_made_again_while_the_commits_exist(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"big.py": func("helper") + func("main_flow")})
    gb.tick(days=1)
    gb.commit("split helper into its own module", {"big.py": func("main_flow"), "helpers_mod.py": func("helper")})
    without_copies = session_fingerprint(gb.path, start, end, copies=False)
    result = measure(gb.path, start, end, fingerprint=without_copies, now=gb.clock)
    assert (result.added, result.surviving) == (16, 16)  # with -C, as asked
    assert "fingerprint" not in result.options


def test_session_from_the_root(tmp_path: Path) -> None:
    gb = GitBuilder(tmp_path / "fresh")
    gb.commit("first", {"a.py": lines(3, "a")})
    end = gb.commit("second", {"b.py": lines(2, "b")})
    gb.commit("third", {"a.py": lines(1, "a")})
    result = measure(gb.path, None, end, now=gb.clock)
    assert (result.start, result.added, result.surviving) == (None, 5, 3)


def test_odd_file_names(gb: GitBuilder) -> None:
    start = gb.rev()
    odd, glob = ":odd name\twith tab.py", "ünï/[x]*.py"
    end = gb.commit("session", {odd: lines(4, "odd"), glob: lines(2, "glob"), "ünï/xy.py": lines(3, "xy")})
    gb.tick(days=1)
    gb.commit("later", {odd: lines(2, "odd")})
    result = measure(gb.path, start, end, now=gb.clock)
    assert {f.path: (f.added, f.surviving) for f in result.per_file} == {
        odd: (4, 2), glob: (2, 2), "ünï/xy.py": (3, 3)
    }


# --------------------------------------------------------------------------- moves, merges


def test_lines_moved_to_another_file_survive_with_copy_detection(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"big.py": func("helper") + func("main_flow")})
    gb.tick(days=1)
    gb.commit("split helper into its own module", {"big.py": func("main_flow"), "helpers_mod.py": func("helper")})

    moved = measure(gb.path, start, end, now=gb.clock)
    assert (moved.added, moved.surviving, moved.moved_elsewhere) == (16, 16, 8)
    assert moved.per_file[0].surviving == 8

    no_copies = measure(gb.path, start, end, now=gb.clock, copies=False)
    assert (no_copies.added, no_copies.surviving) == (16, 8)


def test_surviving_never_exceeds_added_when_lines_are_copied(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"m.py": func("one")})
    gb.tick(days=1)
    gb.commit("duplicate it", {"m.py": func("one") + "\n" + func("one"), "n.py": func("one")})
    result = measure(gb.path, start, end, now=gb.clock)
    assert result.surviving == result.added == 8


def test_session_that_merges_a_task_branch_counts_the_branch_commits(gb: GitBuilder) -> None:
    start = gb.rev()
    gb.checkout("cockpit/s1/task", create_from="main")
    gb.commit("agent work", {"task.py": lines(7, "task")})
    gb.checkout("main")
    gb.commit("direct work", {"direct.py": lines(2, "direct")})
    end = gb.merge("cockpit/s1/task", message="accept task")
    result = measure(gb.path, start, end, now=gb.clock)
    assert (result.added, result.ratio, result.method) == (9, 1.0, "blame")


# --------------------------------------------------------------------------- horizons


def test_horizons(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"h.py": lines(10, "h")}, tick=0)
    end_time = gb.clock
    gb.tick(hours=12)
    gb.commit("day 0.5: drop 2", {"h.py": lines(8, "h")})
    gb.tick(days=2)
    gb.commit("day 2.5: drop 3 more", {"h.py": lines(5, "h")})

    early = measure(gb.path, start, end, now=end_time + 5 * DAY)
    assert early.horizons == {"1d": 0.8, "7d": None, "30d": None}
    assert early.horizon_points["7d"].reached is False
    assert early.horizon_points["7d"].reason.startswith("not yet")
    assert early.horizon_points["1d"].surviving == 8
    assert early.ratio == 0.5  # at HEAD

    late = measure(gb.path, start, end, now=end_time + 40 * DAY)
    assert late.horizons == {"1d": 0.8, "7d": 0.5, "30d": 0.5}

    custom = measure(gb.path, start, end, horizons=(0.25, 2), now=end_time + 40 * DAY)
    assert custom.horizons == {"0.25d": 1.0, "2d": 0.8}


def test_horizon_points_at_the_right_commits(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("session", {"h.py": lines(4, "h")}, tick=0)
    gb.tick(days=3)
    later = gb.commit("day 3", {"h.py": lines(2, "h")})
    result = measure(gb.path, start, end, now=gb.clock + 60 * DAY)
    assert result.horizon_points["1d"].head == end
    assert result.horizon_points["7d"].head == later
    assert result.horizons == {"1d": 1.0, "7d": 0.5, "30d": 0.5}


# --------------------------------------------------------------------------- cache, EWR, JSON


def test_cache_returns_the_stored_result_until_a_horizon_comes_due(gb: GitBuilder, tmp_path: Path) -> None:
    start = gb.rev()
    end = gb.commit("session", {"c.py": lines(4, "c")}, tick=0)
    end_time = gb.clock
    cache = DictCache()
    first = measure(gb.path, start, end, now=end_time + 2 * DAY, cache=cache)
    assert list(cache.data) == [(start, end, gb.rev())]
    assert measure(gb.path, start, end, now=end_time + 3 * DAY, cache=cache) is first
    later = measure(gb.path, start, end, now=end_time + 8 * DAY, cache=cache)  # 7d came due
    assert later is not first and later.horizons["7d"] == 1.0

    path = tmp_path / "survival-cache.json"
    measure(gb.path, start, end, now=end_time + 2 * DAY, cache=JsonFileCache(path))
    again = JsonFileCache(path).get((start, end, gb.rev()))
    assert again is not None and again.to_dict() == first.to_dict()


def test_result_json_round_trip(gb: GitBuilder) -> None:
    start = gb.rev()
    c1 = gb.commit("s1", {"one.py": lines(3, "one")})
    gb.revert(c1)
    result = measure(gb.path, start, c1, now=gb.clock)
    data = json.loads(result.to_json())
    assert data["method"] == "blame" and data["reverted"] is True
    assert SurvivalResult.from_dict(data) == result


def test_ewr_git_sums_lines_over_sessions(gb: GitBuilder) -> None:
    s0 = gb.rev()
    e1 = gb.commit("session 1", {"x.py": lines(10, "x")})
    e2 = gb.commit("session 2", {"y.py": lines(30, "y")})
    gb.commit("later", {"x.py": lines(5, "x"), "y.py": lines(30, "y")})
    r1 = measure(gb.path, s0, e1, now=gb.clock)
    r2 = measure(gb.path, e1, e2, now=gb.clock)
    assert (r1.ratio, r2.ratio) == (0.5, 1.0)
    assert ewr_git([r1, r2]) == (35 / 40, 2)
    assert ewr_git([]) == (None, 0)


def test_fingerprint_json_round_trip_and_errors(gb: GitBuilder) -> None:
    start = gb.rev()
    end = gb.commit("s", {"f.py": lines(3, "f"), "f2.py": "same\nsame\n"})
    fp = session_fingerprint(gb.path, start, end)
    assert fp.added == 5 and fp.files["f2.py"] == {line_hash(b"same"): 2}
    assert set(fp.patch_ids) == set(fp.reverse_patch_ids) == {end}
    again = Fingerprint.from_json(fp.to_json())
    assert again == fp
    with pytest.raises(ValueError):
        Fingerprint.from_json("[1, 2]")
    with pytest.raises(ValueError):
        Fingerprint.from_json(json.dumps({**fp.to_dict(), "version": 99}))


def test_user_errors_are_one_line(tmp_path: Path, gb: GitBuilder) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitFactsError, match="not a git repository"):
        measure(plain, "HEAD~1", "HEAD")
    with pytest.raises(GitFactsError, match="unknown revision"):
        measure(gb.path, "HEAD", "no-such-branch")


# --------------------------------------------------------------------------- lines and parsing


@given(st.binary(max_size=60), st.lists(st.sampled_from([b" ", b"\t", b"  ", b"\r"]), max_size=5))
def test_whitespace_never_changes_a_line_hash(line: bytes, spaces: list[bytes]) -> None:
    line = line.replace(b"\n", b"")
    padded = b"".join(spaces) + line + b"".join(reversed(spaces))
    assert line_hash(padded) == line_hash(line)
    assert meaningful(padded) == meaningful(line)
    assert normalize(normalize(line)) == normalize(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"", False), (b"   ", False), (b"}", False), (b"});", False), (b"*/", False),
        (b"---", False), (b"x", True), (b"0,", True), (b"# note", True), ("é".encode(), True),
        ("—…".encode(), False), (b"\xe9t\xe9", True), (b"\xff\xfe", True),
    ],
)
def test_meaningful_lines(line: bytes, expected: bool) -> None:
    assert meaningful(line) is expected


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("Cargo.lock", "lock file"), ("frontend/yarn.lock", "lock file"), ("uv.lock", "lock file"),
        ("Pipfile.lock", "lock file"), ("src/vendor/x.go", "vendored"), ("third_party/a.c", "vendored"),
        ("a/b_pb2.py", "generated"), ("dist/app.min.js", "generated"), ("src/app.py", None),
        ("vendor.py", None), ("docs/lock.md", None),
    ],
)
def test_path_reasons(path: str, reason: str | None) -> None:
    assert FileFilter().path_reason(path) == reason


def test_generated_marker_only_in_the_first_lines() -> None:
    f = FileFilter()
    assert f.content_reason(b"// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x\n") == "generated"
    assert f.content_reason(b"# @generated\nx = 1\n") == "generated"
    late = b"".join(b"line %d\n" % i for i in range(10)) + b"# do not edit\n"
    assert f.content_reason(late) is None
    assert f.content_reason(b"text\x00more") == "binary"


def test_parse_porcelain_handles_keywords_that_look_like_hex() -> None:
    sha1, sha2 = "a" * 40, "b" * 40
    data = (
        f"{sha1} 1 1 2\nauthor abc\ncommitter-time 123\nsummary deadbeef\nboundary\nfilename f\n\tone\n"
        f"{sha1} 2 2\n\t\ttwo\n{sha2} 3 3 1\nauthor b\ncommitter-time 456\nfilename f\n\t\n"
    ).encode()
    commits, found = parse_porcelain(data)
    assert found == [(sha1, b"one"), (sha1, b"\ttwo"), (sha2, b"")]
    assert commits[sha1].boundary and commits[sha1].time == 123
    assert not commits[sha2].boundary and commits[sha2].time == 456
