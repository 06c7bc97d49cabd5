"""Rule quantize: FP32 IR → INT8 IR (NNCF), and a record of how it was made."""

from pathlib import Path

import yaml

from ovflow import atomic, coco_data, coco_eval, labels
from ovflow.coco_data import DatasetError
from ovflow.ir_files import read_ir, save_ir
from ovflow.logs import to_log
from ovflow.quantize import (
    ValidationSet,
    ap_of,
    cut_for,
    cut_record,
    fake_quantize_count,
    float_layers,
    quantize,
    quantize_with_accuracy_control,
)


def validation_set(
    images: list[Path], annotations: Path, model_labels: dict[int, str], only_model_classes: bool
) -> ValidationSet:
    """The calibration images with their annotations (never among the evaluation images)."""
    ground_truth = coco_data.load_annotations(annotations)
    by_name = {rec["file_name"]: rec for rec in ground_truth["images"]}
    missing = [p.name for p in images if p.name not in by_name]
    if missing:
        raise DatasetError(f"{annotations}: no annotations for calibration image {missing[0]}")
    records = [by_name[p.name] for p in images]
    ids = [rec["id"] for rec in records]
    return ValidationSet(
        images=images,
        image_ids=ids,
        sizes=[(rec["width"], rec["height"]) for rec in records],
        annotations=coco_eval.ground_truth(ground_truth),
        classes=labels.match(model_labels, ground_truth, ids, only_model_classes, annotations),
    )


with to_log(snakemake.log[0]):
    settings = snakemake.params.quantization
    spec = snakemake.params.spec
    images = coco_data.read_paths(Path(snakemake.input.calibration))
    fp32 = read_ir(Path(snakemake.input.xml))
    cut = cut_for(fp32, spec)
    info = {
        "mode": settings["mode"],
        "preset": settings["preset"],
        "calibration_images": len(images),
        "calibration_folder": str(images[0].parent),
    }
    if settings["mode"] == "accuracy_control":
        validation = validation_set(
            images,
            Path(snakemake.input.annotations),
            spec.labels,
            snakemake.params.only_model_classes,
        )
        int8, nncf_log = quantize_with_accuracy_control(
            fp32, cut, images, validation, settings["max_drop"], spec.input, settings["preset"]
        )
        reference = ap_of(fp32, cut, validation, spec.input)
        achieved = ap_of(int8, cut, validation, spec.input)
        info["accuracy_control"] = {
            "metric": "COCO AP on the validation (calibration) images",
            "max_drop": settings["max_drop"],
            "validation_images": len(images),
            "fp32_ap": reference,
            "int8_ap": achieved,
            "drop": reference - achieved,
            "nncf_log": nncf_log,
        }
    else:
        int8 = quantize(fp32, cut, images, spec.input, settings["preset"])
    info["cut"] = cut_record(fp32, cut)
    info["fake_quantize_ops"] = fake_quantize_count(int8)
    info["float_layers"] = float_layers(int8)
    if not info["fake_quantize_ops"]:
        raise RuntimeError("NNCF inserted no FakeQuantize op: the model was not quantized")
    save_ir(int8, Path(snakemake.output.xml), "INT8")
    atomic.write_text(Path(snakemake.output.info), yaml.safe_dump(info, sort_keys=False))
    print(yaml.safe_dump(info, sort_keys=False))
