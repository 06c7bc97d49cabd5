"""Frozen TF Object Detection API SSD graph → OpenVINO IR with the Open Model Zoo interface.

OpenVINO's TensorFlow frontend reads the frozen graph without TensorFlow. The
converted graph still holds the TF1 while-loop preprocessor and a 90-way NMS
loop, which make it ~8x slower than the network. We keep only the network:

* input: a new `image_tensor` Parameter [1, 3, H, W], BGR, float 0..255, spliced
  in where the preprocessing loop ended (after the resize, before x*2/255-1,
  which stays in the graph);
* output: box encodings and class logits, decoded and suppressed by a small
  post-processing subgraph built here (names prefixed `postprocess/`), giving
  [1, 1, 100, 7] rows `image_id, label, conf, x_min, y_min, x_max, y_max`,
  unused rows with image_id -1 (the DetectionOutput convention).

What is assumed about the graph (friendly names after conversion) is listed in
the catalog's `conversion:` section; a graph without one of them fails with a
message naming the node.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops

from .catalog import ConversionSpec, ModelSpec

POSTPROCESS_PREFIX = "postprocess/"
OUTPUT_NAME = "detection_out"


class ConversionError(RuntimeError):
    pass


def _find(model: ov.Model, name: str, what: str, source: Path) -> ov.Node:
    for op in model.get_ops():
        if op.get_friendly_name() == name:
            return op
    raise ConversionError(
        f"{source}: expected node {name!r} ({what}) not found; "
        "is this a TF Object Detection API SSD frozen graph?"
    )


def _anchors(network_param: ov.op.Parameter, anchors_out: ov.Output) -> np.ndarray:
    """Evaluate the graph's own anchors (ymin, xmin, ymax, xmax), shape [N, 4]."""
    probe = ov.Model([anchors_out], [network_param], "anchors")
    compiled = ov.Core().compile_model(probe, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    shape = tuple(network_param.get_partial_shape().to_shape())
    value = compiled(np.zeros(shape, np.float32))[0]
    return np.asarray(value, np.float32).reshape(-1, 4)


def _name(node: ov.Node, name: str) -> ov.Node:
    node.set_friendly_name(POSTPROCESS_PREFIX + name)
    return node


def _decode_boxes(encodings: ov.Output, anchors: np.ndarray, scales) -> ov.Node:
    """Faster R-CNN box coder decode: (ty, tx, th, tw) + anchors → corner boxes."""
    ha = anchors[:, 2] - anchors[:, 0]
    wa = anchors[:, 3] - anchors[:, 1]
    yca = anchors[:, 0] + ha / 2
    xca = anchors[:, 1] + wa / 2
    sy, sx, sh, sw = scales
    codes = _name(ops.reshape(encodings, [-1, 4], special_zero=False), "codes")

    def column(i: int, label: str) -> ov.Node:
        return _name(ops.gather(codes, np.int64(i), np.int64(1)), label)

    def const(values: np.ndarray) -> ov.Node:
        return ops.constant(values.astype(np.float32))

    yc = ops.add(ops.multiply(ops.divide(column(0, "ty"), np.float32(sy)), const(ha)), const(yca))
    xc = ops.add(ops.multiply(ops.divide(column(1, "tx"), np.float32(sx)), const(wa)), const(xca))
    h = ops.multiply(ops.exp(ops.divide(column(2, "th"), np.float32(sh))), const(ha))
    w = ops.multiply(ops.exp(ops.divide(column(3, "tw"), np.float32(sw))), const(wa))
    half_h = ops.divide(h, np.float32(2))
    half_w = ops.divide(w, np.float32(2))
    corners = [
        ops.subtract(yc, half_h),
        ops.subtract(xc, half_w),
        ops.add(yc, half_h),
        ops.add(xc, half_w),
    ]
    for node, label in zip(corners, ("ymin", "xmin", "ymax", "xmax"), strict=True):
        _name(node, label)
    stacked = ops.concat([ops.unsqueeze(c, np.int64(1)) for c in corners], axis=1)
    return _name(ops.clamp(stacked, 0.0, 1.0), "boxes")


def _postprocess(
    encodings: ov.Output, logits: ov.Output, anchors: np.ndarray, spec: ConversionSpec
) -> ov.Node:
    """Decoded boxes + sigmoid scores → per-class NMS → best `max_total_detections` rows."""
    boxes = _decode_boxes(encodings, anchors, spec.box_coder_scales)  # [N, 4]
    num_anchors = anchors.shape[0]
    scores = _name(ops.sigmoid(logits), "scores")  # [1, N, 91], column 0 = background
    scores = ops.slice(scores, np.int64([1]), np.int64([2**31]), np.int64([1]), np.int64([2]))
    scores = _name(ops.transpose(scores, np.int64([0, 2, 1])), "class_scores")  # [1, 90, N]
    nms = ops.non_max_suppression(
        _name(ops.reshape(boxes, np.int64([1, num_anchors, 4]), False), "nms_boxes"),
        scores,
        max_output_boxes_per_class=np.int64(spec.max_detections_per_class),
        iou_threshold=np.float32(spec.nms_iou_threshold),
        score_threshold=np.float32(spec.nms_score_threshold),
        box_encoding="corner",
        sort_result_descending=False,
        output_type="i64",
    )
    _name(nms, "nms")
    selected, selected_scores = nms.output(0), nms.output(1)  # [M, 3] (batch, class, box)
    score = ops.gather(selected_scores, np.int64(2), np.int64(1))  # [M]
    count = ops.shape_of(score, "i64")
    k = ops.minimum(count, np.int64([spec.max_total_detections]))
    # Stable, so equal scores keep NMS order (class-major), as TF's sort does.
    top = ops.topk(score, ops.squeeze(k, np.int64(0)), 0, "max", "value", "i64", stable=True)
    _name(top, "top")
    top_scores, order = top.output(0), top.output(1)
    chosen = ops.gather(selected, order, np.int64(0))  # [k, 3]
    label = ops.add(ops.gather(chosen, np.int64(1), np.int64(1)), np.int64(1))
    box_index = ops.gather(chosen, np.int64(2), np.int64(1))
    picked = ops.gather(boxes, box_index, np.int64(0))  # [k, 4] ymin, xmin, ymax, xmax
    xyxy = ops.gather(picked, np.int64([1, 0, 3, 2]), np.int64(1))
    rows = ops.concat(
        [
            ops.unsqueeze(ops.multiply(top_scores, np.float32(0)), np.int64(1)),  # image_id 0
            ops.unsqueeze(ops.convert(label, "f32"), np.int64(1)),
            ops.unsqueeze(top_scores, np.int64(1)),
            xyxy,
        ],
        axis=1,
    )
    n = spec.max_total_detections
    padding = np.zeros((n, 7), np.float32)
    padding[:, 0] = -1
    padded = ops.concat([rows, ops.constant(padding)], axis=0)
    first_n = ops.slice(padded, np.int64([0]), np.int64([n]), np.int64([1]), np.int64([0]))
    return _name(ops.reshape(first_n, np.int64([1, 1, n, 7]), False), "detection_out")


def convert(graph: Path, model: ModelSpec) -> ov.Model:
    """Convert `frozen_inference_graph.pb` to an ov.Model with the OMZ SSD interface."""
    spec = model.conversion
    full = ov.convert_model(str(graph))
    preprocessed = _find(full, spec.preprocessed_image, "end of the resize loop", graph)
    encodings = _find(full, spec.box_encodings, "box encodings [1, N, 1, 4]", graph)
    logits = _find(full, spec.class_logits, "class logits [1, N, 91]", graph)
    anchors_node = _find(full, spec.anchors, "anchors [1, N, 4]", graph)

    image = ops.parameter([1, 3, model.input_height, model.input_width], np.float32)
    image.set_friendly_name(model.input_name)
    image.output(0).get_tensor().set_names({model.input_name})
    # BGR NCHW (OMZ interface) → the RGB NHWC the TF network was trained on.
    rgb = ops.gather(image, np.int64([2, 1, 0]), np.int64(1), name="input/bgr_to_rgb")
    nhwc = ops.transpose(rgb, np.int64([0, 2, 3, 1]), name="input/to_nhwc")
    preprocessed.output(0).replace(nhwc.output(0))

    anchors = _anchors(image, anchors_node.output(0))
    n_boxes = encodings.output(0).get_partial_shape()[1]
    if n_boxes.is_static and n_boxes.get_length() != anchors.shape[0]:
        raise ConversionError(
            f"{graph}: {anchors.shape[0]} anchors but {n_boxes.get_length()} box encodings"
        )
    network_ops = {op.get_friendly_name() for op in full.get_ops()}
    detection = _postprocess(encodings.output(0), logits.output(0), anchors, spec)
    result = ops.result(detection)
    result.output(0).get_tensor().set_names({OUTPUT_NAME})
    converted = ov.Model([result], [image], model.name)
    converted.validate_nodes_and_infer_types()
    _prefix_postprocessing(converted, network_ops | {image.get_friendly_name()})
    return converted


def _prefix_postprocessing(model: ov.Model, network_ops: set[str]) -> None:
    """Give every node built here the `postprocess/` prefix, so quantization can skip them all."""
    for op in model.get_ops():
        name = op.get_friendly_name()
        if name in network_ops or name.startswith(("input/", POSTPROCESS_PREFIX)):
            continue
        if op.get_type_name() in ("Result", "Constant"):
            continue
        op.set_friendly_name(POSTPROCESS_PREFIX + name)
