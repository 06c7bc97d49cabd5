"""Conversion: the OMZ interface, faithful to the original graph, exact post-processing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
import yaml
from availability import needs

from conftest import MIRROR, SUBSET, TF_REFERENCE
from ovflow import catalog, coco_eval, postprocess
from ovflow.anchors import parse_pipeline_config, ssd_anchors
from ovflow.convert import ConversionError, Converted, convert, postprocess_settings
from ovflow.detections import Detections, parse_detection_output
from ovflow.download import extract_tar_folder
from ovflow.images import load_rgb, resize_bilinear_tf, to_input_tensor
from ovflow.quantize import named_cut, network_of

F32 = {"INFERENCE_PRECISION_HINT": "f32"}
ANNOTATIONS = SUBSET / "annotations" / "instances_val2017.json"

pytestmark = needs(MIRROR)  # every test converts an archive of the mirror


def extract(model: str, dest: Path) -> Path:
    spec = catalog.load_model(model)
    archive = next(MIRROR.glob(f"{spec.archive.folder}*.tar.gz"))
    extract_tar_folder(
        archive, spec.archive.folder, dest, ["frozen_inference_graph.pb", "pipeline.config"]
    )
    return dest


@pytest.fixture(scope="module")
def ssdlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract("ssdlite_mobilenet_v2", tmp_path_factory.mktemp("ssdlite"))


@pytest.fixture(scope="module")
def converted(ssdlite_dir: Path) -> Converted:
    return convert(ssdlite_dir, catalog.load_model("ssdlite_mobilenet_v2"))


@pytest.fixture(scope="module")
def ssdlite(converted: Converted) -> ov.Model:
    return converted.model


@pytest.fixture(scope="module")
def images() -> list[dict]:
    return sorted(json.loads(ANNOTATIONS.read_text())["images"], key=lambda r: r["id"])


def test_interface_is_open_model_zoo(ssdlite: ov.Model) -> None:
    (image,) = ssdlite.inputs
    assert image.get_any_name() == "image_tensor"
    assert list(image.get_shape()) == [1, 3, 300, 300]
    assert image.get_element_type() == ov.Type.f32
    (output,) = ssdlite.outputs
    assert output.get_any_name() == "detection_out"
    assert list(output.get_shape()) == [1, 1, 100, 7]


def test_record_says_what_conversion_decided(converted: Converted, ssdlite_dir: Path) -> None:
    """The record beside the FP32 IR, as YAML reads it back: the archive, the model's own
    post-processing from pipeline.config, and the anchor check."""
    record = yaml.safe_load(yaml.safe_dump(converted.record))
    spec = catalog.load_model("ssdlite_mobilenet_v2")
    assert record["source"] == "archive"
    assert record["archive"] == {
        "url": spec.archive.url,
        "name": spec.archive.name,
        "sha256": spec.archive.sha256,
    }
    post = record["postprocess"]
    assert (post["score_threshold"], post["score_threshold_source"]) == (1e-8, "pipeline.config")
    assert (post["iou_threshold"], post["max_per_class"], post["max_total"]) == (0.6, 100, 100)
    assert post["box_coder_scales"] == [10.0, 10.0, 5.0, 5.0]
    check = record["anchor_check"]
    assert check["anchors"] == 1917 and 0 <= check["max_difference"] <= check["tolerance"]
    chosen = convert(ssdlite_dir, spec, score_threshold=0.05).record["postprocess"]
    assert (chosen["score_threshold"], chosen["score_threshold_source"]) == (
        0.05,
        "postprocess.score_threshold",
    )


def test_no_tf_loops_left(ssdlite: ov.Model) -> None:
    types = [op.get_type_name() for op in ssdlite.get_ordered_ops()]
    assert not {"Loop", "TensorIterator"} & set(types)
    assert types.count("NonMaxSuppression") == 1 and types.count("If") == 1


def test_both_catalog_models_convert_from_their_archives(tmp_path: Path) -> None:
    model = convert(
        extract("ssd_mobilenet_v1_coco", tmp_path), catalog.load_model("ssd_mobilenet_v1_coco")
    ).model
    out = ov.Core().compile_model(model, "CPU", F32)(np.zeros((1, 3, 300, 300), np.float32))[0]
    assert out.shape == (1, 1, 100, 7)
    dets = parse_detection_output(out)
    assert set(dets.labels) <= set(range(1, 91)) and ((dets.boxes >= 0) & (dets.boxes <= 1)).all()


def test_missing_node_is_named(ssdlite_dir: Path) -> None:
    spec = catalog.load_model("ssdlite_mobilenet_v2")
    wrong = dataclasses.replace(
        spec, conversion=dataclasses.replace(spec.conversion, class_logits="concat_7")
    )
    with pytest.raises(ConversionError, match="'concat_7'"):
        convert(ssdlite_dir, wrong)


def test_anchors_that_disagree_with_the_graph_are_refused(
    ssdlite_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "frozen_inference_graph.pb").symlink_to(ssdlite_dir / "frozen_inference_graph.pb")
    config = (
        (ssdlite_dir / "pipeline.config").read_text().replace("min_scale: 0.2", "min_scale: 0.25")
    )
    (tmp_path / "pipeline.config").write_text(config)
    with pytest.raises(ConversionError, match=r"frozen_inference_graph\.pb"):
        convert(tmp_path, catalog.load_model("ssdlite_mobilenet_v2"))


# -- the exact shortcut of the post-processing --------------------------------------------


def postprocess_model(
    anchors: np.ndarray, settings: postprocess.PostprocessSettings
) -> ov.CompiledModel:
    encodings = ops.parameter([1, len(anchors), 1, 4], np.float32)
    logits = ops.parameter([1, len(anchors), 91], np.float32)
    rows = postprocess.detection_output(encodings, logits, anchors, settings)
    return ov.Core().compile_model(ov.Model([rows], [encodings, logits]), "CPU", F32)


def shortcut_model(
    anchors: np.ndarray, settings: postprocess.PostprocessSettings
) -> ov.CompiledModel:
    """The shortcut alone, with its exactness flag, to test the condition itself."""
    encodings = ops.parameter([1, len(anchors), 1, 4], np.float32)
    logits = ops.parameter([1, len(anchors), 91], np.float32)
    boxes = postprocess.decode_boxes(encodings, anchors, settings.box_coder_scales)
    rows, exact = postprocess._shortcut(boxes.output(0), logits.output(0), settings)
    return ov.Core().compile_model(ov.Model([rows, exact], [encodings, logits]), "CPU", F32)


@pytest.fixture(scope="module")
def network_outputs(ssdlite: ov.Model, images: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    spec = catalog.load_model("ssdlite_mobilenet_v2").conversion
    network = ov.Core().compile_model(network_of(ssdlite, named_cut(spec)), "CPU", F32)
    return [
        tuple(
            network(
                to_input_tensor(load_rgb(SUBSET / "val2017" / r["file_name"]), 300, 300)
            ).values()
        )
        for r in images
    ]


def adversarial_inputs(n_anchors: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inputs built to defeat the shortcut: few survivors, heavy suppression, ties."""
    rng = np.random.default_rng(0)
    cases = []
    few = np.full((1, n_anchors, 91), -30, np.float32)  # almost nothing above 1e-8
    few[0, rng.choice(n_anchors, 40, replace=False), rng.integers(1, 91, 40)] = 2.0
    cases.append((rng.normal(0, 0.1, (1, n_anchors, 1, 4)).astype(np.float32), few))
    same_box = np.zeros((1, n_anchors, 1, 4), np.float32)  # identical boxes per anchor shape
    cases.append((same_box, rng.normal(-3, 2, (1, n_anchors, 91)).astype(np.float32)))
    tied = np.full((1, n_anchors, 91), -1.0, np.float32)  # every score equal
    cases.append((rng.normal(0, 0.5, (1, n_anchors, 1, 4)).astype(np.float32), tied))
    one_class = np.full((1, n_anchors, 91), -20, np.float32)  # one class, strong overlap
    one_class[0, :, 1] = rng.normal(0, 3, n_anchors)
    cases.append((rng.normal(0, 0.05, (1, n_anchors, 1, 4)).astype(np.float32), one_class))
    return cases


@needs(SUBSET)
def test_shortcut_is_exact_where_it_claims_and_falls_back_elsewhere(
    ssdlite_dir: Path, network_outputs: list
) -> None:
    facts = parse_pipeline_config((ssdlite_dir / "pipeline.config").read_text())
    anchors = ssd_anchors(facts)
    settings = postprocess_settings(facts)
    full = postprocess_model(anchors, dataclasses.replace(settings, candidate_anchors=0))
    shortcut = shortcut_model(anchors, settings)
    with_fallback = postprocess_model(anchors, settings)

    claims, padded_cases = [], 0
    for feed in network_outputs + adversarial_inputs(len(anchors)):
        expected = full(list(feed))[0].reshape(-1, 7)
        # Unused rows come last and are exactly image_id -1 and zeros.
        used = int((expected[:, 0] == 0).sum())
        assert (expected[:used, 0] == 0).all() and (expected[:used, 2] > 0).all()
        np.testing.assert_array_equal(
            expected[used:], np.tile([-1, 0, 0, 0, 0, 0, 0], (100 - used, 1))
        )
        padded_cases += used < 100
        rows, exact = shortcut(list(feed)).values()
        if exact:
            np.testing.assert_array_equal(rows, expected)
        np.testing.assert_array_equal(with_fallback(list(feed))[0].reshape(-1, 7), expected)
        claims.append(bool(exact))
    # Every real image takes the shortcut; some adversarial case needs the fallback.
    assert all(claims[: len(network_outputs)])
    assert not all(claims[len(network_outputs) :])
    assert padded_cases  # the padding was exercised


# -- faithfulness to the original graph and to TensorFlow ---------------------------------


def same_detections(ours: Detections, theirs: Detections, tol: float = 1e-4) -> str | None:
    """None if equal: same count, and row by row the same label, score within tol and box
    within tol, except that rows whose scores are within 1e-6 (a float near-tie) may swap."""
    if len(ours) != len(theirs):
        return f"{len(ours)} vs {len(theirs)} detections"
    unmatched = list(range(len(theirs)))
    for i in range(len(ours)):
        for j in unmatched:
            near = abs(ours.scores[i] - theirs.scores[j])
            same_box = np.abs(ours.boxes[i] - theirs.boxes[j]).max() <= tol
            if (
                (j == i or near < 1e-6)
                and ours.labels[i] == theirs.labels[j]
                and near <= tol
                and same_box
            ):
                unmatched.remove(j)
                break
        else:
            return f"row {i}: label {ours.labels[i]} score {ours.scores[i]:.6f} has no twin"
    return None


def coco_ap(dets: list[Detections], images: list[dict]) -> float:
    results = [
        row
        for rec, d in zip(images, dets, strict=True)
        for row in coco_eval.to_coco_results(rec["id"], d, rec["width"], rec["height"])
    ]
    return coco_eval.evaluate(ANNOTATIONS, results, [r["id"] for r in images])["stats"]["AP"]


@needs(SUBSET)
@pytest.mark.slow
def test_parity_with_the_whole_graph_on_206_images(
    ssdlite: ov.Model, ssdlite_dir: Path, images: list[dict]
) -> None:
    """The same 300x300 image into (a) the graph converted as-is, loops and all, and (b) our IR."""
    core = ov.Core()
    whole = core.compile_model(
        ov.convert_model(ssdlite_dir / "frozen_inference_graph.pb"), "CPU", F32
    )
    ours = core.compile_model(ssdlite, "CPU", F32)
    ours_all, whole_all = [], []
    for rec in images:
        rgb = load_rgb(SUBSET / "val2017" / rec["file_name"])
        square = np.round(resize_bilinear_tf(rgb, 300, 300)).clip(0, 255).astype(np.uint8)
        out = whole(square[None])
        n = int(out["num_detections:0"][0])
        theirs = Detections(
            labels=out["detection_classes:0"][0, :n].astype(np.int64),
            scores=out["detection_scores:0"][0, :n],
            boxes=out["detection_boxes:0"][0, :n][:, [1, 0, 3, 2]],
        )
        mine = parse_detection_output(ours(to_input_tensor(square, 300, 300))[0])
        problem = same_detections(mine, theirs)
        assert problem is None, f"image {rec['id']}: {problem}"
        ours_all.append(mine)
        whole_all.append(theirs)
    assert abs(coco_ap(ours_all, images) - coco_ap(whole_all, images)) <= 0.002


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    union = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter
    return float(inter / union) if union > 0 else 1.0


@needs(SUBSET, TF_REFERENCE)
@pytest.mark.slow
def test_agrees_with_tensorflow_reference(ssdlite: ov.Model, images: list[dict]) -> None:
    """Our whole pipeline (TF-exact resize outside, IR inside) against TensorFlow's own outputs."""
    reference = json.loads(TF_REFERENCE.read_text())
    compiled = ov.Core().compile_model(ssdlite, "CPU", F32)
    ours_all = []
    for rec in images:
        mine = parse_detection_output(
            compiled(to_input_tensor(load_rgb(SUBSET / "val2017" / rec["file_name"]), 300, 300))[0]
        )
        tf = reference[str(rec["id"])]
        tf_boxes = np.asarray(tf["boxes"])[:, [1, 0, 3, 2]]
        for i in range(20):
            assert mine.labels[i] == tf["classes"][i], (rec["id"], i)
            assert abs(mine.scores[i] - tf["scores"][i]) <= 1e-3, (rec["id"], i)
            assert box_iou(mine.boxes[i], tf_boxes[i]) >= 0.99, (rec["id"], i)
        ours_all.append(mine)
    assert coco_ap(ours_all, images) == pytest.approx(0.2967, abs=0.002)
