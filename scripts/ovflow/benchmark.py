"""Speed of an IR, measured by OpenVINO's benchmark_app and read from its JSON reports.

One record per IR precision (schemas/benchmark.schema.json): every configuration a user
compares (FP32 in true f32 and in the device default; FP16 and INT8 in the default), each in
throughput and latency mode, each repeated; medians across repeats plus their spread.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovflow import atomic
from ovflow.precisions import PRECISIONS, QUANTIZED, REFERENCE
from ovflow.versions import package_version

if TYPE_CHECKING:
    import openvino as ov

REPORT_NAME = "benchmark_report.json"
CONFIG_NAME = "compile_config.json"
# The recorded command shows this instead of the scratch folder each run reports into
# (removed once parsed), so every repeat shares one command and no dead path is recorded.
REPORT_PLACEHOLDER = "<report_folder>"
# /proc/cpuinfo flags that decide which CPU kernels OpenVINO can use (VNNI/AMX for INT8, bf16).
ISA_FLAGS = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"]
# benchmark_app -api per mode: latency is one request at a time (what -hint latency defaults to).
MODE_API = {"throughput": "async", "latency": "sync"}
# INFERENCE_PRECISION_HINT of each named setting; None leaves the device default (bf16 on AMX).
PRECISION_HINTS = {"f32": "f32", "default": None}
# The settings a user compares per IR precision: f32 is the true FP32 baseline.
PLAN = {p: ("f32", "default") if p == REFERENCE else ("default",) for p in PRECISIONS}
# Speed-up table rows: (target, baseline), each (IR precision, setting). Every precision
# against true f32; the quantized one also against the reference in the device default.
COMPARISONS = (
    ((QUANTIZED, "default"), (REFERENCE, "f32")),
    ((QUANTIZED, "default"), (REFERENCE, "default")),
    *(((p, "default"), (REFERENCE, "f32")) for p in PRECISIONS if p not in (REFERENCE, QUANTIZED)),
)
# Per-run numbers; each also gets a median/min/max across repeats.
RUN_METRICS = (
    "throughput_fps",
    "latency_median_ms",
    "latency_avg_ms",
    "latency_min_ms",
    "latency_max_ms",
    "iterations",
    "duration_ms",
    "first_inference_ms",
    "compile_ms",
    "other_cpu_percent",
)
# Executed-graph node types that only move data in or out.
_IO_LAYERS = {"Input", "Output", "Const", "Parameter", "Result", "Constant"}
_TAIL_LINES = 20


@dataclass(frozen=True)
class Settings:
    """The `benchmark:` config section."""

    device: str = "CPU"
    duration: int = 15
    repeats: int = 3
    modes: tuple[str, ...] = ("throughput", "latency")
    streams: int | None = None
    threads: int | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Settings:
        return cls(**{**section, "modes": tuple(section.get("modes", cls.modes))})

    @property
    def hint(self) -> str | None:
        """-hint for every run, or None to pass the mode's own hint.

        benchmark_app accepts -nstreams/-nthreads only with -hint none (its rule, not
        OpenVINO's), so fixing either turns the plugin's hint-based tuning off.
        """
        return "none" if self.streams is not None or self.threads is not None else None


def benchmark_command(
    xml: Path,
    settings: Settings,
    *,
    mode: str,
    infer_precision: str | None,
    report_dir: Path | str,
) -> list[str]:
    """benchmark_app argv; the one next to this interpreter, so the venv's OpenVINO is measured."""
    cmd = [
        str(Path(sys.executable).parent / "benchmark_app"),
        "-m", str(xml),
        "-d", settings.device,
        "-hint", settings.hint or mode,
        "-api", MODE_API[mode],
        "-t", str(settings.duration),
    ]  # fmt: skip
    if settings.streams is not None:
        cmd += ["-nstreams", str(settings.streams)]
    if settings.threads is not None:
        cmd += ["-nthreads", str(settings.threads)]
    if infer_precision:
        cmd += ["-infer_precision", infer_precision]
    return [
        *cmd,
        "-report_type", "no_counters",
        "-report_folder", str(report_dir),
        "-json_stats",
        # The exact properties it compiled with, to read back what the plugin resolved.
        "-dump_config", f"{report_dir}/{CONFIG_NAME}",
    ]  # fmt: skip


def parse_report(report_json: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """(metrics, setup) of a benchmark_app JSON report (all its values are strings).

    p90/p99 are not there: benchmark_app reports one latency percentile per run
    (-latency_percentile, default 50), so asking for p90 would drop the median.
    """
    with open(report_json) as f:
        report = json.load(f)
    setup = report.get("configuration_setup", {})
    results = report.get("execution_results", {})
    if "error" in results:
        raise RuntimeError(f"{report_json}: benchmark_app failed: {results['error'].strip()}")
    keys = {
        "throughput_fps": "throughput",
        "latency_median_ms": "latency (ms)",
        "latency_avg_ms": "avg latency",
        "latency_min_ms": "min latency",
        "latency_max_ms": "max latency",
        "iterations": "total number of iterations",
        "duration_ms": "total execution time (ms)",
        "first_inference_ms": "first inference time (ms)",
        "compile_ms": "compile model time (ms)",
    }
    missing = [key for key in keys.values() if key not in results]
    if missing:
        raise ValueError(f"{report_json}: execution_results lacks {missing}")
    metrics = {name: float(results[key]) for name, key in keys.items()}
    metrics["iterations"] = int(metrics["iterations"])
    return metrics, {
        "api": setup.get("API"),
        "batch": int(setup["batch size"]),
        "infer_requests": int(setup["number of parallel infer requests"]),
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


def machine_info(device: str = "CPU") -> dict:
    """The CPU a number was measured on, as the OS and as OpenVINO see it."""
    processors = _cpuinfo()
    first = processors[0] if processors else {}
    flags = set(first.get("flags", "").split())
    cores = {(p["physical id"], p["core id"]) for p in processors if "core id" in p}
    import openvino as ov  # here, not at the top: see resolved_config

    core = ov.Core()
    return {
        "cpu_model": first.get("model name"),
        "logical_cores": os.cpu_count(),
        # What this process may run on (containers and taskset restrict it).
        "usable_cores": len(os.sched_getaffinity(0)),
        "physical_cores": len(cores) or None,
        "isa": {flag: flag in flags for flag in ISA_FLAGS},
        "openvino_capabilities": list(core.get_property(device, "OPTIMIZATION_CAPABILITIES")),
        "openvino_device_name": core.get_property(device, "FULL_DEVICE_NAME"),
    }


def _property(compiled: ov.CompiledModel, name: str) -> Any:
    try:
        return compiled.get_property(name)
    except RuntimeError:  # not every device has every property
        return None


def executed_layers(compiled: ov.CompiledModel) -> dict[str, dict[str, int]]:
    """Layer type → {runtime precision: count} in the executed graph.

    The precision hint alone hides what INT8 runs in: an INT8 IR reports bf16 on AMX
    hosts while its convolutions run in u8/i8.
    """
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        layer = info["layerType"].astype(str)
        if layer not in _IO_LAYERS:
            counts[layer][info["runtimePrecision"].astype(str)] += 1
    return {layer: dict(sorted(c.items())) for layer, c in sorted(counts.items())}


def resolved_config(xml: Path, device: str, dumped_config: Path) -> dict:
    """What the plugin chose for the properties benchmark_app compiled with (-dump_config).

    benchmark_app's report records streams, threads and inference precision only when they
    were forced. The plugin's choice depends only on model, properties and machine, so one
    compile with the dumped properties shows what the benchmark ran with.
    """
    # Imported where used: the report's environment reads records with speedups() and
    # has no OpenVINO.
    import openvino as ov

    properties = json.loads(dumped_config.read_text()).get(device, {})
    compiled = ov.Core().compile_model(str(xml), device, properties)
    precision = _property(compiled, "INFERENCE_PRECISION_HINT")
    return {
        "inference_precision": None if precision is None else precision.to_string(),
        "streams": _property(compiled, "NUM_STREAMS"),
        "threads": _property(compiled, "INFERENCE_NUM_THREADS"),
        "executed_layers": executed_layers(compiled),
    }


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has been busy since boot, all CPUs (/proc/stat)."""
    with open("/proc/stat") as f:
        _, user, nice, system, _idle, _iowait, irq, softirq, steal = f.readline().split()[:9]
    ticks = sum(int(t) for t in (user, nice, system, irq, softirq, steal))
    return ticks / os.sysconf("SC_CLK_TCK")


def _clocks() -> tuple[float, float, float]:
    """(wall, machine busy CPU, this process's finished children's CPU), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), _busy_cpu_s(), usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], log: Callable[[str], object]) -> float:
    """Run cmd, passing each output line to log; benchmark_app reports errors on stdout.

    Returns the share (%) of the machine's CPU time that went to anything but cmd while it
    ran (other processes, hypervisor steal): what makes a run noisy, measured, not guessed.
    """
    log(f"$ {shlex.join(cmd)}")
    before = _clocks()
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
    wall, busy, own = (b - a for a, b in zip(before, _clocks(), strict=True))
    return max(0.0, busy - own) / (wall * (os.cpu_count() or 1)) * 100


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median across repeats and the range around it, so a noisy run stays visible."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


@dataclass(frozen=True)
class _Configuration:
    setting: str
    mode: str

    @property
    def infer_precision(self) -> str | None:
        return PRECISION_HINTS[self.setting]


def measure(
    xml: Path,
    settings: Settings,
    *,
    mode: str,
    infer_precision: str | None,
    report_dir: Path,
    log: Callable[[str], object] = print,
) -> tuple[dict[str, float], dict[str, Any]]:
    """One benchmark_app run into `report_dir` (created here): (metrics, setup) from its report."""
    report_dir.mkdir()  # benchmark_app needs it to exist
    cmd = benchmark_command(
        xml, settings, mode=mode, infer_precision=infer_precision, report_dir=report_dir
    )
    other_cpu_percent = _run(cmd, log)
    metrics, setup = parse_report(report_dir / REPORT_NAME)
    metrics["other_cpu_percent"] = other_cpu_percent
    return metrics, setup


def throughput_fps(
    xml: Path, settings: Settings, infer_precision: str | None = None, log=print
) -> float:
    """Throughput-mode FPS of one run, for scripts that compare two IRs."""
    with tempfile.TemporaryDirectory() as tmp:
        metrics, _ = measure(
            xml,
            settings,
            mode="throughput",
            infer_precision=infer_precision,
            report_dir=Path(tmp) / "run",
            log=log,
        )
    return metrics["throughput_fps"]


def _configuration_record(
    xml: Path,
    settings: Settings,
    config: _Configuration,
    setup: Mapping[str, Any],
    runs: list[dict[str, float]],
) -> dict:
    command = benchmark_command(
        xml,
        settings,
        mode=config.mode,
        infer_precision=config.infer_precision,
        report_dir=REPORT_PLACEHOLDER,
    )
    return {
        "setting": config.setting,
        "mode": config.mode,
        "infer_precision_requested": config.infer_precision,
        "hint": settings.hint or config.mode,
        "command": shlex.join(command),
        **setup,
        "runs": runs,
        "summary": {m: spread([run[m] for run in runs]) for m in RUN_METRICS},
    }


def run_benchmark(
    xml: Path,
    out_json: Path,
    *,
    precision: str,
    settings: Settings,
    log: Callable[[str], object] = print,
) -> dict:
    """Benchmark every configuration of this IR precision, write the record, return it."""
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    configs = [_Configuration(s, m) for s in PLAN[precision] for m in settings.modes]
    runs: dict[_Configuration, list[dict[str, float]]] = {c: [] for c in configs}
    setups: dict[_Configuration, dict[str, Any]] = {}
    # A fresh scratch folder, so a stale report from an earlier run is never read; in the
    # system temp dir, so a cancelled job leaves nothing beside the results.
    with tempfile.TemporaryDirectory(prefix=f"benchmark-{out_json.stem}.") as tmp:
        # Repeats interleave the configurations, so a slow drift of the machine spreads
        # over all of them instead of biasing one.
        for repeat in range(1, settings.repeats + 1):
            for config in configs:
                report_dir = Path(tmp) / f"{config.setting}-{config.mode}-{repeat}"
                metrics, setup = measure(
                    xml,
                    settings,
                    mode=config.mode,
                    infer_precision=config.infer_precision,
                    report_dir=report_dir,
                    log=log,
                )
                runs[config].append(metrics)
                if config not in setups:  # the same in every repeat: compile once
                    dumped = report_dir / CONFIG_NAME
                    setups[config] = setup | resolved_config(xml, settings.device, dumped)
    record = {
        "model_xml": str(xml),
        "precision": precision,
        "settings": asdict(settings) | {"modes": list(settings.modes)},
        "openvino_version": package_version("openvino"),
        "nncf_version": package_version("nncf"),
        "machine": machine_info(settings.device),
        "configurations": [
            _configuration_record(xml, settings, c, setups[c], runs[c]) for c in configs
        ],
    }
    atomic.write_text(out_json, json.dumps(record, indent=2) + "\n")
    return record


# Speed-up table


def find_configuration(
    records: Mapping[str, Mapping[str, Any]], precision: str, setting: str, mode: str
) -> Mapping[str, Any] | None:
    """The configuration record of (IR precision, setting, mode), or None if not measured."""
    configs = records.get(precision, {}).get("configurations", [])
    return next((c for c in configs if (c["setting"], c["mode"]) == (setting, mode)), None)


def _median(
    records: Mapping[str, Mapping[str, Any]], key: tuple[str, str], mode: str, metric: str
) -> float | None:
    config = find_configuration(records, *key, mode)
    return None if config is None else config["summary"][metric]["median"]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def speedups(records: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """INT8 vs FP32-f32, INT8 vs FP32-default, FP16 vs FP32-f32, from the per-precision records.

    throughput_speedup = target / baseline median FPS (throughput mode);
    latency_speedup = baseline / target median latency (latency mode); above 1 is faster.
    A comparison is left out unless both sides were benchmarked; a ratio is None when its
    mode was not.
    """
    rows = []
    for target, baseline in COMPARISONS:
        if not _measured(records, target) or not _measured(records, baseline):
            continue
        fps = [_median(records, k, "throughput", "throughput_fps") for k in (target, baseline)]
        ms = [_median(records, k, "latency", "latency_median_ms") for k in (target, baseline)]
        rows.append(
            {
                "target": " ".join(target),
                "baseline": " ".join(baseline),
                "target_fps": fps[0],
                "baseline_fps": fps[1],
                "throughput_speedup": _ratio(fps[0], fps[1]),
                "target_latency_ms": ms[0],
                "baseline_latency_ms": ms[1],
                "latency_speedup": _ratio(ms[1], ms[0]),
            }
        )
    return rows


def _measured(records: Mapping[str, Mapping[str, Any]], key: tuple[str, str]) -> bool:
    return any(find_configuration(records, *key, mode) for mode in MODE_API)
