"""The built-in profiles against the REAL programs, installed from npm and PyPI by the tests
(tests/helpers/real_programs.py), each pointed at a stand-in of its model API on 127.0.0.1: codex and
codex-acp at the Responses API, aider at Chat Completions, Gemini CLI (stream-json and --acp) at the
Gemini API, Claude Code's ACP adapter and opencode at the Messages API. Each writes a file that must land
on the task branch, with the tokens the stand-in returned (or unknown, for an agent that reports none).
A program that cannot be installed fails its test; none is skipped."""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tests.helpers.claude_code import quiet_claude_code
from tests.helpers import anthropic_stub, gemini_stub, openai_stub
from tests.helpers.events import eventually, make_engine, plan_of
from tests.helpers.real_programs import TOOLS, program
from tests.helpers.repos import git
from engine.agents.acp_agent import AcpAgent
from engine.agents.base import AgentContext
from engine.asks import AskChannel, QuestionAnswered
from engine.events import AgentSession, BreakerChanged, LogLines, TaskStateChanged
from engine.profiles import ProfileSet
from engine.states import TaskState

S = TaskState
pytestmark = pytest.mark.timeout(600)  # the first test of a run may wait for the installs


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Put a real program's folder first on PATH, with a home of the test's own."""
    home = tmp_path / "_agent_home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))

    def put(name: str) -> Path:
        monkeypatch.setenv("PATH", f"{program(name)}{os.pathsep}{os.environ['PATH']}")
        return home

    return put


def codex_home(tmp_path: Path, stub: openai_stub.OpenAIStub, model: str = "stub-model") -> Path:
    """A CODEX_HOME whose provider is the stand-in (codex reads its key from STUB_KEY)."""
    home = tmp_path / "codex_home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        f'model = "{model}"\nmodel_provider = "stub"\n\n[model_providers.stub]\nname = "stub"\n'
        f'base_url = "{stub.url}/v1"\nenv_key = "STUB_KEY"\nwire_api = "responses"\n'
    )
    return home


async def run_task(repo: Path, runner, agent: str, prompt: str, profiles: ProfileSet | None = None):
    profiles = profiles or ProfileSet()
    plan = plan_of({"id": "t", "prompt": prompt, "agent": agent}, profiles=profiles)
    engine = make_engine(plan, repo, profiles=profiles)
    states, rec = await runner.run(engine, timeout=180)
    return states["t"], rec


def landed(repo: Path, rec, path: str) -> str:
    return git(repo, "show", f"{rec.result('t').head_commit}:{path}")


# ------------------------------------------------------------------------------------------ codex
async def test_codex_writes_a_file_with_its_tokens(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    on_path("codex")
    turns = [openai_stub.Turn(calls=[openai_stub.Call("exec_command", {"cmd": "echo hello > hello.txt"})],
                              input_tokens=1000, cached_tokens=200, cache_write_tokens=50, output_tokens=40),
             openai_stub.Turn(text="Wrote hello.txt.", input_tokens=1100, cached_tokens=900, output_tokens=10)]
    with openai_stub.OpenAIStub(turns) as stub:
        monkeypatch.setenv("CODEX_HOME", str(codex_home(tmp_path, stub)))
        monkeypatch.setenv("STUB_KEY", stub.api_key)
        state, rec = await run_task(repo, runner, "codex", "write hello.txt")
    assert state is S.SUCCEEDED, rec.lines("t")
    assert landed(repo, rec, "hello.txt") == "hello"
    usage = rec.usage("t")[-1].usage
    assert (usage.tokens_in, usage.cache_read, usage.cache_write, usage.tokens_out) == (950, 1100, 50, 50)
    assert usage.cost_usd is None and usage.tokens_known
    assert "$ /bin/bash -lc 'echo hello > hello.txt'" in rec.lines("t", "agent")
    assert rec.result("t").final_message == "Wrote hello.txt."


async def test_codex_refusing_a_flag_names_its_version(tmp_path, repo, runner, on_path) -> None:
    on_path("codex")
    profiles = ProfileSet()
    old = profiles["codex"]
    profiles.profiles["codex"] = old.with_changes(argv=("codex", "exec", "--json", "--full-auto", "{prompt}"))
    state, rec = await run_task(repo, runner, "codex", "anything", profiles)
    assert state is S.FAILED
    reason = rec.result("t").final_message
    assert reason.startswith("codex 0.171.0 refused the flag --full-auto of profile 'codex' (checked with codex 0.171.0)")


# ------------------------------------------------------------------------------------------ aider
# aider's "whole" edit format, the one it uses with gpt-4o-mini: the file's name, then all of it fenced
EDIT = "I will create it.\n\nhello.txt\n```\nhello from aider\n```\n"


def aider_env(monkeypatch: pytest.MonkeyPatch, stub: openai_stub.OpenAIStub, key: str | None = None) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", f"{stub.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", key or stub.api_key)
    monkeypatch.setenv("AIDER_MODEL", "openai/gpt-4o-mini")  # a model litellm has prices for
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm would fetch its prices online


async def test_aider_writes_a_file_with_its_tokens_and_cost(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    on_path("aider")
    with openai_stub.OpenAIStub([openai_stub.Turn(text=EDIT, input_tokens=1234, output_tokens=56)]) as stub:
        aider_env(monkeypatch, stub)
        state, rec = await run_task(repo, runner, "aider", "create hello.txt")
    assert state is S.SUCCEEDED, rec.lines("t")
    assert landed(repo, rec, "hello.txt") == "hello from aider"
    tree = git(repo, "ls-tree", "-r", "--name-only", rec.result("t").head_commit).split()
    assert not [name for name in tree if name.startswith(".aider")] and ".gitignore" not in tree
    usage = rec.usage("t")[-1].usage
    assert (usage.tokens_in, usage.tokens_out, usage.approximate) == (1200, 56, True)  # "1.2k sent"
    assert usage.cost_usd == pytest.approx(0.00022, abs=1e-5)
    assert len(stub.requests) == 1 and stub.bodies[0].get("stream") is not True


async def test_aider_api_error_is_an_auth_failure_for_the_breaker(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    on_path("aider")
    profiles = ProfileSet()
    profiles.profiles["aider"] = profiles["aider"].with_changes(breaker_threshold=1)
    with openai_stub.OpenAIStub([]) as stub:
        aider_env(monkeypatch, stub, key="wrong-key")
        state, rec = await run_task(repo, runner, "aider", "create hello.txt", profiles)
    assert state is S.FAILED
    assert "AuthenticationError" in rec.result("t").final_message
    opened = rec.of(BreakerChanged)
    assert opened and opened[0].state == "open" and opened[0].kind == "auth"


async def test_aider_budget_stops_it(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    on_path("aider")
    profiles = ProfileSet()
    profiles.profiles["aider"] = profiles["aider"].with_changes(budget_usd=0.00001)
    with openai_stub.OpenAIStub([openai_stub.Turn(text=EDIT, input_tokens=1234, output_tokens=56)]) as stub:
        aider_env(monkeypatch, stub)
        state, rec = await run_task(repo, runner, "aider", "create hello.txt", profiles)
    assert state is S.BUDGET_EXCEEDED


# ----------------------------------------------------------------------------------------- gemini
def gemini_home(home: Path) -> None:
    """Gemini CLI takes GOOGLE_GEMINI_BASE_URL as a 'gateway' it then refuses: the key is chosen here."""
    (home / ".gemini").mkdir(exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))


def gemini_env(monkeypatch: pytest.MonkeyPatch, home: Path, stub: gemini_stub.GeminiStub) -> None:
    gemini_home(home)
    monkeypatch.setenv("GEMINI_API_KEY", stub.api_key)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", stub.url)


def gemini_turns() -> list[gemini_stub.Turn]:
    return [gemini_stub.Turn(text="Writing it.", calls=[gemini_stub.Call("write_file", {"file_path": "hello.txt",
                                                                                        "content": "hello from gemini\n"})],
                             prompt_tokens=700, cached_tokens=100, output_tokens=30),
            gemini_stub.Turn(text="Done.", prompt_tokens=800, output_tokens=12)]


async def test_gemini_stream_json_writes_a_file_with_its_tokens(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    home = on_path("gemini")
    profiles = ProfileSet()
    profiles.profiles["gemini"] = profiles["gemini"].with_changes(
        argv=profiles["gemini"].argv + ("--model", "gemini-2.5-flash"))  # not "auto": no routing calls
    with gemini_stub.GeminiStub(gemini_turns()) as stub:
        gemini_env(monkeypatch, home, stub)
        state, rec = await run_task(repo, runner, "gemini", "write hello.txt", profiles)
    assert state is S.SUCCEEDED, rec.lines("t")
    assert landed(repo, rec, "hello.txt") == "hello from gemini"
    usage = rec.usage("t")[-1].usage
    assert (usage.tokens_in, usage.cache_read, usage.tokens_out) == (1400, 100, 42)
    assert "→ write_file: hello.txt" in rec.lines("t", "agent")
    assert rec.result("t").final_message == "Done."


async def test_gemini_over_acp_writes_a_file_with_its_tokens(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    home = on_path("gemini")
    profiles = ProfileSet()
    base = profiles["gemini-acp"]
    profiles.profiles["gemini-acp"] = base.with_changes(  # autoEdit: its edits need no permission here
        argv=base.argv + ("--model", "gemini-2.5-flash"), acp=base.acp.__class__(mode="autoEdit", fs_read=False))
    with gemini_stub.GeminiStub(gemini_turns()) as stub:
        gemini_env(monkeypatch, home, stub)
        state, rec = await run_task(repo, runner, "gemini-acp", "write hello.txt", profiles)
    assert state is S.SUCCEEDED, rec.lines("t")
    assert landed(repo, rec, "hello.txt") == "hello from gemini"
    usage = rec.usage("t")[-1].usage
    assert usage.tokens_known and (usage.tokens_in, usage.tokens_out) == (1500, 42)
    tool_lines = [e.lines[0] for e in rec.of(LogLines) if e.key.startswith("tool:")]
    assert tool_lines[-1] == "✓ Writing to hello.txt [edit]"
    assert rec.result("t").final_message == "Done."


async def test_gemini_over_acp_asks_on_the_ask_channel(tmp_path, on_path, monkeypatch) -> None:
    home = on_path("gemini")
    workdir = tmp_path / "work"
    workdir.mkdir()
    git(workdir, "init", "-q")
    profile = ProfileSet()["gemini-acp"]
    profile = profile.with_changes(argv=profile.argv + ("--model", "gemini-2.5-flash"))
    events: list[object] = []
    channel = AskChannel(events.append)
    with gemini_stub.GeminiStub(gemini_turns()) as stub:
        gemini_env(monkeypatch, home, stub)
        ctx = AgentContext("t", "write hello.txt", str(workdir), dict(os.environ), 1, lambda *a, **k: None,
                           lambda usage: None, ask=channel.asker("t", 1, "gemini-acp", str(workdir)))
        outcome = await asyncio.wait_for(AcpAgent(profile, ctx).run(), 120)
    assert outcome.exit_code == 0
    assert (workdir / "hello.txt").read_text() == "hello from gemini\n"  # written through fs/write_text_file
    answered = [e for e in events if isinstance(e, QuestionAnswered)]
    assert len(answered) == 1 and answered[0].answer.allow and answered[0].question.request.kind == "edit"
    assert answered[0].question.request.paths == ("hello.txt",)


# -------------------------------------------------------------------------------------- codex-acp
async def test_codex_acp_writes_a_file_its_tokens_unknown(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    on_path("codex-acp")
    # its sandbox needs bubblewrap on PATH: the one the codex npm package ships
    bwrap = next(program("codex").parent.glob("@openai/codex-linux-*/vendor/*/codex-resources"))
    monkeypatch.setenv("PATH", f"{bwrap}{os.pathsep}{os.environ['PATH']}")
    turns = [openai_stub.Turn(calls=[openai_stub.Call("exec_command", {"cmd": "echo hello > hello.txt"})],
                              input_tokens=1000, output_tokens=40),
             openai_stub.Turn(text="Wrote hello.txt.", input_tokens=1100, output_tokens=10)]
    with openai_stub.OpenAIStub(turns) as stub:
        monkeypatch.setenv("CODEX_HOME", str(codex_home(tmp_path, stub)))
        monkeypatch.setenv("STUB_KEY", stub.api_key)
        profiles = ProfileSet()
        profiles.profiles["codex-acp"] = profiles["codex-acp"].with_changes(budget_tokens=100)
        state, rec = await run_task(repo, runner, "codex-acp", "write hello.txt", profiles)
    assert state is S.SUCCEEDED, rec.lines("t")
    assert landed(repo, rec, "hello.txt") == "hello"
    usage = rec.usage("t")[-1].usage
    assert not usage.tokens_known and usage.cost_usd is None  # codex-acp tells only its context's size
    assert any("100-token budget cannot be enforced" in line for line in rec.lines("t", "engine"))
    assert rec.result("t").final_message.endswith("Wrote hello.txt.")


# -------------------------------------------------------------------------------- claude-code-acp
def claude_env(monkeypatch: pytest.MonkeyPatch, home: Path, stub: anthropic_stub.AnthropicStub) -> None:
    """Claude Code on the stand-in alone: its key and URL, a config folder of its own, no other traffic."""
    quiet_claude_code(monkeypatch, home)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", stub.api_key)
    # its side calls go to a small model (which files matter in git's history; a token count when the
    # count endpoint is missing): answered apart, so they never take the scripted turns of the task
    stub.answer_aside(lambda path, body: "haiku" in str(body.get("model")), anthropic_stub.text("ok"))


async def test_claude_code_acp_writes_a_file_as_root_too(tmp_path, repo, runner, on_path, monkeypatch) -> None:
    """The built-in profile, also when the cockpit runs as root (the CI's containers do): the file is written through the client's fs/write_text_file and lands on the task branch; the
    adapter reports no usage, so the tokens and the cost are unknown, never 0."""
    home = on_path("claude-code-acp")
    worktree = tmp_path / "worktrees" / "r1" / "t"
    turns = [anthropic_stub.tool_use("mcp__acp__Write", file_path=str(worktree / "hello.txt"),
                                     content="hello from claude\n"),
             anthropic_stub.text("Wrote hello.txt.")]
    with anthropic_stub.AnthropicStub(turns) as stub:
        claude_env(monkeypatch, home, stub)
        profiles = ProfileSet()
        base = profiles["claude-acp"]  # acceptEdits: its edits need no permission here
        profiles.profiles["claude-acp"] = base.with_changes(acp=base.acp.__class__(mode="acceptEdits"))
        plan = plan_of({"id": "t", "prompt": "write hello.txt", "agent": "claude-acp"}, profiles=profiles)
        engine = make_engine(plan, repo, profiles=profiles, run_id="r1", worktree_root=tmp_path / "worktrees")
        states, rec = await runner.run(engine, timeout=180)
    assert states["t"] is S.SUCCEEDED, rec.lines("t")
    assert landed(repo, rec, "hello.txt") == "hello from claude"
    main_calls = [r["body"] for r in stub.requests
                  if r["path"].split("?")[0] == "/v1/messages" and "haiku" not in str(r["body"].get("model"))]
    assert len(main_calls) == 2 and not stub.left  # both scripted turns, and the side calls apart
    assert main_calls[1]["messages"][-1]["content"][0]["type"] == "tool_result"
    usage = rec.usage("t")[-1].usage
    assert not usage.tokens_known and usage.cost_usd is None
    tool_lines = [e.lines[0] for e in rec.of(LogLines) if e.key.startswith("tool:")]
    assert tool_lines[-1].startswith("✓ Write ") and tool_lines[-1].endswith("hello.txt [edit]")
    assert rec.result("t").final_message == "Wrote hello.txt."
    if os.geteuid() == 0:
        assert ProfileSet()["claude-acp"].environment() == {"IS_SANDBOX": "1"}


async def test_claude_code_acp_goes_on_with_its_session_after_the_task_ended(
        tmp_path, repo, runner, on_path, monkeypatch) -> None:
    """claude-code-acp offers session/resume: a follow-up after the task ended reopens the same session in
    the same worktree, and the model is asked with the earlier conversation, then the message."""
    home = on_path("claude-code-acp")
    worktree = tmp_path / "worktrees" / "r1" / "t"
    turns = [anthropic_stub.tool_use("mcp__acp__Write", file_path=str(worktree / "hello.txt"), content="hello\n"),
             anthropic_stub.text("Wrote hello.txt."),
             anthropic_stub.tool_use("mcp__acp__Write", file_path=str(worktree / "more.txt"), content="more\n"),
             anthropic_stub.text("Wrote more.txt.")]
    with anthropic_stub.AnthropicStub(turns) as stub:
        claude_env(monkeypatch, home, stub)
        profiles = ProfileSet()
        base = profiles["claude-acp"]
        profiles.profiles["claude-acp"] = base.with_changes(acp=base.acp.__class__(mode="acceptEdits"))
        plan = plan_of({"id": "t", "prompt": "write hello.txt", "agent": "claude-acp"}, profiles=profiles)
        engine = make_engine(plan, repo, profiles=profiles, run_id="r1", worktree_root=tmp_path / "worktrees")
        task, rec = runner.start(engine, stay_open=True)
        await rec.wait_state("t", S.SUCCEEDED, timeout=180)
        await engine.send("t", "also write more.txt")
        await rec.wait_for(lambda e: isinstance(e, TaskStateChanged) and e.task_id == "t" and e.attempt == 2
                           and e.new.terminal, 180, "the follow-up's attempt")
        engine.close()
        states = await asyncio.wait_for(task, 60)
    assert states["t"] is S.SUCCEEDED, "\n".join(rec.lines("t", "stderr"))
    main_calls = [r["body"] for r in stub.requests
                  if r["path"].split("?")[0] == "/v1/messages" and "haiku" not in str(r["body"].get("model"))]
    assert len(main_calls) == 4 and not stub.left
    earlier = json.dumps(main_calls[2]["messages"])
    assert "write hello.txt" in earlier and "Wrote hello.txt." in earlier
    assert "also write more.txt" in json.dumps(main_calls[2]["messages"][-1])
    (first, second) = rec.of(AgentSession)
    assert (first.attempt, second.attempt) == (1, 2) and first.session_id == second.session_id
    assert any(f"ACP session {first.session_id} reopened (resume)" in line for line in rec.lines("t", "engine"))
    assert landed(repo, rec, "hello.txt") == "hello" and landed(repo, rec, "more.txt") == "more"


async def test_claude_code_acp_asks_on_the_ask_channel(tmp_path, on_path, monkeypatch) -> None:
    home = on_path("claude-code-acp")
    workdir = tmp_path / "work"
    workdir.mkdir()
    git(workdir, "init", "-q")
    turns = [anthropic_stub.tool_use("mcp__acp__Write", file_path=str(workdir / "hello.txt"),
                                     content="hello from claude\n"),
             anthropic_stub.text("Done.")]
    events: list[object] = []
    channel = AskChannel(events.append)
    with anthropic_stub.AnthropicStub(turns) as stub:
        claude_env(monkeypatch, home, stub)
        env = {**os.environ, **ProfileSet()["claude-acp"].environment()}
        ctx = AgentContext("t", "write hello.txt", str(workdir), env, 1, lambda *a, **k: None,
                           lambda usage: None, ask=channel.asker("t", 1, "claude-acp", str(workdir)))
        outcome = await asyncio.wait_for(AcpAgent(ProfileSet()["claude-acp"], ctx).run(), 120)
    assert (outcome.exit_code, outcome.final_message) == (0, "Done.")
    assert (workdir / "hello.txt").read_text() == "hello from claude\n"  # through fs/write_text_file
    answered = [e for e in events if isinstance(e, QuestionAnswered)]
    assert len(answered) == 1 and answered[0].answer.allow and answered[0].question.request.kind == "edit"
    assert answered[0].question.request.paths == ("hello.txt",)
    assert {o.kind for o in answered[0].question.request.options} == {"allow_always", "allow_once", "reject_once"}


# --------------------------------------------------------------------------------------- opencode
def opencode_env(monkeypatch: pytest.MonkeyPatch, home: Path, stub: anthropic_stub.AnthropicStub) -> None:
    """opencode on the stand-in through its config file (its Anthropic provider at the stand-in's URL),
    with nothing fetched: no model list, update, plugin or language server from the network."""
    config = home / "opencode.json"
    config.write_text(json.dumps({
        "model": "anthropic/claude-sonnet-4-5", "autoupdate": False, "share": "disabled",
        "provider": {"anthropic": {"options": {"baseURL": f"{stub.url}/v1", "apiKey": stub.api_key}}},
    }))
    monkeypatch.setenv("OPENCODE_CONFIG", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    for name in ("MODELS_FETCH", "AUTOUPDATE", "LSP_DOWNLOAD", "DEFAULT_PLUGINS", "SHARE"):
        monkeypatch.setenv(f"OPENCODE_DISABLE_{name}", "1")
    # its side call (the session's title) goes to the small model: answered apart from the turns
    stub.answer_aside(lambda path, body: "haiku" in str(body.get("model")),
                      anthropic_stub.text("Hello file", input_tokens=7, output_tokens=3))


async def test_opencode_writes_a_file_its_tokens_unknown_its_cost_stated(
        tmp_path, repo, runner, on_path, monkeypatch) -> None:
    """opencode writes with its own tools; its prompt response carries the tokens of its LAST model call
    only (1100 + 10 here, of 2100 + 50 billed), so the profile leaves the tokens unknown and records the
    cumulative cost opencode states in usage_update (priced by opencode: Sonnet 4.5 at $3 / $15 per million)."""
    home = on_path("opencode")
    worktree = tmp_path / "worktrees" / "r1" / "t"
    turns = [anthropic_stub.Turn([anthropic_stub.call("write", filePath=str(worktree / "hello.txt"),
                                                      content="hello from opencode\n")],
                                 input_tokens=1000, output_tokens=40),
             anthropic_stub.text("Done.", input_tokens=1100, output_tokens=10)]
    with anthropic_stub.AnthropicStub(turns) as stub:
        opencode_env(monkeypatch, home, stub)
        profiles = ProfileSet()
        plan = plan_of({"id": "t", "prompt": "write hello.txt", "agent": "opencode"}, profiles=profiles)
        engine = make_engine(plan, repo, profiles=profiles, run_id="r1", worktree_root=tmp_path / "worktrees")
        states, rec = await runner.run(engine, timeout=180)
    assert states["t"] is S.SUCCEEDED, rec.lines("t")
    assert landed(repo, rec, "hello.txt") == "hello from opencode"
    assert not stub.left and all(r["path"] == "/v1/messages" for r in stub.requests)
    usage = rec.usage("t")[-1].usage
    assert not usage.tokens_known
    assert usage.cost_usd == pytest.approx((1000 * 3 + 40 * 15 + 1100 * 3 + 10 * 15) / 1e6)
    tool_lines = [e.lines[0] for e in rec.of(LogLines) if e.key.startswith("tool:")]
    assert tool_lines[-1] == "✓ hello.txt [edit]"
    assert rec.result("t").final_message == "Done."


def test_every_real_program_is_pinned_to_its_profile_s_checked_version() -> None:
    profiles = ProfileSet()
    for name in ("codex", "aider", "gemini"):
        assert TOOLS[name].version == profiles[name].checked_version
    assert TOOLS["claude-code-acp"].version == profiles["claude-acp"].checked_version
    assert TOOLS["opencode"].version == profiles["opencode"].checked_version
