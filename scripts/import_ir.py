"""Rule import_ir: an IR model's own IR, checked → the FP32 IR and conversion.yaml."""

from pathlib import Path

import yaml

from ovflow import atomic
from ovflow.ir_files import save_ir
from ovflow.ir_source import take_over
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    model, info = take_over(
        Path(snakemake.input.xml), Path(snakemake.input.bin), snakemake.params.spec
    )
    save_ir(model, Path(snakemake.output.xml), "FP32")
    record = yaml.safe_dump(info, sort_keys=False)
    atomic.write_text(Path(snakemake.output.info), record)
    print(record)
