"""Run a detection IR over many images with OpenVINO's asynchronous API.

Decoding and resizing of the next images overlap with inference of the
current ones: a thread pool prepares a bounded number of inputs ahead while
the infer requests run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import openvino as ov
from tqdm import tqdm

from .catalog import InputSpec
from .detections import Detections, parse_detection_output
from .images import load_input_tensor


def compile_ir(
    xml: Path, device: str = "CPU", precision_hint: str | None = None, hint: str = "THROUGHPUT"
) -> ov.CompiledModel:
    config: dict[str, str] = {"PERFORMANCE_HINT": hint}
    if precision_hint:
        config["INFERENCE_PRECISION_HINT"] = precision_hint
    return ov.Core().compile_model(str(xml), device, config)


def prepared(
    items: Iterable, load: Callable[[object], np.ndarray], workers: int, ahead: int
) -> Iterator[np.ndarray]:
    """load(item) for each item, in order, computed in a pool at most `ahead` items early.

    Bounded so that a slow consumer (e.g. FP32 inference) never holds thousands of decoded
    images (~1 MB each) in memory.
    """
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future] = deque()
        for item in items:
            pending.append(pool.submit(load, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def detect_all(
    compiled: ov.CompiledModel,
    paths: Iterable[Path],
    preprocessing: InputSpec,
    progress: bool = True,
    decode_workers: int = 2,
) -> list[Detections]:
    """Detections for every image, in input order.

    Infer requests run asynchronously, round robin: an image's request is started as soon
    as it is decoded, and its result read when that request comes round again. Twice the
    plugin's optimal number of requests, so a stream never idles while its next request
    waits for the main thread (with exactly the optimal number, 2 on this machine, inference
    alone reached 85% of benchmark_app's rate; with twice as many, ~100%). No Python callback
    runs on OpenVINO's threads (with AsyncInferQueue callbacks the process could abort or
    hang at exit).
    """
    paths = list(paths)
    count = 2 * int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    requests = [compiled.create_infer_request() for _ in range(count)]
    # The image each request is working on, and its input: shared with the request, not
    # copied, so it must stay alive until the request is collected.
    running: list[tuple[int, np.ndarray] | None] = [None] * count
    results: list[Detections | None] = [None] * len(paths)
    bar = tqdm(total=len(paths), unit="img", disable=not progress, mininterval=1.0)

    def collect(slot: int) -> None:
        if running[slot] is None:
            return
        index, _ = running[slot]
        requests[slot].wait()
        results[index] = parse_detection_output(requests[slot].get_output_tensor(0).data)
        running[slot] = None
        bar.update(1)

    def load(path: Path) -> np.ndarray:
        return load_input_tensor(path, preprocessing)

    tensors = prepared(paths, load, decode_workers, ahead=2 * (decode_workers + count))
    for index, tensor in enumerate(tensors):
        slot = index % count
        collect(slot)
        requests[slot].start_async({0: tensor}, share_inputs=True)
        running[slot] = (index, tensor)
    for slot in range(count):
        collect(slot)
    bar.close()
    return results  # type: ignore[return-value]


def detect_one(compiled: ov.CompiledModel, path: Path, preprocessing: InputSpec) -> Detections:
    raw = compiled(load_input_tensor(path, preprocessing))[0]
    return parse_detection_output(raw)
