"""Accuracy of a precision against FP32: every stat, every class, and ΔAP's uncertainty."""

from __future__ import annotations

from typing import Any

from .coco_eval import STAT_NAMES


def stat_deltas(reference: dict[str, Any], candidate: dict[str, Any]) -> dict[str, float]:
    """candidate - reference for each of the 12 COCO stats (accuracy records as in the YAML)."""
    return {name: candidate["stats"][name] - reference["stats"][name] for name in STAT_NAMES}


def class_deltas(reference: dict[str, Any], candidate: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-class AP change, the classes quantization hurt most first; classes without ground
    truth on the evaluation images are left out."""
    rows = [
        {"class": name, "reference": ref, "candidate": candidate["per_class_ap"][name]}
        for name, ref in reference["per_class_ap"].items()
        if ref is not None and candidate["per_class_ap"].get(name) is not None
    ]
    for row in rows:
        row["delta"] = row["candidate"] - row["reference"]
    return sorted(rows, key=lambda row: (row["delta"], row["class"]))
