"""Does Caffe-style DetectionOutput (top_k 100 per class) give TF's detections? Measured.

On the 206 subset images, ssdlite_mobilenet_v2's real network outputs go through (a) the
workflow IR's exact post-processing and (b) one OpenVINO DetectionOutput with the Open Model
Zoo settings (ovflow.omz_tail: score 1e-8, top_k 100, keep_top_k 100, IoU 0.6, TF box coder
as variances 0.1/0.1/0.2/0.2, clip before NMS). Prints how many images' detections differ,
and both APs.

    .venv/bin/python perf/detection_output_diff.py
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import json
import tempfile
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
from _models import SUBSET, fp32_ir
from postprocess_speed import network_outputs

from ovflow import catalog, coco_eval, ir_files
from ovflow.anchors import parse_pipeline_config, ssd_anchors
from ovflow.detections import Detections, parse_detection_output
from ovflow.omz_tail import caffe_detection_output
from ovflow.quantize import cut_for, postprocessing_of

MODEL = "ssdlite_mobilenet_v2"
ANNOTATIONS = SUBSET / "annotations" / "instances_val2017.json"
F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def detection_output_model(anchors: np.ndarray) -> ov.Model:
    encodings = ops.parameter([1, len(anchors), 1, 4], np.float32)
    logits = ops.parameter([1, len(anchors), 91], np.float32)
    output = caffe_detection_output(encodings.output(0), logits.output(0), anchors)
    return ov.Model([output], [encodings, logits])


def same(a: Detections, b: Detections) -> bool:
    return len(a) == len(b) and bool(
        np.array_equal(a.labels, b.labels)
        and np.allclose(a.scores, b.scores, atol=1e-4)
        and np.allclose(a.boxes, b.boxes, atol=1e-4)
    )


def main() -> None:
    records = sorted(json.loads(ANNOTATIONS.read_text())["images"], key=lambda r: r["id"])
    with tempfile.TemporaryDirectory() as tmp:
        xml = fp32_ir(MODEL, Path(tmp))
        feeds = network_outputs(xml, MODEL, [SUBSET / "val2017" / r["file_name"] for r in records])
        config = (Path(tmp) / "archive" / "pipeline.config").read_text()
        anchors = ssd_anchors(parse_pipeline_config(config))
        core = ov.Core()
        caffe = core.compile_model(detection_output_model(anchors), "CPU", F32)
        ir = ir_files.read_ir(xml)
        exact_post = postprocessing_of(ir, cut_for(ir, catalog.load_model(MODEL)))
        exact = core.compile_model(exact_post, "CPU", F32)
        pairs = [
            (parse_detection_output(caffe(f)[0]), parse_detection_output(exact(f)[0]))
            for f in feeds
        ]
    ids = [r["id"] for r in records]

    def ap(which: int) -> float:
        results = [
            row
            for r, pair in zip(records, pairs, strict=True)
            for row in coco_eval.to_coco_results(r["id"], pair[which], r["width"], r["height"])
        ]
        return coco_eval.evaluate(ANNOTATIONS, results, ids)["stats"]["AP"]

    differ = sum(not same(a, b) for a, b in pairs)
    print(f"images whose detections differ, DetectionOutput vs exact: {differ} of {len(pairs)}")
    print(f"AP: DetectionOutput {ap(0):.4f}, exact (TF's post-processing) {ap(1):.4f}")


if __name__ == "__main__":
    main()
