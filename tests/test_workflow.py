"""The workflow end to end, offline, on the shared real data (minutes: marked slow)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from availability import needs
from test_coco_eval import pycocotools_eval, pycocotools_per_class_ap

from conftest import (
    OFFLINE_DATA,
    PERSON,
    REPO,
    SUBSET,
    offline_config,
    planned_jobs,
    run_snakemake,
)
from ovflow import benchmark, coco_data, coco_eval
from ovflow.paths import Paths

MODEL = "ssdlite_mobilenet_v2"
PRECISIONS = ["FP32", "FP16", "INT8"]
QUICK_BENCHMARK = {"duration": 1, "repeats": 1}
PERSON_SET = {
    "person": {
        "images": str(PERSON / "val2017"),
        "annotations": str(PERSON / "annotations" / "instances_val2017_person.json"),
    }
}


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def ssdlite_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The issue's offline run: ssdlite from the mirror, evaluated on the 206-image subset (and
    the person set), calibrated on 300 person images."""
    workdir = tmp_path_factory.mktemp("ssdlite")
    config = offline_config(benchmark=QUICK_BENCHMARK, extra_datasets=PERSON_SET)
    run_snakemake(workdir, config)
    return workdir, config


def check_benchmark_record(path: Path, precision: str) -> None:
    """The record follows the schema, is of `precision`, and every planned run measured."""
    record = json.loads(path.read_text())
    schema = json.loads((REPO / "schemas" / "benchmark.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(record)
    assert record["precision"] == precision
    settings = {c["setting"] for c in record["configurations"]}
    assert settings == set(benchmark.PLAN[precision])
    for config in record["configurations"]:
        assert all(run["throughput_fps"] > 0 for run in config["runs"])


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_every_artifact_is_written(ssdlite_run: tuple[Path, dict]) -> None:
    workdir, config = ssdlite_run
    paths = Paths(workdir / config["results"])
    for precision in PRECISIONS:
        assert paths.ir_xml(MODEL, precision).is_file()
        assert paths.ir_bin(MODEL, precision).stat().st_size > 1_000_000
        assert len(list(paths.samples_dir(MODEL, precision).glob("*.jpg"))) == 3
        check_benchmark_record(paths.benchmark(MODEL, precision), precision)
        for dataset in ("coco", "person"):
            assert paths.detections(MODEL, dataset, precision).is_file()
            assert coco_eval.read_accuracy_yaml(paths.accuracy(MODEL, dataset, precision))
    assert paths.quantization_info(MODEL).is_file()
    assert "<html" in paths.report_html(MODEL).read_text()
    assert paths.report_md(MODEL).read_text().startswith("#")


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_accuracy_meets_the_bars(ssdlite_run: tuple[Path, dict]) -> None:
    workdir, config = ssdlite_run
    paths = Paths(workdir / config["results"])
    ap = {p: read_yaml(paths.accuracy(MODEL, "coco", p))["stats"]["AP"] for p in PRECISIONS}
    assert ap["FP32"] >= 0.28  # TensorFlow: 0.2967 on these 206 images
    assert abs(ap["INT8"] - ap["FP32"]) <= 0.01
    assert abs(ap["FP16"] - ap["FP32"]) <= 0.003
    record = read_yaml(paths.accuracy(MODEL, "coco", "FP32"))
    assert record["images"] == 206 and record["annotations"] == 1786 - 21
    assert len(record["per_class_ap"]) == 80


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_int8_ir_is_quantized(ssdlite_run: tuple[Path, dict]) -> None:
    workdir, config = ssdlite_run
    paths = Paths(workdir / config["results"])
    assert 'type="FakeQuantize"' in paths.ir_xml(MODEL, "INT8").read_text()
    assert 'type="FakeQuantize"' not in paths.ir_xml(MODEL, "FP32").read_text()
    info = read_yaml(paths.quantization_info(MODEL))
    assert info["mode"] == "default" and info["calibration_images"] == 300
    assert info["fake_quantize_ops"] > 50


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_one_class_set_is_scored_on_its_class_without_calibration_images(
    ssdlite_run: tuple[Path, dict],
) -> None:
    workdir, config = ssdlite_run
    paths = Paths(workdir / config["results"])
    record = read_yaml(paths.accuracy(MODEL, "person", "FP32"))
    assert record["classes_evaluated"] == ["person"]
    assert record["images"] == 750 - 300  # calibration images share the folder: left out
    assert set(record["per_class_ap"]) == {"person"}


@needs(*OFFLINE_DATA)
@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "annotations", "cat_ids"),
    [
        ("coco", SUBSET / "annotations" / "instances_val2017.json", None),
        ("person", PERSON / "annotations" / "instances_val2017_person.json", [1]),
    ],
)
def test_metrics_equal_a_direct_pycocotools_evaluation(
    ssdlite_run: tuple[Path, dict], dataset: str, annotations: Path, cat_ids: list[int] | None
) -> None:
    workdir, config = ssdlite_run
    paths = Paths(workdir / config["results"])
    record = read_yaml(paths.accuracy(MODEL, dataset, "INT8"))
    results = coco_eval.read_detections_json(paths.detections(MODEL, dataset, "INT8"))
    ids = coco_data.read_ids(paths.eval_ids(dataset))
    direct = pycocotools_eval(annotations, results, ids, cat_ids)
    assert list(record["stats"].values()) == pytest.approx(list(direct.stats), abs=1e-12)
    expected = pycocotools_per_class_ap(direct)
    assert record["per_class_ap"].keys() == expected.keys()
    for name, value in expected.items():
        assert record["per_class_ap"][name] == pytest.approx(value, abs=1e-12), name


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_delta_artifact_matches_the_accuracy_records(ssdlite_run: tuple[Path, dict]) -> None:
    workdir, config = ssdlite_run
    paths = Paths(workdir / config["results"])
    delta = read_yaml(paths.accuracy_delta(MODEL, "coco"))["comparisons"]["INT8"]
    fp32 = read_yaml(paths.accuracy(MODEL, "coco", "FP32"))
    int8 = read_yaml(paths.accuracy(MODEL, "coco", "INT8"))
    for name, value in delta["stats"].items():
        assert value == pytest.approx(int8["stats"][name] - fp32["stats"][name], abs=1e-12)
    interval = delta["ap_interval"]
    assert interval["low"] <= interval["delta"] <= interval["high"]
    assert interval["delta"] == pytest.approx(delta["stats"]["AP"], abs=1e-9)
    class_deltas = [row["delta"] for row in delta["classes"]]
    assert class_deltas == sorted(class_deltas) and len(class_deltas) == 80


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_reruns_only_what_a_change_makes_stale(ssdlite_run: tuple[Path, dict]) -> None:
    workdir, config = ssdlite_run
    assert planned_jobs(workdir, config) == {}
    # The configuration (no extra set): a new calibration subset size touches the
    # quantization and everything downstream of INT8, nothing of FP32 or FP16.
    plain = {**config, "extra_datasets": {}}
    smaller = {**plain, "calibration": {**plain["calibration"], "subset_size": 200}}
    assert planned_jobs(workdir, smaller) == {
        "select_calibration_images": 1,
        "quantize": 1,
        "detect": 1,
        "accuracy": 1,
        "accuracy_delta": 1,
        "samples": 1,
        "benchmark": 1,
        "report": 1,
        "index": 1,
        "all": 1,
    }
    longer = {**config, "benchmark": {**config["benchmark"], "duration": 2}}
    assert planned_jobs(workdir, longer) == {"benchmark": 3, "report": 1, "index": 1, "all": 1}


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_v1_structure_archive_converts_quantizes_and_benchmarks(tmp_path: Path) -> None:
    model = "ssd_mobilenet_v1_coco"
    config = offline_config(models=[model], benchmark=QUICK_BENCHMARK)
    relative = Paths(Path(config["results"]))  # targets as the rules name them
    run_snakemake(tmp_path, config, *(str(relative.benchmark(model, p)) for p in ("FP32", "INT8")))
    paths = Paths(tmp_path / config["results"])
    assert 'type="FakeQuantize"' in paths.ir_xml(model, "INT8").read_text()
    for precision in ("FP32", "INT8"):
        assert 'name="image_tensor"' in paths.ir_xml(model, precision).read_text()
        check_benchmark_record(paths.benchmark(model, precision), precision)


@needs(*OFFLINE_DATA)
@pytest.mark.slow
def test_accuracy_control_holds_the_drop_and_records_it(tmp_path: Path) -> None:
    config = offline_config(
        quantization={"mode": "accuracy_control", "max_drop": 0.05},
        calibration={"subset_size": 60},
    )
    relative = Paths(Path(config["results"]))
    run_snakemake(tmp_path, config, str(relative.ir_xml(MODEL, "INT8")))
    info = read_yaml(Paths(tmp_path / config["results"]).quantization_info(MODEL))
    control = info["accuracy_control"]
    assert info["mode"] == "accuracy_control" and info["calibration_images"] == 60
    assert control["validation_images"] == 60 and control["max_drop"] == 0.05
    # Person AP on the 60 validation images, FP32 vs the INT8 that was kept.
    assert 0.1 < control["fp32_ap"] < 0.6
    assert control["int8_ap"] > 0.1 and control["fp32_ap"] - control["int8_ap"] <= 0.05
    assert info["fake_quantize_ops"] > 50
