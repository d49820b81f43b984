"""The ``anthropic`` agent, driven through the real SDK against the local stand-in server.

Nothing here reaches past 127.0.0.1: ANTHROPIC_BASE_URL points the SDK at tests/helpers/anthropic_stub.py.
"""
from __future__ import annotations

import asyncio
import os
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.anthropic_harness import Harness, api_profile, stub, worktree  # noqa: F401  (fixtures)
from tests.helpers.anthropic_stub import API_KEY, AnthropicStub, Turn, call, error, text, tool_use
from tests.helpers.events import EVENT_TIMEOUT, eventually, make_engine, plan_of
from tests.helpers.repos import git
from engine.agents.anthropic_agent import DEFAULT_SYSTEM, AnthropicAgent
from engine.agents.base import AgentContext, CannotTakeMessage
from engine.config import load_config
from engine.errors import ConfigError
from engine.events import UsageUpdate
from engine.prices import load_prices
from engine.profiles import AgentProfile, AnthropicSettings, ProfileSet, builtin_profiles, check_api_key
from engine.states import TaskState
from engine.usage import Usage

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")



def results_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last message of a request."""
    return [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]


def no_traceback(lines: list[str]) -> None:
    assert not any("Traceback" in line or 'File "' in line for line in lines), lines


# ------------------------------------------------------------------------------------ basics
async def test_text_only(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(text("Looking at it.\nAll fine: nothing to do", chunk=4))
    h = Harness(worktree, prompt="check the project", temperature=0.2)
    outcome = await h.run()
    assert (outcome.exit_code, outcome.final_message) == (0, "Looking at it.\nAll fine: nothing to do")
    assert h.lines == ["Looking at it.", "All fine: nothing to do"]  # whole lines, the last one flushed
    [request] = stub.requests
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    body = request["body"]
    assert body["model"] == "claude-sonnet-4-6" and body["stream"] is True
    assert body["max_tokens"] == 8192
    assert body["system"] == DEFAULT_SYSTEM
    assert body["temperature"] == 0.2
    assert body["cache_control"] == {"type": "ephemeral"}
    assert {t["name"] for t in body["tools"]} == {
        "read_file", "list_files", "search_text", "write_file", "edit_file", "run_command",
    }
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "check the project"}]}]


async def test_own_system_prompt_and_limits(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(text("ok"))
    h = Harness(worktree, system="Be brief.", max_tokens=1000, model="claude-haiku-4-5")
    assert (await h.run()).exit_code == 0
    body = stub.bodies[0]
    assert (body["system"], body["max_tokens"], body["model"]) == ("Be brief.", 1000, "claude-haiku-4-5")
    assert "temperature" not in body


async def test_tools_write_and_edit_files(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(
        tool_use("write_file", "I will write the module.", path="src/app.py", content="x = 1\ny = 2\n"),
        Turn([call("edit_file", path="src/app.py", old_string="x = 1", new_string="x = 10"),
              call("read_file", path="src/app.py")]),
        tool_use("run_command", command="python3 -c \"import runpy; print(runpy.run_path('src/app.py')['x'])\""),
        text("Done: x is 10."),
    )
    h = Harness(worktree)
    outcome = await h.run()
    assert (outcome.exit_code, outcome.final_message) == (0, "Done: x is 10.")
    assert (worktree / "src/app.py").read_text() == "x = 10\ny = 2\n"
    assert h.lines == [
        "I will write the module.",
        "→ write_file: src/app.py", "← ok (2 lines)",
        "→ edit_file: src/app.py", "← ok (-1 +1 lines)",
        "→ read_file: src/app.py", "← ok (2 lines)",
        h.lines[7], "← ok (exit 0, 1 lines)",
        "Done: x is 10.",
    ]
    assert h.lines[7].startswith("→ run_command: python3 -c")
    assert len(stub.requests) == 4
    # every tool call is answered in the next request, in order, by its id
    for i, body in enumerate(stub.bodies[1:]):
        asked = [b for b in stub.bodies[i + 1]["messages"][-2]["content"] if b["type"] == "tool_use"]
        answered = results_of(body)
        assert [r["tool_use_id"] for r in answered] == [b["id"] for b in asked]
        assert not any(r.get("is_error") for r in answered)
    second = results_of(stub.bodies[2])
    assert second[1]["content"] == "     1\tx = 10\n     2\ty = 2"
    assert results_of(stub.bodies[3])[0]["content"] == "exit code 0\n10"
    # the assistant turn is sent back as it came
    assert stub.bodies[1]["messages"][1] == {"role": "assistant", "content": [
        {"type": "text", "text": "I will write the module."},
        {"type": "tool_use", "id": stub.turns[0].blocks[1].id, "name": "write_file",
         "input": {"path": "src/app.py", "content": "x = 1\ny = 2\n"}},
    ]}


async def test_tools_cannot_leave_the_worktree(stub: AnthropicStub, tmp_path: Path, worktree: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep\n")
    (worktree / "escape").symlink_to(outside)
    stub.add(
        Turn([
            call("write_file", path="../x", content="pwned"),
            call("read_file", path="/etc/passwd"),
            call("write_file", path="escape/evil.txt", content="pwned"),
            call("edit_file", path="escape/keep.txt", old_string="keep", new_string="pwned"),
            call("list_files", pattern="../**"),
        ]),
        text("I could not get out."),
    )
    h = Harness(worktree)
    assert (await h.run()).exit_code == 0
    results = results_of(stub.bodies[1])
    assert len(results) == 5 and all(r["is_error"] is True for r in results)
    assert "'..' is refused" in results[0]["content"]
    assert "absolute paths are refused" in results[1]["content"]
    assert "root:" not in results[1]["content"]
    assert "symbolic link leads outside" in results[2]["content"]
    assert "symbolic link leads outside" in results[3]["content"]
    assert not (tmp_path / "x").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "keep\n"
    assert sum(line.startswith("← ✗ ") for line in h.lines) == 5


async def test_max_turns(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(tool_use("list_files"), tool_use("list_files"), tool_use("list_files"))
    h = Harness(worktree, max_turns=2)
    outcome = await h.run()
    assert (outcome.exit_code, outcome.final_message) == (1, "stopped after max_turns 2")
    assert len(stub.requests) == 2
    assert h.lines[-1] == "✗ stopped after max_turns 2"


async def test_response_cut_at_max_tokens_with_a_tool_call(stub: AnthropicStub, worktree: Path) -> None:
    cut = tool_use("write_file", path="big.txt", content="...")
    cut.stop_reason = "max_tokens"
    stub.add(cut, text("I will write it in parts."))
    h = Harness(worktree)
    assert (await h.run()).exit_code == 0
    [result] = results_of(stub.bodies[1])
    assert result["is_error"] is True and "max_tokens" in result["content"]
    assert not (worktree / "big.txt").exists()


# ------------------------------------------------------------------------------------ usage
async def test_usage_counted_once_and_priced(stub: AnthropicStub, worktree: Path) -> None:
    first = tool_use("list_files")
    first.input_tokens, first.output_tokens, first.cache_write, first.cache_read = 1000, 200, 300, 400
    first.model = "claude-sonnet-4-5-20250929"  # the API answers with the dated id
    second = text("done")
    second.input_tokens, second.output_tokens, second.cache_read = 500, 100, 1000
    stub.add(first, second)
    h = Harness(worktree)
    assert (await h.run()).exit_code == 0
    final = h.usages[-1]
    assert (final.tokens_in, final.tokens_out, final.cache_write, final.cache_read) == (1500, 300, 300, 1400)
    expected = load_prices().cost("claude-sonnet-4-5", Usage(1500, 300, 300, 1400))
    assert final.cost_usd == pytest.approx(expected)
    assert final.cost_usd == pytest.approx((1500 * 3 + 300 * 15 + 300 * 3.75 + 1400 * 0.3) / 1e6)
    # reports are cumulative and never go down; the first one came as the response started
    assert h.usages[0].tokens_in == 1000 and h.usages[0].tokens_out == 1
    for a, b in zip(h.usages, h.usages[1:]):
        assert b.tokens_in >= a.tokens_in and b.tokens_out >= a.tokens_out and b.cost_usd >= a.cost_usd


async def test_unknown_model_costs_unknown(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(text("hi"))
    h = Harness(worktree, model="claude-imaginary-9")
    assert (await h.run()).exit_code == 0
    assert h.usages and all(u.cost_usd is None for u in h.usages)
    assert h.lines == ["hi"]
    assert (h.usages[-1].tokens_in, h.usages[-1].tokens_out) == (10, 5)


# ------------------------------------------------------------------------------------ follow-ups
async def test_follow_up_during_a_turn_joins_the_tool_results(stub: AnthropicStub, worktree: Path) -> None:
    first = tool_use("write_file", path="a.txt", content="a\n").held()
    stub.add(first, text("Added the README note too."))
    h = Harness(worktree)
    assert h.agent.accepts_messages
    task = asyncio.create_task(h.run())
    await eventually(first.started.is_set, what="the first response to start")
    await h.agent.send("also mention it in the README")
    first.release()
    outcome = await task
    assert outcome.exit_code == 0
    last = stub.bodies[1]["messages"][-1]
    assert last["role"] == "user"
    assert [b["type"] for b in last["content"]] == ["tool_result", "text"]
    assert last["content"][1]["text"] == "also mention it in the README"
    assert h.has("1 message from the developer joined the conversation")
    with pytest.raises(CannotTakeMessage):
        await h.agent.send("too late")


async def test_follow_up_after_the_end_of_turn_continues(stub: AnthropicStub, worktree: Path) -> None:
    first = text("I am done.").held()
    stub.add(first, text("Renamed it as well."))
    h = Harness(worktree)
    task = asyncio.create_task(h.run())
    await eventually(first.started.is_set, what="the first response to start")
    await h.agent.send("please also rename it")
    first.release()
    outcome = await task
    assert (outcome.exit_code, outcome.final_message) == (0, "Renamed it as well.")
    messages = stub.bodies[1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[-1]["content"] == [{"type": "text", "text": "please also rename it"}]


# ------------------------------------------------------------------------------------ pause / stop
async def test_pause_holds_the_next_step_until_resume(stub: AnthropicStub, worktree: Path) -> None:
    first = tool_use("write_file", path="later.txt", content="x\n").held()
    stub.add(first, text("done"))
    h = Harness(worktree)
    task = asyncio.create_task(h.run())
    await eventually(first.started.is_set, what="the first response to start")
    h.agent.pause()
    first.release()
    await eventually(lambda: h.has("‖ paused"), what="the loop to wait")
    assert not (worktree / "later.txt").exists()  # the tool waits for resume
    assert len(stub.requests) == 1
    h.agent.resume()
    assert (await task).exit_code == 0
    assert (worktree / "later.txt").read_text() == "x\n"


async def test_stop_cancels_the_request_in_flight(stub: AnthropicStub, worktree: Path) -> None:
    first = text("thinking...").held()
    stub.add(first)
    h = Harness(worktree)
    task = asyncio.create_task(h.run())
    await eventually(lambda: h.usages, what="the agent to read the start of the response")
    await h.agent.stop(0.5)
    outcome = await asyncio.wait_for(task, EVENT_TIMEOUT)
    assert outcome.exit_code == 1 and outcome.final_message.startswith("stopped")
    assert h.usages[-1].tokens_in == 10  # what the stopped response had counted so far is kept
    with pytest.raises(CannotTakeMessage):
        await h.agent.send("hello?")


async def test_stop_while_paused(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(tool_use("list_files"))
    h = Harness(worktree)
    h.agent.pause()
    task = asyncio.create_task(h.run())
    await eventually(lambda: h.has("‖ paused"), what="the loop to wait")
    await h.agent.stop(0.5)
    outcome = await asyncio.wait_for(task, EVENT_TIMEOUT)
    assert outcome.exit_code == 1 and "stopped" in outcome.final_message
    assert stub.requests == []


# ------------------------------------------------------------------------------------ API trouble
async def test_overloaded_then_success_is_retried_by_the_sdk(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(error(529, "Overloaded", retry_after_ms=1), text("made it"))
    h = Harness(worktree)
    outcome = await h.run()
    assert (outcome.exit_code, outcome.final_message) == (0, "made it")
    assert len(stub.requests) == 2
    assert stub.requests[1]["headers"]["x-stainless-retry-count"] == "1"
    assert h.lines[0] == "! overloaded (529), the SDK retries (retry 1 of 2)"
    assert h.lines[1:] == ["made it"]


async def test_rate_limited_until_retries_run_out(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(error(429, "slow down", retry_after_ms=1), error(429, "slow down", retry_after_ms=1))
    h = Harness(worktree, max_retries=1)
    outcome = await h.run()
    assert outcome.exit_code == 1
    assert outcome.final_message == "rate limited (429) after 1 retries: slow down"
    assert h.lines == [
        "! rate limited (429), the SDK retries (retry 1 of 1)",
        "! rate limited (429), no retries left",
        "✗ rate limited (429) after 1 retries: slow down",
    ]


async def test_bad_key_ends_the_task_with_one_line(stub: AnthropicStub, worktree: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong")
    h = Harness(worktree)
    outcome = await h.run()
    assert outcome.exit_code == 1
    assert outcome.final_message == "authentication failed (401): invalid x-api-key; check ANTHROPIC_API_KEY"
    assert len(stub.requests) == 1  # a 401 is not retried
    assert h.lines == [f"✗ {outcome.final_message}"]
    assert not any("sk-ant-wrong" in line for line in h.lines)


async def test_bad_request_ends_the_task(stub: AnthropicStub, worktree: Path) -> None:
    stub.add(error(400, "messages: text content blocks must be non-empty"))
    h = Harness(worktree)
    outcome = await h.run()
    assert (outcome.exit_code, outcome.final_message) == (
        1, "bad request (400): messages: text content blocks must be non-empty")
    no_traceback(h.lines)


async def test_connection_error(worktree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    h = Harness(worktree, max_retries=0)
    outcome = await h.run()
    assert outcome.exit_code == 1
    assert outcome.final_message.startswith("cannot reach the Anthropic API (after 0 retries)")
    assert h.lines[0] == "! connection error, no retries left"
    assert len(h.lines) == 2 and "\n" not in outcome.final_message
    no_traceback(h.lines)


async def test_missing_api_key(stub: AnthropicStub, worktree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    h = Harness(worktree)
    outcome = await h.run()
    assert outcome.exit_code == 1
    assert outcome.final_message == "agent profile 'api' calls the Anthropic API, but ANTHROPIC_API_KEY is not set"
    assert stub.requests == []


def test_missing_program_and_check_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    sonnet, shell = builtin_profiles()["sonnet"], builtin_profiles()["shell"]
    assert "ANTHROPIC_API_KEY is not set" in sonnet.missing_program()
    assert check_api_key([shell]) is None
    assert check_api_key([sonnet, shell, sonnet]) == (
        "ANTHROPIC_API_KEY is not set: agent profile 'sonnet' calls the Anthropic API "
        "(export ANTHROPIC_API_KEY=... or choose another agent)"
    )
    two = check_api_key([sonnet, api_profile("opus")])
    assert "agent profiles 'opus', 'sonnet' call the Anthropic API" in two
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")  # empty is not a key
    assert check_api_key([sonnet]) is not None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert check_api_key([sonnet]) is None and sonnet.missing_program() is None
    assert check_api_key([sonnet], environ={}) is not None


# ------------------------------------------------------------------------------------ profiles
async def test_deprecated_model_is_said_in_the_pane(
    stub: AnthropicStub, worktree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's own list changes between releases: the test puts its own model on it.
    from anthropic.resources.messages.messages import DEPRECATED_MODELS

    monkeypatch.setitem(DEPRECATED_MODELS, "claude-test-retired-1", "March 1st, 2026")
    stub.add(text("ok"))
    h = Harness(worktree, model="claude-test-retired-1")
    assert (await h.run()).exit_code == 0
    assert h.lines[0] == "! the model claude-test-retired-1 is deprecated: end of life March 1st, 2026"
    assert h.lines[1:] == ["ok"]


def test_builtin_sonnet_profile() -> None:
    sonnet = builtin_profiles()["sonnet"]
    assert sonnet.kind == "anthropic" and sonnet.argv == ()
    assert sonnet.anthropic == AnthropicSettings(model="claude-sonnet-4-6")
    assert (sonnet.anthropic.max_tokens, sonnet.anthropic.max_turns, sonnet.anthropic.command_timeout) == (
        8192, 30, 120.0)
    assert sonnet.budget_usd is None and sonnet.budget_tokens is None


def test_builtin_sonnet_model_is_priced() -> None:
    """The built-in profile's cost must be known. (Whether the installed SDK lists its model as deprecated
    is data the SDK changes between releases: the pane says so at run time, see above.)"""
    model = builtin_profiles()["sonnet"].anthropic.model
    assert load_prices().price(model) is not None


def write_config(repo_dir: Path, text_: str) -> Path:
    path = repo_dir / "cockpit.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text_).lstrip("\n"))
    return path


def test_anthropic_profiles_in_cockpit_toml(tmp_path: Path) -> None:
    write_config(tmp_path, """
        [agents.opus]
        kind = "anthropic"
        model = "claude-opus-4-5"
        max_tokens = 16000
        max_turns = 50
        system = "You are careful."
        temperature = 0.3
        command_timeout = "2m"
        max_retries = 5
        request_timeout = 300
        budget_usd = 2.5
        budget_tokens = 1_000_000
        env = { PYTHONDONTWRITEBYTECODE = "1" }

        [agents.haiku]
        extends = "sonnet"
        model = "claude-haiku-4-5"

        [agents.sonnet]
        max_turns = 10
        budget_usd = 1

        [agents.claude]
        budget_tokens = 500000
    """)
    profiles = load_config(tmp_path).profiles
    opus = profiles["opus"]
    assert opus.kind == "anthropic" and opus.argv == ()
    assert opus.anthropic == AnthropicSettings(
        model="claude-opus-4-5", max_tokens=16000, max_turns=50, system="You are careful.", temperature=0.3,
        command_timeout=120.0, max_retries=5, request_timeout=300.0,
    )
    assert (opus.budget_usd, opus.budget_tokens) == (2.5, 1_000_000)
    assert opus.environment() == {"PYTHONDONTWRITEBYTECODE": "1"}
    haiku = profiles["haiku"]
    assert haiku.kind == "anthropic" and haiku.anthropic.model == "claude-haiku-4-5"
    assert haiku.anthropic.max_turns == 30  # the built-in sonnet's, not the override below it
    assert profiles["sonnet"].anthropic.max_turns == 10 and profiles["sonnet"].budget_usd == 1.0
    assert profiles["claude"].budget_tokens == 500000  # budgets apply to any kind


@pytest.mark.parametrize("text_, expected", [
    ('[agents.x]\nkind = "anthropic"\n', "[agents.x]: a profile of kind \"anthropic\" needs 'model'"),
    ('[agents.x]\nkind = "anthropic"\nmodel = ""\n', "model must be a model id"),
    ('[agents.x]\nkind = "anthropic"\nmodel = "m"\nargv = ["a", "{prompt}"]\n',
     "'argv' does not apply to kind = \"anthropic\""),
    ('[agents.x]\nkind = "anthropic"\nmodel = "m"\noutput = "text"\n', "'output' does not apply"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\nmax_turns = 3\n',
     "[agents.x]: unknown key 'max_turns' for a command profile (it belongs to kind = \"anthropic\")"),
    ('[agents.x]\nextends = "sonnet"\nmax_turns = 0\n', "max_turns must be a whole number of at least 1, not 0"),
    ('[agents.x]\nextends = "sonnet"\nmax_tokens = 1.5\n', "max_tokens must be a whole number"),
    ('[agents.x]\nextends = "sonnet"\ntemperature = 2\n', "temperature must be a number from 0 to 1"),
    ('[agents.x]\nextends = "sonnet"\ncommand_timeout = "soon"\n', "command_timeout: bad duration 'soon'"),
    ('[agents.x]\nextends = "sonnet"\nsystem = 3\n', "system must be a non-empty string"),
    ('[agents.x]\nextends = "sonnet"\nbudget_usd = -1\n', "budget_usd must be a number of dollars more than zero"),
    ('[agents.x]\nextends = "sonnet"\nbudget_tokens = 0\n', "budget_tokens must be a whole number of at least 1"),
    ('[agents.x]\nextends = "sonnet"\nkind = "command"\n', "[agents.x]: a command profile needs 'argv'"),
])
def test_anthropic_profile_errors(tmp_path: Path, text_: str, expected: str) -> None:
    path = write_config(tmp_path, text_)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert expected in message


def test_an_api_profile_can_become_a_command_one(tmp_path: Path) -> None:
    write_config(tmp_path, '[agents.x]\nextends = "sonnet"\nkind = "command"\nargv = ["echo", "{prompt}"]\n')
    x = load_config(tmp_path).profiles["x"]
    assert (x.kind, x.argv, x.anthropic) == ("command", ("echo", "{prompt}"), None)


# ------------------------------------------------------------------------------------ the engine
async def test_through_the_engine(stub: AnthropicStub, repo: Path, runner) -> None:
    stub.add(
        tool_use("write_file", "Writing the greeting.", path="hello.txt", content="hello from the model\n"),
        text("Wrote hello.txt."),
    )
    plan = plan_of({"id": "greet", "agent": "sonnet", "prompt": "write hello.txt"})
    states, rec = await runner.run(make_engine(plan, repo, ProfileSet()))
    assert states == {"greet": TaskState.SUCCEEDED}, rec.summary()
    result = rec.result("greet")
    assert result.exit_code == 0 and result.final_message == "Wrote hello.txt."
    assert [f.path for f in result.files] == ["hello.txt"]
    assert git(repo, "show", f"{result.branch}:hello.txt") == "hello from the model"
    assert not (repo / "hello.txt").exists()  # the user's checkout is not touched
    lines = [line for line in rec.lines("greet", "agent") if not line.startswith("! the model")]
    assert lines == ["Writing the greeting.", "→ write_file: hello.txt", "← ok (1 lines)", "Wrote hello.txt."]
    update = rec.usage("greet")[-1]
    assert isinstance(update, UsageUpdate)
    usage = update.usage
    assert (usage.tokens_in, usage.tokens_out) == (20, 10)
    assert usage.cost_usd == pytest.approx((20 * 3 + 10 * 15) / 1e6)
    assert stub.bodies[0]["messages"][0]["content"][0]["text"] == "write hello.txt"


async def test_engine_fails_the_task_before_it_starts_without_a_key(
    stub: AnthropicStub, repo: Path, runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    plan = plan_of({"id": "t", "agent": "sonnet", "prompt": "anything"})
    states, rec = await runner.run(make_engine(plan, repo, ProfileSet()))
    assert states == {"t": TaskState.FAILED}
    assert rec.states("t") == [TaskState.READY, TaskState.FAILED]
    assert "ANTHROPIC_API_KEY is not set" in rec.transitions("t")[-1].reason
    assert stub.requests == []


async def test_engine_pause_send_and_cancel(stub: AnthropicStub, repo: Path, runner) -> None:
    first = tool_use("write_file", path="a.txt", content="a\n").held()
    stub.add(first, text("never reached"))
    plan = plan_of({"id": "t", "agent": "sonnet", "prompt": "write a.txt"})
    engine = make_engine(plan, repo, ProfileSet())
    task, rec = runner.start(engine)
    await eventually(first.started.is_set, what="the first response to start")
    engine.pause("t")
    await engine.send("t", "and b.txt too")  # an API agent takes messages, even paused
    first.release()
    await rec.wait_line("t", "‖ paused")
    engine.cancel("t")
    states = await asyncio.wait_for(task, EVENT_TIMEOUT)
    assert states == {"t": TaskState.CANCELLED}
    assert rec.states("t")[-3:] == [TaskState.RUNNING, TaskState.PAUSED, TaskState.CANCELLED]
    assert len(stub.requests) == 1  # nothing more was asked once paused
    result = rec.result("t")
    assert result.files == () and result.final_message.startswith("stopped")
    assert "message sent: and b.txt too" in rec.lines("t", "engine")
