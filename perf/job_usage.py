"""Runtime and peak memory of a run's heavy jobs, per rule, from Snakemake's benchmark records.

The heavy rules (convert, quantize, detect, accuracy, accuracy_delta, benchmark, report) each
write one record per job to <results>/usage/<rule>/ (ovflow.paths.Paths.usage): wall seconds,
max RSS of the job's process tree (MB) and CPU seconds. Snakemake samples memory every 0.5 s
for the first ~15 s of a job, then every 30 s, so a longer job's short peak can be missed.

Prints per rule: jobs, the longest job's seconds, the sum over jobs, the largest max RSS and
CPU seconds; with --jobs, every job's record too. The resources the rules declare (mem_mb,
runtime) are set from these figures with headroom.

    .venv/bin/python perf/job_usage.py results/offline [--jobs]
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import argparse
from pathlib import Path

import pandas as pd

from ovflow.paths import Paths


def read_records(results: Path) -> pd.DataFrame:
    """One row per job: rule, job, seconds, max_rss_mb, cpu_seconds."""
    usage = Paths(results).usage_dir
    rows = []
    for tsv in sorted(usage.glob("*/**/*.tsv")):
        record = pd.read_csv(tsv, sep="\t").iloc[-1]  # the last run of the job
        rule = tsv.relative_to(usage).parts[0]
        job = str(tsv.relative_to(usage / rule).with_suffix(""))
        rows.append(
            {
                "rule": rule,
                "job": job,
                "seconds": float(record["s"]),
                "max_rss_mb": pd.to_numeric(record["max_rss"], errors="coerce"),
                "cpu_seconds": pd.to_numeric(record["cpu_time"], errors="coerce"),
            }
        )
    if not rows:
        raise SystemExit(f"{usage}: no benchmark records (run the workflow first)")
    return pd.DataFrame(rows)


def per_rule(records: pd.DataFrame) -> pd.DataFrame:
    return records.groupby("rule", sort=False).agg(
        jobs=("job", "size"),
        longest_s=("seconds", "max"),
        total_s=("seconds", "sum"),
        max_rss_mb=("max_rss_mb", "max"),
        cpu_s=("cpu_seconds", "max"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the run's results folder")
    parser.add_argument("--jobs", action="store_true", help="also print every job's record")
    args = parser.parse_args()
    records = read_records(args.results)
    with pd.option_context("display.width", 120, "display.float_format", "{:.1f}".format):
        print(per_rule(records).to_string())
        if args.jobs:
            print()
            print(records.set_index(["rule", "job"]).to_string())


if __name__ == "__main__":
    main()
