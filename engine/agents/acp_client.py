"""The client side of the Agent Client Protocol, as the cockpit serves it to one ACP agent.

What the agent may ask of us, and how it is confined:

- ``session/update``: shown through the :class:`~engine.agents.acp_transcript.Transcript`, usage counted
  by :class:`~engine.agents.acp_usage.AcpUsage`.
- ``fs/read_text_file`` and ``fs/write_text_file``: a read returns the lines asked for, read as a stream
  and bounded by bytes (:func:`~engine.agents.file_tools.read_line_range`, as the API agent's reads); only inside the task's worktree (the same rules as
  the API agent's tools: no ``..``, no ``.git``, no symbolic link leading out); a file that does not exist
  is the protocol's "resource not found".
- ``terminal/*``: commands run in the worktree (or a folder in it), in process groups the attempt ends
  (:mod:`engine.agents.terminals`).
- ``session/request_permission``: asked on the ask channel (:mod:`engine.asks`) as a
  :class:`~engine.asks.Request` with the agent's own options; the profile's policy, the developer or a
  headless run's answer decides, and the agent gets the option of the kind decided (or a cancellation
  when it offered none). A request for another session is refused.

Once the task is stopped (cancelled, timed out, over budget) the agent gets nothing more done through
us: every file request, new terminal and permission request is refused from the moment the stop begins,
not when its process group ends, so nothing it does in the grace it is given lands in the worktree (and
so in a commit).
"""
from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Any, Callable

from acp import RequestError
from acp.schema import (
    AllowedOutcome, CreateTerminalResponse, DeniedOutcome, EnvVariable, KillTerminalResponse, ReadTextFileResponse,
    ReleaseTerminalResponse, RequestPermissionResponse, TerminalExitStatus, TerminalOutputResponse,
    WaitForTerminalExitResponse, WriteTextFileResponse,
)

from engine.agents.acp_transcript import Transcript
from engine.terminal_text import plain
from engine.asks import OPTION_KINDS, TOOL_KINDS, AskOption, Asker, Request
from engine.agents.acp_usage import AcpUsage
from engine.agents.file_tools import ToolError, Workspace, read_line_range
from engine.agents.terminals import TerminalError, Terminals

# bytes one read may return: a bigger file is read in parts (line, limit), never loaded whole
READ_MAX_BYTES = 10_000_000


class AcpClient:
    """One agent's client: ``session_id`` is set once the session exists (before that nothing of ours
    is asked of us), ``on_usage`` is called when the usage changed."""

    def __init__(self, workdir: str, env: dict[str, str], transcript: Transcript, usage: AcpUsage,
                 ask: Asker, on_usage: Callable[[], None], note: Callable[[str], None]) -> None:
        self.workspace = Workspace(workdir, env)
        self.workdir = workdir
        self.transcript = transcript
        self.usage = usage
        self.terminals = Terminals(env)
        self.session_id: str | None = None
        self._ask = ask
        self._on_usage = on_usage
        self._note = note
        self.stopped = False

    def stop(self) -> None:
        """The task is being stopped: refuse whatever the agent asks to do from now on."""
        self.stopped = True

    def _may_act(self, session_id: str, what: str) -> None:
        """A request that does something (files, terminals) from the agent's session, while the task runs."""
        self._check_session(session_id)
        if self.stopped:
            self._note(f"refused: {what} after the task was stopped")
            raise RequestError.invalid_request({"details": "the task was stopped: nothing more is done"})

    def _check_session(self, session_id: str) -> None:
        if self.session_id is None or session_id != self.session_id:
            raise RequestError.invalid_params({"details": f"unknown session {session_id!r}"})

    # ------------------------------------------------------------------ session updates
    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        if session_id != self.session_id:
            return
        if getattr(update, "session_update", "") == "usage_update":
            if self.usage.from_update(update):
                self._on_usage()
            return
        self.transcript.update(update)

    # ------------------------------------------------------------------ permissions
    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **_: Any) -> RequestPermissionResponse:
        self._check_session(session_id)
        if self.stopped:  # nobody is asked on behalf of a stopped task
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        # a request may come before (or instead of) the tool call's announcement: show the call first
        call = self.transcript.tool(tool_call)
        offered = tuple(AskOption(str(o.option_id), str(o.kind), plain(str(o.name))[:200]) for o in options
                        if str(o.kind) in OPTION_KINDS)
        request = Request(
            tool=plain(" ".join(call.title.split()))[:200] or call.kind or "tool",
            kind=call.kind if call.kind in TOOL_KINDS else "other",
            title=call.line(),
            command=_command(getattr(tool_call, "raw_input", None)) if call.kind == "execute" else None,
            paths=tuple(call.paths),
            preview=_preview(getattr(tool_call, "content", None)),
            options=offered,
            tool_call_id=call.id,
        )
        answer = await self._ask(request)
        if answer.option is None or answer.option.id not in {o.id for o in offered}:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(option_id=answer.option.id, outcome="selected"))

    # ------------------------------------------------------------------ files
    def _confined(self, path: str) -> Path:
        """The real path of the absolute ``path`` the agent gave, if it lies inside the worktree."""
        if not isinstance(path, str) or not path:
            raise RequestError.invalid_params({"details": "a path is required"})
        given = Path(path)
        for root in (Path(self.workdir), self.workspace.root):
            if given.is_absolute() and given.is_relative_to(root):
                relative = given.relative_to(root).as_posix()
                break
        else:
            self._note(f"refused: the agent asked for {plain(path)[:200]}, outside the worktree")
            raise RequestError.invalid_params({"details": f"{path}: outside the worktree, refused"})
        try:
            return self.workspace.resolve(relative or ".")
        except ToolError as exc:
            self._note(f"refused: {exc}")
            raise RequestError.invalid_params({"details": str(exc)}) from None

    async def read_text_file(self, session_id: str, path: str, line: int | None = None, limit: int | None = None,
                             **_: Any) -> ReadTextFileResponse:
        self._may_act(session_id, "a file read")
        real = self._confined(path)
        start = max(1, line) if isinstance(line, int) else 1
        count = max(0, limit) if isinstance(limit, int) else None
        try:
            text = await asyncio.to_thread(read_line_range, real, start, count, READ_MAX_BYTES)
        except FileNotFoundError:
            raise RequestError.resource_not_found(path) from None
        except ToolError as exc:
            raise RequestError.invalid_params({"details": f"{path}: {exc}"}) from None
        except (OSError, UnicodeError) as exc:
            raise RequestError.internal_error({"details": f"{path}: {exc}"}) from None
        return ReadTextFileResponse(content=text)

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> WriteTextFileResponse:
        self._may_act(session_id, "a file write")
        real = self._confined(path)
        if real == self.workspace.root or real.is_dir():
            raise RequestError.invalid_params({"details": f"{path}: is a directory"})
        try:
            await asyncio.to_thread(_write, real, content)
        except OSError as exc:
            raise RequestError.internal_error({"details": f"{path}: {exc.strerror or exc}"}) from None
        return WriteTextFileResponse()

    # ------------------------------------------------------------------ terminals
    async def create_terminal(self, session_id: str, command: str, args: list[str] | None = None,
                              env: list[EnvVariable] | None = None, cwd: str | None = None,
                              output_byte_limit: int | None = None, **_: Any) -> CreateTerminalResponse:
        self._may_act(session_id, "a new terminal")
        folder = self._confined(cwd) if cwd else self.workspace.root
        if not folder.is_dir():
            raise RequestError.invalid_params({"details": f"{cwd}: not a folder"})
        extra = {str(v.name): str(v.value) for v in env or []}
        try:
            terminal_id = await self.terminals.create(command, args, extra, str(folder), output_byte_limit)
        except TerminalError as exc:
            raise RequestError.invalid_params({"details": str(exc)}) from None
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(self, session_id: str, terminal_id: str, **_: Any) -> TerminalOutputResponse:
        self._check_session(session_id)
        terminal = self._terminal(terminal_id)
        status = _exit_status(terminal) if terminal.done.is_set() else None
        return TerminalOutputResponse(output=terminal.output, truncated=terminal.truncated, exit_status=status)

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str,
                                     **_: Any) -> WaitForTerminalExitResponse:
        self._check_session(session_id)
        try:
            terminal = await self.terminals.wait(terminal_id)
        except TerminalError as exc:
            raise RequestError.invalid_params({"details": str(exc)}) from None
        return WaitForTerminalExitResponse(exit_code=terminal.exit_code, signal=terminal.signal)

    async def kill_terminal(self, session_id: str, terminal_id: str, **_: Any) -> KillTerminalResponse:
        self._check_session(session_id)
        self._terminal(terminal_id)
        await self.terminals.kill(terminal_id)
        return KillTerminalResponse()

    async def release_terminal(self, session_id: str, terminal_id: str, **_: Any) -> ReleaseTerminalResponse:
        self._check_session(session_id)
        self._terminal(terminal_id)
        await self.terminals.release(terminal_id)
        return ReleaseTerminalResponse()

    def _terminal(self, terminal_id: str):  # noqa: ANN202 - a Terminal
        try:
            return self.terminals.get(terminal_id)
        except TerminalError as exc:
            raise RequestError.invalid_params({"details": str(exc)}) from None

    # ------------------------------------------------------------------ the rest of the protocol
    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    def on_connect(self, conn: Any) -> None:
        return None


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def _command(raw_input: Any) -> str | None:
    """The command line of an execute tool call, from its raw input as agents give it: a string, or an
    argv (codex-acp's ``["/bin/bash", "-lc", "npm test"]`` is the line it runs)."""
    command = raw_input.get("command") if isinstance(raw_input, dict) else None
    if isinstance(command, str):
        return command
    if isinstance(command, list) and all(isinstance(a, str) for a in command) and command:
        if len(command) == 3 and command[1] in ("-c", "-lc") and command[0].rsplit("/", 1)[-1] in ("bash", "sh", "zsh"):
            return command[2]
        return shlex.join(command)
    return None


def _preview(content: Any) -> str:
    """The change or text a tool call carries, for the question: each diff's file and new text."""
    parts = []
    for item in content or []:
        if getattr(item, "type", "") == "diff":
            parts.append(f"{getattr(item, 'path', '')}:\n{getattr(item, 'new_text', '') or ''}")
        else:
            text = getattr(getattr(item, "content", None), "text", None)
            if isinstance(text, str):
                parts.append(text)
    return plain("\n".join(parts))


def _exit_status(terminal: Any) -> TerminalExitStatus:
    return TerminalExitStatus(exit_code=terminal.exit_code, signal=terminal.signal)
