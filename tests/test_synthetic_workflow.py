"""The whole workflow on the synthetic IR model (tests/synthetic.py): IR source → FP16/INT8 →
accuracy → benchmark → report, with no ../shared. A fresh clone runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import synthetic
import yaml

from conftest import REPO, planned_jobs, run_snakemake
from ovflow import benchmark, coco_eval
from ovflow.paths import TEMPLATES, Paths
from ovflow.precisions import PRECISIONS

MODEL = synthetic.NAME


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def finished(
    synthetic_ssd: synthetic.Synthetic, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict]:
    """The working directory and config of one whole run."""
    workdir = tmp_path_factory.mktemp("synthetic_run")
    config = synthetic.workflow_config(synthetic_ssd)
    run_snakemake(workdir, config)
    return workdir, config


@pytest.fixture(scope="module")
def run(finished: tuple[Path, dict]) -> Paths:
    workdir, config = finished
    return Paths(workdir / config["results"])


@pytest.mark.slow
def test_every_precision_scores_what_the_design_predicts(
    run: Paths, synthetic_ssd: synthetic.Synthetic
) -> None:
    expected = synthetic.expected_ap(synthetic_ssd.evaluation.scenes)
    ap = {p: read_yaml(run.accuracy(MODEL, "coco", p))["stats"]["AP"] for p in PRECISIONS}
    assert ap["FP32"] == pytest.approx(sum(expected.values()) / len(expected), abs=1e-9)
    assert abs(ap["FP16"] - ap["FP32"]) <= 0.003
    assert abs(ap["INT8"] - ap["FP32"]) <= 0.01
    fp32 = read_yaml(run.accuracy(MODEL, "coco", "FP32"))
    assert fp32["images"] == len(synthetic_ssd.evaluation.scenes)
    # Scored by name: the set numbers blue/green/red 1/2/3, the model red/green/blue 1/2/3.
    assert fp32["per_class_ap"] == pytest.approx(expected, abs=1e-9)
    detections = coco_eval.read_detections_json(run.detections(MODEL, "coco", "FP32"))
    assert {d["category_id"] for d in detections} <= set(synthetic.CATEGORIES.values())


@pytest.mark.slow
def test_delta_has_its_bootstrap_interval(run: Paths) -> None:
    comparisons = read_yaml(run.accuracy_delta(MODEL, "coco"))["comparisons"]
    assert set(comparisons) == {"FP16", "INT8"}
    for comparison in comparisons.values():
        interval = comparison["ap_interval"]
        assert interval["low"] <= interval["delta"] <= interval["high"]
        assert interval["resamples"] == 200
        assert interval["delta"] == pytest.approx(comparison["stats"]["AP"], abs=1e-9)


@pytest.mark.slow
def test_int8_keeps_the_detection_output_in_float(run: Paths) -> None:
    info = read_yaml(run.quantization_info(MODEL))
    assert info["fake_quantize_ops"] > 0 and info["calibration_images"] == 16
    assert info["cut"]["method"] == "automatic"
    assert info["cut"]["postprocessing_op"]["type"] == "DetectionOutput"
    assert 'type="FakeQuantize"' in run.ir_xml(MODEL, "INT8").read_text()
    assert 'type="FakeQuantize"' not in run.ir_xml(MODEL, "FP32").read_text()
    conversion = read_yaml(run.conversion_info(MODEL))
    assert conversion["source"] == "ir"


@pytest.mark.slow
def test_benchmarks_samples_report_and_index(run: Paths) -> None:
    schema = json.loads((REPO / "schemas" / "benchmark.schema.json").read_text())
    for precision in PRECISIONS:
        record = json.loads(run.benchmark(MODEL, precision).read_text())
        jsonschema.Draft202012Validator(schema).validate(record)
        assert {c["setting"] for c in record["configurations"]} == set(benchmark.PLAN[precision])
        assert len(list(run.samples_dir(MODEL, precision).glob("*.jpg"))) == 2
    fp32_ap = read_yaml(run.accuracy(MODEL, "coco", "FP32"))["stats"]["AP"]
    report = run.report_md(MODEL).read_text()
    assert f"{fp32_ap:.4f}" in report
    assert "<html" in run.report_html(MODEL).read_text()
    assert MODEL in run.index_md.read_text() and run.index_html.is_file()


@pytest.mark.slow
def test_an_edited_template_rebuilds_the_pages_only(finished: tuple[Path, dict]) -> None:
    workdir, config = finished
    assert planned_jobs(workdir, config) == {}
    css = TEMPLATES / "report.css"
    text, before = css.read_bytes(), css.stat()
    # An edit, not a touch: Snakemake compares small inputs by checksum as well as by time.
    css.write_bytes(text + b"\n/* edited */\n")
    try:
        assert planned_jobs(workdir, config) == {"report": 1, "index": 1, "all": 1}
    finally:
        css.write_bytes(text)
        os.utime(css, ns=(before.st_atime_ns, before.st_mtime_ns))
