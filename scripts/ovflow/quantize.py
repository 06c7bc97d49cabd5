"""FP32 IR → INT8 IR with NNCF post-training quantization.

Only the network is quantized. The post-processing (box decoding, sigmoid,
NMS) stays in float: quantizing it destroys the detections (AP 0.000 measured
on the whole graph). We cut the network at its two outputs, quantize that, and
connect the original post-processing subgraph to the quantized outputs.

Two modes: `default` (nncf.quantize, the tutorial's DefaultQuantization) and
`accuracy_control` (nncf.quantize_with_accuracy_control), which measures COCO AP
on a validation set and reverts the layers that hurt it most to float until the
drop is within `max_drop`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nncf
import openvino as ov
import openvino.opset13 as ops

from .catalog import ConversionSpec
from .coco_eval import Annotations, evaluate, to_coco_results
from .detections import parse_detection_output
from .images import load_input_tensor
from .inference import input_size

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
    cat_ids: list[int] | None = None


def _network_outputs(model: ov.Model, spec: ConversionSpec) -> list[ov.Output]:
    by_name = {op.get_friendly_name(): op for op in model.get_ops()}
    missing = [n for n in (spec.box_encodings, spec.class_logits) if n not in by_name]
    if missing:
        raise ValueError(f"{model.get_friendly_name()}: network outputs {missing} not in the IR")
    return [by_name[spec.box_encodings].output(0), by_name[spec.class_logits].output(0)]


def network_of(model: ov.Model, spec: ConversionSpec) -> ov.Model:
    """The network alone (image → box encodings, class logits); shares nodes with `model`."""
    outputs = _network_outputs(model, spec)
    return ov.Model(outputs, model.get_parameters(), f"{model.get_friendly_name()}_network")


def postprocessing_of(model: ov.Model, spec: ConversionSpec) -> ov.Model:
    """The post-processing alone (box encodings, class logits → rows), on a copy of `model`."""
    copy = model.clone()
    inputs = []
    for output in _network_outputs(copy, spec):
        param = ops.parameter(output.get_partial_shape(), output.get_element_type())
        for target in list(output.get_target_inputs()):
            target.replace_source_output(param.output(0))
        inputs.append(param)
    return ov.Model(copy.get_results(), inputs, f"{model.get_friendly_name()}_postprocessing")


def _attach(model: ov.Model, spec: ConversionSpec, quantized_network: ov.Model) -> ov.Model:
    """A copy of `model`'s post-processing fed by the quantized network's outputs."""
    model = model.clone()
    for original, new in zip(_network_outputs(model, spec), quantized_network.outputs, strict=True):
        for target in list(original.get_target_inputs()):
            if target.get_node().get_type_name() != "Result":
                target.replace_source_output(new.get_node().input_value(0))
    result = ov.Model(
        model.get_results(), quantized_network.get_parameters(), model.get_friendly_name()
    )
    result.validate_nodes_and_infer_types()
    return result


def _dataset(items: Iterable, model: ov.Model, path_of=lambda item: item) -> nncf.Dataset:
    height, width = input_size(model)
    return nncf.Dataset(list(items), lambda item: load_input_tensor(path_of(item), height, width))


def quantize(
    model: ov.Model, spec: ConversionSpec, images: list[Path], preset: str = "performance"
) -> ov.Model:
    """INT8 model calibrated on all of `images` (the caller picks the subset)."""
    network = network_of(model, spec)
    quantized = nncf.quantize(
        network, _dataset(images, model), preset=PRESETS[preset], subset_size=len(images)
    )
    return _attach(model, spec, quantized)


def _coco_ap_function(model: ov.Model, spec: ConversionSpec, validation: ValidationSet):
    """validation_fn for NNCF: COCO AP of a compiled network plus the float post-processing."""
    post = ov.Core().compile_model(postprocessing_of(model, spec), "CPU", F32)
    input_h, input_w = input_size(model)

    def coco_ap(compiled_network: ov.CompiledModel, items: Iterable[int]) -> tuple[float, None]:
        results = []
        for index in items:
            tensor = load_input_tensor(validation.images[index], input_h, input_w)
            outputs = compiled_network(tensor)
            raw = post([outputs[0], outputs[1]])[0]
            width, height = validation.sizes[index]
            results += to_coco_results(
                validation.image_ids[index], parse_detection_output(raw), width, height
            )
        ids = [validation.image_ids[i] for i in items]
        stats = evaluate(validation.annotations, results, ids, validation.cat_ids)["stats"]
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
    spec: ConversionSpec,
    images: list[Path],
    validation: ValidationSet,
    max_drop: float,
    preset: str = "performance",
) -> tuple[ov.Model, list[str]]:
    """INT8 model whose validation COCO AP is within `max_drop` (absolute) of FP32's, and
    NNCF's log lines about the drop and the layers it kept in float."""
    network = network_of(model, spec)
    indices = list(range(len(validation.images)))
    collector = _RevertedLayers()
    logger = logging.getLogger("nncf")
    logger.addHandler(collector)
    try:
        quantized = nncf.quantize_with_accuracy_control(
            network,
            _dataset(images, model),
            _dataset(indices, model, lambda i: validation.images[i]),
            _coco_ap_function(model, spec, validation),
            max_drop=max_drop,
            drop_type=nncf.DropType.ABSOLUTE,
            preset=PRESETS[preset],
            subset_size=len(images),
        )
    finally:
        logger.removeHandler(collector)
    return _attach(model, spec, quantized), collector.lines


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


def ap_of(model: ov.Model, validation: ValidationSet, spec: ConversionSpec) -> float:
    """COCO AP of a whole IR (network + post-processing) on the validation set."""
    compiled = ov.Core().compile_model(network_of(model, spec), "CPU", F32)
    return _coco_ap_function(model, spec, validation)(compiled, range(len(validation.images)))[0]
