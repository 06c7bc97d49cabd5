"""AP and post-processing cost of ssdlite_mobilenet_v2 at several `postprocess.score_threshold`s.

For each threshold: the workflow's FP32 IR built with it, COCO AP on the 206-image subset
(f32, the accuracy rule's path), and the post-processing's median cost per image (as in
postprocess_speed.py).

    .venv/bin/python perf/score_threshold.py [--thresholds 1e-8 1e-3 1e-2]
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import argparse
import json
import tempfile
from pathlib import Path

from _models import SUBSET, fp32_ir
from postprocess_speed import median_ms, network_outputs

from ovflow import catalog, coco_eval, inference

MODEL = "ssdlite_mobilenet_v2"
ANNOTATIONS = SUBSET / "annotations" / "instances_val2017.json"


def coco_ap(xml: Path) -> float:
    records = sorted(json.loads(ANNOTATIONS.read_text())["images"], key=lambda r: r["id"])
    paths = [SUBSET / "val2017" / r["file_name"] for r in records]
    compiled = inference.compile_ir(xml, "CPU", "f32")
    detections = inference.detect_all(compiled, paths, catalog.load_model(MODEL).input, False)
    results = [
        row
        for r, d in zip(records, detections, strict=True)
        for row in coco_eval.to_coco_results(r["id"], d, r["width"], r["height"])
    ]
    return coco_eval.evaluate(ANNOTATIONS, results, [r["id"] for r in records])["stats"]["AP"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[1e-8, 1e-3, 1e-2])
    args = parser.parse_args()
    print("| score_threshold | AP (206 images) | post-processing ms/image (wall / in nodes) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        feeds = None
        for threshold in args.thresholds:
            xml = fp32_ir(MODEL, Path(tmp) / str(threshold), score_threshold=threshold)
            if feeds is None:
                images = sorted((SUBSET / "val2017").glob("*.jpg"))[:50]
                feeds = network_outputs(xml, MODEL, images)
            wall, nodes, *_ = median_ms(xml, MODEL, feeds)
            print(f"| {threshold:g} | {coco_ap(xml):.4f} | {wall:.3f} / {nodes:.3f} |")


if __name__ == "__main__":
    main()
