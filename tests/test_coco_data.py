"""Annotation loading on the real COCO subsets; seeded selection; list files; image checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from availability import needs
from PIL import ImageFile

from conftest import PERSON, SUBSET
from ovflow.coco_data import (
    DatasetError,
    check_image_file,
    image_index,
    list_images,
    load_annotations,
    read_ids,
    read_paths,
    select_calibration,
    select_eval_ids,
    write_ids,
    write_paths,
)

SUBSET_JSON = SUBSET / "annotations" / "instances_val2017.json"
PERSON_JSON = PERSON / "annotations" / "instances_val2017_person.json"


def tiny_annotations() -> dict:
    return {
        "images": [{"id": 1, "file_name": "1.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12}
        ],
        "categories": [{"id": 1, "name": "person"}],
    }


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


# -- annotations --------------------------------------------------------------------------


@needs(SUBSET)
def test_load_real_subset_annotations() -> None:
    ann = load_annotations(SUBSET_JSON)
    assert len(ann["images"]) == 206
    assert len(ann["annotations"]) == 1786
    assert len(ann["categories"]) == 80
    index = image_index(ann)
    assert len(index) == 206
    assert index[139]["file_name"] == "000000000139.jpg"
    assert (index[139]["width"], index[139]["height"]) == (640, 426)


@needs(SUBSET, PERSON)
def test_load_real_person_annotations() -> None:
    ann = load_annotations(PERSON_JSON)
    assert len(ann["images"]) == 750
    assert len(ann["annotations"]) == 3158
    assert {a["category_id"] for a in ann["annotations"]} == {1}
    assert not set(image_index(ann)) & set(image_index(load_annotations(SUBSET_JSON)))


@needs(SUBSET)
def test_truncated_json_names_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    path.write_text(SUBSET_JSON.read_text()[:5000])
    with pytest.raises(DatasetError, match=r"instances\.json: invalid JSON at line \d+ column \d+"):
        load_annotations(path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["annotations"][0].update(image_id=99), r"annotations\[0\]\.image_id 99"),
        (lambda d: d["annotations"][0].update(category_id=5), r"annotations\[0\]\.category_id 5"),
        (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), r"annotations\[0\]\.bbox"),
        (lambda d: d["annotations"][0].update(bbox=[1, 2, -3, 4]), r"negative width or height"),
        (lambda d: d["annotations"][0].update(bbox=[1, 2, "3", 4]), r"annotations\[0\]\.bbox"),
        # COCOeval puts each box in an area range by its `area`.
        (lambda d: d["annotations"][0].pop("area"), r"annotations\[0\] has no area"),
        (lambda d: d["annotations"][0].update(area="12"), r"annotations\[0\]\.area '12' is not"),
        (lambda d: d.pop("categories"), r"key 'categories' is missing"),
        (lambda d: d["images"].append(dict(d["images"][0])), r"images\[1\] repeats id 1"),
        (lambda d: d["images"][0].pop("file_name"), r"images\[0\]\.file_name"),
    ],
)
def test_bad_annotations_name_file_and_key(tmp_path: Path, change, expected: str) -> None:
    data = tiny_annotations()
    load_annotations(write_json(tmp_path / "good.json", data))
    change(data)
    path = write_json(tmp_path / "bad.json", data)
    with pytest.raises(DatasetError, match=expected) as err:
        load_annotations(path)
    assert str(err.value).startswith(f"{path}: ")
    assert "\n" not in str(err.value)


# -- eval / held-out selection ------------------------------------------------------------


@needs(PERSON)
def test_select_eval_ids_is_deterministic_and_disjoint() -> None:
    ids = list(image_index(load_annotations(PERSON_JSON)))
    eval_ids, held = select_eval_ids(ids, None, reserve=300, seed=0)
    assert (eval_ids, held) == select_eval_ids(list(reversed(ids)), None, reserve=300, seed=0)
    assert len(held) == 300 and len(eval_ids) == 450
    assert eval_ids == sorted(eval_ids) and held == sorted(held)
    assert not set(eval_ids) & set(held)
    assert set(eval_ids) | set(held) == set(ids)
    assert select_eval_ids(ids, None, reserve=300, seed=1) != (eval_ids, held)


def test_held_out_ids_lead_the_seeded_permutation() -> None:
    ids = [5, 3, 9, 1, 7, 2, 8]
    order = np.random.default_rng(11).permutation(len(ids))
    permuted = [sorted(ids)[i] for i in order]
    eval_ids, held = select_eval_ids(ids, 2, reserve=3, seed=11)
    assert held == sorted(permuted[:3])
    assert eval_ids == sorted(permuted[3:5])


def test_max_images_takes_a_subset_of_the_same_eval_order() -> None:
    ids = range(1000, 1500)
    full, held = select_eval_ids(ids, None, reserve=100, seed=3)
    some, held_again = select_eval_ids(ids, 50, reserve=100, seed=3)
    assert len(some) == 50 and set(some) < set(full)
    assert held_again == held
    few, _ = select_eval_ids(ids, 1000, reserve=100, seed=3)
    assert few == full


@needs(PERSON)
def test_eval_set_does_not_depend_on_calibration_size() -> None:
    ids = list(image_index(load_annotations(PERSON_JSON)))

    def plan(calibration_size: int) -> tuple[list[int], list[Path]]:
        eval_ids, held = select_eval_ids(ids, 200, reserve=300, seed=0)
        candidates = [Path(f"{i:012d}.jpg") for i in held]
        return eval_ids, select_calibration(candidates, calibration_size, seed=0)

    eval_small, calib_small = plan(10)
    eval_large, calib_large = plan(300)
    assert eval_small == eval_large
    assert calib_large[:10] == calib_small
    eval_names = {Path(f"{i:012d}.jpg") for i in eval_small}
    assert not eval_names & set(calib_large)


def test_reserve_too_large_is_an_error() -> None:
    with pytest.raises(DatasetError, match="cannot hold out 5 images for calibration: only 5"):
        select_eval_ids([1, 2, 3, 4, 5], None, reserve=5, seed=0)


# -- calibration selection ----------------------------------------------------------------


def test_select_calibration_is_deterministic() -> None:
    candidates = [Path(f"img{i:03d}.jpg") for i in range(40)]
    picked = select_calibration(candidates, 10, seed=7)
    assert len(picked) == 10 and len(set(picked)) == 10
    assert set(picked) <= set(candidates)
    assert select_calibration(list(reversed(candidates)), 10, seed=7) == picked
    assert picked != sorted(picked)  # permuted, not the first ten
    assert select_calibration(candidates, 10, seed=8) != picked


def test_select_calibration_with_too_few_candidates() -> None:
    with pytest.raises(DatasetError, match="needs 300 images but only 2 are available"):
        select_calibration([Path("a.jpg"), Path("b.jpg")], 300, seed=0)


# -- image folders and list files ---------------------------------------------------------


@needs(SUBSET)
def test_list_images(tmp_path: Path) -> None:
    for name in ("b.jpg", "a.PNG", "c.jpeg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.PNG", "b.jpg", "c.jpeg"]
    assert len(list_images(SUBSET / "val2017")) == 206


def test_list_images_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"x")
    with pytest.raises(DatasetError, match=f"{tmp_path}: no .jpg"):
        list_images(tmp_path)


def test_ids_and_paths_round_trip(tmp_path: Path) -> None:
    ids_file = tmp_path / "data" / "eval_image_ids.txt"
    write_ids(ids_file, [139, 785, 802])
    assert ids_file.read_text() == "139\n785\n802\n"
    assert read_ids(ids_file) == [139, 785, 802]
    paths_file = tmp_path / "data" / "calibration_images.txt"
    paths = [PERSON / "val2017" / "000000000785.jpg", Path("relative/a b.jpg")]
    write_paths(paths_file, paths)
    assert read_paths(paths_file) == paths
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "calibration_images.txt",
        "eval_image_ids.txt",
    ]


def test_read_ids_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("139\n\nabc\n")
    with pytest.raises(DatasetError, match=r"ids\.txt: line 3 is not an image id: 'abc'"):
        read_ids(path)


# -- image decoding -----------------------------------------------------------------------


@needs(SUBSET)
def test_real_jpeg_passes() -> None:
    check_image_file(SUBSET / "val2017" / "000000000139.jpg")


@needs(SUBSET)
def test_truncated_jpeg_is_reported(tmp_path: Path) -> None:
    data = (SUBSET / "val2017" / "000000000139.jpg").read_bytes()
    path = tmp_path / "000000000139.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated or corrupt image") as err:
        check_image_file(path)
    assert str(err.value).startswith(f"{path}: ")


def test_not_an_image_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "fake.jpg"
    path.write_text("not a jpeg")
    with pytest.raises(DatasetError, match=r"fake\.jpg: truncated or corrupt image"):
        check_image_file(path)


def test_empty_file_is_reported_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "000000000139.jpg"
    path.touch()
    with pytest.raises(DatasetError) as err:
        check_image_file(path)
    assert str(err.value) == f"{path}: empty file (0 bytes), not an image"


@needs(SUBSET)
def test_truncation_is_caught_even_if_pillow_was_told_to_tolerate_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = (SUBSET / "val2017" / "000000000139.jpg").read_bytes()
    path = tmp_path / "half.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated"):
        check_image_file(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
