"""A stand-in for the Gemini API on 127.0.0.1, for Gemini CLI (``GOOGLE_GEMINI_BASE_URL``).

Scripted turns answer ``models/NAME:streamGenerateContent?alt=sse`` in order: ``data:`` chunks of
``candidates[0].content.parts`` (thought, text pieces, function calls), the last one with the
``finishReason`` and ``usageMetadata``. The CLI's side calls (``:generateContent``: model routing,
checks) and ``:countTokens`` are answered apart and do not take turns. The key comes as
``x-goog-api-key``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.helpers.stub_server import StubHandler, StubServer, pieces


@dataclass
class Call:
    name: str
    args: dict[str, Any]


@dataclass
class Turn:
    text: str = ""
    calls: list[Call] = field(default_factory=list)
    thought: str = ""
    prompt_tokens: int = 10  # including the cached ones, as the API counts
    output_tokens: int = 5
    cached_tokens: int = 0
    status: int | None = None  # an HTTP error instead of an answer
    error_message: str = ""
    chunk: int = 7


class GeminiStub(StubServer[Turn]):
    name = "gemini-stub"

    def __init__(self, turns: list[Turn] | None = None, api_key: str = "test-key") -> None:
        super().__init__(turns, api_key)
        self.side_calls = 0

    def handler(self) -> type[StubHandler]:
        return _Handler


class _Handler(StubHandler):
    stub: GeminiStub

    def _error(self, status: int, message: str, kind: str) -> None:
        self.json(status, {"error": {"code": status, "message": message, "status": kind}})

    def post(self, path: str, body: Any) -> None:
        if self.key() != self.stub.api_key:
            return self._error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
        if path.endswith(":countTokens"):
            return self.json(200, {"totalTokens": 42})
        if path.endswith(":generateContent"):
            self.stub.side_calls += 1
            return self.json(200, {"candidates": [{"content": {"role": "model", "parts": [{"text": "{}"}]},
                                                   "finishReason": "STOP", "index": 0}],
                                   "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1,
                                                     "totalTokenCount": 2}})
        if not path.endswith(":streamGenerateContent"):
            return self._error(404, f"stub: no route {path}", "NOT_FOUND")
        turn = self.stub.take()
        if turn is None:
            return self._error(400, "stub: no scripted turn left", "INVALID_ARGUMENT")
        if turn.status is not None:
            return self._error(turn.status, turn.error_message or "error", "UNAVAILABLE")
        model = path.rsplit("/", 1)[-1].split(":")[0]
        chunks: list[list[dict[str, Any]]] = []
        if turn.thought:
            chunks.append([{"text": turn.thought, "thought": True}])
        chunks.extend([{"text": piece}] for piece in (pieces(turn.text, turn.chunk) if turn.text else []))
        if turn.calls:
            chunks.append([{"functionCall": {"name": c.name, "args": c.args}} for c in turn.calls])
        chunks = chunks or [[{"text": ""}]]
        usage = {"promptTokenCount": turn.prompt_tokens, "candidatesTokenCount": turn.output_tokens,
                 "totalTokenCount": turn.prompt_tokens + turn.output_tokens}
        if turn.cached_tokens:
            usage["cachedContentTokenCount"] = turn.cached_tokens
        self.sse_start()
        for i, parts in enumerate(chunks):
            chunk: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
                                     "modelVersion": model}
            if i == len(chunks) - 1:
                chunk["candidates"][0]["finishReason"] = "STOP"
                chunk["usageMetadata"] = usage
            self.event(chunk)
