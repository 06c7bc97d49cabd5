"""Evaluation speed (image file to parsed detections) vs benchmark_app on the same IR.

The INT8 ssd_mobilenet_v1 IR (structure archive; speed does not depend on its weights) runs
over the 750 person images exactly as the accuracy rule's detect step does (JPEG decode,
TF-exact resize and asynchronous inference overlapped), and benchmark_app
-hint throughput measures the same IR with the same inference precision, one after the
other. Bar: the end-to-end images/s are at least 50% of benchmark_app's frames/s.

    .venv/bin/python perf/accuracy_speed.py [--duration 15] [--precision-hint f32]
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import argparse
import tempfile
import time
from pathlib import Path

from _models import PERSON_IMAGES, fp32_ir, int8_ir

from ovflow import catalog, coco_data, inference
from ovflow.benchmark import Settings, throughput_fps

MODEL = "ssd_mobilenet_v1_coco"
BAR = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per benchmark_app run")
    parser.add_argument(
        "--precision-hint", default="f32", help="the accuracy rule's default (config inference)"
    )
    args = parser.parse_args()
    images = coco_data.list_images(PERSON_IMAGES)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        xml = int8_ir(MODEL, fp32_ir(MODEL, work), work)
        compiled = inference.compile_ir(xml, "CPU", args.precision_hint)
        start = time.perf_counter()
        inference.detect_all(compiled, images, catalog.load_model(MODEL).input, progress=False)
        rule = len(images) / (time.perf_counter() - start)
        del compiled
        settings = Settings(duration=args.duration, modes=("throughput",))
        tool = throughput_fps(xml, settings, args.precision_hint, log=lambda line: None)
    ratio = rule / tool
    print(f"INT8 {MODEL}, inference precision hint {args.precision_hint}:")
    print(f"  accuracy rule, {len(images)} person images end to end: {rule:7.1f} images/s")
    print(f"  benchmark_app -hint throughput:                  {tool:7.1f} FPS")
    print(f"  ratio: {ratio:.0%} (bar >= {BAR:.0%}: {'pass' if ratio >= BAR else 'FAIL'})")


if __name__ == "__main__":
    main()
