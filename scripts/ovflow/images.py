"""Image decoding and the preprocessing each IR expects (its catalog `input:`).

The TF1 Object Detection API graphs resize the decoded RGB image with
`tf.image.resize_bilinear(align_corners=False)` (no half-pixel centres) and
feed floats on to the network. We reproduce that resize exactly, outside the
IR, so the converted IR's input is the OMZ `image_tensor` [1, 3, H, W] BGR float 0..255.

Open Model Zoo's accuracy configs for Intel's IRs resize with OpenCV instead:
`cv2.resize(INTER_LINEAR)` on the uint8 image (half-pixel centres, 11-bit fixed-point
weights, rounded back to uint8). `opencv_bilinear` reproduces that bit-exactly
(tests/test_images.py holds it against cv2). Colour order, layout and value range
follow the catalog entry.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numba
import numpy as np
import simplejpeg
from PIL import Image, ImageFile

from ovflow.catalog import InputSpec
from ovflow.errors import OvflowError

# A truncated JPEG must fail loudly, not decode into grey rows.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(OvflowError, ValueError):
    pass


def load_rgb(path: Path) -> np.ndarray:
    """Decode an image file to uint8 RGB [H, W, 3]; a corrupt file raises ImageError.

    JPEGs go through simplejpeg (libjpeg-turbo, the same pixels as Pillow, ~30% faster);
    anything it declines (PNG, CMYK, a damaged file) through Pillow, which names the problem.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc})") from exc
    if not data:
        raise ImageError(f"{path}: empty file (0 bytes), not an image")
    if simplejpeg.is_jpeg(data):
        with contextlib.suppress(ValueError):
            return simplejpeg.decode_jpeg(data, colorspace="RGB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{path}: truncated or corrupt image ({exc})") from exc


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Asymmetric mapping (TF1 align_corners=False, half_pixel_centers=False).
    src = np.arange(n_out, dtype=np.float32) * np.float32(n_in / n_out)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize_bilinear_tf(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of [H, W, C] to float32 [height, width, C], TF1 semantics."""
    y0, y1, dy = _axis_weights(image.shape[0], height)
    x0, x1, dx = _axis_weights(image.shape[1], width)
    img = image.astype(np.float32, copy=False)
    top = img[y0]
    bottom = img[y1]
    dx = dx[None, :, None]
    top = top[:, x0] + (top[:, x1] - top[:, x0]) * dx
    bottom = bottom[:, x0] + (bottom[:, x1] - bottom[:, x0]) * dx
    return top + (bottom - top) * dy[:, None, None]


@numba.njit(nogil=True, cache=True)
def _resize_into_bgr_planes(
    rgb: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    dy: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    dx: np.ndarray,
    out: np.ndarray,
) -> None:
    """`resize_bilinear_tf`'s arithmetic, same order (so bit-identical), per output pixel.

    Compiled because the vectorised numpy form makes ~14 passes over the image (gathers,
    casts, temporaries) and cost ~1.5 ms per COCO image, as much CPU as INT8 inference
    itself; this loop takes ~0.6 ms. nogil: the evaluator runs it in worker threads.
    """
    for y in range(y0.shape[0]):
        upper = rgb[y0[y]]
        lower = rgb[y1[y]]
        fy = dy[y]
        for x in range(x0.shape[0]):
            left = x0[x]
            right = x1[x]
            fx = dx[x]
            for c in range(3):
                top_left = np.float32(upper[left, c])
                top = top_left + (np.float32(upper[right, c]) - top_left) * fx
                bottom_left = np.float32(lower[left, c])
                bottom = bottom_left + (np.float32(lower[right, c]) - bottom_left) * fx
                out[2 - c, y, x] = top + (bottom - top) * fy  # RGB → BGR planes


# OpenCV's INTER_LINEAR on uint8: weights in 11-bit fixed point (INTER_RESIZE_COEF_BITS).
_CV_COEF_SCALE = np.float32(2048)


def _opencv_axis(n_in: int, n_out: int, clamp: bool) -> tuple[np.ndarray, ...]:
    """cv::resize's source index and fixed-point weights along one axis (half-pixel centres).

    Along x (`clamp`) a source position outside the image takes the edge pixel with weight 1;
    along y only the rows are clamped and the weights kept, as OpenCV does.
    """
    scale = 1.0 / (n_out / n_in)  # cv::resize: scale_x = 1. / inv_scale_x, in double
    pos = ((np.arange(n_out) + 0.5) * scale - 0.5).astype(np.float32)
    lo = np.floor(pos).astype(np.int64)
    frac = (pos - lo).astype(np.float32)
    if clamp:
        low, high = lo < 0, lo >= n_in - 1
        frac[low | high] = 0
        lo[low] = 0
        lo[high] = n_in - 1
    w0 = np.rint((np.float32(1) - frac) * _CV_COEF_SCALE).astype(np.int64)
    w1 = np.rint(frac * _CV_COEF_SCALE).astype(np.int64)
    return np.clip(lo, 0, n_in - 1), np.clip(lo + 1, 0, n_in - 1), w0, w1


@numba.njit(nogil=True, cache=True)
def _resize_opencv_into_bgr_planes(
    rgb: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    wy0: np.ndarray,
    wy1: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    wx0: np.ndarray,
    wx1: np.ndarray,
    out: np.ndarray,
) -> None:
    """cv::resize INTER_LINEAR of uint8, per output pixel: an exact integer horizontal pass,
    then the vertical pass as OpenCV's SIMD code does it (VResizeLinearVec_32s8u: each row
    >> 4, multiplied keeping the high 16 bits, summed, rounded >> 2, saturated to uint8)."""
    for y in range(y0.shape[0]):
        upper = rgb[y0[y]]
        lower = rgb[y1[y]]
        b0 = wy0[y]
        b1 = wy1[y]
        for x in range(x0.shape[0]):
            left = x0[x]
            right = x1[x]
            a0 = wx0[x]
            a1 = wx1[x]
            for c in range(3):
                top = np.int64(upper[left, c]) * a0 + np.int64(upper[right, c]) * a1
                bottom = np.int64(lower[left, c]) * a0 + np.int64(lower[right, c]) * a1
                value = ((((top >> 4) * b0) >> 16) + (((bottom >> 4) * b1) >> 16) + 2) >> 2
                out[2 - c, y, x] = min(max(value, 0), 255)  # RGB → BGR planes


def to_input_tensor(
    rgb: np.ndarray, height: int, width: int, resize: str = "tf1_bilinear"
) -> np.ndarray:
    """uint8 RGB [H, W, 3] → float32 BGR [1, 3, height, width], 0..255, resized by `resize`."""
    out = np.empty((3, height, width), np.float32)
    if resize == "tf1_bilinear":
        y0, y1, dy = _axis_weights(rgb.shape[0], height)
        x0, x1, dx = _axis_weights(rgb.shape[1], width)
        _resize_into_bgr_planes(rgb, y0, y1, dy, x0, x1, dx, out)
    elif resize == "opencv_bilinear":
        rows = _opencv_axis(rgb.shape[0], height, clamp=False)
        columns = _opencv_axis(rgb.shape[1], width, clamp=True)
        _resize_opencv_into_bgr_planes(rgb, *rows, *columns, out)
    else:
        raise ValueError(f"unknown resize {resize!r}")
    return out[None]


def to_model_input(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 RGB [H, W, 3] → the input tensor `spec` describes (float32, batch of one)."""
    planes = to_input_tensor(rgb, spec.height, spec.width, spec.resize)[0]
    if spec.color == "RGB":
        planes = planes[::-1]
    low, high = spec.range
    if (low, high) != (0.0, 255.0):
        planes = planes * np.float32((high - low) / 255) + np.float32(low)
    if spec.layout == "NHWC":
        planes = planes.transpose(1, 2, 0)
    # The default (BGR NCHW 0..255) is already contiguous: no copy.
    return np.ascontiguousarray(planes)[None]


def load_input_tensor(path: Path, spec: InputSpec) -> np.ndarray:
    return to_model_input(load_rgb(path), spec)
