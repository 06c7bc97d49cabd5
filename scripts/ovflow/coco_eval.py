"""COCO bbox evaluation of detections (pycocotools' numbers), and the files that hold them."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pycocotools.cocoeval import COCOeval, Params

from ovflow import atomic
from ovflow.coco_data import load_annotations
from ovflow.coco_match import GroundTruth, Matching, accumulate, index_ground_truth, match
from ovflow.detections import Detections
from ovflow.versions import package_version

# The order of COCOeval.stats after summarize().
STAT_NAMES = [
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
]

_RUNTIME_PACKAGES = ["openvino", "nncf", "pycocotools", "numpy"]

_ACCURACY_KEYS = ["model", "precision", "images", "annotations", "stats", "per_class_ap", "runtime"]


def to_coco_results(image_id: int, dets: Detections, width: int, height: int) -> list[dict]:
    """One image's detections as COCO results: pixel [x, y, w, h] boxes clipped to the image."""
    scale = np.array([width, height, width, height], dtype=np.float64)
    boxes = np.clip(np.asarray(dets.boxes, dtype=np.float64).reshape(-1, 4), 0.0, 1.0) * scale
    results = []
    for label, score, (x0, y0, x1, y1) in zip(dets.labels, dets.scores, boxes, strict=True):
        # A box with swapped corners has no area; COCOeval must not see a negative size.
        w, h = max(x1 - x0, 0.0), max(y1 - y0, 0.0)
        results.append(
            {
                "image_id": int(image_id),
                "category_id": int(label),
                "bbox": [round(float(v), 3) for v in (x0, y0, w, h)],
                "score": float(score),
            }
        )
    return results


def _per_class_ap(precision: np.ndarray, params: Params, names: dict[int, str]) -> dict:
    # precision is [IoU T, recall R, class K, area A, maxDets M]; area 0 = all, maxDets 2 = 100.
    per_class = {}
    for k, cat_id in enumerate(params.catIds):
        values = precision[:, :, k, 0, 2]
        values = values[values > -1]
        # -1 everywhere means the class has no ground truth on these images.
        per_class[names[cat_id]] = float(values.mean()) if values.size else None
    return per_class


def annotated_categories(annotations: dict, image_ids: list[int]) -> list[int]:
    """Category ids that have at least one box on the given images."""
    wanted = set(image_ids)
    return sorted({a["category_id"] for a in annotations["annotations"] if a["image_id"] in wanted})


def scored_categories(annotated: list[int]) -> list[int] | None:
    """The classes a set is scored on, from those it annotates (annotated_categories): a set
    that annotates one class only (e.g. persons) is scored on that class alone, any other set
    on all classes (None)."""
    return annotated if len(annotated) == 1 else None


# An annotation file, or annotations already loaded (and checked: coco_data.load_annotations)
# and indexed by ground_truth(), so that repeated evaluations do not parse and index them again.
Annotations = Path | GroundTruth


def ground_truth(annotations: dict) -> GroundTruth:
    """Annotations loaded by coco_data.load_annotations, indexed."""
    return index_ground_truth(annotations, "annotations")


def indexed(annotations: Annotations) -> GroundTruth:
    """An annotation file loaded (and checked) and indexed, or a GroundTruth as it is."""
    if isinstance(annotations, GroundTruth):
        return annotations
    return index_ground_truth(load_annotations(annotations), str(annotations))


def evaluate(
    annotations: Annotations,
    results: list[dict],
    image_ids: list[int],
    cat_ids: list[int] | None = None,
) -> dict:
    """COCO bbox metrics of `results` on the images `image_ids` of the `annotations` file.

    `cat_ids` restricts the evaluation to those classes (e.g. the one class a set annotates).
    The numbers are pycocotools' (see ovflow.coco_match).
    """
    gt = indexed(annotations)
    return summarize(gt, match(gt, results, image_ids, cat_ids))


def summarize(gt: GroundTruth, matching: Matching) -> dict:
    """evaluate()'s result from a matching of detections on `gt`."""
    precision, recall = accumulate(matching)
    params = matching.params
    # pycocotools' own summarize() turns the arrays into the 12 stats and their printout.
    coco_eval = COCOeval(iouType="bbox")
    coco_eval.params = params
    coco_eval.eval = {"precision": precision, "recall": recall}
    printout = io.StringIO()  # summarize() prints; the summary keeps it
    with contextlib.redirect_stdout(printout):
        coco_eval.summarize()
    summary = printout.getvalue()

    on_images = np.isin(gt.image_id, params.imgIds)
    crowd = int(np.count_nonzero(gt.crowd & on_images))
    return {
        "stats": {name: float(v) for name, v in zip(STAT_NAMES, coco_eval.stats, strict=True)},
        "per_class_ap": _per_class_ap(precision, params, gt.category_names),
        "images": len(params.imgIds),
        "annotations": int(np.count_nonzero(on_images)) - crowd,
        "crowd_annotations": crowd,
        "summary": summary,
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the pycocotools summary) as readable YAML blocks."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def write_accuracy_yaml(
    path: Path, *, model: str, precision: str, stats_dict: dict, extra: dict[str, Any]
) -> None:
    """The accuracy record of one model precision: evaluate()'s result plus how it was made."""
    record = {
        "model": model,
        "precision": precision,
        "images": stats_dict["images"],
        "annotations": stats_dict["annotations"],
        "crowd_annotations": stats_dict["crowd_annotations"],
        "stats": {name: float(stats_dict["stats"][name]) for name in STAT_NAMES},
        "per_class_ap": stats_dict["per_class_ap"],
        "runtime": {pkg: package_version(pkg) for pkg in _RUNTIME_PACKAGES},
        "summary": stats_dict["summary"],
    }
    clash = set(record) & set(extra)
    if clash:
        raise ValueError(f"{path}: extra keys clash with the record's own: {sorted(clash)}")
    record.update(extra)
    atomic.write_text(path, yaml.dump(record, Dumper=_Dumper, sort_keys=False, allow_unicode=True))


def read_accuracy_yaml(path: Path) -> dict:
    with open(path) as f:
        record = yaml.safe_load(f)
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not an accuracy record (expected a mapping)")
    for key in _ACCURACY_KEYS:
        if key not in record:
            raise ValueError(f"{path}: missing key {key!r}")
    missing = [name for name in STAT_NAMES if name not in record["stats"]]
    if missing:
        raise ValueError(f"{path}: stats lack {missing}")
    return record


def write_detections_json(path: Path, results: list[dict]) -> None:
    """COCO results format: a list of {image_id, category_id, bbox, score}."""
    atomic.write_text(path, json.dumps(results))


def read_detections_json(path: Path) -> list[dict]:
    with open(path) as f:
        results = json.load(f)
    if not isinstance(results, list):
        raise ValueError(f"{path}: not a COCO results list")
    return results
