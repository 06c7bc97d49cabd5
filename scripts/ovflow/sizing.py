"""What the heavy rules ask a cluster scheduler for: `mem_mb` and `runtime` (minutes).

Set from Snakemake's benchmark records of real runs (`perf/job_usage.py`; the figures, the
commands and the machine load are in README.md, "Resources"): each rule's largest max RSS
and longest wall time at a known size of work. A job's request scales those by its own size
where the work grows with it, then adds headroom: the records sample memory (a short peak can
fall between two samples; the kernel's own peak was up to ~20% higher), and wall time on a
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


# Each rule's longest and largest record over the measured runs (README.md, "Resources"), at
# the largest size measured: requests scale up from there, never down.
MEASURED: dict[str, Measured] = {
    "convert": Measured(seconds=19.7, max_rss_mb=173),  # ssd_mobilenet_v1
    # calibration images; the time is quantization.mode accuracy_control's (default: 109 s),
    # whose drop stayed within max_drop: reverting layers to meet it would take longer.
    "quantize": Measured(seconds=214.6, max_rss_mb=496, work=300, threads=2),
    # images; 4,120 on 2 threads
    "detect": Measured(seconds=278.4, max_rss_mb=350, work=4120, threads=2),
    "accuracy": Measured(seconds=166.6, max_rss_mb=1244, work=4120, memory_grows=True),
    # images x comparisons with FP32 x bootstrap resamples / 1000: 4,120 x 2 x 1
    "accuracy_delta": Measured(seconds=99.9, max_rss_mb=907, work=8240, memory_grows=True),
    # benchmark_app seconds (benchmark_seconds): FP32, 2 runs x 2 modes x 2 repeats x (5 + 3)
    "benchmark": Measured(seconds=56.7, max_rss_mb=307, work=64),
    "report": Measured(seconds=7.4, max_rss_mb=121),
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
