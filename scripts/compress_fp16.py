"""Rule compress_fp16: FP32 IR → FP16 IR (weights stored as f16)."""

from pathlib import Path

from ovflow.ir_files import read_ir, save_ir
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    save_ir(read_ir(Path(snakemake.input.xml)), Path(snakemake.output.xml), "FP16")
