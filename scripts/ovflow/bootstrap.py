"""Paired bootstrap of the COCO AP difference of two detection sets, without rerunning COCOeval.

COCOeval matches detections to ground truth image by image (evaluateImg), so a resampled image
multiset changes only accumulate(): which detections enter the score-sorted list and how many ground
truth boxes there are. match_table() keeps, from one matching (ovflow.coco_match), per category the
detections in accumulate()'s order with their image and TP/FP flags at each IoU threshold;
average_precision() then redoes accumulate() + summarize() for many resamples, an image drawn c
times counting its detections and ground truth c times (weighted running sums; nothing is
re-sorted). A compiled loop scores each resample in one pass per category and threshold, over
`threads` threads (numba releases the GIL); a Bootstrap draws the resamples and scores the
reference once for all the candidates compared with it.

Two facts make this exact, not an approximation of pycocotools:
- accumulate()'s 101-point precision at recall r is the running maximum of precision over all
  points at or after the first one reaching r. Only true positives start a new precision maximum
  (a false positive lowers precision, an ignored detection leaves it unchanged), and only a true
  positive first reaches a recall above 0, so the curve at the true positives alone gives the same
  numbers. Precision and recall there are the same float operations on the same integer counts.
- Summed over recall thresholds, each true positive contributes its envelope times the number of
  thresholds it is the first to reach.
The one liberty: a drawn-twice image's detections count twice at their own rank, whereas pycocotools
on a duplicated dataset orders equal-score detections of the two copies by image id; the results
differ only if one image holds equal-score detections of one class that match differently.

The sums are numpy's pairwise sums in numpy's order (_pairwise_sum), so the resampled APs, and the
intervals, are bit for bit those of the earlier numpy implementation of the same steps.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numba
import numpy as np

from ovflow.coco_eval import Annotations, indexed
from ovflow.coco_match import EPS, Matching, match


@dataclass(frozen=True)
class CategoryMatches:
    """One category's detections in accumulate()'s order (images concatenated, then a stable
    sort by descending score, at most 100 per image)."""

    image_index: np.ndarray  # int64 [D]: position in MatchTable.image_ids
    tp: np.ndarray  # bool [T, D]: matched, not ignored
    ignored: np.ndarray  # bool [T, D]: dtIgnore (matched a crowd region): neither TP nor FP
    gt_counts: np.ndarray  # int64 [n_images]: non-ignored ground truth per image


@dataclass(frozen=True)
class MatchTable:
    image_ids: list[int]  # sorted; columns of the weights given to average_precision()
    categories: dict[int, str]  # every evaluated category, id -> name
    matches: dict[int, CategoryMatches]  # the categories with ground truth on these images
    recall_thresholds: np.ndarray  # [R]


def match_table(
    annotations: Annotations,
    results: list[dict],
    image_ids: list[int],
    cat_ids: list[int] | None = None,
) -> MatchTable:
    """COCOeval's per-image bbox matching (area 'all', 100 detections) of `results`, as a table."""
    gt = indexed(annotations)
    # AP is area "all": the other area ranges are not matched.
    return table_of(match(gt, results, image_ids, cat_ids, area_labels=("all",)), gt.category_names)


def table_of(matching: Matching, names: dict[int, str]) -> MatchTable:
    """The match table of a matching (coco_match.match) of detections on ground truth."""
    params = matching.params
    area = params.areaRngLbl.index("all")
    matches = {}
    for k, cat_id in enumerate(params.catIds):
        gt_counts = matching.gt_counts[area, k]
        if not gt_counts.any():
            continue
        span = slice(matching.cat_start[k], matching.cat_start[k + 1])
        ignored = matching.ignored[area, :, span]
        matches[cat_id] = CategoryMatches(
            image_index=matching.image_index[span],
            tp=matching.matched[area, :, span] & ~ignored,
            ignored=ignored,
            gt_counts=gt_counts,
        )
    return MatchTable(
        image_ids=list(params.imgIds),
        categories={cat_id: names[cat_id] for cat_id in params.catIds},
        matches=matches,
        recall_thresholds=np.asarray(params.recThrs, dtype=np.float64),
    )


def average_precision(table: MatchTable, weights: np.ndarray, threads: int = 1) -> np.ndarray:
    """COCO AP (IoU .50:.95, area all, 100 detections) for each row of `weights` [B, n_images],
    the number of times each image is drawn. All-ones weights give pycocotools' stats[0]; a row
    whose images hold no ground truth gives NaN (pycocotools: -1)."""
    aps = _category_aps(table, _check_weights(table, weights), threads)
    # The mean over the classes present, summed class by class (the earlier order).
    total = np.zeros(len(aps))
    counted = np.zeros(len(aps), dtype=np.int64)
    for ap in aps.T:
        present = ~np.isnan(ap)
        total += np.where(present, ap, 0.0)
        counted += present
    with np.errstate(invalid="ignore"):
        return total / counted


def per_class_ap(table: MatchTable) -> dict[str, float | None]:
    """Per-class AP on all images, keyed like coco_eval.evaluate()'s per_class_ap (None: the
    class has no ground truth on these images)."""
    aps = dict(zip(table.matches, _category_aps(table, _ones(table), 1)[0], strict=True))
    return {
        name: float(aps[cat_id]) if cat_id in aps else None
        for cat_id, name in table.categories.items()
    }


class Bootstrap:
    """Image resamples of one reference table, drawn and scored once for every candidate."""

    def __init__(
        self, reference: MatchTable, resamples: int = 1000, seed: int = 0, threads: int = 1
    ) -> None:
        self.reference = reference
        self.resamples, self.seed, self.threads = resamples, seed, threads
        self.weights = resample_weights(len(reference.image_ids), resamples, seed)
        self.reference_ap = float(average_precision(reference, _ones(reference))[0])
        self.reference_aps = average_precision(reference, self.weights, threads)

    def compare(self, candidate: MatchTable, confidence: float = 0.95) -> dict:
        """ΔAP = candidate - reference with a percentile interval over the resamples."""
        if self.reference.image_ids != candidate.image_ids:
            raise ValueError("paired bootstrap needs both tables on the same images")
        if not _same_ground_truth(self.reference, candidate):
            raise ValueError("paired bootstrap needs both tables on the same ground truth")
        candidate_ap = float(average_precision(candidate, _ones(candidate))[0])
        deltas = average_precision(candidate, self.weights, self.threads) - self.reference_aps
        tail = 100 * (1 - confidence) / 2
        # A resample without ground truth has no AP (NaN); with many images it does not occur.
        low, high = np.nanpercentile(deltas, [tail, 100 - tail])
        resamples, seed, n = self.resamples, self.seed, len(candidate.image_ids)
        return {
            "delta": candidate_ap - self.reference_ap,
            "low": float(low),
            "high": float(high),
            "reference_ap": self.reference_ap,
            "candidate_ap": candidate_ap,
            "resamples": resamples,
            "seed": seed,
            "confidence": confidence,
            "method": (
                f"Paired percentile bootstrap over images: {resamples} resamples of the {n} "
                f"images drawn with replacement (numpy default_rng seed {seed}), the same for "
                "both, each scored as COCO AP from COCOeval's per-image matches with every image "
                f"counted as often as drawn; the {confidence:.0%} interval spans the {tail:g}th "
                f"to {100 - tail:g}th percentiles of the resampled ΔAP."
            ),
        }


def paired_bootstrap(
    reference: MatchTable,
    candidate: MatchTable,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """ΔAP = candidate - reference with a percentile interval over the same image resamples."""
    return Bootstrap(reference, resamples, seed).compare(candidate, confidence)


def resample_weights(images: int, resamples: int, seed: int) -> np.ndarray:
    """[resamples, images]: how often each image is drawn in `images` draws with replacement,
    from np.random.default_rng(seed)."""
    draws = np.random.default_rng(seed).integers(0, images, size=(resamples, images))
    # One bincount over row-offset indices counts every row at once.
    offsets = images * np.arange(resamples)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=resamples * images)
    return counts.reshape(resamples, images)


def _ones(table: MatchTable) -> np.ndarray:
    return np.ones((1, len(table.image_ids)), dtype=np.int64)


def _check_weights(table: MatchTable, weights: np.ndarray) -> np.ndarray:
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[1] != len(table.image_ids):
        raise ValueError(f"weights must be [B, {len(table.image_ids)}], got {weights.shape}")
    if not np.issubdtype(weights.dtype, np.integer) or (weights < 0).any():
        raise ValueError("weights are draw counts: non-negative integers")
    return np.ascontiguousarray(weights, dtype=np.int64)


def _same_ground_truth(a: MatchTable, b: MatchTable) -> bool:
    return a.matches.keys() == b.matches.keys() and all(
        np.array_equal(a.matches[c].gt_counts, b.matches[c].gt_counts) for c in a.matches
    )


def _category_aps(table: MatchTable, weights: np.ndarray, threads: int) -> np.ndarray:
    """[B, categories with ground truth]: each class's AP per weights row (NaN: the row draws
    none of its ground truth), rows split over `threads` threads."""
    packed = _pack(table)
    out = np.empty((len(weights), len(table.matches)))
    bounds = np.linspace(0, len(weights), max(1, min(threads, len(weights))) + 1).astype(int)

    def score(lo: int, hi: int) -> None:
        _score_resamples(weights[lo:hi], *packed, table.recall_thresholds, out[lo:hi])

    with ThreadPoolExecutor(len(bounds) - 1) as pool:
        for done in [pool.submit(score, lo, hi) for lo, hi in pairwise(bounds)]:
            done.result()
    return out


def _pack(table: MatchTable) -> tuple[np.ndarray, ...]:
    """The table as flat arrays for _score_resamples, categories in table order:
    (image, det_start, position, is_tp, position_start, gt_image, gt_count, gt_start).
    A category's detections are kept up to its last true positive (none after it matters), and
    per threshold the positions of those not false positives (TP or ignored) with their TP flag.
    """
    images, positions, is_tp, gt_images, gt_counts = [], [], [], [], []
    det_start, position_start, gt_start = [0], [0], [0]
    for cat in table.matches.values():
        any_tp = np.flatnonzero(cat.tp.any(axis=0))
        end = int(any_tp[-1]) + 1 if any_tp.size else 0
        images.append(cat.image_index[:end])
        det_start.append(det_start[-1] + end)
        for tp, ignored in zip(cat.tp[:, :end], cat.ignored[:, :end], strict=True):
            not_fp = np.flatnonzero(tp | ignored)
            positions.append(not_fp)
            is_tp.append(tp[not_fp])
            position_start.append(position_start[-1] + len(not_fp))
        drawn = np.flatnonzero(cat.gt_counts)
        gt_images.append(drawn)
        gt_counts.append(cat.gt_counts[drawn])
        gt_start.append(gt_start[-1] + len(drawn))

    def flat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return (
        flat(images, np.int64),
        np.array(det_start, dtype=np.int64),
        flat(positions, np.int64),
        flat(is_tp, np.bool_),
        np.array(position_start, dtype=np.int64),
        flat(gt_images, np.int64),
        flat(gt_counts, np.int64),
        np.array(gt_start, dtype=np.int64),
    )


@numba.njit(nogil=True, cache=True)
def _score_resamples(
    weights: np.ndarray,
    image: np.ndarray,
    det_start: np.ndarray,
    position: np.ndarray,
    is_tp: np.ndarray,
    position_start: np.ndarray,
    gt_image: np.ndarray,
    gt_count: np.ndarray,
    gt_start: np.ndarray,
    rec_thrs: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[b, c] = AP of category c on weights row b (NaN without weighted ground truth)."""
    n_cats = det_start.shape[0] - 1
    n_thrs = (position_start.shape[0] - 1) // max(n_cats, 1)
    n_rec = rec_thrs.shape[0]
    longest = 0
    for c in range(n_cats):
        longest = max(longest, det_start[c + 1] - det_start[c])
    seen = np.empty(longest, dtype=np.int64)
    precision = np.empty(longest)
    recall = np.empty(longest)
    terms = np.empty(longest)
    for b in range(weights.shape[0]):
        w = weights[b]
        for c in range(n_cats):
            npig = 0
            for j in range(gt_start[c], gt_start[c + 1]):
                npig += w[gt_image[j]] * gt_count[j]
            if npig == 0:
                out[b, c] = np.nan
                continue
            d0 = det_start[c]
            # Weighted count of detections up to each position: TP + FP + ignored so far.
            run = 0
            for d in range(det_start[c + 1] - d0):
                run += w[image[d0 + d]]
                seen[d] = run
            sums = 0.0
            for t in range(n_thrs):
                n, tp, not_fp = 0, 0, 0
                for j in range(position_start[c * n_thrs + t], position_start[c * n_thrs + t + 1]):
                    drawn = w[image[d0 + position[j]]]
                    not_fp += drawn
                    if is_tp[j]:
                        tp += drawn
                        fp = seen[position[j]] - not_fp
                        # Same operations in the same order as accumulate(): identical floats.
                        precision[n] = tp / (fp + tp + EPS)
                        recall[n] = tp / npig
                        n += 1
                if n == 0:
                    continue
                for i in range(n - 2, -1, -1):  # the envelope: maximum at or after each point
                    if precision[i + 1] > precision[i]:
                        precision[i] = precision[i + 1]
                # accumulate() reads the envelope at the first point reaching each recall
                # threshold; count the thresholds each point is first to reach (never reached:
                # precision 0).
                reached, before = 0, 0
                for i in range(n):
                    while reached < n_rec and rec_thrs[reached] <= recall[i]:
                        reached += 1
                    terms[i] = precision[i] * (reached - before)
                    before = reached
                sums += _pairwise_sum(terms, n)
            out[b, c] = sums / (n_thrs * n_rec)


@numba.njit(nogil=True, cache=True)
def _block_sum(a: np.ndarray, start: int, n: int) -> float:
    """pairwise_sum's leaf (n <= 128): eight running sums, combined as a tree, then the rest."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += a[i]
        return total
    r = a[start : start + 8].copy()
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += a[start + i + j]
        i += 8
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        total += a[start + i]
        i += 1
    return total


@numba.njit(nogil=True, cache=True)
def _pairwise_sum(a: np.ndarray, n: int) -> float:
    """numpy's float64 sum of a[:n] (pairwise_sum in loops_utils.h), the same additions.

    numpy halves a run longer than 128 (the half rounded down to a multiple of 8) and adds the
    halves' sums. The recursion is unrolled into a stack (numba's cache cannot reload a
    recursive function): a node is pushed as pending, its halves above it; when it comes up
    again both halves' sums are on the value stack.
    """
    starts = np.empty(128, dtype=np.int64)
    sizes = np.empty(128, dtype=np.int64)
    pending = np.zeros(128, dtype=np.bool_)
    values = np.empty(128)
    top, n_values = 0, 0
    starts[0], sizes[0] = 0, n
    while top >= 0:
        start, size = starts[top], sizes[top]
        if size <= 128:
            values[n_values] = _block_sum(a, start, size)
            n_values += 1
            top -= 1
        elif pending[top]:
            pending[top] = False
            n_values -= 1
            values[n_values - 1] += values[n_values]
            top -= 1
        else:
            half = size // 2
            half -= half % 8
            pending[top] = True
            starts[top + 1], sizes[top + 1] = start + half, size - half
            starts[top + 2], sizes[top + 2] = start, half
            pending[top + 1] = pending[top + 2] = False
            top += 2
    return values[0]
