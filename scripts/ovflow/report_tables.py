"""The report's tables: pandas DataFrames of the raw figures, each declared with the formats of
its numeric columns. Both renderings show the same formatted cells (`Table.rows`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import verdict as v
from .benchmark import speedups
from .coco_eval import STAT_NAMES
from .precisions import REFERENCE, ordered

Format = str | Callable[[Any], str]  # a format spec of ovflow.verdict.fmt, or a function
# A table's columns: a record's key (nested: dotted) → (column, format; None for text)
Columns = Mapping[str, tuple[str, Format | None]]


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

    def rows(self) -> list[list[Cell]]:
        """The header, then the formatted rows: what both renderings show."""
        header = [Cell(str(c), c in self.formats) for c in self.frame.columns]
        return [[Cell(str(self.frame.index.name or "")), *header]] + [
            [_cell(index), *(_cell(row[c], self.formats.get(c)) for c in self.frame.columns)]
            for index, row in self.frame.iterrows()
        ]


def _cell(value: Any, spec: Format | None = None) -> Cell:
    if isinstance(value, Cell) or spec is None:
        return value if isinstance(value, Cell) else Cell(v.fmt(value))
    return Cell(spec(value) if callable(spec) else v.fmt(value, spec), numeric=True)


def _table(records: Sequence[Mapping[str, Any]], columns: Columns, index: Any, name: str) -> Table:
    """The `columns` of the records: pandas flattens nested keys to dotted names."""
    frame = pd.json_normalize(list(records)).reindex(columns=list(columns))
    frame = frame.set_axis([c for c, _ in columns.values()], axis=1)
    frame.index = pd.Index(list(index), name=name)
    return Table(frame, {c: f for c, f in columns.values() if f})


def names(values: Any, separator: str = ", ") -> str:
    """classes_evaluated ("all" or a list of names) and other lists, as text."""
    return values if isinstance(values, str) else separator.join(map(str, values))


def accuracy_table(records: Mapping[str, Mapping[str, Any]]) -> Table:
    """The 12 COCO stats of each precision on one evaluation set."""
    columns = {f"stats.{s}": (s, v.STAT) for s in STAT_NAMES}
    return _table([records[p] for p in ordered(records)], columns, ordered(records), "Precision")


DELTAS = {"stats.AP": ("ΔAP", v.DELTA), "bounds": ("ΔAP 95% interval", v.interval)}
DELTAS |= {f"stats.{s}": (f"Δ{s}", v.DELTA) for s in STAT_NAMES[1:]}


def delta_table(comparisons: Mapping[str, Mapping[str, Any]]) -> Table:
    """Each precision minus FP32 on one set, as delta.yaml has it, with ΔAP's interval."""
    rows = [
        c | {"bounds": (c["ap_interval"]["low"], c["ap_interval"]["high"])}
        for c in map(comparisons.get, ordered(comparisons))
    ]
    return _table(rows, DELTAS, ordered(comparisons), "Precision")


def class_table(rows: Sequence[Mapping[str, Any]], target: str) -> Table:
    """Per-class AP of FP32 and `target` and its change, rows as delta.yaml lists them."""
    columns = {"reference": (f"{REFERENCE} AP", v.STAT), "candidate": (f"{target} AP", v.STAT)}
    columns["delta"] = ("ΔAP", v.DELTA)
    return _table(rows, columns, [r["class"] for r in rows], "Class")


# Optional keys of an accuracy record: classes left out of scoring (the notes list them).
UNSCORED = {"unscored_set_classes": "Set classes not scored"}
UNSCORED["unscored_model_classes"] = "Model classes not in the set"


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
    frame = pd.DataFrame(rows, index=pd.Index(list(records), name="Set"))
    return Table(frame, {c: v.INT for c in frame if c not in ("Classes", "max_images")})


SPEED = {  # a benchmark configuration's keys, and those speed_table adds
    "mode": ("Mode", None),
    "inference_precision": ("Inference precision", None),
    "convolutions": ("Convolutions in", None),
    "streams": ("Streams", v.INT),
    "threads": ("Threads", v.INT),
    "runs": ("Runs", v.INT),
    "summary.throughput_fps.median": ("Throughput (FPS)", v.FPS),
    "fps_range": ("Throughput min-max (FPS)", v.FPS),
    "summary.latency_median_ms.median": ("Latency median (ms)", v.MS),
    "latency_range": ("Latency median min-max (ms)", v.MS),
    "summary.latency_avg_ms.median": ("Latency avg (ms)", v.MS),
    "summary.other_cpu_percent.max": ("Others' CPU, max (%)", v.PERCENT),
}


def speed_table(configurations: Sequence[tuple[str, Mapping[str, Any]]]) -> Table:
    """Every benchmarked (precision, configuration): medians of the runs and their min-max."""
    rows = []
    for _, c in configurations:
        fps, latency = c["summary"]["throughput_fps"], c["summary"]["latency_median_ms"]
        convolutions = ", ".join(c["executed_layers"].get("Convolution") or {}) or None
        rows.append(c | {"runs": len(c["runs"]), "convolutions": convolutions})
        spread = {"fps_range": (fps["min"], fps["max"])}
        rows[-1] |= spread | {"latency_range": (latency["min"], latency["max"])}
    labels = [f"{p} {c['setting']}" for p, c in configurations]
    return _table(rows, SPEED, labels, "Configuration")


SPEEDUPS = {  # ovflow.benchmark.speedups keys: throughput mode, then latency mode
    "target_fps": ("Throughput (FPS)", v.FPS),
    "baseline_fps": ("Baseline throughput (FPS)", v.FPS),
    "throughput_speedup": ("Throughput speed-up (x)", v.RATIO),
}
SPEEDUPS |= {
    "target_latency_ms": ("Latency median (ms)", v.MS),
    "baseline_latency_ms": ("Baseline latency median (ms)", v.MS),
    "latency_speedup": ("Latency speed-up (x)", v.RATIO),
}


def speedup_table(benchmark: Mapping[str, Mapping[str, Any]]) -> Table:
    """Throughput and latency of each comparison of ovflow.benchmark, against its baseline."""
    found = speedups(benchmark)
    labels = [f"{r['target']} vs {r['baseline']}" for r in found]
    return _table(found, SPEEDUPS, labels, "Comparison")


def size_table(ir_sizes: Mapping[str, int]) -> Table:
    """Size of each IR's weights, and its ratio to FP32's."""
    sizes = pd.Series({p: ir_sizes[p] for p in ordered(ir_sizes)}, dtype=float)
    ratio = f"Size vs {REFERENCE} (x)"
    frame = pd.DataFrame({"IR size (MB)": sizes / 1e6, ratio: sizes / sizes.get(REFERENCE, np.nan)})
    return Table(frame.rename_axis("Precision"), {"IR size (MB)": v.MB, ratio: v.RATIO})


ENVIRONMENT = {
    "settings.device": ("Device", None),
    "settings.duration": ("Duration (s)", v.INT),
    "settings.repeats": ("Repeats", v.INT),
    "openvino_version": ("OpenVINO (benchmark)", None),
}


def environment_table(benchmark: Mapping[str, Mapping[str, Any]]) -> Table:
    """Benchmark settings of each precision."""
    precisions = ordered(benchmark)
    return _table([benchmark[p] for p in precisions], ENVIRONMENT, precisions, "Precision")


def index_table(entries: Sequence[tuple[v.Headline, Any, Any]]) -> Table:
    """One row per (headline.yaml as stored, its report.html, its report.md)."""
    rows, formats = [], {"Images": v.INT, "ΔAP": v.DELTA, "ΔAP 95% interval": v.interval}
    for head, _, md in entries:
        row = {"Verdict": Cell(v.LABELS[head.verdict], tone=head.verdict), "Images": head.images}
        row |= {"ΔAP": head.delta, "ΔAP 95% interval": (head.low, head.high)}
        for metric in ("throughput", "latency"):
            for s in head.speedups:
                ratio = s[f"{metric}_speedup"]
                column = f"{metric.capitalize()} vs {s['baseline']} (x)"
                formats[column] = v.RATIO  # the cell is ready: this marks the column numeric
                row[column] = Cell(v.fmt(ratio, v.RATIO), True, v.tone(ratio, above_one="good"))
        row[f"Size vs {REFERENCE} (x)"] = head.size_ratio
        rows.append(row | {"Markdown": Cell("report.md", href=md)})
    models = pd.Index([Cell(head.model, href=html) for head, html, _ in entries], name="Model")
    formats[f"Size vs {REFERENCE} (x)"] = v.RATIO
    return Table(pd.DataFrame(rows, index=models), formats)
