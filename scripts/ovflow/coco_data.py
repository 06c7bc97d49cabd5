"""COCO annotations and images: validated loading and deterministic, seeded selection."""

from __future__ import annotations

import json
from collections.abc import Iterable
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile

from ovflow import atomic
from ovflow.errors import OvflowError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class DatasetError(OvflowError, ValueError):
    """Annotations, image lists or images that the workflow cannot use."""


# -- annotations --------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise DatasetError(
            f"{path}: invalid JSON at line {err.lineno} column {err.colno} ({err.msg})"
        ) from None
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not UTF-8 text ({err.reason})") from None


def _ids(path: Path, records: list, key: str) -> set[int]:
    """The `id`s of `records`, which must be distinct integers."""
    ids: set[int] = set()
    for i, record in enumerate(records):
        rid = record.get("id") if isinstance(record, dict) else None
        if not isinstance(rid, int) or isinstance(rid, bool):
            raise DatasetError(f"{path}: {key}[{i}] has no integer id")
        if rid in ids:
            raise DatasetError(f"{path}: {key}[{i}] repeats id {rid}")
        ids.add(rid)
    return ids


def _check_images(path: Path, images: list) -> None:
    for i, image in enumerate(images):
        if not isinstance(image.get("file_name"), str):
            raise DatasetError(f"{path}: images[{i}].file_name is missing or not a string")
        for key in ("width", "height"):
            if not _is_number(image.get(key)) or image[key] <= 0:
                raise DatasetError(f"{path}: images[{i}].{key} is missing or not positive")


def _check_annotation(path: Path, i: int, ann: Any, image_ids: set, category_ids: set) -> None:
    where = f"{path}: annotations[{i}]"
    if not isinstance(ann, dict):
        raise DatasetError(f"{where} is not an object")
    if ann.get("image_id") not in image_ids:
        raise DatasetError(f"{where}.image_id {ann.get('image_id')!r} is not a known image id")
    if ann.get("category_id") not in category_ids:
        raise DatasetError(
            f"{where}.category_id {ann.get('category_id')!r} is not a known category id"
        )
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        raise DatasetError(f"{where}.bbox {bbox!r} is not 4 numbers [x, y, w, h]")
    if bbox[2] < 0 or bbox[3] < 0:
        raise DatasetError(f"{where}.bbox {bbox!r} has a negative width or height")
    # COCOeval puts each box in an area range (small, medium, large) by its `area`.
    if "area" not in ann:
        raise DatasetError(f"{where} has no area")
    if not _is_number(ann["area"]):
        raise DatasetError(f"{where}.area {ann['area']!r} is not a number")


def load_annotations(path: Path) -> dict:
    """A COCO instances JSON, checked so that later stages can index it without surprises."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: top level is not a JSON object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{path}: key {key!r} is missing or not a list")
    image_ids = _ids(path, data["images"], "images")
    category_ids = _ids(path, data["categories"], "categories")
    _check_images(path, data["images"])
    for i, ann in enumerate(data["annotations"]):
        _check_annotation(path, i, ann, image_ids, category_ids)
    return data


def image_index(ann: dict) -> dict[int, dict]:
    """Image id → image record (file_name, width, height, ...)."""
    return {image["id"]: image for image in ann["images"]}


# -- selection ----------------------------------------------------------------------------


def _permuted(items: list, seed: int) -> list:
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order]


def select_eval_ids(
    image_ids: Iterable[int], max_images: int | None, reserve: int, seed: int
) -> tuple[list[int], list[int]]:
    """(eval ids, held-out ids), both sorted.

    The first `reserve` ids of one seeded permutation are held out (for calibration) and the
    eval set is the next `max_images`, so the eval set never depends on how many of the
    held-out images a later stage uses.
    """
    ids = sorted({int(i) for i in image_ids})
    if reserve < 0 or (max_images is not None and max_images < 0):
        raise DatasetError(f"reserve ({reserve}) and max_images ({max_images}) must be >= 0")
    if reserve >= len(ids):
        raise DatasetError(
            f"cannot hold out {reserve} images for calibration: only {len(ids)} images"
        )
    permuted = _permuted(ids, seed)
    held_out = permuted[:reserve]
    rest = permuted[reserve:]
    eval_ids = rest if max_images is None else rest[:max_images]
    return sorted(eval_ids), sorted(held_out)


def select_calibration(candidates: list[Path], subset_size: int, seed: int) -> list[Path]:
    """`subset_size` of `candidates`, seeded; a smaller size gives a prefix of a larger one."""
    if subset_size <= 0:
        raise DatasetError(f"calibration subset size must be positive, got {subset_size}")
    if len(candidates) < subset_size:
        raise DatasetError(
            f"calibration needs {subset_size} images but only {len(candidates)} are available"
        )
    return _permuted(sorted(candidates), seed)[:subset_size]


def list_images(folder: Path) -> list[Path]:
    """The .jpg/.jpeg/.png files of `folder`, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: image folder does not exist")
    images = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not images:
        raise DatasetError(f"{folder}: no .jpg, .jpeg or .png images")
    return images


# -- list files ---------------------------------------------------------------------------


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write via a temp file beside `path`, so a crash never leaves a half-written list."""
    atomic.write_text(Path(path), "".join(f"{line}\n" for line in lines))


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines of `path`."""
    with open(path, encoding="utf-8") as f:
        return [(n, line.strip()) for n, line in enumerate(f, 1) if line.strip()]


def write_ids(path: Path, ids: Iterable[int]) -> None:
    _write_lines(path, (str(int(i)) for i in ids))


def read_ids(path: Path) -> list[int]:
    ids = []
    for n, text in _read_lines(path):
        try:
            ids.append(int(text))
        except ValueError:
            raise DatasetError(f"{path}: line {n} is not an image id: {text!r}") from None
    return ids


def write_paths(path: Path, paths: Iterable[Path]) -> None:
    lines = [str(p) for p in paths]
    for line in lines:
        if "\n" in line or "\r" in line or line != line.strip():
            raise DatasetError(f"{path}: cannot list {line!r} (newline or edge whitespace)")
    _write_lines(path, lines)


def read_paths(path: Path) -> list[Path]:
    return [Path(text) for _, text in _read_lines(path)]


# -- images -------------------------------------------------------------------------------


def check_image_file(path: Path) -> None:
    """Decode `path` fully; a truncated or corrupt image raises DatasetError."""
    if Path(path).stat().st_size == 0:
        raise DatasetError(f"{path}: empty file (0 bytes), not an image")
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a partial decode must fail, not pad with grey
    try:
        with open(path, "rb") as f, Image.open(f) as image:
            image.load()
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DatasetError(f"{path}: truncated or corrupt image ({err})") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def shard(ids: list[int], index: int, count: int) -> list[int]:
    """The `index`-th of `count` contiguous, near-equal slices of `ids` (0-based)."""
    if not 0 <= index < count:
        raise ValueError(f"shard {index} of {count}: index out of range")
    bounds = np.linspace(0, len(ids), count + 1).round().astype(int)
    return ids[bounds[index] : bounds[index + 1]]
