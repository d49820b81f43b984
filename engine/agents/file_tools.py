"""The tools of the ``anthropic`` agent: read, list, search, write and edit files, run commands.

Every path a tool takes is relative to the task's worktree and must stay inside it: an absolute
path, a ``..`` component, anything under ``.git`` and a path that a symbolic link carries outside
the worktree are refused with a :class:`ToolError`, which the model receives as an ``is_error``
tool result. Searches and listings do not follow symbolic links.

``run_command`` runs ``bash -c`` with the worktree as its working directory, under a supervisor of
its own (:mod:`engine.process`), with its own timeout; on timeout (or when the agent is stopped)
everything it started is ended, even what left its process group. It is confined by its working
directory only, not sandboxed: a command can reach whatever the user can. The API key is removed
from its environment.

``search_text`` uses the ``regex`` package: Python's syntax, a time bound on the whole search
(``SEARCH_SECONDS``), and no GIL held while it matches, so a pathological expression neither
stalls the cockpit nor runs for ever. ``read_file`` reads a file as a stream of bounded lines.

Outputs are bounded (lines, characters, matches) so one call cannot flood the conversation.
"""
from __future__ import annotations

import asyncio
import os
import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

import regex

from engine.process import GroupProcess
from engine.profiles import API_KEY_VARS

READ_MAX_LINES = 2000
OUTPUT_MAX_CHARS = 60_000  # the most any tool result holds
READ_MAX_CHARS = OUTPUT_MAX_CHARS  # read_file stops reading once its answer is this long
LINE_MAX_CHARS = 2000
LINE_READ_MAX = 4 * LINE_MAX_CHARS  # bytes: room for LINE_MAX_CHARS characters of UTF-8 most of the time
LIST_MAX = 1000
SEARCH_DEFAULT = 100
SEARCH_MAX = 500
SEARCH_LINE_CHARS = 300
SEARCH_FILE_MAX_BYTES = 2_000_000
SEARCH_SECONDS = 10.0  # the most one search may take, however the model wrote its regular expression
COMMAND_HEAD_LINES = 100
COMMAND_TAIL_LINES = 300
COMMAND_MAX_CHARS = 30_000
KILL_GRACE = 1.0
DETAIL_MAX = 200


class ToolError(Exception):
    """A tool call that cannot be done; the text is for the model (and the pane)."""


@dataclass
class ToolResult:
    content: str  # what the model receives
    summary: str  # the pane's short form, e.g. "ok (12 lines)" or "✗ exit 1 (3 lines)"
    is_error: bool = False


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


_PATH = {"type": "string", "description": "a path relative to the root of the worktree"}

TOOLS: list[dict[str, Any]] = [
    {
        "name": "read_file",
        "description": (
            "Read a text file of the worktree. Lines come numbered (number, tab, text); the numbers "
            f"are not part of the file. At most {READ_MAX_LINES} lines at a time: use start_line "
            "and end_line (1-based, inclusive) for a part of a long file."
        ),
        "input_schema": _schema({
            "path": _PATH,
            "start_line": {"type": "integer", "minimum": 1},
            "end_line": {"type": "integer", "minimum": 1},
        }, ["path"]),
    },
    {
        "name": "list_files",
        "description": (
            "List files and directories (directories end with /) matching a glob pattern, relative "
            "to `path` (default the worktree root). `*` and `?` stay within one directory, `**` "
            "spans any number: \"**/*.py\" is every Python file, \"*\" the top level. .git is never "
            f"listed; at most {LIST_MAX} entries."
        ),
        "input_schema": _schema({
            "pattern": {"type": "string", "description": "glob, default \"**/*\""},
            "path": {"type": "string", "description": "directory to list from, default the root"},
        }, []),
    },
    {
        "name": "search_text",
        "description": (
            "Search the text files under `path` (default the root; a file or a directory) for a "
            "regular expression (Python syntax) or, with fixed_string, a plain string. Answers "
            "path:line: text, one match per line. `glob` limits the files searched (\"*.py\" matches "
            "file names, \"src/**/*.py\" paths)."
        ),
        "input_schema": _schema({
            "pattern": {"type": "string"},
            "path": {"type": "string"},
            "glob": {"type": "string"},
            "fixed_string": {"type": "boolean"},
            "ignore_case": {"type": "boolean"},
            "max_results": {"type": "integer", "minimum": 1, "maximum": SEARCH_MAX},
        }, ["pattern"]),
    },
    {
        "name": "write_file",
        "description": (
            "Create or overwrite a file with the given content (missing directories are made). "
            "For a small change to an existing file prefer edit_file."
        ),
        "input_schema": _schema({"path": _PATH, "content": {"type": "string"}}, ["path", "content"]),
    },
    {
        "name": "edit_file",
        "description": (
            "Replace one exact occurrence of old_string in a file with new_string. old_string must "
            "occur exactly once (copy it from the file, without read_file's line numbers, with enough "
            "surrounding lines to be unique); otherwise nothing is changed and you get an error."
        ),
        "input_schema": _schema({
            "path": _PATH, "old_string": {"type": "string"}, "new_string": {"type": "string"},
        }, ["path", "old_string", "new_string"]),
    },
    {
        "name": "run_command",
        "description": (
            "Run a bash command in the worktree root (e.g. tests, a build, git status) and get its "
            "exit code and output (standard output and error; long output keeps its start and end). "
            "The command and everything it starts are killed when the timeout passes."
        ),
        "input_schema": _schema({
            "command": {"type": "string"},
            "timeout": {"type": "number", "description": "seconds; at most the profile's command_timeout"},
        }, ["command"]),
    },
]

TOOL_NAMES = tuple(t["name"] for t in TOOLS)
_DETAIL_KEY = {
    "read_file": "path", "list_files": "pattern", "search_text": "pattern", "write_file": "path",
    "edit_file": "path", "run_command": "command",
}


def describe_call(name: str, args: object) -> str:
    """The pane's short form of a call: ``write_file: src/app.py``."""
    detail = ""
    if isinstance(args, dict):
        value = args.get(_DETAIL_KEY.get(name, ""), "")
        if name == "list_files" and not value:
            value = "**/*"
        detail = value if isinstance(value, str) else repr(value)
        if name == "read_file" and ("start_line" in args or "end_line" in args):
            detail += f":{args.get('start_line', 1)}-{args.get('end_line', '')}"
    detail = " ".join(detail.split())  # one line
    if len(detail) > DETAIL_MAX:
        detail = detail[: DETAIL_MAX - 1] + "…"
    return f"{name}: {detail}" if detail else name


class Workspace:
    """The worktree the tools work in, and the tools themselves."""

    def __init__(self, root: str | Path, env: dict[str, str] | None = None, command_timeout: float = 120.0) -> None:
        self.root = Path(root).resolve()
        self.env = {k: v for k, v in (env if env is not None else os.environ).items() if k not in API_KEY_VARS}
        self.command_timeout = command_timeout
        self._stopped = False  # once set, no tool changes anything any more
        self._busy: asyncio.Future[ToolResult] | None = None  # the tool call running in a thread
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "read_file": self._read_file, "list_files": self._list_files, "search_text": self._search_text,
            "write_file": self._write_file, "edit_file": self._edit_file,
        }

    # ------------------------------------------------------------------------------ paths
    def resolve(self, path: object, *, default: str | None = None) -> Path:
        """The real path of ``path`` (relative to the root); ToolError if it would leave the worktree."""
        if path is None and default is not None:
            path = default
        if not isinstance(path, str) or not path.strip():
            raise ToolError("a path is required (relative to the worktree root)")
        if "\0" in path:
            raise ToolError("a path cannot hold a NUL character")
        pure = PurePosixPath(path)
        if pure.is_absolute() or path.startswith("~") or re.match(r"^[A-Za-z]:[\\/]", path):
            raise ToolError(f"{path}: absolute paths are refused; give a path relative to the worktree root")
        if ".." in pure.parts:
            raise ToolError(f"{path}: '..' is refused; paths stay inside the worktree")
        if pure.parts and pure.parts[0] == ".git":
            raise ToolError(f"{path}: .git is off limits")
        real = (self.root / pure).resolve()
        if real != self.root and not real.is_relative_to(self.root):
            raise ToolError(f"{path}: refused, a symbolic link leads outside the worktree")
        if real.is_relative_to(self.root / ".git"):
            raise ToolError(f"{path}: refused, it leads into .git")
        return real

    def rel(self, real: Path) -> str:
        return real.relative_to(self.root).as_posix() if real != self.root else "."

    # ------------------------------------------------------------------------------ calls
    async def call(self, name: str, args: object) -> ToolResult:
        """Run tool ``name``; every failure is a result with ``is_error`` (cancellation propagates)."""
        try:
            if not isinstance(args, dict):
                raise ToolError(f"the input of {name} must be an object")
            if name == "run_command":
                return await self._run_command(args)
            handler = self._handlers.get(name)
            if handler is None:
                raise ToolError(f"unknown tool {name!r} (tools: {', '.join(TOOL_NAMES)})")
            if self._stopped:
                raise ToolError("the agent was stopped")
            # In a thread, where a cancel cannot reach: stop() waits for it to end (see there).
            self._busy = asyncio.ensure_future(asyncio.to_thread(handler, args))
            return await asyncio.shield(self._busy)
        except ToolError as exc:
            return _error(str(exc))
        except OSError as exc:
            where = f"{self._shown(exc.filename)}: " if exc.filename else ""
            return _error(f"{where}{exc.strerror or exc}")
        except (ValueError, TypeError, UnicodeError) as exc:
            return _error(f"{type(exc).__name__}: {exc}")

    async def stop(self) -> None:
        """No tool does anything from now on; a call running in a thread ends first (a write under way
        completes, a search gives up at its next line), so nothing is written after this returns."""
        self._stopped = True
        busy = self._busy
        if busy is not None and not busy.done():
            await asyncio.gather(busy, return_exceptions=True)

    def _shown(self, filename: object) -> str:
        try:
            return self.rel(Path(str(filename)).resolve())
        except ValueError:
            return str(filename)

    def _read_file(self, args: dict[str, Any]) -> ToolResult:
        """The lines asked for, read as a stream: memory stays bounded by the lines shown whatever the
        file's size (a 40 MB file is not loaded to show 2,000 of its lines), and so does the answer
        (``READ_MAX_CHARS``)."""
        real = self.resolve(args.get("path"))
        start = _int_arg(args, "start_line", 1)
        end = _int_arg(args, "end_line", None)
        if end is not None and end < start:
            raise ToolError(f"end_line {end} is before start_line {start}")
        if real.is_dir():
            raise ToolError(f"{args['path']}: is a directory (use list_files)")
        if not real.exists():
            raise ToolError(f"{args['path']}: no such file")
        last = min(end if end is not None else start + READ_MAX_LINES - 1, start + READ_MAX_LINES - 1)
        shown: list[str] = []
        size = 0
        number = 0
        full = False  # stopped early: READ_MAX_CHARS reached
        with real.open("rb") as f:
            if b"\0" in f.read(8192):
                raise ToolError(f"{args['path']}: a binary file ({real.stat().st_size} bytes), not shown")
            f.seek(0)
            for number, (raw, more) in enumerate(bounded_lines(f), 1):
                if number < start:
                    continue
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if len(line) > LINE_MAX_CHARS or more:
                    cut = len(line) - LINE_MAX_CHARS if len(line) > LINE_MAX_CHARS else 0
                    line = line[:LINE_MAX_CHARS] + f" … ({cut + more} more characters)"
                text = f"{number:6}\t{line}"
                size += len(text) + 1
                if size > READ_MAX_CHARS:
                    full = True
                    break
                shown.append(text)
                if number >= last:
                    break
        total = _count_lines(real)
        if total == 0:
            text = "(empty file)"
        elif start > total:
            text = f"(the file has {total} lines; start_line {start} is past the end)"
        else:
            text = "\n".join(shown)
            shown_end = start + len(shown) - 1
            wanted_end = min(end if end is not None else total, total)
            if shown_end < wanted_end:
                why = f"the answer is limited to {READ_MAX_CHARS:,} characters; " if full else ""
                text += (f"\n… lines {shown_end + 1}-{wanted_end} not shown (of {total}); {why}read them with "
                         "start_line")
        return ToolResult(_bound(text), f"ok ({len(shown)} lines)")

    def _list_files(self, args: dict[str, Any]) -> ToolResult:
        pattern = args.get("pattern") or "**/*"
        if not isinstance(pattern, str):
            raise ToolError("pattern must be a string")
        _check_pattern(pattern)
        base = self.resolve(args.get("path"), default=".")
        if not base.is_dir():
            raise ToolError(f"{args.get('path')}: not a directory")
        regex = glob_regex(pattern)
        found: list[str] = []
        more = False
        for rel_to_base, is_dir in _walk(base):
            if regex.fullmatch(rel_to_base):
                if len(found) == LIST_MAX:
                    more = True
                    break
                path = self.rel(base) + "/" + rel_to_base if base != self.root else rel_to_base
                found.append(path + ("/" if is_dir else ""))
        text = "\n".join(found) if found else f"(nothing matches {pattern!r})"
        if more:
            text += f"\n… more entries not shown (the first {LIST_MAX}); narrow the pattern"
        files = sum(1 for f in found if not f.endswith("/"))
        return ToolResult(_bound(text), f"ok ({files} files{', more not shown' if more else ''})")

    def _search_text(self, args: dict[str, Any]) -> ToolResult:
        pattern = args.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("pattern must be a non-empty string")
        flags = regex.IGNORECASE if args.get("ignore_case") else 0
        try:
            rx = regex.compile(regex.escape(pattern) if args.get("fixed_string") else pattern, flags)
        except (regex.error, ValueError, OverflowError) as exc:
            raise ToolError(f"bad regular expression {pattern!r}: {exc} (set fixed_string for a plain string)")
        deadline = time.monotonic() + SEARCH_SECONDS
        limit = max(1, min(_int_arg(args, "max_results", SEARCH_DEFAULT) or SEARCH_DEFAULT, SEARCH_MAX))
        file_glob = args.get("glob")
        name_only = False
        glob_rx = None
        if file_glob is not None:
            if not isinstance(file_glob, str) or not file_glob:
                raise ToolError("glob must be a non-empty string")
            _check_pattern(file_glob)
            glob_rx = glob_regex(file_glob)
            name_only = "/" not in file_glob
        base = self.resolve(args.get("path"), default=".")
        if base.is_file():
            candidates: Iterator[tuple[str, bool]] = iter([(base.name, False)])
            base_dir = base.parent
        elif base.is_dir():
            candidates, base_dir = _walk(base), base
        else:
            raise ToolError(f"{args.get('path')}: no such file or directory")
        matches: list[str] = []
        files_with = 0
        searched = 0
        more = False
        for rel_to_base, is_dir in candidates:
            if is_dir:
                continue
            if glob_rx is not None and not glob_rx.fullmatch(rel_to_base.rsplit("/", 1)[-1] if name_only else rel_to_base):
                continue
            real = base_dir / rel_to_base
            if real.is_symlink() and not real.resolve().is_relative_to(self.root):
                continue  # a link to outside the worktree is not read
            text = _text_of(real)
            if text is None:
                continue
            searched += 1
            hit = False
            for number, line in enumerate(text.splitlines(), 1):
                if self._stopped:
                    raise ToolError("the agent was stopped")
                try:
                    found = rx.search(line, timeout=max(0.0, deadline - time.monotonic()), concurrent=True)
                except TimeoutError:
                    raise ToolError(
                        f"the search took more than {SEARCH_SECONDS:g}s (after {searched} files) and was "
                        "stopped: simplify the regular expression (nested repetition such as (a+)+ can take "
                        "forever), narrow the path or glob, or set fixed_string"
                    ) from None
                if found:
                    if len(matches) == limit:
                        more = True
                        break
                    hit = True
                    if len(line) > SEARCH_LINE_CHARS:
                        line = line[:SEARCH_LINE_CHARS] + " …"
                    matches.append(f"{self.rel(real)}:{number}: {line}")
            files_with += hit
            if more:
                break
        if not matches:
            return ToolResult(f"no match ({searched} files searched)", "ok (no match)")
        text = "\n".join(matches)
        if more:
            text += f"\n… more matches not shown (the first {limit}); narrow the search"
        return ToolResult(
            _bound(text), f"ok ({len(matches)} matches in {files_with} files{', more not shown' if more else ''})"
        )

    def _write_file(self, args: dict[str, Any]) -> ToolResult:
        real = self.resolve(args.get("path"))
        content = args.get("content")
        if not isinstance(content, str):
            raise ToolError("content must be a string")
        if real.is_dir():
            raise ToolError(f"{args['path']}: is a directory")
        if self._stopped:
            raise ToolError("the agent was stopped")
        existed = real.exists()
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_text(content, encoding="utf-8")
        lines = _count_lines(content)
        verb = "overwrote" if existed else "created"
        return ToolResult(f"{verb} {self.rel(real)} ({lines} lines)", f"ok ({lines} lines)")

    def _edit_file(self, args: dict[str, Any]) -> ToolResult:
        real = self.resolve(args.get("path"))
        old, new = args.get("old_string"), args.get("new_string")
        if not isinstance(old, str) or not isinstance(new, str):
            raise ToolError("old_string and new_string must be strings")
        if not old:
            raise ToolError("old_string is empty; give the exact text to replace (use write_file for a new file)")
        if old == new:
            raise ToolError("old_string and new_string are the same: nothing to change")
        if not real.is_file():
            raise ToolError(f"{args['path']}: no such file")
        text = real.read_text(encoding="utf-8")
        count = text.count(old)
        if count == 0:
            raise ToolError(f"{args['path']}: old_string not found (it must match exactly, whitespace included)")
        if count > 1:
            raise ToolError(f"{args['path']}: old_string occurs {count} times; include more context so it is unique")
        if self._stopped:
            raise ToolError("the agent was stopped")
        real.write_text(text.replace(old, new, 1), encoding="utf-8")
        removed, added = _count_lines(old), _count_lines(new)
        return ToolResult(
            f"edited {self.rel(real)}: replaced {removed} lines with {added}",
            f"ok (-{removed} +{added} lines)",
        )

    async def _run_command(self, args: dict[str, Any]) -> ToolResult:
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ToolError("command must be a non-empty string")
        timeout = self.command_timeout
        asked = args.get("timeout")
        if asked is not None:
            if isinstance(asked, bool) or not isinstance(asked, (int, float)) or asked <= 0:
                raise ToolError("timeout must be a number of seconds above zero")
            timeout = min(float(asked), self.command_timeout)
        output = _BoundedLines()
        starting = asyncio.ensure_future(
            GroupProcess.start(["bash", "-c", command], str(self.root), self.env, output.add)
        )
        try:
            # shielded: a cancel that lands while asyncio sets up the process would leave a child
            # holding the pipes, and asyncio's own cleanup would wait for it forever
            proc = await asyncio.shield(starting)
        except asyncio.CancelledError:
            await asyncio.shield(_end_once_started(starting))
            raise
        waiter = asyncio.ensure_future(proc.wait())
        try:
            done, _ = await asyncio.wait({waiter}, timeout=timeout)
            timed_out = not done
            if timed_out:
                await proc.terminate(KILL_GRACE)
            code = await waiter
        except BaseException:  # stopped (cancelled): end the whole group before going
            await asyncio.shield(_end(proc, waiter))
            raise
        text = output.text()
        lines = output.total
        if timed_out:
            return ToolResult(
                f"timed out after {timeout:g}s: the command and its processes were killed\n{text}".rstrip(),
                f"✗ timed out after {timeout:g}s", True,
            )
        shown = f"exit code {code}\n{text}".rstrip()
        if code == 0:
            return ToolResult(shown, f"ok (exit 0, {lines} lines)")
        return ToolResult(shown, f"✗ exit {code} ({lines} lines)", True)


async def _end_once_started(starting: asyncio.Future[GroupProcess]) -> None:
    try:
        proc = await starting
    except Exception:
        return
    await _end(proc, asyncio.ensure_future(proc.wait()))


async def _end(proc: GroupProcess, waiter: asyncio.Future[int]) -> None:
    await proc.terminate(KILL_GRACE)
    try:
        await asyncio.wait_for(waiter, 5.0)
    except (asyncio.TimeoutError, Exception):
        waiter.cancel()


class _BoundedLines:
    """The first and last lines of a command's output, with a count of all of them."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.tail: deque[str] = deque(maxlen=COMMAND_TAIL_LINES)
        self.total = 0

    def add(self, stream: str, lines: list[str]) -> None:
        for line in lines:
            if len(line) > LINE_MAX_CHARS:
                line = line[:LINE_MAX_CHARS] + " …"
            self.total += 1
            if len(self.head) < COMMAND_HEAD_LINES:
                self.head.append(line)
            else:
                self.tail.append(line)

    def text(self) -> str:
        skipped = self.total - len(self.head) - len(self.tail)
        parts = self.head + ([f"… {skipped} lines not shown …"] if skipped else []) + list(self.tail)
        text = "\n".join(parts)
        if len(text) > COMMAND_MAX_CHARS:
            half = COMMAND_MAX_CHARS // 2
            text = text[:half] + f"\n… {len(text) - 2 * half} characters not shown …\n" + text[-half:]
        return text


def _error(message: str) -> ToolResult:
    message = message.strip() or "failed"
    first = message.splitlines()[0]
    if len(first) > DETAIL_MAX:
        first = first[: DETAIL_MAX - 1] + "…"
    return ToolResult(f"error: {message}", f"✗ {first}", True)


def _bound(text: str) -> str:
    if len(text) <= OUTPUT_MAX_CHARS:
        return text
    return text[:OUTPUT_MAX_CHARS] + f"\n… {len(text) - OUTPUT_MAX_CHARS} more characters not shown"


def _int_arg(args: dict[str, Any], name: str, default: int | None) -> int | None:
    value = args.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ToolError(f"{name} must be a whole number of at least 1, not {value!r}")
    return value


def _count_lines(text: str | Path) -> int:
    """Lines of a text, or of a file read in chunks (its size does not matter)."""
    if isinstance(text, str):
        return text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    count, last = 0, b"\n"
    with text.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def bounded_lines(f: Any, line_max: int = LINE_READ_MAX) -> Iterator[tuple[bytes, int]]:
    """The lines of a binary file, each at most ``line_max`` bytes, with the count of the bytes
    of it left out (a minified file of one 40 MB line costs 40 MB of reading, not of memory)."""
    while line := f.readline(line_max):
        more = 0
        if not line.endswith(b"\n") and len(line) == line_max:
            while rest := f.readline(1 << 16):
                more += len(rest)
                if rest.endswith(b"\n"):
                    more -= 1
                    break
        yield line, more


def read_line_range(path: Path, start: int = 1, count: int | None = None, max_bytes: int = 10_000_000) -> str:
    """Lines ``start`` (1-based) to ``start + count - 1`` of a text file, exactly as they are, read as a
    stream: memory stays within ``max_bytes`` whatever the file's size. A range (or one line) of more
    than ``max_bytes`` is refused with a :class:`ToolError` rather than cut, since a reader that gets
    part of a file as if it were all of it may write the part back."""
    if path.is_dir():
        raise ToolError(f"{path.name}: is a directory")
    kept: list[bytes] = []
    size = 0
    with path.open("rb") as f:
        for number, (raw, more) in enumerate(bounded_lines(f, max_bytes + 1), 1):
            if number < start:
                continue
            if count is not None and number >= start + count:
                break
            size += len(raw) + more
            if more or size > max_bytes:
                raise ToolError(f"the lines asked for hold more than {max_bytes:,} bytes: read fewer at a time "
                                "(line and limit)")
            kept.append(raw)
    return b"".join(kept).decode("utf-8")


def _check_pattern(pattern: str) -> None:
    pure = PurePosixPath(pattern)
    if pure.is_absolute() or ".." in pure.parts:
        raise ToolError(f"{pattern}: patterns are relative to the worktree and cannot hold '..'")


def _text_of(path: Path) -> str | None:
    """The text of a file worth searching, None for a big or binary one."""
    try:
        if path.stat().st_size > SEARCH_FILE_MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


def _walk(base: Path) -> Iterator[tuple[str, bool]]:
    """(path relative to base, is a directory) of everything under base, sorted, never into .git
    nor through a symbolic link."""
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        rel_dir = os.path.relpath(dirpath, base)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        entries = [(d, True) for d in dirnames]
        # a symbolic link to a directory is listed as a name, not entered
        entries += [(f, False) for f in filenames if f != ".git"]
        for name, is_dir in sorted(entries):
            yield prefix + name, is_dir


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a glob over ``/``-separated relative paths: ``*``, ``?``, ``[...]``, ``**``."""
    parts = [p for p in pattern.strip("/").split("/") if p not in ("", ".")] or ["*"]
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_segment(part) + ("" if last else "/"))
    return re.compile("".join(out), re.DOTALL)


def _segment(part: str) -> str:
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = part.find("]", i + 2 if part[i + 1 : i + 2] in ("!", "]") else i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                inner = part[i + 1 : j]
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append("[" + inner.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
