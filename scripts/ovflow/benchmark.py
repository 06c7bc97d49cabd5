"""Speed of an IR, measured by OpenVINO's benchmark_app and read from its JSON report."""

from __future__ import annotations

import collections
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import openvino as ov

from ovflow import atomic

REPORT_NAME = "benchmark_report.json"
# /proc/cpuinfo flags that decide which CPU kernels OpenVINO can use (VNNI/AMX for INT8, bf16).
ISA_FLAGS = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"]
# benchmark_app -hint values and the PERFORMANCE_HINT they set; "none" sets nothing.
_HINTS = {
    "throughput": "THROUGHPUT",
    "tput": "THROUGHPUT",
    "latency": "LATENCY",
    "cumulative_throughput": "CUMULATIVE_THROUGHPUT",
    "ctput": "CUMULATIVE_THROUGHPUT",
}
_PERCENTILE_KEY = re.compile(r"latency \((\d+) percentile\) \(ms\)")
_STREAMS_KEY = re.compile(r"number of .+ streams")
_TAIL_LINES = 20


def benchmark_command(
    xml: Path,
    *,
    device: str,
    hint: str,
    duration: int,
    report_dir: Path,
    infer_precision: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """benchmark_app argv; the one next to this interpreter, so the venv's OpenVINO is measured."""
    cmd = [
        str(Path(sys.executable).parent / "benchmark_app"),
        "-m", str(xml),
        "-d", device,
        "-hint", hint,
        "-t", str(duration),
        "-report_type", "no_counters",
        "-report_folder", str(report_dir),
        "-json_stats",
    ]  # fmt: skip
    if infer_precision:
        cmd += ["-infer_precision", infer_precision]
    return cmd + list(extra)


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def parse_report(report_json: Path) -> dict:
    """Numbers of a benchmark_app JSON report (all its values are strings).

    The report records streams, threads and inference precision only when they were forced
    on the command line (-nstreams, -nthreads, -infer_precision); otherwise they are None.
    """
    with open(report_json) as f:
        report = json.load(f)
    options = report.get("cmd_options", {})
    setup = report.get("configuration_setup", {})
    results = report.get("execution_results", {})
    if "error" in results:
        raise RuntimeError(f"{report_json}: benchmark_app failed: {results['error'].strip()}")
    if "throughput" not in results:
        raise ValueError(f"{report_json}: no 'throughput' in execution_results")

    percentiles = {
        f"p{m[1]}": float(value)
        for key, value in results.items()
        if (m := _PERCENTILE_KEY.fullmatch(key))
    }
    streams = next((v for k, v in setup.items() if _STREAMS_KEY.fullmatch(k)), None)
    return {
        "throughput_fps": float(results["throughput"]),
        "latency_ms": {
            # Without -latency_percentile the headline latency is the median.
            "median": _float(results.get("latency (ms)")),
            "avg": _float(results.get("avg latency")),
            "min": _float(results.get("min latency")),
            "max": _float(results.get("max latency")),
            "percentiles": percentiles,
        },
        "iterations": _int(results.get("total number of iterations")),
        "duration_ms": _float(results.get("total execution time (ms)")),
        "first_inference_ms": _float(results.get("first inference time (ms)")),
        "compile_ms": _float(results.get("compile model time (ms)")),
        "device": setup.get("target device"),
        "api": setup.get("API"),
        "batch": _int(setup.get("batch size")),
        "infer_requests": _int(setup.get("number of parallel infer requests")),
        "streams": _int(streams),
        "threads": _int(options.get("-nthreads")),
        "inference_precision": options.get("-infer_precision"),
    }


def _cpuinfo() -> list[dict[str, str]]:
    """/proc/cpuinfo as one dict per logical processor; empty where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    processors = []
    for block in text.strip().split("\n\n"):
        fields = (line.split(":", 1) for line in block.splitlines() if ":" in line)
        processors.append({k.strip(): v.strip() for k, v in fields})
    return processors


def machine_info() -> dict:
    """The CPU a number was measured on, as the OS and as OpenVINO see it."""
    processors = _cpuinfo()
    first = processors[0] if processors else {}
    flags = set(first.get("flags", "").split())
    cores = {(p["physical id"], p["core id"]) for p in processors if "core id" in p}
    core = ov.Core()
    return {
        "cpu_model": first.get("model name"),
        "logical_cores": os.cpu_count(),
        # What this process may run on (containers and taskset restrict it).
        "usable_cores": len(os.sched_getaffinity(0)),
        "physical_cores": len(cores) or None,
        "isa": {flag: flag in flags for flag in ISA_FLAGS},
        "openvino_capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
        "openvino_device_name": core.get_property("CPU", "FULL_DEVICE_NAME"),
    }


def _property(compiled: ov.CompiledModel, name: str) -> Any:
    try:
        return compiled.get_property(name)
    except RuntimeError:  # not every device has every property
        return None


def compiled_config(
    xml: Path, *, device: str, hint: str, infer_precision: str | None = None
) -> dict:
    """What the plugin chooses for this model under benchmark_app's settings.

    The report does not record it, and it matters: the CPU runs f32 IRs in bf16 by default
    on AMX hosts. The plugin's choice depends only on model, config and machine, so a
    compile with the same config shows what the benchmark ran with.
    """
    config = {}
    if hint in _HINTS:
        config["PERFORMANCE_HINT"] = _HINTS[hint]
    if infer_precision:
        config["INFERENCE_PRECISION_HINT"] = infer_precision
    compiled = ov.Core().compile_model(str(xml), device, config)
    precision = _property(compiled, "INFERENCE_PRECISION_HINT")
    devices = _property(compiled, "EXECUTION_DEVICES")
    return {
        "streams": _property(compiled, "NUM_STREAMS"),
        "threads": _property(compiled, "INFERENCE_NUM_THREADS"),
        "inference_precision": None if precision is None else precision.to_string(),
        "optimal_infer_requests": _property(compiled, "OPTIMAL_NUMBER_OF_INFER_REQUESTS"),
        "execution_devices": None if devices is None else list(devices),
    }


def _run(cmd: list[str], log: Callable[[str], object]) -> None:
    """Run cmd, passing each output line to log; benchmark_app reports errors on stdout."""
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            log(line)
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark_app exited with {proc.returncode}: {shlex.join(cmd)}\n" + "\n".join(tail)
        )


def run_benchmark(
    xml: Path,
    out_json: Path,
    *,
    device: str,
    hint: str,
    duration: int,
    infer_precision: str | None = None,
    log: Callable[[str], object] = print,
) -> dict:
    """Benchmark xml, write the record to out_json and return it."""
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    # A fresh report folder, so a stale report from an earlier run is never read.
    with tempfile.TemporaryDirectory(dir=out_json.parent, prefix=f".{out_json.stem}.") as tmp:
        report_dir = Path(tmp)
        cmd = benchmark_command(
            xml,
            device=device,
            hint=hint,
            duration=duration,
            report_dir=report_dir,
            infer_precision=infer_precision,
        )
        log(f"$ {shlex.join(cmd)}")
        _run(cmd, log)
        result = parse_report(report_dir / REPORT_NAME)
    record = {
        "model_xml": str(xml),
        "command": shlex.join(cmd),
        "openvino_version": metadata.version("openvino"),
        "device": device,
        "hint": hint,
        "duration_s": duration,
        "infer_precision_requested": infer_precision,
        "result": result,
        "compiled": compiled_config(xml, device=device, hint=hint, infer_precision=infer_precision),
        "machine": machine_info(),
    }
    atomic.write_text(out_json, json.dumps(record, indent=2) + "\n")
    return record
