"""Wrapping log lines to a pane's width: every row fits, nothing is lost or reordered."""
from __future__ import annotations

from hypothesis import given, strategies as st
from rich.cells import cell_len

from tui.line_wrap import CONTINUATION, MIN_WIDTH, wrap_line, wrap_lines

# ASCII, accented letters, CJK (two cells each), emoji, tabs
TEXT = st.text(st.sampled_from(list("abc xyz-_=/.:") + ["é", "ü", "日", "本", "語", "🙂", "\t"]), max_size=300)


def unwrap(rows: list[str]) -> str:
    assert all(row.startswith(CONTINUATION) for row in rows[1:])
    return rows[0] + "".join(row[len(CONTINUATION):] for row in rows[1:])


@given(TEXT, st.integers(MIN_WIDTH, 120))
def test_rows_fit_and_give_back_the_line(line: str, width: int) -> None:
    rows = wrap_line(line, width)
    assert all(cell_len(row) <= width for row in rows)
    assert unwrap(rows) == line.expandtabs(8)


@given(st.lists(TEXT, max_size=20), st.integers(MIN_WIDTH, 120))
def test_lines_keep_their_order(lines: list[str], width: int) -> None:
    assert wrap_lines(lines, width) == [row for line in lines for row in wrap_line(line, width)]


def test_examples() -> None:
    assert wrap_lines(["short", "x" * 25], 10) == ["short", "x" * 10, "  " + "x" * 8, "  " + "x" * 7]
    assert wrap_line("日本語のテキスト", 9) == ["日本語の", "  テキス", "  ト"]
    assert wrap_line("a\tb", 8) == ["a       ", "  b"]
    assert wrap_lines(["x" * 50], MIN_WIDTH - 1) == ["x" * 50]  # not laid out yet: left whole
