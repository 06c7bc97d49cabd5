"""A model's classes matched to an evaluation set's categories, by name.

The model's label map (catalog) says what each output label means; a COCO-format set says which
category id each name has. Detections are written with the set's ids; a class the model predicts
that the set lacks is not scored. A class the set annotates that the model cannot predict would
score AP 0 and drag the mean down: that stops the run, unless `accuracy.only_model_classes` asks
to score only the model's classes. A set that annotates one class only is scored on that class
alone (coco_eval.scored_categories).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import coco_data
from .coco_eval import annotated_categories, scored_categories
from .errors import OvflowError


class LabelError(OvflowError, ValueError):
    pass


def _key(name: str) -> str:
    """Names match regardless of case and spacing ("Traffic  light" is "traffic light")."""
    return " ".join(name.lower().split())


def _names(ids: list[int], names: dict[int, str]) -> str:
    return ", ".join(f"{names[i]} ({i})" for i in ids)


@dataclass(frozen=True)
class ClassMatch:
    to_set: dict[int, int]  # model label → the set's category id
    cat_ids: list[int] | None  # scored categories for coco_eval.evaluate (None: all)
    classes_evaluated: list[str] | str  # "all" or names
    unscored_set_classes: list[str]  # annotated, but the model cannot predict them
    unscored_model_classes: list[str]  # the model predicts them, the set lacks them
    only_model_classes: bool

    def record(self) -> dict[str, Any]:
        """What was scored and what was not, for the accuracy YAML."""
        return {
            "classes_evaluated": self.classes_evaluated,
            "only_model_classes": self.only_model_classes,
            "unscored_set_classes": self.unscored_set_classes,
            "unscored_model_classes": self.unscored_model_classes,
        }

    def to_set_ids(self, results: list[dict]) -> list[dict]:
        """COCO results with model labels as category ids → the set's ids; labels the set lacks
        are dropped."""
        return [
            {**r, "category_id": self.to_set[r["category_id"]]}
            for r in results
            if r["category_id"] in self.to_set
        ]


def match(
    labels: dict[int, str],
    annotations: dict,
    image_ids: list[int],
    only_model_classes: bool = False,
    source: Path | str = "annotations",
) -> ClassMatch:
    """How the model's `labels` are scored on the set `annotations` (images `image_ids`)."""
    categories = {c["id"]: c["name"] for c in annotations["categories"]}
    by_name: dict[str, int] = {}
    for cat_id, name in categories.items():
        by_name.setdefault(_key(name), cat_id)
    to_set = {label: by_name[_key(n)] for label, n in labels.items() if _key(n) in by_name}
    both_lists = (
        f"model classes: {', '.join(labels[i] for i in sorted(labels))}; "
        f"set categories: {', '.join(categories[i] for i in sorted(categories))}"
    )
    if not to_set:
        raise LabelError(
            f"{source}: no class of the model's label map is in this set ({both_lists})"
        )
    predictable = set(to_set.values())
    annotated = annotated_categories(annotations, image_ids)
    one_class = scored_categories(annotated)
    candidates = one_class or sorted(categories)
    lacking = [c for c in candidates if c in annotated and c not in predictable]
    cat_ids = one_class
    if lacking:
        if not only_model_classes:
            raise LabelError(
                f"{source}: annotates classes the model cannot predict, which would score AP 0: "
                f"{_names(lacking, categories)}; set accuracy.only_model_classes: true to score "
                "only the model's classes"
            )
        cat_ids = [c for c in candidates if c in predictable]
        if not cat_ids:
            raise LabelError(
                f"{source}: the model predicts none of the classes scored here "
                f"({_names(candidates, categories)}; {both_lists})"
            )
    return ClassMatch(
        to_set=to_set,
        cat_ids=cat_ids,
        classes_evaluated="all" if cat_ids is None else [categories[c] for c in cat_ids],
        unscored_set_classes=[categories[c] for c in lacking],
        unscored_model_classes=[labels[i] for i in sorted(labels) if i not in to_set],
        only_model_classes=only_model_classes,
    )


def match_set(
    labels: dict[int, str], annotations: Path, eval_ids: Path, only_model_classes: bool
) -> tuple[dict, list[int], ClassMatch]:
    """A set's annotations (loaded and checked), its evaluated image ids (read from `eval_ids`)
    and the model's `labels` matched to it: what the rules of one evaluation set start from."""
    ground_truth = coco_data.load_annotations(annotations)
    ids = coco_data.read_ids(eval_ids)
    return ground_truth, ids, match(labels, ground_truth, ids, only_model_classes, annotations)
