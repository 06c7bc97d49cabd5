"""The report's charts as PNG bytes, and their file names (rule report declares one PNG per
chart from these names)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .precisions import QUANTIZED as TARGET
from .precisions import REFERENCE
from .verdict import DELTA, FPS, MS, budget, fmt, interval

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DELTA_CHART = "delta_ap"
SPEED_CHARTS = ("throughput", "latency")  # one per benchmark mode
WORST_CLASSES = 20  # bars in a per-class chart
PRECISION_COLORS = {"FP32": "#5d6d7e", "FP16": "#2e86c1", "INT8": "#d35400"}
LOSS_COLOR, GAIN_COLOR, OTHER_COLOR = "#c0392b", "#2e86c1", "#7f8c8d"
DPI = 110


def class_chart(dataset: str) -> str:
    return f"class_delta_{dataset}"


def chart_names(datasets: Sequence[str]) -> list[str]:
    """Every chart of a report on these evaluation sets: the stems of its PNG files."""
    return [DELTA_CHART, *SPEED_CHARTS, *(class_chart(d) for d in datasets)]


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes
    drawn: bool  # False: a placeholder saying there was nothing to draw


# (set, precision, ap_interval of delta.yaml): every ΔAP interval of the run
Interval = tuple[str, str, Mapping[str, Any]]
# (configuration, mode, summary of the benchmark record)
Measured = tuple[str, str, Mapping[str, Any]]


def draw_charts(
    intervals: Sequence[Interval],
    speed: Sequence[Measured],
    classes: Mapping[str, Sequence[Mapping[str, Any]]],
    max_drop: float | None,
) -> dict[str, Chart]:
    """Every chart of chart_names(classes); `classes`: set → delta.yaml's class rows of INT8."""
    # Imported here: the Snakefile imports this module for the names only.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figures = {
        DELTA_CHART: _delta_figure(intervals, max_drop),
        **{mode: _speed_figure(speed, mode) for mode in SPEED_CHARTS},
        **{class_chart(name): _class_figure(name, rows) for name, rows in classes.items()},
    }
    charts = {}
    for name, (title, figure) in figures.items():
        drawn = figure is not None
        figure = figure or _figure((5.2, 1.0))
        if not drawn:
            figure.text(
                0.5, 0.5, f"{title}\nNothing to draw in this run.", ha="center", va="center"
            )
        FigureCanvasAgg(figure)
        buffer = io.BytesIO()
        # No "Software" entry: the same inputs give the same bytes.
        figure.savefig(buffer, format="png", metadata={"Software": None})
        charts[name] = Chart(title, buffer.getvalue(), drawn)
    return charts


def _figure(size: tuple[float, float], **options: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=DPI, **options)


def _axes(size: tuple[float, float]) -> Any:
    return _figure(size, layout="constrained").add_subplot()


def _finish(ax: Any, title: str, xlabel: str, ylabel: str, grid: str) -> Figure:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis=grid, color="#e5e5e5")
    ax.set_axisbelow(True)
    return ax.figure


def _note(ax: Any, text: str, xy: Any, offset: tuple[int, int], **style: Any) -> None:
    """Small text `offset` points away from `xy`."""
    ax.annotate(text, xy, xytext=offset, textcoords="offset points", fontsize=8, **style)


def _delta_figure(rows: Sequence[Interval], max_drop: float | None) -> tuple[str, Figure | None]:
    """ΔAP of every precision on every set with its interval, against the budget line."""
    title = f"ΔAP vs {REFERENCE} with its 95% paired-bootstrap interval"
    if not rows:
        return title, None
    ax = _axes((7.6, 1.5 + 0.45 * len(rows)))
    for y, (_, precision, bounds) in enumerate(rows):
        delta, low, high = bounds["delta"], bounds["low"], bounds["high"]
        color = PRECISION_COLORS.get(precision, OTHER_COLOR)
        error = [[delta - low], [high - delta]]
        ax.errorbar(delta, y, xerr=error, fmt="o", color=color, capsize=5, markersize=6)
        _note(ax, f"{fmt(delta, DELTA)} {interval(low, high)}", (high, y), (6, 0), va="center")
    budget_edge = [] if max_drop is None else [-max_drop]
    left = min(*(r[2]["low"] for r in rows), *budget_edge, 0.0)
    right = max(*(r[2]["high"] for r in rows), 0.0)
    span = max(right - left, 1e-4)
    ax.set_xlim(left - 0.15 * span, right + 0.75 * span)  # room on the right for the labels
    ax.axvline(0.0, color="#444", linewidth=0.8)
    if max_drop is not None:
        ax.axvspan(ax.get_xlim()[0], -max_drop, color=LOSS_COLOR, alpha=0.1, linewidth=0)
        ax.axvline(-max_drop, color=LOSS_COLOR, linestyle="--", linewidth=1)
        where = {
            "xycoords": ("data", "axes fraction"),
            "ha": "right",
            "va": "top",
            "color": LOSS_COLOR,
        }
        _note(ax, f"budget -{budget(max_drop)}", (-max_drop, 1.0), (-3, -3), **where)
    ax.set_yticks(range(len(rows)), [f"{name}, {precision}" for name, precision, _ in rows])
    ax.set_ylim(len(rows) - 0.4, -0.8)  # first row on top
    xlabel = f"ΔAP = AP(precision) - AP({REFERENCE}), COCO AP@[.50:.95]"
    return title, _finish(ax, title, xlabel, "Evaluation set, precision", "x")


def _speed_figure(measured: Sequence[Measured], mode: str) -> tuple[str, Figure | None]:
    """One bar per configuration measured in `mode`, whiskers from the runs' min-max."""
    metric, name, unit, spec = {
        "throughput": ("throughput_fps", "Throughput", "frames/s (FPS), higher is faster", FPS),
        "latency": ("latency_median_ms", "Median latency", "ms, lower is faster", MS),
    }[mode]
    title = f"{name}, {mode} mode (whiskers: min-max of the runs)"
    bars = [(label, summary[metric]) for label, m, summary in measured if m == mode]
    bars = [(label, s) for label, s in bars if s["median"] is not None]
    if not bars:
        return title, None
    ax = _axes((5.2, 3.4))
    labels, heights = [b[0] for b in bars], [b[1]["median"] for b in bars]
    whiskers = [
        [s["median"] - s["min"] for _, s in bars],
        [s["max"] - s["median"] for _, s in bars],
    ]
    # The precision leads every label ("INT8 default"), so it picks the colour.
    colors = [PRECISION_COLORS.get(label.split()[0], OTHER_COLOR) for label in labels]
    drawn = ax.bar(labels, heights, color=colors, yerr=whiskers, capsize=4)
    # Inside the bars, so the whisker caps stay readable.
    values = [fmt(h, spec) for h in heights]
    ax.bar_label(drawn, labels=values, label_type="center", color="white", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.margins(y=0.12)
    return title, _finish(ax, title, "IR precision, inference precision setting", unit, "y")


def _class_figure(name: str, rows: Sequence[Mapping[str, Any]]) -> tuple[str, Figure | None]:
    """The worst classes' ΔAP (delta.yaml lists them worst first)."""
    if len(rows) < 2:  # one class: its ΔAP is the set's, in the change table
        return f"{name}: no per-class chart for fewer than two classes", None
    worst = rows[:WORST_CLASSES]
    heading = f"{name}: per-class AP change, {TARGET} - {REFERENCE}"
    detail = f"the {len(worst)} worst of {len(rows)} classes"
    deltas = [r["delta"] for r in worst]
    ax = _axes((6.4, 1.4 + 0.27 * len(worst)))
    colors = [LOSS_COLOR if d < 0 else GAIN_COLOR for d in deltas]
    bars = ax.barh([str(r["class"]) for r in worst], deltas, color=colors)
    ax.invert_yaxis()  # worst on top
    ax.axvline(0.0, color="#444", linewidth=0.8)
    ax.bar_label(bars, labels=[fmt(d, DELTA) for d in deltas], padding=3, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.margins(x=0.3)
    xlabel = f"ΔAP of the class ({TARGET} - {REFERENCE})"
    return f"{heading}, {detail}", _finish(ax, f"{heading}\n{detail}", xlabel, "COCO class", "x")
