"""A stand-in for the Anthropic Messages API on 127.0.0.1, for tests that drive the real SDK.

It speaks ``POST /v1/messages`` with ``stream: true`` as server-sent events (``message_start``,
``content_block_start/delta/stop`` for text and for ``tool_use`` with ``input_json_delta``,
``message_delta`` with the stop reason and usage, ``message_stop``, and a ``ping``), accepts the key
as ``x-api-key`` or ``Authorization: Bearer …``, records every request, and plays scripted turns
in order::

    stub = AnthropicStub([tool_use("write_file", path="a.txt", content="hi\\n"), text("done")])
    with stub:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
        ...
    stub.bodies[1]["messages"][-1]  # the tool results the agent sent back

A turn with ``for_model`` answers only a request for a model whose id holds that text (a subagent on
another model); the others are played in order to whatever asks. A :class:`Turn` can instead answer with an HTTP error (``error(529, retry_after_ms=1)``), and can
``hold`` after ``message_start`` until the test releases it (``turn.release()``), so a test can act
while a response is streaming. When the script runs out the stub answers 400 with
``x-should-retry: false``, so a test that expected fewer turns fails at once and plainly. Requests
an agent makes on the side (a title, a token count) are answered by :meth:`AnthropicStub.answer_aside`
without taking a turn.
"""
from __future__ import annotations
from collections.abc import Callable

import itertools
from contextlib import contextmanager
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

API_KEY = "test-key"
HOLD_LIMIT = 30.0  # seconds a held turn waits at most, so a broken test cannot hang the server
_ids = itertools.count(1)


@dataclass
class Block:
    kind: str  # "text" | "tool_use"
    text: str = ""
    name: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass
class Turn:
    blocks: list[Block] = field(default_factory=list)
    stop_reason: str | None = None  # default: tool_use when a block is a tool call, else end_turn
    input_tokens: int = 10
    output_tokens: int = 5
    cache_write: int = 0
    cache_read: int = 0
    model: str | None = None  # default: the model the request asked for
    for_model: str | None = None  # only a request for a model whose id holds this text takes the turn
    status: int | None = None  # an HTTP error instead of a message
    error_type: str = ""
    error_message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None  # wait after message_start until set
    started: threading.Event = field(default_factory=threading.Event)  # message_start was sent
    chunk: int = 7  # characters per text or JSON delta

    def release(self) -> None:
        if self.hold is not None:
            self.hold.set()

    def held(self) -> "Turn":
        self.hold = threading.Event()
        return self


def text(*parts: str, **options: Any) -> Turn:
    """A turn of text blocks (one per part)."""
    return Turn([Block("text", text=p) for p in parts], **options)


_TURN_OPTIONS = ("input_tokens", "output_tokens", "cache_write", "cache_read", "for_model")


def tool_use(name: str, _text: str = "", **tool_input: Any) -> Turn:
    """A turn with one tool call (after an optional text block). The turn's own figures
    (``input_tokens``, ``output_tokens``, ``cache_write``, ``cache_read``, ``for_model``)
    are taken out of the keywords; the rest is the tool's input."""
    options = {key: tool_input.pop(key) for key in _TURN_OPTIONS if key in tool_input}
    blocks = [Block("text", text=_text)] if _text else []
    return Turn(blocks + [call(name, **tool_input)], **options)


def call(name: str, **tool_input: Any) -> Block:
    return Block("tool_use", name=name, input=tool_input, id=f"toolu_{next(_ids):04d}")


def error(status: int, message: str = "", retry_after_ms: int | None = None, **options: Any) -> Turn:
    kinds = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
             404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
    headers = dict(options.pop("headers", {}))
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    return Turn(status=status, error_type=kinds.get(status, "api_error"),
                error_message=message or kinds.get(status, "error").replace("_", " "), headers=headers, **options)


@contextmanager
def served(monkeypatch: Any) -> Iterator["AnthropicStub"]:
    """A stand-in started for the test, ``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY`` pointing at it."""
    server = AnthropicStub().start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    try:
        yield server
    finally:
        server.close()


class AnthropicStub:
    def __init__(self, turns: list[Turn] | None = None, api_key: str = API_KEY) -> None:
        self.turns: list[Turn] = list(turns or [])
        self.api_key = api_key
        self.asides: list[tuple[Callable[[str, dict[str, Any]], bool], Turn]] = []  # see answer_aside
        self.requests: list[dict[str, Any]] = []  # {"path", "headers", "body"} in arrival order
        self._lock = threading.Lock()
        self._taken: set[int] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "AnthropicStub":
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="anthropic-stub", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        for turn in self.turns:
            turn.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "AnthropicStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, *turns: Turn) -> None:
        self.turns.extend(turns)

    def answer_aside(self, match: Callable[[str, dict[str, Any]], bool], turn: Turn) -> None:
        """Answer every request ``match(path, body)`` picks with ``turn``, as often as it comes, without
        taking a scripted turn: an agent's side calls (Claude Code's haiku requests), whose number and
        place among the turns are its own business."""
        self.asides.append((match, turn))

    def _aside(self, path: str, body: dict[str, Any]) -> Turn | None:
        return next((turn for match, turn in self.asides if match(path, body)), None)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]

    @property
    def left(self) -> int:
        """Scripted turns not played yet."""
        return len(self.turns) - self._next

    # ------------------------------------------------------------------ serving
    def _take_turn(self, model: str = "") -> Turn | None:
        with self._lock:
            for index, turn in enumerate(self.turns):
                if index in self._taken:
                    continue
                if turn.for_model is not None and turn.for_model not in model:
                    continue
                if turn.for_model is None and any(
                        t.for_model is not None and t.for_model in model and i not in self._taken
                        for i, t in enumerate(self.turns)):
                    continue  # a turn waits for this very model further on
                self._taken.add(index)
                return turn
            return None

    @property
    def left(self) -> int:
        """Scripted turns not played yet."""
        return len(self.turns) - len(self._taken)


class _Handler(BaseHTTPRequestHandler):
    owner: AnthropicStub
    protocol_version = "HTTP/1.0"  # one response per connection, ended by closing it

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        stub = self.owner
        with stub._lock:
            stub.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        aside = stub._aside(self.path.split("?")[0], body) if isinstance(body, dict) else None
        if aside is not None and self._authorized():
            return self._stream(aside, body)
        if self.path.split("?")[0] != "/v1/messages":
            return self._error(404, "not_found_error", f"stub: no route {self.path}", {"x-should-retry": "false"})
        if not self._authorized():
            return self._error(401, "authentication_error", "invalid x-api-key", {})
        turn = stub._take_turn(str(body.get("model") or ""))
        if turn is None:
            return self._error(400, "invalid_request_error", "stub: no scripted turn left", {"x-should-retry": "false"})
        if turn.status is not None:
            return self._error(turn.status, turn.error_type, turn.error_message, turn.headers)
        try:
            self._stream(turn, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a stopped agent): nothing to do

    def _authorized(self) -> bool:
        key = self.headers.get("x-api-key")
        auth = self.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            key = key or auth[7:].strip()
        return key == self.owner.api_key

    def _error(self, status: int, kind: str, message: str, headers: dict[str, str]) -> None:
        data = json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_stub_{next(_ids)}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, turn: Turn, request: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", f"req_stub_{next(_ids)}")
        self.end_headers()
        model = turn.model or request.get("model") or "claude-stub"
        start_usage = {
            "input_tokens": turn.input_tokens, "output_tokens": 1,
            "cache_creation_input_tokens": turn.cache_write, "cache_read_input_tokens": turn.cache_read,
        }
        self._event("message_start", {"type": "message_start", "message": {
            "id": f"msg_stub_{next(_ids)}", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage,
        }})
        turn.started.set()
        if turn.hold is not None:
            turn.hold.wait(HOLD_LIMIT)
        self._event("ping", {"type": "ping"})
        for index, block in enumerate(turn.blocks):
            if block.kind == "text":
                self._event("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": {"type": "text", "text": ""}})
                for piece in _pieces(block.text, turn.chunk):
                    self._event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                         "delta": {"type": "text_delta", "text": piece}})
            else:
                self._event("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": {"type": "tool_use", "id": block.id,
                                                                       "name": block.name, "input": {}}})
                for piece in _pieces(json.dumps(block.input), turn.chunk):
                    self._event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                         "delta": {"type": "input_json_delta", "partial_json": piece}})
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        stop = turn.stop_reason or ("tool_use" if any(b.kind == "tool_use" for b in turn.blocks) else "end_turn")
        # as the API does, the final usage repeats the input figures of message_start: totals, not deltas
        final_usage = {**start_usage, "output_tokens": turn.output_tokens}
        self._event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": stop, "stop_sequence": None},
                                      "usage": final_usage})
        self._event("message_stop", {"type": "message_stop"})

    def _event(self, name: str, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]
