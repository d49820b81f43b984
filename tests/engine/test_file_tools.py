"""The anthropic agent's tools: what they do, how their output is bounded, and that no path leaves
the worktree (``..``, absolute paths, symbolic links, .git) — a refusal is an is_error result."""
from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import pytest

from tests.helpers.events import eventually
from tests.helpers.processes import pids_with_marker
from engine.agents.file_tools import (
    COMMAND_HEAD_LINES, LIST_MAX, TOOL_NAMES, TOOLS, Workspace, describe_call, glob_regex,
)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("top secret\n")
    return path


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    root = tmp_path / "worktree"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import os\n\ndef main():\n    return 'Hello'\n")
    (root / "src" / "pkg" / "util.py").write_text("def helper():\n    return 42  # hello\n")
    (root / "README.md").write_text("# Project\nHello world\n")
    (root / ".git").write_text("gitdir: /somewhere/else\n")  # what a worktree's .git looks like
    (root / "link_out").symlink_to(outside)  # a directory link leading outside
    (root / "secret_link.txt").symlink_to(outside / "secret.txt")  # a file link leading outside
    (root / "dangling").symlink_to(outside / "not-yet.txt")  # a link to a file that does not exist
    (root / "inner_link.py").symlink_to(root / "src" / "app.py")  # a link that stays inside
    return root


@pytest.fixture
def ws(root: Path) -> Workspace:
    return Workspace(root, env=dict(os.environ), command_timeout=10.0)


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_tool_schemas_are_complete() -> None:
    assert set(TOOL_NAMES) == {"read_file", "list_files", "search_text", "write_file", "edit_file", "run_command"}
    for tool in TOOLS:
        assert tool["description"] and tool["input_schema"]["type"] == "object"
        assert set(tool["input_schema"]["required"]) <= set(tool["input_schema"]["properties"])


def test_describe_call() -> None:
    assert describe_call("write_file", {"path": "src/a.py", "content": "x"}) == "write_file: src/a.py"
    assert describe_call("read_file", {"path": "a.py", "start_line": 3, "end_line": 9}) == "read_file: a.py:3-9"
    assert describe_call("run_command", {"command": "pytest -q\n  && echo ok"}) == "run_command: pytest -q && echo ok"
    assert describe_call("list_files", {}) == "list_files: **/*"
    assert len(describe_call("run_command", {"command": "x" * 1000})) < 230


# --------------------------------------------------------------------------------- read_file
async def test_read_file_numbers_lines_and_takes_a_range(ws: Workspace) -> None:
    whole = await ws.call("read_file", {"path": "src/app.py"})
    assert not whole.is_error
    assert whole.content.splitlines() == [
        "     1\timport os", "     2\t", "     3\tdef main():", "     4\t    return 'Hello'",
    ]
    assert whole.summary == "ok (4 lines)"
    part = await ws.call("read_file", {"path": "src/app.py", "start_line": 3, "end_line": 3})
    assert part.content == "     3\tdef main():"
    assert part.summary == "ok (1 lines)"
    inner = await ws.call("read_file", {"path": "inner_link.py"})  # a link inside the worktree is fine
    assert inner.content == whole.content


async def test_read_file_long_file_is_bounded(ws: Workspace, root: Path) -> None:
    (root / "big.txt").write_text("".join(f"line {i}\n" for i in range(1, 5001)))
    result = await ws.call("read_file", {"path": "big.txt"})
    assert result.summary == "ok (2000 lines)"
    assert "lines 2001-5000 not shown (of 5000)" in result.content
    tail = await ws.call("read_file", {"path": "big.txt", "start_line": 4999})
    assert tail.content.splitlines() == ["  4999\tline 4999", "  5000\tline 5000"]


@pytest.mark.parametrize("args, expected", [
    ({"path": "nope.txt"}, "nope.txt: no such file"),
    ({"path": "src"}, "src: is a directory"),
    ({"path": "src/app.py", "start_line": 0}, "start_line must be a whole number of at least 1"),
    ({"path": "src/app.py", "start_line": 5, "end_line": 2}, "end_line 2 is before start_line 5"),
    ({}, "a path is required"),
    ({"path": 3}, "a path is required"),
])
async def test_read_file_errors(ws: Workspace, args: dict, expected: str) -> None:
    result = await ws.call("read_file", args)
    assert result.is_error
    assert expected in result.content
    assert result.summary.startswith("✗ ")


async def test_read_binary_file_is_refused(ws: Workspace, root: Path) -> None:
    (root / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    result = await ws.call("read_file", {"path": "blob.bin"})
    assert result.is_error and "binary" in result.content


# --------------------------------------------------------------------------------- list_files
async def test_list_files_glob(ws: Workspace) -> None:
    py = await ws.call("list_files", {"pattern": "**/*.py"})
    assert py.content.splitlines() == ["inner_link.py", "src/app.py", "src/pkg/util.py"]
    assert py.summary == "ok (3 files)"
    top = await ws.call("list_files", {"pattern": "*"})
    assert top.content.splitlines() == [
        "README.md", "dangling", "inner_link.py", "link_out/", "secret_link.txt", "src/",
    ]  # .git never; link_out is listed, never entered
    under = await ws.call("list_files", {"pattern": "*.py", "path": "src"})
    assert under.content.splitlines() == ["src/app.py"]
    everything = await ws.call("list_files", {})
    assert "secret.txt" not in everything.content and "link_out/secret.txt" not in everything.content
    none = await ws.call("list_files", {"pattern": "*.rs"})
    assert not none.is_error and "nothing matches" in none.content


async def test_list_files_is_bounded(ws: Workspace, root: Path) -> None:
    many = root / "many"
    many.mkdir()
    for i in range(LIST_MAX + 20):
        (many / f"f{i:05d}.txt").write_text("")
    result = await ws.call("list_files", {"pattern": "many/*"})
    assert len(result.content.splitlines()) == LIST_MAX + 1
    assert "more entries not shown" in result.content


@pytest.mark.parametrize("pattern, path, ok, no", [
    ("**/*.py", "a/b/c.py", True, False),
    ("**/*.py", "c.py", True, False),
    ("*.py", "a/c.py", False, True),
    ("src/**", "src/a/b.txt", True, False),
    ("src/*.py", "src/x.py", True, False),
    ("src/*.py", "src/a/x.py", False, True),
    ("file?.[ch]", "file1.c", True, False),
    ("file[!0-9].c", "file1.c", False, True),
])
def test_glob_regex(pattern: str, path: str, ok: bool, no: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(path)) is ok


# --------------------------------------------------------------------------------- search_text
async def test_search_text(ws: Workspace) -> None:
    found = await ws.call("search_text", {"pattern": r"hel+o", "ignore_case": True})
    assert found.content.splitlines() == [
        "README.md:2: Hello world",
        "inner_link.py:4:     return 'Hello'",
        "src/app.py:4:     return 'Hello'",
        "src/pkg/util.py:2:     return 42  # hello",
    ]
    assert found.summary == "ok (4 matches in 4 files)"
    fixed = await ws.call("search_text", {"pattern": "return 'Hello'", "fixed_string": True, "glob": "*.py",
                                          "path": "src"})
    assert fixed.content == "src/app.py:4:     return 'Hello'"
    none = await ws.call("search_text", {"pattern": "zebra"})
    assert not none.is_error and none.summary == "ok (no match)"
    secret = await ws.call("search_text", {"pattern": "secret"})
    assert "top secret" not in secret.content  # links leading outside are not read


async def test_search_text_is_bounded(ws: Workspace, root: Path) -> None:
    (root / "many.txt").write_text("needle " + "x" * 1000 + "\n" * 1 + "needle\n" * 600)
    result = await ws.call("search_text", {"pattern": "needle", "max_results": 50})
    lines = result.content.splitlines()
    assert len(lines) == 51 and "more matches not shown" in lines[-1]
    assert len(lines[0]) < 400  # a long line is cut
    assert "50 matches" in result.summary


async def test_search_text_bad_regex(ws: Workspace) -> None:
    result = await ws.call("search_text", {"pattern": "("})
    assert result.is_error and "bad regular expression" in result.content


# --------------------------------------------------------------------------------- write/edit
async def test_write_file_creates_directories(ws: Workspace, root: Path) -> None:
    result = await ws.call("write_file", {"path": "new/dir/file.txt", "content": "a\nb\nc"})
    assert not result.is_error and result.summary == "ok (3 lines)"
    assert (root / "new/dir/file.txt").read_text() == "a\nb\nc"
    again = await ws.call("write_file", {"path": "new/dir/file.txt", "content": "x\n"})
    assert "overwrote" in again.content and (root / "new/dir/file.txt").read_text() == "x\n"


async def test_edit_file(ws: Workspace, root: Path) -> None:
    result = await ws.call("edit_file", {"path": "src/app.py", "old_string": "'Hello'", "new_string": "'Bye'\n"})
    assert not result.is_error, result.content
    assert (root / "src/app.py").read_text() == "import os\n\ndef main():\n    return 'Bye'\n\n"


@pytest.mark.parametrize("old, new, expected", [
    ("'Goodbye'", "x", "old_string not found"),
    ("\n", "x", "occurs 4 times"),
    ("", "x", "old_string is empty"),
    ("os", "os", "nothing to change"),
])
async def test_edit_file_errors_change_nothing(ws: Workspace, root: Path, old: str, new: str, expected: str) -> None:
    before = (root / "src/app.py").read_text()
    result = await ws.call("edit_file", {"path": "src/app.py", "old_string": old, "new_string": new})
    assert result.is_error and expected in result.content
    assert (root / "src/app.py").read_text() == before


# --------------------------------------------------------------------------------- confinement
ESCAPES = [
    ("read_file", {"path": "../outside/secret.txt"}, "'..' is refused"),
    ("read_file", {"path": "/etc/passwd"}, "absolute paths are refused"),
    ("read_file", {"path": "~/.bashrc"}, "absolute paths are refused"),
    ("read_file", {"path": "src/../../outside/secret.txt"}, "'..' is refused"),
    ("read_file", {"path": "secret_link.txt"}, "symbolic link leads outside"),
    ("read_file", {"path": "link_out/secret.txt"}, "symbolic link leads outside"),
    ("read_file", {"path": ".git"}, ".git is off limits"),
    ("write_file", {"path": "../x.txt", "content": "pwned"}, "'..' is refused"),
    ("write_file", {"path": "/tmp/cockpit-escape.txt", "content": "pwned"}, "absolute paths are refused"),
    ("write_file", {"path": "link_out/new.txt", "content": "pwned"}, "symbolic link leads outside"),
    ("write_file", {"path": "dangling", "content": "pwned"}, "symbolic link leads outside"),
    ("write_file", {"path": "secret_link.txt", "content": "pwned"}, "symbolic link leads outside"),
    ("write_file", {"path": ".git/hooks/pre-commit", "content": "pwned"}, ".git is off limits"),
    ("edit_file", {"path": "secret_link.txt", "old_string": "top", "new_string": "pwned"}, "symbolic link"),
    ("list_files", {"path": "link_out"}, "symbolic link leads outside"),
    ("list_files", {"pattern": "../*"}, "cannot hold '..'"),
    ("list_files", {"pattern": "/etc/*"}, "cannot hold '..'"),
    ("search_text", {"pattern": "secret", "path": "link_out"}, "symbolic link leads outside"),
    ("search_text", {"pattern": "root", "path": "/etc/passwd"}, "absolute paths are refused"),
]


@pytest.mark.parametrize("tool, args, expected", ESCAPES, ids=[f"{t}-{a}" for t, a, _ in ESCAPES])
async def test_paths_cannot_leave_the_worktree(
    ws: Workspace, root: Path, outside: Path, tool: str, args: dict, expected: str
) -> None:
    before_out, before_in = snapshot(outside), snapshot(root)
    result = await ws.call(tool, args)
    assert result.is_error, result.content
    assert expected in result.content
    assert "top secret" not in result.content
    assert snapshot(outside) == before_out
    assert snapshot(root) == before_in
    assert not Path("/tmp/cockpit-escape.txt").exists()
    assert not (root.parent / "x.txt").exists()


async def test_unknown_tool_and_bad_input(ws: Workspace) -> None:
    unknown = await ws.call("delete_everything", {})
    assert unknown.is_error and "unknown tool 'delete_everything'" in unknown.content
    bad = await ws.call("write_file", "not an object")
    assert bad.is_error and "must be an object" in bad.content


# --------------------------------------------------------------------------------- run_command
async def test_run_command(ws: Workspace, root: Path) -> None:
    ok = await ws.call("run_command", {"command": "pwd; ls src; echo oops >&2"})
    assert not ok.is_error
    lines = ok.content.splitlines()
    assert lines[0] == "exit code 0"
    assert str(root) in lines[1] and "app.py" in lines and "oops" in lines
    assert ok.summary == "ok (exit 0, 4 lines)"
    failed = await ws.call("run_command", {"command": "echo bad; exit 3"})
    assert failed.is_error and failed.content.startswith("exit code 3")
    assert failed.summary == "✗ exit 3 (1 lines)"


async def test_run_command_hides_the_api_key(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-secret", "ANTHROPIC_AUTH_TOKEN": "tok", "KEEP": "me"}
    ws = Workspace(root, env=env)
    result = await ws.call("run_command", {"command": "env"})
    assert "sk-ant-secret" not in result.content and "ANTHROPIC_AUTH_TOKEN" not in result.content
    assert "KEEP=me" in result.content


async def test_run_command_output_is_bounded(ws: Workspace) -> None:
    result = await ws.call("run_command", {"command": "seq 1 100000"})
    lines = result.content.splitlines()
    assert lines[1] == "1" and lines[-1] == "100000"
    assert any("lines not shown" in line for line in lines)
    assert len(result.content) <= 31_000
    assert result.summary == "ok (exit 0, 100000 lines)"
    assert lines[COMMAND_HEAD_LINES] == str(COMMAND_HEAD_LINES)


async def test_run_command_timeout_kills_the_whole_group(root: Path) -> None:
    marker = f"cockpit-tool-{secrets.token_hex(4)}"
    ws = Workspace(root, command_timeout=0.5)
    command = f"(sleep 300; echo {marker}) & bash -c 'sleep 300 # {marker}' & echo started; wait"
    result = await ws.call("run_command", {"command": command, "timeout": 60})  # capped at 0.5s
    assert result.is_error
    assert result.content.startswith("timed out after 0.5s")
    assert "started" in result.content
    assert result.summary == "✗ timed out after 0.5s"
    await eventually(lambda: not pids_with_marker(marker), what="no process of the command left")


async def test_run_command_cancelled_kills_the_group(root: Path) -> None:
    marker = f"cockpit-tool-{secrets.token_hex(4)}"
    ws = Workspace(root, command_timeout=60)
    task = asyncio.create_task(ws.call("run_command", {"command": f"bash -c 'sleep 300 # {marker}'; true"}))
    await eventually(lambda: pids_with_marker(marker), what="the command to start")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: not pids_with_marker(marker), what="no process of the command left")


async def test_run_command_bad_input(ws: Workspace) -> None:
    assert (await ws.call("run_command", {"command": "  "})).is_error
    assert (await ws.call("run_command", {"command": "true", "timeout": -1})).is_error


# ------------------------------------------------------------------------------ hostile calls
async def test_a_catastrophic_regex_neither_stalls_the_loop_nor_runs_for_ever(
    ws: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``(a|aa)+$`` backtracks for ever on a long run of a's: the search gives up at its time bound, and
    while it runs the event loop goes on (the match runs in a thread without the GIL)."""
    import engine.agents.file_tools as file_tools

    monkeypatch.setattr(file_tools, "SEARCH_SECONDS", 1.0)
    (root / "aaa.txt").write_text("a" * 60 + "b\n")
    search = asyncio.ensure_future(ws.call("search_text", {"pattern": "(a|aa)+$", "path": "aaa.txt"}))
    ticks = 0
    while not search.done():
        ticks += 1  # the loop is free: this coroutine runs while the search does
        await asyncio.sleep(0.01)
    result = search.result()
    assert ticks > 1
    assert result.is_error and "took more than 1s" in result.content and "fixed_string" in result.content


async def test_read_file_of_a_huge_file_reads_what_it_shows(ws: Workspace, root: Path) -> None:
    import tracemalloc

    (root / "huge.txt").write_bytes(b"".join(b"line %d %s\n" % (i, b"x" * 90) for i in range(300_000)))
    (root / "one_line.min.js").write_bytes(b"var a=1;" * 2_000_000)  # 16 MB on one line
    tracemalloc.start()
    try:
        many = await ws.call("read_file", {"path": "huge.txt"})
        one = await ws.call("read_file", {"path": "one_line.min.js"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000  # the files hold 46 MB
    assert len(many.content) <= 61_000 and "not shown (of 300000)" in many.content
    assert many.content.startswith("     1\tline 0 ")
    assert one.summary == "ok (1 lines)" and "more characters" in one.content and len(one.content) < 3000


async def test_a_stopped_workspace_writes_nothing(ws: Workspace, root: Path) -> None:
    await ws.stop()
    result = await ws.call("write_file", {"path": "late.txt", "content": "after the stop"})
    assert result.is_error and "stopped" in result.content
    assert not (root / "late.txt").exists()
    edit = await ws.call("edit_file", {"path": "src/app.py", "old_string": "Hello", "new_string": "Bye"})
    assert edit.is_error and "Hello" in (root / "src" / "app.py").read_text()
