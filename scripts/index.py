"""Rule index: every model's headline.yaml → index.md and a self-contained index.html."""

from pathlib import Path

from ovflow.logs import to_log
from ovflow.report import IndexEntry, read_headline, write_index

with to_log(snakemake.log[0]):
    entries = [
        IndexEntry(read_headline(Path(headline)), Path(html), Path(md))
        for headline, html, md in zip(
            snakemake.input.headlines, snakemake.input.html, snakemake.input.md, strict=True
        )
    ]
    write_index(Path(snakemake.output.md), Path(snakemake.output.html), entries)
    for entry in entries:
        print(f"{entry.headline.model}: {entry.headline.verdict_text()}")
