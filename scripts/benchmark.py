"""Rule benchmark: benchmark_app on one IR → benchmark JSON."""

from pathlib import Path

from ovflow.benchmark import run_benchmark
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    run_benchmark(
        Path(snakemake.input.xml),
        Path(snakemake.output[0]),
        device=snakemake.params.device,
        hint=snakemake.params.hint,
        duration=snakemake.params.duration,
    )
