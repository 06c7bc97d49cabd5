"""Preprocessing contract: TF1 bilinear resize (align_corners=False), BGR NCHW float 0..255."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SUBSET
from ovflow.images import ImageError, load_rgb, resize_bilinear_tf, to_input_tensor


def test_resize_is_tf1_asymmetric_bilinear() -> None:
    # 2x2 → 4x4: source coordinate = dst * 0.5, no half-pixel shift, edge clamped.
    image = np.array([[[0], [10]], [[20], [30]]], np.uint8)
    out = resize_bilinear_tf(image, 4, 4)[:, :, 0]
    expected = np.array(
        [[0, 5, 10, 10], [10, 15, 20, 20], [20, 25, 30, 30], [20, 25, 30, 30]], np.float32
    )
    np.testing.assert_array_equal(out, expected)


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


def test_decoding_equals_pillow_on_every_subset_image() -> None:
    from PIL import Image

    for path in sorted((SUBSET / "val2017").glob("*.jpg")):
        with Image.open(path) as img:
            expected = np.asarray(img.convert("RGB"))
        np.testing.assert_array_equal(load_rgb(path), expected, err_msg=str(path))


def test_truncated_jpeg_names_the_file(tmp_path: Path) -> None:
    source = sorted((SUBSET / "val2017").glob("*.jpg"))[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(ImageError, match=r"broken\.jpg"):
        load_rgb(broken)


def test_empty_file_is_named_as_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(ImageError) as err:
        load_rgb(empty)
    assert str(err.value) == f"{empty}: empty file (0 bytes), not an image"
