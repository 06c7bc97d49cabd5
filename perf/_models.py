"""Build the IRs the benchmark scripts measure, from the shared mirror archives.

The scripts use the workflow's own modules (scripts/ovflow), so they measure exactly what the
workflow builds.
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

from pathlib import Path

from ovflow import catalog, coco_data, convert, ir_files, quantize
from ovflow.download import extract_tar_folder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PERSON_IMAGES = SHARED / "data" / "coco-val2017-person" / "val2017"
SUBSET = SHARED / "data" / "coco-val2017-subset"


def archive_dir(model: str, dest: Path) -> Path:
    """The model's mirror archive unpacked into `dest`."""
    spec = catalog.load_model(model)
    archive = next((SHARED / "mirror").glob(f"{spec.archive.folder}*.tar.gz"))
    files = [convert.GRAPH_FILE, convert.PIPELINE_FILE]
    extract_tar_folder(archive, spec.archive.folder, dest, files)
    return dest


def fp32_ir(model: str, work: Path, **convert_options) -> Path:
    xml = work / "FP32" / f"{model}.xml"
    converted = convert.convert(
        archive_dir(model, work / "archive"), catalog.load_model(model), **convert_options
    )
    ir_files.save_ir(converted.model, xml, "FP32")
    return xml


def int8_ir(model: str, fp32_xml: Path, work: Path, calibration_images: int = 300) -> Path:
    """INT8 IR as the workflow's default quantization makes it (person images calibrate)."""
    images = coco_data.select_calibration(
        coco_data.list_images(PERSON_IMAGES), calibration_images, seed=0
    )
    spec = catalog.load_model(model)
    fp32 = ir_files.read_ir(fp32_xml)
    xml = work / "INT8" / f"{model}.xml"
    int8 = quantize.quantize(fp32, quantize.cut_for(fp32, spec), images, spec.input)
    ir_files.save_ir(int8, xml, "INT8")
    return xml
