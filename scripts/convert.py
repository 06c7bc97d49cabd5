"""Rule convert: frozen graph → FP32 IR with the Open Model Zoo interface, and the record of
what conversion decided beside it."""

from pathlib import Path

import yaml

from ovflow import atomic
from ovflow.convert import convert
from ovflow.ir_files import save_ir
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    converted = convert(
        Path(snakemake.input.graph).parent,
        snakemake.params.spec,
        score_threshold=snakemake.params.score_threshold,
    )
    save_ir(converted.model, Path(snakemake.output.xml), "FP32")
    record = yaml.safe_dump(converted.record, sort_keys=False)
    atomic.write_text(Path(snakemake.output.info), record)
    print(f"inputs {converted.model.inputs}\noutputs {converted.model.outputs}\n{record}")
