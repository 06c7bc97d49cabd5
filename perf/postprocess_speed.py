"""Cost of the in-IR post-processing per image, and INT8 throughput with it vs the bare network.

1. Post-processing alone (the IR's subgraph after the network: decode, sigmoid, NMS, top 100),
   fed the real network outputs of ssdlite_mobilenet_v2 on COCO images, one request at a
   time in f32; median ms per image. Bar: <= 0.5 ms. Plain full NMS is shown for reference.
2. The INT8 ssd_mobilenet_v1 IR (structure archive, calibrated on person images) with its
   post-processing vs its bare network, `benchmark_app -hint throughput` in the device
   default. Bar: >= 80% of the bare network's throughput.

    .venv/bin/python perf/postprocess_speed.py [--images 50] [--duration 15]
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import openvino as ov
from _models import SUBSET, fp32_ir, int8_ir

from ovflow import catalog, coco_data, ir_files
from ovflow.benchmark import Settings, throughput_fps
from ovflow.images import load_input_tensor
from ovflow.quantize import cut_for, network_of, postprocessing_of

F32 = {"INFERENCE_PRECISION_HINT": "f32"}
LATENCY = {**F32, "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": True}


def network_outputs(xml: Path, model: str, images: list[Path]) -> list[list[np.ndarray]]:
    ir = ir_files.read_ir(xml)
    spec = catalog.load_model(model)
    network = ov.Core().compile_model(network_of(ir, cut_for(ir, spec)), "CPU", F32)
    return [list(network(load_input_tensor(p, spec.input)).values()) for p in images]


class Cost(NamedTuple):
    wall: float  # median ms per image, one synchronous request
    nodes: float  # median ms per image, sum of the CPU plugin's per-node times
    wall_mean: float
    wall_p90: float


def median_ms(xml: Path, model: str, feeds: list[list[np.ndarray]], rounds: int = 10) -> Cost:
    """Cost per image of the IR's post-processing run on its own.

    Wall: one synchronous request, inputs shared (inside the IR nothing is copied either),
    with the plugin's per-node profiling on, so if anything slightly pessimistic.
    Node: the sum of the CPU plugin's per-node times, i.e. without any per-call overhead.
    """
    ir = ir_files.read_ir(xml)
    post = postprocessing_of(ir, cut_for(ir, catalog.load_model(model)))
    request = ov.Core().compile_model(post, "CPU", LATENCY).create_infer_request()
    for feed in feeds[:5]:  # warm-up
        request.infer(feed, share_inputs=True)
    walls, nodes = [], []
    for _ in range(rounds):
        for feed in feeds:
            start = time.perf_counter()
            request.infer(feed, share_inputs=True)
            walls.append(time.perf_counter() - start)
            nodes.append(sum(p.real_time.total_seconds() for p in request.profiling_info))
    return Cost(
        statistics.median(walls) * 1e3,
        statistics.median(nodes) * 1e3,
        statistics.fmean(walls) * 1e3,
        statistics.quantiles(walls, n=10)[-1] * 1e3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--duration", type=int, default=15, help="seconds per benchmark_app run")
    args = parser.parse_args()
    images = coco_data.list_images(SUBSET / "val2017")[: args.images]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lite = "ssdlite_mobilenet_v2"
        shortcut_xml = fp32_ir(lite, work / "shortcut")
        full_xml = fp32_ir(lite, work / "full", candidate_anchors=0)
        feeds = network_outputs(shortcut_xml, lite, images)
        shortcut = median_ms(shortcut_xml, lite, feeds)
        full = median_ms(full_xml, lite, feeds)
        print(f"post-processing, {len(images)} COCO images x 10, ssdlite logits, f32, 1 request:")
        for name, cost in (("workflow IR (exact shortcut)", shortcut), ("plain full NMS", full)):
            spread = f"mean {cost.wall_mean:.3f}, p90 {cost.wall_p90:.3f}"
            print(f"  {name:29s} {cost.wall:6.3f} ms/image wall (median; {spread}), "
                  f"{cost.nodes:6.3f} ms in nodes")  # fmt: skip
        print(f"  bar <= 0.5 ms on the shortcut's median wall: "
              f"{'pass' if shortcut.wall <= 0.5 else 'FAIL'}")  # fmt: skip

        v1 = "ssd_mobilenet_v1_coco"
        int8_xml = int8_ir(v1, fp32_ir(v1, work / "v1"), work / "v1")
        bare_xml = work / "v1" / "network" / f"{v1}.xml"
        int8 = ir_files.read_ir(int8_xml)
        ir_files.save_ir(network_of(int8, cut_for(int8, catalog.load_model(v1))), bare_xml, "INT8")
        settings = Settings(duration=args.duration, modes=("throughput",))
        quiet = lambda line: None  # noqa: E731
        bare = throughput_fps(bare_xml, settings, log=quiet)
        whole = throughput_fps(int8_xml, settings, log=quiet)
    share = whole / bare
    print("INT8 ssd_mobilenet_v1 (structure archive), benchmark_app -hint throughput, default:")
    print(f"  bare network:              {bare:7.1f} FPS")
    print(f"  with post-processing (IR): {whole:7.1f} FPS")
    print(f"  share: {share:.0%} (bar >= 80%: {'pass' if share >= 0.8 else 'FAIL'})")


if __name__ == "__main__":
    main()
