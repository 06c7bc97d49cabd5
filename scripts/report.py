"""Rule report: one model's accuracy, deltas, benchmarks, samples, conversion and quantization
records → report.md, report.html, its charts as PNGs and headline.yaml (for the index)."""

from pathlib import Path

from ovflow.logs import to_log
from ovflow.paths import input_key
from ovflow.report import ReportFiles, ReportOutputs, read_inputs, write_report
from ovflow.report_charts import chart_names

with to_log(snakemake.log[0]):
    named, out = dict(snakemake.input.items()), snakemake.output
    sets, precisions = snakemake.params.datasets, snakemake.params.precisions

    def path(kind: str, *names: str) -> Path | None:
        """The input named so by rules/common.smk, if the rule has it."""
        key = input_key(kind, *names)
        return Path(named[key]) if key in named else None

    files = ReportFiles(
        accuracy={s: {p: path("accuracy", s, p) for p in precisions} for s in sets},
        deltas={s: path("delta", s) for s in sets if path("delta", s)},
        benchmark={p: path("benchmark", p) for p in precisions},
        samples={p: path("samples", p) for p in precisions},
        ir_bins={p: path("bin", p) for p in precisions},
        conversion=path("conversion"),
        quantization=path("quantization"),
    )
    plots = {name: Path(out[name]) for name in chart_names(sets)}
    outputs = ReportOutputs(Path(out.md), Path(out.html), Path(out.headline), plots)
    head = write_report(read_inputs(files, snakemake.params.meta), outputs)
    print(f"{head.model}: {head.verdict}, ΔAP {head.delta} [{head.low}, {head.high}]")
