"""The per-model report that answers "should I ship the INT8 model?", and the index page.

Inputs are the files the workflow wrote (accuracy YAML per evaluation set and precision,
delta.yaml per set, benchmark JSONs, samples, IR .bin files, quantization.yaml), read by
`read_inputs`, so a report can be built and tested without running a model. Outputs:
report.md (tables for terminals and git diffs), one self-contained report.html (inline CSS,
charts and samples as data: URIs, so it opens offline), the charts as PNG files (the bytes the
page embeds) and headline.yaml, the numbers the index page lists.

Both renderings are made from one list of blocks, so they cannot drift apart.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypedDict
from urllib.parse import quote

import numpy as np
import pandas as pd
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ovflow import atomic
from ovflow.benchmark import COMPARISONS, speedups
from ovflow.coco_eval import STAT_NAMES, read_accuracy_yaml

PRECISION_ORDER = ("FP32", "FP16", "INT8")
REFERENCE = "FP32"
TARGET = "INT8"
STATS = tuple(STAT_NAMES)
MISSING = "—"
WORST_CLASSES = 20  # bars in a per-class chart
WORST_CLASSES_LISTED = 10  # rows in a per-class table

# Chart names: each is also the stem of its PNG file (rule report declares them).
DELTA_CHART = "delta_ap"
SPEED_CHARTS = ("throughput", "latency")  # one per benchmark mode


def class_chart(dataset: str) -> str:
    return f"class_delta_{dataset}"


MODE = "Mode"
INFERENCE_PRECISION = "Inference precision"
CONV_PRECISION = "Convolutions in"
STREAMS = "Streams"
THREADS = "Threads"
RUNS = "Runs"
FPS = "Throughput (FPS)"
FPS_RANGE = "Throughput min-max (FPS)"
LATENCY_MEDIAN = "Latency median (ms)"
LATENCY_RANGE = "Latency median min-max (ms)"
LATENCY_AVG = "Latency avg (ms)"
OTHER_CPU = "Others' CPU, max (%)"
BASELINE_FPS = "Baseline throughput (FPS)"
BASELINE_LATENCY = "Baseline latency median (ms)"
SPEEDUP = "Throughput speed-up (x)"
LATENCY_SPEEDUP = "Latency speed-up (x)"
SIZE = "IR size (MB)"
SIZE_RATIO = f"Size vs {REFERENCE} (x)"
DELTA_STATS = tuple(f"Δ{s}" for s in STATS)
DELTA_AP = DELTA_STATS[0]
INTERVAL = "ΔAP 95% interval"
REFERENCE_AP = f"{REFERENCE} AP"
TARGET_AP = f"{TARGET} AP"
EVALUATED = "Images evaluated"
ANNOTATED = "Images annotated"
ANNOTATIONS = "Annotations"
CLASSES = "Classes"
MAX_IMAGES = "max_images"
RESERVE = "Held out for calibration"
SEED = "Seed"
VERDICT = "Verdict"
IMAGES = "Images"
MD_REPORT = "Markdown"

Kind = Literal[
    "stat",
    "delta",
    "fps",
    "ms",
    "ratio",
    "mb",
    "percent",
    "int",
    "text",
    "fps_range",
    "ms_range",
    "interval",
]
_NUMBER_FORMATS = {
    "stat": ".4f",
    "delta": "+.4f",
    "fps": ".1f",
    "ms": ".2f",
    "ratio": ".2f",
    "mb": ".2f",
    "percent": ".1f",
}
# (kind of each end, template) of the two-number kinds.
_PAIRS: dict[str, tuple[Kind, str]] = {
    "fps_range": ("fps", "{}-{}"),
    "ms_range": ("ms", "{}-{}"),
    "interval": ("delta", "[{}, {}]"),
}
SPEED_COLUMNS: dict[str, Kind] = {
    MODE: "text",
    INFERENCE_PRECISION: "text",
    CONV_PRECISION: "text",
    STREAMS: "int",
    THREADS: "int",
    RUNS: "int",
    FPS: "fps",
    FPS_RANGE: "fps_range",
    LATENCY_MEDIAN: "ms",
    LATENCY_RANGE: "ms_range",
    LATENCY_AVG: "ms",
    OTHER_CPU: "percent",
}
SPEEDUP_COLUMNS: dict[str, Kind] = {
    FPS: "fps",
    BASELINE_FPS: "fps",
    SPEEDUP: "ratio",
    LATENCY_MEDIAN: "ms",
    BASELINE_LATENCY: "ms",
    LATENCY_SPEEDUP: "ratio",
}
SIZE_COLUMNS: dict[str, Kind] = {SIZE: "mb", SIZE_RATIO: "ratio"}
DELTA_COLUMNS: dict[str, Kind] = {
    DELTA_AP: "delta",
    INTERVAL: "interval",
    **dict.fromkeys(DELTA_STATS[1:], "delta"),
}
CLASS_COLUMNS: dict[str, Kind] = {REFERENCE_AP: "stat", TARGET_AP: "stat", DELTA_AP: "delta"}
EVALUATION_COLUMNS: dict[str, Kind] = {
    EVALUATED: "int",
    ANNOTATED: "int",
    ANNOTATIONS: "int",
    CLASSES: "text",
    MAX_IMAGES: "text",
    RESERVE: "int",
    SEED: "int",
}
ENVIRONMENT_COLUMNS: dict[str, Kind] = {
    "Device": "text",
    "Duration (s)": "int",
    "Repeats": "int",
    "OpenVINO (benchmark)": "text",
}
# The headline's speed-ups: INT8 against each FP32 baseline, true f32 first.
HEADLINE_PAIRS = [
    (" ".join(t), " ".join(b)) for t, b in COMPARISONS if (t[0], b[0]) == (TARGET, REFERENCE)
]
# metric → (ratio, baseline value, target value) columns of the speed-up table, and unit.
_SPEEDUP_METRICS = {
    "Throughput": (SPEEDUP, BASELINE_FPS, FPS, "FPS"),
    "Latency": (LATENCY_SPEEDUP, BASELINE_LATENCY, LATENCY_MEDIAN, "ms"),
}
_UNIT_KINDS: dict[str, Kind] = {"FPS": "fps", "ms": "ms"}


def speedup_column(metric: str, baseline: str) -> str:
    return f"{metric} vs {baseline} (x)"


INDEX_COLUMNS: dict[str, Kind] = {
    VERDICT: "text",
    IMAGES: "int",
    DELTA_AP: "delta",
    INTERVAL: "interval",
    **{speedup_column(m, b): "ratio" for m in _SPEEDUP_METRICS for _, b in HEADLINE_PAIRS},
    SIZE_RATIO: "ratio",
    MD_REPORT: "text",
}
COLUMN_KINDS: dict[str, Kind] = {
    **dict.fromkeys(STATS, "stat"),
    **SPEED_COLUMNS,
    **SPEEDUP_COLUMNS,
    **SIZE_COLUMNS,
    **DELTA_COLUMNS,
    **CLASS_COLUMNS,
    **EVALUATION_COLUMNS,
    **ENVIRONMENT_COLUMNS,
    **INDEX_COLUMNS,
}

_ACCURACY_NOTE = (
    "COCO bounding-box metrics (pycocotools COCOeval) of every precision on each evaluation set. "
    f"Δ = precision - {REFERENCE}; ΔAP comes with a 95% paired-bootstrap interval (method under "
    "How it was made). In the chart, the red zone is a drop beyond quantization.max_drop."
)
_DELTA_NOTE = (
    f"Every stat of each precision minus {REFERENCE} on the same images (delta.yaml); the "
    "interval is ΔAP's 95% paired-bootstrap interval."
)
_SPEED_NOTE = (
    "Every IR precision in every setting and mode: median of the repeated benchmark_app "
    "runs and the min-max of those runs. f32: INFERENCE_PRECISION_HINT=f32, the true FP32 "
    "baseline; default: the device's own choice, shown as Inference precision (bf16 for "
    "FP32/FP16 IRs on AMX CPUs). Convolutions in: runtime precision of the executed "
    "convolutions. Throughput mode: -hint throughput, async requests; latency mode: "
    "-hint latency, one request at a time. Others' CPU: share of the machine's CPU time that "
    "went to anything else during the most disturbed run; more than a few % means a noisy "
    "measurement. No p90/p99: benchmark_app reports one latency "
    "percentile per run, and asking for p90 replaces the median."
)
_SPEEDUP_NOTE = (
    "From the medians above: throughput speed-up = FPS / baseline FPS (throughput mode); "
    "latency speed-up = baseline median latency / median latency (latency mode); above 1 is "
    "faster. FP32 f32 is true FP32; FP32 default is what an FP32 IR gets from the device "
    "without a hint."
)
_NO_SPEEDUP_NOTE = f"No comparison: it needs {REFERENCE} and another precision benchmarked."
_SIZE_NOTE = f"Size of the IR weights (.bin), and its ratio to {REFERENCE}'s."
_SELECTION_NOTE = (
    "An extra set whose images folder is the calibration folder leaves the calibration images "
    "out, so no image is both calibrated on and evaluated."
)
_COMMANDS_NOTE = "# <report_folder>: a scratch folder per run, removed once its report is read"
_PRECISION_COLORS = {"FP32": "#5d6d7e", "FP16": "#2e86c1", "INT8": "#d35400"}
_LOSS_COLOR = "#c0392b"
_GAIN_COLOR = "#2e86c1"
_DPI = 110


# Inputs


class ReportMeta(TypedDict, total=False):
    """About the model and the run; every key is optional and shown as — when absent."""

    model: str
    description: str
    archive_url: str
    archive_sha256: str
    max_drop: float  # quantization.max_drop: the AP budget of the verdict
    score_threshold: float  # post-processing score threshold in effect
    score_threshold_source: str
    sample_score_threshold: float
    config: dict[str, Any]
    commands: list[str]


@dataclass(frozen=True)
class ReportFiles:
    """The files one model's report is made from (rule report's inputs)."""

    accuracy: Mapping[str, Mapping[str, Path]]  # set → precision → YAML; primary set first
    deltas: Mapping[str, Path]  # set → delta.yaml; empty without FP32 and another precision
    benchmark: Mapping[str, Path]  # precision → benchmark JSON
    samples: Mapping[str, Path]  # precision → folder of annotated JPEGs
    ir_bins: Mapping[str, Path]  # precision → IR .bin
    quantization: Path | None = None  # INT8's quantization.yaml


@dataclass(frozen=True)
class EvaluationSet:
    name: str
    accuracy: Mapping[str, Mapping[str, Any]]  # precision → accuracy record
    delta: Mapping[str, Any] | None = None  # the set's delta.yaml record

    @property
    def comparisons(self) -> Mapping[str, Mapping[str, Any]]:
        """Precision → its comparison with FP32 in delta.yaml (none without a delta)."""
        return (self.delta or {}).get("comparisons") or {}

    def comparison(self, precision: str = TARGET) -> Mapping[str, Any] | None:
        return self.comparisons.get(precision)

    @property
    def record(self) -> Mapping[str, Any]:
        """Counts and selection, the same in every precision's record."""
        return self.accuracy.get(REFERENCE) or next(iter(self.accuracy.values()), {})


@dataclass(frozen=True)
class ReportInputs:
    sets: Sequence[EvaluationSet]  # primary set first: the headline's
    benchmark: Mapping[str, Mapping[str, Any]]
    samples: Mapping[str, Sequence[Path]]
    ir_sizes: Mapping[str, int]
    quantization: Mapping[str, Any] | None
    meta: ReportMeta


@dataclass(frozen=True)
class ReportOutputs:
    md: Path
    html: Path
    headline: Path
    plots: Mapping[str, Path]  # chart name → PNG


def read_inputs(files: ReportFiles, meta: ReportMeta) -> ReportInputs:
    return ReportInputs(
        sets=[
            EvaluationSet(
                name,
                {p: read_accuracy_yaml(path) for p, path in by_precision.items()},
                _read_yaml(files.deltas[name]) if name in files.deltas else None,
            )
            for name, by_precision in files.accuracy.items()
        ],
        benchmark={p: json.loads(path.read_text()) for p, path in files.benchmark.items()},
        samples={p: sorted(folder.glob("*.jpg")) for p, folder in files.samples.items()},
        ir_sizes={p: path.stat().st_size for p, path in files.ir_bins.items()},
        quantization=_read_yaml(files.quantization) if files.quantization else None,
        meta=meta,
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# Formatting


def format_value(value: Any, kind: Kind) -> str:
    """The one place numbers become text, so tables, headline and charts agree."""
    if kind in _PAIRS:
        if value is None:
            return MISSING
        number_kind, template = _PAIRS[kind]
        return template.format(*(format_value(v, number_kind) for v in value))
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if kind == "text":
        return str(value) or MISSING
    if kind == "int":
        return str(int(value))
    return format(value, _NUMBER_FORMATS[kind])


def _times(value: Any) -> str:
    text = format_value(value, "ratio")
    return text if text == MISSING else f"{text}x"


def _budget(max_drop: float | None) -> str:
    return "max_drop" if max_drop is None else f"{max_drop:g}"


def _number(value: Any) -> float | None:
    """A plain float for YAML, None for a missing or non-finite value."""
    return None if value is None or not math.isfinite(value) else float(value)


# Tables


def ordered_precisions(*sources: Iterable[str]) -> list[str]:
    """FP32, FP16, INT8 first (those present), any other precision after them by name."""
    present = set().union(*sources)
    return [p for p in PRECISION_ORDER if p in present] + sorted(present - set(PRECISION_ORDER))


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def build_tables(
    benchmark: Mapping[str, Mapping[str, Any]], ir_sizes: Mapping[str, int]
) -> dict[str, Any]:
    """Raw (unformatted) speed and size tables from benchmark records (one per precision,
    shaped as schemas/benchmark.schema.json) and IR sizes.

    Keys: size, environment (DataFrames indexed by precision), speed (one row per benchmarked
    configuration and mode), speedups (one row per comparison), machine (list of
    (field, text)), benchmark_commands (list of (configuration, command)).
    """
    precisions = ordered_precisions(benchmark, ir_sizes)
    index = pd.Index(precisions, name="Precision")
    sizes = pd.Series([_num(ir_sizes.get(p)) for p in precisions], index=index, dtype=float)
    size = pd.DataFrame(
        {SIZE: sizes / 1e6, SIZE_RATIO: sizes / sizes.get(REFERENCE, math.nan)}, index=index
    )
    environment = pd.DataFrame(
        [_environment_row(benchmark.get(p, {})) for p in precisions],
        index=index,
        columns=list(ENVIRONMENT_COLUMNS),
    )
    configurations = [
        (p, config) for p in precisions for config in benchmark.get(p, {}).get("configurations", [])
    ]
    return {
        "size": size,
        "speed": _speed_table(configurations),
        "speedups": _speedup_table(benchmark),
        "environment": environment,
        "machine": _machine_rows([benchmark[p] for p in precisions if p in benchmark]),
        "benchmark_commands": [
            (f"{_label(p, c['setting'])}, {c['mode']}", c["command"]) for p, c in configurations
        ],
    }


def _label(precision: str, setting: str) -> str:
    """A benchmarked configuration as the speed-up table names it, e.g. "FP32 f32"."""
    return f"{precision} {setting}"


def _speed_table(configurations: list[tuple[str, Mapping[str, Any]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [_speed_row(config) for _, config in configurations],
        index=pd.Index([_label(p, c["setting"]) for p, c in configurations], name="Configuration"),
        columns=list(SPEED_COLUMNS),
    )


def _speed_row(config: Mapping[str, Any]) -> dict[str, Any]:
    summary = config["summary"]
    fps, latency = summary["throughput_fps"], summary["latency_median_ms"]
    convolutions = config["executed_layers"].get("Convolution", {})
    return {
        MODE: config["mode"],
        INFERENCE_PRECISION: config["inference_precision"],
        CONV_PRECISION: ", ".join(convolutions) or None,
        STREAMS: _num(config["streams"]),
        THREADS: _num(config["threads"]),
        RUNS: len(config["runs"]),
        FPS: fps["median"],
        FPS_RANGE: (fps["min"], fps["max"]),
        LATENCY_MEDIAN: latency["median"],
        LATENCY_RANGE: (latency["min"], latency["max"]),
        LATENCY_AVG: summary["latency_avg_ms"]["median"],
        OTHER_CPU: summary["other_cpu_percent"]["max"],
    }


def _speedup_table(benchmark: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    rows = speedups(benchmark)
    return pd.DataFrame(
        [
            {
                FPS: _num(r["target_fps"]),
                BASELINE_FPS: _num(r["baseline_fps"]),
                SPEEDUP: _num(r["throughput_speedup"]),
                LATENCY_MEDIAN: _num(r["target_latency_ms"]),
                BASELINE_LATENCY: _num(r["baseline_latency_ms"]),
                LATENCY_SPEEDUP: _num(r["latency_speedup"]),
            }
            for r in rows
        ],
        index=pd.Index([_comparison(r["target"], r["baseline"]) for r in rows], name="Comparison"),
        columns=list(SPEEDUP_COLUMNS),
        dtype=float,
    )


def _comparison(target: str, baseline: str) -> str:
    return f"{target} vs {baseline}"


def _environment_row(bench: Mapping[str, Any]) -> dict[str, Any]:
    settings = bench.get("settings", {})
    return {
        "Device": settings.get("device"),
        "Duration (s)": _num(settings.get("duration")),
        "Repeats": _num(settings.get("repeats")),
        "OpenVINO (benchmark)": bench.get("openvino_version"),
    }


def _machine_rows(records: list[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The benchmark machine; INT8 speed-ups depend on VNNI / AMX, so the flags matter."""
    machines = [_machine_facts(r) for r in records]
    if not machines:
        return []
    first = machines[0]
    if any(m != first for m in machines[1:]):
        note = "precisions were benchmarked on different machines or versions; first shown"
        return [*first, ("Note", note)]
    return first


def _machine_facts(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    machine = record["machine"]
    cores = ", ".join(
        f"{format_value(machine[key], 'int')} {name}"
        for key, name in (
            ("logical_cores", "logical"),
            ("physical_cores", "physical"),
            ("usable_cores", "usable"),
        )
    )
    flags = ", ".join(f"{n}: {'yes' if on else 'no'}" for n, on in machine["isa"].items())
    return [
        ("CPU", format_value(machine["cpu_model"], "text")),
        ("Cores", cores),
        ("ISA flags", flags or MISSING),
        ("OpenVINO", format_value(record["openvino_version"], "text")),
        ("NNCF", format_value(record["nncf_version"], "text")),
    ]


def accuracy_table(records: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The 12 COCO stats of each precision on one evaluation set."""
    precisions = ordered_precisions(records)
    return pd.DataFrame(
        [[_num(records[p]["stats"].get(s)) for s in STATS] for p in precisions],
        index=pd.Index(precisions, name="Precision"),
        columns=list(STATS),
        dtype=float,
    )


def delta_table(comparisons: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Each precision minus FP32 on one set, as delta.yaml has it, with ΔAP's interval."""
    precisions = ordered_precisions(comparisons)
    rows = []
    for p in precisions:
        stats, interval = comparisons[p]["stats"], comparisons[p]["ap_interval"]
        rows.append(
            {
                DELTA_AP: stats["AP"],
                INTERVAL: (interval["low"], interval["high"]),
                **{f"Δ{s}": stats[s] for s in STATS[1:]},
            }
        )
    return pd.DataFrame(
        rows, index=pd.Index(precisions, name="Precision"), columns=list(DELTA_COLUMNS)
    )


def class_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Per-class AP of FP32 and INT8 and its change, rows as delta.yaml lists them."""
    return pd.DataFrame(
        [[r["reference"], r["candidate"], r["delta"]] for r in rows],
        index=pd.Index([r["class"] for r in rows], name="Class"),
        columns=list(CLASS_COLUMNS),
        dtype=float,
    )


def evaluation_table(sets: Sequence[EvaluationSet]) -> pd.DataFrame:
    """How many images each set evaluated, out of how many, chosen how."""
    rows = []
    for s in sets:
        record = s.record
        selection = record.get("selection") or {}
        rows.append(
            {
                EVALUATED: record.get("images"),
                ANNOTATED: selection.get("images_in_annotations"),
                ANNOTATIONS: record.get("annotations"),
                CLASSES: _classes_text(record),
                MAX_IMAGES: selection.get("max_images") or "all",
                RESERVE: selection.get("reserve"),
                SEED: selection.get("seed"),
            }
        )
    return pd.DataFrame(
        rows, index=pd.Index([s.name for s in sets], name="Set"), columns=list(EVALUATION_COLUMNS)
    )


def _classes_text(record: Mapping[str, Any]) -> str:
    classes = record.get("classes_evaluated", "all")
    return "all" if classes == "all" else ", ".join(classes)


# Headline and verdict

Verdict = Literal["ship", "do_not_ship", "inconclusive", "none"]
VERDICT_LABELS: dict[str, str] = {
    "ship": f"Ship {TARGET}",
    "do_not_ship": "Do not ship",
    "inconclusive": "Inconclusive",
    "none": "No verdict",
}


def verdict_of(
    low: float | None, high: float | None, max_drop: float | None, reference_ap: float | None
) -> Verdict:
    """Ship when even the interval's pessimistic end loses at most max_drop AP; do not ship when
    even its optimistic end loses more; otherwise these images cannot tell. No verdict when FP32's
    AP is itself within the budget: no drop could exceed it, so passing would mean nothing."""
    if low is None or high is None or max_drop is None or reference_ap is None:
        return "none"
    if reference_ap <= max_drop:
        return "none"
    if low >= -max_drop:
        return "ship"
    if high < -max_drop:
        return "do_not_ship"
    return "inconclusive"


def verdict_rule(dataset: str, max_drop: float | None) -> str:
    budget = _budget(max_drop)
    return (
        f"Verdict rule: ΔAP = AP({TARGET}) - AP({REFERENCE}) on {dataset}, with its 95% "
        f"paired-bootstrap interval [low, high]; the budget is quantization.max_drop = {budget} "
        f"AP. Ship if low ≥ -{budget}: even the pessimistic end of the interval is within the "
        f"budget. Do not ship if high < -{budget}: even the optimistic end is beyond it. "
        "Otherwise inconclusive: the interval straddles the budget, and more evaluation images "
        f"would narrow it. No verdict if AP({REFERENCE}) ≤ {budget}: no drop could exceed the "
        "budget then. Speed is shown beside the verdict, not part of it."
    )


@dataclass(frozen=True)
class SpeedUp:
    metric: str  # Throughput or Latency
    baseline: str  # e.g. "FP32 f32"
    ratio: float | None  # above 1 is faster
    before: float | None  # the baseline's median
    after: float | None  # INT8's median
    unit: str


@dataclass(frozen=True)
class Headline:
    """INT8 vs FP32 on the primary set, as the report's headline and the index show it."""

    model: str
    dataset: str
    images: int | None
    max_drop: float | None
    ap: dict[str, float | None]  # REFERENCE and TARGET
    delta: float | None
    low: float | None
    high: float | None
    speedups: list[SpeedUp]
    ir_bytes: dict[str, int | None]  # REFERENCE and TARGET

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.low, self.high, self.max_drop, self.ap.get(REFERENCE))

    @property
    def interval(self) -> tuple[float, float] | None:
        return None if self.low is None or self.high is None else (self.low, self.high)

    @property
    def size_ratio(self) -> float | None:
        before, after = self.ir_bytes.get(REFERENCE), self.ir_bytes.get(TARGET)
        return after / before if before and after is not None else None

    def verdict_text(self) -> str:
        reference_ap = self.ap.get(REFERENCE)
        if self.verdict == "none" and self.interval and reference_ap is not None:
            return (
                f"No verdict: {REFERENCE} AP {format_value(reference_ap, 'stat')} on "
                f"{self.dataset} is within the {_budget(self.max_drop)} budget itself, so no "
                f"{TARGET} drop could exceed it; the {REFERENCE} model barely detects anything "
                "(e.g. an archive without trained weights)."
            )
        if self.verdict == "none":
            return (
                f"No verdict: it needs {REFERENCE} and {TARGET} accuracy on {self.dataset} "
                "with a ΔAP interval, and quantization.max_drop."
            )
        stated = (
            f"ΔAP {format_value(self.delta, 'delta')} "
            f"{format_value(self.interval, 'interval')} on {self.dataset}"
        )
        budget = f"the {_budget(self.max_drop)} budget"
        return {
            "ship": f"Ship {TARGET}: {stated} is within {budget}.",
            "do_not_ship": f"Do not ship {TARGET}: {stated} is beyond {budget}.",
            "inconclusive": (
                f"Inconclusive: {stated} straddles {budget}; evaluate more images to decide."
            ),
        }[self.verdict]

    def caveat(self) -> str | None:
        """Where INT8 is slower than a baseline: a shippable model that buys no speed there."""
        slower: dict[str, list[str]] = {}
        for s in self.speedups:
            if s.ratio is not None and s.ratio < 1:
                slower.setdefault(s.baseline, []).append(f"{s.metric.lower()} {_times(s.ratio)}")
        if not slower:
            return None
        against = "; than ".join(f"{b} ({', '.join(found)})" for b, found in slower.items())
        return f"Caveat: on the benchmark machine {TARGET} is slower than {against}."

    def to_record(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "verdict": self.verdict,
            "verdict_text": self.verdict_text(),
            "size_ratio": self.size_ratio,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Headline:
        """Back from to_record (the derived keys are recomputed, not read)."""
        values = {f.name: record[f.name] for f in dataclasses.fields(cls)}
        values["speedups"] = [SpeedUp(**s) for s in record["speedups"]]
        return cls(**values)


def build_headline(inputs: ReportInputs, speedup_table: pd.DataFrame) -> Headline:
    primary = inputs.sets[0]
    interval = (primary.comparison() or {}).get("ap_interval") or {}
    return Headline(
        model=inputs.meta.get("model", MISSING),
        dataset=primary.name,
        images=primary.record.get("images"),
        max_drop=inputs.meta.get("max_drop"),
        ap={p: primary.accuracy.get(p, {}).get("stats", {}).get("AP") for p in (REFERENCE, TARGET)},
        delta=interval.get("delta"),
        low=interval.get("low"),
        high=interval.get("high"),
        speedups=_headline_speedups(speedup_table),
        ir_bytes={p: inputs.ir_sizes.get(p) for p in (REFERENCE, TARGET)},
    )


def _headline_speedups(table: pd.DataFrame) -> list[SpeedUp]:
    """INT8 against each FP32 baseline, read off the speed-up table."""
    rows = table.reindex([_comparison(t, b) for t, b in HEADLINE_PAIRS])
    return [
        SpeedUp(metric, baseline, *(_number(row[c]) for c in (ratio, before, after)), unit)
        for metric, (ratio, before, after, unit) in _SPEEDUP_METRICS.items()
        for (_, baseline), (_, row) in zip(HEADLINE_PAIRS, rows.iterrows(), strict=True)
    ]


def read_headline(path: Path) -> Headline:
    return Headline.from_record(_read_yaml(path))


# Charts


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes
    drawn: bool  # False: a placeholder saying there was nothing to draw


def render_charts(inputs: ReportInputs, tables: Mapping[str, Any]) -> dict[str, Chart]:
    figures = {
        DELTA_CHART: _delta_figure(inputs.sets, inputs.meta.get("max_drop")),
        **{mode: _speed_figure(tables["speed"], mode) for mode in SPEED_CHARTS},
        **{class_chart(s.name): _class_figure(s) for s in inputs.sets},
    }
    return {
        name: Chart(title, _png(figure or _placeholder(title)), figure is not None)
        for name, (title, figure) in figures.items()
    }


def _delta_figure(
    sets: Sequence[EvaluationSet], max_drop: float | None
) -> tuple[str, Figure | None]:
    """ΔAP of every precision on every set with its interval, against the budget line."""
    title = f"ΔAP vs {REFERENCE} with its 95% paired-bootstrap interval"
    rows = [
        (f"{s.name}, {p}", p, c["ap_interval"])
        for s in sets
        for p in _compared_precisions(s)
        if (c := s.comparison(p))
    ]
    if not rows:
        return title, None
    deltas = np.array([r[2]["delta"] for r in rows])
    lows, highs = np.array([r[2]["low"] for r in rows]), np.array([r[2]["high"] for r in rows])
    fig = Figure(figsize=(7.6, 1.5 + 0.45 * len(rows)), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    for i, (_, precision, _) in enumerate(rows):
        color = _PRECISION_COLORS.get(precision, "#7f8c8d")
        error = [[deltas[i] - lows[i]], [highs[i] - deltas[i]]]
        ax.errorbar(deltas[i], y[i], xerr=error, fmt="o", color=color, capsize=5, markersize=6)
        label = (
            f"{format_value(deltas[i], 'delta')} {format_value((lows[i], highs[i]), 'interval')}"
        )
        _note(ax, label, (highs[i], y[i]), (6, 0), va="center")
    budget = [] if max_drop is None else [-max_drop]
    left, right = min(lows.min(), *budget, 0.0), max(highs.max(), 0.0)
    span = max(right - left, 1e-4)
    # Room on the right for the value labels.
    ax.set_xlim(left - 0.15 * span, right + 0.75 * span)
    ax.axvline(0.0, color="#444", linewidth=0.8)
    if max_drop is not None:
        ax.axvspan(ax.get_xlim()[0], -max_drop, color=_LOSS_COLOR, alpha=0.1, linewidth=0)
        ax.axvline(-max_drop, color=_LOSS_COLOR, linestyle="--", linewidth=1)
        budget_line = (-max_drop, 1.0)
        _note(
            ax,
            f"budget -{_budget(max_drop)}",
            budget_line,
            (-3, -3),
            ha="right",
            va="top",
            color=_LOSS_COLOR,
            xycoords=("data", "axes fraction"),
        )
    ax.set_yticks(y, [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_ylim(len(rows) - 0.4, -0.8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"ΔAP = AP(precision) - AP({REFERENCE}), COCO AP@[.50:.95]")
    ax.set_ylabel("Evaluation set, precision")
    ax.grid(axis="x", color="#e5e5e5")
    return title, fig


def _note(
    ax: Any, text: str, xy: tuple[float, float], offset: tuple[int, int], **style: Any
) -> None:
    """Small text `offset` points away from `xy`."""
    ax.annotate(text, xy, xytext=offset, textcoords="offset points", fontsize=8, **style)


def _compared_precisions(evaluation: EvaluationSet) -> list[str]:
    """INT8 first: the one the verdict is about."""
    return sorted(ordered_precisions(evaluation.comparisons), key=lambda p: p != TARGET)


def _speed_figure(speed: pd.DataFrame, mode: str) -> tuple[str, Figure | None]:
    """One bar per configuration measured in `mode`, whiskers from the repeats' min-max."""
    column, range_column, name, unit = {
        "throughput": (FPS, FPS_RANGE, "Throughput", "frames/s (FPS), higher is faster"),
        "latency": (LATENCY_MEDIAN, LATENCY_RANGE, "Median latency", "ms, lower is faster"),
    }[mode]
    rows = speed[speed[MODE] == mode]
    title = f"{name}, {mode} mode (whiskers: min-max of the runs)"
    return title, _bar_figure(rows[column], title, unit, COLUMN_KINDS[column], rows[range_column])


def _bar_figure(
    values: pd.Series, title: str, unit: str, kind: Kind, spread: pd.Series
) -> Figure | None:
    """Bars of values; spread holds each bar's (min, max) for its whisker."""
    finite = np.isfinite(values.to_numpy(dtype=float))
    values = values[finite]
    if values.empty:
        return None
    heights = values.to_numpy(dtype=float)
    low, high = np.array(spread[finite].tolist(), dtype=float).reshape(-1, 2).T
    fig = Figure(figsize=(5.2, 3.4), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    # Precision first in every label ("INT8", "INT8 default"), so it picks the colour.
    colors = [_PRECISION_COLORS.get(str(label).split()[0], "#7f8c8d") for label in values.index]
    bars = ax.bar(
        list(values.index), heights, color=colors, yerr=[heights - low, high - heights], capsize=4
    )
    # Inside the bars, so the whisker caps stay readable.
    labels = [format_value(v, kind) for v in values]
    ax.bar_label(bars, labels=labels, label_type="center", color="white", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit)
    ax.set_xlabel("IR precision, inference precision setting")
    ax.tick_params(axis="x", labelsize=8)
    ax.margins(y=0.12)
    ax.grid(axis="y", color="#e5e5e5")
    ax.set_axisbelow(True)
    return fig


def _class_figure(evaluation: EvaluationSet) -> tuple[str, Figure | None]:
    rows = _class_rows(evaluation)
    worst = rows[:WORST_CLASSES]
    heading = f"{evaluation.name}: per-class AP change, {TARGET} - {REFERENCE}"
    detail = f"the {len(worst)} worst of {len(rows)} classes"
    title = f"{heading}, {detail}"
    if len(rows) < 2:  # one class: its ΔAP is the set's, in the change table
        return f"{evaluation.name}: no per-class chart for fewer than two classes", None
    deltas = np.array([r["delta"] for r in worst])
    fig = Figure(figsize=(6.4, 1.4 + 0.27 * len(worst)), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    colors = [_LOSS_COLOR if d < 0 else _GAIN_COLOR for d in deltas]
    bars = ax.barh([r["class"] for r in worst], deltas, color=colors)
    ax.invert_yaxis()  # worst on top
    ax.axvline(0.0, color="#444", linewidth=0.8)
    ax.bar_label(bars, labels=[format_value(d, "delta") for d in deltas], padding=3, fontsize=8)
    ax.set_title(f"{heading}\n{detail}", fontsize=10)
    ax.set_xlabel(f"ΔAP of the class ({TARGET} - {REFERENCE})")
    ax.set_ylabel("COCO class")
    ax.tick_params(axis="y", labelsize=8)
    ax.margins(x=0.3)
    ax.grid(axis="x", color="#e5e5e5")
    ax.set_axisbelow(True)
    return title, fig


def _class_rows(evaluation: EvaluationSet) -> list[dict[str, Any]]:
    """delta.yaml's per-class rows of INT8, worst first."""
    return (evaluation.comparison() or {}).get("classes") or []


def _placeholder(title: str) -> Figure:
    fig = Figure(figsize=(5.2, 1.0), dpi=_DPI)
    fig.text(0.5, 0.5, f"{title}\nNothing to draw in this run.", ha="center", va="center")
    return fig


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # No "Software" entry: the same inputs give the same bytes.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# Document: the blocks both renderings are made from


@dataclass(frozen=True)
class Link:
    text: str
    href: str  # relative to the page


@dataclass(frozen=True)
class Mark:
    """Text the HTML styles (e.g. a verdict); plain in Markdown."""

    text: str
    css: str


Cell = str | Link | Mark


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame


@dataclass(frozen=True)
class Images:
    items: tuple[tuple[Path, str], ...]  # (PNG, alt text)


@dataclass(frozen=True)
class Facts:
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Code:
    text: str
    language: str


@dataclass(frozen=True)
class Banner:
    verdict: Verdict
    text: str
    notes: tuple[str, ...]


Tone = Literal["good", "bad", "warn", ""]  # colours a value in HTML; "" leaves it plain


@dataclass(frozen=True)
class Card:
    figure: str
    value: str
    detail: str
    tone: Tone = ""


@dataclass(frozen=True)
class Cards:
    cards: tuple[Card, ...]


@dataclass(frozen=True)
class Row:
    """Blocks side by side in HTML (e.g. a chart and its table), one after another in Markdown."""

    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class SampleGrid:
    samples: Mapping[str, Sequence[Path]]


Block = Heading | Para | Table | Images | Facts | Code | Banner | Cards | Row | SampleGrid


def report_blocks(
    inputs: ReportInputs,
    tables: Mapping[str, Any],
    head: Headline,
    charts: Mapping[str, tuple[Path, str]],
) -> list[Block]:
    """The whole report; `charts` are the drawn charts (name → (PNG, title))."""
    return [
        *_headline_blocks(head, inputs.meta),
        *_accuracy_blocks(inputs.sets, charts),
        *_speed_blocks(tables, charts),
        *_samples_blocks(inputs),
        Heading(2, "Environment"),
        Para("Benchmark settings of each precision, and the machine benchmark_app ran on."),
        Table(tables["environment"]),
        Facts(tuple(tables["machine"])),
        *_provenance_blocks(inputs, tables),
    ]


def _headline_blocks(head: Headline, meta: ReportMeta) -> list[Block]:
    notes = (head.caveat(), verdict_rule(head.dataset, head.max_drop))
    return [
        Heading(1, f"{head.model}: should we ship {TARGET}?"),
        Para(format_value(meta.get("description"), "text")),
        Banner(head.verdict, head.verdict_text(), tuple(n for n in notes if n)),
        Heading(2, "Headline"),
        Cards(_cards(head)),
    ]


_VERDICT_TONES: dict[str, Tone] = {
    "ship": "good",
    "do_not_ship": "bad",
    "inconclusive": "warn",
    "none": "",
}


def _cards(head: Headline) -> tuple[Card, ...]:
    """ΔAP, then the throughput speed-ups, size, then the latency speed-ups: in a three-column
    grid each metric gets its own row."""
    ap = [format_value(head.ap.get(p), "stat") for p in (REFERENCE, TARGET)]
    images = format_value(head.images, "int")
    sizes = [format_value(_num(head.ir_bytes.get(p)) / 1e6, "mb") for p in (REFERENCE, TARGET)]
    accuracy = Card(
        f"ΔAP on {head.dataset} ({TARGET} - {REFERENCE})",
        format_value(head.delta, "delta"),
        f"95% interval {format_value(head.interval, 'interval')}; "
        f"AP {ap[0]} → {ap[1]} on {images} images",
        _VERDICT_TONES[head.verdict],
    )
    speed = [
        Card(
            f"{s.metric} speed-up vs {s.baseline}",
            _times(s.ratio),
            f"{format_value(s.before, _UNIT_KINDS[s.unit])} → "
            f"{format_value(s.after, _UNIT_KINDS[s.unit])} {s.unit}",
            _tone(s.ratio, above_one="good"),
        )
        for s in head.speedups
    ]
    size = Card(
        f"IR size, {TARGET} / {REFERENCE}",
        _times(head.size_ratio),
        f"{sizes[0]} → {sizes[1]} MB (.bin)",
        _tone(head.size_ratio, above_one="bad"),
    )
    half = len(speed) // 2
    return (accuracy, *speed[:half], size, *speed[half:])


def _tone(ratio: float | None, above_one: Tone) -> Tone:
    """`above_one` for a ratio above 1, the opposite below it."""
    if ratio is None or ratio == 1:
        return ""
    below_one = "bad" if above_one == "good" else "good"
    return above_one if ratio > 1 else below_one


def _chart_blocks(charts: Mapping[str, tuple[Path, str]], names: Iterable[str]) -> list[Block]:
    items = tuple(charts[n] for n in names if n in charts)
    return [Images(items)] if items else []


def _accuracy_blocks(
    sets: Sequence[EvaluationSet], charts: Mapping[str, tuple[Path, str]]
) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "Accuracy"),
        Para(_ACCURACY_NOTE),
        *_chart_blocks(charts, [DELTA_CHART]),
    ]
    for evaluation in sets:
        blocks += [
            Heading(3, evaluation.name),
            Para(_set_note(evaluation.record)),
            Table(accuracy_table(evaluation.accuracy)),
        ]
        deltas = delta_table(evaluation.comparisons)
        if not deltas.empty:
            heading = f"{evaluation.name}: change vs {REFERENCE}"
            blocks += [Heading(4, heading), Para(_DELTA_NOTE), Table(deltas)]
        rows = _class_rows(evaluation)
        if len(rows) > 1:
            listed = class_table(rows[:WORST_CLASSES_LISTED])
            blocks += [
                Heading(4, f"{evaluation.name}: per-class AP, {TARGET} vs {REFERENCE}"),
                Para(
                    f"The classes with the lowest ΔAP, worst first: {WORST_CLASSES} in the "
                    f"chart, {len(listed)} in the table."
                ),
                Row((*_chart_blocks(charts, [class_chart(evaluation.name)]), Table(listed))),
            ]
    return blocks


def _set_note(record: Mapping[str, Any]) -> str:
    counted = (
        f"{format_value(record.get('images'), 'int')} images, "
        f"{format_value(record.get('annotations'), 'int')} annotations"
    )
    classes = record.get("classes_evaluated", "all")
    names = _classes_text(record)
    if classes == "all":
        return f"{counted}; scored on all classes."
    if len(classes) == 1:
        return f"{counted}; a one-class set, scored on {names} only: its AP is the {names} AP."
    return f"{counted}; scored on the classes {names} only."


def _speed_blocks(tables: Mapping[str, Any], charts: Mapping[str, tuple[Path, str]]) -> list[Block]:
    speedups_table = tables["speedups"]
    return [
        Heading(2, "Speed"),
        Para(_SPEED_NOTE),
        Table(tables["speed"]),
        *_chart_blocks(charts, SPEED_CHARTS),
        Heading(3, "Speed-up"),
        Para(_NO_SPEEDUP_NOTE if speedups_table.empty else _SPEEDUP_NOTE),
        Table(speedups_table),
        Heading(2, "Size"),
        Para(_SIZE_NOTE),
        Table(tables["size"]),
    ]


def _samples_blocks(inputs: ReportInputs) -> list[Block]:
    if not inputs.samples:
        return []
    threshold = format_value(inputs.meta.get("sample_score_threshold"), "text")
    dataset = inputs.sets[0].name if inputs.sets else MISSING
    return [
        Heading(2, "Samples"),
        Para(
            f"The same {dataset} evaluation images through each precision; detections scoring "
            f"at least {threshold} are drawn with their class name and score."
        ),
        SampleGrid(inputs.samples),
    ]


def _provenance_blocks(inputs: ReportInputs, tables: Mapping[str, Any]) -> list[Block]:
    methods = dict.fromkeys(
        (s.record.get("selection") or {}).get("method", MISSING) for s in inputs.sets
    )
    blocks: list[Block] = [
        Heading(2, "How it was made"),
        Facts(tuple(_provenance(inputs))),
        Heading(3, "Evaluation sets"),
        Para(f"Images chosen by {'; '.join(methods)}. {_SELECTION_NOTE}"),
        Table(evaluation_table(inputs.sets)),
    ]
    nncf_log = ((inputs.quantization or {}).get("accuracy_control") or {}).get("nncf_log")
    if nncf_log:
        blocks += [Heading(3, "NNCF accuracy-control log"), Code("\n".join(nncf_log), "text")]
    meta = inputs.meta
    blocks += [
        Heading(3, "Configuration"),
        Code(yaml.safe_dump(meta.get("config") or {}, sort_keys=False, allow_unicode=True), "yaml"),
        Heading(3, "Commands"),
        Code("\n".join(meta.get("commands") or []), "sh"),
    ]
    if tables["benchmark_commands"]:
        commands = [_COMMANDS_NOTE, *(f"# {p}\n{c}" for p, c in tables["benchmark_commands"])]
        blocks += [Heading(3, "Benchmark commands"), Code("\n".join(commands), "sh")]
    return blocks


def _provenance(inputs: ReportInputs) -> list[tuple[str, str]]:
    meta = inputs.meta

    def get(key: str, kind: Kind = "text") -> str:
        return format_value(meta.get(key), kind)

    primary = inputs.sets[0].record if inputs.sets else {}
    inference = primary.get("inference") or {}
    runtime = ", ".join(f"{k} {v}" for k, v in (primary.get("runtime") or {}).items())
    return [
        ("Model", f"{get('model')}: {get('description')}"),
        ("Source archive", get("archive_url")),
        ("Archive SHA-256", get("archive_sha256")),
        *_quantization_facts(inputs.quantization),
        (
            "Post-processing",
            f"detections scoring at or below {get('score_threshold')} are dropped before COCO "
            f"evaluation ({get('score_threshold_source')})",
        ),
        ("ΔAP interval", _bootstrap_method(inputs.sets)),
        (
            "Accuracy inference",
            f"device {format_value(inference.get('device'), 'text')}, precision hint "
            f"{format_value(inference.get('precision_hint'), 'text')}; "
            f"{runtime or MISSING}",
        ),
    ]


def _quantization_facts(info: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not info:
        return [("Quantization", f"no {TARGET} model in this run")]
    api = {"default": "nncf.quantize", "accuracy_control": "nncf.quantize_with_accuracy_control"}
    mode = info.get("mode")
    rows = [
        (
            "Quantization",
            f"mode {mode} ({api.get(mode, MISSING)}), preset {info.get('preset')}, "
            f"{info.get('calibration_images')} calibration images from "
            f"{info.get('calibration_folder')}; {info.get('fake_quantize_ops')} FakeQuantize ops",
        )
    ]
    control = info.get("accuracy_control")
    if control:
        rows.append(
            (
                "Accuracy control",
                f"max_drop {_budget(control['max_drop'])} COCO AP (absolute) on "
                f"{control['validation_images']} validation images (the calibration images, "
                f"never evaluated): {REFERENCE} AP {format_value(control['fp32_ap'], 'stat')}, "
                f"{TARGET} AP {format_value(control['int8_ap'], 'stat')}, drop "
                f"{format_value(control['drop'], 'stat')}",
            )
        )
    layers = info.get("float_layers") or []
    kept = ", ".join(layers) or "none: every convolution and matrix multiplication is quantized"
    rows.append(("Layers kept in float", kept))
    return rows


def _bootstrap_method(sets: Sequence[EvaluationSet]) -> str:
    """The method sentence of the first interval in the run (the same method for all)."""
    for evaluation in sets:
        for precision in _compared_precisions(evaluation):
            comparison = evaluation.comparison(precision) or {}
            method = (comparison.get("ap_interval") or {}).get("method")
            if method:
                return method
    return MISSING


# Markdown


def to_markdown(blocks: Sequence[Block], base: Path) -> str:
    """GitHub Markdown; images and samples are linked relative to `base`, the file's folder."""
    chunks = [_md_block(block, base) for block in blocks]
    return "\n\n".join(chunk for chunk in chunks if chunk) + "\n"


def _md_block(block: Block, base: Path) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {text}"
        case Para(text):
            return text
        case Table(frame):
            return "\n".join(_md_table(frame))
        case Images(items):
            return "\n".join(f"![{alt}]({_relative(path, base)})" for path, alt in items)
        case Facts(rows):
            return "\n".join(f"- **{field}**: {value}" for field, value in rows)
        case Code(text, language):
            return f"```{language}\n{text.rstrip()}\n```"
        case Banner(_, text, notes):
            return "\n\n".join([f"**{text}**", *(f"_{note}_" for note in notes)])
        case Cards(cards):
            rows = [["Figure", "Value", "Detail"], [":---", "---:", ":---"]]
            rows += [[c.figure, c.value, c.detail] for c in cards]
            return "\n".join(_md_row(row) for row in rows)
        case Row(inner):
            return "\n\n".join(_md_block(b, base) for b in inner)
        case SampleGrid(samples):
            return "\n".join(_md_samples(samples, base))
    raise TypeError(f"not a report block: {block!r}")


def _relative(path: Path, base: Path) -> str:
    return quote(_relative_href(path, base))


def _md_table(table: pd.DataFrame) -> list[str]:
    header, rows, numeric = _cells(table)
    rule = ["---:" if right else ":---" for right in numeric]
    return [_md_row(header), _md_row(rule), *(_md_row([_md_cell(c) for c in row]) for row in rows)]


def _md_cell(cell: Cell) -> str:
    match cell:
        case Link(text, href):
            return f"[{text}]({quote(href)})"
        case Mark(text, _):
            return text
    return cell


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_samples(samples: Mapping[str, Sequence[Path]], base: Path) -> list[str]:
    precisions, rows = _sample_grid(samples)
    lines = []
    for row in rows:
        links = [
            f"[{p}]({_relative(path, base)})" if path else f"{p} {MISSING}"
            for p, path in zip(precisions, row, strict=True)
        ]
        lines.append(f"- {_image_name(row)}: " + " · ".join(links))
    return lines


def _cells(table: pd.DataFrame) -> tuple[list[str], list[list[Cell]], list[bool]]:
    """Header, formatted rows, and which columns are numbers (right-aligned)."""
    header = [table.index.name or "", *table.columns]
    rows = [
        [_cell(index, "text"), *(_cell(row[c], COLUMN_KINDS[c]) for c in table.columns)]
        for index, row in table.iterrows()
    ]
    numeric = [False, *(COLUMN_KINDS[c] != "text" for c in table.columns)]
    return header, rows, numeric


def _cell(value: Any, kind: Kind) -> Cell:
    return value if isinstance(value, Link | Mark) else format_value(value, kind)


def _sample_grid(samples: Mapping[str, Sequence[Any]]) -> tuple[list[str], list[list[Any]]]:
    """Precisions (FP32 and INT8 side by side first), then one row per image with that image's
    sample in each (None if absent)."""
    present = ordered_precisions(samples)
    first = [p for p in (REFERENCE, TARGET) if p in present]
    precisions = first + [p for p in present if p not in first]
    count = max((len(samples[p]) for p in precisions), default=0)
    rows = [
        [samples[p][i] if i < len(samples[p]) else None for p in precisions] for i in range(count)
    ]
    return precisions, rows


def _image_name(row: list[Any]) -> str:
    return PurePosixPath(str(next(item for item in row if item is not None))).name


# HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;
 max-width:1240px;margin:1.5rem auto 4rem;padding:0 1.2rem;line-height:1.45;background:#fff}
h1{font-size:1.75rem;margin:.2rem 0 .3rem}
h2{margin-top:2.4rem;border-bottom:2px solid #d9e2ec;padding-bottom:.25rem}
h3{margin-top:1.6rem}h4{margin:1.2rem 0 .4rem;color:#334e68}
nav{font-size:.9rem;margin:.3rem 0 1rem;color:#52606d}nav a{margin-right:1rem}
a{color:#1d5fa8}
.verdict{border-left:6px solid;border-radius:6px;padding:.8rem 1.1rem;margin:1rem 0}
.verdict .line{font-size:1.3rem;font-weight:700;margin:0 0 .3rem}
.verdict p{margin:.25rem 0}.verdict .note{font-size:.9rem;color:#334e68}
.ship{background:#e3f9e5;border-color:#1e8449}.ship .line{color:#145a32}
.do_not_ship{background:#fdecea;border-color:#c0392b}.do_not_ship .line{color:#922b21}
.inconclusive{background:#fff6e0;border-color:#d68910}.inconclusive .line{color:#7e5109}
.none{background:#f0f4f8;border-color:#829ab1}
.cards{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:.8rem}
.card{border:1px solid #d9e2ec;border-radius:8px;padding:.7rem .9rem;background:#f8fafc}
.card .value{font-size:1.6rem;font-weight:700;font-variant-numeric:tabular-nums}
.card.good .value{color:#1e8449}.card.bad .value{color:#c0392b}.card.warn .value{color:#b9770e}
.row{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
.card .label{font-size:.85rem;color:#52606d}.card .detail{font-size:.82rem;color:#334e68}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.86rem}
th,td{border:1px solid #d9e2ec;padding:.3rem .55rem;text-align:left;white-space:nowrap}
thead th{background:#eef2f7;white-space:normal;vertical-align:bottom}
tbody tr:nth-child(even){background:#f8fafc}
td.num{text-align:right;font-variant-numeric:tabular-nums}
span.ship,span.do_not_ship,span.inconclusive,span.none{padding:.05rem .45rem;border-radius:4px;
 font-weight:600}
span.good{color:#1e8449;font-weight:600}span.bad{color:#c0392b;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start;margin:.6rem 0}
.charts img{max-width:100%;height:auto;border:1px solid #e4e7eb;border-radius:4px}
table.samples{width:100%;table-layout:fixed}
table.samples td,table.samples th{white-space:normal}
table.samples img{width:100%;height:auto;display:block}
pre{background:#f5f7fa;padding:.75rem;overflow-x:auto;font-size:.82rem;border-radius:4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
""".strip()


def to_html(blocks: Sequence[Block], title: str) -> str:
    """One self-contained page: no external URL, every image inline as a data: URI."""
    body = [_html_block(block) for block in blocks]
    nav = _html_nav(blocks)
    # The contents line goes under the title.
    if nav and blocks and isinstance(blocks[0], Heading):
        body.insert(1, nav)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{_CSS}\n</style>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _html_nav(blocks: Sequence[Block]) -> str:
    links = [
        f'<a href="#{_slug(b.text)}">{html.escape(b.text)}</a>'
        for b in blocks
        if isinstance(b, Heading) and b.level == 2
    ]
    return f"<nav>{''.join(links)}</nav>" if len(links) > 1 else ""


def _html_block(block: Block) -> str:
    esc = html.escape
    match block:
        case Heading(level, text):
            return f'<h{level} id="{_slug(text)}">{esc(text)}</h{level}>'
        case Para(text):
            return f"<p>{esc(text)}</p>"
        case Table(frame):
            return _html_table(frame)
        case Images(items):
            images = "".join(
                f'<img src="{_image_data_uri(path)}" alt="{esc(alt)}">' for path, alt in items
            )
            return f'<div class="charts">{images}</div>'
        case Facts(rows):
            items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
            return f"<dl>{items}</dl>"
        case Code(text, _):
            return f"<pre>{esc(text.rstrip())}</pre>"
        case Banner(verdict, text, notes):
            lines = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
            return f'<div class="verdict {verdict}"><p class="line">{esc(text)}</p>{lines}</div>'
        case Cards(cards):
            return (
                '<div class="cards">'
                + "".join(
                    f'<div class="card {c.tone}"><div class="label">{esc(c.figure)}</div>'
                    f'<div class="value">{esc(c.value)}</div>'
                    f'<div class="detail">{esc(c.detail)}</div></div>'
                    for c in cards
                )
                + "</div>"
            )
        case Row(inner):
            return (
                '<div class="row">'
                + "".join(f"<div>{_html_block(b)}</div>" for b in inner)
                + "</div>"
            )
        case SampleGrid(samples):
            return _html_samples(samples)
    raise TypeError(f"not a report block: {block!r}")


def _html_table(table: pd.DataFrame) -> str:
    header, rows, numeric = _cells(table)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr><th>{_html_text(row[0])}</th>"
        + "".join(_html_cell(c, right) for c, right in zip(row[1:], numeric[1:], strict=True))
        + "</tr>\n"
        for row in rows
    )
    table = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _html_text(cell: Cell) -> str:
    match cell:
        case Link(text, href):
            return f'<a href="{html.escape(quote(href))}">{html.escape(text)}</a>'
        case Mark(text, css):
            return f'<span class="{css}">{html.escape(text)}</span>'
    return html.escape(cell)


def _html_cell(cell: Cell, numeric: bool) -> str:
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{_html_text(cell)}</td>"


def _html_samples(samples: Mapping[str, Sequence[Path]]) -> str:
    precisions, rows = _sample_grid(samples)
    head = "<th>Image</th>" + "".join(f"<th>{html.escape(p)}</th>" for p in precisions)
    body = []
    for row in rows:
        name = html.escape(_image_name(row))
        cells = [
            f'<td><img src="{_image_data_uri(path)}" alt="{html.escape(p)} {name}"></td>'
            if path
            else f"<td>{MISSING}</td>"
            for p, path in zip(precisions, row, strict=True)
        ]
        body.append(f"<tr><th>{name}</th>{''.join(cells)}</tr>")
    # The name column stays narrow so the images get the width.
    return (
        '<table class="samples"><colgroup><col style="width:8.5rem"></colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>"
    )


def _image_data_uri(path: Path) -> str:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        mime = Image.MIME[image.format]
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# Output


def write_report(inputs: ReportInputs, outputs: ReportOutputs) -> Headline:
    """Charts, Markdown, HTML and headline.yaml of one model, each written atomically."""
    tables = build_tables(inputs.benchmark, inputs.ir_sizes)
    head = build_headline(inputs, tables["speedups"])
    charts = render_charts(inputs, tables)
    if set(charts) != set(outputs.plots):
        raise ValueError(f"charts {sorted(charts)} but plot files {sorted(outputs.plots)}")
    for name, chart in charts.items():
        atomic.write_bytes(outputs.plots[name], chart.png)
    drawn = {n: (outputs.plots[n], chart.title) for n, chart in charts.items() if chart.drawn}
    blocks = report_blocks(inputs, tables, head, drawn)
    atomic.write_text(outputs.md, to_markdown(blocks, outputs.md.parent))
    atomic.write_text(outputs.html, to_html(blocks, f"{head.model}: {TARGET} vs {REFERENCE}"))
    record = yaml.safe_dump(head.to_record(), sort_keys=False, allow_unicode=True)
    atomic.write_text(outputs.headline, record)
    return head


# Index: every model's headline, linking its report


@dataclass(frozen=True)
class IndexEntry:
    headline: Headline
    html: Path  # the model's report.html
    md: Path  # and report.md


def index_blocks(entries: Sequence[IndexEntry], base: Path) -> list[Block]:
    """The index page, links relative to `base` (the folder of index.md and index.html)."""
    heads = [e.headline for e in entries]
    budgets = {h.max_drop for h in heads}
    datasets = {h.dataset for h in heads}
    rule = verdict_rule(
        next(iter(datasets)) if len(datasets) == 1 else "the primary set",
        next(iter(budgets)) if len(budgets) == 1 else None,
    )
    return [
        Heading(1, f"{TARGET} vs {REFERENCE}: one report per model"),
        Para(
            f"Each model's {TARGET} IR against its {REFERENCE} IR: the verdict, ΔAP with its 95% "
            "interval, speed-ups against both FP32 baselines (true f32 and the device default; "
            "above 1 is faster) and IR size. A model's name links to its full report, the "
            "Markdown column to the same report as report.md."
        ),
        Table(_index_table(entries, base)),
        Para(rule),
    ]


def _index_table(entries: Sequence[IndexEntry], base: Path) -> pd.DataFrame:
    rows = []
    for entry in entries:
        h = entry.headline
        speeds = {
            speedup_column(s.metric, s.baseline): Mark(
                format_value(s.ratio, "ratio"), _tone(s.ratio, above_one="good")
            )
            for s in h.speedups
        }
        rows.append(
            {
                VERDICT: Mark(VERDICT_LABELS[h.verdict], h.verdict),
                IMAGES: h.images,
                DELTA_AP: h.delta,
                INTERVAL: h.interval,
                **speeds,
                SIZE_RATIO: h.size_ratio,
                MD_REPORT: Link("report.md", _relative_href(entry.md, base)),
            }
        )
    models = pd.Index(
        [Link(e.headline.model, _relative_href(e.html, base)) for e in entries], name="Model"
    )
    return pd.DataFrame(rows, index=models, columns=list(INDEX_COLUMNS))


def _relative_href(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def write_index(md_path: Path, html_path: Path, entries: Sequence[IndexEntry]) -> None:
    """index.md and a self-contained index.html, in one folder, linking every model's report."""
    if md_path.parent.resolve() != html_path.parent.resolve():
        raise ValueError("index.md and index.html share one folder: their links are relative")
    blocks = index_blocks(entries, md_path.parent)
    atomic.write_text(md_path, to_markdown(blocks, md_path.parent))
    atomic.write_text(html_path, to_html(blocks, f"{TARGET} vs {REFERENCE} reports"))
