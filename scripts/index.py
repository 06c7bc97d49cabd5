"""Rule index: every model's headline.yaml, as its report wrote it → index.md and a
self-contained index.html linking each report."""

from pathlib import Path

from ovflow.logs import to_log
from ovflow.report import write_index

with to_log(snakemake.log[0]):
    md, html = Path(snakemake.output.md), Path(snakemake.output.html)
    write_index(dict(snakemake.input.items()), snakemake.params.models, md, html)
