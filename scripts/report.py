"""Rule report: one model's accuracy, deltas, benchmarks, samples → report.md, report.html,
its charts as PNGs and headline.yaml (for the index)."""

from pathlib import Path

import yaml

from ovflow.anchors import parse_pipeline_config
from ovflow.logs import to_log
from ovflow.report import ReportFiles, ReportOutputs, read_inputs, write_report

with to_log(snakemake.log[0]):
    datasets = snakemake.params.datasets
    precisions = snakemake.params.precisions
    config = snakemake.params.config
    spec = snakemake.params.spec

    def by_precision(files):
        return {p: Path(f) for p, f in zip(precisions, files, strict=True)}

    # Rule report lists the accuracy YAMLs set by set, each set's precisions in order.
    accuracy = list(snakemake.input.accuracy)
    per_set = len(precisions)
    files = ReportFiles(
        accuracy={
            d: by_precision(accuracy[i * per_set : (i + 1) * per_set])
            for i, d in enumerate(datasets)
        },
        deltas=(
            {d: Path(f) for d, f in zip(datasets, snakemake.input.deltas, strict=True)}
            if snakemake.input.deltas
            else {}
        ),
        benchmark=by_precision(snakemake.input.benchmark),
        samples=by_precision(snakemake.input.samples),
        ir_bins=by_precision(snakemake.input.bins),
        # One file, or an empty list when the run has no INT8.
        quantization=Path(snakemake.input.quantization) if snakemake.input.quantization else None,
    )
    configured = config["postprocess"]["score_threshold"]
    if spec.source == "archive":
        own = parse_pipeline_config(Path(snakemake.input.pipeline).read_text()).score_threshold
        source_file, source_sha256 = spec.archive.url, spec.archive.sha256
        threshold = own if configured is None else configured
        threshold_source = (
            "the model's own, from its pipeline.config; postprocess.score_threshold is null"
            if configured is None
            else "postprocess.score_threshold"
        )
    else:
        # An IR model keeps its own post-processing (conversion.yaml says which op).
        op = yaml.safe_load(Path(snakemake.input.pipeline).read_text())["detection_output"]["op"]
        source_file, source_sha256 = f"IR {spec.ir.xml.location}", spec.ir.xml.sha256
        threshold = op.get("confidence_threshold")
        threshold_source = f"the IR's own {op['type']}; postprocess.score_threshold does not apply"
    meta = {
        "model": spec.name,
        "description": spec.description,
        "archive_url": source_file,
        "archive_sha256": source_sha256,
        "max_drop": config["quantization"]["max_drop"],
        "score_threshold": threshold,
        "score_threshold_source": threshold_source,
        "sample_score_threshold": config["samples"]["score_threshold"],
        "config": config,
        "commands": snakemake.params.commands,
    }
    # Each chart's file is named after the chart.
    plots = {Path(f).stem: Path(f) for f in snakemake.output if f.endswith(".png")}
    head = write_report(
        read_inputs(files, meta),
        ReportOutputs(
            md=Path(snakemake.output.md),
            html=Path(snakemake.output.html),
            headline=Path(snakemake.output.headline),
            plots=plots,
        ),
    )
    print(head.verdict_text())
