"""Charts of the history's trends (textual-plotext): one point per session, oldest first.

Six charts in a grid: EWR(human) and EWR(git) side by side on the same scale, then the rating and
the interventions per session, then the cost per session and the cost per surviving line. The x
axis counts sessions; a few ticks name their dates. Past :data:`MAX_POINTS` sessions, each point is
the mean of a run of consecutive sessions (a chart is some 60 cells wide: 10,000 points would only
cost time and show nothing more); the chart's title says how many sessions a point stands for.

:func:`series` does the arithmetic and knows nothing of Textual; :class:`TrendCharts` draws.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Sequence

from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

from engine.formatting import usd
from sessions.reports.history import TrendPoint

MAX_POINTS = 120  # per chart; more sessions than that are averaged in runs
TICKS = 4  # dated ticks on the x axis


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    field: str  # a TrendPoint attribute
    color: str
    kind: str = "line"  # or "bar" (while there are few points)
    whole: bool = False  # counts: whole numbers on the y axis
    percent: bool = False  # a ratio in 0..1, shown as 0%..100%
    ylim: tuple[float, float] | None = None


CHARTS: tuple[Chart, ...] = (
    Chart("trend-ewr-human", "EWR (human): outcome per session", "ewr_human", "cyan", percent=True, ylim=(0, 1)),
    Chart("trend-ewr-git", "EWR (git): survival per session", "ewr_git", "green", percent=True, ylim=(0, 1)),
    Chart("trend-rating", "Rating", "rating", "yellow", ylim=(1, 5)),
    Chart("trend-interventions", "Interventions per session", "interventions", "magenta", kind="bar", whole=True),
    Chart("trend-cost", "Cost per session (USD)", "cost_usd", "blue", kind="bar"),
    Chart("trend-cost-line", "Cost per surviving line (USD)", "cost_per_surviving_line", "red"),
)


@dataclass(frozen=True)
class Series:
    xs: list[float]  # session positions, 1 = the oldest
    ys: list[float]
    per: int  # sessions behind each point (1: one point per session)
    sessions: int  # sessions with a value
    ticks: list[float]
    labels: list[str]  # the dates at the ticks


def series(points: Sequence[TrendPoint], field: str, max_points: int = MAX_POINTS) -> Series:
    """The points of one chart: the sessions' ``field`` where known (means of runs of ``per``
    consecutive sessions when there are more than ``max_points``), and dated ticks."""
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
            xs.append(start + 1 + (len(values) - 1) / 2)
            ys.append(sum(known) / len(known))
    ticks: list[float] = []
    labels: list[str] = []
    if n:
        wanted = min(TICKS, n)
        spots = [round(i * (n - 1) / (wanted - 1)) if wanted > 1 else 0 for i in range(wanted)]
        for i in dict.fromkeys(spots):
            if labels and labels[-1] == points[i].date:
                continue  # one date a tick: sessions of one day share it
            ticks.append(i + 1)
            labels.append(points[i].date)
    return Series(xs, ys, per, known_total, ticks, labels)


def _money_ticks(top: float) -> tuple[list[float], list[str]]:
    steps = [0, top / 2, top]
    digits = 4 if top < 0.1 else 2
    return steps, [usd(v, digits) for v in steps]


class TrendCharts(Grid):
    """The six charts; :meth:`show` draws the trend of the sessions given."""

    DEFAULT_CSS = """
    TrendCharts {
        grid-size: 2 3;
        grid-gutter: 0 1;
        height: 1fr;
    }
    TrendCharts PlotextPlot {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.drawn: dict[str, Series] = {}

    def compose(self) -> ComposeResult:
        for chart in CHARTS:
            yield PlotextPlot(id=chart.id)

    def show(self, points: Sequence[TrendPoint]) -> None:
        for chart in CHARTS:
            plot = self.query_one(f"#{chart.id}", PlotextPlot)
            data = series(points, chart.field)
            self.drawn[chart.id] = data
            self._draw(plot, chart, data)
            plot.refresh()

    @staticmethod
    def _draw(plot: PlotextPlot, chart: Chart, data: Series) -> None:
        plt = plot.plt
        plt.clear_figure()
        title = chart.title
        if data.per > 1:
            title += f" · mean of every {data.per} sessions"
        if not data.xs:
            title += " · none yet"
        plt.title(title)
        if data.xs:
            if chart.kind == "bar" and len(data.xs) <= 60:
                plt.bar(data.xs, data.ys, color=chart.color, width=0.6)
            else:
                few = len(data.xs) <= 40
                plt.plot(data.xs, data.ys, color=chart.color, marker="hd" if few else "braille")
                if few:
                    plt.scatter(data.xs, data.ys, color=chart.color, marker="●")
        if data.ticks:
            span = max(data.ticks) - min(data.ticks)
            plt.xlim(min(data.ticks) - 0.5, max(data.ticks) + 0.5 if span else min(data.ticks) + 0.5)
            plt.xticks(data.ticks, data.labels)
        if chart.ylim is not None:
            plt.ylim(*chart.ylim)
            if chart.percent:
                plt.yticks([0, 0.5, 1], ["0%", "50%", "100%"])
            else:
                low, high = chart.ylim
                steps = list(range(int(low), int(high) + 1))
                plt.yticks(steps, [str(s) for s in steps])
        elif data.ys:
            top = max(data.ys) or 1.0
            plt.ylim(0, top * 1.1)
            if chart.field in ("cost_usd", "cost_per_surviving_line"):
                plt.yticks(*_money_ticks(top))
            elif chart.whole:
                step = max(1, ceil(top / 4))
                steps = list(range(0, int(top) + step, step))
                plt.yticks(steps, [str(v) for v in steps])
