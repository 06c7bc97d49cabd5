"""Rule report: accuracy YAMLs + benchmark JSONs + samples → report.md and report.html."""

import json
from pathlib import Path

from ovflow import coco_data
from ovflow.coco_eval import read_accuracy_yaml
from ovflow.logs import to_log
from ovflow.report import write_report

with to_log(snakemake.log[0]):
    precisions = snakemake.params.precisions
    config = snakemake.params.config
    spec = snakemake.params.spec

    def by_precision(files, read):
        return {p: read(Path(f)) for p, f in zip(precisions, files, strict=True)}

    accuracy = by_precision(snakemake.input.accuracy, read_accuracy_yaml)
    benchmark = by_precision(snakemake.input.benchmark, lambda f: json.loads(f.read_text()))
    samples = by_precision(snakemake.input.samples, lambda d: sorted(d.glob("*.jpg")))
    ir_sizes = by_precision(snakemake.input.bins, lambda f: f.stat().st_size)
    calibration = coco_data.read_paths(Path(snakemake.input.calibration))
    first = accuracy[precisions[0]]
    write_report(
        Path(snakemake.output.md),
        Path(snakemake.output.html),
        accuracy=accuracy,
        benchmark=benchmark,
        samples=samples,
        ir_sizes=ir_sizes,
        meta={
            "model": spec.name,
            "description": spec.description,
            "archive_url": spec.archive.url,
            "archive_sha256": spec.archive.sha256,
            "quantization_preset": config["quantization"]["preset"],
            "calibration_images": len(calibration),
            "calibration_source": config["calibration"]["images"] or "val2017 (held out)",
            "eval_images": first["images"],
            "eval_selection": first["selection"]["method"],
            "config": config,
            "commands": [snakemake.params.command],
        },
    )
