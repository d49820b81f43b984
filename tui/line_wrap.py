"""Log lines cut into rows of a pane's width: a pane wraps its lines (the log view scrolls sideways).

A row is measured in terminal cells (a CJK character takes two, an emoji may too); a tab is expanded
first, as the log would show it. The rows after a line's first start with :data:`CONTINUATION`, so
that a wrapped line does not read as several.
"""
from __future__ import annotations

from typing import Iterable

from rich.cells import cell_len, chop_cells

CONTINUATION = "  "
MIN_WIDTH = 8  # narrower than this (a pane not laid out yet), lines are left whole


def wrap_lines(lines: Iterable[str], width: int) -> list[str]:
    """Each of ``lines`` as rows of at most ``width`` cells, in order."""
    if width < MIN_WIDTH:
        return list(lines)
    rows: list[str] = []
    for line in lines:
        if len(line) <= width and line.isascii() and "\t" not in line:  # the common case, at once
            rows.append(line)
        else:
            rows.extend(wrap_line(line, width))
    return rows


def wrap_line(line: str, width: int) -> list[str]:
    """One line as rows of at most ``width`` cells (``width`` at least :data:`MIN_WIDTH`)."""
    if "\t" in line:
        line = line.expandtabs(8)
    if cell_len(line) <= width:
        return [line]
    first = chop_cells(line, width)[0]
    rest = chop_cells(line[len(first):], width - len(CONTINUATION))
    return [first, *(CONTINUATION + row for row in rest)]
