"""Saving and reading IR files."""

from __future__ import annotations

import shutil
from pathlib import Path

import openvino as ov

from .errors import OvflowError
from .precisions import COMPRESSED, PRECISIONS

MB = 1 << 20


class DeviceFullError(OvflowError, OSError):
    """No room for an output on its file system."""


def weight_bytes(model: ov.Model, compress_to_fp16: bool = False) -> int:
    """Bytes of the model's constants, about the size of its IR's .bin."""
    total = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Constant":
            size = op.get_byte_size()
            if compress_to_fp16 and op.get_output_element_type(0) == ov.Type.f32:
                size //= 2
            total += size
    return total


def save_ir(model: ov.Model, xml: Path, precision: str) -> None:
    """Save an IR; FP16 compresses weights. The .xml lands last, so its presence means complete."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    xml.parent.mkdir(parents=True, exist_ok=True)
    tmp = xml.with_name(f".{xml.stem}.tmp.xml")
    compress = precision == COMPRESSED
    try:
        ov.save_model(model, tmp, compress_to_fp16=compress)
    except RuntimeError as exc:
        for part in (tmp, tmp.with_suffix(".bin")):
            part.unlink(missing_ok=True)
        # OpenVINO's writer reports a full disk only as "basic_ios::clear: iostream error".
        needed, free = weight_bytes(model, compress), shutil.disk_usage(xml.parent).free
        if free < needed:
            raise DeviceFullError(
                f"{xml}: cannot save the IR, the device is full ({free / MB:.1f} MB free, "
                f"the IR needs about {needed / MB:.1f} MB)"
            ) from exc
        raise
    tmp.with_suffix(".bin").replace(xml.with_suffix(".bin"))
    tmp.replace(xml)


def read_ir(xml: Path) -> ov.Model:
    return ov.Core().read_model(str(xml))
