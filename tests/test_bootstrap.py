"""Paired bootstrap of ΔAP: the match table reproduces pycocotools exactly, weights act as
duplicated images, the interval behaves on TensorFlow's real detections and is the one the
earlier numpy implementation gave, whatever the number of threads."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from availability import needs
from test_coco_eval import pycocotools_eval, pycocotools_per_class_ap

from conftest import SUBSET, TF_REFERENCE, tf_reference_results
from ovflow import bootstrap

ANNOTATIONS = SUBSET / "annotations" / "instances_val2017.json"
EXACT = 1e-12

pytestmark = needs(SUBSET, TF_REFERENCE)


@pytest.fixture(scope="module")
def coco() -> dict:
    return json.loads(ANNOTATIONS.read_text())


@pytest.fixture(scope="module")
def image_ids(coco: dict) -> list[int]:
    return sorted(img["id"] for img in coco["images"])


@pytest.fixture(scope="module")
def tf_results() -> list[dict]:
    return tf_reference_results()


@pytest.fixture(scope="module")
def degraded_results(tf_results: list[dict]) -> list[dict]:
    """Boxes jittered by up to 10% of their size and scores shuffled across all detections."""
    rng = np.random.default_rng(7)
    scores = rng.permutation([r["score"] for r in tf_results])
    degraded = []
    for r, score in zip(tf_results, scores, strict=True):
        x, y, w, h = r["bbox"]
        dx, dy = rng.uniform(-0.1, 0.1, 2) * [w, h]
        degraded.append({**r, "bbox": [x + dx, y + dy, w, h], "score": float(score)})
    return degraded


@pytest.fixture(scope="module")
def tf_table(tf_results: list[dict], image_ids: list[int]) -> bootstrap.MatchTable:
    return bootstrap.match_table(ANNOTATIONS, tf_results, image_ids)


def pycocotools_ap(annotations: Path, results: list[dict], image_ids: list[int]) -> float:
    return float(pycocotools_eval(annotations, results, image_ids, None).stats[0])


def ones(table: bootstrap.MatchTable) -> np.ndarray:
    return np.ones((1, len(table.image_ids)), dtype=np.int64)


@pytest.mark.parametrize("which", ["tf_results", "degraded_results"])
def test_all_ones_equals_pycocotools(
    which: str, request: pytest.FixtureRequest, image_ids: list[int]
) -> None:
    results = request.getfixturevalue(which)
    direct = pycocotools_eval(ANNOTATIONS, results, image_ids, None)
    table = bootstrap.match_table(ANNOTATIONS, results, image_ids)

    ap = bootstrap.average_precision(table, ones(table))
    assert ap.shape == (1,)
    assert ap[0] == pytest.approx(direct.stats[0], abs=EXACT)

    per_class = bootstrap.per_class_ap(table)
    expected = pycocotools_per_class_ap(direct)
    assert per_class.keys() == expected.keys()
    for name, value in expected.items():
        assert per_class[name] == pytest.approx(value, abs=EXACT), name


def test_degraded_copy_is_worse(tf_table: bootstrap.MatchTable, degraded_results: list[dict]):
    # Guards the test above: the degraded copy must really differ from the reference.
    degraded = bootstrap.match_table(ANNOTATIONS, degraded_results, tf_table.image_ids)
    assert bootstrap.average_precision(degraded, ones(degraded))[0] < 0.2


def multiset_dataset(
    coco: dict, results: list[dict], weights: np.ndarray, tmp_path: Path
) -> tuple[Path, list[dict], list[int]]:
    """The image multiset `weights` as a COCO set: image i drawn c times becomes c images with
    ground truth and detections copied. Copies of one image get adjacent ids (id * 16 + copy), so
    pycocotools' tie order among images stays the original one."""
    order = sorted(img["id"] for img in coco["images"])
    count = dict(zip(order, weights.tolist(), strict=True))
    assert max(count.values()) < 16

    def copies(image_id: int) -> range:
        return range(image_id * 16, image_id * 16 + count[image_id])

    images = [{**img, "id": new} for img in coco["images"] for new in copies(img["id"])]
    anns = [{**a, "image_id": new} for a in coco["annotations"] for new in copies(a["image_id"])]
    for i, ann in enumerate(anns):
        ann["id"] = i + 1
    path = tmp_path / "multiset.json"
    path.write_text(json.dumps({**coco, "images": images, "annotations": anns}))
    copied = [{**r, "image_id": new} for r in results for new in copies(r["image_id"])]
    return path, copied, [img["id"] for img in images]


def test_no_score_ties_within_an_image_and_class(tf_results: list[dict]) -> None:
    # The weighting equals duplication exactly when no image holds equal-score detections of one
    # class (see ovflow.bootstrap); the duplication tests below rely on it.
    keys = Counter((r["image_id"], r["category_id"], r["score"]) for r in tf_results)
    assert max(keys.values()) == 1


def test_weight_two_equals_a_duplicated_image(
    coco: dict, tf_results: list[dict], tf_table: bootstrap.MatchTable, tmp_path: Path
) -> None:
    ids = tf_table.image_ids
    anns = [a for a in coco["annotations"] if not a["iscrowd"]]
    # Doubled: the image with most crowd regions (its detections matching them are ignored).
    crowd = Counter(a["image_id"] for a in coco["annotations"] if a["iscrowd"])
    doubled = crowd.most_common(1)[0][0]
    # Dropped: the only image holding some class, so that class must leave the mean.
    holders: dict[int, set[int]] = {}
    for a in anns:
        holders.setdefault(a["category_id"], set()).add(a["image_id"])
    dropped = next(next(iter(h)) for h in holders.values() if len(h) == 1 and doubled not in h)

    weights = np.ones(len(ids), dtype=np.int64)
    weights[ids.index(doubled)] = 2
    weights[ids.index(dropped)] = 0
    path, results, new_ids = multiset_dataset(coco, tf_results, weights, tmp_path)
    expected = pycocotools_ap(path, results, new_ids)

    ap = bootstrap.average_precision(tf_table, weights[None, :])[0]
    assert ap == pytest.approx(expected, abs=EXACT)
    # Not trivially so: the weights change AP.
    assert abs(ap - bootstrap.average_precision(tf_table, ones(tf_table))[0]) > 1e-4


def test_a_bootstrap_resample_equals_its_multiset(
    coco: dict, tf_results: list[dict], tf_table: bootstrap.MatchTable, tmp_path: Path
) -> None:
    weights = bootstrap.resample_weights(len(tf_table.image_ids), 1, seed=3)[0]
    assert weights.sum() == len(tf_table.image_ids)
    assert weights.max() >= 3 and (weights == 0).any()
    path, results, new_ids = multiset_dataset(coco, tf_results, weights, tmp_path)
    expected = pycocotools_ap(path, results, new_ids)
    ap = bootstrap.average_precision(tf_table, weights[None, :])[0]
    assert ap == pytest.approx(expected, abs=EXACT)


def test_identical_sets_give_zero(tf_table: bootstrap.MatchTable, tf_results: list[dict]) -> None:
    same = bootstrap.match_table(ANNOTATIONS, [dict(r) for r in tf_results], tf_table.image_ids)
    result = bootstrap.paired_bootstrap(tf_table, same, resamples=200)
    assert result["delta"] == 0.0
    assert result["low"] == 0.0
    assert result["high"] == 0.0
    assert result["reference_ap"] == result["candidate_ap"]


@pytest.fixture(scope="module")
def worse_table(tf_results: list[dict], image_ids: list[int]) -> bootstrap.MatchTable:
    """Every 3rd detection dropped: a candidate worse by construction."""
    kept = [r for i, r in enumerate(tf_results) if i % 3 != 2]
    return bootstrap.match_table(ANNOTATIONS, kept, image_ids)


def test_worse_candidate_has_negative_interval(
    tf_table: bootstrap.MatchTable,
    worse_table: bootstrap.MatchTable,
    tf_results: list[dict],
    image_ids: list[int],
) -> None:
    result = bootstrap.paired_bootstrap(tf_table, worse_table)
    # The point estimates are pycocotools' APs of the two result sets.
    kept = [r for i, r in enumerate(tf_results) if i % 3 != 2]
    for key, results in (("reference_ap", tf_results), ("candidate_ap", kept)):
        expected = pycocotools_ap(ANNOTATIONS, results, image_ids)
        assert result[key] == pytest.approx(expected, abs=EXACT)
    assert result["delta"] < -0.01
    assert result["low"] <= result["delta"] <= result["high"] < 0
    assert result["resamples"] == 1000
    assert result["seed"] == 0
    assert result["confidence"] == 0.95
    assert "bootstrap" in result["method"]
    # The same interval from the other side.
    swapped = bootstrap.paired_bootstrap(worse_table, tf_table)
    assert swapped["low"] == pytest.approx(-result["high"])
    assert swapped["high"] == pytest.approx(-result["low"])


def test_seed_determines_the_interval(
    tf_table: bootstrap.MatchTable, worse_table: bootstrap.MatchTable
) -> None:
    first = bootstrap.paired_bootstrap(tf_table, worse_table, resamples=200, seed=5)
    again = bootstrap.paired_bootstrap(tf_table, worse_table, resamples=200, seed=5)
    other = bootstrap.paired_bootstrap(tf_table, worse_table, resamples=200, seed=6)
    assert first == again
    assert (first["low"], first["high"]) != (other["low"], other["high"])
    assert first["delta"] == other["delta"]


def test_tables_on_different_images_are_refused(
    tf_results: list[dict], tf_table: bootstrap.MatchTable
) -> None:
    fewer = bootstrap.match_table(ANNOTATIONS, tf_results, tf_table.image_ids[:-1])
    with pytest.raises(ValueError, match="same images"):
        bootstrap.paired_bootstrap(tf_table, fewer)


# The subset intervals (1,000 resamples, seed 0) as the numpy implementation of the same steps
# computed them before the compiled scorer replaced it (commit 1ce957e), to the last bit.
NUMPY_INTERVALS = {
    "worse": (-0.10700389176250368, -0.06178244017670918, -0.07606725853744337),
    "degraded": (-0.29235419891556297, -0.23269943419058842, -0.2531972244297278),
}


@pytest.mark.parametrize("threads", [1, 3])
def test_intervals_are_the_earlier_implementations(
    tf_table: bootstrap.MatchTable,
    worse_table: bootstrap.MatchTable,
    degraded_results: list[dict],
    threads: int,
) -> None:
    degraded = bootstrap.match_table(ANNOTATIONS, degraded_results, tf_table.image_ids)
    shared = bootstrap.Bootstrap(tf_table, resamples=1000, seed=0, threads=threads)
    for name, candidate in (("worse", worse_table), ("degraded", degraded)):
        result = shared.compare(candidate)
        assert (result["low"], result["high"], result["delta"]) == NUMPY_INTERVALS[name]
        # One reference scored for both candidates: the same as a bootstrap of each pair.
        assert result == bootstrap.paired_bootstrap(tf_table, candidate)


def test_threads_split_resamples_not_results(tf_table: bootstrap.MatchTable) -> None:
    weights = bootstrap.resample_weights(len(tf_table.image_ids), 37, seed=4)
    one = bootstrap.average_precision(tf_table, weights, threads=1)
    assert np.array_equal(one, bootstrap.average_precision(tf_table, weights, threads=4))
    assert len(set(one.tolist())) > 30  # resamples really differ


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 255, 256, 1000, 8193, 50001])
def test_pairwise_sum_is_numpys(n: int) -> None:
    # The resampled APs are bit-identical to numpy's only if the sums add in numpy's order.
    values = np.random.default_rng(n).random(n) * 3.7
    assert bootstrap._pairwise_sum(values, n) == float(values.sum())
    assert bootstrap._pairwise_sum(values, n) != float(sum(values.tolist())) or n < 9
