"""benchmark_app wrapper: a real run on a tiny IR, and the report layout it reads."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
from ovflow import benchmark

# The layout benchmark_app 2026.4.1 writes with -report_type no_counters -json_stats.
REPORT = {
    "cmd_options": {
        "-m": "tiny.xml",
        "-d": "CPU",
        "-hint": "throughput",
        "-t": "2",
        "-report_type": "no_counters",
        "-report_folder": "rep",
        "-json_stats": "",
    },
    "configuration_setup": {
        "topology": "Model1",
        "target device": "CPU",
        "API": "async",
        "inference_only": True,
        "precision": "UNSPECIFIED",
        "batch size": "1",
        "number of iterations": "None",
        "number of parallel infer requests": "2",
        "duration (ms)": "2000",
    },
    "execution_results": {
        "read model time (ms)": "3.88",
        "compile model time (ms)": "23.79",
        "first inference time (ms)": "0.34",
        "total execution time (ms)": "2000.10",
        "total number of iterations": "38090",
        "latency (ms)": "0.06",
        "avg latency": "0.07",
        "min latency": "0.02",
        "max latency": "1.35",
        "throughput": "19044.07",
    },
}


@pytest.fixture(scope="module")
def tiny_ir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3x3 convolution + ReLU on a 1x3x32x32 input."""
    x = ops.parameter([1, 3, 32, 32], np.float32, name="x")
    weights = np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32)
    conv = ops.convolution(x, ops.constant(weights), [1, 1], [1, 1], [1, 1], [1, 1])
    xml = tmp_path_factory.mktemp("ir") / "tiny.xml"
    ov.save_model(ov.Model([ops.relu(conv)], [x], "tiny"), xml)
    return xml


@pytest.fixture(scope="module")
def run(tiny_ir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, list[str]]:
    out = tmp_path_factory.mktemp("bench") / "benchmark" / "FP32.json"
    lines: list[str] = []
    record = benchmark.run_benchmark(
        tiny_ir, out, device="CPU", hint="throughput", duration=1, log=lines.append
    )
    return record, out, lines


def test_run_measures_speed(run: tuple[dict, Path, list[str]]) -> None:
    record, _, _ = run
    result = record["result"]
    assert result["throughput_fps"] > 0
    assert result["latency_ms"]["median"] > 0
    assert result["latency_ms"]["min"] <= result["latency_ms"]["max"]
    assert result["iterations"] > 0
    assert result["duration_ms"] == pytest.approx(1000, rel=0.2)
    assert result["device"] == "CPU"
    assert record["compiled"]["streams"] >= 1


def test_run_records_command_and_machine(run: tuple[dict, Path, list[str]]) -> None:
    record, _, lines = run
    argv = shlex.split(record["command"])
    assert argv[0] == str(Path(sys.executable).parent / "benchmark_app")
    assert " -hint throughput " in f" {record['command']} "
    assert argv[argv.index("-t") + 1] == "1"
    assert record["infer_precision_requested"] is None
    assert record["openvino_version"] == ov.__version__.split("-")[0]
    cpu_model = next(
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    )
    assert record["machine"]["cpu_model"] == cpu_model
    assert set(record["machine"]["isa"]) == set(benchmark.ISA_FLAGS)
    assert "FP32" in record["machine"]["openvino_capabilities"]
    assert lines[0] == f"$ {record['command']}"
    assert len(lines) > 1  # benchmark_app's own output went to the log


def test_run_writes_the_record_and_nothing_else(run: tuple[dict, Path, list[str]]) -> None:
    record, out, _ = run
    assert json.loads(out.read_text()) == record
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # temp report folder removed


def test_compiled_config_follows_the_precision_hint(tiny_ir: Path) -> None:
    forced = benchmark.compiled_config(
        tiny_ir, device="CPU", hint="throughput", infer_precision="f32"
    )
    assert forced["inference_precision"] == "f32"
    if not benchmark.machine_info()["isa"]["amx_bf16"]:
        pytest.skip("the CPU runs f32 IRs in bf16 by default only on AMX hosts")
    default = benchmark.compiled_config(tiny_ir, device="CPU", hint="throughput")
    assert default["inference_precision"] == "bf16"


def test_parse_report(tmp_path: Path) -> None:
    path = tmp_path / "benchmark_report.json"
    path.write_text(json.dumps(REPORT))
    result = benchmark.parse_report(path)
    assert result["throughput_fps"] == 19044.07
    assert result["latency_ms"] == {
        "median": 0.06,
        "avg": 0.07,
        "min": 0.02,
        "max": 1.35,
        "percentiles": {},
    }
    assert result["iterations"] == 38090
    assert result["duration_ms"] == 2000.10
    assert result["first_inference_ms"] == 0.34
    assert result["compile_ms"] == 23.79
    assert (result["device"], result["api"]) == ("CPU", "async")
    assert (result["batch"], result["infer_requests"]) == (1, 2)
    # Not in this report: streams and threads are recorded only when forced.
    assert (result["streams"], result["threads"], result["inference_precision"]) == (
        None,
        None,
        None,
    )


def test_parse_report_percentile_streams_and_precision(tmp_path: Path) -> None:
    report = json.loads(json.dumps(REPORT))
    report["cmd_options"] |= {"-hint": "none", "-nstreams": "4", "-infer_precision": "f32"}
    report["cmd_options"]["-nthreads"] = "2"
    report["configuration_setup"]["number of CPU streams"] = "4"
    results = report["execution_results"]
    results["latency (90 percentile) (ms)"] = results.pop("latency (ms)")
    path = tmp_path / "benchmark_report.json"
    path.write_text(json.dumps(report))
    result = benchmark.parse_report(path)
    assert result["latency_ms"]["median"] is None
    assert result["latency_ms"]["percentiles"] == {"p90": 0.06}
    assert (result["streams"], result["threads"], result["inference_precision"]) == (4, 2, "f32")


def test_parse_report_error(tmp_path: Path) -> None:
    path = tmp_path / "benchmark_report.json"
    path.write_text(json.dumps({"execution_results": {"error": "Could not open the file\n"}}))
    with pytest.raises(RuntimeError, match=r"benchmark_report\.json.*Could not open the file"):
        benchmark.parse_report(path)


def test_command_options(tmp_path: Path) -> None:
    cmd = benchmark.benchmark_command(
        Path("m.xml"),
        device="CPU",
        hint="latency",
        duration=15,
        report_dir=tmp_path,
        infer_precision="f32",
        extra=["-nireq", "1"],
    )
    options = "-m m.xml -d CPU -hint latency -t 15 -report_type no_counters"
    assert f"{options} -report_folder {tmp_path} " in shlex.join(cmd)
    assert cmd[-4:] == ["-infer_precision", "f32", "-nireq", "1"]
    assert "-json_stats" in cmd


def test_failing_benchmark_names_the_command(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    missing = tmp_path / "missing.xml"
    with pytest.raises(
        RuntimeError, match=rf"benchmark_app exited with 1: .*-m {re.escape(str(missing))}"
    ):
        benchmark.run_benchmark(
            missing, out, device="CPU", hint="throughput", duration=1, log=lambda _: None
        )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
