"""Agents that speak the Agent Client Protocol (Claude Code's adapter, codex-acp, Gemini CLI, opencode...).

The profile names the program; it runs in the task's worktree in a process group of its own, started
here (the package's ``spawn_agent_process`` cannot start one in a group), and the package's
``connect_to_agent`` speaks the protocol over its standard input and output: initialize, a new session in
the worktree (in the profile's mode, if it names one), then the prompt. What the agent reports is shown
by :mod:`engine.agents.acp_transcript`, what it asks of us is served by :mod:`engine.agents.acp_client`.

- Follow-up messages are new prompt turns in the same session, sent once the turn under way has ended.
- The session's id is kept in the task's memory (``AgentContext.extra``) with how the agent offers to
  reopen a session (``session/resume``, else ``session/load``, whose replay of the history is not shown
  again): the next attempt (a retry, or a follow-up message after the task ended) reopens it, so the
  conversation goes on. A session that cannot be reopened fails the attempt with the reason and is
  forgotten (the next attempt starts a new one). An agent that offers neither starts anew every attempt.
  Such an agent gets a moment (:data:`SETTLE`) after its last turn to write its session down.
- Stopping (cancel, timeout, budget) sends ``session/cancel``, gives the agent a moment to end its turn,
  then ends its process group (some adapters do not exit when their input closes).
- Every line the agent writes on its output must be a JSON object: the package skips a line that is
  not, so this module reads the output itself and hands the package only the good lines. An agent that
  writes anything else, crashes, or closes its output fails its task with the reason (the last lines
  of its standard error shown), never the cockpit.
- The stop reason of a turn does not say whether the work succeeded: ``end_turn``, ``max_tokens`` and
  ``max_turn_requests`` end the attempt with exit 0 (the check, if any, judges the work); ``refusal``
  fails it.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from pathlib import Path
from typing import Any

import acp
from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

from engine.agents.acp_client import AcpClient
from engine.agents.acp_transcript import Transcript
from engine.terminal_text import plain
from engine.agents.acp_usage import AcpUsage
from engine.agents.base import AgentContext, AgentExit, CannotTakeMessage, plain_session_id
from engine.agents.failures import TAIL, failure_in
from engine.agents.program_version import refused_flag
from engine.process import GroupProcess
from engine.profiles import AcpSettings, AgentProfile

CANCEL_GRACE = 2.0  # seconds an agent gets to end its turn after session/cancel, before its group ends
READ_LIMIT = 64 * 1024 * 1024  # bytes the connection's reader holds at most
CLIENT_INFO = Implementation(name="session-cockpit", title="Session Cockpit", version="0.1.0")
SESSION_KEY = "acp_session_id"  # in the task's memory: the ACP session the next attempt reopens
REOPEN_KEY = "acp_reopen"  # ... and how the agent offers to reopen it: "resume" or "load"
# Seconds an agent whose session may be reopened gets, after its last turn, before its processes end (it
# does not exit by itself): claude-code-acp's Claude Code writes the turn's last message to its transcript
# a moment after the turn's answer; ended at once, the reopened session lacked it (or failed to resume).
SETTLE = 1.0


class _QuietProtocolLog(logging.Handler):
    """The package logs each message it cannot handle (an agent's malformed update, say) with a traceback
    on the root logger, which with no handler goes to standard error, over the cockpit's screen. Its
    records are dropped here; every other record goes where it would have gone (Python's last resort)."""

    package = str(Path(acp.__file__).parent)

    def emit(self, record: logging.LogRecord) -> None:
        if record.pathname.startswith(self.package):
            return
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)


if not logging.getLogger().handlers:  # logging configured by someone else is theirs to direct
    logging.getLogger().addHandler(_QuietProtocolLog())


class ProtocolBroken(Exception):
    """The agent broke the protocol (wrote garbage, closed its output, exited): the text says how."""


class AcpAgent:
    accepts_messages = True

    def __init__(self, profile: AgentProfile, ctx: AgentContext) -> None:
        self.profile = profile
        self.settings = profile.acp or AcpSettings()
        self.ctx = ctx
        self._proc: GroupProcess | None = None
        self._reader = asyncio.StreamReader(limit=READ_LIMIT)
        self._broken: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._stderr: deque[str] = deque(maxlen=TAIL)
        self._conn: Any = None
        self._session: str | None = None
        self._follow_ups: deque[str] = deque()
        self._in_turn = False
        self._stopped = False
        self._paused = False
        self._finished = False
        self._reopenable = False  # its session is kept for the next attempt: it gets SETTLE to write it down
        self.transcript = Transcript(self._emit, ctx.workdir)
        self.usage = AcpUsage(turn_tokens=self.settings.turn_tokens)
        self.client = AcpClient(ctx.workdir, ctx.env, self.transcript, self.usage, ctx.ask,
                                self._report_usage, lambda text: ctx.emit_lines("engine", [text]))

    # ------------------------------------------------------------------ running
    async def run(self) -> AgentExit:
        argv = list(self.profile.argv)
        try:
            self._proc = await GroupProcess.start(argv, self.ctx.workdir, self.ctx.env, self._on_lines,
                                                  stdin=True, on_close=self._on_close)
        except (FileNotFoundError, PermissionError) as exc:
            hint = f" (install it: {self.profile.install})" if self.profile.install else ""
            message = f"cannot start {argv[0]!r}: {exc.strerror or exc}{hint}"
            self.ctx.emit_lines("stderr", [message])
            return AgentExit(127, message, "missing")
        assert self._proc.proc.stdin is not None
        self._conn = acp.connect_to_agent(self.client, self._proc.proc.stdin, self._reader)
        if self._paused:
            self._proc.pause()
        try:
            return await self._converse()
        except ProtocolBroken as exc:
            refused = await refused_flag(self.profile, self._stderr, self.ctx.env) if not self._stopped else None
            return self._failed(refused or str(exc))
        except acp.RequestError as exc:
            return self._failed(_request_error(exc))
        finally:
            self._finished = True
            await self._shut_down()

    async def _converse(self) -> AgentExit:
        settings = self.settings
        init = await self._call(self._conn.initialize(
            protocol_version=acp.PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(
                fs=FileSystemCapabilities(read_text_file=settings.fs_read, write_text_file=settings.fs_write),
                terminal=settings.terminals,
            ),
            client_info=CLIENT_INFO,
        ), "initialize")
        info = getattr(init, "agent_info", None)
        name = " ".join(str(x) for x in (getattr(info, "title", None) or getattr(info, "name", None),
                                          getattr(info, "version", None)) if x)
        reopen = reopening(getattr(init, "agent_capabilities", None))
        memory = self.ctx.extra
        earlier = plain_session_id(memory.get(SESSION_KEY))
        try:
            if earlier and reopen and memory.get(REOPEN_KEY) == reopen:
                session = await self._reopen(earlier, reopen)
                if session is None:
                    return self._failed(f"the agent could not reopen its session {earlier}: the next attempt starts "
                                        "a new one")
                self.ctx.emit_lines("engine", [f"ACP session {earlier} reopened ({reopen}) with "
                                               f"{name or self.profile.program}"])
            else:
                session = await self._call(self._conn.new_session(cwd=self.ctx.workdir, mcp_servers=[]),
                                           "session/new")
                self._session = self.client.session_id = session.session_id
                self.ctx.emit_lines("engine", [f"ACP session {session.session_id} with {name or self.profile.program}"])
        except acp.RequestError as exc:
            if exc.code == -32000:  # authentication required
                methods = ", ".join(str(getattr(m, "name", "") or getattr(m, "id", "")) for m in init.auth_methods or [])
                return self._failed(f"the agent needs to be logged in ({methods or 'see its documentation'}): "
                                    f"{_request_error(exc)}", "auth")
            raise
        kept = plain_session_id(self._session)
        memory.pop(SESSION_KEY, None)
        if kept and reopen:
            memory[SESSION_KEY], memory[REOPEN_KEY] = kept, reopen
            self._reopenable = True
            self.ctx.note_session(kept, "")
        if settings.mode:
            await self._set_mode(session, settings.mode)
        self._follow_ups.appendleft(self.ctx.prompt)
        stop = "end_turn"
        while self._follow_ups and not self._stopped:
            stop = await self._turn(self._follow_ups.popleft())
            if stop == "refusal":
                return self._failed("the agent refused the prompt")
        self._report_usage()
        open_calls = self.transcript.open_tools()
        if open_calls and not self._stopped:
            self.ctx.emit_lines("engine", [f"{len(open_calls)} tool call{'s' if len(open_calls) > 1 else ''} "
                                           "never reported as ended"])
        if stop in ("max_tokens", "max_turn_requests"):
            self.ctx.emit_lines("engine", [f"the agent ended its turn: {stop.replace('_', ' ')}"])
        return AgentExit(0, self.transcript.final_message)

    async def _reopen(self, session_id: str, how: str) -> Any:
        """Reopen the earlier attempt's session (the response, with its modes), or None when the agent
        refused: said in the task's log, and the session is forgotten."""
        try:
            if how == "resume":
                response = await self._call(self._conn.resume_session(session_id=session_id, cwd=self.ctx.workdir,
                                                                      mcp_servers=[]), "session/resume")
            else:  # the history it replays meanwhile is not ours to show again: updates of no session we know
                response = await self._call(self._conn.load_session(cwd=self.ctx.workdir, session_id=session_id,
                                                                    mcp_servers=[]), "session/load")
        except acp.RequestError as exc:
            if exc.code == -32000:
                raise
            self.ctx.extra.pop(SESSION_KEY, None)
            self.ctx.emit_lines("engine", [f"session/{how} of {session_id} refused: {_request_error(exc)}"])
            return None
        self._session = self.client.session_id = session_id
        return response

    async def _set_mode(self, session: Any, mode: str) -> None:
        modes = getattr(session, "modes", None)
        known = [str(m.id) for m in getattr(modes, "available_modes", None) or []]
        if known and mode not in known:
            self.ctx.emit_lines("engine", [f"mode {mode!r} is not one of the agent's ({', '.join(known)}): not set"])
            return
        await self._call(self._conn.set_session_mode(session_id=self._session, mode_id=mode), "session/set_mode")

    async def _turn(self, text: str) -> str:
        self.transcript.start_turn()
        self._in_turn = True
        try:
            response = await self._call(
                self._conn.prompt(session_id=self._session, prompt=[acp.text_block(text)]), "session/prompt")
        finally:
            self._in_turn = False
            self.transcript.end_turn()
        if self.usage.from_turn(response):
            self._report_usage()
        return str(getattr(response, "stop_reason", "end_turn"))

    async def _call(self, request: Any, what: str) -> Any:
        """Await a request to the agent, unless it breaks the protocol first."""
        call = asyncio.ensure_future(request)
        done, _ = await asyncio.wait({call, self._broken}, return_when=asyncio.FIRST_COMPLETED)
        if call in done:
            try:
                return call.result()
            except ConnectionError:  # the package's word for an output that ended
                await asyncio.wait({self._broken}, timeout=1.0)
                raise ProtocolBroken(self._broken.result() if self._broken.done() else
                                     f"the agent closed its output during {what}") from None
        call.cancel()
        raise ProtocolBroken(self._broken.result())

    def _failed(self, reason: str, kind: str | None = None) -> AgentExit:
        if self._stopped:  # what a stopped agent does on its way out is not a failure of its own
            return AgentExit(None, reason)
        found = failure_in([reason, *self._stderr])
        self.ctx.emit_lines("engine", [reason])
        code = self._proc.proc.returncode if self._proc is not None else None
        return AgentExit(code if code else 1, reason, kind or (found[0] if found else None))

    async def _shut_down(self) -> None:
        self.client.stop()  # the attempt is over: nothing the agent asks on its way out is done
        self.transcript.flush()
        await self.client.terminals.close()
        if self._conn is not None:
            try:
                await asyncio.wait_for(self._conn.close(), 1.0)
            except (asyncio.TimeoutError, Exception):  # closing a broken connection may fail: it is over anyway
                pass
        if self._proc is not None:
            if self._reopenable and not self._stopped and not self._broken.done():
                await asyncio.sleep(SETTLE)  # see SETTLE
            await self._proc.terminate(0.5)
            await self._proc.wait()

    # ------------------------------------------------------------------ the agent's output
    def _on_lines(self, stream: str, lines: list[str]) -> None:
        if stream != "stdout":
            shown = [line for line in lines if line.strip()]
            self._stderr.extend(shown)
            if shown:
                self.ctx.emit_lines("stderr", shown)
            return
        if self._broken.done():
            return
        for line in lines:
            text = line.strip()
            if not text:
                continue
            if not _json_object(text):
                self._break(f"the agent wrote something that is not JSON-RPC on its output: {_excerpt(text)}")
                return
            self._reader.feed_data(text.encode() + b"\n")

    def _on_close(self, stream: str) -> None:
        if stream != "stdout":
            return
        self._reader.feed_eof()
        if not self._finished:
            asyncio.ensure_future(self._exited())

    async def _exited(self) -> None:
        assert self._proc is not None
        try:
            code = await asyncio.wait_for(self._proc.proc.wait(), 2.0)
        except asyncio.TimeoutError:
            code = None
        if self._finished or self._stopped:
            return
        said = "; ".join(list(self._stderr)[-3:])
        how = f"exited with code {code}" if code is not None else "closed its output"
        self._break(f"the agent {how}" + (f": {said}" if said else ""))

    def _break(self, reason: str) -> None:
        if not self._broken.done():
            self._broken.set_result(reason)

    # ------------------------------------------------------------------ reporting
    def _emit(self, stream: str, lines: list[str], key: str) -> None:
        if key:
            self.ctx.emit_lines(stream, lines, key)
        else:
            self.ctx.emit_lines(stream, lines)

    def _report_usage(self) -> None:
        self.ctx.report_usage(self.usage.usage())
        if self.usage.other_currency:
            currency, self.usage.other_currency = self.usage.other_currency, ""
            self.ctx.emit_lines("engine", [f"the agent states its cost in {currency}: not counted as dollars"])

    # ------------------------------------------------------------------ the engine's commands
    def pause(self) -> None:
        self._paused = True
        if self._proc is not None:
            self._proc.pause()
        self.client.terminals.pause()

    def resume(self) -> None:
        self._paused = False
        if self._proc is not None:
            self._proc.resume()
        self.client.terminals.resume()

    async def stop(self, grace: float) -> None:
        self._stopped = True
        self.client.stop()  # before the cancel: what the agent asks in its grace period is refused
        self._follow_ups.clear()
        if self._proc is None:
            return
        if self._paused:
            self.resume()
        if self._conn is not None and self._session is not None and self._in_turn and not self._broken.done():
            try:
                await asyncio.wait_for(self._conn.cancel(session_id=self._session), 1.0)
            except (asyncio.TimeoutError, Exception):  # a broken agent: its group is ended below
                pass
            loop = asyncio.get_running_loop()
            deadline = loop.time() + min(grace, CANCEL_GRACE)
            while self._in_turn and loop.time() < deadline:
                await asyncio.sleep(0.02)
        await self.client.terminals.close()
        await self._proc.terminate(grace)

    async def send(self, text: str) -> None:
        if self._finished or self._stopped:
            raise CannotTakeMessage("the agent's session has ended; it takes no more messages")
        self._follow_ups.append(text)
        if self._in_turn:
            self.ctx.emit_lines("engine", ["message queued: it is sent when the agent's turn ends"])


def reopening(capabilities: Any) -> str:
    """How an agent offers to reopen a session, from its capabilities: "resume" (``session/resume``: no
    replay), "load" (``session/load``: the history replayed first), or "" (it cannot)."""
    if getattr(getattr(capabilities, "session_capabilities", None), "resume", None) is not None:
        return "resume"
    return "load" if getattr(capabilities, "load_session", False) is True else ""


def can_reopen(memory: dict[str, object]) -> bool:
    """Whether an attempt made with the task's ``memory`` reopens an ACP session."""
    return bool(plain_session_id(memory.get(SESSION_KEY))) and memory.get(REOPEN_KEY) in ("resume", "load")


def _json_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False


def _excerpt(text: str, limit: int = 200) -> str:
    shown = plain(text)
    return repr(shown if len(shown) <= limit else shown[:limit] + "…")


def _request_error(exc: acp.RequestError) -> str:
    data = exc.data
    detail = data.get("details") or data.get("message") if isinstance(data, dict) else data
    return f"{exc} (code {exc.code})" + (f": {detail}" if detail else "")
