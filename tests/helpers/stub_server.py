"""What the stand-in model servers on 127.0.0.1 share: a threaded HTTP server, a record of every request,
scripted turns taken in order, and JSON and server-sent-event answers.

A stand-in (``OpenAIStub``, ``GeminiStub``) subclasses :class:`StubServer` and gives its handler a
``route(path, body, turn)`` that writes the answer. When the script runs out the stand-in answers 400, so
a test that expected fewer turns fails at once and plainly.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

API_KEY = "test-key"
T = TypeVar("T")


class StubServer(Generic[T]):
    name = "stub"

    def __init__(self, turns: list[T] | None = None, api_key: str = API_KEY) -> None:
        self.turns: list[T] = list(turns or [])
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []  # {"method", "path", "headers", "body"} in arrival order
        self._lock = threading.Lock()
        self._next = 0
        self._server: ThreadingHTTPServer | None = None

    def handler(self) -> type["StubHandler"]:
        raise NotImplementedError

    def start(self) -> "StubServer[T]":
        owner = self

        class Handler(self.handler()):  # type: ignore[misc]
            stub = owner

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         name=self.name, daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):  # noqa: ANN204 - the subclass
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def take(self) -> T | None:
        with self._lock:
            if self._next >= len(self.turns):
                return None
            turn = self.turns[self._next]
            self._next += 1
            return turn

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    @property
    def bodies(self) -> list[Any]:
        return [r["body"] for r in self.requests]


class StubHandler(BaseHTTPRequestHandler):
    stub: StubServer[Any]
    protocol_version = "HTTP/1.0"  # one response per connection, ended by closing it

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.stub.record({"method": "GET", "path": self.path, "headers": dict(self.headers.items()), "body": None})
        self.get(self.path.split("?")[0])

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw[:2000].decode("utf-8", "replace")}
        self.stub.record({"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": body})
        try:
            self.post(self.path.split("?")[0], body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a stopped agent): nothing to do

    def get(self, path: str) -> None:
        self.json(404, {"error": {"message": f"stub: no route {path}"}})

    def post(self, path: str, body: Any) -> None:
        raise NotImplementedError

    def key(self) -> str:
        auth = self.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.headers.get("x-goog-api-key") or self.headers.get("x-api-key") or ""

    def json(self, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def sse_start(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()

    def event(self, data: Any, name: str | None = None) -> None:
        head = f"event: {name}\n" if name else ""
        payload = data if isinstance(data, str) else json.dumps(data)
        self.wfile.write(f"{head}data: {payload}\n\n".encode())
        self.wfile.flush()


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]
