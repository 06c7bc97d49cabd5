"""FP32 IR → INT8 IR with NNCF post-training quantization.

Only the network is quantized. The post-processing (box decoding, sigmoid,
NMS) stays in float: quantizing it destroys the detections (AP 0.000 measured
on the whole graph). We cut the network at its outputs, quantize that, and
connect the original post-processing subgraph to the quantized outputs. Archive
models are cut at the two nodes their catalog entry names (box encodings, class
logits); IR models where their post-processing tail begins: the inputs of the
DetectionOutput or NMS op behind the detection output, and of every op after it.

Two modes: `default` (nncf.quantize, the tutorial's DefaultQuantization) and
`accuracy_control` (nncf.quantize_with_accuracy_control), which measures COCO AP
on a validation set and reverts the layers that hurt it most to float until the
drop is within `max_drop`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nncf
import openvino as ov
import openvino.opset13 as ops

from .catalog import ConversionSpec, InputSpec, ModelSpec
from .coco_eval import Annotations, evaluate, to_coco_results
from .detections import parse_detection_output
from .images import load_input_tensor
from .ir_source import postprocessing_op
from .labels import ClassMatch

PRESETS = {
    "performance": nncf.QuantizationPreset.PERFORMANCE,
    "mixed": nncf.QuantizationPreset.MIXED,
}
# Ops whose weights NNCF quantizes; one left without a FakeQuantize input runs in float.
WEIGHTED_OPS = ("Convolution", "GroupConvolution", "MatMul")
F32 = {"INFERENCE_PRECISION_HINT": "f32"}


@dataclass(frozen=True)
class ValidationSet:
    """Annotated images for accuracy control, disjoint from the evaluation images."""

    images: list[Path]
    image_ids: list[int]
    sizes: list[tuple[int, int]]  # (width, height) of each image
    annotations: Annotations  # indexed once (coco_eval.ground_truth): NNCF validates often
    classes: ClassMatch  # the model's labels → the set's categories, and which are scored


@dataclass(frozen=True)
class Cut:
    """Where the network ends: the tensors the float post-processing reads from it."""

    tensors: tuple[tuple[str, int], ...]  # (friendly name of the producing op, output port)
    method: str  # "catalog": the archive's named nodes; "automatic": inputs of the tail
    postprocessing_op: tuple[str, str] | None = None  # (type, name) the automatic cut found


def named_cut(spec: ConversionSpec) -> Cut:
    """An archive model's cut: the box encodings and class logits named in the catalog."""
    return Cut(((spec.box_encodings, 0), (spec.class_logits, 0)), "catalog")


def find_cut(model: ov.Model) -> Cut:
    """The inputs of the post-processing tail: the DetectionOutput or NMS op behind the model's
    detection output and every op after it; the tensors they read from outside (constants
    excepted) are where the network ends."""
    op = postprocessing_op(model.outputs[0], model.get_friendly_name())
    tail = _downstream(op)
    inside = {node.get_friendly_name() for node in tail}
    tensors: list[tuple[str, int]] = []
    for node in tail:
        for value in node.input_values():
            producer = value.get_node()
            key = (producer.get_friendly_name(), value.get_index())
            outside = key[0] not in inside and producer.get_type_name() != "Constant"
            if outside and key not in tensors:
                tensors.append(key)
    return Cut(tuple(tensors), "automatic", (op.get_type_name(), op.get_friendly_name()))


def cut_for(model: ov.Model, spec: ModelSpec) -> Cut:
    """Archive models keep the catalog's cut (where it always was); IR models are cut
    automatically."""
    return named_cut(spec.conversion) if spec.conversion is not None else find_cut(model)


def _downstream(start: ov.Node) -> list[ov.Node]:
    """`start` and every op fed by it, directly or not."""
    found = [start]
    names = {start.get_friendly_name()}
    index = 0
    while index < len(found):
        for output in found[index].outputs():
            for target in output.get_target_inputs():
                node = target.get_node()
                if node.get_friendly_name() not in names:
                    names.add(node.get_friendly_name())
                    found.append(node)
        index += 1
    return found


def _network_outputs(model: ov.Model, cut: Cut) -> list[ov.Output]:
    by_name = {op.get_friendly_name(): op for op in model.get_ops()}
    missing = [name for name, _ in cut.tensors if name not in by_name]
    if missing:
        raise ValueError(f"{model.get_friendly_name()}: network outputs {missing} not in the IR")
    return [by_name[name].output(port) for name, port in cut.tensors]


def network_of(model: ov.Model, cut: Cut) -> ov.Model:
    """The network alone (image → the cut's tensors); shares nodes with `model`."""
    outputs = _network_outputs(model, cut)
    return ov.Model(outputs, model.get_parameters(), f"{model.get_friendly_name()}_network")


def postprocessing_of(model: ov.Model, cut: Cut) -> ov.Model:
    """The post-processing alone (the cut's tensors → rows), on a copy of `model`."""
    copy = model.clone()
    inputs = []
    for output in _network_outputs(copy, cut):
        param = ops.parameter(output.get_partial_shape(), output.get_element_type())
        for target in list(output.get_target_inputs()):
            target.replace_source_output(param.output(0))
        inputs.append(param)
    return ov.Model(copy.get_results(), inputs, f"{model.get_friendly_name()}_postprocessing")


def cut_record(model: ov.Model, cut: Cut) -> dict[str, Any]:
    """Where quantization cut and what stayed in float, for quantization.yaml."""
    tail = [
        op
        for op in postprocessing_of(model, cut).get_ordered_ops()
        if op.get_type_name() not in ("Parameter", "Constant", "Result")
    ]
    record: dict[str, Any] = {
        "method": cut.method,
        "network_outputs": [f"{name}:{port}" for name, port in cut.tensors],
    }
    if cut.postprocessing_op:
        kind, name = cut.postprocessing_op
        record["postprocessing_op"] = {"type": kind, "name": name}
    record["float_ops"] = dict(sorted(Counter(op.get_type_name() for op in tail).items()))
    return record


def _attach(model: ov.Model, cut: Cut, quantized_network: ov.Model) -> ov.Model:
    """A copy of `model`'s post-processing fed by the quantized network's outputs."""
    model = model.clone()
    for original, new in zip(_network_outputs(model, cut), quantized_network.outputs, strict=True):
        for target in list(original.get_target_inputs()):
            if target.get_node().get_type_name() != "Result":
                target.replace_source_output(new.get_node().input_value(0))
    result = ov.Model(
        model.get_results(), quantized_network.get_parameters(), model.get_friendly_name()
    )
    result.validate_nodes_and_infer_types()
    return result


def _dataset(items: Iterable, preprocessing: InputSpec, path_of=lambda item: item) -> nncf.Dataset:
    return nncf.Dataset(list(items), lambda item: load_input_tensor(path_of(item), preprocessing))


def quantize(
    model: ov.Model,
    cut: Cut,
    images: list[Path],
    preprocessing: InputSpec,
    preset: str = "performance",
) -> ov.Model:
    """INT8 model calibrated on all of `images` (the caller picks the subset)."""
    network = network_of(model, cut)
    quantized = nncf.quantize(
        network, _dataset(images, preprocessing), preset=PRESETS[preset], subset_size=len(images)
    )
    return _attach(model, cut, quantized)


def _coco_ap_function(
    model: ov.Model, cut: Cut, validation: ValidationSet, preprocessing: InputSpec
):
    """validation_fn for NNCF: COCO AP of a compiled network plus the float post-processing."""
    post = ov.Core().compile_model(postprocessing_of(model, cut), "CPU", F32)

    def coco_ap(compiled_network: ov.CompiledModel, items: Iterable[int]) -> tuple[float, None]:
        results = []
        for index in items:
            tensor = load_input_tensor(validation.images[index], preprocessing)
            outputs = compiled_network(tensor)
            raw = post([outputs[i] for i in range(len(cut.tensors))])[0]
            width, height = validation.sizes[index]
            results += to_coco_results(
                validation.image_ids[index], parse_detection_output(raw), width, height
            )
        ids = [validation.image_ids[i] for i in items]
        results = validation.classes.to_set_ids(results)
        stats = evaluate(validation.annotations, results, ids, validation.classes.cat_ids)["stats"]
        return stats["AP"], None

    return coco_ap


class _RevertedLayers(logging.Handler):
    """Collects what NNCF's accuracy restorer logs about layers it reverts to float."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "revert" in message.lower() or "accuracy drop" in message.lower():
            self.lines.append(message)


def quantize_with_accuracy_control(
    model: ov.Model,
    cut: Cut,
    images: list[Path],
    validation: ValidationSet,
    max_drop: float,
    preprocessing: InputSpec,
    preset: str = "performance",
) -> tuple[ov.Model, list[str]]:
    """INT8 model whose validation COCO AP is within `max_drop` (absolute) of FP32's, and
    NNCF's log lines about the drop and the layers it kept in float."""
    network = network_of(model, cut)
    indices = list(range(len(validation.images)))
    collector = _RevertedLayers()
    logger = logging.getLogger("nncf")
    logger.addHandler(collector)
    try:
        quantized = nncf.quantize_with_accuracy_control(
            network,
            _dataset(images, preprocessing),
            _dataset(indices, preprocessing, lambda i: validation.images[i]),
            _coco_ap_function(model, cut, validation, preprocessing),
            max_drop=max_drop,
            drop_type=nncf.DropType.ABSOLUTE,
            preset=PRESETS[preset],
            subset_size=len(images),
        )
    finally:
        logger.removeHandler(collector)
    return _attach(model, cut, quantized), collector.lines


def float_layers(model: ov.Model) -> list[str]:
    """Weighted layers (convolutions, matmuls) that run in float: no FakeQuantize feeds them."""
    kept = []
    for op in model.get_ordered_ops():
        if op.get_type_name() not in WEIGHTED_OPS:
            continue
        sources = [op.input_value(i).get_node() for i in range(op.get_input_size())]
        if not any(s.get_type_name() == "FakeQuantize" for s in sources):
            kept.append(op.get_friendly_name())
    return kept


def fake_quantize_count(model: ov.Model) -> int:
    return sum(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


def ap_of(model: ov.Model, cut: Cut, validation: ValidationSet, preprocessing: InputSpec) -> float:
    """COCO AP of a whole IR (network + post-processing) on the validation set."""
    compiled = ov.Core().compile_model(network_of(model, cut), "CPU", F32)
    coco_ap = _coco_ap_function(model, cut, validation, preprocessing)
    return coco_ap(compiled, range(len(validation.images)))[0]
