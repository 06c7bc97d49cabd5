"""Rule benchmark: benchmark_app on one IR, every configuration and mode → benchmark JSON."""

from pathlib import Path

from ovflow.benchmark import Settings, run_benchmark
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    run_benchmark(
        Path(snakemake.input.xml),
        Path(snakemake.output[0]),
        precision=snakemake.wildcards.precision,
        settings=Settings.from_config(snakemake.params.settings),
    )
