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

PRECISION_ORDER = ("FP32", "FP16", "INT8")
REFERENCE = "FP32"
TARGET = "INT8"
STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
MISSING = "—"
WORST_CLASSES = 20

FPS = "Throughput (FPS)"
LATENCY_MEDIAN = "Latency median (ms)"
LATENCY_AVG = "Latency avg (ms)"
INFERENCE_PRECISION = "Inference precision"
SIZE = "IR size (MB)"
SPEEDUP = "Throughput speed-up (x)"
LATENCY_SPEEDUP = "Latency speed-up (x)"
SIZE_RATIO = "Size ratio (x)"
DELTA_STATS = tuple(f"Δ{s}" for s in STATS)

Kind = Literal["stat", "delta", "fps", "ms", "ratio", "mb", "int", "text"]
_NUMBER_FORMATS = {
    "stat": ".4f",
    "delta": "+.4f",
    "fps": ".1f",
    "ms": ".2f",
    "ratio": ".2f",
    "mb": ".2f",
}
SPEED_COLUMNS: dict[str, Kind] = {
    FPS: "fps",
    LATENCY_MEDIAN: "ms",
    LATENCY_AVG: "ms",
    INFERENCE_PRECISION: "text",
    SIZE: "mb",
}
DELTA_COLUMNS: dict[str, Kind] = {
    **dict.fromkeys(DELTA_STATS, "delta"),
    SPEEDUP: "ratio",
    LATENCY_SPEEDUP: "ratio",
    SIZE_RATIO: "ratio",
}
ENVIRONMENT_COLUMNS: dict[str, Kind] = {
    "Device": "text",
    "Hint": "text",
    "Streams": "int",
    "Duration (s)": "int",
    "OpenVINO (benchmark)": "text",
    "Images": "int",
    "Annotations": "int",
    "Runtime (accuracy)": "text",
}
COLUMN_KINDS: dict[str, Kind] = {
    **dict.fromkeys(STATS, "stat"),
    **SPEED_COLUMNS,
    **DELTA_COLUMNS,
    **ENVIRONMENT_COLUMNS,
}

_DELTA_NOTE = (
    f"Each precision against {REFERENCE}: Δ = precision - {REFERENCE}; throughput speed-up = "
    f"precision FPS / {REFERENCE} FPS; latency speed-up = {REFERENCE} median latency / "
    f"precision median latency; size ratio = precision IR size / {REFERENCE} IR size."
)
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
    """Raw (unformatted) tables, one row per precision found in any input.

    Keys: accuracy, speed, deltas, environment (DataFrames indexed by precision),
    machine (list of (field, text)), benchmark_commands (list of (precision, command)).
    """
    precisions = ordered_precisions(accuracy, benchmark, ir_sizes)
    index = pd.Index(precisions, name="Precision")
    acc = pd.DataFrame(
        [[_num(accuracy.get(p, {}).get("stats", {}).get(s)) for s in STATS] for p in precisions],
        index=index,
        columns=list(STATS),
        dtype=float,
    )
    speed = pd.DataFrame(
        [_speed_row(benchmark.get(p, {}), ir_sizes.get(p)) for p in precisions],
        index=index,
        columns=list(SPEED_COLUMNS),
    )
    environment = pd.DataFrame(
        [_environment_row(accuracy.get(p, {}), benchmark.get(p, {})) for p in precisions],
        index=index,
        columns=list(ENVIRONMENT_COLUMNS),
    )
    return {
        "accuracy": acc,
        "speed": speed,
        "deltas": _deltas(acc, speed),
        "environment": environment,
        "machine": _machine_rows([benchmark[p] for p in precisions if p in benchmark]),
        "benchmark_commands": [
            (p, benchmark[p]["command"]) for p in precisions if benchmark.get(p, {}).get("command")
        ],
    }


def _speed_row(record: Mapping[str, Any], ir_size: int | None) -> dict[str, Any]:
    result = record.get("result", {})
    return {
        FPS: _num(result.get("throughput_fps")),
        LATENCY_MEDIAN: _num(result.get("latency_median_ms")),
        LATENCY_AVG: _num(result.get("latency_avg_ms")),
        INFERENCE_PRECISION: result.get("inference_precision"),
        SIZE: _num(ir_size) / 1e6,
    }


def _environment_row(acc: Mapping[str, Any], bench: Mapping[str, Any]) -> dict[str, Any]:
    runtime = acc.get("runtime") or {}
    return {
        "Device": bench.get("device"),
        "Hint": bench.get("hint"),
        "Streams": _num(bench.get("result", {}).get("streams")),
        "Duration (s)": _num(bench.get("duration_s")),
        "OpenVINO (benchmark)": bench.get("openvino_version"),
        "Images": _num(acc.get("images")),
        "Annotations": _num(acc.get("annotations")),
        "Runtime (accuracy)": ", ".join(f"{k} {v}" for k, v in runtime.items()) or None,
    }


def _deltas(acc: pd.DataFrame, speed: pd.DataFrame) -> pd.DataFrame:
    if REFERENCE not in acc.index:
        return pd.DataFrame(
            columns=list(DELTA_COLUMNS), index=pd.Index([], name="Precision"), dtype=float
        )
    others = [p for p in acc.index if p != REFERENCE]
    deltas = acc.loc[others] - acc.loc[REFERENCE]
    deltas.columns = list(DELTA_STATS)
    ref = speed.loc[REFERENCE]
    deltas[SPEEDUP] = speed.loc[others, FPS] / ref[FPS]
    deltas[LATENCY_SPEEDUP] = ref[LATENCY_MEDIAN] / speed.loc[others, LATENCY_MEDIAN]
    deltas[SIZE_RATIO] = speed.loc[others, SIZE] / ref[SIZE]
    return deltas


def _machine_rows(records: list[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The benchmark machine; INT8 speed-ups depend on VNNI / AMX, so the flags matter."""
    machines = [_machine_facts(r["machine"]) for r in records if r.get("machine")]
    if not machines:
        return []
    cpu, cores, flags = machines[0]
    rows = [
        ("CPU", format_value(cpu, "text")),
        ("Logical cores", format_value(cores, "int")),
        ("ISA flags", ", ".join(f"{n}: {'yes' if on else 'no'}" for n, on in flags) or MISSING),
    ]
    if any(m != machines[0] for m in machines[1:]):
        rows.append(("Note", "precisions were benchmarked on different machines; first shown"))
    return rows


def _machine_facts(machine: Mapping[str, Any]) -> tuple[Any, Any, tuple[tuple[str, bool], ...]]:
    flags = machine.get("flags") or {}
    return machine.get("cpu_model"), machine.get("logical_cores"), tuple(flags.items())


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
    deltas, acc, speed = tables["deltas"], tables["accuracy"], tables["speed"]
    if TARGET not in deltas.index:
        return f"No {TARGET} vs {REFERENCE} comparison: one of the two has no results."
    d = deltas.loc[TARGET]

    def change(column: str, kind: Kind, table: pd.DataFrame) -> str:
        before = format_value(table.at[REFERENCE, column], kind)
        return f"{before} → {format_value(table.at[TARGET, column], kind)}"

    parts = [
        f"ΔAP {format_value(d['ΔAP'], 'delta')} ({change('AP', 'stat', acc)})",
        f"throughput speed-up {_times(d[SPEEDUP])} ({change(FPS, 'fps', speed)} FPS)",
        f"median latency {change(LATENCY_MEDIAN, 'ms', speed)} ms "
        f"(speed-up {_times(d[LATENCY_SPEEDUP])})",
        f"IR size {change(SIZE, 'mb', speed)} MB (ratio {_times(d[SIZE_RATIO])})",
    ]
    return f"{TARGET} vs {REFERENCE}: " + "; ".join(parts) + "."


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
        "## Speed and size",
        "",
        *_md_table(tables["speed"]),
        "",
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
        lines += [f"# {p}\n{command}" for p, command in tables["benchmark_commands"]]
        lines += ["```"]
    return "\n".join(lines) + "\n"


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
        "<h2>Speed and size</h2>",
        _html_table(tables["speed"]),
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
        commands = "\n".join(f"# {p}\n{c}" for p, c in tables["benchmark_commands"])
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
    speed = tables["speed"]
    charts = [
        _bar_chart(tables["accuracy"]["AP"], "COCO AP", "AP", "stat"),
        _bar_chart(speed[FPS], "Throughput", "FPS", "fps"),
        _bar_chart(speed[LATENCY_MEDIAN], "Median latency", "ms", "ms"),
        _class_delta_chart(per_class_delta(accuracy)),
    ]
    images = [f'<img src="{uri}" alt="{html.escape(alt)}">' for uri, alt in charts if uri]
    if not images:
        return "<p><em>No data to chart.</em></p>"
    return '<div class="charts">\n' + "\n".join(images) + "\n</div>"


def _bar_chart(values: pd.Series, title: str, unit: str, kind: Kind) -> tuple[str | None, str]:
    values = values[np.isfinite(values.to_numpy(dtype=float))]
    if values.empty:
        return None, title
    fig = Figure(figsize=(4.2, 3.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    colors = [_PRECISION_COLORS.get(p, "#7f8c8d") for p in values.index]
    bars = ax.bar(list(values.index), values.to_numpy(), color=colors)
    ax.bar_label(bars, labels=[format_value(v, kind) for v in values], padding=2)
    ax.set_title(title)
    ax.set_ylabel(unit)
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
