"""Wall time of the paired ΔAP bootstrap (match tables + resamples) on ~1,000 real COCO images.

Ground truth: the 206-image full subset and the 750-image person subset of ../shared/data merged
into one COCO set (956 images; image ids are disjoint, categories identical; annotation ids
renumbered).

Detections are synthetic but shaped like an SSD's: 100 per image. Reference ("FP32"): each
non-crowd ground truth box is found with probability 0.85, its corners moved by Gaussian noise of
8% of the box size, score sigmoid(N(1.5, 1)); the rest of the 100 are false positives of a random
class with a random box (5-50% of the image per side), score sigmoid(N(-2.5, 1.5)). Candidate
("INT8"): the reference moved again by 3% of the box size and its score logits by N(0, 0.3).
All from numpy default_rng(0).

Timed: match_table() for both sets plus paired_bootstrap() with 1000 resamples.

    .venv/bin/python perf/bootstrap_speed.py
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from ovflow import bootstrap

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SOURCES = [
    DATA / "coco-val2017-subset" / "annotations" / "instances_val2017.json",
    DATA / "coco-val2017-person" / "annotations" / "instances_val2017_person.json",
]
BAR_SECONDS = 60.0
PER_IMAGE = 100


def merged_annotations() -> dict:
    sets = [json.loads(path.read_text()) for path in SOURCES]
    images = [img for s in sets for img in s["images"]]
    if len({img["id"] for img in images}) != len(images):
        raise SystemExit("image ids of the two sets overlap")
    # The sets number their annotations independently; COCO indexes annotations by id.
    annotations = [
        {**ann, "id": i + 1} for i, ann in enumerate(a for s in sets for a in s["annotations"])
    ]
    return {"images": images, "annotations": annotations, "categories": sets[0]["categories"]}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _clip_boxes(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """[x0, y0, x1, y1] corners -> COCO [x, y, w, h] inside the image."""
    x0, x1 = np.clip(boxes[:, [0, 2]], 0, width).T
    y0, y1 = np.clip(boxes[:, [1, 3]], 0, height).T
    return np.stack([x0, y0, np.maximum(x1 - x0, 0), np.maximum(y1 - y0, 0)], axis=1)


def _jitter(rng: np.random.Generator, xywh: np.ndarray, scale: float) -> np.ndarray:
    """Corners [x0, y0, x1, y1] moved by Gaussian noise of `scale` times the box size."""
    corners = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    size = np.tile(xywh[:, 2:], 2)
    return corners + rng.normal(0.0, scale, corners.shape) * size


def reference_detections(coco: dict, rng: np.random.Generator) -> list[tuple]:
    """(image, category ids, [x, y, w, h] boxes, score logits) per image."""
    by_image: dict[int, list[dict]] = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        if not ann["iscrowd"]:
            by_image[ann["image_id"]].append(ann)
    cat_ids = np.array([c["id"] for c in coco["categories"]])
    out = []
    for img in coco["images"]:
        w, h = img["width"], img["height"]
        gt = [a for a in by_image[img["id"]] if rng.random() < 0.85][:PER_IMAGE]
        gt_boxes = np.array([a["bbox"] for a in gt], dtype=np.float64).reshape(-1, 4)
        found = _clip_boxes(_jitter(rng, gt_boxes, 0.08), w, h)
        n_fp = PER_IMAGE - len(gt)
        size = rng.uniform(0.05, 0.5, (n_fp, 2)) * [w, h]
        corner = rng.uniform(0.0, 1.0, (n_fp, 2)) * ([w, h] - size)
        false = np.concatenate([corner, size], axis=1)
        cats = np.concatenate([[a["category_id"] for a in gt], rng.choice(cat_ids, n_fp)])
        logits = np.concatenate([rng.normal(1.5, 1.0, len(gt)), rng.normal(-2.5, 1.5, n_fp)])
        out.append((img, cats.astype(np.int64), np.concatenate([found, false]), logits))
    return out


def candidate_detections(reference: list[tuple], rng: np.random.Generator) -> list[tuple]:
    out = []
    for img, cats, boxes, logits in reference:
        moved = _clip_boxes(_jitter(rng, boxes, 0.03), img["width"], img["height"])
        out.append((img, cats, moved, logits + rng.normal(0.0, 0.3, len(logits))))
    return out


def to_results(detections: list[tuple]) -> list[dict]:
    return [
        {
            "image_id": img["id"],
            "category_id": int(cat),
            "bbox": [round(float(v), 3) for v in box],
            "score": float(score),
        }
        for img, cats, boxes, logits in detections
        for cat, box, score in zip(cats, boxes, _sigmoid(logits), strict=True)
    ]


def main() -> None:
    coco = merged_annotations()
    rng = np.random.default_rng(0)
    reference = reference_detections(coco, rng)
    fp32, int8 = to_results(reference), to_results(candidate_detections(reference, rng))
    image_ids = [img["id"] for img in coco["images"]]
    with tempfile.TemporaryDirectory() as tmp:
        annotations = Path(tmp) / "instances.json"
        annotations.write_text(json.dumps(coco))
        start = time.perf_counter()
        fp32_table = bootstrap.match_table(annotations, fp32, image_ids)
        int8_table = bootstrap.match_table(annotations, int8, image_ids)
        tables = time.perf_counter()
        result = bootstrap.paired_bootstrap(fp32_table, int8_table, resamples=1000, seed=0)
        end = time.perf_counter()

    print(
        f"images {len(image_ids)}, ground truth {len(coco['annotations'])}, "
        f"detections {len(fp32)} + {len(int8)}"
    )
    print(
        f"AP reference {result['reference_ap']:.4f}, candidate {result['candidate_ap']:.4f}, "
        f"delta {result['delta']:+.4f} [{result['low']:+.4f}, {result['high']:+.4f}]"
    )
    print(f"match_table x2: {tables - start:.2f} s")
    print(f"paired_bootstrap (1000 resamples): {end - tables:.2f} s")
    total = end - start
    verdict = "under" if total < BAR_SECONDS else "NOT under"
    print(f"total: {total:.2f} s ({verdict} the {BAR_SECONDS:.0f} s bar)")


if __name__ == "__main__":
    main()
