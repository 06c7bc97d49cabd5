"""benchmark_app wrapper: real runs on a tiny IR, the report layout it reads, the speed-ups."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from conftest import REPO
from ovflow import benchmark

SCHEMA = json.loads((REPO / "schemas" / "benchmark.schema.json").read_text())

# The layout benchmark_app 2026.4.1 writes with -report_type no_counters -json_stats.
REPORT = {
    "cmd_options": {
        "-m": "tiny.xml",
        "-d": "CPU",
        "-hint": "latency",
        "-api": "sync",
        "-t": "2",
        "-report_type": "no_counters",
        "-report_folder": "rep",
        "-json_stats": "",
        "-dump_config": "rep/compile_config.json",
    },
    "configuration_setup": {
        "topology": "Model1",
        "target device": "CPU",
        "API": "sync",
        "inference_only": True,
        "precision": "UNSPECIFIED",
        "batch size": "1",
        "number of iterations": "None",
        "number of parallel infer requests": "1",
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
TINY = benchmark.Settings(duration=1, repeats=2)


def make_record(
    precision: str, speeds: Mapping[tuple[str, str], tuple[list[float], list[float]]]
) -> dict[str, Any]:
    """A benchmark record shaped as the schema says, with known numbers.

    speeds: (setting, mode) → (FPS of each run, median latency of each run). The other
    per-run numbers derive from those; the summary is computed here, not by the module.
    """
    configurations = []
    for (setting, mode), (fps_runs, latency_runs) in speeds.items():
        runs = [
            {
                "throughput_fps": fps,
                "latency_median_ms": latency,
                "latency_avg_ms": round(latency * 1.07, 3),
                "latency_min_ms": round(latency * 0.8, 3),
                "latency_max_ms": round(latency * 2.5, 3),
                "iterations": int(fps * 15),
                "duration_ms": 15003.2,
                "first_inference_ms": 12.5,
                "compile_ms": 310.0,
                "other_cpu_percent": round(fps % 3, 2),
            }
            for fps, latency in zip(fps_runs, latency_runs, strict=True)
        ]
        summary = {
            metric: benchmark.spread([run[metric] for run in runs])
            for metric in benchmark.RUN_METRICS
        }
        precision_hint = benchmark.PRECISION_HINTS[setting]
        resolved = precision_hint or "bf16"  # the default on AMX hosts
        conv = {"i8": 1, "u8": 27} if precision == "INT8" else {resolved: 28}
        hint_options = f"-hint {mode} -api {benchmark.MODE_API[mode]} -t 15"
        infer = f" -infer_precision {precision_hint}" if precision_hint else ""
        configurations.append(
            {
                "setting": setting,
                "mode": mode,
                "infer_precision_requested": precision_hint,
                "hint": mode,
                "command": f"benchmark_app -m ir/{precision}/m.xml -d CPU {hint_options}{infer}",
                "api": benchmark.MODE_API[mode],
                "batch": 1,
                "infer_requests": 2 if mode == "throughput" else 1,
                "inference_precision": resolved,
                "streams": 2 if mode == "throughput" else 1,
                "threads": 2,
                "executed_layers": {"Convolution": conv, "DetectionOutput": {"f32": 1}},
                "runs": runs,
                "summary": summary,
            }
        )
    return {
        "model_xml": f"ir/{precision}/m.xml",
        "precision": precision,
        "settings": {
            "device": "CPU",
            "duration": 15,
            "repeats": len(runs),
            "modes": ["throughput", "latency"],
            "streams": None,
            "threads": None,
        },
        "openvino_version": "2026.4.1",
        "nncf_version": "3.4.0",
        "machine": {
            "cpu_model": "Intel(R) Xeon(R) Platinum 8480+",
            "logical_cores": 2,
            "usable_cores": 2,
            "physical_cores": 1,
            "isa": {flag: flag != "amx_tile" for flag in benchmark.ISA_FLAGS},
            "openvino_capabilities": ["FP32", "BF16", "INT8"],
            "openvino_device_name": "Intel(R) Xeon(R) Platinum 8480+",
        },
        "configurations": configurations,
    }


def test_spread_is_median_and_range() -> None:
    # Odd and even counts: the median is the middle value, or the mean of the middle two.
    assert benchmark.spread([3.0, 1.0, 10.0]) == {"median": 3.0, "min": 1.0, "max": 10.0}
    assert benchmark.spread([4.0, 1.0, 10.0, 2.0]) == {"median": 3.0, "min": 1.0, "max": 10.0}


def validate(record: Mapping[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(record)


# Real runs


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
    """FP32: two settings x two modes x two repeats of 1 s."""
    out = tmp_path_factory.mktemp("bench") / "benchmark" / "FP32.json"
    lines: list[str] = []
    record = benchmark.run_benchmark(
        tiny_ir, out, precision="FP32", settings=TINY, log=lines.append
    )
    return record, out, lines


def _configs(record: Mapping[str, Any]) -> dict[tuple[str, str], dict]:
    return {(c["setting"], c["mode"]): c for c in record["configurations"]}


def test_schema_is_valid_and_the_written_record_follows_it(
    run: tuple[dict, Path, list[str]],
) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    record, out, _ = run
    written = json.loads(out.read_text())
    assert written == record
    validate(written)


def test_every_setting_and_mode_repeated(run: tuple[dict, Path, list[str]]) -> None:
    record, _, _ = run
    assert list(_configs(record)) == [
        ("f32", "throughput"),
        ("f32", "latency"),
        ("default", "throughput"),
        ("default", "latency"),
    ]
    for config in record["configurations"]:
        assert len(config["runs"]) == TINY.repeats
        for metric in benchmark.RUN_METRICS:
            values = sorted(r[metric] for r in config["runs"])
            summary = config["summary"][metric]
            assert (summary["min"], summary["max"]) == (values[0], values[-1])
            assert values[0] <= summary["median"] <= values[-1]
        first = config["runs"][0]
        assert first["throughput_fps"] > 0 and first["iterations"] > 0
        assert first["other_cpu_percent"] >= 0
        assert first["latency_min_ms"] <= first["latency_median_ms"] <= first["latency_max_ms"]
        assert first["duration_ms"] == pytest.approx(1000, rel=0.2)


def test_settings_resolve_to_what_they_say(run: tuple[dict, Path, list[str]]) -> None:
    configs = _configs(run[0])
    f32 = configs["f32", "throughput"]
    assert (f32["infer_precision_requested"], f32["inference_precision"]) == ("f32", "f32")
    assert " -infer_precision f32 " in f" {f32['command']} "
    default = configs["default", "throughput"]
    assert default["infer_precision_requested"] is None
    assert "-infer_precision" not in default["command"]
    assert default["executed_layers"]["Convolution"]
    if run[0]["machine"]["isa"]["amx_bf16"]:
        # The CPU runs f32 IRs in bf16 by default on AMX hosts: the record must say so.
        assert default["inference_precision"] == "bf16"


def test_modes_set_hint_and_api(run: tuple[dict, Path, list[str]]) -> None:
    configs = _configs(run[0])
    throughput, latency = configs["default", "throughput"], configs["default", "latency"]
    assert (throughput["hint"], throughput["api"]) == ("throughput", "async")
    assert (latency["hint"], latency["api"]) == ("latency", "sync")
    assert " -hint latency -api sync " in latency["command"]
    assert (latency["streams"], latency["infer_requests"]) == (1, 1)
    assert throughput["streams"] >= 1 and throughput["threads"] >= 1
    assert throughput["batch"] == 1


def _without_report_folder(argv: list[str]) -> list[str]:
    """argv with the values of -report_folder / -dump_config put back to the placeholder."""
    out = list(argv)
    folder = out[out.index("-report_folder") + 1]
    return [a.replace(folder, benchmark.REPORT_PLACEHOLDER) for a in out]


def test_recorded_command_is_the_one_run(run: tuple[dict, Path, list[str]]) -> None:
    record, _, lines = run
    ran = [shlex.split(line[2:]) for line in lines if line.startswith("$ ")]
    assert len(ran) == len(record["configurations"]) * TINY.repeats
    for config in record["configurations"]:
        argv = shlex.split(config["command"])
        assert argv[0] == str(Path(sys.executable).parent / "benchmark_app")
        assert argv[argv.index("-t") + 1] == "1"
        assert argv[argv.index("-report_folder") + 1] == benchmark.REPORT_PLACEHOLDER
        assert [_without_report_folder(a) for a in ran].count(argv) == TINY.repeats
    assert len(lines) > len(ran)  # benchmark_app's own output went to the log


def test_records_versions_and_machine(run: tuple[dict, Path, list[str]]) -> None:
    record, _, _ = run
    assert record["openvino_version"] == ov.__version__.split("-")[0]
    assert record["nncf_version"] == metadata.version("nncf")
    assert record["settings"] == {
        "device": "CPU",
        "duration": 1,
        "repeats": 2,
        "modes": ["throughput", "latency"],
        "streams": None,
        "threads": None,
    }
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu_model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)[1]
    flags = set(re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.MULTILINE)[1].split())
    machine = record["machine"]
    assert machine["cpu_model"] == cpu_model
    assert machine["isa"] == {flag: flag in flags for flag in benchmark.ISA_FLAGS}
    assert "FP32" in machine["openvino_capabilities"]


def test_writes_the_record_and_nothing_else(run: tuple[dict, Path, list[str]]) -> None:
    _, out, _ = run
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # scratch folder removed


def test_fixed_streams_and_threads_run_with_hint_none(tiny_ir: Path, tmp_path: Path) -> None:
    settings = benchmark.Settings(
        duration=1, repeats=1, modes=("throughput",), streams=2, threads=2
    )
    record = benchmark.run_benchmark(
        tiny_ir, tmp_path / "INT8.json", precision="INT8", settings=settings, log=lambda _: None
    )
    validate(record)
    (config,) = record["configurations"]
    assert (config["setting"], config["mode"], config["hint"]) == ("default", "throughput", "none")
    assert " -hint none -api async -t 1 -nstreams 2 -nthreads 2 " in config["command"]
    assert (config["streams"], config["threads"], config["infer_requests"]) == (2, 2, 2)


def test_clocks_see_the_command_cpu_as_its_own() -> None:
    """A child burning 0.5 s of CPU shows in the machine's busy time and as the child's own."""
    burn = "import time\nwhile time.process_time() < 0.5: pass"
    before = benchmark._clocks()
    subprocess.run([sys.executable, "-c", burn], check=True)
    wall, busy, own = (b - a for a, b in zip(before, benchmark._clocks(), strict=True))
    assert own >= 0.5
    assert busy >= 0.9 * own  # /proc/stat ticks are 10 ms
    assert wall > 0


def test_other_cpu_share_leaves_out_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # 4 s wall on 2 CPUs = 8 CPU s; machine busy 5 s, of which the command 3 s: 2 s others.
    clocks = iter([(10.0, 100.0, 1.0), (14.0, 105.0, 4.0)])
    monkeypatch.setattr(benchmark, "_clocks", lambda: next(clocks))
    monkeypatch.setattr(benchmark.os, "cpu_count", lambda: 2)
    assert benchmark._run(["true"], lambda _: None) == pytest.approx(25.0)


# Parsing and commands


def test_settings_from_config() -> None:
    section = {"device": "CPU", "duration": 5, "repeats": 2, "modes": ["latency"]}
    settings = benchmark.Settings.from_config(section | {"streams": None, "threads": None})
    assert settings == benchmark.Settings(duration=5, repeats=2, modes=("latency",))
    assert settings.hint is None
    assert benchmark.Settings(threads=2, streams=1).hint == "none"


def test_command_options() -> None:
    settings = benchmark.Settings(device="CPU", duration=15, streams=4)
    cmd = benchmark.benchmark_command(
        Path("m.xml"), settings, mode="latency", infer_precision="f32", report_dir="rep"
    )
    assert shlex.join(cmd[1:]) == (
        "-m m.xml -d CPU -hint none -api sync -t 15 -nstreams 4 -infer_precision f32 "
        "-report_type no_counters -report_folder rep -json_stats "
        f"-dump_config rep/{benchmark.CONFIG_NAME}"
    )


def test_parse_report(tmp_path: Path) -> None:
    path = tmp_path / "benchmark_report.json"
    path.write_text(json.dumps(REPORT))
    metrics, setup = benchmark.parse_report(path)
    assert metrics == {
        "throughput_fps": 19044.07,
        "latency_median_ms": 0.06,
        "latency_avg_ms": 0.07,
        "latency_min_ms": 0.02,
        "latency_max_ms": 1.35,
        "iterations": 38090,
        "duration_ms": 2000.10,
        "first_inference_ms": 0.34,
        "compile_ms": 23.79,
    }
    assert setup == {"api": "sync", "batch": 1, "infer_requests": 1}


def test_parse_report_needs_the_median(tmp_path: Path) -> None:
    """-latency_percentile 90 replaces the median: such a report is refused, not misread."""
    report = json.loads(json.dumps(REPORT))
    results = report["execution_results"]
    results["latency (90 percentile) (ms)"] = results.pop("latency (ms)")
    path = tmp_path / "benchmark_report.json"
    path.write_text(json.dumps(report))
    with pytest.raises(ValueError, match=r"lacks \['latency \(ms\)'\]"):
        benchmark.parse_report(path)


def test_parse_report_error(tmp_path: Path) -> None:
    path = tmp_path / "benchmark_report.json"
    path.write_text(json.dumps({"execution_results": {"error": "Could not open the file\n"}}))
    with pytest.raises(RuntimeError, match=r"benchmark_report\.json.*Could not open the file"):
        benchmark.parse_report(path)


def test_failing_benchmark_names_the_command(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    missing = tmp_path / "missing.xml"
    with pytest.raises(
        RuntimeError, match=rf"benchmark_app exited with 1: .*-m {re.escape(str(missing))}"
    ):
        benchmark.run_benchmark(missing, out, precision="INT8", settings=TINY, log=lambda _: None)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


# Speed-up table

# Per-run FPS and median latency: the medians are the middle runs (not the means).
HAND = {
    "FP32": make_record(
        "FP32",
        {
            ("f32", "throughput"): ([96.0, 100.0, 131.0], [20.0, 20.0, 20.0]),
            ("f32", "latency"): ([90.0, 90.0, 90.0], [10.0, 9.1, 12.4]),
            ("default", "throughput"): ([300.0, 280.0, 305.0], [7.0, 7.0, 7.0]),
            ("default", "latency"): ([250.0, 250.0, 250.0], [3.4, 3.0, 3.5]),
        },
    ),
    "FP16": make_record(
        "FP16",
        {
            ("default", "throughput"): ([298.0, 301.0, 299.0], [7.1, 7.1, 7.1]),
            ("default", "latency"): ([251.0, 251.0, 251.0], [3.3, 3.4, 3.6]),
        },
    ),
    "INT8": make_record(
        "INT8",
        {
            ("default", "throughput"): ([390.0, 402.0, 350.0], [5.0, 5.0, 5.0]),
            ("default", "latency"): ([400.0, 400.0, 400.0], [2.5, 2.0, 2.6]),
        },
    ),
}


def test_hand_records_follow_the_schema() -> None:
    for record in HAND.values():
        validate(record)


def test_speedups_from_medians() -> None:
    rows = {(r["target"], r["baseline"]): r for r in benchmark.speedups(HAND)}
    assert list(rows) == [
        ("INT8 default", "FP32 f32"),
        ("INT8 default", "FP32 default"),
        ("FP16 default", "FP32 f32"),
    ]
    # Medians: FP32 f32 100 FPS / 10.0 ms, FP32 default 300 / 3.4, FP16 299 / 3.4, INT8 390 / 2.5.
    expected = {
        ("INT8 default", "FP32 f32"): (390 / 100, 10.0 / 2.5),
        ("INT8 default", "FP32 default"): (390 / 300, 3.4 / 2.5),
        ("FP16 default", "FP32 f32"): (299 / 100, 10.0 / 3.4),
    }
    for key, (throughput, latency) in expected.items():
        assert rows[key]["throughput_speedup"] == pytest.approx(throughput)
        assert rows[key]["latency_speedup"] == pytest.approx(latency)
    int8 = rows["INT8 default", "FP32 f32"]
    assert (int8["target_fps"], int8["baseline_fps"]) == (390.0, 100.0)
    assert (int8["target_latency_ms"], int8["baseline_latency_ms"]) == (2.5, 10.0)


def test_speedups_leave_out_what_was_not_measured() -> None:
    throughput_only = {
        p: {**r, "configurations": [c for c in r["configurations"] if c["mode"] == "throughput"]}
        for p, r in HAND.items()
        if p != "FP16"
    }
    rows = benchmark.speedups(throughput_only)
    assert [(r["target"], r["baseline"]) for r in rows] == [
        ("INT8 default", "FP32 f32"),
        ("INT8 default", "FP32 default"),
    ]
    assert rows[0]["throughput_speedup"] == pytest.approx(3.9)
    assert rows[0]["latency_speedup"] is None
    assert benchmark.speedups({"FP32": HAND["FP32"]}) == []


def test_speedups_of_a_written_record(run: tuple[dict, Path, list[str]]) -> None:
    """From the JSON file as the workflow writes it, standing in for FP16 as well."""
    fp32 = json.loads(run[1].read_text())
    configs = _configs(fp32)
    (row,) = benchmark.speedups({"FP32": fp32, "FP16": fp32})  # FP16 default vs FP32 f32
    assert row["throughput_speedup"] == pytest.approx(
        configs["default", "throughput"]["summary"]["throughput_fps"]["median"]
        / configs["f32", "throughput"]["summary"]["throughput_fps"]["median"]
    )
    assert row["latency_speedup"] == pytest.approx(
        configs["f32", "latency"]["summary"]["latency_median_ms"]["median"]
        / configs["default", "latency"]["summary"]["latency_median_ms"]["median"]
    )
