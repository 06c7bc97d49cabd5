"""Rule quantize: FP32 IR → INT8 IR, NNCF post-training quantization."""

from pathlib import Path

from ovflow.coco_data import read_paths
from ovflow.ir_files import op_types, read_ir, save_ir
from ovflow.logs import to_log
from ovflow.quantize import quantize

with to_log(snakemake.log[0]):
    images = read_paths(Path(snakemake.input.calibration))
    spec = snakemake.params.spec.conversion
    model = quantize(read_ir(Path(snakemake.input.xml)), spec, images, snakemake.params.preset)
    fake_quantize = op_types(model).get("FakeQuantize", 0)
    if not fake_quantize:
        raise RuntimeError("NNCF inserted no FakeQuantize op: the model was not quantized")
    save_ir(model, Path(snakemake.output.xml), "INT8")
    print(f"INT8 IR with {fake_quantize} FakeQuantize ops from {len(images)} images")
