"""An IR model's own IR → the workflow's FP32 IR, checked against its catalog entry.

The IR is taken as it is (its own post-processing included) after three checks: it has one
image input of the catalog's shape, a [1, 1, N, 7] detection output (rows `image_id, label,
conf, x_min, y_min, x_max, y_max`, the DetectionOutput convention), and a post-processing op
behind that output (DetectionOutput or an NMS), which quantization keeps in float. Other
outputs are dropped, so every later stage reads output 0.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import openvino as ov
from openvino.preprocess import PrePostProcessor

from .catalog import ModelSpec
from .errors import OvflowError

# Ops that end an SSD: box decoding + NMS. What follows them is bookkeeping into rows.
POSTPROCESSING_OPS = (
    "DetectionOutput",
    "NonMaxSuppression",
    "MulticlassNms",
    "MatrixNms",
    "ExperimentalDetectronDetectionOutput",
)
# DetectionOutput attributes worth recording (the others are fixed by the model's training).
_RECORDED_ATTRIBUTES = ("confidence_threshold", "nms_threshold", "top_k", "keep_top_k")


class IrSourceError(OvflowError, ValueError):
    pass


def _name(output: ov.Output) -> str:
    """The output's first tensor name (its op's friendly name if it has none)."""
    names = sorted(output.get_names()) or [output.get_node().get_friendly_name()]
    return names[0]


def _describe(output: ov.Output) -> str:
    return f"{_name(output)} {output.get_partial_shape()}"


def _is_detection_rows(output: ov.Output) -> bool:
    shape = output.get_partial_shape()
    return (
        shape.rank.is_static
        and shape.rank.get_length() == 4
        and shape[0].is_static
        and shape[0].get_length() == 1
        and shape[1].is_static
        and shape[1].get_length() == 1
        and shape[3].is_static
        and shape[3].get_length() == 7
    )


def detection_output(model: ov.Model, wanted: str | None, source: str) -> int:
    """Index of the model's [1, 1, N, 7] detection output (`wanted` names it, if given)."""
    outputs = list(model.outputs)
    listing = ", ".join(_describe(o) for o in outputs)
    if wanted:
        named = [i for i, o in enumerate(outputs) if wanted in o.get_names()]
        if not named:
            raise IrSourceError(
                f"{source}: no output named {wanted!r} (ir.output); outputs: {listing}"
            )
        index = named[0]
    else:
        rows = [i for i, o in enumerate(outputs) if _is_detection_rows(o)]
        if len(rows) > 1:
            raise IrSourceError(
                f"{source}: several [1,1,N,7] outputs; name one in the catalog's ir.output: "
                f"{listing}"
            )
        index = rows[0] if rows else 0
    if not _is_detection_rows(outputs[index]):
        raise IrSourceError(
            f"{source}: no recognisable detection output: expected [1,1,N,7] rows "
            f"(image_id, label, conf, x_min, y_min, x_max, y_max); outputs: {listing}"
        )
    return index


def postprocessing_op(output: ov.Output, source: str) -> ov.Node:
    """The DetectionOutput or NMS op nearest upstream of `output`."""
    seen = set()
    queue = deque([output.get_node()])
    while queue:
        node = queue.popleft()
        if node.get_type_name() in POSTPROCESSING_OPS:
            return node
        for value in node.input_values():
            producer = value.get_node()
            if producer.get_friendly_name() not in seen:
                seen.add(producer.get_friendly_name())
                queue.append(producer)
    raise IrSourceError(
        f"{source}: no recognisable detection output: {_describe(output)} is not computed by "
        f"any of {', '.join(POSTPROCESSING_OPS)}"
    )


def _input(model: ov.Model, spec: ModelSpec, source: str) -> ov.Model:
    """`model` with its one image input checked (name, shape) and fed as f32."""
    params = model.get_parameters()
    where = f"models.{spec.name}.input"
    if len(params) != 1:
        names = ", ".join(p.get_friendly_name() for p in params)
        raise IrSourceError(f"{source}: {len(params)} inputs ({names}); ovflow feeds one image")
    param = params[0]
    names = {param.get_friendly_name(), *param.output(0).get_names()}
    if spec.input.name and spec.input.name not in names:
        raise IrSourceError(
            f"{source}: input is {sorted(names)}, not {spec.input.name!r} ({where}.name)"
        )
    expected = ov.PartialShape(spec.input.shape)
    shape = param.get_partial_shape()
    if shape.is_dynamic and shape.compatible(expected):
        model.reshape({param.output(0): expected})
    elif shape != expected:
        raise IrSourceError(
            f"{source}: input shape {shape}, but {where} says {spec.input.layout} "
            f"{spec.input.shape}"
        )
    if param.get_element_type() != ov.Type.f32:
        # Images are prepared as float32; a Convert inside the IR takes them to its type.
        ppp = PrePostProcessor(model)
        ppp.input().tensor().set_element_type(ov.Type.f32)
        model = ppp.build()
    return model


def take_over(xml: Path, bin_file: Path, spec: ModelSpec) -> tuple[ov.Model, dict[str, Any]]:
    """The FP32 IR of an IR model, and the record of what was checked (conversion.yaml)."""
    try:
        model = ov.Core().read_model(str(xml), str(bin_file))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IrSourceError(f"{xml}: not a readable IR ({first})") from None
    # Faults are the catalog's file's, not of its checked copy: name that one.
    source = spec.ir.xml.location  # a path or a URL, as the catalog gives it
    params = model.get_parameters()
    given_type = params[0].get_element_type().get_type_name() if params else None
    index = detection_output(model, spec.ir.output, source)
    output = model.outputs[index]
    op = postprocessing_op(output, source)
    dropped = [_describe(o) for i, o in enumerate(model.outputs) if i != index]
    model = ov.Model([model.get_results()[index]], model.get_parameters(), spec.name)
    model = _input(model, spec, source)
    model.validate_nodes_and_infer_types()

    attributes = op.get_attributes()
    param = model.get_parameters()[0]
    info = {
        "source": "ir",
        "model": spec.name,
        "files": {
            key: {"location": f.location, "sha256": f.sha256}
            for key, f in (("xml", spec.ir.xml), ("bin", spec.ir.bin))
        },
        "input": {
            "name": param.get_friendly_name(),
            "shape": list(param.get_partial_shape().to_shape()),
            "element_type": given_type,
        },
        "detection_output": {
            "name": _name(output),
            "shape": list(model.outputs[0].get_partial_shape().to_shape()),
            "op": {
                "type": op.get_type_name(),
                "name": op.get_friendly_name(),
                **{k: _plain(attributes[k]) for k in _RECORDED_ATTRIBUTES if k in attributes},
            },
        },
        "outputs_dropped": dropped,
        "preprocessing": spec.input.record(),
        "postprocessing": (
            f"the IR's own ({op.get_type_name()} {op.get_friendly_name()!r}), kept in float "
            "by quantization; postprocess.score_threshold does not apply"
        ),
    }
    return model, info


def _plain(value: Any) -> Any:
    """An op attribute as a YAML-friendly value (float32 attributes to 7 digits: 1e-08, not
    9.99999993922529e-09)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    value = value.item() if hasattr(value, "item") else value
    return float(f"{value:.7g}") if isinstance(value, float) else value
