"""One model's report, "should I ship the INT8 model?", and the index page of all models.

Made from the files the workflow wrote, so a report can be built and tested without a model:
report.md (terminals, git diffs), one self-contained report.html (CSS inline, images as data:
URIs), the charts as PNGs, and headline.yaml, which the index page lists as stored.

Each page is one template (templates/report.j2, index.j2) rendered twice from the same data: with
the HTML macros (html.j2) and the Markdown ones (md.j2). Everything is escaped for its format:
HTML by autoescape, Markdown by a backslash before anything that could start markup or HTML.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from . import atomic, report_charts, report_tables, verdict
from .benchmark import COMPARISONS, speedups
from .coco_eval import read_accuracy_yaml
from .precisions import QUANTIZED as TARGET
from .precisions import REFERENCE
from .report_tables import Table, index_table, names, ordered
from .verdict import Headline, ReportError

TEMPLATES = Path(__file__).parent / "templates"
LISTED = 10  # rows of a per-class table
# The headline's speed-ups: INT8 against each FP32 baseline, true f32 first.
PAIRS = [(" ".join(t), " ".join(b)) for t, b in COMPARISONS if (t[0], b[0]) == (TARGET, REFERENCE)]


@dataclass(frozen=True)
class ReportFiles:
    """The files one model's report is made from (rule report's inputs)."""

    accuracy: Mapping[str, Mapping[str, Path]]  # set → precision → YAML; primary set first
    deltas: Mapping[str, Path]  # set → delta.yaml; none without FP32 and another precision
    benchmark: Mapping[str, Path]  # precision → benchmark JSON
    samples: Mapping[str, Path]  # precision → folder of annotated JPEGs
    ir_bins: Mapping[str, Path]  # precision → IR .bin
    conversion: Path  # what making the FP32 IR decided (Paths.conversion_info)
    quantization: Path | None = None  # INT8's quantization.yaml


@dataclass(frozen=True)
class ReportOutputs:
    md: Path
    html: Path
    headline: Path
    plots: Mapping[str, Path]  # chart name (report_charts.chart_names) → PNG


@dataclass(frozen=True)
class ReportInputs:
    """The files' contents; the templates take what they show from here."""

    accuracy: Mapping[str, Mapping[str, Mapping[str, Any]]]  # set → precision → record
    comparisons: Mapping[str, Mapping[str, Any]]  # set → precision → its delta.yaml comparison
    benchmark: Mapping[str, Mapping[str, Any]]  # precision → record
    samples: Mapping[str, Sequence[Path]]  # precision → JPEGs
    ir_sizes: Mapping[str, int]
    conversion: Mapping[str, Any]
    quantization: Mapping[str, Any] | None
    meta: Mapping[
        str, Any
    ]  # model, description, max_drop, sample_score_threshold, config, commands

    @property
    def records(self) -> dict[str, Mapping[str, Any]]:
        """Each set's counts and selection (the same in every precision's record)."""
        return {s: r.get(REFERENCE) or next(iter(r.values())) for s, r in self.accuracy.items()}

    def classes(self, name: str) -> list[Mapping[str, Any]]:
        """delta.yaml's per-class rows of INT8 on a set, worst first."""
        return (self.comparisons[name].get(TARGET) or {}).get("classes") or []

    @property
    def configurations(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Every benchmarked (precision, configuration)."""
        return [
            (p, c) for p in ordered(self.benchmark) for c in self.benchmark[p]["configurations"]
        ]

    @property
    def intervals(self) -> list[tuple[str, str, Mapping[str, Any]]]:
        """(set, precision, ΔAP interval) of every comparison, INT8 first in each set."""
        return [
            (s, p, compared[p]["ap_interval"])
            for s, compared in self.comparisons.items()
            for p in sorted(ordered(compared), key=lambda p: p != TARGET)
        ]

    @property
    def texts(self) -> dict[str, str]:
        """Lists as text: selection methods; commands and benchmark commands for code blocks."""
        methods = [(r.get("selection") or {}).get("method", "—") for r in self.records.values()]
        runs = [
            f"# {p} {c['setting']}, {c['mode']}\n{c['command']}" for p, c in self.configurations
        ]
        control = (self.quantization or {}).get("accuracy_control") or {}
        return {
            "methods": "; ".join(dict.fromkeys(methods)),
            "commands": "\n".join(self.meta.get("commands") or []),
            "benchmark_commands": "\n".join(runs),
            "nncf_log": "\n".join(control.get("nncf_log") or []),
        }

    def machines_differ(self) -> bool:
        keys = ("machine", "openvino_version", "nncf_version")
        return len({json.dumps([r[k] for k in keys]) for r in self.benchmark.values()}) > 1

    def samples_side_by_side(self) -> tuple[list[str], list[tuple[str, list[Path | None]]]]:
        """FP32 and INT8 first; one row per image with its sample in each precision (or None)."""
        precisions = [p for p in (REFERENCE, TARGET) if p in self.samples]
        precisions += [p for p in ordered(self.samples) if p not in precisions]
        count = max(map(len, self.samples.values()), default=0)
        rows = [[(self.samples[p][i:] or [None])[0] for p in precisions] for i in range(count)]
        return precisions, [(next(filter(None, row)).name, row) for row in rows]


def read_inputs(files: ReportFiles, meta: Mapping[str, Any]) -> ReportInputs:
    conversion = _read_yaml(files.conversion)
    if not isinstance(conversion, dict) or "source" not in conversion:
        raise ReportError(f"{files.conversion}: not a conversion record (no 'source' key)")
    deltas = {name: _read_yaml(path)["comparisons"] for name, path in files.deltas.items()}
    return ReportInputs(
        accuracy={
            s: {p: read_accuracy_yaml(f) for p, f in by.items()} for s, by in files.accuracy.items()
        },
        comparisons={name: deltas.get(name, {}) for name in files.accuracy},
        benchmark={p: json.loads(path.read_text()) for p, path in files.benchmark.items()},
        samples={p: sorted(folder.glob("*.jpg")) for p, folder in files.samples.items()},
        ir_sizes={p: path.stat().st_size for p, path in files.ir_bins.items()},
        conversion=conversion,
        quantization=_read_yaml(files.quantization) if files.quantization else None,
        meta=meta,
    )


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def headline(inputs: ReportInputs) -> Headline:
    """INT8 vs FP32 on the primary set (the first), and INT8's speed-ups over both baselines."""
    primary = next(iter(inputs.accuracy))
    bounds = (inputs.comparisons[primary].get(TARGET) or {}).get("ap_interval") or {}
    found = {(r["target"], r["baseline"]): r for r in speedups(inputs.benchmark)}
    ap = {p: r["stats"].get("AP") for p, r in inputs.accuracy[primary].items()}
    return Headline.judged(
        model=inputs.meta.get("model", verdict.MISSING),
        dataset=primary,
        images=inputs.records[primary].get("images"),
        max_drop=inputs.meta.get("max_drop"),
        ap={p: ap.get(p) for p in (REFERENCE, TARGET)},
        delta=bounds.get("delta"),
        low=bounds.get("low"),
        high=bounds.get("high"),
        speedups=[found.get((t, b), {"target": t, "baseline": b}) for t, b in PAIRS],
        ir_bytes={p: inputs.ir_sizes.get(p) for p in (REFERENCE, TARGET)},
    )


def write_report(inputs: ReportInputs, outputs: ReportOutputs) -> Headline:
    """Charts, Markdown, HTML and headline.yaml of one model, each written atomically."""
    head = headline(inputs)
    measured = [(f"{p} {c['setting']}", c["mode"], c["summary"]) for p, c in inputs.configurations]
    classes = {name: inputs.classes(name) for name in inputs.accuracy}
    charts = report_charts.draw_charts(inputs.intervals, measured, classes, head.max_drop)
    for name in report_charts.chart_names(list(classes)):
        atomic.write_bytes(outputs.plots[name], charts[name].png)

    def drawn(*names: str) -> list[tuple[Path, str]]:
        return [(outputs.plots[n], charts[n].title) for n in names if charts[n].drawn]

    data = {"head": head, "inputs": inputs, "charts": drawn}
    data["title"] = f"{head.model}: {TARGET} vs {REFERENCE}"
    for path, skin in ((outputs.md, "md"), (outputs.html, "html")):
        atomic.write_text(path, render("report.j2", skin, outputs.md.parent, data))
    record = yaml.safe_dump(head.to_record(), sort_keys=False, allow_unicode=True)
    atomic.write_text(outputs.headline, record)
    return head


def flatten(record: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested keys as dotted names: a record of any shape as (key, value) rows."""
    rows = []
    for key, value in record.items():
        if isinstance(value, Mapping):
            rows += flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", names(value) if isinstance(value, list) else value))
    return rows


# Rendering

# What could start Markdown markup or HTML: `]` only where it would close a link text, `_` only
# where it could open or close emphasis (not inside a word).
_MD_SPECIAL = re.compile(r"[\\`*<>|&~]|\](?=[(\[])|(?<![^\W_])_|_(?![^\W_])")


def md_escape(text: Any) -> str:
    """Text that Markdown shows as it is: one line, no markup, no HTML."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m[0], " ".join(str(text).splitlines()))


def _md_table(table: Table, base: Path) -> Markup:
    """A pipe table (tabulate, through pandas), every cell escaped."""
    header = table.header()
    cells = [
        [
            f"[{md_escape(c.text)}]({_href(c.href, base)})" if c.href else md_escape(c.text)
            for c in row
        ]
        for row in table.rows()
    ]
    frame = pd.DataFrame(cells, columns=[md_escape(c.text) for c in header])
    align = ["right" if c.numeric else "left" for c in header]
    return Markup(frame.to_markdown(index=False, colalign=align, disable_numparse=True))


def _md_code(text: str, language: str = "") -> Markup:
    """A fenced block, its fence longer than any backtick run inside it."""
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", text))])
    return Markup(f"{fence}{language}\n{text.rstrip()}\n{fence}")


def _href(path: Path | str, base: Path) -> str:
    return quote(Path(os.path.relpath(path, base)).as_posix())


def render(template: str, skin: str, base: Path, data: Mapping[str, Any]) -> str:
    """`template` with the `skin` macros (html or md), its links relative to `base`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(reference=REFERENCE, target=TARGET, F=verdict, listed=LISTED)
    env.globals.update(tables=report_tables, chart=report_charts, flatten=flatten)
    env.filters.update(fmt=verdict.fmt, times=verdict.times, tone=verdict.tone, names=names)
    env.filters.update(interval=verdict.interval, budget=verdict.budget)
    env.filters["megabytes"] = lambda size: verdict.fmt(size and size / 1e6, verdict.MB)
    env.filters["yaml"] = lambda value: yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
    if skin == "md":
        # Markdown's autoescape: whatever is not Markdown already is escaped as text.
        env.finalize = lambda value: (
            value if isinstance(value, Markup) else Markup(md_escape(value))
        )
        env.filters.update(table=lambda t: _md_table(t, base), code=_md_code)
        env.filters["src"] = lambda path: Markup(_href(path, base))
        env.globals["lt"] = Markup("<")  # "<" before a space starts no HTML in Markdown
    else:
        data_uri = "data:{};base64,{}".format
        env.filters["src"] = lambda path: data_uri(
            mimetypes.guess_type(path.name)[0], base64.b64encode(path.read_bytes()).decode()
        )
        env.filters["href"] = lambda path: _href(path, base)
        env.filters["slug"] = lambda text: re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        env.globals["lt"] = Markup("&lt;")
    page = env.get_template(template).render(skin=f"{skin}.j2", **data)
    return page.rstrip("\n") + "\n"


# Index: every model's headline as its report stored it, linking the report


@dataclass(frozen=True)
class IndexEntry:
    headline: Headline
    html: Path  # the model's report.html
    md: Path  # and report.md


def read_headline(path: Path) -> Headline:
    return Headline.from_record(_read_yaml(path), path)


def write_index(md_path: Path, html_path: Path, entries: Sequence[IndexEntry]) -> None:
    """index.md and a self-contained index.html, in one folder, linking every model's report."""
    base = md_path.parent
    if base.resolve() != html_path.parent.resolve():
        raise ValueError("index.md and index.html share one folder: their links are relative")
    budgets, sets = {e.headline.max_drop for e in entries}, {e.headline.dataset for e in entries}
    data = {
        "table": index_table([(e.headline, str(e.html), str(e.md)) for e in entries]),
        "dataset": sets.pop() if len(sets) == 1 else "the primary set",
        "max_drop": budgets.pop() if len(budgets) == 1 else None,
        "title": f"{TARGET} vs {REFERENCE} reports",
    }
    for path, skin in ((md_path, "md"), (html_path, "html")):
        atomic.write_text(path, render("index.j2", skin, base, data))
