"""Preprocessing: TF1 bilinear resize (align_corners=False), BGR NCHW float 0..255 for the
converted IRs; OpenCV's bilinear resize, colour order, range and layout as an IR model's
catalog entry says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from availability import needs

from conftest import SUBSET
from ovflow.catalog import InputSpec
from ovflow.images import (
    ImageError,
    load_rgb,
    resize_bilinear_tf,
    to_input_tensor,
    to_model_input,
)


def test_resize_is_tf1_asymmetric_bilinear() -> None:
    # 2x2 → 4x4: source coordinate = dst * 0.5, no half-pixel shift, edge clamped.
    image = np.array([[[0], [10]], [[20], [30]]], np.uint8)
    out = resize_bilinear_tf(image, 4, 4)[:, :, 0]
    expected = np.array(
        [[0, 5, 10, 10], [10, 15, 20, 20], [20, 25, 30, 30], [20, 25, 30, 30]], np.float32
    )
    np.testing.assert_array_equal(out, expected)


@needs(SUBSET)
def test_input_tensor_is_bgr_nchw_and_bit_identical_to_the_reference() -> None:
    paths = sorted((SUBSET / "val2017").glob("*.jpg"))[:25]
    for path in paths:
        rgb = load_rgb(path)
        tensor = to_input_tensor(rgb, 300, 300)
        assert tensor.shape == (1, 3, 300, 300) and tensor.dtype == np.float32
        reference = resize_bilinear_tf(rgb, 300, 300)
        np.testing.assert_array_equal(tensor[0], reference[:, :, ::-1].transpose(2, 0, 1))


@pytest.mark.parametrize("shape", [(120, 90), (300, 300), (299, 1000), (1, 1)])
def test_input_tensor_is_bit_identical_when_upscaling_or_odd_sizes(shape) -> None:
    # Upscaling clamps the right/bottom neighbour to the last pixel; a strided view must work.
    rgb = np.random.default_rng(0).integers(0, 256, (*shape, 3), np.uint8)
    for image in (rgb, rgb[:, ::-1]):
        reference = resize_bilinear_tf(image, 300, 300)
        tensor = to_input_tensor(image, 300, 300)
        np.testing.assert_array_equal(tensor[0], reference[:, :, ::-1].transpose(2, 0, 1))


@needs(SUBSET)
def test_decoding_equals_pillow_on_every_subset_image() -> None:
    from PIL import Image

    for path in sorted((SUBSET / "val2017").glob("*.jpg")):
        with Image.open(path) as img:
            expected = np.asarray(img.convert("RGB"))
        np.testing.assert_array_equal(load_rgb(path), expected, err_msg=str(path))


@needs(SUBSET)
def test_truncated_jpeg_names_the_file(tmp_path: Path) -> None:
    source = sorted((SUBSET / "val2017").glob("*.jpg"))[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(ImageError, match=r"broken\.jpg"):
        load_rgb(broken)


def opencv_reference(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """cv2.resize INTER_LINEAR of the BGR image (as Open Model Zoo's accuracy checker does),
    as BGR planes."""
    import cv2

    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    resized = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_LINEAR)
    return resized.transpose(2, 0, 1).astype(np.float32)


@needs(SUBSET)
def test_opencv_bilinear_is_cv2_resize_bit_exactly_on_real_images() -> None:
    for path in sorted((SUBSET / "val2017").glob("*.jpg"))[:25]:
        rgb = load_rgb(path)
        for height, width in [(300, 300), (320, 544), (384, 672)]:
            tensor = to_input_tensor(rgb, height, width, "opencv_bilinear")
            np.testing.assert_array_equal(tensor[0], opencv_reference(rgb, height, width))


def test_opencv_bilinear_is_cv2_resize_bit_exactly_at_any_size() -> None:
    # Up and down, odd sizes, exact halving, a single pixel, the same size.
    rng = np.random.default_rng(0)
    sizes = [(600, 600, 300, 300), (1, 1, 300, 300), (2, 5, 7, 3), (300, 300, 300, 300)]
    sizes += [tuple(int(v) for v in rng.integers(1, 700, 4)) for _ in range(60)]
    for in_h, in_w, height, width in sizes:
        rgb = rng.integers(0, 256, (in_h, in_w, 3), np.uint8)
        tensor = to_input_tensor(rgb, height, width, "opencv_bilinear")
        np.testing.assert_array_equal(tensor[0], opencv_reference(rgb, height, width))


@needs(SUBSET)
def test_model_input_follows_the_catalog_colour_range_and_layout() -> None:
    rgb = load_rgb(sorted((SUBSET / "val2017").glob("*.jpg"))[0])
    bgr_planes = to_input_tensor(rgb, 300, 300)
    default = to_model_input(rgb, InputSpec("image_tensor", 300, 300))
    np.testing.assert_array_equal(default, bgr_planes)
    spec = InputSpec(None, 300, 300, layout="NHWC", color="RGB", range=(0.0, 1.0))
    tensor = to_model_input(rgb, spec)
    assert tensor.shape == (1, 300, 300, 3) and tensor.dtype == np.float32
    assert tensor.flags["C_CONTIGUOUS"]
    expected = bgr_planes[0][::-1].transpose(1, 2, 0) * np.float32(1 / 255)
    np.testing.assert_allclose(tensor[0], expected, rtol=0, atol=1e-7)
    signed = to_model_input(rgb, InputSpec(None, 300, 300, range=(-1.0, 1.0)))
    np.testing.assert_allclose(signed, bgr_planes * (2 / 255) - 1, rtol=0, atol=1e-6)


def test_empty_file_is_named_as_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(ImageError) as err:
        load_rgb(empty)
    assert str(err.value) == f"{empty}: empty file (0 bytes), not an image"
