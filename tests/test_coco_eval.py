"""COCO evaluation: hand-made cases with known answers, and pycocotools' own numbers on real
annotations (TensorFlow's real detections, and synthetic ones built to hit its corner cases)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from availability import needs
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from conftest import PERSON, SUBSET, TF_REFERENCE, tf_reference_results
from ovflow import coco_eval, coco_match
from ovflow.catalog import load_model
from ovflow.detections import Detections

SUBSET_ANNOTATIONS = SUBSET / "annotations" / "instances_val2017.json"
PERSON_ANNOTATIONS = PERSON / "annotations" / "instances_val2017_person.json"
EXACT = 1e-12

# Non-crowd ground truth of the hand-made set: (image id, category id, [x, y, w, h]).
# Widths are 100 or 200 so that a shift by width/4 gives IoU exactly 0.6 (see shifted()).
GT_BOXES = [
    (1, 1, [10, 20, 100, 200]),
    (1, 2, [300, 100, 200, 150]),
    (2, 1, [50, 40, 100, 120]),
    (3, 2, [20, 30, 200, 100]),
]


@pytest.fixture
def tiny_coco(tmp_path: Path) -> Path:
    """3 images, 4 boxes in 2 categories, 1 crowd region, and a category with no boxes."""
    anns = [
        {
            "id": i + 1,
            "image_id": img,
            "category_id": cat,
            "bbox": box,
            "area": box[2] * box[3],
            "iscrowd": 0,
        }
        for i, (img, cat, box) in enumerate(GT_BOXES)
    ]
    crowd = [400, 300, 150, 100]
    anns.append(
        {"id": 99, "image_id": 3, "category_id": 1, "bbox": crowd, "area": 15000, "iscrowd": 1}
    )
    data = {
        "images": [
            {"id": 1, "file_name": "1.jpg", "width": 640, "height": 480},
            {"id": 2, "file_name": "2.jpg", "width": 320, "height": 240},
            {"id": 3, "file_name": "3.jpg", "width": 640, "height": 480},
        ],
        "categories": [
            {"id": 1, "name": "person"},
            {"id": 2, "name": "dog"},
            {"id": 3, "name": "cat"},
        ],
        "annotations": anns,
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path


def perfect() -> list[dict]:
    return [{"image_id": i, "category_id": c, "bbox": b, "score": 1.0} for i, c, b in GT_BOXES]


def shifted() -> list[dict]:
    # Shifting a w-wide box right by w/4: intersection 3/4 w*h, union 5/4 w*h, IoU 3/5.
    return [
        {"image_id": i, "category_id": c, "bbox": [x + w // 4, y, w, h], "score": 1.0}
        for i, c, (x, y, w, h) in GT_BOXES
    ]


def test_perfect_detections_score_one(tiny_coco: Path) -> None:
    result = coco_eval.evaluate(tiny_coco, perfect(), [1, 2, 3])
    assert result["stats"]["AP"] == pytest.approx(1.0, abs=1e-9)
    assert result["stats"]["AP50"] == pytest.approx(1.0, abs=1e-9)
    assert list(result["stats"]) == coco_eval.STAT_NAMES


def test_iou_of_exactly_0_6_passes_three_of_ten_thresholds(tiny_coco: Path) -> None:
    # Thresholds .50:.05:.95; pycocotools matches at IoU >= threshold: .50, .55, .60 pass.
    stats = coco_eval.evaluate(tiny_coco, shifted(), [1, 2, 3])["stats"]
    assert stats["AP50"] == pytest.approx(1.0, abs=1e-9)
    assert stats["AP75"] == pytest.approx(0.0, abs=1e-9)
    assert stats["AP"] == pytest.approx(0.3, abs=1e-9)


def test_counts_and_classes_without_ground_truth(tiny_coco: Path) -> None:
    result = coco_eval.evaluate(tiny_coco, perfect(), [1, 3])
    assert result["images"] == 2
    assert result["annotations"] == 3  # image 1: 2 boxes, image 3: 1 box
    assert result["crowd_annotations"] == 1
    assert result["per_class_ap"]["person"] == pytest.approx(1.0)
    assert result["per_class_ap"]["cat"] is None
    assert "Average Precision" in result["summary"]


def test_empty_results_give_zero_ap(tiny_coco: Path) -> None:
    result = coco_eval.evaluate(tiny_coco, [], [1, 2, 3])
    assert result["stats"]["AP"] == 0.0
    assert result["per_class_ap"]["dog"] == 0.0


def test_evaluate_leaves_the_results_unchanged(tiny_coco: Path) -> None:
    results = perfect()
    coco_eval.evaluate(tiny_coco, results, [1, 2, 3])
    assert results == perfect()


def test_unknown_image_ids_name_the_file(tiny_coco: Path) -> None:
    with pytest.raises(ValueError, match=r"instances\.json.*\[7\]"):
        coco_eval.evaluate(tiny_coco, [], [1, 7])
    stray = [{"image_id": 8, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]
    with pytest.raises(ValueError, match=r"instances\.json.*\[8\]"):
        coco_eval.evaluate(tiny_coco, stray, [1])


def test_matching_narrowed_to_area_all_is_the_full_matchings_all(tiny_coco: Path) -> None:
    gt = coco_eval.indexed(tiny_coco)
    full = coco_match.match(gt, shifted(), [1, 2, 3])
    narrow = coco_match.match(gt, shifted(), [1, 2, 3], area_labels=("all",))
    assert narrow.params.areaRngLbl == ["all"]
    assert narrow.params.areaRng == [full.params.areaRng[full.params.areaRngLbl.index("all")]]
    for name in ("matched", "ignored", "gt_counts"):
        assert np.array_equal(getattr(narrow, name), getattr(full, name)[:1]), name
    for name in ("cat_start", "image_index", "rank"):
        assert np.array_equal(getattr(narrow, name), getattr(full, name)), name
    with pytest.raises(ValueError, match=r"area labels \['everything'\]"):
        coco_match.match(gt, shifted(), [1, 2, 3], area_labels=("everything",))


def test_to_coco_results_pixels() -> None:
    dets = Detections(
        labels=np.array([18, 1, 3], dtype=np.int64),
        scores=np.array([0.9, 0.5, 0.25], dtype=np.float32),
        boxes=np.array(
            [
                [0.1, 0.25, 0.5, 0.75],  # inside the image
                [-0.1, 0.5, 1.2, 0.9],  # crosses the left and right edges
                [0.6, 0.5, 0.4, 0.5],  # corners swapped: no area
            ],
            dtype=np.float32,
        ),
    )
    results = coco_eval.to_coco_results(42, dets, 640, 480)
    assert [r["category_id"] for r in results] == [18, 1, 3]
    assert all(r["image_id"] == 42 for r in results)
    assert results[0]["bbox"] == pytest.approx([64, 120, 256, 240], abs=1e-3)
    assert results[1]["bbox"] == pytest.approx([0, 240, 640, 192], abs=1e-3)
    assert results[2]["bbox"][2:] == [0.0, 0.0]
    assert results[0]["score"] == pytest.approx(0.9)
    assert all(type(v) is float for r in results for v in [*r["bbox"], r["score"]])


@pytest.fixture(scope="module")
def tf_results() -> tuple[list[dict], list[int]]:
    """TensorFlow's detections on the 206 subset images, as COCO results, and the image ids."""
    images = json.loads(SUBSET_ANNOTATIONS.read_text())["images"]
    return tf_reference_results(), sorted(img["id"] for img in images)


@pytest.fixture(scope="module")
def tf_eval(tf_results: tuple[list[dict], list[int]]) -> dict:
    results, image_ids = tf_results
    return coco_eval.evaluate(SUBSET_ANNOTATIONS, results, image_ids)


@needs(SUBSET, TF_REFERENCE)
def test_tf_reference_ap(tf_eval: dict) -> None:
    # Published in shared/reference/README.md for these detections (pycocotools 2.0.11).
    stats = tf_eval["stats"]
    assert stats["AP"] == pytest.approx(0.2967, abs=5e-4)
    assert stats["AP50"] == pytest.approx(0.4599, abs=5e-4)
    assert stats["AP75"] == pytest.approx(0.3094, abs=5e-4)
    assert tf_eval["images"] == 206
    assert tf_eval["annotations"] + tf_eval["crowd_annotations"] == 1786
    assert tf_eval["crowd_annotations"] == 21


def pycocotools_eval(
    annotations: Path, results: list[dict], image_ids: list[int], cat_ids: list[int] | None
) -> COCOeval:
    """A plain pycocotools bbox evaluation, evaluated, accumulated and summarized."""
    return pycocotools_eval_and_summary(annotations, results, image_ids, cat_ids)[0]


def pycocotools_eval_and_summary(
    annotations: Path, results: list[dict], image_ids: list[int], cat_ids: list[int] | None
) -> tuple[COCOeval, str]:
    """pycocotools_eval(), and what its summarize() printed."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(annotations))
        direct = COCOeval(gt, gt.loadRes(copy.deepcopy(results)), "bbox")
        direct.params.imgIds = image_ids
        if cat_ids:
            direct.params.catIds = cat_ids
        direct.evaluate()
        direct.accumulate()
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        direct.summarize()
    return direct, summary.getvalue()


def pycocotools_per_class_ap(direct: COCOeval) -> dict[str, float | None]:
    """AP per class as pycocotools' stats[0] restricted to one class (area all, 100 dets)."""
    per_class = {}
    for k, cat_id in enumerate(direct.params.catIds):
        values = direct.eval["precision"][:, :, k, 0, 2]
        values = values[values > -1]
        per_class[direct.cocoGt.cats[cat_id]["name"]] = (
            float(values.mean()) if values.size else None
        )
    return per_class


def assert_equals_pycocotools(
    annotations: Path, results: list[dict], image_ids: list[int], cat_ids: list[int] | None
) -> dict:
    """coco_eval.evaluate() gives pycocotools' 12 stats and per-class APs (to 1e-12), and its
    precision and recall arrays are pycocotools' own, bit for bit."""
    direct, summary = pycocotools_eval_and_summary(annotations, results, image_ids, cat_ids)
    # evaluate()'s steps, matched once: its result and the arrays it summarizes.
    gt = coco_eval.indexed(annotations)
    matching = coco_match.match(gt, results, image_ids, cat_ids)
    ours = coco_eval.summarize(gt, matching)
    assert list(ours["stats"].values()) == pytest.approx(list(direct.stats), abs=EXACT)
    expected = pycocotools_per_class_ap(direct)
    assert ours["per_class_ap"].keys() == expected.keys()
    for name, value in expected.items():
        if value is None:
            assert ours["per_class_ap"][name] is None, name
        else:
            assert ours["per_class_ap"][name] == pytest.approx(value, abs=EXACT), name
    precision, recall = coco_match.accumulate(matching)
    assert np.array_equal(precision, direct.eval["precision"])
    assert np.array_equal(recall, direct.eval["recall"])
    assert ours["summary"] == summary
    return ours


def synthetic_results(coco: dict, seed: int) -> list[dict]:
    """Detections made from the ground truth to reach pycocotools' corner cases: boxes found
    with jitter (IoU across all thresholds), some found twice (the copy a false positive or a
    neighbour's match), crowd regions hit, false positives of any class, scores rounded to two
    decimals (ties within and across images, where the order is pycocotools' stable sorts),
    boxes of exactly 32x32 and 96x96 pixels (area range edges), and one image with 150
    detections of one class (past maxDets 100)."""
    rng = np.random.default_rng(seed)
    cat_ids = [c["id"] for c in coco["categories"]]
    results = []
    for ann in coco["annotations"]:
        x, y, w, h = ann["bbox"]
        for _ in range(int(rng.choice([0, 1, 1, 1, 2]))):
            dx, dy, dw, dh = rng.normal(0.0, 0.08, 4) * [w, h, w, h]
            box = [x + dx, y + dy, max(w + dw, 1.0), max(h + dh, 1.0)]
            results.append(
                {
                    "image_id": ann["image_id"],
                    "category_id": ann["category_id"],
                    "bbox": [round(v, 3) for v in box],
                    "score": round(float(rng.uniform(0.3, 1.0)), 2),
                }
            )
    for img in coco["images"]:
        for side in (32, 96, 20, 150):
            results.append(
                {
                    "image_id": img["id"],
                    "category_id": int(rng.choice(cat_ids)),
                    "bbox": [float(rng.uniform(0, 200)), float(rng.uniform(0, 200)), side, side],
                    "score": round(float(rng.uniform(0.0, 0.6)), 2),
                }
            )
    crowded = next(a for a in coco["annotations"] if a["category_id"] == 1)
    x, y, w, h = crowded["bbox"]
    for i in range(150):
        shift = i % 10 * 0.02 * w
        results.append(
            {
                "image_id": crowded["image_id"],
                "category_id": 1,
                "bbox": [x + shift, y, w, h],
                "score": round(0.2 + 0.005 * (i % 40), 3),
            }
        )
    return results


def test_area_edges_and_annotation_id_zero_equal_plain_pycocotools(tmp_path: Path) -> None:
    # Ground truth areas exactly on the small/medium/large edges (32^2, 96^2) and just off
    # them, detections of those areas, and an annotation with id 0 (pycocotools stores the
    # matched id, so a match to id 0 counts as none).
    areas = [32.0**2, 32.0**2 + 0.5, 96.0**2, 96.0**2 - 0.5, 40.0**2, 200.0**2]
    # 400-pixel-high images, boxes at y 20 and 170: the false positives never overlap.
    anns, results = [], []
    for i, area in enumerate(areas):
        side = area**0.5
        box = [10.0 + 300 * i, 20.0, side, side]
        anns.append(
            {
                "id": 0 if i == 4 else i + 1,
                "image_id": 1 + i % 2,
                "category_id": 1,
                "bbox": box,
                "area": area,
            }
        )
        anns[-1]["iscrowd"] = 0
        # Found, found again a little off, and a box of the same size where there is nothing
        # (a false positive ranked above the matches, of an area on the same edge).
        for shift_x, shift_y, score in ((0.0, 0, 0.9), (0.1, 0, 0.8), (0.0, 150, 0.95)):
            moved = [box[0] + shift_x * side, box[1] + shift_y, 32.0 if i == 1 else side, side]
            results.append({"image_id": 1 + i % 2, "category_id": 1, "bbox": moved, "score": score})
    data = {
        "images": [
            {"id": 1, "file_name": "1.jpg", "width": 2000, "height": 400},
            {"id": 2, "file_name": "2.jpg", "width": 2000, "height": 400},
        ],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": anns,
    }
    path = tmp_path / "edges.json"
    path.write_text(json.dumps(data))
    ours = assert_equals_pycocotools(path, results, [1, 2], None)
    assert ours["stats"]["APs"] > 0 and ours["stats"]["APm"] > 0 and ours["stats"]["APl"] > 0


@pytest.fixture(scope="module")
def subset_coco() -> dict:
    return json.loads(SUBSET_ANNOTATIONS.read_text())


@pytest.fixture(scope="module")
def person_coco() -> dict:
    return json.loads(PERSON_ANNOTATIONS.read_text())


@needs(SUBSET, TF_REFERENCE)
def test_tf_reference_equals_plain_pycocotools(tf_results: tuple[list[dict], list[int]]) -> None:
    results, image_ids = tf_results
    assert_equals_pycocotools(SUBSET_ANNOTATIONS, results, image_ids, None)


@needs(SUBSET)
def test_subset_corner_cases_equal_plain_pycocotools(subset_coco: dict) -> None:
    results = synthetic_results(subset_coco, seed=1)
    image_ids = sorted(img["id"] for img in subset_coco["images"])
    crowd_images = {a["image_id"] for a in subset_coco["annotations"] if a["iscrowd"]}
    assert crowd_images & {r["image_id"] for r in results}  # crowd regions take part
    # A subset of the images, all classes, and the one-class choice of a person set.
    assert_equals_pycocotools(SUBSET_ANNOTATIONS, results, image_ids, None)
    assert_equals_pycocotools(SUBSET_ANNOTATIONS, results, image_ids[::3], [1, 3, 62])


@needs(PERSON)
@pytest.mark.parametrize("cat_ids", [[1], None], ids=["person only", "all classes"])
def test_person_set_equals_plain_pycocotools(person_coco: dict, cat_ids: list[int] | None) -> None:
    results = synthetic_results(person_coco, seed=2)
    image_ids = sorted(img["id"] for img in person_coco["images"])
    assert len(image_ids) == 750
    ours = assert_equals_pycocotools(PERSON_ANNOTATIONS, results, image_ids, cat_ids)
    assert 0.3 < ours["stats"]["AP"] < 0.9  # found boxes, not a trivial 0 or 1
    assert ours["annotations"] == 3158


@needs(SUBSET, TF_REFERENCE)
def test_per_class_ap_names_are_the_catalog_labels(tf_eval: dict) -> None:
    per_class = tf_eval["per_class_ap"]
    assert len(per_class) == 80
    assert set(per_class) == set(load_model("ssdlite_mobilenet_v2").labels.values())
    assert isinstance(per_class["person"], float)
    assert 0.0 < per_class["person"] <= 1.0


def test_accuracy_yaml_round_trip(tiny_coco: Path, tmp_path: Path) -> None:
    result = coco_eval.evaluate(tiny_coco, shifted(), [1, 2, 3])
    path = tmp_path / "accuracy" / "FP32.yaml"
    extra = {"image_selection": "all 3 images", "precision_hint": "f32"}
    coco_eval.write_accuracy_yaml(
        path, model="tiny", precision="FP32", stats_dict=result, extra=extra
    )
    record = coco_eval.read_accuracy_yaml(path)
    assert record["model"] == "tiny"
    assert record["precision"] == "FP32"
    assert list(record["stats"]) == coco_eval.STAT_NAMES
    assert record["stats"] == result["stats"]
    assert record["per_class_ap"] == result["per_class_ap"]
    assert (record["images"], record["annotations"]) == (3, 4)
    assert record["runtime"]["openvino"] == metadata.version("openvino")
    assert record["runtime"]["nncf"] == metadata.version("nncf")
    assert record["image_selection"] == "all 3 images"
    assert record["precision_hint"] == "f32"
    assert sorted(p.name for p in path.parent.iterdir()) == ["FP32.yaml"]  # no temp file left


def test_accuracy_yaml_errors(tiny_coco: Path, tmp_path: Path) -> None:
    result = coco_eval.evaluate(tiny_coco, perfect(), [1])
    path = tmp_path / "acc.yaml"
    with pytest.raises(ValueError, match=r"clash.*model"):
        coco_eval.write_accuracy_yaml(
            path, model="m", precision="FP32", stats_dict=result, extra={"model": "other"}
        )
    assert not path.exists()
    path.write_text("model: m\nprecision: FP32\n")
    with pytest.raises(ValueError, match=r"acc\.yaml: missing key 'images'"):
        coco_eval.read_accuracy_yaml(path)


def test_detections_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "FP32.detections.json"
    coco_eval.write_detections_json(path, shifted())
    assert coco_eval.read_detections_json(path) == shifted()
    path.write_text('{"image_id": 1}')
    with pytest.raises(ValueError, match=r"detections\.json: not a COCO results list"):
        coco_eval.read_detections_json(path)
