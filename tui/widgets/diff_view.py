"""A read-only view of one file's unified diff: line numbers, +/− colours and syntax colours.

Built on Textual's line API (like ``Log``): only the lines on screen are rendered, so a diff of
thousands of lines costs nothing until it is scrolled to. Code is coloured by the lexer that
pygments guesses from the file's name, one block of lines at a time (new-side and old-side
lines lexed separately, so multi-line strings and comments mostly come out right), and only for
blocks that are shown.

The colours of added/removed/hunk/header lines and the gutter are component classes
(``diff-view--added`` ...), styled in the screen's ``.tcss``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax, SyntaxTheme
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

BLOCK = 256  # lines lexed together
TAB = 4
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")

# kinds of line
META, HUNK, ADDED, REMOVED, CONTEXT, NOTE, MESSAGE = "meta", "hunk", "added", "removed", "context", "note", "message"
_COMPONENT = {
    META: "diff-view--meta", HUNK: "diff-view--hunk", ADDED: "diff-view--added",
    REMOVED: "diff-view--removed", NOTE: "diff-view--note", MESSAGE: "diff-view--message",
}


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str
    text: str  # as shown (marker included), tabs expanded, control characters replaced
    old: int | None  # line number on the old side
    new: int | None  # line number on the new side


def parse_diff(diff: str) -> list[DiffLine]:
    """The lines of one file's unified diff, each with its kind and line numbers."""
    lines: list[DiffLine] = []
    in_hunks = False
    old = new = 0
    rows = diff.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    for raw in rows:
        raw = raw.removesuffix("\r")
        text = _CONTROL.sub("\ufffd", raw.expandtabs(TAB))
        if raw.startswith("@@"):
            in_hunks = True
            found = _HUNK.match(raw)
            if found:
                old, new = int(found.group(1)), int(found.group(2))
            lines.append(DiffLine(HUNK, text, None, None))
        elif not in_hunks or raw.startswith("diff --git "):
            in_hunks = False
            lines.append(DiffLine(META, text, None, None))
        elif raw.startswith("+"):
            lines.append(DiffLine(ADDED, text, None, new))
            new += 1
        elif raw.startswith("-"):
            lines.append(DiffLine(REMOVED, text, old, None))
            old += 1
        elif raw.startswith("\\"):
            lines.append(DiffLine(NOTE, text, None, None))
        else:
            lines.append(DiffLine(CONTEXT, text, old, new))
            old += 1
            new += 1
    return lines


@lru_cache(maxsize=256)
def lexer_for(path: str) -> Lexer | None:
    """The pygments lexer for a file name, or None (plain text)."""
    name = path.rsplit("/", 1)[-1]
    try:
        return get_lexer_for_filename(name, stripnl=False, stripall=False, ensurenl=False)
    except ClassNotFound:
        return None
    except Exception:  # a lexer plugin that breaks must not break the review
        return None


def _plain_style(style: Style) -> Style:
    """A token's colour without the theme's background (the diff colours the background)."""
    return Style(color=style.color, bold=style.bold, italic=style.italic, underline=style.underline)


class DiffView(ScrollView, can_focus=True):
    """Shows one file's diff (:meth:`show_diff`) or a one-line message (:meth:`show_message`)."""

    COMPONENT_CLASSES = {
        "diff-view--meta", "diff-view--hunk", "diff-view--added", "diff-view--removed",
        "diff-view--note", "diff-view--message", "diff-view--gutter",
    }

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.path = ""
        self.lines: list[DiffLine] = []
        self._lexer: Lexer | None = None
        self._gutter_digits = 0
        self._code: dict[int, Text] = {}  # line index -> coloured code (without marker)
        self._blocks_done: set[int] = set()
        self._strips: LRUCache[int, tuple[Strip, Strip]] = LRUCache(1024)
        self._token_styles: dict[_TokenType, Style] = {}
        self._theme: SyntaxTheme | None = None

    # ------------------------------------------------------------------------------ content
    def show_diff(self, path: str, diff: str) -> None:
        """Show ``diff`` (one file's part of a unified diff) of the file at ``path``."""
        lines = parse_diff(diff)
        if not lines:
            self.show_message("no changes in this file", path)
            return
        self._load(path, lines, lexer_for(path))

    def show_message(self, message: str, path: str = "") -> None:
        """Show one line of text instead of a diff (a binary file, loading, an error)."""
        self._load(path, [DiffLine(MESSAGE, message, None, None)], None)

    def _load(self, path: str, lines: list[DiffLine], lexer: Lexer | None) -> None:
        self.path = path
        self.lines = lines
        self._lexer = lexer
        numbers = [n for line in lines for n in (line.old, line.new) if n is not None]
        self._gutter_digits = len(str(max(numbers))) if numbers else 0
        self._code.clear()
        self._blocks_done.clear()
        self._strips.clear()
        width = max((cell_len(line.text) for line in lines), default=0) + 1
        self.virtual_size = Size(self.gutter_width + width, len(lines))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    @property
    def gutter_width(self) -> int:
        return 2 * self._gutter_digits + 3 if self._gutter_digits else 0

    @property
    def highlighted_lines(self) -> int:
        """How many lines have been syntax-coloured so far (only blocks that were shown are)."""
        return len(self._code)

    def text_lines(self) -> list[str]:
        return [line.text for line in self.lines]

    # ------------------------------------------------------------------------------ styles
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._code.clear()
        self._blocks_done.clear()
        self._token_styles.clear()
        self._theme = None

    def _token_style(self, token_type: _TokenType) -> Style:
        style = self._token_styles.get(token_type)
        if style is None:
            if self._theme is None:
                dark = self.app.current_theme.dark
                self._theme = Syntax.get_theme("monokai" if dark else "default")
            style = self._token_styles[token_type] = _plain_style(self._theme.get_style_for_token(token_type))
        return style

    def _highlight_block(self, block: int) -> None:
        self._blocks_done.add(block)
        lexer = self._lexer
        if lexer is None:
            return
        indices = range(block * BLOCK, min(len(self.lines), (block + 1) * BLOCK))
        new_side = [i for i in indices if self.lines[i].kind in (CONTEXT, ADDED)]
        old_side = [i for i in indices if self.lines[i].kind in (CONTEXT, REMOVED)]
        for side, keep in ((new_side, (CONTEXT, ADDED)), (old_side, (REMOVED,))):
            if not side:
                continue
            codes = [self.lines[i].text[1:] for i in side]
            coloured = self._lex(lexer, codes)
            for i, code, text in zip(side, codes, coloured):
                if self.lines[i].kind in keep and text.plain == code:
                    self._code[i] = text

    def _lex(self, lexer: Lexer, codes: list[str]) -> list[Text]:
        texts = [Text() for _ in codes]
        row = 0
        try:
            for token_type, value in lexer.get_tokens("\n".join(codes) + "\n"):
                style = self._token_style(token_type)
                pieces = value.split("\n")
                for n, piece in enumerate(pieces):
                    if n:
                        row += 1
                    if piece and row < len(texts):
                        texts[row].append(piece, style)
        except Exception:  # a lexer that chokes leaves the lines plain
            return [Text(code) for code in codes]
        return texts

    # ------------------------------------------------------------------------------ render
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, base)
        gutter, content = self._line_strips(index, base)
        line_style = self._kind_style(self.lines[index].kind, base)
        content_width = max(0, width - gutter.cell_length)
        content = content.crop_extend(scroll_x, scroll_x + content_width, line_style)
        return Strip.join([gutter, content]).apply_offsets(scroll_x, index)

    def _kind_style(self, kind: str, base: Style) -> Style:
        """The whole style of a line of this kind (its component's, over the widget's)."""
        component = _COMPONENT.get(kind)
        if component is None:
            return base
        return base + self.get_component_rich_style(component, default=Style())

    def _line_strips(self, index: int, base: Style) -> tuple[Strip, Strip]:
        cached = self._strips.get(index)
        if cached is not None:
            return cached
        line = self.lines[index]
        line_style = self._kind_style(line.kind, base)
        console = self.app.console
        if self._gutter_digits:
            digits = self._gutter_digits
            old = "" if line.old is None else str(line.old)
            new = "" if line.new is None else str(line.new)
            gutter_style = base + self.get_component_rich_style("diff-view--gutter", default=Style())
            gutter = Strip([Segment(f"{old:>{digits}} {new:>{digits}} \u2502", gutter_style)], self.gutter_width)
        else:
            gutter = Strip([], 0)
        if line.kind in (CONTEXT, ADDED, REMOVED):
            block = index // BLOCK
            if block not in self._blocks_done:
                self._highlight_block(block)
            code = self._code.get(index)
            text = Text(line.text[:1])
            if code is not None:
                text.append_text(code)
            else:
                text.append(line.text[1:])
        else:
            text = Text(line.text)
        text.stylize_before(line_style)
        text.no_wrap = True
        text.end = ""
        segments = list(text.render(console))
        content = Strip(segments, cell_len(line.text))
        self._strips[index] = (gutter, content)
        return gutter, content
