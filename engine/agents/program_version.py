"""When an agent program refuses a flag of its profile: which version it is, which flag it refused.

CLI agents change their flags between releases (codex dropped ``--full-auto``). A program that fails
because of a flag says so in its own words, which depend on the library that parses its arguments:
clap (codex), argparse (aider), yargs (gemini), commander and others. :func:`refused_flag` finds that
line, asks the program for its version (``PROGRAM --version``) and makes one message of both, with
the version the built-in profile was checked with.
"""
from __future__ import annotations

import asyncio
import re
from typing import Iterable

from engine.profiles import AgentProfile

VERSION_TIMEOUT = 10.0
_REFUSED = (
    re.compile(r"unexpected argument '(?P<flag>[^']+)' found"),  # clap
    re.compile(r"invalid value '[^']*' for '(?P<flag>--?[\w-]+)"),  # clap, a value
    re.compile(r"unrecognized arguments?: (?P<flag>\S+)"),  # argparse
    re.compile(r"Unknown arguments?: (?P<flag>[^,\s]+)"),  # yargs
    re.compile(r"unknown (?:option|flag|argument)[: ]+'?(?P<flag>--?[\w-]+)", re.IGNORECASE),  # commander, go
)
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:[-+.][\w.]+)?")


def flag_refused(lines: Iterable[str]) -> tuple[str, str] | None:
    """``(flag, the line that says so)`` when the lines tell of a flag the program refused."""
    for line in reversed(list(lines)):
        for pattern in _REFUSED:
            found = pattern.search(line)
            if found:
                flag = found.group("flag")
                if not flag.startswith("-") and pattern.pattern.startswith("Unknown"):
                    flag = "--" + flag  # yargs names the flag without its dashes
                return flag, " ".join(line.split())[:300]
    return None


async def program_version(program: str, env: dict[str, str]) -> str | None:
    """The version ``program --version`` prints, or None when it prints none in time."""
    try:
        proc = await asyncio.create_subprocess_exec(
            program, "--version", env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), VERSION_TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    found = _VERSION.search(out.decode("utf-8", "replace"))
    return found.group(0) if found else None


async def refused_flag(profile: AgentProfile, lines: Iterable[str], env: dict[str, str]) -> str | None:
    """One line for the user when the program refused a flag of the profile, else None."""
    found = flag_refused(lines)
    if found is None:
        return None
    flag, line = found
    version = await program_version(profile.program, env)
    message = f"{profile.program} {version or '(version unknown)'} refused the flag {flag} of profile {profile.name!r}"
    if profile.checked_version:
        message += f" (checked with {profile.program} {profile.checked_version})"
    return f"{message}: {line}"
