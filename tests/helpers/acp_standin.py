"""A stand-in ACP agent, written with the agent side of the ``agent-client-protocol`` package.

It plays a script (a JSON file named by ``$ACP_STANDIN_SCRIPT``): one list of steps per prompt turn,
in order. The tests of the cockpit's own client side use it for what real agents do rarely or never on
demand: a plan, a permission request, usage in every form, a crash, garbage on its output. The real
agents are tested in ``tests/engine/test_real_agents.py``. Run it as ``python -m tests.helpers.acp_standin``.

Script::

    {"auth_required": false, "modes": ["ask", "code"], "turns": [[step, ...], ...]}

Steps (each a one-key object, plus options):

- ``{"message": "text", "chunk": 5}`` / ``{"thought": "text"}``: message or thought chunks of 5 characters
- ``{"tool": "id", "title": "...", "kind": "edit", "status": "pending", "paths": ["a.txt"]}``: announce
- ``{"update": "id", "status": "completed", "text": "..."}``: a tool call update
- ``{"plan": [["write the file", "in_progress"], ...]}``
- ``{"permission": "id", "title": "...", "kind": "edit"}``: ask; the chosen option id (or ``cancelled``)
  comes back as a message line ``permission: <id>``; ``"command": "..."`` is the call's raw input,
  ``"diff": ["path", "new text"]`` its change, ``"labels": [...]`` its options' names
- ``{"write": "rel/path", "content": "..."}`` / ``{"read": "rel/path"}``: through the client; the outcome
  comes back as a message line (``wrote …``, ``read: <content>``, ``error: …``); ``"absolute": "/x"``
  asks for that path instead
- ``{"terminal": "command line", "args": [...]}``: run it through the client, wait, message its output
- ``{"usage": {"used": 10, "size": 100, "cost": 0.5, "currency": "USD"}}``: a usage update
- ``{"sleep": 0.2}``; ``{"wait_cancel": true}``: hold the turn until the client cancels it
  (with ``"then": [steps]``: do those steps once cancelled, before the turn ends, as an agent that goes
  on working in its grace period would)
- ``{"error": "text", "details": "more"}``: answer the prompt with a JSON-RPC error of that message
- ``{"crash": 3}``: exit at once with that code; ``{"garbage": "text"}``: write a raw line on stdout
- ``{"stop": "end_turn", "usage": {...}, "meta": {...}}``: end the turn (default ``end_turn``), with the
  protocol's per-turn usage and/or a ``_meta``

Every request it gets is appended as a JSON line to ``$ACP_STANDIN_LOG`` when that is set.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import acp
from acp.schema import (
    AgentCapabilities, Cost, InitializeResponse, NewSessionResponse, PermissionOption, PromptResponse,
    SessionMode, SessionModeState, ToolCallLocation, Usage, UsageUpdate,
)


class StandIn:
    def __init__(self, script: dict[str, Any]) -> None:
        self.script = script
        self.turns = list(script.get("turns", []))
        self.conn: Any = None
        self.cwd = ""
        self.cancelled = asyncio.Event()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    def _log(self, what: str, data: Any) -> None:
        path = os.environ.get("ACP_STANDIN_LOG")
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"request": what, "data": data}, default=str) + "\n")

    async def initialize(self, protocol_version: int, client_capabilities: Any = None, client_info: Any = None,
                         **_: Any) -> InitializeResponse:
        self._log("initialize", {"capabilities": client_capabilities.model_dump(by_alias=True) if client_capabilities else None,
                                 "client": client_info.model_dump() if client_info else None})
        return InitializeResponse(protocol_version=protocol_version, agent_capabilities=AgentCapabilities())

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> NewSessionResponse:
        self._log("session/new", {"cwd": cwd})
        if self.script.get("auth_required"):
            raise acp.RequestError.auth_required({"details": "log in first"})
        self.cwd = cwd
        modes = self.script.get("modes")
        state = None
        if modes:
            state = SessionModeState(current_mode_id=modes[0],
                                     available_modes=[SessionMode(id=m, name=m) for m in modes])
        return NewSessionResponse(session_id="standin-1", modes=state)

    async def set_session_mode(self, session_id: str, mode_id: str, **_: Any) -> None:
        self._log("session/set_mode", {"mode": mode_id})

    async def cancel(self, session_id: str, **_: Any) -> None:
        self._log("session/cancel", {})
        self.cancelled.set()

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> PromptResponse:
        self._log("session/prompt", {"text": "".join(getattr(b, "text", "") for b in prompt)})
        self.cancelled.clear()
        steps = self.turns.pop(0) if self.turns else [{"message": "no more turns scripted"}]
        for step in steps:
            result = await self._step(session_id, step)
            if result is not None:
                return result
        return PromptResponse(stop_reason="end_turn")

    async def _say(self, session_id: str, text: str) -> None:
        await self.conn.session_update(session_id=session_id, update=acp.update_agent_message_text(text))

    async def _step(self, sid: str, step: dict[str, Any]) -> PromptResponse | None:
        conn = self.conn
        if "message" in step or "thought" in step:
            text = step.get("message", step.get("thought", ""))
            size = step.get("chunk", 5)
            make = acp.update_agent_message_text if "message" in step else acp.update_agent_thought_text
            for i in range(0, len(text), size):
                await conn.session_update(session_id=sid, update=make(text[i:i + size]))
        elif "tool" in step:
            locations = [ToolCallLocation(path=str(Path(self.cwd) / p)) for p in step.get("paths", [])]
            await conn.session_update(session_id=sid, update=acp.start_tool_call(
                step["tool"], step.get("title", step["tool"]), kind=step.get("kind"),
                status=step.get("status", "pending"), locations=locations or None))
        elif "update" in step:
            content = [acp.tool_content(acp.text_block(step["text"]))] if "text" in step else None
            await conn.session_update(session_id=sid, update=acp.update_tool_call(
                step["update"], status=step.get("status"), title=step.get("title"), content=content))
        elif "plan" in step:
            entries = [acp.plan_entry(text, priority="medium", status=status) for text, status in step["plan"]]
            await conn.session_update(session_id=sid, update=acp.update_plan(entries))
        elif "permission" in step:
            labels = step.get("labels", ["Allow", "Always allow", "Reject"])
            options = [PermissionOption(option_id="yes", name=labels[0], kind="allow_once"),
                       PermissionOption(option_id="always", name=labels[1], kind="allow_always"),
                       PermissionOption(option_id="no", name=labels[2], kind="reject_once")]
            diff = step.get("diff")
            content = [acp.tool_diff_content(str(Path(self.cwd) / diff[0]), diff[1])] if diff else None
            raw = {"command": step["command"]} if "command" in step else None
            tool = acp.update_tool_call(step["permission"], title=step.get("title"), kind=step.get("kind"),
                                        status="pending", content=content, raw_input=raw)
            answer = await conn.request_permission(session_id=sid, tool_call=tool, options=options)
            outcome = answer.outcome
            await self._say(sid, f"permission: {getattr(outcome, 'option_id', None) or outcome.outcome}\n")
        elif "write" in step:
            path = step.get("absolute") or str(Path(self.cwd) / step["write"])
            try:
                await conn.write_text_file(session_id=sid, path=path, content=step.get("content", ""))
                await self._say(sid, f"wrote {step['write']}\n")
            except acp.RequestError as exc:
                await self._say(sid, f"error: {exc} {json.dumps(exc.data)}\n")
        elif "read" in step:
            path = step.get("absolute") or str(Path(self.cwd) / step["read"])
            try:
                response = await conn.read_text_file(session_id=sid, path=path, line=step.get("line"),
                                                     limit=step.get("limit"))
                await self._say(sid, f"read: {response.content}\n")
            except acp.RequestError as exc:
                await self._say(sid, f"error: {exc} ({exc.code})\n")
        elif "terminal" in step:
            try:
                created = await conn.create_terminal(session_id=sid, command=step["terminal"], args=step.get("args"),
                                                     output_byte_limit=step.get("limit"), cwd=step.get("cwd"))
            except acp.RequestError as exc:
                await self._say(sid, f"error: {exc} {json.dumps(exc.data)}\n")
                return None
            if step.get("leave_running"):
                await self._say(sid, f"terminal {created.terminal_id} left running\n")
                return None
            status = await conn.wait_for_terminal_exit(session_id=sid, terminal_id=created.terminal_id)
            output = await conn.terminal_output(session_id=sid, terminal_id=created.terminal_id)
            await conn.release_terminal(session_id=sid, terminal_id=created.terminal_id)
            await self._say(sid, f"exit {status.exit_code}: {output.output.strip()}\n")
        elif "usage" in step and "stop" not in step:
            u = step["usage"]
            cost = Cost(amount=u["cost"], currency=u.get("currency", "USD")) if "cost" in u else None
            await conn.session_update(session_id=sid, update=UsageUpdate(
                session_update="usage_update", used=u.get("used", 0), size=u.get("size", 0), cost=cost))
        elif "sleep" in step:
            await asyncio.sleep(step["sleep"])
        elif "wait_cancel" in step:
            await self.cancelled.wait()
            for then in step.get("then", []):
                await self._step(sid, then)
            return PromptResponse(stop_reason="cancelled")
        elif "error" in step:
            raise acp.RequestError(-32603, step["error"], {"details": step.get("details", "")})
        elif "crash" in step:
            sys.stdout.flush()
            os._exit(step["crash"])
        elif "garbage" in step:
            os.write(1, (step["garbage"] + "\n").encode())
        elif "stop" in step:
            usage = Usage(**step["usage"]) if "usage" in step else None
            return PromptResponse(stop_reason=step["stop"], usage=usage, field_meta=step.get("meta"))
        return None


def main() -> None:
    script = json.loads(Path(os.environ["ACP_STANDIN_SCRIPT"]).read_text(encoding="utf-8"))
    if script.get("stderr"):
        print(script["stderr"], file=sys.stderr, flush=True)
    if script.get("exit_at_start") is not None:
        sys.exit(script["exit_at_start"])
    asyncio.run(acp.run_agent(StandIn(script)))


if __name__ == "__main__":
    main()
