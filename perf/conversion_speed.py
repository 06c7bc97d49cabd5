"""Throughput of the workflow's FP32 IR vs the whole graph converted as-is (loops included).

Both from the ssd_mobilenet_v1 structure archive (speed does not depend on its filler
weights), measured one after the other with `benchmark_app -infer_precision f32 -hint
throughput`. Bar: the workflow IR is at least 5x faster.

    .venv/bin/python perf/conversion_speed.py [--duration 15]
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import argparse
import tempfile
from pathlib import Path

import openvino as ov
from _models import archive_dir, fp32_ir

from ovflow.benchmark import Settings, throughput_fps

MODEL = "ssd_mobilenet_v1_coco"
BAR = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per benchmark_app run")
    args = parser.parse_args()
    settings = Settings(duration=args.duration, modes=("throughput",))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        whole_xml = work / "whole" / f"{MODEL}.xml"
        graph = archive_dir(MODEL, work / "whole_archive") / "frozen_inference_graph.pb"
        whole_graph = ov.convert_model(graph)
        whole_graph.reshape([1, 300, 300, 3])  # the same 300x300 image the IR is fed
        ov.save_model(whole_graph, whole_xml)
        ours_xml = fp32_ir(MODEL, work)
        quiet = lambda line: None  # noqa: E731
        whole = throughput_fps(whole_xml, settings, "f32", log=quiet)
        ours = throughput_fps(ours_xml, settings, "f32", log=quiet)
    ratio = ours / whole
    print(f"whole graph as converted (f32, throughput): {whole:8.1f} FPS")
    print(f"workflow FP32 IR         (f32, throughput): {ours:8.1f} FPS")
    print(f"ratio: {ratio:.2f}x (bar >= {BAR:.0f}x: {'pass' if ratio >= BAR else 'FAIL'})")


if __name__ == "__main__":
    main()
