"""Parsers that turn an agent CLI's stdout, one line at a time, into readable pane lines.

Each parser is fed every stdout line of one attempt, in order, and answers with a :class:`Parsed`:
the lines to show, the attempt's cumulative :class:`Usage` when the line changed it, and the
agent's final message when the line carries it.

Formats (see :data:`FORMATS`):

- ``text``: lines are shown as they are; the final message is the last non-blank line.
- ``claude-stream-json``: ``claude -p … --output-format stream-json --verbose``.
- ``codex-json``: ``codex exec --json``.
- ``aider``: aider's plain output, its ``Tokens: … Cost: …`` reports read (figures of 1000 and more are
  rounded by aider, "1.2k": the usage says it is approximate), and an API error it gave up on noted as
  the run's failure (aider exits 0 after one).
- ``gemini-stream-json``: ``gemini -p … --output-format stream-json``.

The JSON parsers never raise and never drop a line silently: a line that is not JSON, or JSON of
a shape they do not know, is shown as it is.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

from engine.agents.failures import classify_output
from engine.formatting import plural, usd
from engine.usage import Usage

FORMATS = ("text", "claude-stream-json", "codex-json", "aider", "gemini-stream-json")

DETAIL_LIMIT = 200
"""Longest detail shown on one summary line (a command, a path, a tool result's first line)."""

# Input fields of a tool call that best say what it does, most telling first.
_TOOL_DETAIL_KEYS = (
    "command", "file_path", "path", "notebook_path", "pattern", "url", "query", "description", "prompt",
)


@dataclass
class Parsed:
    lines: list[str] = field(default_factory=list)  # readable lines; may be empty
    usage: Usage | None = None  # the attempt's cumulative usage, when this line changed it
    final_message: str | None = None  # the agent's final answer, when this line carries it


class OutputParser(Protocol):
    def parse(self, line: str) -> Parsed: ...


def failure_of(parser: OutputParser | None) -> tuple[str | None, str] | None:
    """``(failure kind or None, the line that tells it)`` when the output told of a failure that the
    program's exit status hides (aider exits 0 after giving up on its API), else None."""
    return getattr(parser, "failure", None)


def make_parser(fmt: str) -> OutputParser | None:
    """A fresh parser for one attempt's output in format ``fmt`` (one of :data:`FORMATS`); None for
    ``text``, whose lines are the program's own and are shown as they come (the agent keeps the last
    non-blank one as the final message)."""
    if fmt == "text":
        return None
    try:
        factory = _FACTORIES[fmt]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r} (known: {', '.join(FORMATS)})") from None
    return factory()


# --- JSON lines, shared -------------------------------------------------------------------------


_Handler = Callable[[dict[str, Any]], Parsed | None]


class _JsonLinesParser:
    """Decodes one JSON object a line and hands it to the handler for its ``type``.

    A handler answers None for a shape it does not know; such a line, like any line that is not a
    JSON object, is shown as is.
    """

    _handlers: dict[str, _Handler]

    def parse(self, line: str) -> Parsed:
        line = _chomp(line)
        event = _json_object(line)
        if event is None:
            return Parsed([line])
        try:
            parsed = self._event(event)
        except Exception:  # a shape no handler foresaw must cost one raw line, never the reader
            parsed = None
        return Parsed([line]) if parsed is None else parsed

    def _event(self, event: dict[str, Any]) -> Parsed | None:
        handler = self._handlers.get(_str(event.get("type")))
        return handler(event) if handler else None


# --- Claude Code stream-json --------------------------------------------------------------------


class ClaudeStreamParser(_JsonLinesParser):
    """``claude -p … --output-format stream-json --verbose``.

    One assistant message is often printed as several lines (one per content block), each
    repeating the message's usage: usage is kept per message id (the latest seen) and summed over
    ids. The ``result`` line's usage and ``total_cost_usd`` are authoritative and replace the sum.
    """

    def __init__(self) -> None:
        self._total = Usage()
        self._by_message: dict[str, Usage] = {}
        self._unnamed = 0  # messages without an id, each counted as its own
        self._handlers = {
            "system": self._system,
            "assistant": self._assistant,
            "user": self._user,
            "result": self._result,
            "stream_event": lambda _event: Parsed([]),  # partial deltas; the full message follows
        }

    def _system(self, event: dict[str, Any]) -> Parsed | None:
        subtype = _str(event.get("subtype"))
        if subtype == "init":
            return Parsed([_init_line(event)])
        if subtype == "api_retry":
            return Parsed([claude_retry_line(event)])
        return Parsed([f"● system: {subtype}"]) if subtype else None

    def _assistant(self, event: dict[str, Any]) -> Parsed | None:
        message = event.get("message")
        if not isinstance(message, dict):
            return None
        lines = [line for block in _blocks(message.get("content")) for line in _assistant_block(block)]
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return Parsed(lines)
        return Parsed(lines, usage=self._count_message(_str(message.get("id")), _claude_usage(usage)))

    def _count_message(self, message_id: str, usage: Usage) -> Usage | None:
        """Count ``usage`` as the latest of this message; the new total, or None if unchanged."""
        if not message_id:
            self._unnamed += 1
        key = message_id or f"<unnamed {self._unnamed}>"
        previous = self._by_message.get(key, Usage())
        if key in self._by_message and previous == usage:
            return None
        self._by_message[key] = usage
        self._total = _add(_add(self._total, previous, sign=-1), usage)
        return replace(self._total)

    def _user(self, event: dict[str, Any]) -> Parsed | None:
        message = event.get("message")
        if not isinstance(message, dict):
            return None
        return Parsed([line for block in _blocks(message.get("content")) for line in _user_block(block)])

    def _result(self, event: dict[str, Any]) -> Parsed:
        cost = _cost(event.get("total_cost_usd"))
        usage = event.get("usage")
        every_model = claude_model_usage(event.get("modelUsage"))
        if every_model is not None:  # side calls and subagents too, where result.usage has the main loop only
            self._total = replace(every_model, cost_usd=cost if cost is not None else every_model.cost_usd)
            self._by_message.clear()
        elif isinstance(usage, dict):
            self._total = replace(_claude_usage(usage), cost_usd=cost)
            self._by_message.clear()  # messages after a result add onto it
        elif cost is not None:
            self._total = replace(self._total, cost_usd=cost)
        changed = every_model is not None or isinstance(usage, dict) or cost is not None
        text = event.get("result")
        return Parsed(
            [_result_line(event, cost)],
            usage=replace(self._total) if changed else None,
            final_message=text if isinstance(text, str) else None,
        )


def claude_model_usage(by_model: Any) -> Usage | None:
    """The sum of Claude Code's ``modelUsage`` (one entry per model, camelCase, with ``costUSD``), or
    None when there is none. The cost is None when some model's cost is missing."""
    if not isinstance(by_model, dict) or not by_model:
        return None
    total = Usage(cost_usd=0.0)
    for figures in by_model.values():
        if not isinstance(figures, dict):
            continue
        cost = _cost(figures.get("costUSD"))
        total = Usage(
            total.tokens_in + _int(figures.get("inputTokens")),
            total.tokens_out + _int(figures.get("outputTokens")),
            total.cache_write + _int(figures.get("cacheCreationInputTokens")),
            total.cache_read + _int(figures.get("cacheReadInputTokens")),
            None if total.cost_usd is None or cost is None else total.cost_usd + cost,
        )
    return total


def claude_retry_line(event: dict[str, Any]) -> str:
    """``! retry 3/10: 401 authentication_failed`` for Claude Code's ``system/api_retry``."""
    status = event.get("error_status")
    reason = " ".join(str(part) for part in (status if isinstance(status, int) else "", _str(event.get("error")))
                      if part != "")
    attempt, most = event.get("attempt"), event.get("max_retries")
    count = f"{attempt}/{most}" if isinstance(attempt, int) and isinstance(most, int) else ""
    return f"! retry {count}: {_shorten(reason or 'API error')}" if count else f"! retry: {_shorten(reason or 'API error')}"


def claude_block_lines(block: Any, role: str) -> list[str]:
    """The pane lines of one content block of a Claude Code message (``role`` ``assistant`` or
    ``user``), given as the API's JSON (``{"type": "tool_use", ...}``)."""
    return _assistant_block(block) if role == "assistant" else _user_block(block)


def _init_line(event: dict[str, Any]) -> str:
    parts = [f"model {_str(event.get('model')) or '?'}"]
    tools = event.get("tools")
    if isinstance(tools, list):
        parts.append(f"{len(tools)} tools")
    cwd = _str(event.get("cwd"))
    if cwd:
        parts.append(f"in {cwd}")
    return "● init: " + ", ".join(parts)


def _assistant_block(block: Any) -> list[str]:
    kind = _str(block.get("type")) if isinstance(block, dict) else ""
    if kind == "text":
        return _text_lines(_str(block.get("text")))
    if kind == "thinking":
        return _dimmed(_str(block.get("thinking")))
    if kind == "redacted_thinking":
        return []
    if kind in ("tool_use", "server_tool_use"):
        return [_tool_call_line(_str(block.get("name")) or "tool", block.get("input"))]
    return [_shorten(_compact_json(block))]


def _tool_call_line(name: str, tool_input: Any) -> str:
    detail = _tool_detail(tool_input)
    return f"→ {name}: {detail}" if detail else f"→ {name}"


def _tool_detail(tool_input: Any) -> str:
    if not isinstance(tool_input, dict) or not tool_input:
        return ""
    for key in _TOOL_DETAIL_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return _shorten(_first_line(value))
    return _shorten(_compact_json(tool_input))


def _user_block(block: Any) -> list[str]:
    if isinstance(block, str):
        return [f"» {_summary(block)}"] if block.strip() else []
    kind = _str(block.get("type")) if isinstance(block, dict) else ""
    if kind == "tool_result":
        mark = "✗ " if block.get("is_error") is True else ""
        text = _result_text(block.get("content"))
        return [f"← {mark}{_summary(text)}" if text.strip() else f"← {mark}(no output)"]
    if kind == "text":
        text = _str(block.get("text"))
        return [f"» {_summary(text)}"] if text.strip() else []
    return [_shorten(_compact_json(block))]


def _result_text(content: Any) -> str:
    """The text of a tool result's content: a string, or a list of text (and other) blocks."""
    if isinstance(content, str):
        return content
    parts = []
    for block in _blocks(content):
        kind = _str(block.get("type")) if isinstance(block, dict) else ""
        parts.append(_str(block.get("text")) if kind == "text" else f"[{kind or 'content'}]")
    return "\n".join(parts)


def _result_line(event: dict[str, Any], cost: float | None) -> str:
    subtype = _str(event.get("subtype"))
    ok = subtype == "success" and event.get("is_error") is not True
    turns = event.get("num_turns")
    line = "✓ done" if ok else f"✗ {subtype if subtype and subtype != 'success' else 'error'}"
    if isinstance(turns, int) and not isinstance(turns, bool):
        line += f" {'in' if ok else 'after'} {plural(turns, 'turn')}"
    if cost is not None:
        line += f", {usd(cost)}"
    reason = "" if ok else _error_reason(event)
    return f"{line}: {reason}" if reason else line


def _error_reason(event: dict[str, Any]) -> str:
    errors = event.get("errors")
    if isinstance(errors, list) and errors:
        return _summary(_str(errors[0]) or _compact_json(errors[0]))
    text = _str(event.get("result"))
    return _summary(text) if text.strip() else ""


def _claude_usage(usage: dict[str, Any]) -> Usage:
    return Usage(
        tokens_in=_int(usage.get("input_tokens")),
        tokens_out=_int(usage.get("output_tokens")),
        cache_write=_int(usage.get("cache_creation_input_tokens")),
        cache_read=_int(usage.get("cache_read_input_tokens")),
    )


# --- Codex exec --json --------------------------------------------------------------------------


class CodexJsonParser(_JsonLinesParser):
    """``codex exec --json``.

    Items are shown when they complete (a command also as it starts, a todo list whenever it
    changes). Each ``turn.completed`` carries that turn's usage, summed here; its
    ``input_tokens`` include the cached ones, read and written. Codex reports no cost, so ``cost_usd`` stays None.
    """

    def __init__(self) -> None:
        self._total = Usage()
        self._started_commands: set[str] = set()
        self._todo_shown: dict[str, list[str]] = {}
        self._handlers = {
            "thread.started": lambda event: Parsed([f"● thread {_str(event.get('thread_id')) or '?'}"]),
            "turn.started": lambda _event: Parsed([]),
            "turn.completed": self._turn_completed,
            "turn.failed": lambda event: Parsed([f"✗ turn failed: {_error_message(event.get('error'))}"]),
            "error": lambda event: Parsed([f"✗ {_error_message(event)}"]),
            "item.started": self._item_started,
            "item.updated": self._item_updated,
            "item.completed": self._item_completed,
        }

    def _turn_completed(self, event: dict[str, Any]) -> Parsed:
        usage = event.get("usage")
        if not isinstance(usage, dict):
            return Parsed(["✓ turn done"])
        cached = _int(usage.get("cached_input_tokens"))
        written = _int(usage.get("cache_write_input_tokens"))
        turn = Usage(
            tokens_in=max(0, _int(usage.get("input_tokens")) - cached - written),
            tokens_out=_int(usage.get("output_tokens")),
            cache_write=written,
            cache_read=cached,
        )
        self._total = _add(self._total, turn)
        return Parsed(["✓ turn done"], usage=replace(self._total))

    def _item_started(self, event: dict[str, Any]) -> Parsed | None:
        item = event.get("item")
        if not isinstance(item, dict):
            return None
        kind = _str(item.get("type"))
        if kind == "command_execution":
            self._started_commands.add(_str(item.get("id")))
            return Parsed([_command_line(item)])
        if kind == "todo_list":
            return Parsed(self._todo_lines(item))
        return Parsed([])  # shown on completion

    def _item_updated(self, event: dict[str, Any]) -> Parsed | None:
        item = event.get("item")
        if not isinstance(item, dict):
            return None
        return Parsed(self._todo_lines(item) if item.get("type") == "todo_list" else [])

    def _item_completed(self, event: dict[str, Any]) -> Parsed | None:
        item = event.get("item")
        if not isinstance(item, dict):
            return None
        kind = _str(item.get("type"))
        if kind == "agent_message":
            text = _str(item.get("text"))
            return Parsed(_text_lines(text), final_message=text)
        if kind == "command_execution":
            return Parsed(self._command_done(item))
        if kind == "todo_list":
            return Parsed(self._todo_lines(item))
        render = _CODEX_ITEMS.get(kind)
        return Parsed(render(item)) if render else None

    def _command_done(self, item: dict[str, Any]) -> list[str]:
        item_id = _str(item.get("id"))
        lines = [] if item_id and item_id in self._started_commands else [_command_line(item)]
        self._started_commands.discard(item_id)
        return lines + [_command_outcome(item)]

    def _todo_lines(self, item: dict[str, Any]) -> list[str]:
        lines = [
            f"{'☑' if entry.get('completed') is True else '☐'} {_str(entry.get('text'))}"
            for entry in _blocks(item.get("items"))
            if isinstance(entry, dict)
        ]
        item_id = _str(item.get("id"))
        if self._todo_shown.get(item_id) == lines:
            return []
        self._todo_shown[item_id] = lines
        return lines


def _command_line(item: dict[str, Any]) -> str:
    return f"$ {_shorten(_first_line(_str(item.get('command'))))}"


def _command_outcome(item: dict[str, Any]) -> str:
    output = _str(item.get("aggregated_output"))
    exit_code = item.get("exit_code")
    status = _str(item.get("status"))
    failed = (isinstance(exit_code, int) and exit_code != 0) or status in ("failed", "declined")
    if not failed:
        return f"← {_summary(output)}" if output.strip() else "← (no output)"
    why = f"exit {exit_code}" if isinstance(exit_code, int) else (status or "failed")
    return f"← ✗ {why}: {_summary(output)}" if output.strip() else f"← ✗ {why}"


def _file_change_lines(item: dict[str, Any]) -> list[str]:
    mark = "✗ " if item.get("status") == "failed" else ""
    changes = [change for change in _blocks(item.get("changes")) if isinstance(change, dict)]
    return [
        f"✎ {mark}{_str(change.get('kind')) or 'change'} {_shorten(_str(change.get('path')))}"
        for change in changes
    ] or [f"✎ {mark}(no changes)"]


def _mcp_lines(item: dict[str, Any]) -> list[str]:
    line = f"→ {_str(item.get('server')) or '?'}.{_str(item.get('tool')) or '?'}"
    if item.get("status") == "failed":
        error = item.get("error")
        reason = _error_message(error) if isinstance(error, dict) else _str(error)
        line += f" ✗ failed: {reason}" if reason else " ✗ failed"
    return [line]


_CODEX_ITEMS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "reasoning": lambda item: _dimmed(_str(item.get("text"))),
    "file_change": _file_change_lines,
    "mcp_tool_call": _mcp_lines,
    "web_search": lambda item: [f"→ search: {_shorten(_first_line(_str(item.get('query'))))}"],
    "error": lambda item: [f"✗ {_error_message(item)}"],
}


def _error_message(error: Any) -> str:
    message = _str(error.get("message")) if isinstance(error, dict) else ""
    return _summary(message) if message.strip() else "(no message)"


# --- aider ----------------------------------------------------------------------------------------

_AIDER_TOKENS = re.compile(
    r"^Tokens: (?P<sent>[\d.]+k?) sent(?:, (?P<write>[\d.]+k?) cache write)?(?:, (?P<hit>[\d.]+k?) cache hit)?, "
    r"(?P<received>[\d.]+k?) received\.(?: (?P<cost>Cost: .*))?$"
)
_AIDER_COST = re.compile(r"^Cost: \$(?P<message>[\d.]+) message, \$(?P<session>[\d.]+) session\.$")
_AIDER_API_ERROR = re.compile(r"^litellm\.(?P<error>\w+Error)\b")


class AiderParser:
    """aider's plain output, shown as it is (the final message is the last non-blank line).

    One ``Tokens:`` report follows each message to the model (the figures of that message: summed here);
    its ``Cost:`` part gives the session's cost so far (taken as it is). A ``litellm.…Error`` line that
    no report follows is an API error aider gave up on: :attr:`failure` then holds its kind
    (:mod:`engine.agents.failures`) and the line.
    """

    def __init__(self) -> None:
        self._last: str | None = None
        self._total = Usage()
        self.failure: tuple[str | None, str] | None = None

    def parse(self, line: str) -> Parsed:
        line = _chomp(line)
        if line.strip():
            self._last = line
        parsed = Parsed([line], final_message=self._last)
        text = line.strip()
        tokens = _AIDER_TOKENS.match(text)
        if tokens:
            self.failure = None
            self._add_report(tokens)
            cost = tokens.group("cost")
            if cost:
                self._cost(cost)
            parsed.usage = replace(self._total)
            return parsed
        cost = _AIDER_COST.match(text)
        if cost:
            self._cost(text)
            parsed.usage = replace(self._total)
            return parsed
        error = _AIDER_API_ERROR.match(text)
        if error:
            self.failure = (classify_output([text]), _shorten(text, 300))
        return parsed

    def _add_report(self, match: re.Match[str]) -> None:
        figures = {name: _aider_count(match.group(name)) for name in ("sent", "write", "hit", "received")}
        approximate = any(rounded for _, rounded in figures.values())
        sent, write, hit = figures["sent"][0], figures["write"][0], figures["hit"][0]
        self._total = Usage(
            tokens_in=self._total.tokens_in + max(0, sent - write - hit),
            tokens_out=self._total.tokens_out + figures["received"][0],
            cache_write=self._total.cache_write + write,
            cache_read=self._total.cache_read + hit,
            cost_usd=self._total.cost_usd,
            approximate=self._total.approximate or approximate,
        )

    def _cost(self, text: str) -> None:
        found = _AIDER_COST.match(text)
        if found:
            self._total = replace(self._total, cost_usd=_cost(float(found.group("session"))))


def _aider_count(figure: str | None) -> tuple[int, bool]:
    """aider's way of writing a count: ``812`` exact, ``1.2k`` and ``12k`` rounded; (count, rounded)."""
    if not figure:
        return 0, False
    if figure.endswith("k"):
        try:
            return int(round(float(figure[:-1]) * 1000)), True
        except ValueError:
            return 0, False
    try:
        return int(figure), False
    except ValueError:
        return 0, False


# --- Gemini CLI stream-json -----------------------------------------------------------------------


class GeminiStreamParser(_JsonLinesParser):
    """``gemini -p … --output-format stream-json``.

    Assistant text comes in deltas: joined into lines here, shown as each line completes (the rest when
    a tool is called or the run ends). The ``result`` line's ``stats`` are the run's totals (its
    ``input_tokens`` include the cached ones, ``input`` does not); Gemini CLI reports no cost.
    """

    def __init__(self) -> None:
        self._partial = ""
        self._message: list[str] = []
        self._handlers = {
            "init": lambda event: Parsed([f"● init: model {_str(event.get('model')) or '?'}"]),
            "message": self._message_event,
            "tool_use": self._tool_use,
            "tool_result": self._tool_result,
            "error": lambda event: Parsed(self._flush() + [f"✗ {_error_message(event)}"]),
            "result": self._result,
        }

    def _message_event(self, event: dict[str, Any]) -> Parsed | None:
        role = _str(event.get("role"))
        if role == "user":
            return Parsed([])
        if role != "assistant":
            return None
        text = self._partial + _str(event.get("content"))
        if event.get("delta") is not True:
            text += "\n"
        complete, newline, self._partial = text.rpartition("\n")
        lines = complete.split("\n") if newline else []
        self._message.extend(lines)
        return Parsed(lines)

    def _flush(self) -> list[str]:
        if not self._partial:
            return []
        line, self._partial = self._partial, ""
        self._message.append(line)
        return [line]

    def _tool_use(self, event: dict[str, Any]) -> Parsed:
        lines = self._flush()
        self._message = []  # the final message is what the agent says after its last tool call
        return Parsed(lines + [_tool_call_line(_str(event.get("tool_name")) or "tool", event.get("parameters"))])

    def _tool_result(self, event: dict[str, Any]) -> Parsed:
        if _str(event.get("status")) == "success":
            output = _str(event.get("output"))
            return Parsed([f"← {_summary(output)}" if output.strip() else "← ok"])
        return Parsed([f"← ✗ {_error_message(event.get('error'))}"])

    def _result(self, event: dict[str, Any]) -> Parsed:
        lines = self._flush()
        final = "\n".join(self._message).strip()
        stats = event.get("stats")
        usage = None
        if isinstance(stats, dict):
            cached = _int(stats.get("cached"))
            usage = Usage(
                tokens_in=_int(stats.get("input")) if "input" in stats else max(0, _int(stats.get("input_tokens")) - cached),
                tokens_out=_int(stats.get("output_tokens")),
                cache_read=cached,
            )
        if _str(event.get("status")) == "success":
            lines.append("✓ done")
        else:
            lines.append(f"✗ error: {_error_message(event.get('error'))}")
        return Parsed(lines, usage=usage, final_message=final or None)


# --- small shared pieces ------------------------------------------------------------------------


def _json_object(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None when the line is not one."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None
    return value if isinstance(value, dict) else None


def _chomp(line: str) -> str:
    return line[:-1] if line.endswith("\n") else line


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return 0


def _cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        cost = float(value)
    except OverflowError:  # an int too big for a float
        return None
    return cost if math.isfinite(cost) and cost >= 0 else None


def _add(total: Usage, more: Usage, sign: int = 1) -> Usage:
    """Token counts of ``total`` plus (or minus) ``more``; the cost stays ``total``'s."""
    return Usage(
        tokens_in=total.tokens_in + sign * more.tokens_in,
        tokens_out=total.tokens_out + sign * more.tokens_out,
        cache_write=total.cache_write + sign * more.cache_write,
        cache_read=total.cache_read + sign * more.cache_read,
        cost_usd=total.cost_usd,
    )


def _blocks(content: Any) -> list[Any]:
    """Content blocks: a list as is, a lone string as one text block, anything else as none."""
    if isinstance(content, list):
        return content
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return []


def _text_lines(text: str) -> list[str]:
    return text.strip("\r\n").splitlines() if text.strip() else []


def _dimmed(text: str) -> list[str]:
    return [f"· {line}" for line in _text_lines(text) if line.strip()]


def _first_line(text: str) -> str:
    first, newline, _rest = text.strip().partition("\n")
    return first.rstrip("\r") + (" …" if newline else "")


def _summary(text: str) -> str:
    """First non-blank line, shortened, plus how many lines follow it."""
    body = text.strip()
    first, newline, rest = body.partition("\n")
    more = rest.count("\n") + 1 if newline else 0
    return _shorten(first.rstrip("\r")) + (f" (+{plural(more, 'line')})" if more else "")


def _shorten(text: str, limit: int = DETAIL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


_FACTORIES: dict[str, Callable[[], OutputParser]] = {
    "claude-stream-json": ClaudeStreamParser,
    "codex-json": CodexJsonParser,
    "aider": AiderParser,
    "gemini-stream-json": GeminiStreamParser,
}
