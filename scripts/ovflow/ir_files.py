"""Saving and reading IR files."""

from __future__ import annotations

from pathlib import Path

import openvino as ov

from .precisions import COMPRESSED, PRECISIONS


def save_ir(model: ov.Model, xml: Path, precision: str) -> None:
    """Save an IR; FP16 compresses weights. The .xml lands last, so its presence means complete."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    xml.parent.mkdir(parents=True, exist_ok=True)
    tmp = xml.with_name(f".{xml.stem}.tmp.xml")
    ov.save_model(model, tmp, compress_to_fp16=precision == COMPRESSED)
    tmp.with_suffix(".bin").replace(xml.with_suffix(".bin"))
    tmp.replace(xml)


def read_ir(xml: Path) -> ov.Model:
    return ov.Core().read_model(str(xml))
