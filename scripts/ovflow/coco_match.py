"""COCO bbox evaluation with pycocotools' exact numbers, on arrays instead of Python loops.

pycocotools' COCOeval.evaluate() matches every (image, category, area range) in Python and
accumulate() walks every (category, area range, maxDets) in Python too; on 5,000 images with 100
detections each that cost more than the inference which made the detections. This module does
the same steps, in the same order, on arrays:

- grouping (computeIoU, evaluateImg): detections and ground truth by (category, image); a group's
  detections stably sorted by descending score and cut at the largest maxDets, its ground truth in
  file order;
- IoU: maskApi.c's bbIou, the same double operations in the same order;
- matching: evaluateImg's greedy loop per area range and IoU threshold (compiled with numba);
- accumulate(): each category's detections in accumulate()'s order (descending score, stable over
  images in id order), cumulative TP/FP counts, precision, recall, 101-point interpolation.

Each float comes from the same operations on the same operands as in pycocotools, so precision
and recall (and the stats that COCOeval.summarize() derives from them) are identical, not close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from pycocotools.cocoeval import Params

EPS = np.spacing(1)  # accumulate()'s guard in tp / (tp + fp + eps)


@dataclass(frozen=True)
class GroundTruth:
    """A COCO annotation set as arrays (annotation file order), built once per set."""

    dataset: dict
    source: str  # named in errors
    category_names: dict[int, str]
    image_id: np.ndarray  # int64 [G]
    category_id: np.ndarray  # int64 [G]
    bbox: np.ndarray  # float64 [G, 4]
    area: np.ndarray  # float64 [G]: the annotation's `area`, which decides its area range
    crowd: np.ndarray  # bool [G]
    has_id: np.ndarray  # bool [G]: id != 0 (pycocotools takes a match to id 0 for none)

    @property
    def image_ids(self) -> set[int]:
        return {img["id"] for img in self.dataset["images"]}


def index_ground_truth(dataset: dict, source: str) -> GroundTruth:
    """`dataset`: annotations checked by coco_data.load_annotations (each has an `area`)."""
    anns = dataset["annotations"]
    return GroundTruth(
        dataset=dataset,
        source=source,
        category_names={c["id"]: c["name"] for c in dataset["categories"]},
        image_id=np.array([a["image_id"] for a in anns], dtype=np.int64),
        category_id=np.array([a["category_id"] for a in anns], dtype=np.int64),
        bbox=np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4),
        area=np.array([a["area"] for a in anns], dtype=np.float64),
        crowd=np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool),
        has_id=np.array([a["id"] != 0 for a in anns], dtype=bool),
    )


@dataclass(frozen=True)
class Matching:
    """evaluate()'s per-image matches of every evaluated detection, in accumulate()'s order:
    by category, then descending score, ties by image then by rank within the image."""

    params: Params  # pycocotools' bbox defaults with imgIds, catIds (and areaRng) set
    cat_start: np.ndarray  # int64 [K + 1]: category k's detections are [cat_start[k], [k + 1])
    image_index: np.ndarray  # int64 [N]: position in params.imgIds
    rank: np.ndarray  # int64 [N]: position by score among its image's detections of its class
    matched: np.ndarray  # bool [A, T, N]: dtMatches != 0
    ignored: np.ndarray  # bool [A, T, N]: dtIgnore
    gt_counts: np.ndarray  # int64 [A, K, I]: ground truth boxes with gtIgnore == 0


def _positions(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of each id in sorted_ids, whether it is there)."""
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return pos, sorted_ids[pos] == ids


def _detection_arrays(results: list[dict]) -> tuple[np.ndarray, ...]:
    n = len(results)
    return (
        np.fromiter((r["image_id"] for r in results), np.int64, n),
        np.fromiter((r["category_id"] for r in results), np.int64, n),
        np.array([r["bbox"] for r in results], dtype=np.float64).reshape(n, 4),
        np.fromiter((r["score"] for r in results), np.float64, n),
    )


def match(
    gt: GroundTruth,
    results: list[dict],
    image_ids: list[int],
    cat_ids: list[int] | None = None,
    area_labels: Sequence[str] | None = None,
) -> Matching:
    """Match COCO bbox `results` to `gt` on `image_ids` (and `cat_ids`; all categories if
    None or empty), as COCOeval.evaluate() with default bbox parameters does.

    `area_labels` matches only the named area ranges of pycocotools' areaRngLbl ("all",
    "small", "medium", "large"), in the order given; None matches all four. Each range is
    matched on its own, so a narrowed matching holds the same matches for its ranges.
    """
    if not image_ids:
        raise ValueError(f"{gt.source}: no image ids to evaluate")
    known = gt.image_ids
    missing = set(image_ids) - known
    if missing:
        raise ValueError(f"{gt.source}: lacks image ids {sorted(missing)[:10]}")
    params = Params(iouType="bbox")
    params.imgIds = sorted(set(image_ids))
    params.catIds = sorted(set(cat_ids) if cat_ids else gt.category_names)
    if area_labels is not None:
        unknown_areas = [label for label in area_labels if label not in params.areaRngLbl]
        if unknown_areas or not area_labels:
            raise ValueError(f"area labels {list(area_labels)}: not among {params.areaRngLbl}")
        ranges = dict(zip(params.areaRngLbl, params.areaRng, strict=True))
        params.areaRngLbl = list(area_labels)
        params.areaRng = [ranges[label] for label in area_labels]
    unknown_cats = set(params.catIds) - set(gt.category_names)
    if unknown_cats:
        raise ValueError(f"{gt.source}: lacks category ids {sorted(unknown_cats)[:10]}")
    images, cats = np.array(params.imgIds), np.array(params.catIds)
    n_images, n_cats = len(images), len(cats)

    dt_image, dt_cat, dt_box, dt_score = _detection_arrays(results)
    strays = set(np.unique(dt_image).tolist()) - known
    if strays:
        raise ValueError(f"{gt.source}: results name images it lacks: {sorted(strays)[:10]}")
    # Only the chosen images and categories take part (COCOeval._prepare).
    d_img, d_in = _positions(images, dt_image)
    d_cat, c_in = _positions(cats, dt_cat)
    keep = d_in & c_in
    d_key = d_cat[keep] * n_images + d_img[keep]
    dt_box, dt_score = dt_box[keep], dt_score[keep]
    # By group, then descending score; lexsort is stable, as the mergesort of computeIoU.
    order = np.lexsort((-dt_score, d_key))
    d_key, dt_box, dt_score = d_key[order], dt_box[order], dt_score[order]
    first = np.searchsorted(d_key, d_key)
    rank = np.arange(len(d_key)) - first
    top = rank < max(params.maxDets)
    d_key, dt_box, dt_score, rank = d_key[top], dt_box[top], dt_score[top], rank[top]

    g_img, g_in = _positions(images, gt.image_id)
    g_cat, gc_in = _positions(cats, gt.category_id)
    g_sel = np.flatnonzero(g_in & gc_in)
    g_key = g_cat[g_sel] * n_images + g_img[g_sel]
    g_order = np.argsort(g_key, kind="stable")
    g_sel, g_key = g_sel[g_order], g_key[g_order]

    groups = np.union1d(d_key, g_key)
    area_rng = np.asarray(params.areaRng, dtype=np.float64)
    n_areas, n_thrs = len(area_rng), len(params.iouThrs)
    matched = np.zeros((n_areas, n_thrs, len(d_key)), dtype=bool)
    ignored = np.zeros_like(matched)
    counts = np.zeros((len(groups), n_areas), dtype=np.int64)
    _match_groups(
        np.searchsorted(d_key, groups),
        np.searchsorted(d_key, groups, side="right"),
        np.searchsorted(g_key, groups),
        np.searchsorted(g_key, groups, side="right"),
        dt_box,
        dt_box[:, 2] * dt_box[:, 3],  # loadRes: area = w * h
        np.ascontiguousarray(gt.bbox[g_sel]),
        gt.area[g_sel],
        gt.crowd[g_sel],
        gt.has_id[g_sel],
        np.asarray(params.iouThrs, dtype=np.float64),
        np.ascontiguousarray(area_rng[:, 0]),
        np.ascontiguousarray(area_rng[:, 1]),
        matched,
        ignored,
        counts,
    )
    gt_counts = np.zeros((n_areas, n_cats * n_images), dtype=np.int64)
    gt_counts[:, groups] = counts.T

    # accumulate()'s order: per category, a stable sort by descending score of the detections
    # listed image by image, each image's by rank (the order they are in now).
    d_cat_index = d_key // n_images
    order = np.lexsort((-dt_score, d_cat_index))
    return Matching(
        params=params,
        cat_start=np.searchsorted(d_cat_index[order], np.arange(n_cats + 1)),
        image_index=(d_key % n_images)[order],
        rank=rank[order],
        matched=matched[:, :, order],
        ignored=ignored[:, :, order],
        gt_counts=gt_counts.reshape(n_areas, n_cats, n_images),
    )


@numba.njit(nogil=True, cache=True)
def _match_groups(
    dt_lo: np.ndarray,
    dt_hi: np.ndarray,
    gt_lo: np.ndarray,
    gt_hi: np.ndarray,
    dt_box: np.ndarray,
    dt_area: np.ndarray,
    gt_box: np.ndarray,
    gt_area: np.ndarray,
    gt_crowd: np.ndarray,
    gt_has_id: np.ndarray,
    iou_thrs: np.ndarray,
    area_lo: np.ndarray,
    area_hi: np.ndarray,
    matched: np.ndarray,
    ignored: np.ndarray,
    counts: np.ndarray,
) -> None:
    """computeIoU + evaluateImg for every (category, image) group; fills matched, ignored
    (dtMatches != 0, dtIgnore per area range and threshold) and counts (gtIgnore == 0)."""
    n_areas, n_thrs = area_lo.shape[0], iou_thrs.shape[0]
    for group in range(dt_lo.shape[0]):
        d0, g0 = dt_lo[group], gt_lo[group]
        n_dt, n_gt = dt_hi[group] - d0, gt_hi[group] - g0
        # maskApi.c bbIou: o = 0 unless the boxes overlap; a crowd's union is the detection.
        ious = np.zeros((n_dt, n_gt))
        for g in range(n_gt):
            gx, gy, gw, gh = gt_box[g0 + g]
            ga = gw * gh
            for d in range(n_dt):
                dx, dy, dw, dh = dt_box[d0 + d]
                da = dw * dh
                w = min(dw + dx, gw + gx) - max(dx, gx)
                if w <= 0:
                    continue
                h = min(dh + dy, gh + gy) - max(dy, gy)
                if h <= 0:
                    continue
                inter = w * h
                union = da if gt_crowd[g0 + g] else da + ga - inter
                ious[d, g] = inter / union
        gt_ignore = np.empty(n_gt, dtype=np.bool_)
        order = np.empty(n_gt, dtype=np.int64)
        for a in range(n_areas):
            lo, hi = area_lo[a], area_hi[a]
            for g in range(n_gt):
                size = gt_area[g0 + g]
                gt_ignore[g] = gt_crowd[g0 + g] or size < lo or size > hi
            # Ground truth not ignored first, each part in file order (a stable argsort).
            n_kept = 0
            for g in range(n_gt):
                if not gt_ignore[g]:
                    order[n_kept] = g
                    n_kept += 1
            counts[group, a] = n_kept
            k = n_kept
            for g in range(n_gt):
                if gt_ignore[g]:
                    order[k] = g
                    k += 1
            for t in range(n_thrs):
                taken = np.zeros(n_gt, dtype=np.bool_)
                for d in range(n_dt):
                    best = min(iou_thrs[t], 1 - 1e-10)
                    m = -1
                    for j in range(n_gt):
                        g = order[j]
                        if taken[g] and not gt_crowd[g0 + g]:
                            continue
                        if m > -1 and not gt_ignore[m] and gt_ignore[g]:
                            break
                        if ious[d, g] < best:
                            continue
                        best = ious[d, g]
                        m = g
                    size = dt_area[d0 + d]
                    outside = size < lo or size > hi
                    if m == -1:
                        ignored[a, t, d0 + d] = outside
                        continue
                    hit = gt_has_id[g0 + m]
                    matched[a, t, d0 + d] = hit
                    ignored[a, t, d0 + d] = gt_ignore[m] or (not hit and outside)
                    taken[m] = True


def accumulate(matching: Matching) -> tuple[np.ndarray, np.ndarray]:
    """COCOeval.accumulate()'s precision [T, R, K, A, M] and recall [T, K, A, M]."""
    p = matching.params
    rec_thrs = np.asarray(p.recThrs)
    n_thrs, n_rec = len(p.iouThrs), len(rec_thrs)
    n_cats, n_areas, n_max = len(p.catIds), len(p.areaRng), len(p.maxDets)
    precision = -np.ones((n_thrs, n_rec, n_cats, n_areas, n_max))
    recall = -np.ones((n_thrs, n_cats, n_areas, n_max))
    for k in range(n_cats):
        span = slice(matching.cat_start[k], matching.cat_start[k + 1])
        rank = matching.rank[span]
        for a in range(n_areas):
            npig = int(matching.gt_counts[a, k].sum())
            if npig == 0:
                continue
            for m, max_det in enumerate(p.maxDets):
                top = rank < max_det
                dtm = matching.matched[a, :, span][:, top]
                dt_ig = matching.ignored[a, :, span][:, top]
                tp = np.cumsum(dtm & ~dt_ig, axis=1).astype(float)
                fp = np.cumsum(~dtm & ~dt_ig, axis=1).astype(float)
                rc = tp / npig
                pr = tp / (fp + tp + EPS)
                n_dt = tp.shape[1]
                recall[:, k, a, m] = rc[:, -1] if n_dt else 0
                # The interpolated precision: the maximum at or after each point.
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(n_thrs):
                    inds = np.searchsorted(rc[t], rec_thrs, side="left")
                    reached = inds < n_dt  # recall thresholds never reached keep precision 0
                    q = np.zeros(n_rec)
                    q[reached] = pr[t, inds[reached]]
                    precision[t, :, k, a, m] = q
    return precision, recall
