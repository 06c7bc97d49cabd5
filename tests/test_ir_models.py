"""IR models (catalog source `ir`) on real data: ssdlite's real network with the Open Model Zoo's
Caffe-style DetectionOutput tail (ovflow.omz_tail), from a user catalog."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
import yaml
from availability import needs
from synthetic import file_entry

from conftest import MIRROR, OFFLINE_DATA, PERSON, SUBSET, offline_config, run_snakemake
from ovflow import catalog, coco_data, coco_eval, ir_files, labels
from ovflow.anchors import parse_pipeline_config, ssd_anchors
from ovflow.convert import GRAPH_FILE, PIPELINE_FILE, convert
from ovflow.download import ChecksumError, extract_tar_folder, fetch
from ovflow.ir_source import IrSourceError, take_over
from ovflow.omz_tail import with_caffe_tail
from ovflow.paths import Paths
from ovflow.quantize import cut_for, cut_record, find_cut, named_cut, network_of

ARCHIVE_MODEL = "ssdlite_mobilenet_v2"
CAFFE = "ssdlite_caffe"
PERSON_MODEL = "ssdlite_person"
ANNOTATIONS = SUBSET / "annotations" / "instances_val2017.json"
PERSON_ANNOTATIONS = PERSON / "annotations" / "instances_val2017_person.json"
QUICK_BENCHMARK = {"duration": 1, "repeats": 1}

# Every IR here is built from the mirror's real ssdlite network and run on the real sets.
pytestmark = needs(*OFFLINE_DATA)


@pytest.fixture(scope="module")
def ssdlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[ov.Model, np.ndarray]:
    """The workflow's own conversion of the mirror's ssdlite archive, and its anchors."""
    spec = catalog.load_model(ARCHIVE_MODEL)
    archive = next(MIRROR.glob(f"{spec.archive.folder}*.tar.gz"))
    folder = tmp_path_factory.mktemp("ssdlite_archive")
    extract_tar_folder(archive, spec.archive.folder, folder, [GRAPH_FILE, PIPELINE_FILE])
    anchors = ssd_anchors(parse_pipeline_config((folder / PIPELINE_FILE).read_text()))
    return convert(folder, spec).model, anchors


def caffe_ir(ssdlite: tuple[ov.Model, np.ndarray], xml: Path, classes=None) -> Path:
    """ssdlite's network + the OMZ DetectionOutput tail (`classes`: logit columns kept)."""
    converted, anchors = ssdlite
    network = network_of(converted.clone(), named_cut(catalog.load_model(ARCHIVE_MODEL).conversion))
    ir_files.save_ir(with_caffe_tail(network, anchors, classes), xml, "FP32")
    return xml


def entry(xml: Path, label_map: object, description: str) -> dict:
    """A catalog entry of the IR `xml` (paths relative to the catalog beside it)."""
    files = {"xml": xml, "bin": xml.with_suffix(".bin")}
    return {
        "description": description,
        "ir": {key: file_entry(f, xml.parent) for key, f in files.items()},
        "input": {
            "height": 300,
            "width": 300,
            "layout": "NCHW",
            "color": "BGR",
            "range": [0, 255],
            "resize": "tf1_bilinear",
        },
        "label_map": label_map,
    }


@pytest.fixture(scope="module")
def user_catalog(ssdlite, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """my_models.yaml beside two IRs: the 91-class Caffe-tail IR and a person-only one
    (background + person logits, label 1 = person)."""
    folder = tmp_path_factory.mktemp("my_models")
    caffe = caffe_ir(ssdlite, folder / f"{CAFFE}.xml")
    person = caffe_ir(ssdlite, folder / f"{PERSON_MODEL}.xml", classes=[0, 1])
    models = {
        CAFFE: entry(caffe, "coco91", "ssdlite, OMZ Caffe-style DetectionOutput"),
        PERSON_MODEL: entry(person, {1: "person"}, "ssdlite, person-only DetectionOutput"),
    }
    path = folder / "my_models.yaml"
    path.write_text(yaml.safe_dump({"models": models}, sort_keys=False))
    return path


def test_user_catalog_models_load_with_their_label_maps(user_catalog: Path) -> None:
    assert catalog.model_names([user_catalog]) == sorted(
        [CAFFE, PERSON_MODEL, ARCHIVE_MODEL, "ssd_mobilenet_v1_coco"]
    )
    caffe = catalog.load_model(CAFFE, catalogs=[user_catalog])
    assert caffe.source == "ir" and caffe.labels == catalog.load_model(ARCHIVE_MODEL).labels
    assert caffe.ir.bin.path == str(user_catalog.parent / f"{CAFFE}.bin")
    assert catalog.load_model(PERSON_MODEL, catalogs=[user_catalog]).labels == {1: "person"}


def test_a_user_model_may_not_reuse_a_built_in_name(user_catalog: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(user_catalog.read_text())
    data["models"] = {ARCHIVE_MODEL: data["models"][CAFFE]}
    clash = tmp_path / "clash.yaml"
    clash.write_text(yaml.safe_dump(data))
    with pytest.raises(catalog.CatalogError, match=f"{clash}: models.{ARCHIVE_MODEL} is already"):
        catalog.model_names([clash])


def test_take_over_finds_and_records_the_detection_output(user_catalog: Path) -> None:
    spec = catalog.load_model(CAFFE, catalogs=[user_catalog])
    model, info = take_over(Path(spec.ir.xml.path), Path(spec.ir.bin.path), spec)
    assert [list(o.get_shape()) for o in model.outputs] == [[1, 1, 100, 7]]
    assert info["source"] == "ir"
    assert info["files"]["bin"] == {"location": spec.ir.bin.path, "sha256": spec.ir.bin.sha256}
    op = info["detection_output"]["op"]
    assert op["type"] == "DetectionOutput" and op["confidence_threshold"] == pytest.approx(1e-8)
    assert op["top_k"] == 100 and op["nms_threshold"] == pytest.approx(0.6)
    assert info["preprocessing"]["resize"] == "tf1_bilinear"
    assert "score_threshold does not apply" in info["postprocessing"]


def test_automatic_cut_is_at_the_detection_outputs_inputs(user_catalog: Path) -> None:
    spec = catalog.load_model(CAFFE, catalogs=[user_catalog])
    model = ir_files.read_ir(Path(spec.ir.xml.path))
    cut = cut_for(model, spec)
    assert cut.method == "automatic" and cut.postprocessing_op[0] == "DetectionOutput"
    (detection,) = [op for op in model.get_ops() if op.get_type_name() == "DetectionOutput"]
    feeds = [(v.get_node().get_friendly_name(), v.get_index()) for v in detection.input_values()]
    assert list(cut.tensors) == feeds[:2]  # box codes, class scores; the priors are a constant
    assert cut_record(model, cut)["float_ops"] == {"DetectionOutput": 1}


def test_archive_models_keep_their_named_cut(ssdlite) -> None:
    """The cut of the TF archives stays where it always was (box encodings, class logits)."""
    converted, _ = ssdlite
    spec = catalog.load_model(ARCHIVE_MODEL)
    cut = cut_for(converted, spec)
    assert cut == named_cut(spec.conversion)
    assert list(cut.tensors) == [("concat", 0), ("concat_1", 0)]
    network = network_of(converted, cut)
    assert [list(o.get_shape()) for o in network.outputs] == [[1, 1917, 1, 4], [1, 1917, 91]]
    # The automatic cut would keep only the NMS itself in float, not the box decoding.
    assert find_cut(converted).tensors != cut.tensors


def test_an_ir_without_a_detection_output_is_refused(ssdlite, tmp_path: Path) -> None:
    converted, _ = ssdlite
    network = network_of(converted.clone(), named_cut(catalog.load_model(ARCHIVE_MODEL).conversion))
    xml = tmp_path / "bare.xml"
    ir_files.save_ir(network, xml, "FP32")
    spec = catalog.ModelSpec(
        name="bare",
        description="network only",
        input=catalog.InputSpec(None, 300, 300),
        labels={1: "person"},
        ir=catalog.IrSpec(
            catalog.ArchiveSpec(None, xml.name, path=str(xml)), catalog.ArchiveSpec(None, "b")
        ),
    )
    with pytest.raises(IrSourceError) as failure:
        take_over(xml, xml.with_suffix(".bin"), spec)
    message = str(failure.value)
    assert "\n" not in message and str(xml) in message
    assert "no recognisable detection output" in message


def test_a_wrong_bin_sha256_names_the_file_and_leaves_nothing(
    user_catalog: Path, tmp_path: Path
) -> None:
    spec = catalog.load_model(CAFFE, catalogs=[user_catalog]).ir.bin
    wrong = catalog.ArchiveSpec(None, spec.name, sha256="0" * 64, path=spec.path)
    dest = tmp_path / "source" / "model.bin"
    with pytest.raises(ChecksumError) as failure:
        fetch(wrong, dest)
    assert "\n" not in str(failure.value) and spec.path in str(failure.value)
    assert list(dest.parent.iterdir()) == []


def test_a_label_map_sharing_no_class_with_the_set_names_both_lists() -> None:
    ground_truth = coco_data.load_annotations(ANNOTATIONS)
    ids = [image["id"] for image in ground_truth["images"]]
    with pytest.raises(labels.LabelError) as failure:
        labels.match({1: "face"}, ground_truth, ids, source=ANNOTATIONS)
    message = str(failure.value)
    assert "\n" not in message and str(ANNOTATIONS) in message
    assert "model classes: face;" in message and "set categories: person, bicycle" in message


def test_a_fault_names_a_url_as_the_catalog_gives_it(tmp_path: Path) -> None:
    image = ops.parameter([1, 3, 300, 300], np.float32, name="image")
    xml = tmp_path / "bare.xml"
    ov.save_model(ov.Model([ops.relu(image)], [image], "bare"), xml)
    url = "https://example.org/models/bare.xml"
    ir = catalog.IrSpec(
        xml=catalog.ArchiveSpec(url=url, name=xml.name),
        bin=catalog.ArchiveSpec(url=url.replace(".xml", ".bin"), name="bare.bin"),
    )
    spec = catalog.ModelSpec("bare", "", catalog.InputSpec(None, 300, 300), {1: "person"}, ir=ir)
    with pytest.raises(IrSourceError, match=f"^{re.escape(url)}: no recognisable detection"):
        take_over(xml, xml.with_suffix(".bin"), spec)


# -- the workflow -------------------------------------------------------------------------


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def caffe_run(user_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The Caffe-tail IR from the user catalog, FP32 and INT8, on the 206-image subset."""
    workdir = tmp_path_factory.mktemp("caffe_run")
    config = offline_config(
        catalogs=[str(user_catalog)],
        models=[CAFFE],
        precisions=["FP32", "INT8"],
        benchmark=QUICK_BENCHMARK,
    )
    run_snakemake(workdir, config)
    return Paths(workdir / config["results"])


@pytest.fixture(scope="module")
def person_run(user_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The person-only IR on the 750-image person set (the primary set) and, scoring only the
    classes it can predict, on the 80-class subset."""
    workdir = tmp_path_factory.mktemp("person_run")
    config = offline_config(
        catalogs=[str(user_catalog)],
        models=[PERSON_MODEL],
        precisions=["FP32"],
        coco={"images": str(PERSON / "val2017"), "annotations": str(PERSON_ANNOTATIONS)},
        extra_datasets={
            "subset": {"images": str(SUBSET / "val2017"), "annotations": str(ANNOTATIONS)}
        },
        accuracy={"only_model_classes": True},
        benchmark=QUICK_BENCHMARK,
    )
    run_snakemake(workdir, config)
    return Paths(workdir / config["results"])


@pytest.mark.slow
def test_caffe_tail_ir_keeps_its_ap_through_the_workflow(caffe_run: Paths) -> None:
    fp32 = read_yaml(caffe_run.accuracy(CAFFE, "coco", "FP32"))
    int8 = read_yaml(caffe_run.accuracy(CAFFE, "coco", "INT8"))
    # perf/detection_output_diff.py: 0.2979 for this tail on these 206 images.
    assert fp32["stats"]["AP"] == pytest.approx(0.2979, abs=0.0005)
    assert abs(int8["stats"]["AP"] - fp32["stats"]["AP"]) <= 0.01
    assert fp32["classes_evaluated"] == "all" and len(fp32["per_class_ap"]) == 80
    assert fp32["unscored_set_classes"] == [] and fp32["unscored_model_classes"] == []
    delta = read_yaml(caffe_run.accuracy_delta(CAFFE, "coco"))
    interval = delta["comparisons"]["INT8"]["ap_interval"]
    assert interval["low"] <= interval["delta"] <= interval["high"]
    assert interval["delta"] == pytest.approx(int8["stats"]["AP"] - fp32["stats"]["AP"], abs=1e-9)
    conversion = read_yaml(caffe_run.conversion_info(CAFFE))
    assert conversion["source"] == "ir"
    assert conversion["detection_output"]["op"]["type"] == "DetectionOutput"


@pytest.mark.slow
def test_int8_detection_output_is_not_quantized(caffe_run: Paths) -> None:
    int8 = ir_files.read_ir(caffe_run.ir_xml(CAFFE, "INT8"))
    assert sum(op.get_type_name() == "FakeQuantize" for op in int8.get_ops()) > 50
    (detection,) = [op for op in int8.get_ops() if op.get_type_name() == "DetectionOutput"]
    feeding = [v.get_node().get_type_name() for v in detection.input_values()]
    assert "FakeQuantize" not in feeding
    after = [t.get_node().get_type_name() for t in detection.output(0).get_target_inputs()]
    assert after == ["Result"]
    cut = read_yaml(caffe_run.quantization_info(CAFFE))["cut"]
    assert cut["method"] == "automatic"
    assert cut["postprocessing_op"]["type"] == "DetectionOutput"
    assert cut["float_ops"] == {"DetectionOutput": 1} and len(cut["network_outputs"]) == 2


@pytest.mark.slow
def test_samples_benchmarks_report_and_index_for_an_ir_model(caffe_run: Paths) -> None:
    assert len(list(caffe_run.samples_dir(CAFFE, "INT8").glob("*.jpg"))) == 3
    assert caffe_run.benchmark(CAFFE, "INT8").is_file()
    report = caffe_run.report_md(CAFFE).read_text()
    xml = read_yaml(caffe_run.conversion_info(CAFFE))["files"]["xml"]["location"]
    assert xml.endswith(f"{CAFFE}.xml") and f"- **files.xml.location**: {xml}" in report
    assert "- **detection_output.op.type**: DetectionOutput" in report
    assert "kept in float by quantization; postprocess.score_threshold does not apply" in report
    assert CAFFE in caffe_run.index_md.read_text()


@pytest.mark.slow
def test_one_class_ir_is_scored_on_person_only(person_run: Paths) -> None:
    person = read_yaml(person_run.accuracy(PERSON_MODEL, "coco", "FP32"))
    assert person["images"] == 750
    assert person["classes_evaluated"] == ["person"] and set(person["per_class_ap"]) == {"person"}
    assert person["unscored_set_classes"] == [] and person["unscored_model_classes"] == []
    # On the 80-class subset only person is scored (accuracy.only_model_classes), and the 79
    # annotated classes the model cannot predict are named.
    subset = read_yaml(person_run.accuracy(PERSON_MODEL, "subset", "FP32"))
    assert subset["classes_evaluated"] == ["person"] and subset["only_model_classes"] is True
    assert len(subset["unscored_set_classes"]) == 79
    assert "person" not in subset["unscored_set_classes"]
    detections = coco_eval.read_detections_json(person_run.detections(PERSON_MODEL, "coco", "FP32"))
    assert detections and {d["category_id"] for d in detections} == {1}
    assert PERSON_MODEL in person_run.index_md.read_text()


def faulty_catalog(user_catalog: Path, ssdlite, fault: str) -> Path:
    """A catalog beside the test IRs with one model, `faulty`, broken as `fault` says."""
    faulty = entry(user_catalog.parent / f"{CAFFE}.xml", "coco91", "a faulty IR model")
    if fault == "bin_sha256":
        faulty["ir"]["bin"]["sha256"] = "0" * 64
    elif fault == "no_detection_output":
        bare = user_catalog.parent / "bare.xml"
        spec = catalog.load_model(ARCHIVE_MODEL)
        ir_files.save_ir(network_of(ssdlite[0].clone(), named_cut(spec.conversion)), bare, "FP32")
        faulty = entry(bare, "coco91", "the network without post-processing")
    else:
        faulty["label_map"] = {1: "face", 2: "hand"}
    path = user_catalog.parent / f"faulty_{fault}.yaml"
    path.write_text(yaml.safe_dump({"models": {"faulty": faulty}}))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("bin_sha256", f"{CAFFE}.bin: sha256 expected {'0' * 64}, got "),
        ("no_detection_output", "bare.xml: no recognisable detection output: expected [1,1,N,7]"),
        ("labels", "no class of the model's label map is in this set (model classes: face, hand;"),
    ],
)
def test_faults_stop_the_run_with_one_line_and_leave_nothing(
    user_catalog: Path, ssdlite, tmp_path: Path, fault: str, message: str
) -> None:
    config = offline_config(
        catalogs=[str(faulty_catalog(user_catalog, ssdlite, fault))],
        models=["faulty"],
        precisions=["FP32"],
    )
    target = Paths(Path(config["results"])).accuracy("faulty", "coco", "FP32")
    proc = run_snakemake(tmp_path, config, str(target), check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if message in line]
    assert lines, proc.stderr[-3000:]
    paths = Paths(tmp_path / config["results"])
    written = [paths.detections("faulty", "coco", "FP32"), paths.accuracy("faulty", "coco", "FP32")]
    if fault != "labels":  # a label map that fits no set leaves a sound IR
        written += [paths.ir_xml("faulty", "FP32"), paths.conversion_info("faulty")]
    if fault == "bin_sha256":
        written += [paths.ir_source("faulty", "xml"), paths.ir_source("faulty", "bin")]
    assert not [p for p in written if p.exists()]
    assert not list(paths.model_dir("faulty").glob("accuracy/coco/shards/*.json"))


@pytest.mark.slow
def test_accuracy_control_quantizes_an_ir_model(user_catalog: Path, tmp_path: Path) -> None:
    config = offline_config(
        catalogs=[str(user_catalog)],
        models=[CAFFE],
        quantization={"mode": "accuracy_control", "max_drop": 0.05},
        calibration={"subset_size": 40},
    )
    relative = Paths(Path(config["results"]))
    run_snakemake(tmp_path, config, str(relative.quantization_info(CAFFE)))
    info = read_yaml(Paths(tmp_path / config["results"]).quantization_info(CAFFE))
    control = info["accuracy_control"]
    assert info["mode"] == "accuracy_control" and control["validation_images"] == 40
    # Person AP (the calibration set annotates persons only) of the Caffe-tail IR.
    assert 0.1 < control["fp32_ap"] < 0.6
    assert control["fp32_ap"] - control["int8_ap"] <= 0.05
    assert info["cut"]["postprocessing_op"]["type"] == "DetectionOutput"
    assert info["fake_quantize_ops"] > 50
