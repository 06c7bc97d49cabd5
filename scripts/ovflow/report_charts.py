"""The report's charts as PNG bytes, and their names: rule report declares one PNG per name."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

from .precisions import QUANTIZED as TARGET
from .precisions import REFERENCE
from .verdict import DELTA, FPS, MS, fmt, interval

DELTA_CHART = "delta_ap"
SPEED_CHARTS = ("throughput", "latency")  # one per benchmark mode
WORST_CLASSES = 20  # bars of a per-class chart
COLORS = {"FP32": "#5d6d7e", "FP16": "#2e86c1", "INT8": "#d35400", "loss": "#c0392b"}
# (set, precision, ΔAP interval) or (configuration, mode, benchmark summary) rows
Rows = Sequence[tuple[str, str, Mapping[str, Any]]]


def class_chart(dataset: str) -> str:
    return f"class_delta_{dataset}"


def chart_names(datasets: Sequence[str]) -> list[str]:
    """Every chart of a report on these evaluation sets: the stems of its PNG files."""
    return [DELTA_CHART, *SPEED_CHARTS, *(class_chart(d) for d in datasets)]


class Chart(NamedTuple):
    title: str
    png: bytes
    drawn: bool  # False: a placeholder saying there was nothing to draw


def draw_charts(
    intervals: Rows, measured: Rows, classes: Mapping[str, Any], max_drop: float | None
) -> dict[str, Chart]:
    """The charts of chart_names(classes) from (set, precision, ΔAP interval) rows, benchmark
    (configuration, mode, summary) rows, and each set's per-class rows of delta.yaml."""
    from matplotlib.figure import Figure  # here: the Snakefile imports this module for names

    drawers = {DELTA_CHART: partial(_delta, rows=intervals, max_drop=max_drop)}
    drawers |= {mode: partial(_speed, measured=measured, mode=mode) for mode in SPEED_CHARTS}
    drawers |= {class_chart(s): partial(_classes, name=s, rows=r) for s, r in classes.items()}
    charts = {}
    for name, draw in drawers.items():
        figure = Figure(dpi=110, layout="constrained")
        title, size = draw(figure.add_subplot())
        if size:
            figure.set_size_inches(size)
        else:  # nothing to draw: a note instead
            figure = Figure(figsize=(5.2, 1.0), dpi=110)
            note = f"{title}\nNothing to draw in this run."
            figure.text(0.5, 0.5, note, ha="center", va="center")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})  # same inputs, same bytes
        charts[name] = Chart(title.replace("\n", ", "), buffer.getvalue(), bool(size))
    return charts


def _label(ax: Any, title: str, xlabel: str, ylabel: str, grid: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(axis=grid, color="#e5e5e5")
    ax.set_axisbelow(True)


def _delta(ax: Any, rows: Rows, max_drop: float | None) -> tuple[str, Any]:
    """ΔAP of every precision on every set with its interval, against the budget line."""
    title = f"ΔAP vs {REFERENCE} with its 95% paired-bootstrap interval"
    if not rows:
        return title, None
    for y, (_, precision, i) in enumerate(rows):
        error = [[i["delta"] - i["low"]], [i["high"] - i["delta"]]]
        color = COLORS.get(precision, "gray")
        ax.errorbar(i["delta"], y, xerr=error, fmt="o", color=color, capsize=5, markersize=6)
        text = f"{fmt(i['delta'], DELTA)} {interval((i['low'], i['high']))}"
        ax.annotate(text, (i["high"], y), (6, 0), textcoords="offset points", va="center", size=8)
    budget = [] if max_drop is None else [-max_drop]
    left = min(*(i["low"] for *_, i in rows), *budget, 0.0)
    right = max(*(i["high"] for *_, i in rows), 0.0)
    span = max(right - left, 1e-4)
    ax.set_xlim(left - 0.15 * span, right + 0.75 * span)  # room on the right for the labels
    ax.axvline(0.0, color="#444", linewidth=0.8)
    if max_drop is not None:
        ax.axvspan(ax.get_xlim()[0], -max_drop, color=COLORS["loss"], alpha=0.1, linewidth=0)
        ax.axvline(-max_drop, color=COLORS["loss"], linestyle="--", linewidth=1)
        place = {"xycoords": ("data", "axes fraction"), "textcoords": "offset points"}
        style = {"ha": "right", "va": "top", "size": 8, "color": COLORS["loss"]}
        ax.annotate(f"budget -{max_drop:g}", (-max_drop, 1.0), (-3, -3), **place, **style)
    ax.set_yticks(range(len(rows)), [f"{name}, {precision}" for name, precision, _ in rows])
    ax.set_ylim(len(rows) - 0.4, -0.8)  # first row on top
    xlabel = f"ΔAP = AP(precision) - AP({REFERENCE}), COCO AP@[.50:.95]"
    _label(ax, title, xlabel, "Evaluation set, precision", "x")
    return title, (7.6, 1.5 + 0.45 * len(rows))


def _speed(ax: Any, measured: Rows, mode: str) -> tuple[str, Any]:
    """One bar per configuration measured in `mode`, whiskers from the runs' min-max."""
    metric, name, unit, spec = {
        "throughput": ("throughput_fps", "Throughput", "frames/s (FPS), higher is faster", FPS),
        "latency": ("latency_median_ms", "Median latency", "ms, lower is faster", MS),
    }[mode]
    title = f"{name}, {mode} mode (whiskers: min-max of the runs)"
    bars = [(label, s[metric]) for label, m, s in measured if m == mode and s[metric]["median"]]
    if not bars:
        return title, None
    whiskers = [[s[m] - s[n] for _, s in bars] for m, n in (("median", "min"), ("max", "median"))]
    # The precision leads every label ("INT8 default"), so it picks the colour.
    colors = [COLORS.get(label.split()[0], "gray") for label, _ in bars]
    heights = [s["median"] for _, s in bars]
    drawn = ax.bar([b[0] for b in bars], heights, color=colors, yerr=whiskers, capsize=4)
    # Inside the bars, so the whisker caps stay readable.
    labels = [fmt(h, spec) for h in heights]
    ax.bar_label(drawn, labels=labels, label_type="center", color="white", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.margins(y=0.12)
    _label(ax, title, "IR precision, inference precision setting", unit, "y")
    return title, (5.2, 3.4)


def _classes(ax: Any, name: str, rows: Sequence[Mapping[str, Any]]) -> tuple[str, Any]:
    """The worst classes' ΔAP (delta.yaml lists them worst first)."""
    if len(rows) < 2:  # one class: its ΔAP is the set's, in the change table
        return f"{name}: no per-class chart for fewer than two classes", None
    worst, deltas = rows[:WORST_CLASSES], [r["delta"] for r in rows[:WORST_CLASSES]]
    colors = [COLORS["loss"] if d < 0 else COLORS["FP16"] for d in deltas]
    bars = ax.barh([str(r["class"]) for r in worst], deltas, color=colors)
    ax.invert_yaxis()  # worst on top
    ax.axvline(0.0, color="#444", linewidth=0.8)
    ax.bar_label(bars, labels=[fmt(d, DELTA) for d in deltas], padding=3, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.margins(x=0.3)
    title = f"{name}: per-class AP change, {TARGET} - {REFERENCE}"
    title += f"\nthe {len(worst)} worst of {len(rows)} classes"
    _label(ax, title, f"ΔAP of the class ({TARGET} - {REFERENCE})", "COCO class", "x")
    return title, (6.4, 1.4 + 0.27 * len(worst))
