"""What the heavy rules ask a cluster scheduler for: `mem_mb` and `runtime` (minutes).

Set from measured runs (`perf/job_usage.py` reads Snakemake's benchmark records,
`perf/scoring_speed.py` the kernel's peaks at 5,000 images; figures, commands and machine in
README.md, "Resources"): each rule's largest peak memory and longest wall time at a known size
of work. A job's request scales those by its own size where the work grows with it, then adds
headroom: memory is sampled (a short peak can fall between two samples), and wall time on a
shared machine swung up to ~5x with its load (detect on the 206 images: 4.4 s to 20.6 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MEMORY_HEADROOM = 2.0
RUNTIME_HEADROOM = 3.0
MIN_MEM_MB = 1000
MIN_RUNTIME_MIN = 10
# benchmark_app's own start, compile and report around each run's `duration`: 1-2 s measured
# (the offline records' wall time less the runs' durations, per run).
BENCHMARK_RUN_OVERHEAD_S = 3.0


@dataclass(frozen=True)
class Measured:
    """One rule's job at a known size of work (`work`, in the unit its rule passes)."""

    seconds: float
    max_rss_mb: float
    work: float = 1.0
    threads: int | None = None  # the job's threads, where its time scales with them
    memory_grows: bool = False  # memory grows with the work (else only time does)


# Each rule's longest and largest figure over the measured runs (README.md, "Resources"), at
# the size measured: requests scale up from there, never down. Memory is the kernel's peak
# (VmHWM, perf/scoring_speed.py) where a job writes its biggest output at its very end, between
# two of Snakemake's samples (detect: records 461 MB, kernel 899 MB).
MEASURED: dict[str, Measured] = {
    "convert": Measured(seconds=10.6, max_rss_mb=173),  # ssd_mobilenet_v1
    # calibration images; the time is quantization.mode accuracy_control's (default: 21 s),
    # whose drop stayed within max_drop: reverting layers to meet it would take longer.
    "quantize": Measured(seconds=59.2, max_rss_mb=501, work=300, threads=2),
    # images: 5,000 on 2 threads; the detections of every image are held until written
    "detect": Measured(seconds=76.1, max_rss_mb=899, work=5000, threads=2, memory_grows=True),
    "accuracy": Measured(seconds=9.9, max_rss_mb=681, work=5000, memory_grows=True),
    # images x comparisons with FP32 x bootstrap resamples / 1000: 5,000 x 2 x 1, 2 threads
    "accuracy_delta": Measured(
        seconds=18.3, max_rss_mb=777, work=10000, threads=2, memory_grows=True
    ),
    # benchmark_app seconds (benchmark_seconds): FP32, 2 runs x 2 modes x 2 repeats x (5 + 3)
    "benchmark": Measured(seconds=47.4, max_rss_mb=294, work=64),
    "report": Measured(seconds=3.0, max_rss_mb=174),
}


def _scale(measured: Measured, work: float | None) -> float:
    return max(1.0, (measured.work if work is None else work) / measured.work)


def mem_mb(rule: str, work: float | None = None) -> int:
    """Memory to ask for, in MB (rounded up to 100)."""
    measured = MEASURED[rule]
    scale = _scale(measured, work) if measured.memory_grows else 1.0
    mb = measured.max_rss_mb * scale * MEMORY_HEADROOM
    return max(MIN_MEM_MB, math.ceil(mb / 100) * 100)


def runtime(rule: str, work: float | None = None, threads: int | None = None) -> int:
    """Wall time to ask for, in minutes."""
    measured = MEASURED[rule]
    seconds = measured.seconds * _scale(measured, work) * RUNTIME_HEADROOM
    if measured.threads and threads:
        seconds *= max(1.0, measured.threads / threads)  # fewer threads, longer
    return max(MIN_RUNTIME_MIN, math.ceil(seconds / 60))


def benchmark_seconds(runs: int, settings: dict) -> float:
    """benchmark_app's time for `runs` configurations of one IR (each in every mode, repeated)."""
    per_run = settings["duration"] + BENCHMARK_RUN_OVERHEAD_S
    return runs * len(settings["modes"]) * settings["repeats"] * per_run
