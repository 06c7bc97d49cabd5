"""Rule download: fetch one catalog file (mirror first), checksum-verified."""

from pathlib import Path

from ovflow.download import fetch
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    mirror = snakemake.params.mirror
    fetch(snakemake.params.spec, Path(snakemake.output[0]), Path(mirror) if mirror else None)
