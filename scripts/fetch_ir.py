"""Rule fetch_ir: an IR model's .xml and .bin (local path, mirror or URL), sha256-verified."""

from pathlib import Path

from ovflow.download import fetch
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    mirror = Path(snakemake.params.mirror) if snakemake.params.mirror else None
    ir = snakemake.params.ir
    fetch(ir.xml, Path(snakemake.output.xml), mirror)
    fetch(ir.bin, Path(snakemake.output.bin), mirror)
