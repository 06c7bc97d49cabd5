"""The per-model report: accuracy, speed and size of each precision side by side.

Inputs are the already loaded accuracy and benchmark records, so a report can be built
(and tested) without running a model. Output is a Markdown file plus one self-contained
HTML page (inline CSS; charts and samples embedded as data: URIs) that opens offline.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
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

PRECISION_ORDER = ("FP32", "FP16", "INT8")
REFERENCE = "FP32"
TARGET = "INT8"
STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
MISSING = "—"
WORST_CLASSES = 20

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
SIZE_RATIO = "Size ratio (x)"
DELTA_STATS = tuple(f"Δ{s}" for s in STATS)

Kind = Literal[
    "stat", "delta", "fps", "ms", "ratio", "mb", "percent", "int", "text", "fps_range", "ms_range"
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
SIZE_COLUMNS: dict[str, Kind] = {SIZE: "mb"}
DELTA_COLUMNS: dict[str, Kind] = {**dict.fromkeys(DELTA_STATS, "delta"), SIZE_RATIO: "ratio"}
ENVIRONMENT_COLUMNS: dict[str, Kind] = {
    "Device": "text",
    "Duration (s)": "int",
    "Repeats": "int",
    "OpenVINO (benchmark)": "text",
    "Images": "int",
    "Annotations": "int",
    "Runtime (accuracy)": "text",
}
COLUMN_KINDS: dict[str, Kind] = {
    **dict.fromkeys(STATS, "stat"),
    **SPEED_COLUMNS,
    **SPEEDUP_COLUMNS,
    **SIZE_COLUMNS,
    **DELTA_COLUMNS,
    **ENVIRONMENT_COLUMNS,
}

_DELTA_NOTE = (
    f"Each precision against {REFERENCE}: Δ = precision - {REFERENCE}; size ratio = "
    f"precision IR size / {REFERENCE} IR size. Speed-ups are under Speed."
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
_COMMANDS_NOTE = "# <report_folder>: a scratch folder per run, removed once its report is read"
_PRECISION_COLORS = {"FP32": "#5d6d7e", "FP16": "#2e86c1", "INT8": "#d35400"}


class ReportMeta(TypedDict, total=False):
    """How the models were made; every key is optional and shown as — when absent."""

    model: str
    description: str
    archive_url: str
    archive_sha256: str
    quantization_preset: str
    calibration_images: int
    calibration_source: str
    eval_images: int
    eval_selection: str
    config: dict[str, Any]
    commands: list[str]


# Formatting


def format_value(value: Any, kind: Kind) -> str:
    """The one place numbers become text, so tables, headline and charts agree."""
    if kind in ("fps_range", "ms_range"):
        if value is None:
            return MISSING
        number_kind: Kind = "fps" if kind == "fps_range" else "ms"
        return "-".join(format_value(v, number_kind) for v in value)
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


# Tables


def ordered_precisions(*sources: Iterable[str]) -> list[str]:
    """FP32, FP16, INT8 first (those present), any other precision after them by name."""
    present = set().union(*sources)
    return [p for p in PRECISION_ORDER if p in present] + sorted(present - set(PRECISION_ORDER))


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def build_tables(
    accuracy: Mapping[str, Mapping[str, Any]],
    benchmark: Mapping[str, Mapping[str, Any]],
    ir_sizes: Mapping[str, int],
) -> dict[str, Any]:
    """Raw (unformatted) tables from accuracy records and benchmark records (one per precision,
    shaped as schemas/benchmark.schema.json).

    Keys: accuracy, size, deltas, environment (DataFrames indexed by precision), speed (one
    row per benchmarked configuration and mode), speedups (one row per comparison),
    machine (list of (field, text)), benchmark_commands (list of (configuration, command)).
    """
    precisions = ordered_precisions(accuracy, benchmark, ir_sizes)
    index = pd.Index(precisions, name="Precision")
    acc = pd.DataFrame(
        [[_num(accuracy.get(p, {}).get("stats", {}).get(s)) for s in STATS] for p in precisions],
        index=index,
        columns=list(STATS),
        dtype=float,
    )
    size = pd.DataFrame(
        {SIZE: [_num(ir_sizes.get(p)) / 1e6 for p in precisions]}, index=index, dtype=float
    )
    environment = pd.DataFrame(
        [_environment_row(accuracy.get(p, {}), benchmark.get(p, {})) for p in precisions],
        index=index,
        columns=list(ENVIRONMENT_COLUMNS),
    )
    configurations = [
        (p, config) for p in precisions for config in benchmark.get(p, {}).get("configurations", [])
    ]
    return {
        "accuracy": acc,
        "size": size,
        "speed": _speed_table(configurations),
        "speedups": _speedup_table(benchmark),
        "deltas": _deltas(acc, size),
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


def _environment_row(acc: Mapping[str, Any], bench: Mapping[str, Any]) -> dict[str, Any]:
    runtime = acc.get("runtime") or {}
    settings = bench.get("settings", {})
    return {
        "Device": settings.get("device"),
        "Duration (s)": _num(settings.get("duration")),
        "Repeats": _num(settings.get("repeats")),
        "OpenVINO (benchmark)": bench.get("openvino_version"),
        "Images": _num(acc.get("images")),
        "Annotations": _num(acc.get("annotations")),
        "Runtime (accuracy)": ", ".join(f"{k} {v}" for k, v in runtime.items()) or None,
    }


def _deltas(acc: pd.DataFrame, size: pd.DataFrame) -> pd.DataFrame:
    if REFERENCE not in acc.index:
        return pd.DataFrame(
            columns=list(DELTA_COLUMNS), index=pd.Index([], name="Precision"), dtype=float
        )
    others = [p for p in acc.index if p != REFERENCE]
    deltas = acc.loc[others] - acc.loc[REFERENCE]
    deltas.columns = list(DELTA_STATS)
    deltas[SIZE_RATIO] = size.loc[others, SIZE] / size.at[REFERENCE, SIZE]
    return deltas


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


def per_class_delta(
    accuracy: Mapping[str, Mapping[str, Any]], precision: str = TARGET, reference: str = REFERENCE
) -> pd.Series:
    """Per-class AP change (precision - reference), worst first.

    Classes without a finite AP in both (no ground truth in the evaluated images) are left out.
    """
    if precision not in accuracy or reference not in accuracy:
        return pd.Series(dtype=float)
    ours = accuracy[precision].get("per_class_ap") or {}
    ref = accuracy[reference].get("per_class_ap") or {}
    deltas = {
        name: ours[name] - ref_ap
        for name, ref_ap in ref.items()
        if _finite(ref_ap) and _finite(ours.get(name))
    }
    return pd.Series(deltas, dtype=float).sort_values(kind="stable")


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(value)


def headline(tables: Mapping[str, Any]) -> str:
    """One sentence: what INT8 costs in AP and buys in speed and size against FP32."""
    deltas, acc, size = tables["deltas"], tables["accuracy"], tables["size"]
    if TARGET not in deltas.index:
        return f"No {TARGET} vs {REFERENCE} comparison: one of the two has no results."
    d = deltas.loc[TARGET]

    def change(column: str, kind: Kind, table: pd.DataFrame) -> str:
        before = format_value(table.at[REFERENCE, column], kind)
        return f"{before} → {format_value(table.at[TARGET, column], kind)}"

    parts = [
        f"ΔAP {format_value(d['ΔAP'], 'delta')} ({change('AP', 'stat', acc)})",
        *_speed_changes(tables["speedups"]),
        f"IR size {change(SIZE, 'mb', size)} MB (ratio {_times(d[SIZE_RATIO])})",
    ]
    return f"{TARGET} vs {REFERENCE}: " + "; ".join(parts) + "."


def _speed_changes(speedups_table: pd.DataFrame) -> list[str]:
    """Throughput and latency speed-up of INT8 against each FP32 baseline, true f32 first."""
    pairs = [
        (" ".join(t), " ".join(b)) for t, b in COMPARISONS if (t[0], b[0]) == (TARGET, REFERENCE)
    ]
    rows = speedups_table.reindex([_comparison(t, b) for t, b in pairs])

    def against_each(ratio: str, before: str, after: str, kind: Kind, unit: str) -> str:
        return ", ".join(
            f"{_times(row[ratio])} vs {baseline} "
            f"({format_value(row[before], kind)} → {format_value(row[after], kind)} {unit})"
            for (_, baseline), (_, row) in zip(pairs, rows.iterrows(), strict=True)
        )

    return [
        "throughput speed-up " + against_each(SPEEDUP, BASELINE_FPS, FPS, "fps", "FPS"),
        "latency speed-up "
        + against_each(LATENCY_SPEEDUP, BASELINE_LATENCY, LATENCY_MEDIAN, "ms", "ms"),
    ]


def _cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Header, formatted rows, and which columns are numbers (right-aligned)."""
    header = [table.index.name or "", *table.columns]
    rows = [
        [str(index), *(format_value(row[c], COLUMN_KINDS[c]) for c in table.columns)]
        for index, row in table.iterrows()
    ]
    numeric = [False, *(COLUMN_KINDS[c] != "text" for c in table.columns)]
    return header, rows, numeric


def _sample_grid(samples: Mapping[str, Sequence[Any]]) -> tuple[list[str], list[list[Any]]]:
    """Precisions, then one row per image with that image's sample in each (None if absent)."""
    precisions = ordered_precisions(samples)
    count = max((len(samples[p]) for p in precisions), default=0)
    rows = [
        [samples[p][i] if i < len(samples[p]) else None for p in precisions] for i in range(count)
    ]
    return precisions, rows


def _image_name(row: list[Any]) -> str:
    return PurePosixPath(str(next(item for item in row if item is not None))).name


def _provenance(meta: ReportMeta) -> list[tuple[str, str]]:
    def get(key: str, kind: Kind = "text") -> str:
        return format_value(meta.get(key), kind)

    return [
        ("Model", f"{get('model')}: {get('description')}"),
        ("Source archive", get("archive_url")),
        ("Archive SHA-256", get("archive_sha256")),
        (
            "Quantization",
            f"NNCF, preset {get('quantization_preset')}, {get('calibration_images', 'int')} "
            f"calibration images from {get('calibration_source')}",
        ),
        ("Evaluation", f"{get('eval_images', 'int')} images, {get('eval_selection')}"),
    ]


def _accuracy_note(meta: ReportMeta) -> str:
    return (
        f"COCO bounding-box metrics on "
        f"{format_value(meta.get('eval_images'), 'int')} val2017 images "
        f"({format_value(meta.get('eval_selection'), 'text')})."
    )


def _config_yaml(meta: ReportMeta) -> str:
    return yaml.safe_dump(meta.get("config") or {}, sort_keys=False, allow_unicode=True)


# Markdown


def render_markdown(
    tables: Mapping[str, Any],
    meta: ReportMeta,
    sample_links: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """GitHub Markdown; sample_links are paths relative to the Markdown file, per precision."""
    lines = [
        f"# {format_value(meta.get('model'), 'text')}: OpenVINO precision report",
        "",
        format_value(meta.get("description"), "text"),
        "",
        f"**{headline(tables)}**",
        "",
        "## Accuracy",
        "",
        _accuracy_note(meta),
        "",
        *_md_table(tables["accuracy"]),
        "",
        *(
            line
            for level, heading, note, table in _speed_sections(tables)
            for line in ("#" * level + f" {heading}", "", note, "", *_md_table(table), "")
        ),
        f"## Change vs {REFERENCE}",
        "",
    ]
    if tables["deltas"].empty:
        lines += [f"_No {REFERENCE} results to compare against._", ""]
    else:
        lines += [_DELTA_NOTE, "", *_md_table(tables["deltas"]), ""]
    lines += ["## Environment", "", *_md_table(tables["environment"]), ""]
    lines += [f"- **{field}**: {value}" for field, value in tables["machine"]]
    if sample_links:
        lines += ["", "## Samples", "", *_md_samples(sample_links)]
    lines += ["", "## How it was made", ""]
    lines += [f"- **{field}**: {value}" for field, value in _provenance(meta)]
    lines += ["", "### Configuration", "", "```yaml", _config_yaml(meta).rstrip(), "```"]
    lines += ["", "### Commands", "", "```sh", *(meta.get("commands") or []), "```"]
    if tables["benchmark_commands"]:
        lines += ["", "### Benchmark commands", "", "```sh"]
        lines += [_COMMANDS_NOTE]
        lines += [f"# {p}\n{command}" for p, command in tables["benchmark_commands"]]
        lines += ["```"]
    return "\n".join(lines) + "\n"


def _speed_sections(tables: Mapping[str, Any]) -> list[tuple[int, str, str, pd.DataFrame]]:
    """(heading level, heading, note, table) of the speed part, for both renderings."""
    speedup_note = (
        _SPEEDUP_NOTE
        if not tables["speedups"].empty
        else (f"No comparison: it needs {REFERENCE} and another precision benchmarked.")
    )
    return [
        (2, "Speed", _SPEED_NOTE, tables["speed"]),
        (3, "Speed-up", speedup_note, tables["speedups"]),
        (2, "Size", "Size of the IR weights (.bin).", tables["size"]),
    ]


def _md_table(table: pd.DataFrame) -> list[str]:
    header, rows, numeric = _cells(table)
    rule = ["---:" if right else ":---" for right in numeric]
    return [_md_row(header), _md_row(rule), *(_md_row(row) for row in rows)]


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_samples(sample_links: Mapping[str, Sequence[str]]) -> list[str]:
    precisions, rows = _sample_grid(sample_links)
    lines = []
    for row in rows:
        links = [
            f"[{p}]({quote(link)})" if link else f"{p} {MISSING}"
            for p, link in zip(precisions, row, strict=True)
        ]
        lines.append(f"- {_image_name(row)}: " + " · ".join(links))
    return lines


# HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
 max-width:1280px;margin:1.5rem auto;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.headline{font-size:1.05rem;background:#eef5fb;border-left:4px solid #2e86c1;padding:.6rem 1rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .55rem;text-align:left}
thead th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.charts img{max-width:100%;height:auto;border:1px solid #eee}
table.samples{width:100%;table-layout:fixed}
table.samples img{width:100%;height:auto;display:block}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto;font-size:.85rem}
dt{font-weight:600}dd{margin:0 0 .4rem 1.2rem;overflow-wrap:anywhere}
""".strip()


def render_html(
    tables: Mapping[str, Any],
    meta: ReportMeta,
    samples: Mapping[str, Sequence[Path]],
    accuracy: Mapping[str, Mapping[str, Any]],
) -> str:
    """One self-contained page: no external URL, everything inline."""
    esc = html.escape
    model = format_value(meta.get("model"), "text")
    parts = [
        f"<h1>{esc(model)}: OpenVINO precision report</h1>",
        f"<p>{esc(format_value(meta.get('description'), 'text'))}</p>",
        f'<p class="headline">{esc(headline(tables))}</p>',
        "<h2>Accuracy</h2>",
        f"<p>{esc(_accuracy_note(meta))}</p>",
        _html_table(tables["accuracy"]),
        *(
            f"<h{level}>{esc(heading)}</h{level}>\n<p>{esc(note)}</p>\n{_html_table(table)}"
            for level, heading, note, table in _speed_sections(tables)
        ),
        f"<h2>Change vs {REFERENCE}</h2>",
    ]
    if tables["deltas"].empty:
        parts.append(f"<p><em>No {REFERENCE} results to compare against.</em></p>")
    else:
        parts += [f"<p>{esc(_DELTA_NOTE)}</p>", _html_table(tables["deltas"])]
    parts += ["<h2>Charts</h2>", _html_charts(tables, accuracy)]
    if samples:
        parts += ["<h2>Samples</h2>", _html_samples(samples)]
    parts += [
        "<h2>Environment</h2>",
        _html_table(tables["environment"]),
        _html_definitions(tables["machine"]),
        "<h2>How it was made</h2>",
        _html_definitions(_provenance(meta)),
        "<h3>Configuration</h3>",
        f"<pre>{esc(_config_yaml(meta))}</pre>",
        "<h3>Commands</h3>",
        f"<pre>{esc(chr(10).join(meta.get('commands') or []))}</pre>",
    ]
    if tables["benchmark_commands"]:
        commands = "\n".join(
            [_COMMANDS_NOTE, *(f"# {p}\n{c}" for p, c in tables["benchmark_commands"])]
        )
        parts += ["<h3>Benchmark commands</h3>", f"<pre>{esc(commands)}</pre>"]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(model)} precision report</title>\n<style>\n{_CSS}\n</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _html_table(table: pd.DataFrame) -> str:
    header, rows, numeric = _cells(table)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr><th>{html.escape(row[0])}</th>"
        + "".join(_html_cell(c, right) for c, right in zip(row[1:], numeric[1:], strict=True))
        + "</tr>\n"
        for row in rows
    )
    table = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _html_cell(text: str, numeric: bool) -> str:
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{html.escape(text)}</td>"


def _html_definitions(rows: Sequence[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    return f"<dl>{items}</dl>"


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
        '<table class="samples"><colgroup><col style="width:9rem"></colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>"
    )


def _html_charts(tables: Mapping[str, Any], accuracy: Mapping[str, Mapping[str, Any]]) -> str:
    charts = [
        _bar_chart(tables["accuracy"]["AP"], "COCO AP", "AP", "stat"),
        _speed_chart(tables["speed"], "throughput", FPS, FPS_RANGE, "Throughput", "FPS"),
        _speed_chart(
            tables["speed"], "latency", LATENCY_MEDIAN, LATENCY_RANGE, "Median latency", "ms"
        ),
        _class_delta_chart(per_class_delta(accuracy)),
    ]
    images = [f'<img src="{uri}" alt="{html.escape(alt)}">' for uri, alt in charts if uri]
    if not images:
        return "<p><em>No data to chart.</em></p>"
    return '<div class="charts">\n' + "\n".join(images) + "\n</div>"


def _speed_chart(
    speed: pd.DataFrame, mode: str, column: str, range_column: str, title: str, unit: str
) -> tuple[str | None, str]:
    """One bar per configuration measured in `mode`, whiskers from the repeats' min-max."""
    rows = speed[speed[MODE] == mode]
    title = f"{title}, {mode} mode\n(whiskers: min-max of the repeated runs)"
    return _bar_chart(rows[column], title, unit, COLUMN_KINDS[column], rows[range_column])


def _bar_chart(
    values: pd.Series, title: str, unit: str, kind: Kind, spread: pd.Series | None = None
) -> tuple[str | None, str]:
    """Bars of values; spread, if given, holds each bar's (min, max) for its whisker."""
    finite = np.isfinite(values.to_numpy(dtype=float))
    values = values[finite]
    if values.empty:
        return None, title
    heights = values.to_numpy(dtype=float)
    whiskers = None
    if spread is not None:
        low, high = np.array(spread[finite].tolist(), dtype=float).T
        whiskers = [heights - low, high - heights]
    fig = Figure(figsize=(4.2, 3.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    # Precision first in every label ("INT8", "INT8 default"), so it picks the colour.
    colors = [_PRECISION_COLORS.get(str(label).split()[0], "#7f8c8d") for label in values.index]
    bars = ax.bar(list(values.index), heights, color=colors, yerr=whiskers, capsize=4)
    # Inside the bars when whiskers are drawn, so the whisker caps stay readable.
    placement = (
        {"label_type": "center", "color": "white"} if whiskers is not None else {"padding": 2}
    )
    ax.bar_label(bars, labels=[format_value(v, kind) for v in values], **placement)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(unit)
    ax.tick_params(axis="x", labelsize=8)
    ax.margins(y=0.15)
    return _png_data_uri(fig), title


def _class_delta_chart(deltas: pd.Series) -> tuple[str | None, str]:
    worst = deltas.head(WORST_CLASSES)
    title = f"Per-class AP change {TARGET} - {REFERENCE}, {len(worst)} worst classes"
    if worst.empty:
        return None, title
    fig = Figure(figsize=(6.0, 1.2 + 0.28 * len(worst)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    colors = ["#c0392b" if v < 0 else "#2e86c1" for v in worst]
    bars = ax.barh(list(worst.index), worst.to_numpy(), color=colors)
    ax.invert_yaxis()  # worst on top
    ax.axvline(0.0, color="#444", linewidth=0.8)
    ax.bar_label(bars, labels=[format_value(v, "delta") for v in worst], padding=2, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("ΔAP")
    ax.tick_params(axis="y", labelsize=8)
    ax.margins(x=0.25)
    return _png_data_uri(fig), title


def _png_data_uri(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # No "Software" entry: the same inputs give the same bytes.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return _data_uri(buffer.getvalue(), "image/png")


def _image_data_uri(path: Path) -> str:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        mime = Image.MIME[image.format]
    return _data_uri(data, mime)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# Output


def write_report(
    md_path: Path,
    html_path: Path,
    *,
    accuracy: Mapping[str, Mapping[str, Any]],
    benchmark: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, Sequence[Path]],
    ir_sizes: Mapping[str, int],
    meta: ReportMeta,
) -> None:
    """Build the tables once and write both reports atomically."""
    tables = build_tables(accuracy, benchmark, ir_sizes)
    links = {
        p: [Path(os.path.relpath(path, md_path.parent)).as_posix() for path in paths]
        for p, paths in samples.items()
    }
    markdown = render_markdown(tables, meta, links)
    page = render_html(tables, meta, samples, accuracy)
    atomic.write_bytes(md_path, markdown.encode("utf-8"))
    atomic.write_bytes(html_path, page.encode("utf-8"))
