"""draw_detections on a real COCO image: boxes land where they should and nowhere else."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from availability import needs
from PIL import Image

from conftest import SUBSET
from ovflow.detections import Detections
from ovflow.draw import JPEG_QUALITY, class_color, draw_detections

IMAGE = SUBSET / "val2017" / "000000000139.jpg"  # 640 x 426
LABELS = {1: "person", 62: "chair"}
THRESHOLD = 0.5
SHOWN = (0.10, 0.30, 0.40, 0.80)  # person 0.87: drawn
HIDDEN = (0.60, 0.60, 0.90, 0.90)  # chair 0.10: below THRESHOLD
# JPEG blocks (16 px with chroma subsampling) near a drawn pixel change; beyond this they don't.
MARGIN = 32


def _dets(*rows: tuple[int, float, tuple[float, float, float, float]]) -> Detections:
    return Detections(
        labels=np.array([r[0] for r in rows], dtype=np.int64),
        scores=np.array([r[1] for r in rows], dtype=np.float32),
        boxes=np.array([r[2] for r in rows], dtype=np.float32).reshape(-1, 4),
    )


TWO = _dets((1, 0.87, SHOWN), (62, 0.10, HIDDEN))


def _pixels(path_or_bytes: Path | bytes) -> np.ndarray:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(source) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """The original merely re-encoded the same way: what undrawn regions must equal."""
    with Image.open(IMAGE) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return _pixels(buffer.getvalue())


def _draw(tmp_path: Path, dets: Detections = TWO, **kwargs) -> np.ndarray:
    out = tmp_path / "out.jpg"
    draw_detections(IMAGE, dets, LABELS, out, kwargs.pop("score_threshold", THRESHOLD), **kwargs)
    return _pixels(out)


def _px(box: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[int, ...]:
    width, height = size
    return (
        round(box[0] * width),
        round(box[1] * height),
        round(box[2] * width),
        round(box[3] * height),
    )


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@needs(SUBSET)
def test_output_is_a_jpeg_of_the_input_size(tmp_path: Path) -> None:
    out = tmp_path / "out.jpg"
    draw_detections(IMAGE, TWO, LABELS, out, THRESHOLD)
    with Image.open(out) as drawn, Image.open(IMAGE) as original:
        assert drawn.format == "JPEG"
        assert drawn.size == original.size
        assert drawn.mode == "RGB"


@needs(SUBSET)
def test_box_outline_is_drawn_in_the_class_color(tmp_path: Path, reference: np.ndarray) -> None:
    drawn = _draw(tmp_path)
    height, width = reference.shape[:2]
    x0, y0, _, y1 = _px(SHOWN, (width, height))
    # Left edge of the box, away from its corners and its label.
    edge = np.s_[y0 + 10 : y1 - 10, x0 : x0 + 2]
    assert _changed(drawn[edge], reference[edge]) > 40
    median = np.median(drawn[edge].reshape(-1, 3), axis=0)
    assert np.abs(median - np.array(class_color(1))).max() < 40


@needs(SUBSET)
def test_label_box_sits_above_the_box(tmp_path: Path, reference: np.ndarray) -> None:
    drawn = _draw(tmp_path)
    height, width = reference.shape[:2]
    x0, y0, _, _ = _px(SHOWN, (width, height))
    label = np.s_[y0 - 12 : y0 - 2, x0 + 2 : x0 + 40]
    assert _changed(drawn[label], reference[label]) > 40


@needs(SUBSET)
def test_far_from_boxes_is_unchanged(tmp_path: Path, reference: np.ndarray) -> None:
    drawn = _draw(tmp_path)
    height, width = reference.shape[:2]
    _, _, x1, _ = _px(SHOWN, (width, height))
    far = np.s_[:, x1 + MARGIN :]
    assert np.abs(drawn[far] - reference[far]).max() <= 1
    assert _changed(drawn, reference) > 0.5  # something was drawn at all


@needs(SUBSET)
def test_nothing_drawn_below_threshold(tmp_path: Path, reference: np.ndarray) -> None:
    height, width = reference.shape[:2]
    x0, y0, x1, y1 = _px(HIDDEN, (width, height))
    region = np.s_[y0 - MARGIN : y1, x0 - 8 : x1 + 8]
    hidden = _draw(tmp_path)
    assert np.abs(hidden[region] - reference[region]).max() <= 1
    # The same region does change once the threshold lets the chair through.
    shown = _draw(tmp_path, score_threshold=0.05)
    assert _changed(shown[region], reference[region]) > 1


@needs(SUBSET)
def test_title_strip_on_top(tmp_path: Path, reference: np.ndarray) -> None:
    drawn = _draw(tmp_path, title="INT8 ssd_mobilenet_v1_coco")
    width = reference.shape[1]
    # Right half of the top rows: only the title strip can be there.
    strip = np.s_[0:8, width // 2 :]
    assert drawn[strip].mean() < 40  # dark strip
    assert _changed(drawn[strip], reference[strip]) > 40
    untitled = _draw(tmp_path)
    assert np.abs(untitled[strip] - reference[strip]).max() <= 1


@needs(SUBSET)
def test_box_at_top_edge_keeps_label_inside(tmp_path: Path, reference: np.ndarray) -> None:
    box = (0.55, 0.0, 0.95, 0.5)
    drawn = _draw(tmp_path, _dets((1, 0.9, box)))
    height, width = reference.shape[:2]
    x0, _, _, _ = _px(box, (width, height))
    label = np.s_[4:12, x0 + 4 : x0 + 40]
    assert _changed(drawn[label], reference[label]) > 40


@needs(SUBSET)
def test_out_of_range_and_reversed_boxes_still_draw(tmp_path: Path, reference: np.ndarray) -> None:
    odd = _dets((1, 0.9, (-0.2, 1.3, 0.5, 0.4)), (62, 0.8, (0.9, 0.1, 0.7, 0.2)))
    drawn = _draw(tmp_path, odd)
    assert drawn.shape == reference.shape
    assert _changed(drawn, reference) > 0.5


@needs(SUBSET)
def test_output_is_deterministic_and_written_atomically(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "first.jpg", tmp_path / "a" / "second.jpg"
    draw_detections(IMAGE, TWO, LABELS, first, 0.05, title="FP32")
    draw_detections(IMAGE, TWO, LABELS, second, 0.05, title="FP32")
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in first.parent.iterdir()) == ["first.jpg", "second.jpg"]


def test_class_colors_are_stable_and_distinct() -> None:
    colors = [class_color(label) for label in range(1, 91)]
    # Pinned: samples drawn in another run or precision show a class in the same color.
    assert colors[:2] == [(48, 105, 242), (162, 242, 48)]
    assert len(set(colors)) == 90
    assert all(0 <= c <= 255 for color in colors for c in color)
