"""The output formats of aider and Gemini CLI, codex's cache writes, and the message for a refused flag,
on lines as the real programs print them (the programs themselves run in test_real_agents.py)."""
from __future__ import annotations

import json

from engine.agents.program_version import flag_refused
from engine.output_formats import Usage, failure_of, make_parser


def feed(fmt: str, lines: list[str]):
    parser = make_parser(fmt)
    shown, usage, final = [], None, None
    for line in lines:
        parsed = parser.parse(line)
        shown.extend(parsed.lines)
        usage = parsed.usage or usage
        final = parsed.final_message if parsed.final_message is not None else final
    return parser, shown, usage, final


def test_aider_reports_are_summed_and_rounded_figures_marked_approximate() -> None:
    parser, shown, usage, _ = feed("aider", [
        "Aider v0.86.2",
        "Tokens: 812 sent, 57 received. Cost: $0.00016 message, $0.00016 session.",
        "Applied edit to hello.txt",
        "Tokens: 1.2k sent, 3.4k cache write, 12k cache hit, 56 received.",
        "Cost: $0.0022 message, $0.0024 session.",
    ])
    assert shown[0] == "Aider v0.86.2" and len(shown) == 5
    assert usage == Usage(tokens_in=812, tokens_out=113, cache_write=3400, cache_read=12000, cost_usd=0.0024,
                          approximate=True)
    assert failure_of(parser) is None


def test_aider_exact_figures_are_not_approximate() -> None:
    _, _, usage, _ = feed("aider", ["Tokens: 999 sent, 56 received. Cost: $0.00022 message, $0.00022 session."])
    assert usage == Usage(tokens_in=999, tokens_out=56, cost_usd=0.00022)


def test_aider_api_error_it_gave_up_on_is_a_failure_of_its_class() -> None:
    parser, _, usage, _ = feed("aider", [
        "litellm.InternalServerError: InternalServerError: OpenAIException - Connection error.",
        "The API provider's servers are down or overloaded.",
        "Retrying in 0.2 seconds...",
        "litellm.InternalServerError: InternalServerError: OpenAIException - Connection error.",
        "The API provider's servers are down or overloaded.",
    ])
    assert usage is None
    kind, line = failure_of(parser)
    assert kind == "network" and line.startswith("litellm.InternalServerError")
    parser, _, _, _ = feed("aider", ["litellm.AuthenticationError: AuthenticationError: OpenAIException - "
                                     "Incorrect API key provided"])
    assert failure_of(parser)[0] == "auth"


def test_aider_error_followed_by_a_report_is_no_failure() -> None:
    parser, _, _, _ = feed("aider", [
        "litellm.RateLimitError: RateLimitError: OpenAIException - rate limited",
        "Retrying in 0.2 seconds...",
        "Tokens: 10 sent, 5 received.",
    ])
    assert failure_of(parser) is None


def test_gemini_stream_json() -> None:
    events = [
        {"type": "init", "session_id": "s", "model": "gemini-2.5-flash"},
        {"type": "message", "role": "user", "content": "write hello.txt"},
        {"type": "message", "role": "assistant", "content": "Writing", "delta": True},
        {"type": "message", "role": "assistant", "content": " it.\nNow", "delta": True},
        {"type": "tool_use", "tool_name": "write_file", "tool_id": "w1",
         "parameters": {"file_path": "hello.txt", "content": "hi\n"}},
        {"type": "tool_result", "tool_id": "w1", "status": "success"},
        {"type": "message", "role": "assistant", "content": "done", "delta": True},
        {"type": "result", "status": "success", "stats": {"total_tokens": 333, "input_tokens": 300,
                                                          "output_tokens": 30, "cached": 4, "input": 296}},
    ]
    _, shown, usage, final = feed("gemini-stream-json", [json.dumps(e) for e in events])
    assert shown == ["● init: model gemini-2.5-flash", "Writing it.", "Now", "→ write_file: hello.txt", "← ok",
                     "done", "✓ done"]
    assert usage == Usage(tokens_in=296, tokens_out=30, cache_read=4)
    assert final == "done"


def test_gemini_error_result() -> None:
    line = json.dumps({"type": "result", "status": "error",
                       "error": {"type": "unknown", "message": "[API Error: 429 Too Many Requests]"},
                       "stats": {"input_tokens": 0, "output_tokens": 0, "cached": 0, "input": 0}})
    _, shown, _, _ = feed("gemini-stream-json", [line])
    assert shown == ["✗ error: [API Error: 429 Too Many Requests]"]


def test_codex_cache_writes_are_kept() -> None:
    line = json.dumps({"type": "turn.completed", "usage": {
        "input_tokens": 123, "cached_input_tokens": 20, "cache_write_input_tokens": 7, "output_tokens": 45,
        "reasoning_output_tokens": 0}})
    _, _, usage, _ = feed("codex-json", [line])
    assert usage == Usage(tokens_in=96, tokens_out=45, cache_write=7, cache_read=20)


def test_refused_flags_in_each_parser_s_words() -> None:
    assert flag_refused(["error: unexpected argument '--full-auto' found", "", "Usage: codex exec"]) == (
        "--full-auto", "error: unexpected argument '--full-auto' found")
    assert flag_refused(["aider: error: unrecognized arguments: --bogus-flag"])[0] == "--bogus-flag"
    assert flag_refused(["Unknown arguments: bogus-flag, bogusFlag"])[0] == "--bogus-flag"
    assert flag_refused(["error: invalid value 'maybe' for '--sandbox <SANDBOX_MODE>'"])[0] == "--sandbox"
    assert flag_refused(["Error: rate limit exceeded"]) is None
