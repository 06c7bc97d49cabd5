"""The IR precisions the workflow builds, named once.

The Snakefile's wildcards, the settings check, the benchmark plan and the report all
import these; adding a precision starts here.
"""

from __future__ import annotations

from collections.abc import Iterable

FP32 = "FP32"
FP16 = "FP16"
INT8 = "INT8"

# Build and report order.
PRECISIONS = (FP32, FP16, INT8)
# Converted from the model; every other precision is compared against it.
REFERENCE = FP32
# Quantized from the reference by NNCF.
QUANTIZED = INT8
# The reference with its weights stored as f16.
COMPRESSED = FP16


def ordered(names: Iterable[str]) -> list[str]:
    """These precisions in build and report order; any other name after them, sorted."""
    present = set(names)
    return [p for p in PRECISIONS if p in present] + sorted(present - set(PRECISIONS))
