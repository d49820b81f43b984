"""Markdown import of session summaries (the format that :mod:`sessions.summary.model` holds).

``parse_markdown`` reads the layout of ``sessions.summary.export`` and what people make of it:

* sections (``##``) in any order, found by keywords in their heading, so headings may carry extra
  words ("## Files Changed (git)"); the Collaboration Assessment subsections (``###``) may also
  stand as ``##`` sections of their own;
* sections it does not know (and a second copy of one it does) are kept verbatim as
  ``ExtraSection``s with the place they stood, and written back there unchanged; so is text inside
  a known section that no field takes (``SessionSummary.loose_text``). Text before the title is
  kept as it is; the North Star section and the checklist's fixed wording are regenerated;
* blank values, ``[x]``/``[X]``/``[ ]``, CRLF or CR line endings, a UTF-8 BOM, tables with
  missing or padded cells, columns in another order (matched by header), escaped pipes ``\\|``;
* date and session number from the Metadata bullets, else from the title, else from a file name
  ``summaryYYYYMMDD.N.md``.

A section's text is its body without surrounding blank lines and without the closing ``---``.
Headings inside fenced code blocks are not headings. What is not kept: words added to the title
after the date and session number, unknown table columns, a second ticked outcome.

Errors: ``SummaryFormatError(source, reason, line)``; ``str()`` is one line,
``"<source>: line N: <reason>"``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sessions.summary.model import (
    ANCHORS,
    CHANGE_TYPES,
    STATUSES,
    ExtraSection,
    FileChangeRow,
    Intervention,
    SessionSummary,
)

__all__ = [
    "SummaryFormatError",
    "load_summary",
    "parse_markdown",
    "section_key",
]


class SummaryFormatError(ValueError):
    """A file is not a session summary; ``str()`` names the file (and line) and the reason."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source, self.reason, self.line = source, reason, line
        where = f"{source}: line {line}" if line else source
        super().__init__(f"{where}: {reason}")


_STATUS_WORDS = {"active": "active", "in progress": "active", "complete": "complete",
                 "completed": "complete", "blocked": "blocked", "abandoned": "abandoned"}

# Section keys by heading keywords, first match wins (heading lower-cased, apostrophes dropped).
_SECTIONS = (
    ("north_star", r"north star|effective work rate"),
    ("checklist", r"completeness|checklist"),
    ("metadata", r"metadata"),
    ("objective", r"objective"),
    ("previous", r"previous session|previous outcome|last session"),
    ("work_completed", r"work completed|completed work"),
    ("files_changed", r"files? changed|changed files"),
    ("collaboration", r"collaboration"),
    ("interventions", r"intervention"),
    ("what_didnt", r"didn ?t work|did not work|what didn ?t"),
    ("what_worked", r"what worked|worked well"),
    ("rating", r"rating"),
    ("technical_notes", r"technical notes"),
    ("next_priorities", r"next session|priorities"),
    ("usage", r"\busage\b"),
)
_SUBSECTIONS = ("interventions", "what_worked", "what_didnt", "rating")
_TEXT_SECTIONS = ("objective", "work_completed", "what_worked", "what_didnt", "technical_notes",
                  "next_priorities")
_CHECK_KEYS = (  # checklist key by label keywords, first match wins
    ("metadata", r"metadata"), ("objective", r"objective"),
    ("deliverables", r"work completed|deliverable"), ("files_table", r"files? changed"),
    ("end_commit", r"end commit"), ("status", r"status"), ("previous", r"previous"),
    ("interventions", r"intervention"), ("rating", r"rating"), ("worked", r"worked|didn"),
    ("technical", r"technical"), ("priorities", r"priorit"),
)
_OUTCOME_KEYS = (
    ("too-early", r"too early"), ("na", r"\bn/?a\b|not applicable|first session"),
    ("not-used", r"not used|unused"), ("partially", r"partial"), ("fully", r"\bfull"),
)

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_CHECKBOX = re.compile(r"^\s*[-*+]\s+\[([ xX])\]\s?(.*)$")
_BOLD_FIELD = re.compile(r"^\s*(?:[-*+]\s+)?\*\*(?P<key>[^*]+?)\*\*(?P<value>.*)$")
_PLAIN_FIELD = re.compile(r"^\s*(?:[-*+]\s+)?(?P<key>[A-Za-z][A-Za-z #()/]{0,30}?)\s*:(?P<value>.*)$")
# Token counts some of whose tasks' agents reported none: "unknown (2 tasks)", "≥ 1200 (2 tasks unknown)".
_TOKENS_UNKNOWN = re.compile(r"unknown\s*\(\s*([\d,]+)\s+tasks?\s*\)", re.IGNORECASE)
_TOKENS_FLOOR = re.compile(r"(?:≥|>=)\s*(\S+)\s*\(\s*([\d,]+)\s+tasks?\s+unknown\s*\)", re.IGNORECASE)
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_FILE_NAME = re.compile(r"^summary(\d{4})(\d{2})(\d{2})\.(\d+)\.md$", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_OTHER_DATE = re.compile(r"\b\d{1,4}[/.]\d{1,2}[/.]\d{1,4}\b")
_TITLE = re.compile(r"\s*session\s+summary\b", re.IGNORECASE)
_NONE_NOTE = re.compile(r"^\W*(?:none|no interventions?)\b", re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"['\u2019`]", "", text.lower()).replace("_", " ").split())


def _lookup(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    norm = _norm(text)
    return next((key for key, pattern in table if re.search(pattern, norm)), None)


def section_key(heading: str) -> str | None:
    """The known section a heading names ("Files Changed (git)" → "files_changed"), else None."""
    return _lookup(_SECTIONS, heading)


@dataclass
class _Block:
    level: int  # 0 = text before the first heading
    heading: str
    lineno: int  # 1-based line of the heading (of the first line for level 0)
    body: list[str]


def _split(lines: list[str], first_lineno: int, max_level: int) -> list[_Block]:
    """Cut lines at headings of level <= max_level (not inside code fences)."""
    blocks = [_Block(0, "", first_lineno, [])]
    fence: str | None = None
    for n, line in enumerate(lines, first_lineno):
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip().lstrip(fence[0]):
                fence = None
        elif m:
            fence = m.group(1)
        else:
            h = _HEADING.match(line)
            if h and len(h.group(1)) <= max_level:
                blocks.append(_Block(len(h.group(1)), h.group(2), n, []))
                continue
        blocks[-1].body.append(line)
    return blocks


def _trim(lines: list[str], rule: bool = True) -> str:
    """Body text: no blank lines around it and (with ``rule``) no closing ``---``."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    if rule and end > start and _RULE.match(lines[end - 1]):
        end -= 1
        while end > start and not lines[end - 1].strip():
            end -= 1
    return "\n".join(lines[start:end])


def _field_of(line: str) -> tuple[str, str] | None:
    """``(key, value)`` of ``- **Key:** value`` (bold or plain), key normalised, value stripped."""
    m = _BOLD_FIELD.match(line) or _PLAIN_FIELD.match(line)
    if not m:
        return None
    key, value = m.group("key").strip(), m.group("value").strip()
    if m.re is _BOLD_FIELD and not key.endswith(":") and value.startswith(":"):  # **Key**: value
        value = value[1:].strip()
    return _norm(key.rstrip(":").rstrip("#")), value


def _cells(line: str) -> list[str]:
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(text)]


def _unquote(cell: str) -> str:
    n = len(cell) - len(cell.lstrip("`"))
    if n and len(cell) > 2 * n and cell.endswith("`" * n):
        inner = cell[n:-n]
        return inner.strip() if n > 1 else inner
    return cell


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.s = SessionSummary()
        self.loose: dict[str, str] = {}
        self.seen: set[str] = set()
        self.title_date: date | None = None
        self.title_day: int | None = None

    def fail(self, reason: str, line: int | None = None) -> SummaryFormatError:
        return SummaryFormatError(self.source, reason, line)

    # -- values

    def date_value(self, value: str, line: int | None, what: str = "date") -> date | None:
        m = _ISO_DATE.search(value)
        if m is None:
            if not value.strip() or value.strip("_-. ") == "":
                return None
            raise self.fail(f"unparseable {what} {value.strip()!r} (expected YYYY-MM-DD)", line)
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise self.fail(f"unparseable {what} {m.group(0)!r} (no such day)", line) from None

    def int_value(self, value: str, line: int, what: str, none_words: bool = False) -> int | None:
        v = value.strip().strip("`*").replace(",", "").replace("_", "")
        if not v:
            return None
        if none_words and v.lower() in ("none", "no", "zero"):
            return 0
        m = re.match(r"#?\s*(\d+)\b", v)
        if not m:
            raise self.fail(f"{what} {value.strip()!r} is not a number", line)
        return int(m.group(1))

    def tokens_value(self, value: str, line: int) -> int | None:
        """``1200``, ``~1200`` (rounded by an agent), ``≥ 1200 (2 tasks unknown)`` or ``unknown (2 tasks)``
        (agents that reported none): the count, and what it says of the counts on the summary."""
        v = value.strip().strip("`*").strip()
        m = _TOKENS_UNKNOWN.fullmatch(v)
        if m:
            self.s.tokens_unknown = max(self.s.tokens_unknown, int(m.group(1).replace(",", "")))
            return 0
        m = _TOKENS_FLOOR.fullmatch(v)
        if m:
            self.s.tokens_unknown = max(self.s.tokens_unknown, int(m.group(2).replace(",", "")))
            v = m.group(1)
        if v.startswith("~"):
            self.s.tokens_approximate = True
            v = v[1:]
        return self.int_value(v, line, "token count")

    def rating_value(self, value: str, line: int) -> int | None:
        v = value.strip().strip("*").strip()
        if not v or re.fullmatch(r"[_\-?. ]*/\s*5", v):
            return None
        m = re.match(r"(\d+)(?:\s*/\s*(\d+))?(?![\d.,])", v)
        if not m or not 1 <= int(m.group(1)) <= 5 or (m.group(2) and m.group(2) != "5"):
            raise self.fail(f"rating {v!r} is not 1-5", line)
        return int(m.group(1))

    # -- sections

    def title(self, block: _Block) -> None:
        rest = block.heading[_TITLE.match(block.heading).end():]  # type: ignore[union-attr]
        other = _OTHER_DATE.search(rest)
        if _ISO_DATE.search(rest):
            self.title_date = self.date_value(rest, block.lineno, "date in title")
        elif other:
            raise self.fail(f"unparseable date in title {other.group(0)!r} (expected YYYY-MM-DD)",
                            block.lineno)
        m = re.search(r"\bsession\s*#?\s*(\d+)", rest, re.IGNORECASE)
        self.title_day = int(m.group(1)) if m else None
        self.keep_loose("title", block.body)

    def keep_loose(self, key: str, lines: list[str], rule: bool = True) -> None:
        text = _trim(lines, rule)
        if text:
            self.loose[key] = text

    def metadata(self, block: _Block) -> None:
        s, rest = self.s, []
        for n, line in enumerate(block.body, block.lineno + 1):
            f = _field_of(line)
            key, value = f if f else ("", "")
            if key == "date":
                s.date = self.date_value(value, n)
            elif key in ("session", "session #", "session number", "session of day"):
                s.day_number = self.int_value(value, n, "session number")
            elif key in ("start commit", "start", "base commit"):
                s.start_commit = _unquote(value)
            elif key in ("end commit", "end"):
                s.end_commit = _unquote(value)
            elif key == "status":
                s.status = self.status_value(value, n)
            elif not _RULE.match(line):
                rest.append(line)
        self.keep_loose("metadata", rest)

    def status_value(self, value: str, line: int) -> str | None:
        v = _norm(value.strip("*`"))
        if not v:
            return None
        for word, status in sorted(_STATUS_WORDS.items(), key=lambda kv: -len(kv[0])):
            if v == word or v.startswith(word + " ") or v.startswith(word + "("):
                return status
        names = ", ".join(x.capitalize() for x in STATUSES)
        raise self.fail(f"status {value.strip()!r} is not one of {names}", line)

    def previous(self, block: _Block) -> None:
        s, rest = self.s, []
        for n, line in enumerate(block.body, block.lineno + 1):
            box = _CHECKBOX.match(line)
            f = None if box else _field_of(line)
            if box:
                key = _lookup(_OUTCOME_KEYS, box.group(2))
                if key is None:
                    rest.append(line)
                elif box.group(1) != " " and s.previous_outcome is None:
                    s.previous_outcome = key
            elif f and f[0] in ("last session", "previous session", "session"):
                s.previous_session = f[1]
            elif f and f[0] == "outcome":
                if f[1]:
                    s.previous_outcome = _lookup(_OUTCOME_KEYS, f[1])
                    if s.previous_outcome is None:
                        raise self.fail(f"unknown previous-session outcome {f[1]!r}", n)
            elif not _RULE.match(line):
                rest.append(line)
        self.keep_loose("previous", rest)

    def checklist(self, block: _Block) -> None:
        states: dict[str, bool] = {}
        for line in block.body:
            box = _CHECKBOX.match(line)
            key = _lookup(_CHECK_KEYS, box.group(2)) if box else None
            if box and key and key not in states:
                states[key] = box.group(1) != " "
        self.s.checklist = states

    def table(self, block: _Block, columns: dict[str, str], order: tuple[str, ...],
              ) -> tuple[list[dict[str, str]], list[tuple[int, str]]]:
        """Rows of the tables in a block (field → cell) and the numbered lines that are no table.

        Columns are matched by header keywords; a header cell that matches none takes the field
        of its position in ``order``. Rows with no text at all are skipped."""
        rows: list[dict[str, str]] = []
        rest: list[tuple[int, str]] = []
        fields: list[str] = []
        state = "out"  # out | header (just read a header row) | rows
        for n, line in enumerate(block.body, block.lineno + 1):
            if not line.strip().startswith("|"):
                state = "out"
                rest.append((n, line))
                continue
            cells = _cells(line)
            if state == "out":
                found = [_lookup(tuple(columns.items()), c) for c in cells]
                fields = [f or (order[i] if i < len(order) and order[i] not in found else "")
                          for i, f in enumerate(found)]
                state = "header"
                continue
            if state == "header" and all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                state = "rows"
                continue
            state = "rows"
            if any(cells):
                rows.append({f: c for f, c in zip(fields, cells, strict=False) if f})
        return rows, rest

    def files_changed(self, block: _Block) -> None:
        columns = {"path": r"file|path", "change_type": r"change|type|status", "lines": r"line"}
        rows, rest = self.table(block, columns, ("path", "change_type", "lines"))
        for row in rows:
            change = row.get("change_type", "")
            if change.lower() in CHANGE_TYPES:
                change = change.lower()
            self.s.files_changed.append(
                FileChangeRow(_unquote(row.get("path", "")), change, row.get("lines", "")))
        self.keep_loose("files_changed", [line for _, line in rest if not _RULE.match(line)])

    def interventions(self, block: _Block) -> None:
        s = self.s
        columns = {"when": r"when|time", "what": r"what|happened|description", "type": r"type|kind"}
        rows, rest = self.table(block, columns, ("when", "what", "type"))
        s.interventions += [Intervention(r.get("when", ""), r.get("what", ""), r.get("type", ""))
                            for r in rows]
        other = []
        for n, line in rest:
            f = _field_of(line)
            if f and f[0] in ("intervention count", "interventions", "count"):
                s.intervention_count = self.int_value(f[1], n, "intervention count", none_words=True)
            elif not _RULE.match(line):
                other.append(line)
        self.keep_loose("interventions", other)
        if not s.interventions and s.intervention_count is None \
                and any(_NONE_NOTE.match(line) for line in other):
            s.intervention_count = 0

    def rating(self, block: _Block) -> None:
        rest: list[str] = []
        for i, line in enumerate(block.body):
            n = block.lineno + 1 + i
            f = _field_of(line)
            if f and f[0] == "rating":
                self.s.rating = self.rating_value(f[1], n)
            elif f and f[0] == "notes":
                self.s.rating_notes = _trim([f[1]] + block.body[i + 1:])
                break
            elif not _RULE.match(line):
                rest.append(line)
        self.keep_loose("rating", rest)

    def usage(self, block: _Block) -> None:
        s, rest = self.s, []
        for n, line in enumerate(block.body, block.lineno + 1):
            f = _field_of(line)
            key, value = f if f else ("", "")
            if key in ("tokens in", "input tokens"):
                s.tokens_in = self.tokens_value(value, n)
            elif key in ("tokens out", "output tokens"):
                s.tokens_out = self.tokens_value(value, n)
            elif key.startswith("cost"):
                v = value.replace("$", "").replace(",", "").strip()
                if re.fullmatch(r"\d+(?:\.\d+)?", v):
                    s.cost_usd = float(v)
                elif v:
                    raise self.fail(f"cost {value!r} is not a number", n)
            elif not _RULE.match(line):
                rest.append(line)
        self.keep_loose("usage", rest)

    def section(self, key: str, block: _Block) -> None:
        if key in _TEXT_SECTIONS:  # free Markdown, kept verbatim
            setattr(self.s, key, _trim(block.body))
            return
        handlers = {
            "checklist": self.checklist, "metadata": self.metadata, "previous": self.previous,
            "files_changed": self.files_changed, "collaboration": self.collaboration,
            "interventions": self.interventions, "rating": self.rating, "usage": self.usage,
        }
        if key in handlers:  # the North Star text is fixed: nothing to read
            handlers[key](block)

    def collaboration(self, block: _Block) -> None:
        parts = _split(block.body, block.lineno + 1, 3)
        self.keep_loose("collaboration", parts[0].body)
        anchor = "collaboration:start"
        for sub in parts[1:]:
            key = _lookup(_SECTIONS, sub.heading) if sub.level == 3 else None
            if key not in _SUBSECTIONS or key in self.seen:
                self.s.extra_sections.append(
                    ExtraSection(sub.heading, _trim(sub.body), sub.level, anchor))
                continue
            assert key is not None
            self.seen.add(key)
            self.section(key, sub)
            anchor = f"collaboration:{key}"

    def run(self, text: str) -> SessionSummary:
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        blocks = _split(text.split("\n"), 1, 2)
        s = self.s
        self.keep_loose("start", blocks[0].body, rule=False)
        title = next((b for b in blocks[1:] if b.level == 1 and _TITLE.match(b.heading)), None)
        anchor = "start"
        for block in blocks[1:]:
            if block is title:
                self.title(block)
                anchor = "title"
                continue
            key = _lookup(_SECTIONS, block.heading) if block.level == 2 else None
            if key is None or key in self.seen:
                s.extra_sections.append(
                    ExtraSection(block.heading, _trim(block.body), block.level, anchor))
                continue
            self.seen.add(key)
            self.section(key, block)
            anchor = "collaboration" if key in _SUBSECTIONS else key
        if title is None and not self.seen:
            raise self.fail("not a session summary (no '# Session Summary' title and no known section)")
        self.fill_from_name()
        s.extra_sections.sort(key=lambda e: ANCHORS.index(e.after))  # written order
        s.loose_text = self.loose
        return s

    def fill_from_name(self) -> None:
        s = self.s
        if s.date is None:
            s.date = self.title_date
        if s.day_number is None:
            s.day_number = self.title_day
        m = _FILE_NAME.match(os.path.basename(self.source))
        if m and s.date is None:
            s.date = self.date_value(f"{m.group(1)}-{m.group(2)}-{m.group(3)}", None, "date in file name")
        if m and s.day_number is None:
            s.day_number = int(m.group(4))
        if s.day_number is not None and not 1 <= s.day_number <= MAX_DAY_NUMBER:
            raise self.fail(f"session number {s.day_number} is out of range (1 to {MAX_DAY_NUMBER:,})", None)


MAX_DAY_NUMBER = 1_000_000  # sessions in one day: far more than anyone runs, far less than SQLite holds


def parse_markdown(text: str, source: str = "<string>") -> SessionSummary:
    """Read a summary; ``source`` names the file in errors and may give date and session number."""
    return _Parser(source).run(text)


def load_summary(path: str | os.PathLike[str]) -> SessionSummary:
    """Read a summary file (UTF-8); unreadable or undecodable files raise ``SummaryFormatError``."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SummaryFormatError(str(p), f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SummaryFormatError(str(p), exc.strerror or "cannot be read") from None
    return parse_markdown(text, str(p))
