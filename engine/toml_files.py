"""Reading the user's TOML files with errors that name the file and the place."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from engine.errors import UserError


def read_toml(path: Path, error: type[UserError]) -> tuple[dict[str, Any], str]:
    """The parsed table and the text of ``path``; ``error`` carries one line for anything wrong."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a TOML file") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: TOML syntax error: {_toml_message(exc)}") from None


def _toml_message(exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.14 has lineno/colno attributes; before that the position is in the message.
    msg = str(exc)
    lineno = getattr(exc, "lineno", None)
    colno = getattr(exc, "colno", None)
    if lineno is not None and "line" not in msg:
        msg = f"{msg} (at line {lineno}, column {colno})"
    return msg


def type_name(value: object) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string",
        list: "an array", dict: "a table",
    }.get(type(value), type(value).__name__)
