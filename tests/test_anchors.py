"""pipeline.config reading and SSD anchor generation, checked against the mirror graphs' anchors."""

from __future__ import annotations

import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from availability import needs

from conftest import MIRROR
from ovflow.anchors import (
    check_anchors,
    mobilenet_feature_map_shapes,
    parse_pipeline_config,
    read_text_proto,
    ssd_anchors,
)

ARCHIVES = {
    "ssdlite_mobilenet_v2": "ssdlite_mobilenet_v2_coco_2018_05_09.tar.gz",
    "ssd_mobilenet_v1": "ssd_mobilenet_v1_coco_2018_01_28-structure.tar.gz",
}
ANCHORS_NODE = "Postprocessor/ExpandDims"
PREPROCESSED = "Preprocessor/map/TensorArrayStack/TensorArrayGatherV3"

SMALL_CONFIG = """
# A hand-written SSD config: every syntax the OD API configs use.
model {
  ssd {
    num_classes: 3  # trailing comment
    image_resizer { fixed_shape_resizer { height: 320 width: 240 } }
    anchor_generator {
      ssd_anchor_generator {
        num_layers: 4
        min_scale: 0.25
        max_scale: 0.9
        aspect_ratios: 1.0
        aspect_ratios: 2
        aspect_ratios: 0.5
        reduce_boxes_in_lowest_layer: false
        base_anchor_height: 0.5
      }
    }
    box_coder: {
      faster_rcnn_box_coder { y_scale: 8.0 x_scale: 8.0 height_scale: 4.0 width_scale: 4.0 }
    }
    feature_extractor {
      type: 'ssd_mobilenet_v1'
      conv_hyperparams {
        activation: RELU_6,
        batch_norm { train: true, scale: true, epsilon: 0.001, }
      }
    }
    post_processing {
      batch_non_max_suppression {
        score_threshold: 1e-3
        iou_threshold: 0.5
        max_detections_per_class: 20
        max_total_detections: 50
      }
      score_converter: SIGMOID
    }
  }
}
train_config: {
  fine_tune_checkpoint: "PATH/with # no comment/model.ckpt"
}
"""


def _graph_anchors(pb: Path) -> np.ndarray:
    """The graph's own anchors, as `ovflow.convert` reads them: a constant (ssdlite) or computed
    from the preprocessed image's shape (v1), evaluated on a static 300x300 input."""
    import openvino as ov
    import openvino.opset13 as ops

    model = ov.convert_model(str(pb))
    nodes = {op.get_friendly_name(): op for op in model.get_ops()}
    anchors = nodes[ANCHORS_NODE]
    if anchors.get_type_name() == "Constant":
        return np.asarray(anchors.data, np.float32).reshape(-1, 4)
    image = ops.parameter([1, 300, 300, 3], np.float32)
    nodes[PREPROCESSED].output(0).replace(image.output(0))
    probe = ov.Model([anchors.output(0)], [image], "anchors")
    compiled = ov.Core().compile_model(probe, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    value = compiled(np.zeros((1, 300, 300, 3), np.float32))[0]
    return np.asarray(value, np.float32).reshape(-1, 4)


def _pipeline_config(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/pipeline.config"))
        return tar.extractfile(member).read().decode()


@pytest.fixture(scope="module", params=sorted(ARCHIVES))
def mirror_model(request, tmp_path_factory) -> tuple[str, str, np.ndarray]:
    """(name, pipeline.config text, graph anchors) per archive, extracted and converted once."""
    archive = MIRROR / ARCHIVES[request.param]
    target = tmp_path_factory.mktemp(request.param)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    (pb,) = target.glob("*/frozen_inference_graph.pb")
    config = (pb.parent / "pipeline.config").read_text()
    return request.param, config, _graph_anchors(pb)


@needs(MIRROR)
@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_mirror_pipeline_config_values(name):
    facts = parse_pipeline_config(_pipeline_config(MIRROR / ARCHIVES[name]))
    assert (facts.num_classes, facts.image_height, facts.image_width) == (90, 300, 300)
    assert facts.box_coder_scales == (10.0, 10.0, 5.0, 5.0)
    assert facts.score_converter == "SIGMOID"
    assert (facts.score_threshold, facts.iou_threshold) == (1e-8, 0.6)
    assert (facts.max_detections_per_class, facts.max_total_detections) == (100, 100)
    assert (facts.num_layers, facts.min_scale, facts.max_scale) == (6, 0.2, 0.95)
    assert facts.aspect_ratios == (1.0, 2.0, 0.5, 3.0, 0.3333)
    # ssdlite leaves it to the proto default (true), v1 says so.
    assert facts.reduce_boxes_in_lowest_layer is True
    assert facts.interpolated_scale_aspect_ratio == 1.0
    assert facts.scales == facts.height_stride == facts.height_offset == ()


@needs(MIRROR)
def test_mobilenet_feature_maps_and_anchor_count():
    assert mobilenet_feature_map_shapes(300, 300, 6) == [
        (19, 19),
        (10, 10),
        (5, 5),
        (3, 3),
        (2, 2),
        (1, 1),
    ]
    facts = parse_pipeline_config(_pipeline_config(MIRROR / ARCHIVES["ssd_mobilenet_v1"]))
    anchors = ssd_anchors(facts)
    # 19*19*3 in the reduced lowest layer, then 6 anchors per cell.
    assert anchors.shape == (19 * 19 * 3 + 6 * (100 + 25 + 9 + 4 + 1), 4) == (1917, 4)
    assert anchors.dtype == np.float32


@pytest.mark.slow
@needs(MIRROR)
def test_config_anchors_equal_graph_anchors(mirror_model):
    name, config, graph = mirror_model
    anchors = ssd_anchors(parse_pipeline_config(config))
    # Bit-exact: both archives' graphs hold the OD API's float32 values.
    assert np.abs(anchors - graph).max() == 0.0
    check_anchors(anchors, graph[None], name, atol=0.0)


def test_parse_small_config():
    facts = parse_pipeline_config(SMALL_CONFIG)
    assert (facts.num_classes, facts.image_height, facts.image_width) == (3, 320, 240)
    assert (facts.num_layers, facts.min_scale, facts.max_scale) == (4, 0.25, 0.9)
    assert facts.aspect_ratios == (1.0, 2.0, 0.5)
    assert facts.reduce_boxes_in_lowest_layer is False
    assert (facts.base_anchor_height, facts.base_anchor_width) == (0.5, 1.0)
    assert facts.interpolated_scale_aspect_ratio == 1.0
    assert facts.box_coder_scales == (8.0, 8.0, 4.0, 4.0)
    assert (facts.score_converter, facts.score_threshold, facts.iou_threshold) == (
        "SIGMOID",
        1e-3,
        0.5,
    )
    assert (facts.max_detections_per_class, facts.max_total_detections) == (20, 50)

    tree = read_text_proto(SMALL_CONFIG)
    hyper = tree["model"]["ssd"]["feature_extractor"]["conv_hyperparams"]
    assert hyper == {
        "activation": "RELU_6",
        "batch_norm": {"train": True, "scale": True, "epsilon": 0.001},
    }
    assert tree["train_config"]["fine_tune_checkpoint"] == "PATH/with # no comment/model.ckpt"


def test_small_config_anchors():
    facts = parse_pipeline_config(SMALL_CONFIG)
    shapes = mobilenet_feature_map_shapes(320, 240, 4)
    assert shapes == [(20, 15), (10, 8), (5, 4), (3, 2)]
    anchors = ssd_anchors(facts)
    assert anchors.shape == (sum(h * w for h, w in shapes) * 4, 4)
    # Lowest layer, first cell: scale 0.25 at ratios 1, 2, 0.5, then sqrt(0.25 * next scale).
    next_scale = np.float32(0.25) + (np.float32(0.9) - np.float32(0.25)) / 3
    side = np.float32(240) / np.float32(320)  # base anchor height shrunk along the long side
    heights = np.float32([0.25, 0.25 / 2**0.5, 0.25 * 2**0.5, (0.25 * next_scale) ** 0.5])
    widths = np.float32([0.25, 0.25 * 2**0.5, 0.25 / 2**0.5, (0.25 * next_scale) ** 0.5])
    center = np.float32([0.5 / 20, 0.5 / 15])
    expected = np.concatenate(
        [
            center - np.stack([heights * 0.5 * side, widths], 1) / 2,
            center + np.stack([heights * 0.5 * side, widths], 1) / 2,
        ],
        axis=1,
    )
    np.testing.assert_allclose(anchors[:4], expected, atol=1e-6)


def test_explicit_scales_strides_and_offsets():
    facts = parse_pipeline_config(SMALL_CONFIG)
    computed = ssd_anchors(facts)
    listed = replace(facts, scales=(0.25, 0.25 + 0.65 / 3, 0.25 + 1.3 / 3, 0.9))
    np.testing.assert_allclose(ssd_anchors(listed), computed, atol=1e-6)
    # Strides and offsets in pixels: the first centre of the lowest layer is at (offset / size).
    pixels = replace(
        facts,
        height_stride=(16, 32, 64, 107),
        width_stride=(16, 30, 60, 120),
        height_offset=(0, 0, 0, 0),
        width_offset=(8, 15, 30, 60),
    )
    first = ssd_anchors(pixels)[0]
    np.testing.assert_allclose((first[:2] + first[2:]) / 2, [0.0, 8 / 240], atol=1e-7)
    with pytest.raises(ValueError, match="3 height_stride and 4 width_stride for 4 layers"):
        ssd_anchors(replace(pixels, height_stride=(16, 32, 64)))


@pytest.mark.parametrize(
    ("old", "new", "missing"),
    [
        ("ssd_anchor_generator {", "multiscale_anchor_generator {", "ssd_anchor_generator"),
        ("fixed_shape_resizer {", "keep_aspect_ratio_resizer {", "fixed_shape_resizer"),
        ("anchor_generator {", "anchor_generator_unused {", "ssd_anchor_generator"),
    ],
)
def test_missing_block_is_named(old, new, missing):
    with pytest.raises(ValueError, match=f"has no model.ssd.*{missing}") as error:
        parse_pipeline_config(SMALL_CONFIG.replace(old, new))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model { ssd { num_classes: 3 }", "line 1: unexpected end"),
        ("a: 1\nb { c: }", "line 2: expected a value"),
        ("a\n{ b: 1 } }", "line 2: expected a field name"),
    ],
)
def test_syntax_errors_give_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        read_text_proto(text)


def test_wrong_value_type():
    text = SMALL_CONFIG.replace("num_layers: 4", "num_layers: 4.5")
    with pytest.raises(ValueError, match=r"num_layers should be int, got 4\.5"):
        parse_pipeline_config(text)


def test_check_anchors_mismatch():
    anchors = ssd_anchors(parse_pipeline_config(SMALL_CONFIG))
    check_anchors(anchors, anchors + 1e-6, "model.pb")
    moved = anchors.copy()
    moved[7, 2] += 0.01
    with pytest.raises(ValueError, match=r"model\.pb: .* up to 0\.01 > 1e-05, worst at anchor 7 "):
        check_anchors(anchors, moved, "model.pb")
    with pytest.raises(ValueError, match=r"model\.pb: 100 anchors from pipeline\.config but 99 "):
        check_anchors(anchors[:100], anchors[:99], "model.pb")
    broken = moved.copy()
    broken[3, 0] = np.nan
    with pytest.raises(ValueError, match="worst at anchor 3 "):
        check_anchors(anchors, broken, "model.pb")
