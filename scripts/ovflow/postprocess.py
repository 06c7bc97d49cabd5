"""The TF Object Detection API's SSD post-processing as an OpenVINO subgraph.

Box decoding (Faster R-CNN coder), sigmoid scores, per-class greedy NMS and the
best `max_total_detections` overall, emitted as DetectionOutput-style rows
[1, 1, n, 7]: `image_id, label, conf, x_min, y_min, x_max, y_max`, unused rows
with image_id -1.

Speed: nearly every one of the 90 x N (class, box) scores passes the 1e-8
threshold, so plain per-class NMS sorts and suppresses ~170k candidates per
image (~7 ms on this machine). Exact shortcut: take the A anchors whose best
class scores highest and run NMS on them alone, with the A-th anchor's best
score t as score threshold. Every (class, box) pair scoring above t is among
them, and a pair's survival depends only on higher-scoring boxes of its own
class, so the survivors above t are exactly full NMS's survivors above t. If
the n-th of them still scores above t, these n are full NMS's n best, and the
result is exact; otherwise an `If` falls back to full NMS. On the 206 COCO
images of the test set, A = 512 takes the shortcut on every image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import openvino as ov
import openvino.opset13 as ops


@dataclass(frozen=True)
class PostprocessSettings:
    box_coder_scales: tuple[float, float, float, float]
    iou_threshold: float
    score_threshold: float
    max_per_class: int
    max_total: int
    # Anchors kept for the exact shortcut (see module doc); 0 runs full NMS only.
    candidate_anchors: int = 512


def decode_boxes(encodings: ov.Output, anchors: np.ndarray, scales) -> ov.Node:
    """(ty, tx, th, tw) codes + anchors (ymin, xmin, ymax, xmax) → boxes (x_min, y_min,
    x_max, y_max) clipped to [0, 1].

    Same arithmetic as the TF box coder: center = t / scale * anchor_size + anchor_center,
    size = exp(t / scale) * anchor_size, corners = center -/+ size / 2. Emitted x first,
    the output rows' order; NMS's IoU is symmetric in x and y, so it takes them as they are.
    All on [N, 4] (x, y, x, y) columns, so one fused elementwise kernel, no concat.
    """
    xy = [1, 0, 1, 0]
    size = np.tile(anchors[:, [3, 2]] - anchors[:, [1, 0]], 2).astype(np.float32)  # wa, ha
    center = (anchors[:, xy] + size / 2).astype(np.float32)  # xca, yca
    codes = ops.divide(
        ops.reshape(encodings, np.int64([-1, 4]), special_zero=False),
        np.asarray(scales, np.float32),
    )
    shift = ops.gather(codes, np.int64(xy), np.int64(1))  # tx, ty, tx, ty
    scale = ops.gather(codes, np.int64([3, 2, 3, 2]), np.int64(1))  # tw, th, tw, th
    centers = ops.add(ops.multiply(shift, size), center)
    half = ops.divide(ops.multiply(ops.exp(scale), size), np.float32(2))
    # center - half, center + half: adding -half is the same IEEE operation as subtracting.
    corners = ops.add(centers, ops.multiply(half, np.float32([[-1, -1, 1, 1]])))
    return ops.clamp(corners, 0.0, 1.0, name="boxes")


def _nms(
    boxes: ov.Output, scores: ov.Output, settings: PostprocessSettings, score_threshold=None
) -> tuple[ov.Output, ov.Output]:
    """Per-class greedy NMS: the best `max_total` picks (batch, class, box) and their
    (batch, class, score), as static [max_total, 3] tensors. Missing picks are padded with
    class -1, box index len(boxes) and score -1.

    NMS sorts by score, ties by class then box index (the CPU plugin's order): TF's too, as
    its NMS takes the lower box index first and its final sort is stable over class-major
    results. So the first n rows are the answer, with no sort of our own. Padding to a
    static shape at once keeps the rest of the graph small: every node after the NMS costs
    ~2 us of shape handling per image, whatever its size.
    """
    threshold = settings.score_threshold if score_threshold is None else score_threshold
    nms = ops.non_max_suppression(
        boxes,
        scores,
        max_output_boxes_per_class=np.int64(settings.max_per_class),
        iou_threshold=np.float32(settings.iou_threshold),
        score_threshold=np.float32(threshold) if isinstance(threshold, float) else threshold,
        box_encoding="corner",
        sort_result_descending=True,
        output_type="i64",
    )
    n = settings.max_total
    no_box = _output(boxes).get_partial_shape()[1].get_length()
    picks = ops.concat([nms.output(0), np.tile(np.int64([0, -1, no_box]), (n, 1))], axis=0)
    picks = _first(picks, n)
    scores = ops.concat([nms.output(1), np.tile(np.float32([0, 0, -1]), (n, 1))], axis=0)
    return picks.output(0), _first(scores, n).output(0)


def _first(value: ov.Node, n: int) -> ov.Node:
    return ops.slice(value, np.int64([0]), np.int64([n]), np.int64([1]), np.int64([0]))


def _class_scores(logits: ov.Output) -> ov.Node:
    """Sigmoid scores [1, C, M] without the background column, from logits [1, M, C+1]."""
    scores = ops.transpose(ops.sigmoid(logits), np.int64([0, 2, 1]))
    return ops.slice(scores, np.int64([1]), np.int64([2**31]), np.int64([1]), np.int64([1]))


def _full_rows(boxes: ov.Output, logits: ov.Output, settings: PostprocessSettings) -> ov.Node:
    picks, scores = _nms(ops.unsqueeze(boxes, np.int64(0)), _class_scores(logits), settings)
    return _rows(picks, scores, boxes)


def _best_anchors(logits: ov.Output, count: int) -> ov.Output:
    """Indices of the `count` anchors with the best non-background logit, in index order.

    Index order keeps NMS's tie-breaking (lower box index first) that of full NMS.
    """
    background = np.zeros((1, 1, logits.get_partial_shape()[2].get_length()), np.float32)
    background[..., 0] = -np.inf  # masks column 0 without a (slow) slice
    best = ops.reduce_max(ops.add(logits, background), np.int64([0, 2]), keep_dims=False)
    return ops.topk(best, np.int64(count), 0, "max", "index", "i64").output(1)


def _shortcut(
    boxes: ov.Output, logits: ov.Output, settings: PostprocessSettings
) -> tuple[ov.Node, ov.Node]:
    """Rows from NMS over the best anchors, and whether they are provably exact.

    The candidates' boxes are gathered from the boxes full NMS uses, not decoded again:
    a decode of fewer boxes may round differently (by an ulp), and NMS must see the same
    boxes for the shortcut to be exact.
    """
    index = _best_anchors(logits, settings.candidate_anchors)
    # GatherND, not Gather: the CPU plugin moves a Sigmoid that follows a Gather up above
    # it, which would run it on all anchors' logits (3.7x the work).
    candidates = ops.gather_nd(
        logits, ops.unsqueeze(ops.unsqueeze(index, np.int64(0)), np.int64(2)), 1
    )
    scores = _class_scores(candidates)  # [1, C, A]
    # t: the worst kept anchor's best score, from the same sigmoid as every other score.
    t = ops.reduce_min(ops.reduce_max(scores, np.int64(1)), np.int64([0, 1]))
    floor = np.float32(settings.score_threshold)
    candidate_boxes = ops.gather(boxes, index, np.int64(0))
    picks, picked_scores = _nms(
        ops.unsqueeze(candidate_boxes, np.int64(0)),
        scores,
        settings,
        score_threshold=ops.maximum(t, floor),
    )
    rows = _rows(picks, picked_scores, candidate_boxes.output(0))
    last = ops.gather(picked_scores, np.int64(settings.max_total - 1), np.int64(0))
    nth_score = ops.gather(last, np.int64(2), np.int64(0))  # -1 if fewer than max_total
    exact = ops.logical_or(ops.greater(nth_score, t), ops.less_equal(t, floor))
    return rows, exact


def _select_rows(boxes: ov.Output, logits: ov.Output, settings: PostprocessSettings) -> ov.Output:
    """The final rows: the shortcut where provably exact, else full NMS (through an If)."""
    total = logits.get_partial_shape()[1].get_length()
    if not 0 < settings.candidate_anchors < total:
        return _full_rows(boxes, logits, settings).output(0)
    rows, exact = _shortcut(boxes, logits, settings)
    choice = ops.if_op(exact.output(0))
    kept = ops.parameter(rows.get_output_partial_shape(0), np.float32)
    choice.set_then_body(ov.Model([ops.result(kept)], [kept]))
    inner_boxes = ops.parameter(boxes.get_partial_shape(), np.float32)
    inner_logits = ops.parameter(logits.get_partial_shape(), np.float32)
    full = _full_rows(inner_boxes.output(0), inner_logits.output(0), settings)
    choice.set_else_body(ov.Model([ops.result(full)], [inner_boxes, inner_logits]))
    choice.set_input(rows.output(0), kept, None)
    choice.set_input(boxes, None, inner_boxes)
    choice.set_input(logits, None, inner_logits)
    output = choice.set_output(
        choice.get_then_body().get_results()[0], choice.get_else_body().get_results()[0]
    )
    choice.set_friendly_name("nms_shortcut_or_full")
    return output


def _rows(picks: ov.Output, scores: ov.Output, boxes: ov.Output) -> ov.Node:
    """[n, 7] rows from `_nms`'s padded picks: padding becomes image_id -1 and zeros."""
    column = np.int64(1)
    score = ops.gather(scores, np.int64([2]), column)
    label = ops.convert(ops.gather(picks, np.int64([1]), column), "f32")
    # A padding box index is out of range, and Gather gives zeros for those (Gather-8 spec).
    box = ops.gather(boxes, ops.gather(picks, np.int64(2), column), np.int64(0))
    image_id = ops.minimum(score, np.float32(0))  # 0 (scores are > 0), or -1 for padding
    return ops.concat(
        [image_id, ops.add(label, np.float32(1)), ops.maximum(score, np.float32(0)), box], 1
    )


def _output(value: ov.Output | ov.Node) -> ov.Output:
    return value.output(0) if isinstance(value, ov.Node) else value


def detection_output(
    encodings: ov.Output, logits: ov.Output, anchors: np.ndarray, settings: PostprocessSettings
) -> ov.Node:
    """Box encodings [1, N, 1, 4] + class logits [1, N, C+1] (column 0 background) → rows."""
    boxes = decode_boxes(_output(encodings), anchors, settings.box_coder_scales)  # [N, 4]
    rows = _select_rows(boxes.output(0), _output(logits), settings)
    return ops.reshape(rows, np.int64([1, 1, settings.max_total, 7]), False, name="detection_out")
