"""Charts of the history's trends (textual-plotext): one x position per session, oldest first.

Five charts: on top, across the whole width, EWR(human) and EWR(git) as two lines on one chart, with a
red bar between the two values of each session where they disagree strongly; below, the rating (the
whole 1-5 scale), the interventions, the cost and the cost per surviving line. Session ``i`` (1 = the
oldest shown) sits at x = ``i`` on every chart, whatever its date: sessions of one day stand side by
side. The ticks name sessions by their label; a tick repeats the date only where the day changes
(``20261202.1  .2  .3  20261203.1``), and ticks are left out where their labels would not fit the
chart's width. Past :data:`MAX_POINTS` sessions, each point is the mean of a run of consecutive
sessions (a chart is some 60 cells wide: 10,000 points would only cost time and show nothing more);
the chart's title says how many sessions a point stands for.

:func:`series` and :func:`session_ticks` do the arithmetic and know nothing of Textual; the widgets draw.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from typing import Sequence

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

from engine.formatting import usd
from sessions.reports.history import TrendPoint

MAX_POINTS = 120  # per chart; more sessions than that are averaged in runs
Y_AXIS_CELLS = 7  # what plotext takes left of the plot for the y ticks and the frame


@dataclass(frozen=True)
class Line:
    field: str  # a TrendPoint attribute
    color: str
    label: str = ""  # in the legend when a chart has more than one line


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    lines: tuple[Line, ...]
    kind: str = "line"  # or "bar" (while there are few points)
    whole: bool = False  # counts: whole numbers on the y axis
    percent: bool = False  # a ratio in 0..1, shown as 0%..100%
    scale: tuple[int, int] | None = None  # a fixed scale of whole numbers (the rating's 1..5)
    disagreement: bool = False  # mark the sessions whose two values disagree


EWR = Chart("trend-ewr", "EWR per session: human (outcome) and git (survival)",
            (Line("ewr_human", "cyan", "human"), Line("ewr_git", "green", "git")), percent=True, disagreement=True)
CHARTS: tuple[Chart, ...] = (
    EWR,
    Chart("trend-rating", "Rating", (Line("rating", "yellow"),), kind="bar", scale=(1, 5)),
    Chart("trend-interventions", "Interventions per session", (Line("interventions", "magenta"),), kind="bar",
          whole=True),
    Chart("trend-cost", "Cost per session (USD)", (Line("cost_usd", "blue"),), kind="bar"),
    Chart("trend-cost-line", "Cost per surviving line (USD)", (Line("cost_per_surviving_line", "red"),)),
)


@dataclass(frozen=True)
class Series:
    xs: list[float]  # session positions, 1 = the oldest
    ys: list[float]
    per: int  # sessions behind each point (1: one point per session)
    sessions: int  # sessions with a value
    positions: int = 0  # x positions on the chart (sessions, or runs of ``per`` of them)


def series(points: Sequence[TrendPoint], field: str, max_points: int = MAX_POINTS) -> Series:
    """The points of one line: the sessions' ``field`` where known (means of runs of ``per``
    consecutive sessions when there are more than ``max_points``)."""
    n = len(points)
    per = max(1, ceil(n / max_points))
    xs: list[float] = []
    ys: list[float] = []
    known_total = 0
    for start in range(0, n, per):
        values = [getattr(p, field) for p in points[start:start + per]]
        known = [float(v) for v in values if v is not None]
        known_total += len(known)
        if known:
            xs.append(_position(start, len(values), per))
            ys.append(sum(known) / len(known))
    return Series(xs, ys, per, known_total, ceil(n / per))


def _position(start: int, size: int, per: int) -> float:
    """Where the run of sessions starting at index ``start`` sits: x = 1, 2, ... one per run."""
    return float(start // per + 1) if per > 1 else float(start + 1)


def session_ticks(points: Sequence[TrendPoint], width: int, max_points: int = MAX_POINTS
                  ) -> tuple[list[float], list[str]]:
    """The x ticks that fit a plot ``width`` cells wide: session labels, the date only where it changes.

    A tick is kept when its label starts at least one cell after the previous label ends; the first
    session always has one, with the date."""
    n = len(points)
    if not n:
        return [], []
    per = max(1, ceil(n / max_points))
    positions = ceil(n / per)
    cell = max(width, 1) / positions  # cells per x position
    ticks: list[float] = []
    labels: list[str] = []
    last_date = ""
    free_from = -1.0  # the first cell a new label may use
    for index in range(0, n, per):
        point = points[index]
        x = _position(index, 1, per)
        full = point.label
        short = "." + point.label.rsplit(".", 1)[-1] if "." in point.label else point.label
        text = full if point.date != last_date else short
        centre = (x - 0.5) * cell
        left = centre - len(text) / 2
        if ticks and left < free_from:
            continue
        ticks.append(x)
        labels.append(text)
        last_date = point.date
        free_from = left + len(text) + 1
    return ticks, labels


def disagreement_spans(points: Sequence[TrendPoint], max_points: int = MAX_POINTS) -> list[tuple[float, float, float]]:
    """(x, low, high) of each session whose human and git EWR disagree strongly (one point a session only)."""
    if len(points) > max_points:
        return []
    return [
        (float(i + 1), min(p.ewr_human, p.ewr_git), max(p.ewr_human, p.ewr_git))
        for i, p in enumerate(points)
        if p.disagreement and p.ewr_human is not None and p.ewr_git is not None
    ]


def _money_ticks(top: float) -> tuple[list[float], list[str]]:
    steps = [0, top / 2, top]
    digits = 4 if top < 0.1 else 2
    return steps, [usd(v, digits) for v in steps]


@dataclass
class Drawn:
    """What a chart shows: its lines' series, the x ticks, the disagreement bars."""

    lines: dict[str, Series] = field(default_factory=dict)
    ticks: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    disagreements: list[tuple[float, float, float]] = field(default_factory=list)


class TrendPlot(PlotextPlot):
    """One chart; it draws again at each render, so its ticks fit its width after a resize."""

    def __init__(self, chart: Chart) -> None:
        super().__init__(id=chart.id)
        self.chart = chart
        self.points: Sequence[TrendPoint] = ()
        self.drawn = Drawn()
        self.shown = False  # :meth:`show` was called

    def show(self, points: Sequence[TrendPoint]) -> None:
        self.points = points
        self.shown = True
        self.drawn = Drawn({line.field: series(points, line.field) for line in self.chart.lines})
        if self.chart.disagreement:
            self.drawn.disagreements = disagreement_spans(points)
        self.refresh()

    def render(self) -> RenderableType:
        self.drawn.ticks, self.drawn.labels = session_ticks(self.points, self.size.width - Y_AXIS_CELLS)
        self._draw()
        return super().render()

    def _draw(self) -> None:
        chart, drawn, plt = self.chart, self.drawn, self.plt
        plt.clear_figure()
        shown = [(line, drawn.lines[line.field]) for line in chart.lines if line.field in drawn.lines]
        per = max((s.per for _, s in shown), default=1)
        positions = max((s.positions for _, s in shown), default=0)
        title = chart.title
        if per > 1:
            title += f" · mean of every {per} sessions"
        if not any(s.xs for _, s in shown):
            title += " · none yet"
        if drawn.disagreements:
            title += f" · ┃ {len(drawn.disagreements)} disagree"
        plt.title(title)
        legend = len(chart.lines) > 1
        few = positions <= 40
        for line, data in shown:
            if not data.xs:
                continue
            label = line.label if legend else None
            if chart.kind == "bar" and positions <= 60:
                plt.bar(data.xs, data.ys, color=line.color, width=0.6, minimum=0, label=label)
            else:
                plt.plot(data.xs, data.ys, color=line.color, marker="hd" if few else "braille", label=label)
                if few:
                    plt.scatter(data.xs, data.ys, color=line.color, marker="●")
        for x, low, high in drawn.disagreements:
            plt.plot([x, x], [low, high], color="red", marker="┃")
        if positions:
            plt.xlim(0.5, positions + 0.5)
        if drawn.ticks:
            plt.xticks(drawn.ticks, drawn.labels)
        ys = [y for _, s in shown for y in s.ys]
        if chart.percent:
            plt.ylim(-0.05, 1.05)
            plt.yticks([0, 0.5, 1], ["0%", "50%", "100%"])
        elif chart.scale is not None:
            low, high = chart.scale
            plt.ylim(low - 0.5, high + 0.5)
            rows = self.size.height - 4  # less the title, the frame and the x ticks
            steps = list(range(low, high + 1)) if rows >= high - low + 1 else [low, (low + high) // 2, high]
            plt.yticks(steps, [str(s) for s in steps])
        elif ys:
            top = max(ys) or 1.0
            plt.ylim(0, top * 1.1)
            if chart.lines[0].field in ("cost_usd", "cost_per_surviving_line"):
                plt.yticks(*_money_ticks(top))
            elif chart.whole:
                step = max(1, ceil(top / 4))
                steps = list(range(0, int(top) + step, step))
                plt.yticks(steps, [str(v) for v in steps])


class TrendCharts(Grid):
    """The charts; :meth:`show` draws the trend of the sessions given."""

    DEFAULT_CSS = """
    TrendCharts {
        grid-size: 2 3;
        grid-rows: 3fr 3fr 2fr;
        grid-gutter: 0 1;
        height: 1fr;
    }
    TrendCharts TrendPlot {
        height: 1fr;
    }
    TrendCharts #trend-ewr {
        column-span: 2;
    }
    """

    def compose(self) -> ComposeResult:
        for chart in CHARTS:
            yield TrendPlot(chart)

    @property
    def drawn(self) -> dict[str, Drawn]:
        return {plot.chart.id: plot.drawn for plot in self.query(TrendPlot) if plot.shown}

    def show(self, points: Sequence[TrendPoint]) -> None:
        for plot in self.query(TrendPlot):
            plot.show(points)
