"""Paired bootstrap of the COCO AP difference of two detection sets, without rerunning COCOeval.

COCOeval matches detections to ground truth image by image (evaluateImg), so a resampled image
multiset changes only accumulate(): which detections enter the score-sorted list and how many ground
truth boxes there are. match_table() runs COCOeval.evaluate() once and keeps, per category, the
detections in accumulate()'s order with their image and TP/FP flags at each IoU threshold;
average_precision() then redoes accumulate() + summarize() for many resamples at once, an image
drawn c times counting its detections and ground truth c times (weighted cumulative sums; nothing
is re-sorted).

Two facts make this exact, not an approximation of pycocotools:
- accumulate()'s 101-point precision at recall r is the running maximum of precision over all
  points at or after the first one reaching r. Only true positives start a new precision maximum
  (a false positive lowers precision, an ignored detection leaves it unchanged), and only a true
  positive first reaches a recall above 0, so the curve at the true positives alone gives the same
  numbers. Precision and recall there are the same float operations on the same integer counts.
- Summed over recall thresholds, each true positive contributes its envelope times the number of
  thresholds it is the first to reach: one searchsorted of the recalls into the 101 thresholds.
The one liberty: a drawn-twice image's detections count twice at their own rank, whereas pycocotools
on a duplicated dataset orders equal-score detections of the two copies by image id; the results
differ only if one image holds equal-score detections of one class that match differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ovflow.coco_eval import Annotations, _quietly, cocoeval_for

MAX_DETS = 100
# Bounds the [resamples, detections] work arrays: resamples are processed in chunks this big.
_CHUNK_ELEMENTS = 1 << 22
_EPS = np.spacing(1)  # accumulate()'s guard in tp / (tp + fp + eps)


@dataclass(frozen=True)
class CategoryMatches:
    """One category's detections in accumulate()'s order (images concatenated, then a stable
    sort by descending score, at most MAX_DETS per image)."""

    image_index: np.ndarray  # int64 [D]: position in MatchTable.image_ids
    tp: np.ndarray  # bool [T, D]: matched, not ignored
    ignored: np.ndarray  # bool [T, D]: dtIgnore (matched a crowd region): neither TP nor FP
    gt_counts: np.ndarray  # int64 [n_images]: non-ignored ground truth per image


@dataclass(frozen=True)
class MatchTable:
    image_ids: list[int]  # sorted; columns of the weights given to average_precision()
    categories: dict[int, str]  # every evaluated category, id -> name
    matches: dict[int, CategoryMatches]  # the categories with ground truth on these images
    iou_thresholds: np.ndarray  # [T]
    recall_thresholds: np.ndarray  # [R]


def match_table(
    annotations: Annotations,
    results: list[dict],
    image_ids: list[int],
    cat_ids: list[int] | None = None,
) -> MatchTable:
    """COCOeval's per-image bbox matching (area 'all', 100 detections) of `results`, as a table."""
    gt, coco_eval = cocoeval_for(annotations, results, image_ids, cat_ids)
    params = coco_eval.params
    # AP needs area 'all' and maxDets 100 only; evaluate() would otherwise match all four ranges.
    params.areaRng, params.areaRngLbl, params.maxDets = [params.areaRng[0]], ["all"], [MAX_DETS]
    _quietly(coco_eval.evaluate)

    n = len(params.imgIds)
    matches = {}
    for k, cat_id in enumerate(params.catIds):
        # evalImgs runs category-major, then area range (one here), then image.
        per_image = coco_eval.evalImgs[k * n : (k + 1) * n]
        cat = _category_matches(per_image, n)
        if cat.gt_counts.any():
            matches[cat_id] = cat
    return MatchTable(
        image_ids=list(params.imgIds),
        categories={cat_id: gt.cats[cat_id]["name"] for cat_id in params.catIds},
        matches=matches,
        iou_thresholds=params.iouThrs.copy(),
        recall_thresholds=params.recThrs.copy(),
    )


def _category_matches(per_image: list[dict | None], n_images: int) -> CategoryMatches:
    """accumulate()'s concatenation and sort of one category's evalImgs."""
    entries = [(i, e) for i, e in enumerate(per_image) if e is not None]
    gt_counts = np.zeros(n_images, dtype=np.int64)
    for i, e in entries:
        gt_counts[i] = np.count_nonzero(np.asarray(e["gtIgnore"]) == 0)
    if not entries:
        empty = np.zeros((0, 0), dtype=bool)
        return CategoryMatches(np.zeros(0, dtype=np.int64), empty, empty, gt_counts)
    scores = np.concatenate([e["dtScores"][:MAX_DETS] for _, e in entries])
    order = np.argsort(-scores, kind="mergesort")
    image_index = np.concatenate(
        [np.full(len(e["dtScores"][:MAX_DETS]), i, dtype=np.int64) for i, e in entries]
    )
    dt_matches = np.concatenate([e["dtMatches"][:, :MAX_DETS] for _, e in entries], axis=1)
    dt_ignore = np.concatenate([e["dtIgnore"][:, :MAX_DETS] for _, e in entries], axis=1)
    ignored = dt_ignore[:, order].astype(bool)
    return CategoryMatches(
        image_index=image_index[order],
        tp=(dt_matches[:, order] != 0) & ~ignored,
        ignored=ignored,
        gt_counts=gt_counts,
    )


def average_precision(table: MatchTable, weights: np.ndarray) -> np.ndarray:
    """COCO AP (IoU .50:.95, area all, 100 detections) for each row of `weights` [B, n_images],
    the number of times each image is drawn. All-ones weights give pycocotools' stats[0]; a row
    whose images hold no ground truth gives NaN (pycocotools: -1)."""
    weights = _check_weights(table, weights)
    total = np.zeros(len(weights))
    counted = np.zeros(len(weights), dtype=np.int64)
    for cat in table.matches.values():
        ap, present = _category_ap(table, cat, weights)
        total += np.where(present, ap, 0.0)
        counted += present
    with np.errstate(invalid="ignore"):
        return total / counted


def per_class_ap(table: MatchTable) -> dict[str, float | None]:
    """Per-class AP on all images, keyed like coco_eval.evaluate()'s per_class_ap (None: the
    class has no ground truth on these images)."""
    ones = np.ones((1, len(table.image_ids)), dtype=np.int64)
    per_class: dict[str, float | None] = {}
    for cat_id, name in table.categories.items():
        cat = table.matches.get(cat_id)
        per_class[name] = None if cat is None else float(_category_ap(table, cat, ones)[0][0])
    return per_class


def paired_bootstrap(
    reference: MatchTable,
    candidate: MatchTable,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """ΔAP = candidate - reference with a percentile interval over the same image resamples."""
    if reference.image_ids != candidate.image_ids:
        raise ValueError("paired bootstrap needs both tables on the same images")
    if not _same_ground_truth(reference, candidate):
        raise ValueError("paired bootstrap needs both tables on the same ground truth")
    n = len(reference.image_ids)
    ones = np.ones((1, n), dtype=np.int64)
    reference_ap = float(average_precision(reference, ones)[0])
    candidate_ap = float(average_precision(candidate, ones)[0])

    weights = resample_weights(n, resamples, seed)
    deltas = average_precision(candidate, weights) - average_precision(reference, weights)
    tail = 100 * (1 - confidence) / 2
    # A resample without ground truth has no AP (NaN); with many images it does not occur.
    low, high = np.nanpercentile(deltas, [tail, 100 - tail])
    return {
        "delta": candidate_ap - reference_ap,
        "low": float(low),
        "high": float(high),
        "reference_ap": reference_ap,
        "candidate_ap": candidate_ap,
        "resamples": resamples,
        "seed": seed,
        "confidence": confidence,
        "method": (
            f"Paired percentile bootstrap over images: {resamples} resamples of the {n} images "
            f"drawn with replacement (numpy default_rng seed {seed}), the same for both, each "
            "scored as COCO AP from COCOeval's per-image matches with every image counted as "
            f"often as drawn; the {confidence:.0%} interval spans the {tail:g}th to "
            f"{100 - tail:g}th percentiles of the resampled ΔAP."
        ),
    }


def resample_weights(images: int, resamples: int, seed: int) -> np.ndarray:
    """[resamples, images]: how often each image is drawn in `images` draws with replacement,
    from np.random.default_rng(seed)."""
    draws = np.random.default_rng(seed).integers(0, images, size=(resamples, images))
    # One bincount over row-offset indices counts every row at once.
    offsets = images * np.arange(resamples)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=resamples * images)
    return counts.reshape(resamples, images)


def _check_weights(table: MatchTable, weights: np.ndarray) -> np.ndarray:
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[1] != len(table.image_ids):
        raise ValueError(f"weights must be [B, {len(table.image_ids)}], got {weights.shape}")
    if not np.issubdtype(weights.dtype, np.integer) or (weights < 0).any():
        raise ValueError("weights are draw counts: non-negative integers")
    return weights.astype(np.int64, copy=False)


def _same_ground_truth(a: MatchTable, b: MatchTable) -> bool:
    return a.matches.keys() == b.matches.keys() and all(
        np.array_equal(a.matches[c].gt_counts, b.matches[c].gt_counts) for c in a.matches
    )


def _category_ap(
    table: MatchTable, cat: CategoryMatches, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(AP [B], whether the category has weighted ground truth [B]) of one category."""
    tp_positions = [np.flatnonzero(tp) for tp in cat.tp]
    # Counts are read at true positives only: detections after the last one never matter.
    any_tp = np.flatnonzero(cat.tp.any(axis=0))
    end = int(any_tp[-1]) + 1 if any_tp.size else 0
    chunk = max(1, _CHUNK_ELEMENTS // max(end, 1))
    sums = np.concatenate(
        [
            _precision_sums(table, cat, tp_positions, end, weights[start : start + chunk])
            for start in range(0, len(weights), chunk)
        ]
    )
    npig = weights @ cat.gt_counts
    grid = len(table.iou_thresholds) * len(table.recall_thresholds)
    return sums / grid, npig > 0


def _precision_sums(
    table: MatchTable,
    cat: CategoryMatches,
    tp_positions: list[np.ndarray],
    end: int,
    weights: np.ndarray,
) -> np.ndarray:
    """Sum over IoU and recall thresholds of the interpolated precision, per weights row."""
    npig = np.maximum(weights @ cat.gt_counts, 1)[:, None]  # rows without ground truth: unused
    # Weighted count of detections up to each position: TP + FP + ignored so far.
    seen = np.cumsum(weights[:, cat.image_index[:end]], axis=1)
    sums = np.zeros(len(weights))
    for t, positions in enumerate(tp_positions):
        if positions.size == 0:
            continue
        not_fp = np.flatnonzero(cat.tp[t] | cat.ignored[t])
        w = weights[:, cat.image_index[not_fp]]
        is_tp = cat.tp[t, not_fp]
        tp = np.cumsum(w * is_tp, axis=1)[:, is_tp]
        fp = seen[:, positions] - np.cumsum(w, axis=1)[:, is_tp]
        # Same operations in the same order as accumulate(): identical floats.
        precision = tp / (fp + tp + _EPS)
        recall = tp / npig
        envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        # accumulate() reads the envelope at the first point reaching each recall threshold;
        # count the thresholds each point is first to reach (never reached: precision 0).
        reached = np.searchsorted(table.recall_thresholds, recall, side="right")
        sums += (envelope * np.diff(reached, axis=1, prepend=0)).sum(axis=1)
    return sums
