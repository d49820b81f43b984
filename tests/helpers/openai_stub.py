"""A stand-in for the OpenAI APIs on 127.0.0.1: the Responses API (codex, codex-acp) and Chat
Completions (aider through litellm), streaming or not, playing scripted turns in order::

    stub = OpenAIStub([Turn(calls=[Call("exec_command", {"cmd": "echo hi > a.txt"})]), Turn(text="done")])
    with stub:
        ...  # base URL: f"{stub.url}/v1", key: "test-key" as a Bearer token

Responses: ``response.created``, an output item per message (text deltas) and per function call, and
``response.completed`` with ``usage`` (``input_tokens`` including the cached ones, ``input_tokens_details``
with ``cached_tokens`` and ``cache_write_tokens``). Chat Completions: ``chat.completion.chunk`` deltas and
a last chunk with ``usage``, or one ``chat.completion``. A :class:`Turn` with ``status`` answers with that
HTTP error instead (401 for a wrong key, whatever the script).
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.stub_server import StubHandler, StubServer, pieces

_ids = itertools.count(1)


@dataclass
class Call:
    """A function call the model makes (``arguments``: an object, sent as JSON text)."""

    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=lambda: f"call_{next(_ids):04d}")


@dataclass
class Turn:
    text: str = ""
    calls: list[Call] = field(default_factory=list)
    input_tokens: int = 10  # including the cached ones, as the API counts
    output_tokens: int = 5
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    status: int | None = None  # an HTTP error instead of an answer
    error_message: str = ""
    chunk: int = 7  # characters per text delta


class OpenAIStub(StubServer[Turn]):
    name = "openai-stub"

    def handler(self) -> type[StubHandler]:
        return _Handler


class _Handler(StubHandler):
    stub: OpenAIStub

    def get(self, path: str) -> None:
        if path.endswith("/models"):
            return self.json(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})
        super().get(path)

    def post(self, path: str, body: Any) -> None:
        if self.key() != self.stub.api_key:
            return self._error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
        if not (path.endswith("/responses") or path.endswith("/chat/completions")):
            return self._error(404, f"stub: no route {path}", "invalid_request_error")
        turn = self.stub.take()
        if turn is None:
            return self._error(400, "stub: no scripted turn left", "invalid_request_error")
        if turn.status is not None:
            return self._error(turn.status, turn.error_message or "error", "api_error")
        if path.endswith("/responses"):
            self._responses(turn, body)
        elif body.get("stream"):
            self._chat_stream(turn, body)
        else:
            self._chat(turn, body)

    def _error(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        self.json(status, {"error": {"message": message, "type": kind, "code": code, "param": None}})

    # ---------------------------------------------------------------- Responses API
    def _responses(self, turn: Turn, body: dict[str, Any]) -> None:
        self.sse_start()
        seq = itertools.count()
        base = {"id": f"resp_{next(_ids)}", "object": "response", "created_at": int(time.time()),
                "model": body.get("model", "stub-model"), "status": "in_progress", "output": []}

        def send(kind: str, **data: Any) -> None:
            self.event({"type": kind, "sequence_number": next(seq), **data}, kind)

        send("response.created", response=base)
        outputs: list[dict[str, Any]] = []
        if turn.text:
            mid = f"msg_{next(_ids)}"
            index = len(outputs)
            item = {"type": "message", "id": mid, "status": "in_progress", "role": "assistant", "content": []}
            send("response.output_item.added", output_index=index, item=item)
            empty = {"type": "output_text", "text": "", "annotations": []}
            send("response.content_part.added", item_id=mid, output_index=index, content_index=0, part=empty)
            for piece in pieces(turn.text, turn.chunk):
                send("response.output_text.delta", item_id=mid, output_index=index, content_index=0, delta=piece)
            part = {"type": "output_text", "text": turn.text, "annotations": []}
            send("response.output_text.done", item_id=mid, output_index=index, content_index=0, text=turn.text)
            send("response.content_part.done", item_id=mid, output_index=index, content_index=0, part=part)
            done = {**item, "status": "completed", "content": [part]}
            send("response.output_item.done", output_index=index, item=done)
            outputs.append(done)
        for call in turn.calls:
            index = len(outputs)
            item = {"type": "function_call", "id": f"fc_{next(_ids)}", "status": "completed", "call_id": call.id,
                    "name": call.name, "arguments": json.dumps(call.arguments)}
            send("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
            send("response.output_item.done", output_index=index, item=item)
            outputs.append(item)
        usage = {
            "input_tokens": turn.input_tokens,
            "input_tokens_details": {"cached_tokens": turn.cached_tokens, "cache_write_tokens": turn.cache_write_tokens},
            "output_tokens": turn.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": turn.input_tokens + turn.output_tokens,
        }
        send("response.completed", response={**base, "status": "completed", "output": outputs, "usage": usage})

    # ---------------------------------------------------------------- Chat Completions
    def _usage(self, turn: Turn) -> dict[str, Any]:
        return {"prompt_tokens": turn.input_tokens, "completion_tokens": turn.output_tokens,
                "total_tokens": turn.input_tokens + turn.output_tokens,
                "prompt_tokens_details": {"cached_tokens": turn.cached_tokens}}

    def _chat_stream(self, turn: Turn, body: dict[str, Any]) -> None:
        self.sse_start()
        head = {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "stub-model")}

        def send(delta: dict[str, Any], finish: str | None = None) -> None:
            self.event({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        send({"role": "assistant", "content": ""})
        for piece in pieces(turn.text, turn.chunk) if turn.text else []:
            send({"content": piece})
        for i, call in enumerate(turn.calls):
            send({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                                  "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}]})
        send({}, "tool_calls" if turn.calls else "stop")
        self.event({**head, "choices": [], "usage": self._usage(turn)})
        self.event("[DONE]")

    def _chat(self, turn: Turn, body: dict[str, Any]) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
        if turn.calls:
            message["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                                     for c in turn.calls]
        self.json(200, {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion", "created": int(time.time()),
                        "model": body.get("model", "stub-model"),
                        "choices": [{"index": 0, "message": message,
                                     "finish_reason": "tool_calls" if turn.calls else "stop"}],
                        "usage": self._usage(turn)})
