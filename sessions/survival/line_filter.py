"""What counts as a session's work when survival is measured: which files, which lines.

A *meaningful line* has at least one letter or digit once whitespace is ignored: blank lines and
lines of only punctuation (``}``, ``});``, ``*/``, ``---``) do not count, neither when a session
adds them nor when they survive. Lines are compared the way ``git blame -w`` compares them, with
every whitespace character removed, so re-indenting or re-wrapping spaces changes nothing.

A file is left out of the measure when it is a lock file, lives in a vendored folder, is generated
(by its name, or because one of its first lines says so), or is binary. Every list is a field of
:class:`FileFilter`, with the defaults below; a caller passes its own ``FileFilter`` to change them.
``FileFilter.signature()`` names the configuration, so a fingerprint made with another one can be
told apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from array import array
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessions.git.blame import GitRunner

__all__ = [
    "DEFAULT_GENERATED_GLOBS",
    "DEFAULT_GENERATED_MARKERS",
    "DEFAULT_LOCK_FILES",
    "DEFAULT_VENDORED_DIRS",
    "FileFilter",
    "line_hashes",
    "line_hash",
    "meaningful",
    "normalize",
]

DEFAULT_LOCK_FILES: frozenset[str] = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "bun.lock",
        "poetry.lock",
        "Pipfile.lock",
        "pdm.lock",
        "uv.lock",
        "Cargo.lock",
        "go.sum",
        "Gemfile.lock",
        "composer.lock",
        "mix.lock",
        "flake.lock",
        "pubspec.lock",
        "Podfile.lock",
        "Package.resolved",
        "packages.lock.json",
        "gradle.lockfile",
        "conan.lock",
    }
)

# A path with one of these as a folder anywhere in it is vendored (third-party code kept in the repo).
DEFAULT_VENDORED_DIRS: tuple[str, ...] = (
    "vendor",
    "vendors",
    "vendored",
    "_vendor",
    "extern",
    "externals",
    "Godeps",
    "third_party",
    "third-party",
    "thirdparty",
    "node_modules",
    "bower_components",
)

# Matched against the file name, or against the whole path when the pattern holds a "/".
DEFAULT_GENERATED_GLOBS: tuple[str, ...] = (
    "*.min.js",
    "*.min.css",
    "*.min.mjs",
    "*.js.map",
    "*.css.map",
    "*_pb2.py",
    "*_pb2.pyi",
    "*_pb2_grpc.py",
    "*.pb.go",
    "*.pb.cc",
    "*.pb.h",
    "*.pb.swift",
    "*.generated.*",
    "*_generated.*",
    "*.g.dart",
    "*.freezed.dart",
)

# Searched (case-insensitively) in the first ``header_lines`` lines of the file.
DEFAULT_GENERATED_MARKERS: tuple[str, ...] = (
    r"@generated\b",
    r"\bdo not edit\b",
    r"\bauto-?generated\b",
    r"\bautomatically generated\b",
    r"\bcode generated\b",
    r"\bgenerated (?:by|from|with|using)\b",
)

_WHITESPACE = b" \t\n\r\v\f"
_ASCII_ALNUM = re.compile(rb"[A-Za-z0-9]")


def normalize(line: bytes) -> bytes:
    """The line with every whitespace byte removed: what ``git blame -w`` compares."""
    return line.translate(None, _WHITESPACE)


def meaningful(line: bytes) -> bool:
    """True when the line holds a letter or a digit (any script); blank and punctuation lines don't."""
    if _ASCII_ALNUM.search(line):
        return True
    if line.isascii():
        return False
    text = line.decode("utf-8", "surrogateescape")
    # A byte that is not UTF-8 (say Latin-1 text) cannot be judged: it counts as a character.
    return any(ch.isalnum() or "\udc80" <= ch <= "\udcff" for ch in text)


def line_hash(line: bytes) -> str:
    """Fingerprint of one line: blake2b (8 bytes, hex) of the normalized line."""
    return hashlib.blake2b(normalize(line), digest_size=8).hexdigest()


def line_hash_int(line: bytes) -> int:
    """:func:`line_hash` as a 64-bit integer (what :func:`line_hashes` gives for each line)."""
    return int.from_bytes(hashlib.blake2b(normalize(line), digest_size=8).digest(), "big")


def line_hashes(text: bytes) -> array[int]:
    """For each line of ``text``, its :func:`line_hash` as a 64-bit integer (``int(hex, 16)``),
    or 0 for a blank line. Compact (8 bytes a line): fit for caching by blob.

    Lines of only punctuation get a hash too: looking them up among the hashes of meaningful
    lines never finds them (the same normalized bytes are equally meaningful), so the test is
    left out here, where every line of many files is hashed.
    """
    blake2b = hashlib.blake2b
    from_bytes = int.from_bytes
    found = array("Q")
    append = found.append
    for line in text.split(b"\n"):
        norm = line.translate(None, _WHITESPACE)
        append(from_bytes(blake2b(norm, digest_size=8).digest(), "big") if norm else 0)
    return found


@dataclass(frozen=True)
class FileFilter:
    """Which files count. Every field has a default; pass your own lists to change them."""

    lock_files: frozenset[str] = DEFAULT_LOCK_FILES
    vendored_dirs: tuple[str, ...] = DEFAULT_VENDORED_DIRS
    generated_globs: tuple[str, ...] = DEFAULT_GENERATED_GLOBS
    generated_markers: tuple[str, ...] = DEFAULT_GENERATED_MARKERS
    vendored_globs: tuple[str, ...] = ()  # paths left out as vendored (``[survival] vendored``)
    extra_generated: tuple[str, ...] = ()  # paths left out as generated (``[survival] generated``)
    header_lines: int = 5  # how many first lines are searched for a generated marker
    binary_probe: int = 8000  # a NUL byte in this many first bytes makes the file binary (as git)
    _markers: re.Pattern[bytes] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = "|".join(f"(?:{m})" for m in self.generated_markers)
        compiled = re.compile(pattern.encode(), re.IGNORECASE) if pattern else None
        object.__setattr__(self, "_markers", compiled)

    def path_reason(self, path: str) -> str | None:
        """Why ``path`` is left out by its name alone ("lock file", "vendored", "generated"), or None."""
        parts = path.split("/")
        name = parts[-1]
        if name in self.lock_files:
            return "lock file"
        vendored = set(self.vendored_dirs)
        if any(part in vendored for part in parts[:-1]):
            return "vendored"
        if any(_glob(path, glob) for glob in self.vendored_globs):
            return "vendored"
        if any(_glob(path, glob) for glob in self.extra_generated):
            return "generated"
        for glob in self.generated_globs:
            if fnmatchcase(path if "/" in glob else name, glob):
                return "generated"
        return None

    def content_reason(self, head: bytes) -> str | None:
        """Why a file whose content starts with ``head`` is left out ("binary", "generated"), or None."""
        if b"\0" in head[: self.binary_probe]:
            return "binary"
        if self._markers is not None and self.header_lines > 0:
            first = b"\n".join(head.split(b"\n", self.header_lines)[: self.header_lines])
            if self._markers.search(first):
                return "generated"
        return None

    def signature(self) -> str:
        """A short stable name for this configuration (stored with fingerprints)."""
        data = json.dumps(
            [
                sorted(self.lock_files),
                list(self.vendored_dirs),
                list(self.generated_globs),
                list(self.generated_markers),
                list(self.vendored_globs),
                list(self.extra_generated),
                self.header_lines,
                self.binary_probe,
            ]
        )
        return hashlib.blake2b(data.encode(), digest_size=6).hexdigest()


def _glob(path: str, glob: str) -> bool:
    """A setting's glob: against the whole path (``*`` crosses folders), or the file name when it
    has no "/"; a glob ending in "/" (or "/**") is a folder and everything under it."""
    glob = glob.strip()
    if glob.endswith("/**"):
        glob = glob[:-2]
    if glob.endswith("/"):
        return path.startswith(glob) or fnmatchcase(path, glob + "*")
    if "/" not in glob:
        return fnmatchcase(path.rsplit("/", 1)[-1], glob)
    return fnmatchcase(path, glob)


# Git attributes that leave a file out: linguist's own (what GitHub uses to hide vendored and
# generated files from a repository's statistics and diffs) and "-diff" (git shows no diff of it).
_ATTRIBUTES = (("linguist-vendored", "vendored"), ("linguist-generated", "generated"), ("diff", "not diffed"))


def attribute_reasons(runner: "GitRunner", paths: list[str]) -> dict[str, str]:
    """Why each of ``paths`` is left out by the repository's git attributes (``.gitattributes`` of
    the checkout and ``info/attributes``): ``linguist-vendored``, ``linguist-generated`` set
    (true), or ``-diff``; the others are not in the answer."""
    if not paths:
        return {}
    out = runner.run(
        "check-attr", "-z", "--stdin", *(name for name, _ in _ATTRIBUTES),
        input="".join(f"{p}\0" for p in paths).encode("utf-8", "surrogateescape"),
    )
    tokens = out.decode("utf-8", "surrogateescape").split("\0")
    reasons: dict[str, str] = {}
    words = dict(_ATTRIBUTES)
    for i in range(0, len(tokens) - 2, 3):
        path, name, value = tokens[i], tokens[i + 1], tokens[i + 2]
        if path in reasons:
            continue
        if name == "diff" and value == "unset":
            reasons[path] = words[name]
        elif name != "diff" and value in ("set", "true"):
            reasons[path] = words[name]
    return reasons
