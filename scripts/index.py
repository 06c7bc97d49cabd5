"""Rule index: every model's headline.yaml, as its report wrote it → index.md and a
self-contained index.html linking each report."""

from pathlib import Path

from ovflow.logs import to_log
from ovflow.paths import input_key
from ovflow.report import IndexEntry, read_headline, write_index

with to_log(snakemake.log[0]):
    named = snakemake.input
    entries = [
        IndexEntry(
            read_headline(Path(named[input_key("headline", model)])),
            Path(named[input_key("html", model)]),
            Path(named[input_key("md", model)]),
        )
        for model in snakemake.params.models
    ]
    write_index(Path(snakemake.output.md), Path(snakemake.output.html), entries)
    for entry in entries:
        print(f"{entry.headline.model}: {entry.headline.verdict}")
