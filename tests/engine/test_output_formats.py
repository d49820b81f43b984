"""Parsers of agent output formats, and the fake agent programs that speak them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.output_formats import FORMATS, Parsed, make_parser
from engine.usage import Usage
from tests.helpers.paths import FAKE_AGENTS



def feed(fmt: str, lines: list[str]) -> tuple[list[str], Usage | None, str | None]:
    """All readable lines, the last usage reported and the last final message."""
    parser = make_parser(fmt)
    shown: list[str] = []
    usage: Usage | None = None
    final: str | None = None
    for line in lines:
        parsed = parser.parse(line)
        shown.extend(parsed.lines)
        usage = parsed.usage or usage
        final = parsed.final_message if parsed.final_message is not None else final
    return shown, usage, final


def j(event: dict[str, Any]) -> str:
    return json.dumps(event)


def claude_usage(tokens_in: int, tokens_out: int, write: int = 0, read: int = 0) -> dict[str, int]:
    return {
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
    }


def assistant(message_id: str, block: dict[str, Any], usage: dict[str, int] | None = None) -> str:
    message: dict[str, Any] = {"id": message_id, "role": "assistant", "content": [block]}
    if usage is not None:
        message["usage"] = usage
    return j({"type": "assistant", "message": message})


def tool_result(content: Any, is_error: bool = False) -> str:
    block = {"type": "tool_result", "tool_use_id": "t1", "content": content, "is_error": is_error}
    return j({"type": "user", "message": {"role": "user", "content": [block]}})


def codex_item(event: str, item: dict[str, Any]) -> str:
    return j({"type": event, "item": item})


def turn_completed(tokens_in: int, cached: int, tokens_out: int) -> str:
    usage = {"input_tokens": tokens_in, "cached_input_tokens": cached, "output_tokens": tokens_out}
    return j({"type": "turn.completed", "usage": usage})


# --- factory ------------------------------------------------------------------------------------


def test_every_structured_format_has_a_parser() -> None:
    assert make_parser("text") is None  # plain text is shown as it comes, unparsed
    for fmt in FORMATS:
        if fmt != "text":
            assert isinstance(make_parser(fmt).parse("x"), Parsed)


def test_unknown_format_raises_value_error() -> None:
    with pytest.raises(ValueError, match="stream-jsonl"):
        make_parser("stream-jsonl")


def test_each_call_gives_a_fresh_parser() -> None:
    first = make_parser("codex-json")
    first.parse(turn_completed(10, 0, 1))
    assert make_parser("codex-json").parse(turn_completed(10, 0, 1)).usage == Usage(tokens_in=10, tokens_out=1)


# --- claude stream-json -------------------------------------------------------------------------


def test_claude_readable_lines() -> None:
    lines = [
        j({"type": "system", "subtype": "init", "model": "claude-x", "cwd": "/w", "tools": ["Bash", "Edit"],
           "session_id": "s"}),
        assistant("m1", {"type": "thinking", "thinking": "Hmm.\n\nLet me see."}),
        assistant("m1", {"type": "text", "text": "First line.\nSecond line.\n"}),
        assistant("m1", {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls -la"}}),
        tool_result("a\nb\nc\n"),
        assistant("m2", {"type": "tool_use", "id": "t2", "name": "Edit",
                         "input": {"file_path": "src/x.py", "old_string": "a", "new_string": "b"}}),
        tool_result([{"type": "text", "text": "no such file"}], is_error=True),
        assistant("m3", {"type": "tool_use", "id": "t3", "name": "Grep", "input": {"pattern": "def main"}}),
        tool_result(""),
        j({"type": "result", "subtype": "success", "is_error": False, "result": "All done.",
           "num_turns": 3, "total_cost_usd": 0.0123, "usage": claude_usage(1, 1)}),
    ]
    shown, _usage, final = feed("claude-stream-json", lines)
    assert shown == [
        "● init: model claude-x, 2 tools, in /w",
        "· Hmm.",
        "· Let me see.",
        "First line.",
        "Second line.",
        "→ Bash: ls -la",
        "← a (+2 lines)",
        "→ Edit: src/x.py",
        "← ✗ no such file",
        "→ Grep: def main",
        "← (no output)",
        "✓ done in 3 turns, $0.0123",
    ]
    assert final == "All done."


def test_claude_tool_call_detail_is_one_short_line() -> None:
    parser = make_parser("claude-stream-json")
    long_command = "echo " + "x" * 500 + "\necho second"
    line = parser.parse(assistant("m", {"type": "tool_use", "name": "Bash", "input": {"command": long_command}}))
    (shown,) = line.lines
    assert shown.startswith("→ Bash: echo xxx") and shown.endswith("…") and "\n" not in shown
    assert len(shown) <= len("→ Bash: ") + 200
    other = parser.parse(assistant("m", {"type": "tool_use", "name": "TodoWrite", "input": {"todos": [1]}}))
    assert other.lines == ['→ TodoWrite: {"todos":[1]}']
    bare = parser.parse(assistant("m", {"type": "tool_use", "name": "LS", "input": {}}))
    assert bare.lines == ["→ LS"]


def test_claude_error_results_are_marked() -> None:
    max_turns = j({"type": "result", "subtype": "error_max_turns", "is_error": True, "num_turns": 10})
    assert make_parser("claude-stream-json").parse(max_turns).lines == ["✗ error_max_turns after 10 turns"]
    api_error = j({"type": "result", "subtype": "success", "is_error": True, "result": "API Error: 500\nretry",
                   "num_turns": 1, "total_cost_usd": 0})
    parsed = make_parser("claude-stream-json").parse(api_error)
    assert parsed.lines == ["✗ error after 1 turn, $0.0000: API Error: 500 (+1 line)"]
    assert parsed.final_message == "API Error: 500\nretry"


def test_claude_usage_counts_each_message_id_once() -> None:
    parser = make_parser("claude-stream-json")
    first = claude_usage(100, 20, 50, 10)
    one = parser.parse(assistant("m1", {"type": "text", "text": "a"}, first))
    assert one.usage == Usage(tokens_in=100, tokens_out=20, cache_write=50, cache_read=10)
    repeated = parser.parse(assistant("m1", {"type": "tool_use", "name": "Bash", "input": {}}, first))
    assert repeated.usage is None  # same message, same usage: nothing changed
    two = parser.parse(assistant("m2", {"type": "text", "text": "b"}, claude_usage(30, 15, 0, 150)))
    assert two.usage == Usage(tokens_in=130, tokens_out=35, cache_write=50, cache_read=160, cost_usd=None)
    assert parser.parse(tool_result("ok")).usage is None


def test_claude_message_seen_again_with_grown_usage_replaces_its_own_share() -> None:
    parser = make_parser("claude-stream-json")
    parser.parse(assistant("m1", {"type": "text", "text": "a"}, claude_usage(100, 1)))
    parser.parse(assistant("m2", {"type": "text", "text": "b"}, claude_usage(10, 5)))
    grown = parser.parse(assistant("m1", {"type": "text", "text": "c"}, claude_usage(100, 40)))
    assert grown.usage == Usage(tokens_in=110, tokens_out=45)


def test_claude_result_replaces_the_running_sum() -> None:
    parser = make_parser("claude-stream-json")
    parser.parse(assistant("m1", {"type": "text", "text": "a"}, claude_usage(100, 20, 50, 10)))
    parser.parse(assistant("m2", {"type": "text", "text": "b"}, claude_usage(30, 15, 0, 150)))
    result = parser.parse(j({"type": "result", "subtype": "success", "is_error": False, "result": "ok",
                             "num_turns": 2, "total_cost_usd": 0.0123, "usage": claude_usage(130, 42, 50, 160)}))
    assert result.usage == Usage(tokens_in=130, tokens_out=42, cache_write=50, cache_read=160, cost_usd=0.0123)
    assert result.final_message == "ok"


def test_claude_result_without_cost_leaves_cost_unknown() -> None:
    parser = make_parser("claude-stream-json")
    result = parser.parse(j({"type": "result", "subtype": "success", "usage": claude_usage(5, 6)}))
    assert result.usage == Usage(tokens_in=5, tokens_out=6, cost_usd=None)
    assert result.lines == ["✓ done"]


def test_claude_messages_without_id_each_count() -> None:
    parser = make_parser("claude-stream-json")
    message = {"type": "assistant", "message": {"content": [], "usage": claude_usage(1, 2)}}
    parser.parse(j(message))
    assert parser.parse(j(message)).usage == Usage(tokens_in=2, tokens_out=4)


# --- codex json ---------------------------------------------------------------------------------


def test_codex_readable_lines() -> None:
    command = {"id": "i1", "type": "command_execution", "command": "bash -lc 'pytest -q'",
               "aggregated_output": "", "exit_code": None, "status": "in_progress"}
    lines = [
        j({"type": "thread.started", "thread_id": "th-1"}),
        j({"type": "turn.started"}),
        codex_item("item.completed", {"id": "i0", "type": "reasoning", "text": "**Planning**"}),
        codex_item("item.started", command),
        codex_item("item.completed", {**command, "aggregated_output": "1 failed\nFAILED x\n", "exit_code": 1,
                                      "status": "failed"}),
        codex_item("item.completed", {"id": "i2", "type": "command_execution", "command": "true",
                                      "aggregated_output": "", "exit_code": 0, "status": "completed"}),
        codex_item("item.started", {"id": "i3", "type": "file_change", "changes": [], "status": "in_progress"}),
        codex_item("item.completed", {"id": "i3", "type": "file_change", "status": "completed",
                                      "changes": [{"path": "a.py", "kind": "add"}, {"path": "b.py", "kind": "delete"}]}),
        codex_item("item.completed", {"id": "i4", "type": "mcp_tool_call", "server": "docs", "tool": "search",
                                      "status": "completed"}),
        codex_item("item.completed", {"id": "i5", "type": "web_search", "query": "textual log widget"}),
        codex_item("item.started", {"id": "i6", "type": "todo_list", "items": [{"text": "fix", "completed": False}]}),
        codex_item("item.updated", {"id": "i6", "type": "todo_list", "items": [{"text": "fix", "completed": False}]}),
        codex_item("item.updated", {"id": "i6", "type": "todo_list", "items": [{"text": "fix", "completed": True}]}),
        codex_item("item.completed", {"id": "i7", "type": "error", "message": "command timed out"}),
        codex_item("item.completed", {"id": "i8", "type": "agent_message", "text": "Fixed it.\nTests pass."}),
        turn_completed(100, 0, 10),
        j({"type": "turn.failed", "error": {"message": "stream disconnected"}}),
        j({"type": "error", "message": "Reconnecting... 1/5"}),
    ]
    shown, _usage, final = feed("codex-json", lines)
    assert shown == [
        "● thread th-1",
        "· **Planning**",
        "$ bash -lc 'pytest -q'",
        "← ✗ exit 1: 1 failed (+1 line)",
        "$ true",
        "← (no output)",
        "✎ add a.py",
        "✎ delete b.py",
        "→ docs.search",
        "→ search: textual log widget",
        "☐ fix",
        "☑ fix",
        "✗ command timed out",
        "Fixed it.",
        "Tests pass.",
        "✓ turn done",
        "✗ turn failed: stream disconnected",
        "✗ Reconnecting... 1/5",
    ]
    assert final == "Fixed it.\nTests pass."


def test_codex_usage_sums_turns_and_splits_cached_input() -> None:
    parser = make_parser("codex-json")
    first = parser.parse(turn_completed(1000, 400, 50))
    assert first.usage == Usage(tokens_in=600, tokens_out=50, cache_read=400, cost_usd=None)
    assert parser.parse(codex_item("item.completed", {"type": "agent_message", "text": "x"})).usage is None
    second = parser.parse(turn_completed(1200, 1000, 30))
    assert second.usage == Usage(tokens_in=800, tokens_out=80, cache_write=0, cache_read=1400, cost_usd=None)


def test_codex_final_message_is_the_last_agent_message() -> None:
    _shown, _usage, final = feed("codex-json", [
        codex_item("item.completed", {"id": "a", "type": "agent_message", "text": "first"}),
        codex_item("item.completed", {"id": "b", "type": "reasoning", "text": "thinking"}),
        codex_item("item.completed", {"id": "c", "type": "agent_message", "text": "last"}),
    ])
    assert final == "last"


# --- lines the JSON parsers do not know ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["claude-stream-json", "codex-json"])
@pytest.mark.parametrize("line", [
    "plain text from a wrapper script",
    "",
    "{not json",
    "[1, 2, 3]",
    '"a string"',
    "{}",
    '{"type": "something_new", "data": 1}',
    '{"type": "assistant", "message": "not an object"}',
    '{"type": "item.completed", "item": null}',
    '{"type": 42}',
    "[" * 100_000,
])
def test_unknown_lines_are_shown_as_is(fmt: str, line: str) -> None:
    parsed = make_parser(fmt).parse(line + "\n")
    assert parsed.lines == [line]
    assert parsed.usage is None and parsed.final_message is None


def test_unknown_codex_item_type_is_shown_as_is() -> None:
    line = codex_item("item.completed", {"id": "x", "type": "collab_tool_call", "tool": "spawn"})
    assert make_parser("codex-json").parse(line).lines == [line]


def test_unknown_claude_content_block_is_shown_compactly() -> None:
    parsed = make_parser("claude-stream-json").parse(assistant("m", {"type": "image", "source": {"data": "abc"}}))
    assert parsed.lines == ['{"type":"image","source":{"data":"abc"}}']


FIVE_MB = 5 * 1024 * 1024


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "text"])  # text is never parsed
def test_a_5_mb_plain_line_is_shown_whole(fmt: str) -> None:
    line = "x" * FIVE_MB
    assert make_parser(fmt).parse(line + "\n").lines == [line]


def test_a_5_mb_claude_tool_result_is_summarised() -> None:
    output = ("y" * 99 + "\n") * (FIVE_MB // 100)
    parsed = make_parser("claude-stream-json").parse(tool_result(output))
    assert parsed.lines == ["← " + "y" * 99 + f" (+{FIVE_MB // 100 - 1} lines)"]


def test_a_5_mb_claude_text_block_is_split_into_lines() -> None:
    text = ("z" * 1023 + "\n") * (FIVE_MB // 1024)
    parsed = make_parser("claude-stream-json").parse(assistant("m", {"type": "text", "text": text}))
    assert len(parsed.lines) == FIVE_MB // 1024 and parsed.lines[0] == "z" * 1023


def test_a_5_mb_codex_message_is_the_final_message() -> None:
    text = "w" * FIVE_MB
    parsed = make_parser("codex-json").parse(codex_item("item.completed", {"type": "agent_message", "text": text}))
    assert parsed.lines == [text] and parsed.final_message == text


# --- never raise --------------------------------------------------------------------------------

KNOWN_TYPES = [
    "system", "assistant", "user", "result", "stream_event", "thread.started", "turn.started",
    "turn.completed", "turn.failed", "error", "item.started", "item.updated", "item.completed",
]
KNOWN_KEYS = [
    "type", "subtype", "message", "content", "usage", "item", "items", "text", "id", "name", "input",
    "result", "total_cost_usd", "num_turns", "is_error", "error", "errors", "command", "changes",
    "aggregated_output", "exit_code", "status", "input_tokens", "cached_input_tokens", "output_tokens",
    "tool_use_id", "thinking", "tools", "model", "cwd", "completed", "query", "server", "tool", "path",
]
ITEM_TYPES = [
    "agent_message", "reasoning", "command_execution", "file_change", "mcp_tool_call", "web_search",
    "todo_list", "error", "text", "tool_use", "tool_result", "thinking", "init", "success",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(ITEM_TYPES),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=5), children, max_size=6),
    max_leaves=30,
)
events = st.builds(
    lambda kind, body: json.dumps({**body, "type": kind}),
    st.sampled_from(KNOWN_TYPES) | st.text(max_size=10),
    st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=6),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text() | events, max_size=8))
def test_parsers_never_raise(lines: list[str]) -> None:
    for fmt in FORMATS:
        parser = make_parser(fmt)
        if parser is None:  # text is shown as it comes, never parsed
            continue
        for line in lines:
            parsed = parser.parse(line)
            assert all(isinstance(shown, str) for shown in parsed.lines)
            assert parsed.lines or line.strip()  # a blank or unknown line is never dropped silently


# --- the fake agents, run for real --------------------------------------------------------------


def run_fake(name: str, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FAKE_AGENTS / name), *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )


def test_fake_agents_are_executable_scripts() -> None:
    for name in ("claude", "codex"):
        path = FAKE_AGENTS / name
        assert os.access(path, os.X_OK)
        assert path.read_text().startswith("#!/usr/bin/env python3\n")


def test_fake_claude_stream_through_the_parser(tmp_path: Path) -> None:
    prompt = "Please write notes/hello.txt: hello from claude"
    done = run_fake("claude", ["-p", prompt, "--output-format", "stream-json", "--verbose"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "notes" / "hello.txt").read_text() == "hello from claude"
    parser = make_parser("claude-stream-json")
    parsed = [parser.parse(line) for line in done.stdout.splitlines()]
    usages = [p.usage for p in parsed if p.usage is not None]
    assert usages == [
        Usage(tokens_in=100, tokens_out=20, cache_write=50, cache_read=10),  # msg 1, counted once
        Usage(tokens_in=130, tokens_out=35, cache_write=50, cache_read=160),  # + msg 2
        Usage(tokens_in=130, tokens_out=42, cache_write=50, cache_read=160, cost_usd=0.0123),  # result
    ]
    shown = [line for p in parsed for line in p.lines]
    assert "→ Write: notes/hello.txt" in shown
    assert shown[-1] == "✓ done in 2 turns, $0.0123"
    assert [p.final_message for p in parsed if p.final_message] == ["Done: wrote notes/hello.txt"]
    assert not any(line.startswith("{") for line in shown)  # every line understood


def test_fake_claude_failure_and_text_output(tmp_path: Path) -> None:
    failed = run_fake("claude", ["-p", "hi", "--output-format", "stream-json", "--verbose"], tmp_path,
                      FAKE_AGENT_EXIT="2")
    assert failed.returncode == 2
    _shown, _usage, _final = feed("claude-stream-json", failed.stdout.splitlines())
    assert _shown[-1] == "✗ error_during_execution after 2 turns, $0.0123: Done."
    plain = run_fake("claude", ["-p", "write a.txt: x"], tmp_path)
    # text is never parsed: the agent keeps the last non-blank line as the final message
    assert [line for line in plain.stdout.splitlines() if line.strip()][-1] == "Done: wrote a.txt"


def test_fake_codex_stream_through_the_parser(tmp_path: Path) -> None:
    done = run_fake("codex", ["exec", "--json", "--full-auto", "write out.txt: hello from codex"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.txt").read_text() == "hello from codex"
    shown, usage, final = feed("codex-json", done.stdout.splitlines())
    assert usage == Usage(tokens_in=800, tokens_out=80, cache_write=0, cache_read=1400, cost_usd=None)
    assert final == "Done: wrote out.txt"
    assert "$ bash -lc ls" in shown and f"✎ add {tmp_path / 'out.txt'}" in shown
    assert not any(line.startswith("{") for line in shown)


def test_fake_codex_honours_exit_code_and_reads_prompt_from_stdin(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(FAKE_AGENTS / "codex"), "exec", "--json", "-"],
        cwd=tmp_path, input="write s.txt: via stdin", capture_output=True, text=True, timeout=60,
        env={**os.environ, "FAKE_AGENT_EXIT": "3", "FAKE_AGENT_SLEEP": "0.1"},
    )
    assert done.returncode == 3
    assert (tmp_path / "s.txt").read_text() == "via stdin"
    shown, usage, _final = feed("codex-json", done.stdout.splitlines())
    assert shown[-1] == "✗ turn failed: fake failure (exit 3)"
    assert usage == Usage(tokens_in=600, tokens_out=50, cache_read=400)  # the failed turn reports none
