"""Annotated samples: one model's detections drawn over the original picture."""

from __future__ import annotations

import colorsys
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ovflow import atomic
from ovflow.detections import Detections

JPEG_QUALITY = 90
_PAD = 2
_GOLDEN_RATIO = 0.618033988749895
_TITLE_BACKGROUND = (20, 20, 20)
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)

Color = tuple[int, int, int]
Box = tuple[float, float, float, float]
# A bitmap font when Pillow lacks FreeType.
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def class_color(label: int) -> Color:
    """A bright color per class id, the same in every run and every precision.

    Golden-ratio hue steps keep neighbouring ids far apart on the color wheel.
    """
    r, g, b = colorsys.hsv_to_rgb((label * _GOLDEN_RATIO) % 1.0, 0.8, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


def draw_detections(
    image_path: Path,
    dets: Detections,
    labels: dict[int, str],
    out_path: Path,
    score_threshold: float,
    title: str | None = None,
) -> None:
    """Save `image_path` as JPEG with the detections scoring >= score_threshold drawn on it."""
    with Image.open(image_path) as source:
        # No EXIF transpose: boxes refer to the stored pixel grid, as COCO's annotations do.
        image = source.convert("RGB")
    width, height = image.size
    short_side = min(width, height)
    font = ImageFont.load_default(size=max(12, round(short_side / 28)))
    line_width = max(2, round(short_side / 200))
    draw = ImageDraw.Draw(image)
    title_height = _text_box(draw, title, font)[1] if title else 0

    kept = dets.above(score_threshold)
    # Weakest first, so the labels of the best detections end up on top.
    for i in reversed(range(len(kept))):
        label = int(kept.labels[i])
        color = class_color(label)
        box = _pixel_box(kept.boxes[i], width, height)
        draw.rectangle(box, outline=color, width=line_width)
        text = f"{labels.get(label, f'id {label}')} {kept.scores[i]:.2f}"
        _draw_label(draw, text, box, color, font, title_height, width)
    if title:
        _draw_title(draw, title, font, width, title_height)

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    atomic.write_bytes(out_path, buffer.getvalue())


def _pixel_box(box: np.ndarray, width: int, height: int) -> Box:
    x_min, y_min, x_max, y_max = (float(v) for v in np.clip(box, 0.0, 1.0))
    # Sorted so a malformed box still draws instead of making Pillow raise.
    x0, x1 = sorted((x_min * width, x_max * width))
    y0, y1 = sorted((y_min * height, y_max * height))
    return x0, y0, x1, y1


def _text_box(draw: ImageDraw.ImageDraw, text: str, font: Font) -> Box:
    """Padded width and height of `text`, and the offset that puts its glyphs inside."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left + 2 * _PAD, bottom - top + 2 * _PAD, _PAD - left, _PAD - top


def _text_color(background: Color) -> Color:
    r, g, b = background
    # Rec. 601 luma: dark text on light label boxes, white on dark ones.
    return _BLACK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else _WHITE


def _draw_label(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: Box,
    color: Color,
    font: Font,
    top_limit: float,
    width: int,
) -> None:
    w, h, dx, dy = _text_box(draw, text, font)
    # Above the box when there is room below the title strip, else just inside its top edge.
    y = box[1] - h if box[1] - h >= top_limit else box[1]
    x = max(0.0, min(box[0], width - w))
    draw.rectangle((x, y, x + w, y + h), fill=color)
    draw.text((x + dx, y + dy), text, font=font, fill=_text_color(color))


def _draw_title(
    draw: ImageDraw.ImageDraw, title: str, font: Font, width: int, height: float
) -> None:
    _, _, dx, dy = _text_box(draw, title, font)
    draw.rectangle((0, 0, width, height), fill=_TITLE_BACKGROUND)
    draw.text((dx, dy), title, font=font, fill=_WHITE)
