"""The ``anthropic`` agent: a coding agent on the Anthropic Messages API, with tools confined to its worktree.

One attempt is one conversation. Each turn streams a response (``AsyncAnthropic.messages.stream``),
runs the ``tool_use`` blocks it holds (:mod:`engine.agents.file_tools`) and sends their results
back, until the model ends its turn, or ``max_turns`` responses were made (the task then fails with
"stopped after max_turns N").

The pane (stream ``agent``) shows the model's text line by line as it streams, each tool call as
``→ write_file: path`` and its outcome as ``← ok (12 lines)`` or ``← ✗ the error``, and a line
starting with ``!`` when the API answered "rate limited" or "overloaded" and the SDK retries (or
when the model is deprecated).

- Follow-up messages (:meth:`send`) join the conversation at the next turn: after the tool results
  of the turn in progress, or as a new user message when the model had ended its turn (the
  conversation then goes on).
- :meth:`pause` holds the loop before its next API call or tool run (a response already streaming
  finishes); :meth:`resume` releases it. :meth:`stop` cancels the request or command in flight.
- Usage is reported after each response (and as a response starts), cumulative over the attempt,
  each message counted once; the cost comes from :mod:`engine.prices`, None for a model without a
  price.
- Retries and timeouts are the SDK's own (``max_retries``, ``timeout`` on the client). The key and
  the base URL come from the environment as the SDK reads them (``ANTHROPIC_API_KEY``,
  ``ANTHROPIC_BASE_URL``). An error that ends the task ends it with exit code 1 and a one-line final
  message, never a traceback; an error outside the task (no key, authentication, rate limit or
  overload after the retries, network) also sets ``AgentExit.failure_kind`` (:func:`failure_kind`).
"""
from __future__ import annotations

import asyncio
from typing import Any

import anthropic
from anthropic import AsyncAnthropic

from engine.formatting import plural
from engine.agents.base import AgentContext, AgentExit, CannotTakeMessage
from engine.agents.file_tools import TOOLS, Workspace, describe_call
from engine.prices import PriceTable, load_prices
from engine.profiles import AgentProfile
from engine.usage import Usage

STREAM = "agent"
DETAIL_MAX = 300

DEFAULT_SYSTEM = """\
You are a coding agent. You work alone on one task, in a git worktree: a checkout of the project \
made for this task. Use the tools to look at the project, change files and run commands such as \
the tests. Every path is relative to the root of the worktree: the file tools cannot reach outside it; keep \
your commands inside it too.

Work in small steps: read before you change, keep changes focused on the task, and run the \
relevant tests or checks when the project has them. Do not commit: what you leave in the worktree \
is committed for you when you finish. The developer may send you messages while you work; take \
them into account.

When the task is done, end with a short summary of what you changed and anything left undone. \
If you cannot do the task, say why."""

_STATUS_LABEL = {408: "request timeout", 409: "conflict", 429: "rate limited", 529: "overloaded",
                 503: "unavailable", 500: "server error"}


class AnthropicAgent:
    accepts_messages = True

    def __init__(self, profile: AgentProfile, ctx: AgentContext, *, prices: PriceTable | None = None) -> None:
        self.profile = profile
        self.ctx = ctx
        self.prices = prices if prices is not None else load_prices()
        self.settings = profile.anthropic
        command_timeout = self.settings.command_timeout if self.settings else 120.0
        self.workspace = Workspace(ctx.workdir, ctx.env, command_timeout)
        self.messages: list[dict[str, Any]] = []  # the conversation as sent to the API
        self.turns = 0
        self._inbox: list[str] = []
        self._gate = asyncio.Event()
        self._gate.set()
        self._stopped = False
        self._finished = False
        self._loop: asyncio.Task[AgentExit] | None = None
        self._text = _LineBuffer(self._emit)
        # usage: finished messages, and the message streaming now (None between messages)
        self._done = Usage(cost_usd=0.0)
        self._current: Usage | None = None
        self._current_model = ""
        self._max_retries = self.settings.max_retries if self.settings else 0

    # ------------------------------------------------------------------------ protocol
    async def run(self) -> AgentExit:
        try:
            if self._stopped:
                return AgentExit(1, "stopped before it started")
            problem = self.profile.missing_program()
            if problem is not None:
                return self._fail(problem, "missing")
            self._loop = asyncio.create_task(self._converse(), name=f"anthropic:{self.ctx.task_id}")
            try:
                return await self._loop
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if self._stopped and current is not None and not current.cancelling():
                    await self.workspace.stop()  # a write under way in a thread ends before the commit
                    self._commit_current()
                    message = f"stopped (after {self.turns} of {self._max_turns} turns)"
                    self._emit([f"■ {message}"])
                    return AgentExit(1, message)
                raise
        finally:
            self._finished = True

    def pause(self) -> None:
        self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    async def stop(self, grace: float) -> None:
        """Stop at once: the request in flight is cancelled (no further API call is made), a command is
        killed, and a file tool running in a thread ends before this returns, so no write comes after
        the stop (the task's leftover commit follows it)."""
        self._stopped = True
        self._gate.set()  # a paused loop must not wait for a resume that never comes
        loop = self._loop
        if loop is not None and not loop.done():
            loop.cancel()
            await asyncio.wait({loop}, timeout=max(grace, 0.0) + 5.0)
        await self.workspace.stop()

    async def send(self, text: str) -> None:
        if self._finished:
            raise CannotTakeMessage("the agent has finished; it takes no more messages")
        if self._stopped:
            raise CannotTakeMessage("the agent is stopping; it takes no more messages")
        self._inbox.append(text)

    # ------------------------------------------------------------------------ the loop
    @property
    def _max_turns(self) -> int:
        return self.settings.max_turns if self.settings else 0

    async def _converse(self) -> AgentExit:
        settings = self.settings
        assert settings is not None  # missing_program() said so otherwise
        self.messages = [{"role": "user", "content": [{"type": "text", "text": self.ctx.prompt}]}]
        try:
            client = AsyncAnthropic(
                max_retries=settings.max_retries, timeout=settings.request_timeout, middleware=[self._watch],
            )
        except Exception as exc:  # e.g. credentials the SDK cannot use
            return self._fail(f"cannot set up the Anthropic client: {type(exc).__name__}: {exc}", "auth")
        try:
            notice = _deprecation(settings.model)
            if notice:
                self._emit([notice])
            while True:
                if self.turns >= settings.max_turns:
                    return self._fail(f"stopped after max_turns {settings.max_turns}")
                await self._wait_if_paused()
                self._deliver_inbox()
                self.turns += 1
                message = await self._respond(client)
                self.messages.append({"role": "assistant", "content": _params(message.content)})
                tool_uses = [b for b in message.content if b.type == "tool_use"]
                stop = message.stop_reason
                if stop == "tool_use" and tool_uses:
                    results = []
                    for block in tool_uses:
                        await self._wait_if_paused()
                        results.append(await self._use_tool(block))
                    self.messages.append({"role": "user", "content": results})
                    continue
                if stop == "max_tokens" and tool_uses:  # the last call may be cut: say so, go on
                    self.messages.append({"role": "user", "content": [
                        _tool_result(b.id, f"error: your response reached max_tokens ({settings.max_tokens}) "
                                     "before this call was complete; nothing was run. Split the work "
                                     "into smaller calls.", True)
                        for b in tool_uses
                    ]})
                    self._emit([f"! the response reached max_tokens ({settings.max_tokens}); "
                                "its tool calls were not run"])
                    continue
                if stop == "pause_turn":
                    continue
                if stop in ("end_turn", "stop_sequence", None):
                    if self._inbox:
                        continue  # a follow-up came: the conversation goes on
                    self._finished = True  # no await since the inbox was found empty
                    return AgentExit(0, _text_of(message) or f"done after {self.turns} turns")
                if stop == "max_tokens":
                    return self._fail(f"the response reached max_tokens ({settings.max_tokens}) before it ended")
                if stop == "refusal":
                    return self._fail("the model declined to continue (stop reason: refusal)")
                return self._fail(f"the model stopped: {stop}")
        except anthropic.APIError as exc:
            return self._fail(self._api_failure(exc), failure_kind(exc))
        except Exception as exc:  # a bug or a surprise: one line, never a traceback in the pane
            return self._fail(f"agent error: {type(exc).__name__}: {_one_line(str(exc))}")
        finally:
            self._text.flush()
            self._commit_current()
            await asyncio.shield(client.close())

    async def _respond(self, client: AsyncAnthropic) -> Any:
        """Stream one response; its text reaches the pane line by line. The final Message."""
        settings = self.settings
        assert settings is not None
        options: dict[str, Any] = {}
        if settings.temperature is not None:  # no longer a named parameter of the SDK
            options["extra_body"] = {"temperature": settings.temperature}
        async with client.messages.stream(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=settings.system or DEFAULT_SYSTEM,
            tools=TOOLS,  # type: ignore[arg-type]
            messages=self.messages,  # type: ignore[arg-type]
            cache_control={"type": "ephemeral"},  # cache the conversation so far, turn after turn
            **options,
        ) as stream:
            async for event in stream:
                kind = event.type
                if kind == "text":
                    self._text.feed(event.text)
                elif kind == "content_block_stop":
                    self._text.flush()
                elif kind == "message_start":
                    self._current_model = event.message.model or settings.model
                    self._current = _usage(event.message.usage)
                    self._report()
                elif kind == "message_delta" and self._current is not None:
                    self._current = _merge_delta(self._current, event.usage)
            message = await stream.get_final_message()
        self._text.flush()
        self._current = _usage(message.usage)
        self._current_model = message.model or settings.model
        self._commit_current()
        return message

    async def _use_tool(self, block: Any) -> dict[str, Any]:
        self._emit([f"→ {describe_call(block.name, block.input)}"])
        result = await self.workspace.call(block.name, block.input)
        self._emit([f"← {result.summary}"])
        return _tool_result(block.id, result.content, result.is_error)

    def _deliver_inbox(self) -> None:
        """Follow-up messages join the last user message, or start a new one after the model's."""
        if not self._inbox:
            return
        texts, self._inbox = self._inbox, []
        blocks = [{"type": "text", "text": t} for t in texts]
        last = self.messages[-1]
        if last["role"] == "user":
            last["content"] = [*last["content"], *blocks]
        else:
            self.messages.append({"role": "user", "content": blocks})
        self._emit([f"↳ {plural(len(texts), 'message')} from the developer "
                    "joined the conversation"])

    async def _wait_if_paused(self) -> None:
        if self._gate.is_set():
            return
        self._emit(["‖ paused: waiting for resume before the next step"])
        await self._gate.wait()

    # ------------------------------------------------------------------------ the SDK
    async def _watch(self, request: Any, call_next: Any) -> Any:
        """Middleware, once per HTTP attempt inside the SDK's retry loop: tells the pane about
        rate limits, overloads and connection trouble, and whether the SDK will retry."""
        left = self._max_retries - request.retries_taken
        try:
            response = await call_next(request)
        except anthropic.APIConnectionError as exc:
            what = "request timed out" if isinstance(exc, anthropic.APITimeoutError) else "connection error"
            self._emit([f"! {what}, the SDK retries ({self._retry_count(request)})" if left > 0
                        else f"! {what}, no retries left"])
            raise
        status = response.status_code
        if status in (408, 409, 429) or status >= 500:
            label = _STATUS_LABEL.get(status, "server error" if status >= 500 else "error")
            retries = left > 0 and response.headers.get("x-should-retry") != "false"
            self._emit([f"! {label} ({status}), the SDK retries ({self._retry_count(request)})" if retries
                        else f"! {label} ({status}), no retries left"])
        return response

    def _retry_count(self, request: Any) -> str:
        return f"retry {request.retries_taken + 1} of {self._max_retries}"

    def _api_failure(self, exc: anthropic.APIError) -> str:
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            detail = _one_line(exc.api_message or str(exc.message))
            if isinstance(exc, anthropic.AuthenticationError):
                return f"authentication failed ({status}): {detail}; check ANTHROPIC_API_KEY"
            if isinstance(exc, anthropic.PermissionDeniedError):
                return f"permission denied ({status}): {detail}"
            if isinstance(exc, anthropic.NotFoundError):
                return f"not found ({status}): {detail} (is the model {self.settings.model!r} right?)"  # type: ignore[union-attr]
            if isinstance(exc, anthropic.BadRequestError):
                return f"bad request ({status}): {detail}"
            label = _STATUS_LABEL.get(status, "API error")
            retried = f" after {self._max_retries} retries" if status in (408, 409, 429) or status >= 500 else ""
            return f"{label} ({status}){retried}: {detail}"
        if isinstance(exc, anthropic.APITimeoutError):
            return f"the API request timed out (after {self._max_retries} retries)"
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__
            reason = f": {_one_line(str(cause))}" if cause is not None and str(cause) else ""
            return f"cannot reach the Anthropic API (after {self._max_retries} retries){reason}"
        return f"API error: {_one_line(str(exc))}"

    # ------------------------------------------------------------------------ usage and pane
    def _commit_current(self) -> None:
        """Count the message streamed now (whole or, when stopped, as far as it got) once."""
        if self._current is None:
            return
        self._done = _add(self._done, self._current, self._cost(self._current))
        self._current = None
        self._report()

    def _cost(self, usage: Usage) -> float | None:
        cost = self.prices.cost(self._current_model, usage)
        if cost is None and self.settings is not None and self._current_model != self.settings.model:
            cost = self.prices.cost(self.settings.model, usage)
        return cost

    def _report(self) -> None:
        total = self._done
        if self._current is not None:
            total = _add(total, self._current, self._cost(self._current))
        self.ctx.report_usage(total)

    def _fail(self, message: str, kind: str | None = None) -> AgentExit:
        message = _one_line(message)
        self._emit([f"✗ {message}"])
        return AgentExit(1, message, kind)

    def _emit(self, lines: list[str]) -> None:
        if lines:
            self.ctx.emit_lines(STREAM, lines)


def failure_kind(exc: anthropic.APIError) -> str | None:
    """The kind of an API error that lies outside the task (for the profile's circuit breaker), or None.

    Authentication, permission and billing errors are ``auth``; 408, 409, 429 and 5xx answers (rate
    limits, overload, an unavailable service), which end a task only once the SDK's retries are spent,
    are ``rate_limit``; a request that could not reach the API or timed out is ``network``. A bad
    request, an unknown model or a refusal is the task's own failure.
    """
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if isinstance(exc, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)) or status in (401, 402, 403):
            return "auth"
        if status in (408, 409, 429) or status >= 500:
            return "rate_limit"
        return None
    if isinstance(exc, anthropic.APIConnectionError):  # APITimeoutError is one
        return "network"
    return None


class _LineBuffer:
    """Streamed text to complete lines; the partial line is shown when its block ends."""

    def __init__(self, emit: Any) -> None:
        self._emit = emit
        self._partial = ""

    def feed(self, text: str) -> None:
        if "\n" not in text:
            self._partial += text
            return
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        self._emit(lines)

    def flush(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._emit([line])


def _params(content: list[Any]) -> list[dict[str, Any]]:
    """The assistant's content blocks as they are sent back in the next request."""
    out: list[dict[str, Any]] = []
    for block in content:
        if block.type == "text":
            out.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            out.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
        else:
            out.append(block.to_dict(exclude_none=True))
    return out


def _tool_result(tool_use_id: str, content: str, is_error: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if is_error:
        result["is_error"] = True
    return result


def _text_of(message: Any) -> str:
    return "\n".join(b.text for b in message.content if b.type == "text").strip()


def _usage(u: Any) -> Usage:
    return Usage(
        tokens_in=u.input_tokens or 0,
        tokens_out=u.output_tokens or 0,
        cache_write=getattr(u, "cache_creation_input_tokens", None) or 0,
        cache_read=getattr(u, "cache_read_input_tokens", None) or 0,
    )


def _merge_delta(current: Usage, u: Any) -> Usage:
    """A message_delta's figures are totals of the message so far: they replace, never add."""
    return Usage(
        tokens_in=u.input_tokens if u.input_tokens is not None else current.tokens_in,
        tokens_out=u.output_tokens if u.output_tokens is not None else current.tokens_out,
        cache_write=u.cache_creation_input_tokens if u.cache_creation_input_tokens is not None else current.cache_write,
        cache_read=u.cache_read_input_tokens if u.cache_read_input_tokens is not None else current.cache_read,
    )


def _add(total: Usage, more: Usage, more_cost: float | None) -> Usage:
    cost = None if total.cost_usd is None or more_cost is None else total.cost_usd + more_cost
    return Usage(
        total.tokens_in + more.tokens_in, total.tokens_out + more.tokens_out,
        total.cache_write + more.cache_write, total.cache_read + more.cache_read, cost,
    )


def _deprecation(model: str) -> str | None:
    """A pane line when the SDK knows ``model`` as deprecated (it would only warn on stderr)."""
    try:
        from anthropic.resources.messages.messages import DEPRECATED_MODELS
    except ImportError:  # the SDK moved it: no notice rather than a crash
        return None
    end = DEPRECATED_MODELS.get(model)
    return f"! the model {model} is deprecated: end of life {end}" if end else None


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"
