"""An SSD network with the Caffe-style DetectionOutput tail that Open Model Zoo's converter gives
TF Object Detection API SSDs: the IR most users of the OMZ tutorial hold.

The settings are OMZ's (score 1e-8, top_k 100 per class, keep_top_k 100, IoU 0.6, TF's box
coder as variances 0.1/0.1/0.2/0.2, clipping before NMS). Used to measure how far that tail is
from TF's post-processing (perf/detection_output_diff.py) and to build real IR models for the
tests of the `ir` model source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openvino as ov
import openvino.opset8 as ops

OUTPUT_NAME = "detection_out"
CAFFE = {
    "background_label_id": 0,
    "top_k": 100,
    "keep_top_k": [100],
    "nms_threshold": 0.6,
    "confidence_threshold": 1e-8,
    "code_type": "caffe.PriorBoxParameter.CENTER_SIZE",
    "variance_encoded_in_target": False,
    "share_location": True,
    "clip_before_nms": True,
    "clip_after_nms": False,
    "decrease_label_id": False,
    "normalized": True,
    "input_height": 1,
    "input_width": 1,
    "objectness_score": 0.0,
}
VARIANCES = np.float32([0.1, 0.1, 0.2, 0.2])


def caffe_detection_output(
    encodings: ov.Output,
    logits: ov.Output,
    anchors: np.ndarray,
    classes: Sequence[int] | None = None,
) -> ov.Node:
    """DetectionOutput [1, 1, 100, 7] on TF box encodings [1, N, 1, 4] (ty, tx, th, tw) and
    class logits [1, N, C] (column 0 background), anchors [N, 4] (ymin, xmin, ymax, xmax).
    `classes`: the logit columns kept (background first); output label i is the i-th of them."""
    n = len(anchors)
    # TF codes are (ty, tx, th, tw) scaled 10/10/5/5; DetectionOutput wants (x, y, w, h) / variance.
    codes = ops.gather(ops.reshape(encodings, [1, n, 4], False), np.int64([1, 0, 3, 2]), 2)
    if classes is not None:
        logits = ops.gather(logits, np.int64(list(classes)), 2).output(0)
    n_classes = logits.get_partial_shape()[2].get_length()
    priors = np.stack([anchors[:, [1, 0, 3, 2]].reshape(-1), np.tile(VARIANCES, n)])[None]
    return ops.detection_output(
        ops.reshape(codes, [1, n * 4], False),
        ops.reshape(ops.sigmoid(logits), [1, n * n_classes], False),
        ops.constant(priors.astype(np.float32)),
        CAFFE,
    )


def with_caffe_tail(
    network: ov.Model, anchors: np.ndarray, classes: Sequence[int] | None = None
) -> ov.Model:
    """`network` (image → box encodings, class logits) ending in the Caffe-style tail."""
    encodings, logits = (result.input_value(0) for result in network.get_results())
    output = caffe_detection_output(encodings, logits, anchors, classes)
    output.output(0).get_tensor().set_names({OUTPUT_NAME})
    model = ov.Model([output], network.get_parameters(), network.get_friendly_name())
    model.validate_nodes_and_infer_types()
    return model
