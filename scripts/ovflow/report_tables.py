"""The report's tables: pandas DataFrames of the raw figures, each declared with the formats of
its numeric columns. Both renderings show the same formatted cells (`Table.rows`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import verdict as v
from .benchmark import speedups
from .coco_eval import STAT_NAMES
from .precisions import PRECISIONS, REFERENCE

Format = str | Callable[[Any], str]  # a format spec of ovflow.verdict.fmt, or a function


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False  # right-aligned
    tone: str = ""  # good / bad / a verdict: colours the text in HTML
    href: Any = None  # a file the cell links to


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame  # raw figures (or ready Cells); the index is the first column
    formats: Mapping[str, Format]  # the numeric columns and their formats; the rest is text

    def header(self) -> list[Cell]:
        columns = [Cell(str(c), c in self.formats) for c in self.frame.columns]
        return [Cell(str(self.frame.index.name or "")), *columns]

    def rows(self) -> list[list[Cell]]:
        return [
            [_cell(index), *(_cell(row[c], self.formats.get(c)) for c in self.frame.columns)]
            for index, row in self.frame.iterrows()
        ]


def _cell(value: Any, spec: Format | None = None) -> Cell:
    if isinstance(value, Cell) or spec is None:
        return value if isinstance(value, Cell) else Cell(v.fmt(value))
    return Cell(spec(value) if callable(spec) else v.fmt(value, spec), numeric=True)


def _table(rows: list[dict[str, Any]], index: Iterable[Any], name: str, formats: Any) -> Table:
    return Table(pd.DataFrame(rows, index=pd.Index(list(index), name=name)), formats)


def _interval(bounds: tuple[float | None, float | None]) -> str:
    return v.interval(*bounds)


def ordered(*sources: Iterable[str]) -> list[str]:
    """The workflow's precisions in their order (those present), any other after them by name."""
    present = set().union(*sources)
    return [p for p in PRECISIONS if p in present] + sorted(present - set(PRECISIONS))


def names(values: Any, separator: str = ", ") -> str:
    """classes_evaluated ("all" or a list of names) and other lists, as text."""
    return values if isinstance(values, str) else separator.join(map(str, values))


def accuracy_table(records: Mapping[str, Mapping[str, Any]]) -> Table:
    """The 12 COCO stats of each precision on one evaluation set."""
    rows = [{s: records[p]["stats"].get(s) for s in STAT_NAMES} for p in ordered(records)]
    return _table(rows, ordered(records), "Precision", dict.fromkeys(STAT_NAMES, v.STAT))


def delta_table(comparisons: Mapping[str, Mapping[str, Any]]) -> Table:
    """Each precision minus FP32 on one set, as delta.yaml has it, with ΔAP's interval."""
    rows = []
    for p in ordered(comparisons):
        stats, bounds = comparisons[p]["stats"], comparisons[p]["ap_interval"]
        row = {"ΔAP": stats["AP"], "ΔAP 95% interval": (bounds["low"], bounds["high"])}
        rows.append(row | {f"Δ{s}": stats[s] for s in STAT_NAMES[1:]})
    formats = {f"Δ{s}": v.DELTA for s in STAT_NAMES} | {"ΔAP 95% interval": _interval}
    return _table(rows, ordered(comparisons), "Precision", formats)


def class_table(rows: Sequence[Mapping[str, Any]], target: str) -> Table:
    """Per-class AP of FP32 and `target` and its change, rows as delta.yaml lists them."""
    formats = {f"{REFERENCE} AP": v.STAT, f"{target} AP": v.STAT, "ΔAP": v.DELTA}
    figures = [(r["reference"], r["candidate"], r["delta"]) for r in rows]
    values = [dict(zip(formats, f, strict=True)) for f in figures]
    return _table(values, [r["class"] for r in rows], "Class", formats)


# Optional keys of an accuracy record: classes left out of scoring (their names in the notes).
UNSCORED = {
    "unscored_set_classes": "Set classes not scored",
    "unscored_model_classes": "Model classes not in the set",
}


def evaluation_table(records: Mapping[str, Mapping[str, Any]]) -> Table:
    """How many images each set evaluated, out of how many, chosen how, scored on what."""
    rows = []
    for r in records.values():
        chosen = r.get("selection") or {}
        row = {
            "Images evaluated": r.get("images"),
            "Images annotated": chosen.get("images_in_annotations"),
            "Annotations": r.get("annotations"),
            "Classes": names(r.get("classes_evaluated", "all")),
            "max_images": chosen.get("max_images") or "all",
            "Held out for calibration": chosen.get("reserve"),
            "Seed": chosen.get("seed"),
        }
        rows.append(row | {c: len(r[k] or []) for k, c in UNSCORED.items() if k in r})
    table = _table(rows, records, "Set", {})
    numeric = [c for c in table.frame if c not in ("Classes", "max_images")]
    return Table(table.frame, dict.fromkeys(numeric, v.INT))


# Speed: a benchmark configuration's keys (flattened by pandas) → (column, format or None: text)
SPEED = {
    "mode": ("Mode", None),
    "inference_precision": ("Inference precision", None),
    "convolutions": ("Convolutions in", None),
    "streams": ("Streams", v.INT),
    "threads": ("Threads", v.INT),
    "runs": ("Runs", v.INT),
    "summary.throughput_fps.median": ("Throughput (FPS)", v.FPS),
    "summary.throughput_fps.range": ("Throughput min-max (FPS)", v.FPS),
    "summary.latency_median_ms.median": ("Latency median (ms)", v.MS),
    "summary.latency_median_ms.range": ("Latency median min-max (ms)", v.MS),
    "summary.latency_avg_ms.median": ("Latency avg (ms)", v.MS),
    "summary.other_cpu_percent.max": ("Others' CPU, max (%)", v.PERCENT),
}


def speed_table(configurations: Sequence[tuple[str, Mapping[str, Any]]]) -> Table:
    """Every benchmarked (precision, configuration): medians of the runs and their min-max."""
    configs = pd.json_normalize([c for _, c in configurations], max_level=2)
    for metric in ("throughput_fps", "latency_median_ms"):
        spread = configs.filter([f"summary.{metric}.min", f"summary.{metric}.max"])
        configs[f"summary.{metric}.range"] = list(spread.itertuples(index=False, name=None))
    configs["runs"] = [len(c["runs"]) for _, c in configurations]
    layers = [c["executed_layers"].get("Convolution") or {} for _, c in configurations]
    configs["convolutions"] = [", ".join(found) or None for found in layers]
    frame = configs.reindex(columns=list(SPEED)).set_axis([c for c, _ in SPEED.values()], axis=1)
    frame.index = pd.Index([f"{p} {c['setting']}" for p, c in configurations], name="Configuration")
    return Table(frame, {c: f for c, f in SPEED.values() if f})


# Speed-ups: ovflow.benchmark.speedups keys → (column, format)
SPEEDUPS = {
    "target_fps": ("Throughput (FPS)", v.FPS),
    "baseline_fps": ("Baseline throughput (FPS)", v.FPS),
    "throughput_speedup": ("Throughput speed-up (x)", v.RATIO),
    "target_latency_ms": ("Latency median (ms)", v.MS),
    "baseline_latency_ms": ("Baseline latency median (ms)", v.MS),
    "latency_speedup": ("Latency speed-up (x)", v.RATIO),
}


def speedup_table(benchmark: Mapping[str, Mapping[str, Any]]) -> Table:
    """Throughput and latency of each comparison of ovflow.benchmark, against its baseline."""
    found = pd.DataFrame(speedups(benchmark), columns=["target", "baseline", *SPEEDUPS])
    frame = found[list(SPEEDUPS)].set_axis([c for c, _ in SPEEDUPS.values()], axis=1)
    frame.index = pd.Index(found["target"] + " vs " + found["baseline"], name="Comparison")
    return Table(frame, dict(SPEEDUPS.values()))


def size_table(ir_sizes: Mapping[str, int]) -> Table:
    """Size of each IR's weights, and its ratio to FP32's."""
    sizes = pd.Series({p: ir_sizes[p] for p in ordered(ir_sizes)}, dtype=float)
    ratio = f"Size vs {REFERENCE} (x)"
    frame = pd.DataFrame({"IR size (MB)": sizes / 1e6, ratio: sizes / sizes.get(REFERENCE, np.nan)})
    return Table(frame.rename_axis("Precision"), {"IR size (MB)": v.MB, ratio: v.RATIO})


def environment_table(benchmark: Mapping[str, Mapping[str, Any]]) -> Table:
    """Benchmark settings of each precision."""
    rows = []
    for p in ordered(benchmark):
        settings = benchmark[p].get("settings", {})
        rows.append(
            {
                "Device": settings.get("device"),
                "Duration (s)": settings.get("duration"),
                "Repeats": settings.get("repeats"),
                "OpenVINO (benchmark)": benchmark[p].get("openvino_version"),
            }
        )
    formats = {"Duration (s)": v.INT, "Repeats": v.INT}
    return _table(rows, ordered(benchmark), "Precision", formats)


def index_table(entries: Sequence[tuple[v.Headline, Any, Any]]) -> Table:
    """One row per (headline.yaml as stored, its report.html, its report.md)."""
    rows, formats = [], {"Images": v.INT, "ΔAP": v.DELTA, "ΔAP 95% interval": _interval}
    for head, _, md in entries:
        row = {"Verdict": Cell(v.LABELS[head.verdict], tone=head.verdict), "Images": head.images}
        row |= {"ΔAP": head.delta, "ΔAP 95% interval": (head.low, head.high)}
        for metric in ("Throughput", "Latency"):
            for s in head.speedups:
                ratio, column = (
                    s.get(f"{metric.lower()}_speedup"),
                    f"{metric} vs {s['baseline']} (x)",
                )
                formats[column] = v.RATIO  # the cell is ready: this marks the column numeric
                row[column] = Cell(v.fmt(ratio, v.RATIO), True, v.tone(ratio, above_one="good"))
        row[f"Size vs {REFERENCE} (x)"] = head.size_ratio
        rows.append(row | {"Markdown": Cell("report.md", href=md)})
    models = [Cell(head.model, href=html) for head, html, _ in entries]
    return _table(rows, models, "Model", formats | {f"Size vs {REFERENCE} (x)": v.RATIO})
