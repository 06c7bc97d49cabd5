"""Rule report: one model's accuracy, deltas, benchmarks, samples, conversion and quantization
records → report.md, report.html, its charts as PNGs and headline.yaml (for the index)."""

from pathlib import Path

from ovflow.logs import to_log
from ovflow.report import ReportInputs, write_report

with to_log(snakemake.log[0]):
    params = snakemake.params
    named = dict(snakemake.input.items())
    inputs = ReportInputs.read(named, params.datasets, params.precisions, params.meta)
    head = write_report(inputs, {name: Path(f) for name, f in snakemake.output.items()})
    print(f"{head.model}: {head.verdict}, ΔAP {head.delta} [{head.low}, {head.high}]")
