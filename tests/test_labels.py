"""Model classes matched to an evaluation set's categories by name (ovflow.labels), on the
real 206-image subset and 750-image person set, scored with TensorFlow's own detections."""

from __future__ import annotations

import copy

import pytest
from availability import needs

from conftest import PERSON, SUBSET, TF_REFERENCE, tf_reference_results
from ovflow import catalog, coco_data, coco_eval, labels

ANNOTATIONS = SUBSET / "annotations" / "instances_val2017.json"
PERSON_ANNOTATIONS = PERSON / "annotations" / "instances_val2017_person.json"
COCO91 = catalog.load_model("ssdlite_mobilenet_v2").labels
pytestmark = needs(SUBSET, PERSON, TF_REFERENCE)  # real annotations and TF's detections


@pytest.fixture(scope="module")
def subset() -> tuple[dict, list[int]]:
    ground_truth = coco_data.load_annotations(ANNOTATIONS)
    return ground_truth, sorted(image["id"] for image in ground_truth["images"])


def with_unicorn(ground_truth: dict) -> dict:
    """The issue's set: one more category (95 "unicorn") with one box."""
    changed = copy.deepcopy(ground_truth)
    changed["categories"].append({"id": 95, "name": "unicorn", "supercategory": "animal"})
    first = changed["images"][0]
    changed["annotations"].append(
        {
            "id": 10**9,
            "image_id": first["id"],
            "category_id": 95,
            "bbox": [10.0, 10.0, 50.0, 50.0],
            "area": 2500.0,
            "iscrowd": 0,
        }
    )
    return changed


def ap(ground_truth: dict, ids: list[int], cat_ids: list[int] | None) -> float:
    indexed = coco_eval.ground_truth(ground_truth)
    return coco_eval.evaluate(indexed, tf_reference_results(), ids, cat_ids)["stats"]["AP"]


def test_coco91_on_coco_is_the_identity_and_scored_as_before(subset) -> None:
    ground_truth, ids = subset
    classes = labels.match(COCO91, ground_truth, ids)
    assert classes.to_set == {label: label for label in COCO91}
    assert classes.cat_ids is None  # all classes: exactly the call made before labels existed
    assert classes.record() == {
        "classes_evaluated": "all",
        "only_model_classes": False,
        "unscored_set_classes": [],
        "unscored_model_classes": [],
    }


def test_a_category_the_model_cannot_predict_stops_with_one_line(subset) -> None:
    ground_truth, ids = subset
    with pytest.raises(labels.LabelError) as failure:
        labels.match(COCO91, with_unicorn(ground_truth), ids, source=ANNOTATIONS)
    message = str(failure.value)
    assert "\n" not in message and str(ANNOTATIONS) in message
    assert "unicorn (95)" in message and "accuracy.only_model_classes" in message


def test_only_model_classes_drops_it_and_keeps_the_ap(subset) -> None:
    ground_truth, ids = subset
    unicorn = with_unicorn(ground_truth)
    classes = labels.match(COCO91, unicorn, ids, only_model_classes=True)
    assert classes.unscored_set_classes == ["unicorn"] and classes.only_model_classes
    assert classes.cat_ids == sorted(COCO91)
    assert classes.classes_evaluated == [COCO91[i] for i in sorted(COCO91)]
    original = ap(ground_truth, ids, None)
    assert ap(unicorn, ids, classes.cat_ids) == pytest.approx(original, abs=1e-12)
    # What happened silently before: the unicorn scored as AP 0 and pulled the mean down.
    assert ap(unicorn, ids, None) < original - 0.003


def test_a_one_class_model_on_the_person_set(subset) -> None:
    ground_truth = coco_data.load_annotations(PERSON_ANNOTATIONS)
    ids = [image["id"] for image in ground_truth["images"]]
    classes = labels.match({1: "Person"}, ground_truth, ids)  # names match whatever the case
    assert classes.cat_ids == [1] and classes.classes_evaluated == ["person"]
    assert classes.unscored_set_classes == [] and classes.unscored_model_classes == []


def test_a_one_class_model_on_an_80_class_set_needs_only_model_classes(subset) -> None:
    ground_truth, ids = subset
    with pytest.raises(labels.LabelError, match="bicycle"):
        labels.match({1: "person"}, ground_truth, ids)
    classes = labels.match({1: "person"}, ground_truth, ids, only_model_classes=True)
    assert classes.cat_ids == [1] and len(classes.unscored_set_classes) == 79


def test_model_classes_the_set_lacks_are_not_scored(subset) -> None:
    ground_truth, ids = subset
    model = {1: "person", 2: "face", 3: "car"}
    classes = labels.match(model, ground_truth, ids, only_model_classes=True)
    assert classes.unscored_model_classes == ["face"]
    assert classes.to_set == {1: 1, 3: 3}
    rows = [
        {"image_id": ids[0], "category_id": c, "bbox": [0, 0, 1, 1], "score": 1} for c in (1, 2)
    ]
    assert [r["category_id"] for r in classes.to_set_ids(rows)] == [1]


def test_labels_are_written_with_the_sets_ids() -> None:
    """A model whose label ids differ from the set's (label 7 = person) still scores person."""
    ground_truth = coco_data.load_annotations(PERSON_ANNOTATIONS)
    ids = [image["id"] for image in ground_truth["images"]]
    classes = labels.match({7: "person", 8: "dog"}, ground_truth, ids)
    assert classes.to_set == {7: 1, 8: 18}
    rows = [{"image_id": ids[0], "category_id": 7, "bbox": [0, 0, 1, 1], "score": 1}]
    assert classes.to_set_ids(rows)[0]["category_id"] == 1


def test_a_one_class_set_of_a_class_the_model_lacks_is_refused() -> None:
    ground_truth = coco_data.load_annotations(PERSON_ANNOTATIONS)
    ids = [image["id"] for image in ground_truth["images"]]
    with pytest.raises(labels.LabelError, match="person"):
        labels.match({18: "dog"}, ground_truth, ids, only_model_classes=True)
