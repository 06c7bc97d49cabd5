"""Rule convert: frozen graph → FP32 IR with the Open Model Zoo interface."""

from pathlib import Path

from ovflow.convert import convert
from ovflow.ir_files import save_ir
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    model = convert(
        Path(snakemake.input.graph).parent,
        snakemake.params.spec,
        score_threshold=snakemake.params.score_threshold,
    )
    save_ir(model, Path(snakemake.output.xml), "FP32")
    print(f"inputs {model.inputs}\noutputs {model.outputs}")
