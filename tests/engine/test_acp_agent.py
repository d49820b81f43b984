"""ACP agents through the engine, against the stand-in agent (tests/helpers/acp_standin.py), which is
written with the agent side of the same package: what the cockpit shows, serves, refuses and counts."""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tracemalloc

import pytest
from pathlib import Path
from typing import Any

from tests.helpers.events import eventually, make_engine, plan_of, wait_for_file
from tests.helpers.paths import ROOT
from tests.helpers.processes import live_group_members, proc_state
from tests.helpers.repos import git
from engine.agents import acp_client
from engine.agents.acp_agent import AcpAgent
from engine.agents.base import AgentContext
from engine.asks import AskChannel, AskPolicy, QuestionAnswered, QuestionAsked
from engine.events import LogLines
from engine.profiles import AcpSettings, AgentProfile, ProfileSet
from engine.states import TaskState

S = TaskState


def standin(tmp_path: Path, script: dict[str, Any], name: str = "standin", **settings: Any) -> ProfileSet:
    """Profiles with one of kind acp that runs the stand-in on ``script``."""
    path = tmp_path / f"{name}-script.json"
    path.write_text(json.dumps(script))
    log = tmp_path / f"{name}-requests.jsonl"
    profile = AgentProfile(
        name, kind="acp", argv=(sys.executable, "-m", "tests.helpers.acp_standin"),
        env=(("ACP_STANDIN_SCRIPT", str(path)), ("ACP_STANDIN_LOG", str(log)), ("PYTHONPATH", str(ROOT))),
        acp=AcpSettings(**settings),
    )
    profiles = ProfileSet()
    profiles.profiles[name] = profile
    return profiles


def requests(tmp_path: Path, name: str = "standin") -> list[dict[str, Any]]:
    path = tmp_path / f"{name}-requests.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def said(rec, task_id: str) -> list[str]:
    """The agent's lines that are not keyed (messages, thoughts, what the stand-in reports back)."""
    return [line for e in rec.of(LogLines) if e.task_id == task_id and e.stream == "agent" and not e.key
            for line in e.lines]


def keyed(rec, task_id: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(e.key, e.lines) for e in rec.of(LogLines) if e.task_id == task_id and e.key]


async def run_one(tmp_path: Path, repo: Path, runner, script: dict[str, Any], prompt: str = "do it",
                  interactive: bool = True, **settings: Any):
    profiles = standin(tmp_path, script, **settings)
    plan = plan_of({"id": "t", "prompt": prompt, "agent": "standin"}, profiles=profiles)
    engine = make_engine(plan, repo, profiles=profiles, interactive=interactive)
    states, rec = await runner.run(engine)
    return states["t"], rec, engine


async def test_messages_are_joined_into_lines_and_thoughts_set_apart(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"thought": "Let me think.\nA second thought.", "chunk": 4},
        {"message": "Hello, this is a long message\nthat spans two lines", "chunk": 3},
    ]]})
    assert state is S.SUCCEEDED
    assert rec.lines("t", "agent") == [
        "· Let me think.", "· A second thought.", "Hello, this is a long message", "that spans two lines",
    ]
    assert rec.result("t").final_message == "Hello, this is a long message\nthat spans two lines"
    sent = [r for r in requests(tmp_path) if r["request"] == "session/prompt"]
    assert sent == [{"request": "session/prompt", "data": {"text": "do it"}}]
    new = next(r for r in requests(tmp_path) if r["request"] == "session/new")
    assert Path(new["data"]["cwd"]).name == "t"  # the task's worktree


async def test_each_tool_call_is_one_line_updated_in_place(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"tool": "c1", "title": "Write the notes", "kind": "edit", "paths": ["notes.md"]},
        {"update": "c1", "status": "in_progress"},
        {"tool": "c1", "title": "Write the notes", "kind": "edit", "status": "in_progress"},  # announced twice
        {"update": "c1", "status": "completed"},
        {"tool": "c2", "title": "npm test", "kind": "execute", "status": "in_progress"},
        {"update": "c2", "status": "failed", "text": "3 tests failed\nmore"},
    ]]})
    assert state is S.SUCCEEDED
    assert keyed(rec, "t") == [
        ("tool:c1", ("○ Write the notes [edit] · notes.md",)),
        ("tool:c1", ("◐ Write the notes [edit] · notes.md",)),
        ("tool:c1", ("✓ Write the notes [edit] · notes.md",)),
        ("tool:c2", ("◐ npm test [execute]",)),
        ("tool:c2", ("✗ npm test [execute]: 3 tests failed more",)),
    ]


async def test_the_plan_is_a_checklist_replaced_whole(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"plan": [["Read the code", "in_progress"], ["Write the fix", "pending"]]},
        {"plan": [["Read the code", "completed"], ["Write the fix", "in_progress"]]},
    ]]})
    assert state is S.SUCCEEDED
    assert keyed(rec, "t") == [
        ("plan", ("◐ Read the code", "☐ Write the fix")),
        ("plan", ("☑ Read the code", "◐ Write the fix")),
    ]
    assert all(e.stream == "plan" for e in rec.of(LogLines) if e.key == "plan")


async def test_files_are_served_inside_the_worktree_only(tmp_path, repo, runner) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    state, rec, engine = await run_one(tmp_path, repo, runner, {"turns": [[
        {"write": "docs/new.md", "content": "# New\n"},
        {"read": "docs/new.md"},
        {"read": "missing.txt"},
        {"read": "x", "absolute": str(outside)},
        {"write": "x", "absolute": str(outside), "content": "pwned"},
        {"write": ".git/config", "content": "pwned"},
        {"read": "../outside.txt"},
    ]]})
    assert state is S.SUCCEEDED
    lines = rec.lines("t", "agent")
    assert lines[0] == "wrote docs/new.md" and lines[1] == "read: # New"
    assert "error: Resource not found (-32002)" in lines
    refused = [line for line in lines if line.startswith("error: Invalid params")]
    assert len(refused) == 4, lines
    assert outside.read_text() == "secret\n"
    head = rec.result("t").head_commit
    assert git(repo, "show", f"{head}:docs/new.md") == "# New"
    assert sum("outside the worktree" in line for line in rec.lines("t", "engine")) == 2


async def test_terminals_run_in_the_worktree_and_end_with_the_task(tmp_path, repo, runner) -> None:
    pid_file = tmp_path / "sleeper.pid"
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"terminal": "pwd; echo out; echo err >&2; exit 3"},
        {"terminal": "printf", "args": ["%s-%s", "a", "b"]},
        {"terminal": f"echo $$ > {pid_file}; exec sleep 60", "leave_running": True},
        {"sleep": 0.3},
        {"terminal": "echo nope", "absolute": "/", "cwd": "/"},
    ]]})
    assert state is S.SUCCEEDED
    lines = rec.lines("t", "agent")
    worktree = rec.result("t").worktree
    assert lines[0] == f"exit 3: {worktree}"
    assert lines[1:3] == ["out", "err"]
    assert lines[3] == "exit 0: a-b"
    assert lines[4].startswith("terminal term-3 left running")
    assert lines[5].startswith("error: Invalid params")
    pid = int(pid_file.read_text())
    assert live_group_members(pid) == []  # the attempt ended: its terminals went with it


async def test_permission_requests_in_a_headless_run_are_refused(tmp_path, repo, runner) -> None:
    script = {"turns": [[{"permission": "c1", "title": "rm -rf build", "kind": "execute"}]]}
    state, rec, _ = await run_one(tmp_path, repo, runner, script, interactive=False)
    assert state is S.SUCCEEDED
    assert said(rec, "t") == ["permission: no"]
    assert keyed(rec, "t") == [("tool:c1", ("○ rm -rf build [execute]",))]


async def test_permission_requests_go_through_the_ask_channel(tmp_path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    script = {"turns": [[
        {"permission": "c1", "title": "Write a.txt", "kind": "edit"},  # the default policy allows edits
        {"permission": "c2", "title": "rm -rf build", "kind": "execute"},  # and asks for commands
        {"permission": "c3", "title": "rm -rf build", "kind": "execute"},  # remembered: not asked again
    ]]}
    profile = standin(tmp_path, script)["standin"]
    events: list[Any] = []
    channel = AskChannel(events.append)
    lines: list[tuple[str, tuple[str, ...]]] = []
    ctx = AgentContext("t", "go", str(workdir), {**os.environ, **dict(profile.env)}, 1,
                       lambda stream, new, key="": lines.append((stream, tuple(new))), lambda usage: None,
                       ask=channel.asker("t", 1, "standin", str(workdir)))
    agent = AcpAgent(profile, ctx)
    running = asyncio.ensure_future(agent.run())
    asked = await eventually(lambda: next((e for e in events if isinstance(e, QuestionAsked)), None), what="a question")
    assert asked.question.request.kind == "execute" and asked.question.request.tool == "rm -rf build"
    assert [o.id for o in asked.question.options] == ["yes", "always", "no"]
    channel.answer(asked.question.id, "allow_always", scope="task")
    outcome = await running
    assert outcome.exit_code == 0
    told = [line for stream, new in lines if stream == "agent" for line in new if line.startswith("permission")]
    assert told == ["permission: yes", "permission: always", "permission: always"]
    answered = [e for e in events if isinstance(e, QuestionAnswered)]
    assert [(e.answer.by, e.asked) for e in answered] == [("policy", False), ("developer", True), ("policy", False)]


async def test_usage_billed_tokens_and_stated_cost(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"usage": {"used": 5000, "size": 200000}},
        {"usage": {"used": 9000, "size": 200000, "cost": 0.25}},
        {"stop": "end_turn", "usage": {"total_tokens": 1650, "input_tokens": 1000, "output_tokens": 300,
                                       "thought_tokens": 50, "cached_read_tokens": 200, "cached_write_tokens": 100}},
    ]]})
    assert state is S.SUCCEEDED
    last = rec.usage("t")[-1].usage
    assert (last.tokens_in, last.tokens_out, last.cache_read, last.cache_write) == (1000, 350, 200, 100)
    assert last.cost_usd == 0.25 and last.tokens_known


async def test_turn_tokens_off_leaves_the_tokens_unknown_and_keeps_the_stated_cost(tmp_path, repo, runner) -> None:
    """For an agent whose prompt responses do not carry the turn's billed tokens (opencode's carry its
    last model call's only), ``turn_tokens = false``: its tokens are unknown, its stated cost counts."""
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"usage": {"used": 9000, "size": 200000, "cost": 0.25}},
        {"stop": "end_turn", "usage": {"total_tokens": 1300, "input_tokens": 1000, "output_tokens": 300}},
    ]]}, turn_tokens=False)
    assert state is S.SUCCEEDED
    last = rec.usage("t")[-1].usage
    assert not last.tokens_known and (last.tokens_in, last.tokens_out) == (0, 0) and last.cost_usd == 0.25


async def test_context_occupancy_is_never_taken_for_tokens(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"usage": {"used": 9000, "size": 200000}},
    ]]})
    assert state is S.SUCCEEDED
    last = rec.usage("t")[-1].usage
    assert not last.tokens_known and last.cost_usd is None
    assert (last.tokens_in, last.tokens_out) == (0, 0)
    assert last.context == (9000, 200000)  # shown as how full its context is, not as tokens


async def test_gemini_quota_meta_counts_as_billed_tokens(tmp_path, repo, runner) -> None:
    meta = {"quota": {"token_count": {"input_tokens": 300, "output_tokens": 30}, "model_usage": []}}
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[{"stop": "end_turn", "meta": meta}]]})
    assert state is S.SUCCEEDED
    last = rec.usage("t")[-1].usage
    assert last.tokens_known and (last.tokens_in, last.tokens_out) == (300, 30)


async def test_a_crash_fails_the_task_with_the_reason(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[{"message": "working\n"}, {"crash": 7}]]})
    assert state is S.FAILED
    result = rec.result("t")
    assert result.exit_code == 7
    assert "the agent exited with code 7" in result.final_message


async def test_garbage_on_the_output_fails_the_task(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
        {"message": "hi\n"}, {"garbage": "\x1b[31mNOT JSON\x1b[0m"}, {"wait_cancel": True},
    ]]})
    assert state is S.FAILED
    reason = rec.result("t").final_message
    assert reason == "the agent wrote something that is not JSON-RPC on its output: 'NOT JSON'"


async def test_auth_required_is_an_auth_failure(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {"auth_required": True, "turns": []})
    assert state is S.FAILED
    assert "needs to be logged in" in rec.result("t").final_message


async def test_the_profile_mode_is_set(tmp_path, repo, runner) -> None:
    state, _, _ = await run_one(tmp_path, repo, runner, {"modes": ["read-only", "auto"], "turns": [[]]}, mode="auto")
    assert state is S.SUCCEEDED
    assert {"request": "session/set_mode", "data": {"mode": "auto"}} in requests(tmp_path)


async def test_cancel_sends_the_protocol_cancel_then_ends_the_group(tmp_path, repo, runner) -> None:
    profiles = standin(tmp_path, {"turns": [[{"message": "waiting\n"}, {"wait_cancel": True}]]})
    plan = plan_of({"id": "t", "prompt": "wait", "agent": "standin"}, profiles=profiles)
    engine = make_engine(plan, repo, profiles=profiles)
    task, rec = runner.start(engine)
    await rec.wait_line("t", "waiting")
    pgid = engine.tasks["t"].agent._proc.pgid
    engine.cancel("t")
    await rec.finished()
    assert rec.states("t")[-1] is S.CANCELLED
    assert any(r["request"] == "session/cancel" for r in requests(tmp_path))
    assert live_group_members(pgid) == []


async def test_follow_ups_are_new_turns_in_the_same_session(tmp_path, repo, runner) -> None:
    profiles = standin(tmp_path, {"turns": [
        [{"message": "first\n"}, {"sleep": 0.5}],
        [{"message": "second\n"}],
    ]})
    plan = plan_of({"id": "t", "prompt": "one", "agent": "standin"}, profiles=profiles)
    engine = make_engine(plan, repo, profiles=profiles)
    task, rec = runner.start(engine)
    await rec.wait_line("t", "first")
    await engine.send("t", "two")
    await rec.finished()
    assert rec.states("t")[-1] is S.SUCCEEDED
    prompts = [r["data"]["text"] for r in requests(tmp_path) if r["request"] == "session/prompt"]
    assert prompts == ["one", "two"]
    assert sum(r["request"] == "session/new" for r in requests(tmp_path)) == 1
    assert rec.lines("t", "agent") == ["first", "second"]
    assert any("message queued" in line for line in rec.lines("t", "engine"))


async def test_a_missing_program_names_the_package(tmp_path, repo, runner) -> None:
    profiles = ProfileSet()
    plan = plan_of({"id": "t", "prompt": "x", "agent": "codex-acp"}, profiles=profiles)
    engine = make_engine(plan, repo, profiles=profiles, )
    engine._base_env = {"PATH": str(tmp_path)}
    states, rec = await runner.run(engine)
    assert states["t"] is S.FAILED
    reason = rec.transitions("t")[-1].reason
    assert "install it: npm install -g @zed-industries/codex-acp" in reason


async def test_a_token_budget_on_an_agent_without_billed_tokens_says_it_cannot_be_enforced(tmp_path, repo, runner) -> None:
    profiles = standin(tmp_path, {"turns": [[{"usage": {"used": 90000, "size": 200000}}, {"message": "done\n"}]]})
    profiles.profiles["standin"] = profiles["standin"].with_changes(budget_tokens=1000, budget_usd=0.5)
    plan = plan_of({"id": "t", "prompt": "go", "agent": "standin"}, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles=profiles))
    assert states["t"] is S.SUCCEEDED  # 90,000 tokens of context are not 90,000 tokens spent
    engine_lines = rec.lines("t", "engine")
    assert any("1,000-token budget cannot be enforced" in line for line in engine_lines)
    assert any("$0.50 budget cannot be judged" in line for line in engine_lines)


def test_a_malformed_update_prints_no_traceback_in_a_headless_run(tmp_path, repo) -> None:
    bad = {"jsonrpc": "2.0", "method": "session/update",
           "params": {"sessionId": "standin-1", "update": {"sessionUpdate": "no_such_update", "x": 1}}}
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [[{"garbage": json.dumps(bad)}, {"message": "still here\n"}]]}))
    (repo / "cockpit.toml").write_text(
        f'[agents.standin]\nkind = "acp"\nargv = {json.dumps([sys.executable, "-m", "tests.helpers.acp_standin"])}\n'
        f'env = {{ ACP_STANDIN_SCRIPT = "{script}", PYTHONPATH = "{ROOT}" }}\n')
    plan = tmp_path / "plan.toml"
    plan.write_text('[[task]]\nid = "t"\nagent = "standin"\nprompt = "go"\n')
    done = subprocess.run([sys.executable, "-m", "tui.cli", "run", str(plan), "--headless", "--logs", "--repo", str(repo),
                           "--db", str(tmp_path / "db.sqlite")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still here" in done.stdout
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout


async def test_an_agent_refusing_a_flag_at_start_names_its_version(tmp_path, repo, runner) -> None:
    state, rec, _ = await run_one(tmp_path, repo, runner, {
        "stderr": "error: unexpected argument '--acp' found", "exit_at_start": 2, "turns": []})
    assert state is S.FAILED
    version = ".".join(str(n) for n in sys.version_info[:3])
    assert rec.result("t").final_message.startswith(f"{sys.executable} {version} refused the flag --acp")


async def test_pause_stops_the_agent_and_its_terminals_resume_lets_them_go_on(tmp_path, repo, runner) -> None:
    pid_file, gate = tmp_path / "term.pid", tmp_path / "gate"
    profiles = standin(tmp_path, {"turns": [[
        {"terminal": f"echo $$ > {pid_file}; {wait_for_file(gate)}; echo slept"},
        {"message": "after\n"},
    ]]})
    plan = plan_of({"id": "t", "prompt": "go", "agent": "standin"}, profiles=profiles)
    engine = make_engine(plan, repo, profiles=profiles)
    task, rec = runner.start(engine)
    await eventually(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the terminal started")
    agent_pid = engine.tasks["t"].agent._proc.pgid
    terminal_pid = int(pid_file.read_text())
    engine.pause("t")
    await eventually(lambda: proc_state(agent_pid) == "T" and proc_state(terminal_pid) == "T", what="both stopped")
    engine.resume("t")
    gate.touch()
    await rec.finished()
    assert rec.states("t")[-1] is S.SUCCEEDED
    assert said(rec, "t") == ["exit 0: slept", "after"]


AFTER_STOP = [
    {"write": "late.txt", "content": "written after the stop\n"},
    {"terminal": "echo late > late-terminal.txt"},
    {"read": "README.md"},
    {"permission": "c9", "title": "rm -rf build", "kind": "execute"},
]


@pytest.mark.parametrize("how", ["cancel", "timeout"])
async def test_a_stopped_task_does_nothing_more(tmp_path, repo, runner, how) -> None:
    """The agent goes on in its grace period: its writes, terminals, reads and questions are refused,
    nothing lands in the worktree and nothing is committed."""
    profiles = standin(tmp_path, {"turns": [[{"message": "waiting\n"}, {"wait_cancel": True, "then": AFTER_STOP}]]})
    task = {"id": "t", "prompt": "wait", "agent": "standin"}
    if how == "timeout":
        task["timeout"] = 5  # room for the stand-in to start on a loaded machine: the line below must come first
    plan = plan_of(task, profiles=profiles)
    engine = make_engine(plan, repo, profiles=profiles)
    _, rec = runner.start(engine)
    await rec.wait_line("t", "waiting")
    worktree = Path(engine.tasks["t"].worktree.path)
    if how == "cancel":
        engine.cancel("t")
    await rec.finished()
    assert rec.states("t")[-1] is (S.CANCELLED if how == "cancel" else S.TIMED_OUT)
    assert any(r["request"] == "session/cancel" for r in requests(tmp_path))
    errors = [line for line in said(rec, "t") if line.startswith("error:")]
    assert len(errors) == 3 and all("Invalid request" in line for line in errors), said(rec, "t")
    assert "permission: cancelled" in said(rec, "t")
    refusals = [line for line in rec.lines("t", "engine") if "after the task was stopped" in line]
    assert refusals == ["refused: a file write after the task was stopped",
                        "refused: a new terminal after the task was stopped",
                        "refused: a file read after the task was stopped"]
    assert not (worktree / "late.txt").exists() and not (worktree / "late-terminal.txt").exists()
    for result in rec.results("t"):
        assert result.files == ()
        assert git(repo, "log", "--format=%H", f"{result.start_commit}..{result.branch}") == ""


async def test_file_reads_honour_line_and_limit_and_are_bounded_by_bytes(tmp_path, repo, runner, monkeypatch) -> None:
    """A read streams the file (the API agent's bounded reader): a 40 MB line before the lines asked for
    is read past, not loaded; a range of more than the byte bound is refused, not cut."""
    monkeypatch.setattr(acp_client, "READ_MAX_BYTES", 100_000)
    (repo / "big.txt").write_bytes(b"x" * 40_000_000 + b"\nsecond\r\nthird\nfourth\n")
    (repo / "lines.txt").write_text("".join(f"line {n}\n" for n in range(1, 50_001)))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "big files")
    tracemalloc.start()
    try:
        state, rec, _ = await run_one(tmp_path, repo, runner, {"turns": [[
            {"read": "big.txt", "line": 2, "limit": 2},
            {"read": "lines.txt", "line": 49_999},
            {"read": "lines.txt", "line": 3, "limit": 1},
            {"read": "lines.txt", "line": 10, "limit": 0},
            {"read": "big.txt"},
            {"read": "lines.txt"},
        ]]})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert state is S.SUCCEEDED
    lines = said(rec, "t")
    assert lines[:8] == ["read: second", "third", "", "read: line 49999", "line 50000", "", "read: line 3", ""]
    assert lines[8] == "read: "
    refused = [line for line in lines if line.startswith("error:")]
    assert refused == ["error: Invalid params (-32602)"] * 2, lines
    assert peak < 10_000_000, f"{peak:,} bytes at the peak for a 40 MB file"


# what an agent may send to drive the user's terminal (clipboard, window title, leaving the alternate
# screen) and secrets without a known prefix
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b]0;pwned title\x1b\\\x1b[?1049l"
SECRETS = ("ANTHROPIC_API_KEY=plainkeywithoutprefix123",
           "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
LEAKS = ("plainkeywithoutprefix123", "wJalrXUtnFEMI", "pwned", "cHduZWQ")
LOUD = f"{HOSTILE} {SECRETS[0]} {SECRETS[1]}"


def assert_harmless(text: str, where: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, f"a control sequence reached {where}: {text!r}"
    for leak in LEAKS:
        assert leak not in text, f"{leak} reached {where}: {text!r}"


# Each kind of text an ACP agent sends, with a word that must arrive (so that the check is not vacuous).
# Chunks of 7 characters cut the sequences and the secrets in pieces: they are joined before judged.
LOUD_KINDS = {
    "message": ("said", [{"message": f"said {LOUD}\nnext {LOUD}\n", "chunk": 7}]),
    "thought": ("mused", [{"thought": f"mused {LOUD}\n", "chunk": 7}]),
    "tool call": ("patched", [
        {"tool": "c1", "title": f"patched {LOUD}", "kind": "edit", "paths": [f"src/{HOSTILE}{SECRETS[0]}.py"]},
        {"update": "c1", "status": "failed", "text": f"broke {LOUD}"},
    ]),
    "plan": ("step", [{"plan": [[f"step {LOUD}", "in_progress"], [f"{SECRETS[1]} {HOSTILE}", "pending"]]}]),
    "permission": ("asks", [{"permission": "c2", "title": f"asks {LOUD}", "kind": "execute"}]),
    "error": ("failed", [{"error": f"failed {LOUD}", "details": f"because {LOUD}"}]),
}


async def record(tmp_path: Path, repo: Path, store, script: dict[str, Any]):
    """One task of the stand-in through the engine, recorded in a real store: its events and the whole
    store's text."""
    from sessions.git.facts import head_commit
    from sessions.lifecycle import OpenSession
    from sessions.live_session import LiveSession
    from sessions.liveness import SessionLock
    from tests.helpers.events import Recorder

    profiles = standin(tmp_path, script)
    # no one answers here: a question gets the headless answer (a denial), whose text is checked too
    engine = make_engine(plan_of({"id": "t", "prompt": "go", "agent": "standin"}, profiles=profiles), repo,
                         profiles=profiles, interactive=False)
    row = await store.create_session(str(repo), "Be loud.", head_commit(repo))
    lock = SessionLock(store.path, row.id)
    assert lock.acquire()
    live = LiveSession(store, OpenSession(row, lock, str(repo)), engine, None)
    rec = Recorder(engine.bus)
    try:
        await live.start()
        await eventually(lambda: all(r.state.terminal for r in engine.tasks.values()), what="the task ended")
        await live.end()
        await rec.finished()
    finally:
        await rec.aclose()
    with sqlite3.connect(store.path) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        stored = "\n".join(str(v) for table in tables for row in conn.execute(f"SELECT * FROM {table}") for v in row)
    return rec, stored


@pytest.mark.parametrize("kind", list(LOUD_KINDS))
async def test_every_text_an_acp_agent_sends_is_made_safe_in_the_events_and_the_store(
        tmp_path, repo, store, kind) -> None:
    word, steps = LOUD_KINDS[kind]
    rec, stored = await record(tmp_path, repo, store, {"turns": [steps]})
    texts = [line for e in rec.of(LogLines) for line in e.lines]
    texts += [t.reason for t in rec.transitions()] + [r.final_message for r in rec.results("t")]
    assert any(word in text for text in texts), texts
    assert any("[REDACTED]" in text for text in texts), texts
    for text in texts:
        assert_harmless(text, f"the events ({kind})")
    assert word in stored
    assert_harmless(stored, f"the store ({kind})")


async def test_an_acp_permission_request_reaches_the_ask_channel_made_safe(tmp_path) -> None:
    """The question (tool, command, paths, preview, option labels) and its answer are published safe; the
    agent is still answered with its own option."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    script = {"turns": [[
        {"permission": "c1", "title": f"deploy {LOUD}", "kind": "execute", "command": f"deploy {LOUD}",
         "labels": [f"Yes {HOSTILE}", f"Always {SECRETS[0]}", "No"]},
        {"permission": "c2", "title": f"Write {HOSTILE}", "kind": "edit",
         "diff": [f"notes/{SECRETS[0]}{HOSTILE}.md", f"new text {LOUD}"]},
    ]]}
    profile = standin(tmp_path, script)["standin"]
    events: list[Any] = []
    channel = AskChannel(events.append)
    ctx = AgentContext("t", "go", str(workdir), {**os.environ, **dict(profile.env)}, 1,
                       lambda stream, new, key="": None, lambda usage: None,
                       ask=channel.asker("t", 1, "standin", str(workdir), AskPolicy(edit="ask")))
    running = asyncio.ensure_future(AcpAgent(profile, ctx).run())
    for n in (1, 2):
        asked = await eventually(lambda: [e for e in events if isinstance(e, QuestionAsked)][n - 1:n],
                                 what=f"question {n}")
        channel.answer(asked[0].question.id, "allow_once")
    assert (await running).exit_code == 0
    asked = [e.question for e in events if isinstance(e, QuestionAsked)]
    answered = [e for e in events if isinstance(e, QuestionAnswered)]
    assert len(answered) == 2 and all(e.answer.option.id == "yes" for e in answered)
    assert asked[0].request.command == "deploy  ANTHROPIC_API_KEY=[REDACTED] AWS_SECRET_ACCESS_KEY=[REDACTED]"
    assert "new text" in asked[1].request.preview and asked[1].request.paths
    for q in asked:
        r = q.request
        for text in (r.tool, r.title, r.command or "", r.preview, *r.paths, *(o.label for o in r.options),
                     q.describe()):
            assert_harmless(text, "a question")
    for e in answered:
        assert_harmless(e.answer.describe() + (e.answer.option.label if e.answer.option else ""), "an answer")
