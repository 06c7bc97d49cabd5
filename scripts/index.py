"""Rule index: every model's headline.yaml, as its report wrote it → index.md and a
self-contained index.html linking each report."""

from pathlib import Path

from ovflow.logs import to_log
from ovflow.paths import input_key
from ovflow.report import write_index
from ovflow.verdict import Headline

with to_log(snakemake.log[0]):
    kinds, named = ("headline", "html", "md"), snakemake.input
    files = [[Path(named[input_key(k, model)]) for k in kinds] for model in snakemake.params.models]
    entries = [(Headline.read(headline), html, md) for headline, html, md in files]
    write_index(Path(snakemake.output.md), Path(snakemake.output.html), entries)
    print("\n".join(f"{head.model}: {head.verdict}" for head, *_ in entries))
