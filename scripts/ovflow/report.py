"""One model's report ("should I ship the INT8 model?") and the index page of all models.

Each page is one template (templates/report.j2, index.j2) rendered twice from the same data: as
a self-contained HTML page (html.j2 macros; images as data: URIs) and as Markdown (md.j2 macros).
Everything is escaped for its format: HTML by autoescape, Markdown by `md_escape` (no raw HTML).
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from . import atomic, report_charts, report_tables, verdict
from .benchmark import speedups
from .coco_eval import read_accuracy_yaml
from .errors import OvflowError
from .paths import TEMPLATES, input_key
from .precisions import QUANTIZED as TARGET
from .precisions import REFERENCE, ordered
from .report_tables import Table
from .verdict import Headline


@dataclass(frozen=True)
class ReportInputs:
    """The input files' contents; the templates take what they show from here."""

    accuracy: Mapping[str, Mapping[str, Mapping[str, Any]]]  # set → precision → record
    comparisons: Mapping[str, Mapping[str, Any]]  # set → precision → its delta.yaml comparison
    benchmark: Mapping[str, Mapping[str, Any]]  # precision → record
    samples: Mapping[str, Sequence[Path]]  # precision → annotated JPEGs, FP32 and INT8 first
    ir_sizes: Mapping[str, int]
    conversion: Mapping[str, Any]  # Paths.conversion_info
    quantization: Mapping[str, Any] | None
    meta: Mapping[str, Any]  # model, description, max_drop, sample_score_threshold, config…

    @property
    def records(self) -> dict[str, Mapping[str, Any]]:
        """Each set's counts and selection (the same in every precision's record)."""
        return {s: r.get(REFERENCE) or next(iter(r.values())) for s, r in self.accuracy.items()}

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

    @classmethod
    def read(
        cls, named: Mapping[str, Any], sets: Sequence[str], precisions: Sequence[str], meta: Any
    ) -> ReportInputs:
        """Rule report's inputs, named by ovflow.paths.input_key as rules/common.smk names them."""

        def path(kind: str, *names: str) -> Any:
            return Path(named[key]) if (key := input_key(kind, *names)) in named else None

        conversion = _read_yaml(converted := path("conversion"))
        if not isinstance(conversion, dict) or "source" not in conversion:
            raise OvflowError(f"{converted}: not a conversion record (no 'source' key)")
        deltas = {s: _read_yaml(f)["comparisons"] if (f := path("delta", s)) else {} for s in sets}
        side_by_side = sorted(ordered(precisions), key=lambda p: p not in (REFERENCE, TARGET))
        return cls(
            accuracy={
                s: {p: read_accuracy_yaml(path("accuracy", s, p)) for p in precisions} for s in sets
            },
            comparisons=deltas,
            benchmark={p: json.loads(path("benchmark", p).read_text()) for p in precisions},
            samples={p: sorted(path("samples", p).glob("*.jpg")) for p in side_by_side},
            ir_sizes={p: path("bin", p).stat().st_size for p in precisions},
            conversion=conversion,
            quantization=(quantized := path("quantization")) and _read_yaml(quantized),
            meta=meta,
        )


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def headline(inputs: ReportInputs) -> Headline:
    """INT8 vs FP32 on the primary set (the first), and INT8's speed-ups over both baselines."""
    primary = next(iter(inputs.accuracy))
    bounds = (inputs.comparisons[primary].get(TARGET) or {}).get("ap_interval") or {}
    ap = {p: r["stats"].get("AP") for p, r in inputs.accuracy[primary].items()}
    max_drop = inputs.meta.get("max_drop")
    return Headline(
        model=inputs.meta.get("model", verdict.MISSING),
        dataset=primary,
        images=inputs.records[primary].get("images"),
        max_drop=max_drop,
        ap={p: ap.get(p) for p in (REFERENCE, TARGET)},
        delta=bounds.get("delta"),
        low=bounds.get("low"),
        high=bounds.get("high"),
        speedups=[r for r in speedups(inputs.benchmark) if r["target"].startswith(TARGET)],
        ir_bytes={p: inputs.ir_sizes.get(p) for p in (REFERENCE, TARGET)},
        verdict=verdict.verdict_of(
            bounds.get("low"), bounds.get("high"), max_drop, ap.get(REFERENCE)
        ),
    )


def write_report(inputs: ReportInputs, outputs: Mapping[str, Path]) -> Headline:
    """One model's report.md, report.html, headline.yaml and charts, each written atomically to
    `outputs` named as rule report names them: md, html, headline and the chart names."""
    head = headline(inputs)
    measured = [(f"{p} {c['setting']}", c["mode"], c["summary"]) for p, c in inputs.configurations]
    # delta.yaml's per-class rows of INT8 on each set, worst first
    classes = {s: (c.get(TARGET) or {}).get("classes") or [] for s, c in inputs.comparisons.items()}
    charts = report_charts.draw_charts(inputs.intervals, measured, classes, head.max_drop)
    for name, chart in charts.items():  # named as chart_names(classes) names them
        atomic.write_bytes(outputs[name], chart.png)

    def drawn(*names: str) -> list[tuple[Path, str]]:
        return [(outputs[n], charts[n].title) for n in names if charts[n].drawn]

    data = {"head": head, "inputs": inputs, "charts": drawn, "classes": classes}
    for skin in ("md", "html"):
        atomic.write_text(outputs[skin], render("report.j2", skin, outputs["md"].parent, **data))
    atomic.write_text(outputs["headline"], yaml.safe_dump(asdict(head), sort_keys=False))
    return head


def write_index(named: Mapping[str, Any], models: Sequence[str], md: Path, html: Path) -> None:
    """index.md and a self-contained index.html (one folder: links are relative to it) from rule
    index's inputs (named by ovflow.paths.input_key): each headline.yaml as stored, and links."""
    files = [[Path(named[input_key(k, m)]) for k in ("headline", "html", "md")] for m in models]
    entries = [(Headline.read(headline), *reports) for headline, *reports in files]
    budgets, sets = {h.max_drop for h, *_ in entries}, {h.dataset for h, *_ in entries}
    data = {"table": report_tables.index_table(entries)}
    data["dataset"] = sets.pop() if len(sets) == 1 else "the primary set"
    data["max_drop"] = budgets.pop() if len(budgets) == 1 else None
    for path, skin in ((md, "md"), (html, "html")):
        atomic.write_text(path, render("index.j2", skin, md.parent, **data))


# What could start Markdown markup or HTML: `]` only where it would close a link text, `_` only
# where it could open or close emphasis (not inside a word).
_MD_SPECIAL = re.compile(r"[\\`*<>|&~]|\](?=[(\[])|(?<![^\W_])_|_(?![^\W_])")


def md_escape(text: Any) -> str:
    """Text that Markdown shows as it is: one line, no markup, no HTML."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m[0], " ".join(str(text).splitlines()))


def _md_table(table: Table, base: Path) -> Markup:
    """A pipe table (tabulate, through pandas), every cell escaped."""
    header, *rows = table.rows()
    cells = [
        [
            f"[{md_escape(c.text)}]({_href(c.href, base)})" if c.href else md_escape(c.text)
            for c in row
        ]
        for row in rows
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


def _data_uri(path: Path) -> str:
    """An image inline, so the page needs no other file."""
    data = base64.b64encode(path.read_bytes()).decode()
    return f"data:{mimetypes.guess_type(path.name)[0]};base64,{data}"


def render(template: str, skin: str, base: Path, **data: Any) -> str:
    """`template` with the `skin` macros (html or md), its links relative to `base`."""
    templates = jinja2.FileSystemLoader(TEMPLATES)
    env = jinja2.Environment(loader=templates, autoescape=True, undefined=jinja2.StrictUndefined)
    env.trim_blocks = env.lstrip_blocks = True
    env.globals.update(reference=REFERENCE, target=TARGET, F=verdict, tables=report_tables)
    env.globals.update(chart=report_charts, skin=f"{skin}.j2", zip=zip, zip_longest=zip_longest)
    env.filters.update(fmt=verdict.fmt, times=verdict.times, tone=verdict.tone, yaml=yaml.safe_dump)
    env.filters.update(interval=verdict.interval, names=report_tables.names)
    env.filters["megabytes"] = lambda size: verdict.fmt(size and size / 1e6, verdict.MB)
    env.filters["lines"] = "\n".join  # left unescaped: for code blocks
    if skin == "md":
        # Markdown's autoescape: whatever is not Markdown already is escaped as text.
        env.finalize = lambda value: (
            value if isinstance(value, Markup) else Markup(md_escape(value))
        )
        env.filters.update(table=lambda t: _md_table(t, base), code=_md_code)
        env.filters["src"] = lambda path: Markup(_href(path, base))
        env.globals["lt"] = Markup("<")  # "<" before a space starts no HTML in Markdown
    else:
        env.filters.update(src=_data_uri, href=lambda path: _href(path, base))
        env.filters["slug"] = lambda text: re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        env.globals["lt"] = Markup("&lt;")
    return env.get_template(template).render(**data).rstrip("\n") + "\n"
