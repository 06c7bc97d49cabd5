"""SSD anchors and post-processing facts from a TF Object Detection API `pipeline.config`.

`parse_pipeline_config` reads the protobuf text format without protobuf or TensorFlow (a small
reader, enough for OD API configs); `ssd_anchors` recomputes the anchors the graph was built with,
following the OD API's `multiple_grid_anchor_generator.create_ssd_anchors`,
`MultipleGridAnchorGenerator._generate` and `grid_anchor_generator.tile_anchors` op by op in
float32, so that they can be checked against the graph's own (`check_anchors`).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import OvflowError


class PipelineConfigError(OvflowError, ValueError):
    """A pipeline.config that cannot be read, or anchors that disagree with it."""


_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<punct>[{}\[\]<>:,;])
    |(?P<word>[^\s{}\[\]<>:,;"'\#]+)
    """,
    re.VERBOSE,
)
_CLOSING = {"{": "}", "<": ">"}

ANCHOR_GENERATOR = "model.ssd.anchor_generator.ssd_anchor_generator"
RESIZER = "model.ssd.image_resizer.fixed_shape_resizer"
BOX_CODER = "model.ssd.box_coder.faster_rcnn_box_coder"
POST_PROCESSING = "model.ssd.post_processing"
NMS = POST_PROCESSING + ".batch_non_max_suppression"
# Anchors are float32 corners in [0, 1]: a rounding difference, nothing more, is tolerated.
ANCHOR_ATOL = 1e-5


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int


def _tokens(text: str) -> list[_Token]:
    tokens = []
    line, pos = 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise PipelineConfigError(
                f"pipeline config line {line}: cannot read {text[pos : pos + 20]!r}"
            )
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup, match.group(), line))
        line += match.group().count("\n")
        pos = match.end()
    return tokens


def _scalar(token: _Token) -> Any:
    """A scalar as Python value: str (strings and enum names), bool, int or float."""
    if token.kind == "string":
        return ast.literal_eval(token.text)
    if token.kind != "word":
        raise PipelineConfigError(
            f"pipeline config line {token.line}: expected a value, got {token.text!r}"
        )
    word = token.text
    if word in ("true", "True", "t"):
        return True
    if word in ("false", "False", "f"):
        return False
    for convert in (int, float, lambda w: float(w.rstrip("fF"))):  # "1.0f" is valid text format
        try:
            return convert(word)
        except ValueError:
            pass
    return word


class _Reader:
    """Recursive descent over the tokens; every field keeps a list of its values."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1].line if self.tokens else 1
            raise PipelineConfigError(f"pipeline config line {last}: unexpected end of text")
        self.pos += 1
        return token

    def message(self, closing: str | None) -> dict[str, Any]:
        fields: dict[str, list[Any]] = {}
        while (token := self.peek()) is not None and token.text != closing:
            if token.text in (",", ";"):  # optional field separators (`activation: RELU_6,`)
                self.pos += 1
                continue
            name = self.take()
            if name.kind != "word":
                raise PipelineConfigError(
                    f"pipeline config line {name.line}: expected a field name, got {name.text!r}"
                )
            fields.setdefault(name.text, []).extend(self.field_values())
        if closing is not None:
            self.take()  # the closing bracket, or "unexpected end" if it is missing
        return {key: values[0] if len(values) == 1 else values for key, values in fields.items()}

    def field_values(self) -> list[Any]:
        """What follows a field name: `{...}`, `: {...}`, `: value` or `: [v, ...]`."""
        has_colon = self.peek() is not None and self.peek().text == ":"
        if has_colon:
            self.pos += 1
        token = self.take()
        if token.text in _CLOSING:
            return [self.message(_CLOSING[token.text])]
        if not has_colon:
            raise PipelineConfigError(f"pipeline config line {token.line}: expected ':' or '{{'")
        if token.text != "[":
            return [_scalar(token)]
        values = []
        while (item := self.take()).text != "]":
            if item.text == ",":
                continue
            values.append(
                self.message(_CLOSING[item.text]) if item.text in _CLOSING else _scalar(item)
            )
        return values


def read_text_proto(text: str) -> dict[str, Any]:
    """Protobuf text format → nested dicts; a field given more than once becomes a list."""
    reader = _Reader(text)
    return reader.message(None)


@dataclass(frozen=True)
class PipelineFacts:
    """What conversion needs from an SSD `pipeline.config` (proto defaults where unset)."""

    num_classes: int
    image_height: int
    image_width: int
    # ssd_anchor_generator
    num_layers: int
    min_scale: float
    max_scale: float
    aspect_ratios: tuple[float, ...]
    scales: tuple[float, ...]
    interpolated_scale_aspect_ratio: float
    reduce_boxes_in_lowest_layer: bool
    base_anchor_height: float
    base_anchor_width: float
    height_stride: tuple[int, ...]
    width_stride: tuple[int, ...]
    height_offset: tuple[int, ...]
    width_offset: tuple[int, ...]
    # faster_rcnn_box_coder
    y_scale: float
    x_scale: float
    height_scale: float
    width_scale: float
    # post_processing
    score_converter: str
    score_threshold: float
    iou_threshold: float
    max_detections_per_class: int
    max_total_detections: int

    @property
    def box_coder_scales(self) -> tuple[float, float, float, float]:
        return (self.y_scale, self.x_scale, self.height_scale, self.width_scale)


def _message(tree: dict[str, Any], path: str) -> dict[str, Any]:
    node: Any = tree
    keys = path.split(".")
    for depth, key in enumerate(keys):
        node = node.get(key)
        where = ".".join(keys[: depth + 1])
        if node is None:
            detail = "" if where == path else f" (no {where})"
            raise PipelineConfigError(f"pipeline config has no {path}{detail}")
        if not isinstance(node, dict):
            raise PipelineConfigError(
                f"pipeline config: {where} must be given once, as a {{...}} block"
            )
    return node


def _typed(block: dict[str, Any], path: str, key: str, kind: type, default: Any = None) -> Any:
    value = block.get(key, default)
    if value is None:
        raise PipelineConfigError(f"pipeline config has no {path}.{key}")
    if kind is float and type(value) is int:  # "max_scale: 1" is a valid float
        value = float(value)
    if type(value) is not kind:  # not isinstance: a bool is an int
        raise PipelineConfigError(
            f"pipeline config: {path}.{key} should be {kind.__name__}, got {value!r}"
        )
    return value


def _repeated(block: dict[str, Any], path: str, key: str, kind: type) -> tuple[Any, ...]:
    values = block.get(key, [])
    values = values if isinstance(values, list) else [values]
    return tuple(_typed({key: v}, path, key, kind) for v in values)


def parse_pipeline_config(text: str) -> PipelineFacts:
    """The SSD facts of a TF Object Detection API `pipeline.config` (protobuf text format)."""
    tree = read_text_proto(text)
    ssd = _message(tree, "model.ssd")
    anchors = _message(tree, ANCHOR_GENERATOR)
    resizer = _message(tree, RESIZER)
    coder = _message(tree, BOX_CODER)
    post = _message(tree, POST_PROCESSING)
    nms = _message(tree, NMS)
    a, c, n = ANCHOR_GENERATOR, BOX_CODER, NMS
    # Defaults are those of the OD API protos (ssd_anchor_generator.proto, post_processing...).
    return PipelineFacts(
        num_classes=_typed(ssd, "model.ssd", "num_classes", int),
        image_height=_typed(resizer, RESIZER, "height", int, 300),
        image_width=_typed(resizer, RESIZER, "width", int, 300),
        num_layers=_typed(anchors, a, "num_layers", int, 6),
        min_scale=_typed(anchors, a, "min_scale", float, 0.2),
        max_scale=_typed(anchors, a, "max_scale", float, 0.95),
        aspect_ratios=_repeated(anchors, a, "aspect_ratios", float),
        scales=_repeated(anchors, a, "scales", float),
        interpolated_scale_aspect_ratio=_typed(
            anchors, a, "interpolated_scale_aspect_ratio", float, 1.0
        ),
        reduce_boxes_in_lowest_layer=_typed(anchors, a, "reduce_boxes_in_lowest_layer", bool, True),
        base_anchor_height=_typed(anchors, a, "base_anchor_height", float, 1.0),
        base_anchor_width=_typed(anchors, a, "base_anchor_width", float, 1.0),
        height_stride=_repeated(anchors, a, "height_stride", int),
        width_stride=_repeated(anchors, a, "width_stride", int),
        height_offset=_repeated(anchors, a, "height_offset", int),
        width_offset=_repeated(anchors, a, "width_offset", int),
        y_scale=_typed(coder, c, "y_scale", float, 10.0),
        x_scale=_typed(coder, c, "x_scale", float, 10.0),
        height_scale=_typed(coder, c, "height_scale", float, 5.0),
        width_scale=_typed(coder, c, "width_scale", float, 5.0),
        score_converter=_typed(post, POST_PROCESSING, "score_converter", str, "IDENTITY"),
        score_threshold=_typed(nms, n, "score_threshold", float, 0.0),
        iou_threshold=_typed(nms, n, "iou_threshold", float, 0.6),
        max_detections_per_class=_typed(nms, n, "max_detections_per_class", int, 100),
        max_total_detections=_typed(nms, n, "max_total_detections", int, 100),
    )


_Pair = tuple[np.float32, np.float32]


def _f32(value: float) -> float:
    """A proto `float` field as the OD API's Python code sees it: rounded to float32.

    It matters: with 0.2 and 0.95 taken as doubles, 30 coordinates of the 1,917 anchors
    come out one float32 ulp off the graph's."""
    return float(np.float32(value))


def mobilenet_feature_map_shapes(height: int, width: int, num_layers: int) -> list[tuple[int, int]]:
    """The SSD MobileNet (v1, v2) feature maps: output stride 16 (SAME padding rounds up),
    then one stride-2 layer each — 19, 10, 5, 3, 2, 1 for 300x300."""
    shape = (math.ceil(height / 16), math.ceil(width / 16))
    shapes = [shape]
    for _ in range(num_layers - 1):
        shape = (math.ceil(shape[0] / 2), math.ceil(shape[1] / 2))
        shapes.append(shape)
    return shapes


def _box_specs(facts: PipelineFacts) -> list[list[tuple[float, float]]]:
    """(scale, aspect ratio) per anchor per layer, as `create_ssd_anchors` (Python doubles)."""
    n = facts.num_layers
    if facts.scales and len(facts.scales) != n:
        raise PipelineConfigError(f"{len(facts.scales)} anchor scales for {n} anchor layers")
    if facts.scales:
        scales = [_f32(s) for s in facts.scales] + [1.0]
    else:
        lo, hi = _f32(facts.min_scale), _f32(facts.max_scale)
        scales = [lo + (hi - lo) * i / (n - 1) for i in range(n)] + [1.0]
    ratios = [_f32(r) for r in facts.aspect_ratios]
    interpolated_ratio = _f32(facts.interpolated_scale_aspect_ratio)
    specs = []
    for layer, scale, scale_next in zip(range(n), scales[:-1], scales[1:], strict=True):
        if layer == 0 and facts.reduce_boxes_in_lowest_layer:
            specs.append([(0.1, 1.0), (scale, 2.0), (scale, 0.5)])
            continue
        layer_specs = [(scale, ratio) for ratio in ratios]
        if interpolated_ratio > 0.0:
            layer_specs.append((float(np.sqrt(scale * scale_next)), interpolated_ratio))
        specs.append(layer_specs)
    return specs


def _pixels(
    facts: PipelineFacts, name: str, heights: tuple[int, ...], widths: tuple[int, ...]
) -> list[_Pair]:
    """Configured per-layer strides or offsets, in pixels → normalized float32 pairs."""
    n = facts.num_layers
    if len(heights) != n or len(widths) != n:
        raise PipelineConfigError(
            f"{len(heights)} height_{name} and {len(widths)} width_{name} for {n} layers"
        )
    im_h, im_w = np.float32(facts.image_height), np.float32(facts.image_width)
    return [
        (np.float32(h) / im_h, np.float32(w) / im_w) for h, w in zip(heights, widths, strict=True)
    ]


def _strides_offsets(
    facts: PipelineFacts, shapes: list[tuple[int, int]]
) -> tuple[list[_Pair], list[_Pair]]:
    """Per-layer anchor stride and offset in normalized coordinates, float32 as in the graph."""
    f32 = np.float32
    if facts.height_stride or facts.width_stride:
        strides = _pixels(facts, "stride", facts.height_stride, facts.width_stride)
    else:
        strides = [(f32(1.0) / f32(h), f32(1.0) / f32(w)) for h, w in shapes]
    if facts.height_offset or facts.width_offset:
        offsets = _pixels(facts, "offset", facts.height_offset, facts.width_offset)
    else:
        offsets = [(f32(0.5) * sy, f32(0.5) * sx) for sy, sx in strides]
    return strides, offsets


def _tile_anchors(
    grid: tuple[int, int],
    specs: list[tuple[float, float]],
    base_size: _Pair,
    stride: _Pair,
    offset: _Pair,
) -> np.ndarray:
    """`grid_anchor_generator.tile_anchors`: [H*W*A, 4] corners, ordered y, x, anchor."""
    scales = np.array([s for s, _ in specs], np.float32)
    ratio_sqrts = np.sqrt(np.array([r for _, r in specs], np.float32))
    heights = scales / ratio_sqrts * base_size[0]
    widths = scales * ratio_sqrts * base_size[1]
    y_centers = np.arange(grid[0], dtype=np.float32) * stride[0] + offset[0]
    x_centers = np.arange(grid[1], dtype=np.float32) * stride[1] + offset[1]
    shape = (grid[0], grid[1], len(specs))
    centers = np.stack(
        [
            np.broadcast_to(y_centers[:, None, None], shape),
            np.broadcast_to(x_centers[None, :, None], shape),
        ],
        axis=3,
    ).reshape(-1, 2)
    sizes = np.stack(
        [np.broadcast_to(heights, shape), np.broadcast_to(widths, shape)], axis=3
    ).reshape(-1, 2)
    half = np.float32(0.5) * sizes
    return np.concatenate([centers - half, centers + half], axis=1)


def ssd_anchors(facts: PipelineFacts) -> np.ndarray:
    """The graph's anchors, [N, 4] float32 ymin, xmin, ymax, xmax in normalized coordinates,
    on the SSD MobileNet feature maps for the config's image size."""
    shapes = mobilenet_feature_map_shapes(facts.image_height, facts.image_width, facts.num_layers)
    f32 = np.float32
    im_h, im_w = f32(facts.image_height), f32(facts.image_width)
    # _generate shrinks the base anchor along the longer image side.
    min_side = min(im_h, im_w)
    base_size = (
        min_side / im_h * f32(facts.base_anchor_height),
        min_side / im_w * f32(facts.base_anchor_width),
    )
    strides, offsets = _strides_offsets(facts, shapes)
    layers = [
        _tile_anchors(grid, specs, base_size, stride, offset)
        for grid, specs, stride, offset in zip(
            shapes, _box_specs(facts), strides, offsets, strict=True
        )
    ]
    return np.concatenate(layers, axis=0).astype(np.float32, copy=False)


def check_anchors(
    config_anchors: np.ndarray, graph_anchors: np.ndarray, source: str, atol: float = ANCHOR_ATOL
) -> float:
    """The largest difference between the config's anchors and the graph's ([N, 4] or
    [1, N, 4]); ValueError unless it is within `atol`."""
    expected = np.asarray(config_anchors, np.float32)
    actual = np.asarray(graph_anchors, np.float32)
    if expected.shape[-1:] != (4,) or actual.shape[-1:] != (4,):
        raise PipelineConfigError(
            f"{source}: anchors must be [..., 4] corners, got {expected.shape} from the config "
            f"and {actual.shape} from the graph"
        )
    expected, actual = expected.reshape(-1, 4), actual.reshape(-1, 4)
    if len(expected) != len(actual):
        raise PipelineConfigError(
            f"{source}: {len(expected)} anchors from pipeline.config but {len(actual)} in the graph"
        )
    diff = np.abs(expected - actual).max(axis=1)
    worst = int(np.argmax(diff))
    if not diff[worst] <= atol:  # `not <=` so that NaN fails too
        raise PipelineConfigError(
            f"{source}: anchors from pipeline.config differ from the graph's by up to "
            f"{diff[worst]:.3g} > {atol:g}, worst at anchor {worst} "
            f"(config {expected[worst].tolist()}, graph {actual[worst].tolist()})"
        )
    return float(diff[worst])
