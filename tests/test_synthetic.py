"""The synthetic SSD (tests/synthetic.py), run through the workflow's own inference and COCO
scoring: its IR has the Open Model Zoo detection interface, and its AP is the one its design
predicts, in FP32 and after INT8 quantization. No ../shared needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
import synthetic
import yaml
from PIL import Image
from snakemake.utils import validate

from conftest import REPO
from ovflow import catalog, coco_eval, inference, quantize, settings
from ovflow.coco_data import load_annotations
from ovflow.detections import Detections

Built = synthetic.Synthetic


def paths(images: synthetic.ImageSet) -> list[Path]:
    return [images.images / scene.file_name for scene in images.scenes]


def spec(built: Built) -> catalog.ModelSpec:
    """The synthetic model as the workflow reads it from its user catalog."""
    return catalog.load_model(synthetic.NAME, catalogs=[built.catalog])


def evaluate(
    xml: Path, images: synthetic.ImageSet, preprocessing: catalog.InputSpec
) -> tuple[dict, list[Detections]]:
    """COCO metrics of the IR on the set, through ovflow.inference and ovflow.coco_eval."""
    compiled = inference.compile_ir(xml, precision_hint="f32")
    dets = inference.detect_all(compiled, paths(images), preprocessing, progress=False)
    results = synthetic.coco_results(images.scenes, dets)
    ids = [scene.image_id for scene in images.scenes]
    return coco_eval.evaluate(images.annotations, results, ids), dets


@pytest.fixture(scope="module")
def fp32(synthetic_ssd: Built) -> tuple[dict, list[Detections]]:
    return evaluate(synthetic_ssd.xml, synthetic_ssd.evaluation, spec(synthetic_ssd).input)


def test_ir_has_the_detection_output_interface(synthetic_ssd: Built) -> None:
    model = ov.Core().read_model(synthetic_ssd.xml)
    (image,) = model.inputs
    assert image.get_any_name() == synthetic.INPUT
    assert list(image.get_shape()) == [1, 3, synthetic.SIZE, synthetic.SIZE]
    assert image.get_element_type() == ov.Type.f32
    (output,) = model.outputs
    assert output.get_any_name() == synthetic.OUTPUT
    assert list(output.get_shape()) == [1, 1, synthetic.KEEP_TOP_K, 7]
    types = [op.get_type_name() for op in model.get_ordered_ops()]
    assert types.count("DetectionOutput") == 1 and types.count("Convolution") == 5
    tail = output.get_node().input_value(0).get_node()
    assert tail.get_type_name() == "DetectionOutput"
    # Box codes and class scores come from the network; the priors are a constant.
    sources = [tail.input_value(i).get_node().get_type_name() for i in range(3)]
    assert sources == ["Reshape", "Reshape", "Constant"]
    n = len(synthetic.priors())
    assert list(tail.input_value(2).get_shape()) == [1, 2, n * 4]
    assert list(tail.input_value(1).get_shape()) == [1, n * (1 + len(synthetic.LABELS))]


def test_catalog_entry_is_the_agreed_ir_format(synthetic_ssd: Built) -> None:
    models = yaml.safe_load(synthetic_ssd.catalog.read_text())["models"]
    entry = models[synthetic.NAME]
    assert list(models) == [synthetic.NAME]
    assert set(entry) == {"description", "ir", "input", "label_map"}
    assert entry["input"] == {
        "name": "image",
        "height": 128,
        "width": 128,
        "layout": "NCHW",
        "color": "BGR",
        "range": [0, 255],
        "resize": "tf1_bilinear",
    }
    assert entry["ir"]["output"] == "detection_out"
    for key, suffix in (("xml", ".xml"), ("bin", ".bin")):
        # Relative to the catalog file, and the checksum of what is there.
        path = synthetic_ssd.catalog.parent / entry["ir"][key]["path"]
        assert path == synthetic_ssd.xml.with_suffix(suffix)
        assert entry["ir"][key]["sha256"] == synthetic.sha256(path)
    assert entry["label_map"] == {1: "red", 2: "green", 3: "blue"}


def test_annotations_load_and_describe_the_images(synthetic_ssd: Built) -> None:
    images = synthetic_ssd.evaluation
    data = load_annotations(images.annotations)
    assert len(data["images"]) == 30
    # The set numbers its categories otherwise than the model's labels.
    assert data["categories"] == [
        {"id": 1, "name": "blue"},
        {"id": 2, "name": "green"},
        {"id": 3, "name": "red"},
    ]
    assert len(data["annotations"]) == sum(len(s.boxes) for s in images.scenes)
    sizes = set()
    for record in data["images"]:
        with Image.open(images.images / record["file_name"]) as jpeg:
            assert jpeg.format == "JPEG"
            assert jpeg.size == (record["width"], record["height"])
        sizes.add(jpeg.size)
    assert len(sizes) == len(synthetic.SIZES)
    # Every box inside its image, on whole pixels.
    index = {r["id"]: r for r in data["images"]}
    for ann in data["annotations"]:
        x, y, w, h = ann["bbox"]
        record = index[ann["image_id"]]
        assert 0 <= x < x + w <= record["width"] and 0 <= y < y + h <= record["height"]
        assert all(float(v).is_integer() for v in ann["bbox"])


def test_fp32_ap_is_what_the_design_predicts(synthetic_ssd: Built, fp32: tuple) -> None:
    metrics, _ = fp32
    predicted = synthetic.expected_ap(synthetic_ssd.evaluation.scenes)
    assert synthetic_ssd.evaluation.expected_ap == pytest.approx(0.9076, abs=1e-4)
    stats = metrics["stats"]
    assert stats["AP"] == pytest.approx(synthetic_ssd.evaluation.expected_ap, abs=1e-9)
    # Every found box is exact: the same AP at IoU 0.5, 0.75 and over 0.5:0.95.
    assert stats["AP50"] == stats["AP75"] == stats["AP"]
    assert metrics["per_class_ap"] == pytest.approx(predicted, abs=1e-9)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    return float(inter / (np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter))


def test_objects_are_found_exactly_and_outrank_every_false_detection(
    synthetic_ssd: Built, fp32: tuple
) -> None:
    """Why the AP is predictable: each detectable object has one detection of its label at
    IoU > 0.95 (also those off their prior: the box codes move it), no false detection
    scores as high as any true one, and the small squares are missed."""
    _, dets = fp32
    priors = synthetic.priors()
    true_scores, false_scores, moved = [], [], 0
    for scene, found in zip(synthetic_ssd.evaluation.scenes, dets, strict=True):
        unmatched = list(range(len(found)))
        for box in scene.boxes:
            corners = np.array([box.x0, box.y0, box.x1, box.y1]) / synthetic.SIZE
            match = [
                i
                for i in unmatched
                if found.labels[i] == box.label and iou(found.boxes[i], corners) > 0.5
            ]
            assert len(match) == int(box.detectable), (scene.image_id, box)
            if match:
                assert iou(found.boxes[match[0]], corners) > 0.95, (scene.image_id, box)
                moved += max(iou(prior, corners) for prior in priors) < 0.8
                true_scores.append(found.scores[match[0]])
                unmatched.remove(match[0])
        false_scores += [found.scores[i] for i in unmatched]
    assert moved >= 5
    assert min(true_scores) > 0.6 and max(false_scores, default=0.0) < 0.05


def test_int8_quantization_keeps_the_ap(synthetic_ssd: Built, fp32: tuple, tmp_path: Path) -> None:
    model = ov.Core().read_model(synthetic_ssd.xml)
    model_spec = spec(synthetic_ssd)
    # The workflow's own quantization: the cut found automatically at the DetectionOutput.
    cut = quantize.cut_for(model, model_spec)
    assert cut.postprocessing_op[0] == "DetectionOutput"
    quantized = quantize.quantize(model, cut, paths(synthetic_ssd.calibration), model_spec.input)
    assert quantize.fake_quantize_count(quantized) > 0
    xml = tmp_path / "int8.xml"
    ov.save_model(quantized, xml)
    int8, _ = evaluate(xml, synthetic_ssd.evaluation, model_spec.input)
    assert int8["stats"]["AP"] == pytest.approx(fp32[0]["stats"]["AP"], abs=0.01)


def test_a_plan_whose_recall_lies_on_the_coco_grid_is_refused() -> None:
    # 9 of 10 found: recall 0.9 is one of COCO's recall points, where rounding decides.
    red = [synthetic.Box(1, 0, 0, 32, 32)] * 9 + [synthetic.Box(1, 0, 0, 16, 16)]
    others = [synthetic.Box(2, 0, 0, 32, 32), synthetic.Box(3, 0, 0, 32, 32)]
    scenes = [synthetic.Scene(1, 128, 128, 100, (*red, *others))]
    with pytest.raises(ValueError, match="red: 9 of 10 objects detectable"):
        synthetic.expected_ap(scenes)
    scenes = [synthetic.Scene(1, 128, 128, 100, (*red[:-1], red[-1], red[-1], *others))]
    assert synthetic.expected_ap(scenes)["red"] == (81 + 1) / 101  # 9 of 11: up to 0.81


def test_workflow_config_reads_only_generated_files(synthetic_ssd: Built, tmp_path: Path) -> None:
    config = synthetic.workflow_config(synthetic_ssd)
    validate(config, str(REPO / "schemas" / "config.schema.yaml"))
    settings.check(config)
    root = synthetic_ssd.xml.parent.parent
    files = [
        config["coco"]["images"],
        config["coco"]["annotations"],
        config["calibration"]["images"],
        config["calibration"]["annotations"],
        *config["catalogs"],
    ]
    assert all(Path(f).exists() and Path(f).is_relative_to(root) for f in files)
    assert "shared" not in json.dumps(config)
    assert config["calibration"]["subset_size"] == 16
    assert config["coco"]["source"] == "local" and config["mirror"] is None
