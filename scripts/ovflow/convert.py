"""Frozen TF Object Detection API SSD graph → OpenVINO IR with the Open Model Zoo interface.

OpenVINO's TensorFlow frontend reads the frozen graph without TensorFlow. The
converted graph still holds the TF1 while-loop preprocessor and a 90-way NMS
loop, which make it ~8x slower than the network. We keep only the network:

* input: a new `image_tensor` Parameter [1, 3, H, W], BGR, float 0..255, spliced
  in where the preprocessing loop ended (after the resize, before x*2/255-1,
  which stays in the graph);
* output: box encodings and class logits, decoded and suppressed by the
  post-processing subgraph of `postprocess.py`, giving [1, 1, 100, 7] rows
  `image_id, label, conf, x_min, y_min, x_max, y_max`, unused rows with
  image_id -1 (the DetectionOutput convention).

What is assumed about the graph (friendly names after conversion) is listed in
the catalog's `conversion:` section; a graph without one of them fails with a
message naming the node. What conversion decided (the archive, the post-processing settings
and where the score threshold came from, the anchor check) is returned as a record, kept
beside the FP32 IR for the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import openvino.opset13 as ops

from .anchors import ANCHOR_ATOL, PipelineFacts, check_anchors, parse_pipeline_config, ssd_anchors
from .catalog import InputSpec, ModelSpec
from .errors import OvflowError
from .postprocess import PostprocessSettings, detection_output

OUTPUT_NAME = "detection_out"


class ConversionError(OvflowError, RuntimeError):
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


def postprocess_settings(
    facts: PipelineFacts,
    score_threshold: float | None = None,
    candidate_anchors: int = PostprocessSettings.candidate_anchors,
) -> PostprocessSettings:
    """The model's own post-processing (pipeline.config); `score_threshold` overrides its own."""
    if facts.score_converter != "SIGMOID":
        raise ConversionError(f"score_converter {facts.score_converter}: only SIGMOID is supported")
    return PostprocessSettings(
        box_coder_scales=facts.box_coder_scales,
        iou_threshold=facts.iou_threshold,
        score_threshold=facts.score_threshold if score_threshold is None else score_threshold,
        max_per_class=facts.max_detections_per_class,
        max_total=facts.max_total_detections,
        candidate_anchors=candidate_anchors,
    )


GRAPH_FILE = "frozen_inference_graph.pb"
PIPELINE_FILE = "pipeline.config"
# Where the score threshold in effect came from: the config key that overrides the model's own.
OWN_THRESHOLD, CONFIGURED_THRESHOLD = PIPELINE_FILE, "postprocess.score_threshold"


@dataclass(frozen=True)
class Converted:
    model: ov.Model
    record: dict[str, Any]  # what conversion decided (Paths.conversion_info)


def convert(
    archive_dir: Path,
    model: ModelSpec,
    score_threshold: float | None = None,
    candidate_anchors: int = PostprocessSettings.candidate_anchors,
) -> Converted:
    """The model archive's folder (frozen graph + pipeline.config) → ov.Model with the OMZ
    interface, and the record of what was decided on the way."""
    spec = model.conversion
    graph = archive_dir / GRAPH_FILE
    facts = parse_pipeline_config((archive_dir / PIPELINE_FILE).read_text())
    if (facts.image_height, facts.image_width) != (model.input.height, model.input.width):
        raise ConversionError(
            f"{archive_dir / PIPELINE_FILE}: input {facts.image_height}x{facts.image_width}, "
            f"catalog says {model.input.height}x{model.input.width}"
        )
    wanted = replace(model.input, name=None)
    if wanted != InputSpec(None, model.input.height, model.input.width):
        raise ConversionError(
            f"models.{model.name}.input: conversion makes a BGR NCHW input of values 0..255 "
            f"resized with tf1_bilinear, not {model.input.record()}"
        )
    settings = postprocess_settings(facts, score_threshold, candidate_anchors)
    full = ov.convert_model(str(graph))
    preprocessed = _find(full, spec.preprocessed_image, "end of the resize loop", graph)
    encodings = _find(full, spec.box_encodings, "box encodings [1, N, 1, 4]", graph)
    logits = _find(full, spec.class_logits, "class logits [1, N, 91]", graph)
    anchors_node = _find(full, spec.anchors, "anchors [1, N, 4]", graph)

    image = ops.parameter([1, 3, model.input.height, model.input.width], np.float32)
    image.set_friendly_name(model.input.name)
    image.output(0).get_tensor().set_names({model.input.name})
    # BGR NCHW (OMZ interface) → the RGB NHWC the TF network was trained on.
    rgb = ops.gather(image, np.int64([2, 1, 0]), np.int64(1), name="input/bgr_to_rgb")
    nhwc = ops.transpose(rgb, np.int64([0, 2, 3, 1]), name="input/to_nhwc")
    preprocessed.output(0).replace(nhwc.output(0))

    # Propagate the static input shape through the network before building on it.
    ov.Model([encodings.output(0), logits.output(0)], [image]).validate_nodes_and_infer_types()
    # Anchors from pipeline.config, held against the graph's own before use.
    anchors = ssd_anchors(facts)
    try:
        difference = check_anchors(anchors, _anchors(image, anchors_node.output(0)), str(graph))
    except ValueError as exc:
        raise ConversionError(str(exc)) from exc
    n_boxes = encodings.output(0).get_partial_shape()[1]
    if n_boxes.get_length() != anchors.shape[0]:
        raise ConversionError(
            f"{graph}: {anchors.shape[0]} anchors but {n_boxes.get_length()} box encodings"
        )
    detection = detection_output(encodings.output(0), logits.output(0), anchors, settings)
    result = ops.result(detection)
    result.output(0).get_tensor().set_names({OUTPUT_NAME})
    converted = ov.Model([result], [image], model.name)
    converted.validate_nodes_and_infer_types()
    archive = model.archive
    record = {
        "source": "archive",
        "archive": {"url": archive.url, "name": archive.name, "sha256": archive.sha256},
        "postprocess": {
            **asdict(settings),
            "box_coder_scales": list(settings.box_coder_scales),  # YAML has no tuples
            "score_threshold_source": (
                OWN_THRESHOLD if score_threshold is None else CONFIGURED_THRESHOLD
            ),
        },
        "anchor_check": {
            "anchors": int(anchors.shape[0]),
            "max_difference": difference,
            "tolerance": ANCHOR_ATOL,
            "result": "the anchors from pipeline.config match the graph's",
        },
    }
    return Converted(converted, record)
