"""The ``claude`` agent: Claude Code supervised through its official SDK (``claude-agent-sdk``).

The SDK brings the Claude Code CLI with it and speaks to it over its control protocol; this agent runs
one conversation per attempt in the task's worktree:

- Every permission request of Claude Code (its ``can_use_tool`` callback) goes to the ask channel
  (:mod:`engine.asks`): the profile's policy answers, or the developer does, and a denial's reason goes
  back to the model as the tool's result.
- Follow-up messages (:meth:`send`) go into the running conversation; the attempt ends when Claude Code
  has answered every message it was given. The Claude session's id is kept in the task's memory
  (``AgentContext.extra``) and noted (``AgentContext.note_session``: stored, shown with its ``claude
  --resume`` command), so the next attempt (a retry, or a follow-up message after the task ended)
  resumes the same conversation.
- Usage: live from the streamed API events of the main loop, then the figures of each result, which
  cover every model the session used (side calls and subagents: ``modelUsage``). Claude Code reports
  them cumulated over the whole Claude session, across resumes: the figures of the attempt are what
  the session spent since the attempt began. A stopped attempt keeps the last figures seen, priced
  from the price table.
- A retry of the API is shown with its reason (``! retry 3/10: 401 authentication_failed``); an
  authentication failure (401, 403) ends the attempt at once with ``failure_kind`` ``auth``.
- The CLI runs under a supervisor of its own (:func:`engine.process.write_launcher`, given to the SDK as
  its ``cli_path``), so pause and stop reach it and every process it starts (its Bash tool starts
  commands in sessions of their own), and none outlives the task or the cockpit.
"""
from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from typing import Any

from engine.agents.base import AgentContext, AgentExit, CannotTakeMessage, plain_session_id
from engine.asks import AskOption, Request
from engine.output_formats import claude_block_lines, claude_model_usage, claude_retry_line
from engine.prices import PriceTable, load_prices
from engine.process import PAUSE, PID_FILE_ENV, RESUME, STOP, read_pid_file, write_launcher
from engine.profiles import CLAUDE_SDK_INSTALL, AgentProfile, ClaudeSettings
from engine.usage import Usage

STREAM = "agent"
SESSION_KEY = "claude_session_id"  # in the task's memory: the Claude session the next attempt resumes
TOTALS_KEY = "claude_session_totals"  # the session's cumulated usage when the last attempt ended
AUTH_STATUSES = (401, 403)

# Claude Code's tools by what they do (ACP's tool kinds), for the ask policy
_TOOL_KINDS = {
    "Read": "read", "Glob": "search", "Grep": "search", "LS": "search", "NotebookRead": "read",
    "Write": "edit", "Edit": "edit", "MultiEdit": "edit", "NotebookEdit": "edit",
    "Bash": "execute", "BashOutput": "read", "KillShell": "execute", "KillBash": "execute",
    "WebFetch": "fetch", "WebSearch": "fetch",
}
_PATH_KEYS = ("file_path", "notebook_path", "path")
CHANGE_KINDS = ("edit", "delete", "move", "execute")  # what changes the worktree
_OPTIONS = (
    AskOption("allow_once", "allow_once", "Allow once"),
    AskOption("allow_always", "allow_always", "Allow always"),
    AskOption("reject_once", "reject_once", "Deny"),
)


class ClaudeSdkAgent:
    accepts_messages = True

    def __init__(self, profile: AgentProfile, ctx: AgentContext, *, prices: PriceTable | None = None) -> None:
        self.profile = profile
        self.ctx = ctx
        self.settings: ClaudeSettings = profile.claude or ClaudeSettings()
        self.prices = prices if prices is not None else load_prices()
        self._client: Any = None
        self._pid: int | None = None
        self._stopped = False
        self._paused = False
        self._pending: set[str] = set()  # uuids of the messages Claude Code has not taken in yet
        self._outbox: list[str] = []  # follow-ups sent before the conversation was up
        self._connected = asyncio.Event()
        self._ended = asyncio.Event()  # run() has closed the CLI
        self._grace = 3.0  # how long the CLI is given to exit when the attempt ends
        self._auth_failure = ""
        self._base = self.ctx.extra.get(TOTALS_KEY) or Usage(cost_usd=0.0)
        self._settled = Usage(cost_usd=0.0)  # the attempt's figures at the last result
        self._live: dict[str, tuple[str, Usage]] = {}  # message id -> (model, usage) since the last result
        self._model = self.settings.model or ""
        self._denials = 0
        self._changes_denied = 0  # requests to edit or run something that were denied
        self._changes_made = 0  # edits and commands that ran (asked for or not)
        self._change_calls: set[str] = set()  # tool-use ids of edits and commands
        self._denied_calls: set[str] = set()  # tool-use ids of those that were denied
        self._reported: Usage | None = None  # the attempt's figures as last reported
        self._result: Any = None
        self._session = ""  # the Claude session of this attempt, once Claude Code said it

    # ------------------------------------------------------------------------ protocol
    async def run(self) -> AgentExit:
        try:
            from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient
        except ImportError:
            message = f"the claude profile needs the Claude Agent SDK: {CLAUDE_SDK_INSTALL}"
            self._emit([message])
            return AgentExit(127, message, "missing")
        if self._stopped:
            return AgentExit(1, "stopped before it started")
        resume = self.ctx.extra.get(SESSION_KEY)
        cli = supervised_cli(self.settings.cli_path)
        pid_file = _pid_file()
        options = ClaudeAgentOptions(
            cwd=self.ctx.workdir,
            env={**self.ctx.env, PID_FILE_ENV: pid_file},
            can_use_tool=self._can_use_tool,
            model=self.settings.model,
            permission_mode=self.settings.permission_mode,  # type: ignore[arg-type]
            max_turns=self.settings.max_turns,
            include_partial_messages=True,
            system_prompt={"type": "preset", "preset": "claude_code",
                           **({"append": self.settings.append_system} if self.settings.append_system else {})},
            resume=resume,
            cli_path=cli,
            stderr=self._stderr,
        )
        if resume:
            self._emit([f"● resuming Claude session {resume}"])
        client = ClaudeSDKClient(options)
        self._client = client
        try:
            try:
                await client.connect()
            except Exception as exc:  # the CLI could not start, or broke off before its first word
                read_pid_file(pid_file)
                message = f"Claude Code did not start: {_one_line(exc)}"
                self._emit([f"✗ {message}"])
                return AgentExit(1, message, "missing" if "not found" in str(exc).lower() else None)
            # the supervisor's pid, from its launcher: the SDK keeps the process it started to itself
            self._pid = read_pid_file(pid_file)
            if self._stopped:  # stop() came while Claude Code was starting
                return AgentExit(1, "stopped before it began")
            if self._paused:
                self.pause()
            await self._say(self.ctx.prompt)
            self._connected.set()
            for text in self._outbox:
                await self._say(text)
            self._outbox.clear()
            return await self._converse(client)
        finally:
            await self._close(self._grace)
            if resume and not self._session and not self._stopped:
                # Claude Code never took the session up (gone from its folder, say): forgotten, so that the
                # next attempt starts a new one instead of failing the same way
                self.ctx.extra.pop(SESSION_KEY, None)
                self.ctx.extra.pop(TOTALS_KEY, None)
                self._emit([f"✗ the Claude session {resume} could not be resumed: the next attempt starts a new one"])
            self._ended.set()

    async def _converse(self, client: Any) -> AgentExit:
        from claude_agent_sdk import (
            AssistantMessage, ResultMessage, StreamEvent, SystemMessage, UserMessage,
        )

        async for message in client.receive_messages():
            if isinstance(message, StreamEvent):
                self._stream_event(message)
            elif isinstance(message, AssistantMessage):
                self._assistant(message)
            elif isinstance(message, UserMessage):
                self._user(message)
            elif isinstance(message, SystemMessage):
                if self._system(message):
                    await self._interrupt()
                    break
            elif isinstance(message, ResultMessage):
                self._result_message(message)
                if not self._pending or self._stopped:
                    break
        return self._exit()

    def pause(self) -> None:
        self._paused = True
        if self._pid is not None:
            _tell(self._pid, PAUSE)  # the supervisor stops the CLI and everything it started

    def resume(self) -> None:
        self._paused = False
        if self._pid is not None:
            _tell(self._pid, RESUME)

    async def stop(self, grace: float) -> None:
        """Interrupt the turn (Claude Code ends it with a result: the figures so far) and let the attempt
        end and close the CLI; past ``grace`` (and a margin for the CLI to exit), end its processes."""
        self._stopped = True
        self._grace = grace
        if self._pid is not None and self._paused:
            self.resume()
        if self._client is not None and self._connected.is_set():
            await self._interrupt(timeout=max(grace, 0.5))
        if self._client is None:
            return
        try:
            await asyncio.wait_for(self._ended.wait(), max(grace, 0.5) + 5.0)
        except asyncio.TimeoutError:  # it does not end: its processes are ended, which ends the attempt
            if self._pid is not None:
                _tell(self._pid, STOP)

    async def send(self, text: str) -> None:
        if self._stopped:
            raise CannotTakeMessage("the agent is stopping")
        if not self._connected.is_set():
            self._outbox.append(text)
            return
        await self._say(text)

    # ------------------------------------------------------------------------ the conversation
    async def _say(self, text: str) -> None:
        message_id = str(uuid.uuid4())
        self._pending.add(message_id)

        async def one() -> Any:
            yield {"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": None,
                   "uuid": message_id}

        try:
            await self._client.query(one())
        except Exception as exc:  # the CLI is gone
            self._pending.discard(message_id)
            raise CannotTakeMessage(f"Claude Code takes no more messages: {_one_line(exc)}") from None

    async def _interrupt(self, timeout: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self._client.interrupt(), timeout)
        except Exception:  # already ended, or it did not answer in time: the process is ended below
            pass

    async def _close(self, grace: float = 3.0) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await asyncio.wait_for(client.disconnect(), max(grace, 0.5) + 5.0)
            except Exception:
                pass
        if self._pid is not None:
            _tell(self._pid, STOP)  # whatever the CLI left behind (a command still running) ends with it
        if self._reported is not None:
            # what the session had spent when this attempt ended, as the next attempt (a resume) will be told
            # it again: a turn cut before its result is in Claude Code's transcript, not in its last result
            self.ctx.extra[TOTALS_KEY] = _plus(self._base, self._reported, with_cost=True)

    async def _can_use_tool(self, tool: str, tool_input: dict[str, Any], context: Any) -> Any:
        from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

        request = _request(tool, tool_input, context)
        answer = await self.ctx.ask(request)
        if answer.allow:
            self._emit([f"✓ {request.tool} allowed{_by(answer)}"])
            return PermissionResultAllow()
        self._denials += 1
        if request.kind in CHANGE_KINDS:
            self._changes_denied += 1
            self._denied_calls.add(request.tool_call_id)
        reason = answer.reason or "the developer denied it"
        self._emit([f"✗ {request.tool} denied{_by(answer)}: {reason}"])
        return PermissionResultDeny(message=reason)

    # ------------------------------------------------------------------------ what Claude Code says
    def _stream_event(self, message: Any) -> None:
        if message.parent_tool_use_id:
            return
        event = message.event if isinstance(message.event, dict) else {}
        kind = event.get("type")
        if kind == "message_start":
            msg = event.get("message") or {}
            self._current_id = str(msg.get("id") or uuid.uuid4())
            model = str(msg.get("model") or self._model)
            self._model = model or self._model
            self._live[self._current_id] = (model, _usage(msg.get("usage") or {}))
            self._report()
        elif kind == "message_delta":
            current = getattr(self, "_current_id", None)
            usage = event.get("usage")
            if current in self._live and isinstance(usage, dict):
                model, before = self._live[current]
                after = _usage(usage)
                self._live[current] = (model, Usage(after.tokens_in or before.tokens_in, after.tokens_out,
                                                    after.cache_write or before.cache_write,
                                                    after.cache_read or before.cache_read))
                self._report()

    def _assistant(self, message: Any) -> None:
        from claude_agent_sdk import ToolUseBlock

        for block in message.content:
            if isinstance(block, ToolUseBlock) and _TOOL_KINDS.get(block.name) in CHANGE_KINDS:
                self._change_calls.add(block.id)
        nested = "  ↳ " if message.parent_tool_use_id else ""
        lines = [nested + line for block in message.content for line in claude_block_lines(_block(block), "assistant")]
        if message.error:
            lines.append(f"{nested}✗ {message.error}")
        self._emit(lines)

    def _user(self, message: Any) -> None:
        if not isinstance(message.content, list):
            return  # the prompt or a follow-up echoed back
        nested = "  ↳ " if message.parent_tool_use_id else ""
        from claude_agent_sdk import ToolResultBlock

        for block in message.content:
            if (isinstance(block, ToolResultBlock) and block.tool_use_id in self._change_calls
                    and block.tool_use_id not in self._denied_calls):
                self._changes_made += 1  # it ran (a command that failed ran too)
        self._emit([nested + line for block in message.content if isinstance(block, ToolResultBlock)
                    for line in claude_block_lines(_block(block), "user")])

    def _system(self, message: Any) -> bool:
        """Show what the system message tells; True when the attempt must end (authentication)."""
        data = message.data if isinstance(message.data, dict) else {}
        subtype = message.subtype
        if subtype == "init":
            self._model = str(data.get("model") or self._model)
            session = plain_session_id(data.get("session_id"))
            self._keep_session(session)
            self._emit([f"● Claude Code {data.get('claude_code_version', '?')}, model {self._model or '?'}, "
                        f"session {session or '?'}"])
        elif subtype == "api_retry":
            status = data.get("error_status")
            self._emit([claude_retry_line(data)])
            if status in AUTH_STATUSES or data.get("error") == "authentication_failed":
                self._auth_failure = f"authentication failed ({status} {data.get('error', '')})".replace(" )", ")")
                self._emit([f"✗ {self._auth_failure}: not retrying"])
                return True
        elif subtype == "task_started":
            self._emit([f"● subagent: {data.get('description', '')} ({data.get('subagent_type', 'agent')})"])
        elif subtype == "task_notification":
            usage = data.get("usage") or {}
            self._emit([f"● subagent {data.get('status', '')}: {_one_line(data.get('summary', ''))}"
                        + (f" ({usage.get('total_tokens')} tokens)" if usage.get("total_tokens") else "")])
        return False

    def _result_message(self, message: Any) -> None:
        self._result = message
        for uid in (message.user_message_uuids or ([message.user_message_uuid] if message.user_message_uuid else [])):
            self._pending.discard(uid)
        if message.user_message_uuids is None and message.user_message_uuid is None and not message.is_error:
            self._pending.clear()  # an older CLI that does not say what it took in: the turn answered all
        self._keep_session(plain_session_id(message.session_id))
        totals = _session_totals(message)
        if totals is not None:
            self.ctx.extra[TOTALS_KEY] = totals
            self._settled = _minus(totals, self._base)
            self._live.clear()
            self._report()
        denials = len(message.permission_denials or [])
        line = "✓ done" if not message.is_error else f"✗ {message.subtype}"
        line += f" in {message.num_turns} turn{'s' if message.num_turns != 1 else ''}"
        if self._settled.cost_usd is not None:
            line += f", ${self._settled.cost_usd:.4f}"
        if denials:
            line += f", {denials} request{'s' if denials != 1 else ''} denied"
        self._emit([line])

    def _keep_session(self, session: str) -> None:
        """The Claude session the next attempt resumes (a retry, a follow-up after the end), told once."""
        if session and session != self._session:
            self._session = self.ctx.extra[SESSION_KEY] = session
            self.ctx.note_session(session, resume_command(session))

    # ------------------------------------------------------------------------ the end
    def _exit(self) -> AgentExit:
        if self._auth_failure:
            return AgentExit(1, self._auth_failure, "auth")
        result = self._result
        if result is None:
            return AgentExit(1, "stopped" if self._stopped else "Claude Code ended without a result")
        text = (result.result or "").strip()
        denials = len(result.permission_denials or []) or self._denials
        note = f"{denials} request{'s' if denials != 1 else ''} denied" if denials else ""
        if result.is_error:
            reason = "; ".join(result.errors or []) or result.subtype
            return AgentExit(1, _join(reason, note), "rate_limit" if result.api_error_status in (429, 529) else None)
        if self._changes_denied and not self._changes_made:
            # it wanted to change something, was refused every time, and changed nothing: not a success
            n = self._changes_denied
            return AgentExit(1, _join(f"every change it asked for was denied ({n} request{'s' if n != 1 else ''})",
                                      text.splitlines()[-1] if text else ""))
        return AgentExit(0, _join(text.splitlines()[-1] if text else "", note))

    # ------------------------------------------------------------------------ usage
    def _report(self) -> None:
        live_tokens = Usage()
        cost = self._settled.cost_usd
        for model, usage in self._live.values():
            live_tokens = _plus(live_tokens, usage)
            price = self.prices.price(model) if model else None
            cost = None if cost is None or price is None else cost + price.cost(usage)
        total = _plus(self._settled, live_tokens)
        total.cost_usd = cost
        self._reported = total
        self.ctx.report_usage(total)

    def _emit(self, lines: list[str]) -> None:
        if lines:
            self.ctx.emit_lines(STREAM, lines)

    def _stderr(self, line: str) -> None:
        if line.strip():
            self.ctx.emit_lines("stderr", [line.rstrip("\n")])


def resume_command(session: str) -> str:
    """How the developer continues the Claude session by hand (in the task's worktree: Claude Code keeps a
    session with the folder it ran in)."""
    return f"claude --resume {session}"


def can_resume(memory: dict[str, object]) -> bool:
    """Whether an attempt made with the task's ``memory`` resumes a Claude session."""
    return bool(memory.get(SESSION_KEY))


# ---------------------------------------------------------------------------- requests
def _request(tool: str, tool_input: dict[str, Any], context: Any) -> Request:
    kind = _TOOL_KINDS.get(tool, "other")
    command = tool_input.get("command") if kind == "execute" and isinstance(tool_input.get("command"), str) else None
    paths = tuple(str(tool_input[k]) for k in _PATH_KEYS if isinstance(tool_input.get(k), str))
    blocked = getattr(context, "blocked_path", None)
    if blocked and blocked not in paths:
        paths += (blocked,)
    if tool == "Write":
        preview = str(tool_input.get("content", ""))
    elif tool in ("Edit", "MultiEdit"):
        edits = tool_input.get("edits") if tool == "MultiEdit" else [tool_input]
        preview = "\n".join(f"- {e.get('old_string', '')}\n+ {e.get('new_string', '')}"
                            for e in edits or [] if isinstance(e, dict))
    elif command is not None:
        preview = command
    else:
        preview = _compact(tool_input)
    title = getattr(context, "title", None) or f"{tool}: {command or ', '.join(paths) or _compact(tool_input)[:120]}"
    return Request(
        tool=tool, kind=kind, title=title, command=command, paths=paths, preview=preview,
        reason=getattr(context, "decision_reason", None) or "", options=_OPTIONS,
        tool_call_id=getattr(context, "tool_use_id", None) or "",
    )


def _by(answer: Any) -> str:
    return {"developer": " by the developer", "policy": " by the profile's policy",
            "headless": " (headless run)", "stopped": ""}.get(answer.by, "")


# ---------------------------------------------------------------------------- usage arithmetic
def _usage(raw: dict[str, Any]) -> Usage:
    return Usage(_int(raw.get("input_tokens")), _int(raw.get("output_tokens")),
                 _int(raw.get("cache_creation_input_tokens")), _int(raw.get("cache_read_input_tokens")))


def _session_totals(result: Any) -> Usage | None:
    """The Claude session's cumulated usage in a result: every model it used (``modelUsage``), else the
    main loop's (``usage``), with the session's cost."""
    cost = float(result.total_cost_usd) if isinstance(result.total_cost_usd, (int, float)) else None
    total = claude_model_usage(result.model_usage)
    if total is None and isinstance(result.usage, dict):
        total = _usage(result.usage)
    if total is None:
        return None
    if cost is not None:
        total.cost_usd = cost
    return total


def _plus(a: Usage, b: Usage, with_cost: bool = False) -> Usage:
    """``a + b`` in tokens; the cost is ``a``'s, or with ``with_cost`` the sum (None when either is)."""
    cost = a.cost_usd
    if with_cost:
        cost = None if a.cost_usd is None or b.cost_usd is None else a.cost_usd + b.cost_usd
    return Usage(a.tokens_in + b.tokens_in, a.tokens_out + b.tokens_out, a.cache_write + b.cache_write,
                 a.cache_read + b.cache_read, cost)


def _minus(a: Usage, b: Usage) -> Usage:
    cost = None if a.cost_usd is None else a.cost_usd - (b.cost_usd or 0.0)
    return Usage(max(0, a.tokens_in - b.tokens_in), max(0, a.tokens_out - b.tokens_out),
                 max(0, a.cache_write - b.cache_write), max(0, a.cache_read - b.cache_read),
                 None if cost is None else max(0.0, cost))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


# ---------------------------------------------------------------------------- lines
def _block(block: Any) -> dict[str, Any]:
    """A content block of the SDK as the API's JSON, for the shared formatter."""
    from claude_agent_sdk import TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock

    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "name": block.name, "input": block.input}
    if isinstance(block, ToolResultBlock):
        return {"type": "tool_result", "content": block.content, "is_error": block.is_error}
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking}
    return {"type": type(block).__name__}


def _one_line(value: Any, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# ---------------------------------------------------------------------------- the process
_LAUNCHERS: dict[str, str] = {}
_LAUNCH_DIR: list[str] = []


def supervised_cli(cli_path: str | None) -> str:
    """The path the SDK is given as its CLI: a launcher that runs the real one (the SDK's own unless
    ``cli_path``) under a supervisor of its own (:mod:`engine.process`), so pause and stop reach the CLI
    and every process it starts, and none outlives the task or the cockpit. The SDK starts the CLI in
    the cockpit's process group and has no option to do otherwise."""
    real = cli_path or _bundled_cli() or shutil.which("claude") or "claude"
    real = shutil.which(real) or real
    launcher = _LAUNCHERS.get(real)
    if launcher is not None and os.path.exists(launcher):
        return launcher
    folder = os.path.join(_launch_dir(), str(len(_LAUNCHERS)))
    os.makedirs(folder, exist_ok=True)
    launcher = _LAUNCHERS[real] = str(write_launcher(real, folder))
    return launcher


def _launch_dir() -> str:
    """The cockpit's private folder (0700, removed at exit) of launchers and pid files."""
    if not _LAUNCH_DIR:
        path = tempfile.mkdtemp(prefix="cockpit-claude-")
        _LAUNCH_DIR.append(path)
        atexit.register(shutil.rmtree, path, True)
    return _LAUNCH_DIR[0]


def _bundled_cli() -> str | None:
    try:
        import claude_agent_sdk
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(claude_agent_sdk.__file__), "_bundled", "claude")
    return path if os.path.isfile(path) else None


def _pid_file() -> str:
    """A new path in the launchers' private folder, where an attempt's launcher writes its pid."""
    fd, path = tempfile.mkstemp(prefix="pid-", dir=_launch_dir())
    os.close(fd)
    return path


def _tell(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
