"""The report shows exactly the numbers in the files it was made from, its verdict follows the
stated rule, the HTML page is self-contained, and the index links every model's report.

The fixtures are files shaped as the workflow writes them (accuracy YAMLs of two evaluation
sets, delta.yaml, benchmark JSONs, quantization.yaml, IR .bin files, drawn samples), read back
through ovflow.report.ReportInputs.read as rule report reads them (named as rules/common.smk
names them).
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image
from test_benchmark import make_record, validate

from ovflow import catalog, report, report_charts, report_tables, verdict
from ovflow.coco_eval import STAT_NAMES
from ovflow.compare import class_deltas, stat_deltas
from ovflow.detections import Detections
from ovflow.draw import draw_detections
from ovflow.paths import Paths, input_key

PRECISIONS = ("FP32", "FP16", "INT8")
DATASETS = ("coco", "person")
IMAGES = ("000000000139.jpg", "000000000802.jpg")
SSDLITE = "ssdlite_mobilenet_v2"
V1 = "ssd_mobilenet_v1_coco"
MAX_DROP = 0.01
# Ratios of each stat to AP, to make the other 11 stats differ from AP and each other.
STAT_SHAPE = dict(
    zip(
        STAT_NAMES,
        (1.0, 1.52, 1.03, 0.09, 0.71, 1.61, 0.93, 1.19, 1.22, 0.17, 0.99, 1.78),
        strict=True,
    )
)
# Every chart of a report on DATASETS: the PNG files rule report declares.
CHARTS = report_charts.chart_names(DATASETS)
COCO_CLASSES = list(catalog.load_model(SSDLITE).labels.values())
SSDLITE_ARCHIVE = catalog.load_model(SSDLITE).archive
BOOTSTRAP = (
    "Paired percentile bootstrap over images: 1000 resamples of the images drawn with "
    "replacement (numpy default_rng seed 0), the same for both."
)


@dataclass(frozen=True)
class Numbers:
    """What one fixture model measured."""

    ap: dict[str, float]  # COCO AP on the primary set, per precision
    margins: tuple[float, float]  # the ΔAP interval reaches this far below / above ΔAP
    fps: dict[str, float]  # median FPS (throughput mode) per configuration
    latency: dict[str, float]  # median latency (latency mode) per configuration
    ir_sizes: dict[str, int]
    mode: str  # quantization mode


CONFIGURATIONS = ("FP32 f32", "FP32 default", "FP16 default", "INT8 default")
NUMBERS = {
    # INT8 loses 0.0021 AP, interval [-0.0049, +0.0006]: within the 0.01 budget; slower than
    # FP32 in the device default (bf16), as measured on this machine.
    SSDLITE: Numbers(
        ap={"FP32": 0.296672, "FP16": 0.295670, "INT8": 0.294572},
        margins=(0.0028, 0.0027),
        fps=dict(zip(CONFIGURATIONS, (154.9, 313.71, 264.5, 212.6), strict=True)),
        latency=dict(zip(CONFIGURATIONS, (7.47, 4.01, 7.45, 5.69), strict=True)),
        ir_sizes={"FP32": 17_942_432, "FP16": 8_974_408, "INT8": 4_752_292},
        mode="default",
    ),
    # INT8 loses 0.0121 AP, interval [-0.0180, -0.0061]: straddles the budget.
    V1: Numbers(
        ap={"FP32": 0.231234, "FP16": 0.230987, "INT8": 0.219134},
        margins=(0.0059, 0.0060),
        fps=dict(zip(CONFIGURATIONS, (93.47, 289.35, 288.4, 391.36), strict=True)),
        latency=dict(zip(CONFIGURATIONS, (21.236, 7.412, 7.5, 5.127), strict=True)),
        ir_sizes={"FP32": 27_370_218, "FP16": 13_691_870, "INT8": 7_152_348},
        mode="accuracy_control",
    ),
}


@dataclass(frozen=True)
class Files:
    """The files one model's report is made from."""

    accuracy: Mapping[str, Mapping[str, Path]]  # set → precision → YAML; primary set first
    deltas: Mapping[str, Path]  # set → delta.yaml
    benchmark: Mapping[str, Path]  # precision → benchmark JSON
    samples: Mapping[str, Path]  # precision → folder of annotated JPEGs
    ir_bins: Mapping[str, Path]  # precision → IR .bin
    conversion: Path
    quantization: Path | None = None

    def named(self) -> dict[str, Path]:
        """As rule report's inputs, named as rules/common.smk names them."""
        named = {
            input_key("accuracy", s, p): f for s, fs in self.accuracy.items() for p, f in fs.items()
        }
        named |= {input_key("delta", s): f for s, f in self.deltas.items()}
        for kind, files in (("benchmark", self.benchmark), ("samples", self.samples)):
            named |= {input_key(kind, p): f for p, f in files.items()}
        named |= {input_key("bin", p): f for p, f in self.ir_bins.items()}
        named["conversion"] = self.conversion
        return named | ({"quantization": self.quantization} if self.quantization else {})

    def read(self, meta: Mapping[str, Any]) -> report.ReportInputs:
        precisions = list(self.benchmark)
        return report.ReportInputs.read(self.named(), list(self.accuracy), precisions, meta)


@dataclass(frozen=True)
class Outputs:
    """Where one model's report goes."""

    md: Path
    html: Path
    headline: Path
    plots: Mapping[str, Path]  # chart name → PNG

    def named(self) -> dict[str, Path]:
        """As rule report's outputs, named as rules/report.smk names them."""
        return {"md": self.md, "html": self.html, "headline": self.headline, **self.plots}


@dataclass(frozen=True)
class Run:
    """One model's report inputs on disk, and where its report goes."""

    files: Files
    outputs: Outputs
    meta: dict[str, Any]


def _stats(ap: float) -> dict[str, float]:
    return {s: ap * k + 0.00001 * i for i, (s, k) in enumerate(STAT_SHAPE.items())}


def _accuracy(model: str, dataset: str, precision: str) -> dict[str, Any]:
    ap = NUMBERS[model].ap[precision] + (0.0 if dataset == "coco" else 0.05)
    loss = NUMBERS[model].ap["FP32"] - NUMBERS[model].ap[precision]
    if dataset == "coco":
        classes: Any = "all"
        per_class: dict[str, float | None] = {
            name: 0.1 + 0.009 * i - loss * ((5 * i) % 11 - 3) / 2
            for i, name in enumerate(COCO_CLASSES)
        }
        per_class["toaster"] = None  # no ground truth of that class in the evaluated images
        images, annotated, annotations, reserve = 206, 206, 1765, 0
    else:
        classes, per_class = ["person"], {"person": ap}
        images, annotated, annotations, reserve = 450, 750, 1827, 0
    return {
        "model": model,
        "precision": precision,
        "images": images,
        "annotations": annotations,
        "crowd_annotations": 21,
        "stats": _stats(ap),
        "per_class_ap": per_class,
        "runtime": {"openvino": "2026.4.1", "nncf": "3.4.0", "pycocotools": "2.0.11"},
        "dataset": dataset,
        "classes_evaluated": classes,
        "selection": {
            "annotations": f"../shared/data/{dataset}/instances.json",
            "images_in_annotations": annotated,
            "max_images": None,
            "reserve": reserve,
            "seed": 0,
            "method": "seeded permutation of the annotated image ids",
        },
        "inference": {"device": "CPU", "precision_hint": "f32", "images_per_second": 37.9},
    }


def _delta(model: str, dataset: str, accuracy: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """delta.yaml as rule accuracy_delta writes it (its stat and class functions)."""
    reference = accuracy["FP32"]
    below, above = NUMBERS[model].margins
    comparisons = {}
    for precision in ("FP16", "INT8"):
        stats = stat_deltas(reference, accuracy[precision])
        width = 1.0 if precision == "INT8" else 0.4
        comparisons[precision] = {
            "stats": stats,
            "ap_interval": {
                "delta": stats["AP"],
                "low": stats["AP"] - below * width,
                "high": stats["AP"] + above * width,
                "reference_ap": reference["stats"]["AP"],
                "candidate_ap": accuracy[precision]["stats"]["AP"],
                "resamples": 1000,
                "seed": 0,
                "confidence": 0.95,
                "method": BOOTSTRAP,
            },
            "classes": class_deltas(reference, accuracy[precision]),
        }
    return {
        "model": model,
        "dataset": dataset,
        "reference": "FP32",
        "images": reference["images"],
        "classes_evaluated": reference["classes_evaluated"],
        "comparisons": comparisons,
    }


def _runs(median: float, low: float, high: float) -> list[float]:
    """Three runs whose median is `median` (not their mean), spread low..high around it."""
    return [median * high, median, median * low]


def _benchmark(model: str, precision: str) -> dict[str, Any]:
    numbers = NUMBERS[model]
    speeds = {}
    for label, fps in numbers.fps.items():
        ir_precision, setting = label.split()
        if ir_precision == precision:
            latency = numbers.latency[label]
            speeds[setting, "throughput"] = (
                _runs(fps, 0.97, 1.05),
                _runs(latency * 2.1, 0.9, 1.3),
            )
            speeds[setting, "latency"] = (
                _runs(1000 / latency, 0.98, 1.01),
                _runs(latency, 0.95, 1.02),
            )
    return make_record(precision, speeds)


def _quantization(model: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "mode": NUMBERS[model].mode,
        "preset": "performance",
        "calibration_images": 300,
        "calibration_folder": "../shared/data/coco-val2017-person/val2017",
    }
    if info["mode"] == "accuracy_control":
        info["accuracy_control"] = {
            "metric": "COCO AP on the validation (calibration) images",
            "max_drop": MAX_DROP,
            "validation_images": 300,
            "fp32_ap": 0.3012,
            "int8_ap": 0.2931,
            "drop": 0.3012 - 0.2931,
            "nncf_log": ["Accuracy drop: 0.0081 (absolute)", "Reverted 2 operations"],
        }
    info["fake_quantize_ops"] = 88
    info["float_layers"] = (
        ["BoxPredictor_0/ClassPredictor/Conv2D", "BoxPredictor_5/ClassPredictor/Conv2D"]
        if info["mode"] == "accuracy_control"
        else []
    )
    return info


def _conversion(spec: catalog.ModelSpec) -> dict[str, Any]:
    """conversion.yaml as rule convert writes it for a TF archive."""
    return {
        "source": "archive",
        "archive": {
            "url": spec.archive.url,
            "name": spec.archive.name,
            "sha256": spec.archive.sha256,
        },
        "postprocess": {
            "box_coder_scales": [10.0, 10.0, 5.0, 5.0],
            "iou_threshold": 0.6,
            "score_threshold": 1e-8,
            "max_per_class": 100,
            "max_total": 100,
            "candidate_anchors": 512,
            "score_threshold_source": "pipeline.config",
        },
        "anchor_check": {
            "anchors": 1917,
            "max_difference": 0.0,
            "tolerance": 1e-5,
            "result": "the anchors from pipeline.config match the graph's",
        },
    }


def _picture(folder: Path, name: str) -> Path:
    """A 640x426 JPEG to draw samples on: the report embeds samples, whatever they show."""
    path = folder / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.linear_gradient("L").resize((640, 426)).convert("RGB").save(path)
    return path


def _samples(folder: Path, pictures: Path, precision: str) -> None:
    """Annotated JPEGs of two pictures, slightly different detections per precision."""
    k = PRECISIONS.index(precision)
    dets = Detections(
        labels=np.array([1, 62], dtype=np.int64),
        scores=np.array([0.91 - 0.02 * k, 0.55], dtype=np.float32),
        boxes=np.array([[0.1, 0.3 + 0.01 * k, 0.4, 0.8], [0.6, 0.55, 0.9, 0.9]], dtype=np.float32),
    )
    for name in IMAGES:
        draw_detections(
            _picture(pictures, name),
            dets,
            {1: "person", 62: "chair"},
            folder / name,
            0.4,
            precision,
        )


def _dump(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_run(root: Path, model: str) -> Run:
    """Write one model's report inputs under `root` (a results folder) as the workflow would."""
    paths = Paths(root)
    accuracy_files: dict[str, dict[str, Path]] = {}
    delta_files = {}
    for dataset in DATASETS:
        records = {p: _accuracy(model, dataset, p) for p in PRECISIONS}
        accuracy_files[dataset] = {
            p: _dump(paths.accuracy(model, dataset, p), yaml.safe_dump(r, sort_keys=False))
            for p, r in records.items()
        }
        delta = yaml.safe_dump(_delta(model, dataset, records), sort_keys=False)
        delta_files[dataset] = _dump(paths.accuracy_delta(model, dataset), delta)
    bins = {}
    for precision, size in NUMBERS[model].ir_sizes.items():
        bins[precision] = _dump(paths.ir_bin(model, precision), "")
        with open(bins[precision], "r+b") as f:
            f.truncate(size)  # sparse: only the size matters
        _samples(paths.samples_dir(model, precision), root / "pictures", precision)
    spec = catalog.load_model(model)
    conversion = _dump(paths.conversion_info(model), yaml.safe_dump(_conversion(spec)))
    return Run(
        files=Files(
            accuracy=accuracy_files,
            deltas=delta_files,
            benchmark={
                p: _dump(paths.benchmark(model, p), json.dumps(_benchmark(model, p), indent=1))
                for p in PRECISIONS
            },
            samples={p: paths.samples_dir(model, p) for p in PRECISIONS},
            ir_bins=bins,
            conversion=conversion,
            quantization=_dump(
                paths.quantization_info(model), yaml.safe_dump(_quantization(model))
            ),
        ),
        outputs=Outputs(
            md=paths.report_md(model),
            html=paths.report_html(model),
            headline=paths.report_headline(model),
            plots={n: paths.plot(model, n) for n in CHARTS},
        ),
        meta={
            "model": model,
            "description": spec.description,
            "max_drop": MAX_DROP,
            "sample_score_threshold": 0.4,
            "config": {"models": [model], "quantization": {"preset": "performance"}},
            "commands": ["snakemake --cores all --configfile c.yaml", "pytest -q"],
        },
    )


def write_run(run: Run) -> report.Headline:
    return report.write_report(run.files.read(run.meta), run.outputs.named())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    written = make_run(tmp_path_factory.mktemp("results"), SSDLITE)
    write_run(written)
    return written


@pytest.fixture(scope="module")
def md(run: Run) -> str:
    return run.outputs.md.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(run: Run) -> str:
    return run.outputs.html.read_text(encoding="utf-8")


# Reading the Markdown back


def _md_rows(md: str, heading: str) -> list[dict[str, str]]:
    """The first table after the line `heading`, as one {column: cell} per row."""
    text = f"\n{md}"  # a heading may open the file
    lines = text[text.index(f"\n{heading}\n") :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    header, body = rows[0], rows[2:]
    return [dict(zip(header, row, strict=True)) for row in body]


def _md_table(md: str, heading: str) -> dict[str, dict[str, str]]:
    """The first table after `heading`, as {first cell: {column: cell}}."""
    return {next(iter(row.values())): row for row in _md_rows(md, heading)}


# The report's numbers against the files, read independently of ovflow.report


def _median(bench: dict[str, Any], label: str, mode: str, metric: str) -> float:
    precision, setting = label.split()
    config = next(
        c
        for c in bench[precision]["configurations"]
        if (c["setting"], c["mode"]) == (setting, mode)
    )
    return config["summary"][metric]["median"]


def _medians(bench: dict[str, Any], baseline: str, mode: str) -> tuple[float, float]:
    """(baseline, INT8) medians of the mode's own metric: FPS or median latency."""
    metric = "throughput_fps" if mode == "throughput" else "latency_median_ms"
    return _median(bench, baseline, mode, metric), _median(bench, "INT8 default", mode, metric)


def _expected_verdict(low: float, high: float, max_drop: float) -> str:
    if low >= -max_drop:
        return "Ship INT8"
    return "Do not ship INT8" if high < -max_drop else "Inconclusive"


def mismatches(md: str, run: Run) -> list[str]:
    """Every number of report.md that differs from the files the report was made from."""
    found: list[str] = []

    def expect(what: str, shown: str, wanted: str) -> None:
        if shown != wanted:
            found.append(f"{what}: report {shown!r}, files {wanted!r}")

    accuracy = {
        d: {p: yaml.safe_load(f.read_text()) for p, f in files.items()}
        for d, files in run.files.accuracy.items()
    }
    deltas = {d: yaml.safe_load(f.read_text()) for d, f in run.files.deltas.items()}
    bench = {p: json.loads(f.read_text()) for p, f in run.files.benchmark.items()}
    sizes = {p: f.stat().st_size for p, f in run.files.ir_bins.items()}
    primary = next(iter(accuracy))

    # Headline
    interval = deltas[primary]["comparisons"]["INT8"]["ap_interval"]
    low, high = interval["low"], interval["high"]
    shown = f"[{low:+.4f}, {high:+.4f}]"
    cards = _md_table(md, "## Headline")
    card = cards[f"ΔAP on {primary} (INT8 - FP32)"]
    expect("headline ΔAP", card["Value"], f"{interval['delta']:+.4f}")
    ap = [accuracy[primary][p]["stats"]["AP"] for p in ("FP32", "INT8")]
    expect(
        "headline ΔAP detail",
        card["Detail"],
        f"95% interval {shown}; AP {ap[0]:.4f} → {ap[1]:.4f} on "
        f"{accuracy[primary]['FP32']['images']} images",
    )
    for baseline in ("FP32 f32", "FP32 default"):
        before, after = _medians(bench, baseline, "throughput")
        card = cards[f"Throughput speed-up vs {baseline}"]
        expect(f"throughput vs {baseline}", card["Value"], f"{after / before:.2f}x")
        expect(f"throughput vs {baseline}", card["Detail"], f"{before:.1f} → {after:.1f} FPS")
        before, after = _medians(bench, baseline, "latency")
        card = cards[f"Latency speed-up vs {baseline}"]
        expect(f"latency vs {baseline}", card["Value"], f"{before / after:.2f}x")
        expect(f"latency vs {baseline}", card["Detail"], f"{before:.2f} → {after:.2f} ms")
    card = cards["IR size, INT8 / FP32"]
    expect("size ratio", card["Value"], f"{sizes['INT8'] / sizes['FP32']:.2f}x")
    verdict = next(line for line in md.splitlines() if line.startswith("**"))
    wanted = f"**{_expected_verdict(low, high, run.meta['max_drop'])}"
    expect("verdict", verdict[: len(wanted)], wanted)
    expect("verdict interval", str(shown in verdict), "True")

    # Every evaluation set
    counts = _md_table(md, "### Evaluation sets")
    for dataset, records in accuracy.items():
        table = _md_table(md, f"### {dataset}")
        for precision, record in records.items():
            for stat, value in record["stats"].items():
                expect(f"{dataset} {precision} {stat}", table[precision][stat], f"{value:.4f}")
        images = str(records["FP32"]["images"])
        expect(f"{dataset} images", counts[dataset]["Images evaluated"], images)
        changes = _md_table(md, f"#### {dataset}: change vs FP32")
        for precision, comparison in deltas[dataset]["comparisons"].items():
            for stat, value in comparison["stats"].items():
                shown_delta = changes[precision][f"Δ{stat}"]
                expect(f"{dataset} {precision} Δ{stat}", shown_delta, f"{value:+.4f}")
            bounds = comparison["ap_interval"]
            expect(
                f"{dataset} {precision} interval",
                changes[precision]["ΔAP 95% interval"],
                f"[{bounds['low']:+.4f}, {bounds['high']:+.4f}]",
            )
        # The worst classes, in delta.yaml's order (worst first); none for a one-class set.
        all_rows = deltas[dataset]["comparisons"]["INT8"]["classes"]
        heading = f"#### {dataset}: per-class AP, INT8 vs FP32"
        classes = _md_rows(md, heading) if len(all_rows) > 1 else []
        wanted_rows = all_rows[:10] if len(all_rows) > 1 else []
        expect(f"{dataset} class rows", str(len(classes)), str(len(wanted_rows)))
        for row, wanted in zip(classes, wanted_rows, strict=False):
            name = wanted["class"]
            expect(f"{dataset} class", row["Class"], name)
            expect(f"{dataset} {name} FP32", row["FP32 AP"], f"{wanted['reference']:.4f}")
            expect(f"{dataset} {name} INT8", row["INT8 AP"], f"{wanted['candidate']:.4f}")
            expect(f"{dataset} {name} ΔAP", row["ΔAP"], f"{wanted['delta']:+.4f}")
    return found


def test_markdown_numbers_equal_the_files(md: str, run: Run) -> None:
    assert mismatches(md, run) == []


def _bump_interval(path: Path) -> None:
    record = yaml.safe_load(path.read_text())
    record["comparisons"]["INT8"]["ap_interval"]["low"] -= 0.001
    path.write_text(yaml.safe_dump(record))


def _bump_stat(path: Path) -> None:
    record = yaml.safe_load(path.read_text())
    record["stats"]["AP75"] += 0.0007
    path.write_text(yaml.safe_dump(record))


def _bump_fps(path: Path) -> None:
    record = json.loads(path.read_text())
    record["configurations"][0]["summary"]["throughput_fps"]["median"] *= 1.1
    path.write_text(json.dumps(record))


def _grow(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size * 2)


@pytest.mark.parametrize(
    ("where", "change", "reported"),
    [
        (lambda f: f.deltas["coco"], _bump_interval, "headline ΔAP detail"),
        (lambda f: f.accuracy["person"]["FP16"], _bump_stat, "person FP16 AP75"),
        (lambda f: f.benchmark["FP32"], _bump_fps, "throughput vs FP32 f32"),
        (lambda f: f.ir_bins["INT8"], _grow, "size ratio"),
    ],
    ids=["delta.yaml", "accuracy YAML", "benchmark JSON", "IR .bin"],
)
def test_the_comparison_catches_a_number_that_differs(
    md: str,
    run: Run,
    tmp_path: Path,
    where: Callable[[Files], Path],
    change: Callable[[Path], None],
    reported: str,
) -> None:
    """The check above can fail: a file that no longer matches the report is reported."""
    original = where(run.files)
    copy = tmp_path / original.name
    shutil.copyfile(original, copy)
    change(copy)
    files = _replace_file(run.files, original, copy)
    found = mismatches(md, replace(run, files=files))
    assert any(line.startswith(reported) for line in found), found


def _replace_file(files: Files, old: Path, new: Path) -> Files:
    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return new if value == old else value

    return Files(**{f.name: swap(getattr(files, f.name)) for f in fields(files)})


def test_verdict_line_states_the_interval_and_the_budget(md: str) -> None:
    loss = NUMBERS[SSDLITE].ap["INT8"] - NUMBERS[SSDLITE].ap["FP32"]
    below, above = NUMBERS[SSDLITE].margins
    line = (
        f"**Ship INT8: ΔAP {loss:+.4f} [{loss - below:+.4f}, {loss + above:+.4f}] on coco "
        "is within the 0.01 budget.**"
    )
    assert line in md.splitlines()
    assert "Verdict rule: ΔAP = AP(INT8) - AP(FP32) on coco" in md
    assert "Ship if low ≥ -0.01" in md and "Do not ship if high < -0.01" in md
    # INT8 here is slower than the device-default FP32 (bf16): said beside the verdict.
    assert "_Caveat: on the benchmark machine INT8 is slower than FP32 default" in md


@pytest.mark.parametrize(
    ("low", "high", "reference_ap", "expected"),
    [
        (-0.0049, 0.0006, 0.29, "ship"),
        (-0.01, 0.002, 0.29, "ship"),  # the interval's pessimistic end exactly on the budget
        (-0.0101, 0.002, 0.29, "inconclusive"),
        (-0.03, -0.0099, 0.29, "inconclusive"),
        (-0.03, -0.0101, 0.29, "do_not_ship"),
        (None, 0.0, 0.29, "none"),
        # FP32 detects next to nothing (the structure-only archive): no drop can fail.
        (-0.0003, 0.0005, 0.0004, "none"),
    ],
)
def test_verdict_rule(low: float | None, high: float, reference_ap: float, expected: str) -> None:
    assert verdict.verdict_of(low, high, MAX_DROP, reference_ap) == expected
    assert verdict.verdict_of(-0.001, 0.001, None, reference_ap) == "none"


def test_a_model_that_detects_nothing_gets_no_verdict(tmp_path: Path) -> None:
    run = make_run(tmp_path, V1)
    inputs = run.files.read(run.meta)
    for precision, ap in (("FP32", 0.00043), ("INT8", 0.00059)):
        inputs.accuracy["coco"][precision]["stats"]["AP"] = ap
    bounds = inputs.comparisons["coco"]["INT8"]["ap_interval"]
    bounds.update(delta=0.00016, low=-0.0003, high=0.0005)
    head = report.write_report(inputs, run.outputs.named())
    assert head.verdict == "none"
    assert (
        "**No verdict: FP32 AP 0.0004 on coco is within the 0.01 budget itself, so no INT8 drop "
        "could exceed it; the FP32 model barely detects anything"
    ) in run.outputs.md.read_text()


def test_headline_yaml_round_trips(run: Run) -> None:
    head = verdict.Headline.read(run.outputs.headline)
    record = yaml.safe_load(run.outputs.headline.read_text())
    assert head.verdict == record["verdict"] == "ship"
    interval = yaml.safe_load(run.files.deltas["coco"].read_text())["comparisons"]["INT8"]
    assert (head.delta, head.low, head.high) == tuple(
        interval["ap_interval"][k] for k in ("delta", "low", "high")
    )


# Markdown sections


def test_markdown_speed_table_equals_the_benchmark_json(md: str, run: Run) -> None:
    bench = {p: json.loads(f.read_text()) for p, f in run.files.benchmark.items()}
    rows = _md_rows(md, "## Speed")
    shown = {(row["Configuration"], row["Mode"]): row for row in rows}
    expected = [(p, c) for p in PRECISIONS for c in bench[p]["configurations"]]
    assert list(shown) == [(f"{p} {c['setting']}", c["mode"]) for p, c in expected]
    for precision, config in expected:
        row = shown[f"{precision} {config['setting']}", config["mode"]]
        fps, latency = config["summary"]["throughput_fps"], config["summary"]["latency_median_ms"]
        assert row["Throughput (FPS)"] == f"{fps['median']:.1f}"
        assert row["Throughput min-max (FPS)"] == f"{fps['min']:.1f}-{fps['max']:.1f}"
        assert row["Latency median (ms)"] == f"{latency['median']:.2f}"
        assert row["Latency median min-max (ms)"] == f"{latency['min']:.2f}-{latency['max']:.2f}"
        assert row["Latency avg (ms)"] == f"{config['summary']['latency_avg_ms']['median']:.2f}"
        assert row["Inference precision"] == config["inference_precision"]
        assert row["Convolutions in"] == ", ".join(config["executed_layers"]["Convolution"])
        assert row["Streams"] == str(config["streams"])
        assert row["Threads"] == str(config["threads"])
        assert row["Runs"] == str(len(config["runs"]))


def test_speed_table_shows_medians_not_means(md: str) -> None:
    shown = {(r["Configuration"], r["Mode"]): r for r in _md_rows(md, "## Speed")}
    numbers = NUMBERS[SSDLITE]
    for label, fps in numbers.fps.items():
        assert shown[label, "throughput"]["Throughput (FPS)"] == f"{fps:.1f}"
        assert shown[label, "latency"]["Latency median (ms)"] == f"{numbers.latency[label]:.2f}"
    assert shown["INT8 default", "throughput"]["Convolutions in"] == "i8, u8"
    assert shown["FP32 f32", "latency"]["Inference precision"] == "f32"


def test_markdown_speedup_table(md: str) -> None:
    table = _md_table(md, "### Speed-up")
    fps, latency = NUMBERS[SSDLITE].fps, NUMBERS[SSDLITE].latency
    pairs = [("INT8 default", "FP32 f32"), ("INT8 default", "FP32 default")]
    pairs.append(("FP16 default", "FP32 f32"))
    assert list(table) == [f"{t} vs {b}" for t, b in pairs]
    # Hand-computed from the medians above.
    for target, baseline in pairs:
        row = table[f"{target} vs {baseline}"]
        assert row["Throughput (FPS)"] == f"{fps[target]:.1f}"
        assert row["Baseline throughput (FPS)"] == f"{fps[baseline]:.1f}"
        assert row["Throughput speed-up (x)"] == f"{fps[target] / fps[baseline]:.2f}"
        assert row["Latency median (ms)"] == f"{latency[target]:.2f}"
        assert row["Baseline latency median (ms)"] == f"{latency[baseline]:.2f}"
        assert row["Latency speed-up (x)"] == f"{latency[baseline] / latency[target]:.2f}"


def test_markdown_size_table(md: str) -> None:
    sizes = _md_table(md, "## Size")
    ir_sizes = NUMBERS[SSDLITE].ir_sizes
    for precision in PRECISIONS:
        assert sizes[precision]["IR size (MB)"] == f"{ir_sizes[precision] / 1e6:.2f}"
        ratio = ir_sizes[precision] / ir_sizes["FP32"]
        assert sizes[precision]["Size vs FP32 (x)"] == f"{ratio:.2f}"


def test_one_class_set_says_its_class(md: str) -> None:
    assert "a one-class set, scored on person only: its AP is the person AP." in md
    assert _md_table(md, "### Evaluation sets")["person"]["Classes"] == "person"
    assert _md_table(md, "### Evaluation sets")["coco"]["Classes"] == "all"
    assert "#### person: per-class AP" not in md  # its one class's ΔAP is the set's


def test_markdown_links_samples_and_plots_relative_to_itself(md: str, run: Run) -> None:
    base = run.outputs.md.parent
    links = re.findall(r"\[(FP32|FP16|INT8)\]\(([^)]+)\)", md)
    assert len(links) == len(PRECISIONS) * len(IMAGES)
    for precision, link in links:
        assert not link.startswith("/")
        assert (base / link).resolve().parent == run.files.samples[precision].resolve()
    # One line per image, FP32 and INT8 side by side first.
    first = next(line for line in md.splitlines() if line.startswith(f"- {IMAGES[0]}"))
    assert first.index("[FP32]") < first.index("[INT8]") < first.index("[FP16]")
    # Every chart with something to draw (not the one-class set's per-class chart).
    plots = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    drawn = [
        p for name, p in run.outputs.plots.items() if name != report_charts.class_chart("person")
    ]
    assert sorted((base / p).resolve() for p in plots) == sorted(p.resolve() for p in drawn)


def test_markdown_says_how_it_was_made(md: str, run: Run) -> None:
    bench = [json.loads(f.read_text()) for f in run.files.benchmark.values()]
    for text in (
        f"**archive.sha256**: {SSDLITE_ARCHIVE.sha256}",
        f"**archive.url**: {SSDLITE_ARCHIVE.url}",
        "**Made from**: archive",
        "**anchor_check.result**: the anchors from pipeline.config match the graph's",
        "**postprocess.box_coder_scales**: 10.0, 10.0, 5.0, 5.0",
        "mode default (nncf.quantize), preset performance, 300 calibration images from "
        "../shared/data/coco-val2017-person/val2017; 88 FakeQuantize ops",
        "**Layers kept in float**: none",
        "detections scoring at or below 1e-08 are dropped before COCO evaluation",
        f"**ΔAP interval**: {BOOTSTRAP}",
        "seeded permutation of the annotated image ids",
        "preset: performance",
        *run.meta["commands"],
        *(c["command"] for record in bench for c in record["configurations"]),
        "**ISA flags**: avx2: yes, avx512f: yes, avx512_vnni: yes",
        "amx_tile: no, amx_int8: yes",
        "**Cores**: 2 logical, 1 physical, 2 usable",
        "**OpenVINO**: 2026.4.1",
        "**NNCF**: 3.4.0",
    ):
        assert text in md


def test_accuracy_control_shows_its_budget_and_float_layers(tmp_path: Path) -> None:
    v1 = make_run(tmp_path, V1)
    write_run(v1)
    md = v1.outputs.md.read_text()
    assert "mode accuracy_control (nncf.quantize_with_accuracy_control)" in md
    assert (
        "**Accuracy control**: max_drop 0.01 COCO AP (absolute) on 300 validation images "
        "(the calibration images, never evaluated): FP32 AP 0.3012, INT8 AP 0.2931, drop 0.0081"
    ) in md
    assert (
        "**Layers kept in float**: BoxPredictor_0/ClassPredictor/Conv2D, "
        "BoxPredictor_5/ClassPredictor/Conv2D"
    ) in md
    assert "Reverted 2 operations" in md
    assert "**Inconclusive: ΔAP -0.0121 [-0.0180, -0.0061] on coco straddles the 0.01" in md
    assert mismatches(md, v1) == []


# HTML


def _attributes(page: str, name: str) -> list[str]:
    return re.findall(rf"""\b{name}\s*=\s*["']?([^"'\s>]*)""", page, flags=re.IGNORECASE)


def _decode(uri: str) -> tuple[str, bytes]:
    match = re.fullmatch(r"data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=]+)", uri)
    assert match, uri[:60]
    return match[1], base64.b64decode(match[2], validate=True)


def test_html_needs_no_network(page: str) -> None:
    sources = _attributes(page, "src")
    assert sources, "expected embedded images"
    assert all(s.startswith("data:") for s in sources)
    assert all(h.startswith("#") for h in _attributes(page, "href"))  # contents links only
    for external in ("<link", "<script", "url(", "@import", "http-equiv"):
        assert external not in page.lower()


def test_html_embeds_the_plot_files_and_samples(page: str, run: Run) -> None:
    decoded = [_decode(uri) for uri in _attributes(page, "src")]
    for mime, data in decoded:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert Image.MIME[image.format] == mime
            assert image.width > 0 and image.height > 0
    pngs = [data for mime, data in decoded if mime == "image/png"]
    jpegs = [data for mime, data in decoded if mime == "image/jpeg"]
    # ΔAP, the per-class chart (of coco: person has one class), then speed.
    order = [
        report_charts.DELTA_CHART,
        report_charts.class_chart("coco"),
        *report_charts.SPEED_CHARTS,
    ]
    assert pngs == [run.outputs.plots[name].read_bytes() for name in order]
    samples = {p: sorted(f.glob("*.jpg")) for p, f in run.files.samples.items()}
    side_by_side = ("FP32", "INT8", "FP16")
    assert jpegs == [samples[p][i].read_bytes() for i in range(len(IMAGES)) for p in side_by_side]


def test_plot_files_are_pictures_with_data(run: Run) -> None:
    for name, path in run.outputs.plots.items():
        with Image.open(path) as image:
            assert image.format == "PNG"
            # A one-class set gets a note instead of a one-bar chart.
            if name == report_charts.class_chart("person"):
                assert image.height < 150
                continue
            assert image.width > 300 and image.height > 150
            assert len(image.convert("RGB").getcolors(1 << 20)) > 20


def test_html_shows_the_same_numbers(page: str, run: Run) -> None:
    numbers = NUMBERS[SSDLITE]
    for precision in PRECISIONS:
        assert f'<td class="num">{numbers.ap[precision]:.4f}</td>' in page
    for label, fps in numbers.fps.items():
        assert f'<td class="num">{fps:.1f}</td>' in page
        assert f'<td class="num">{numbers.latency[label]:.2f}</td>' in page
    loss = numbers.ap["INT8"] - numbers.ap["FP32"]
    assert f'<div class="value">{loss:+.4f}</div>' in page
    assert '<div class="verdict ship"><p class="line">Ship INT8: ' in page
    assert f'<div class="value">{212.6 / 154.9:.2f}x</div>' in page
    assert f"<dd>{SSDLITE_ARCHIVE.sha256}</dd>" in page
    assert "<dd>Intel(R) Xeon(R) Platinum 8480+</dd>" in page  # text is escaped, not injected


# Tables and edge cases


def test_tables_order_precisions() -> None:
    benchmark = {p: _benchmark(SSDLITE, p) for p in ("INT8", "FP16", "FP32")}
    sizes = report_tables.size_table(dict(reversed(NUMBERS[SSDLITE].ir_sizes.items())))
    assert list(sizes.frame.index) == list(PRECISIONS)
    configurations = [(p, c) for p in benchmark for c in benchmark[p]["configurations"]]
    speed = report_tables.speed_table(configurations).frame
    assert list(dict.fromkeys(speed.index)) == [
        "INT8 default",
        "FP16 default",
        "FP32 f32",
        "FP32 default",
    ]
    speedups = report_tables.speedup_table(benchmark).frame
    assert speedups.at["INT8 default vs FP32 f32", "Throughput speed-up (x)"] == pytest.approx(
        212.6 / 154.9
    )


def test_benchmark_fixtures_follow_the_schema() -> None:
    for model in NUMBERS:
        for precision in PRECISIONS:
            validate(_benchmark(model, precision))


def test_speed_charts_draw_the_spread() -> None:
    benchmark = {p: _benchmark(SSDLITE, p) for p in PRECISIONS}
    measured = [
        (f"{p} {c['setting']}", c["mode"], c["summary"])
        for p in PRECISIONS
        for c in benchmark[p]["configurations"]
    ]
    no_spread = [
        (label, mode, {k: {**v, "min": v["median"], "max": v["median"]} for k, v in s.items()})
        for label, mode, s in measured
    ]

    def charts(rows: list) -> dict[str, report_charts.Chart]:
        return report_charts.draw_charts([], rows, {}, MAX_DROP)

    assert charts(no_spread)["throughput"].png != charts(measured)["throughput"].png
    throughput_only = charts([row for row in measured if row[1] == "throughput"])
    assert throughput_only["throughput"].drawn and not throughput_only["latency"].drawn
    assert not throughput_only[report_charts.DELTA_CHART].drawn


def test_without_fp32_there_is_no_verdict_and_every_plot_is_written(tmp_path: Path) -> None:
    base = make_run(tmp_path, SSDLITE)
    files = replace(
        base.files,
        accuracy={d: _without_fp32(fs) for d, fs in base.files.accuracy.items()},
        deltas={},
        benchmark=_without_fp32(base.files.benchmark),
        samples=_without_fp32(base.files.samples),
        ir_bins=_without_fp32(base.files.ir_bins),
    )
    head = write_run(replace(base, files=files))
    assert head.verdict == "none"
    md = base.outputs.md.read_text()
    assert "**No verdict: it needs FP32 and INT8 accuracy on coco" in md
    assert "No comparison: it needs FP32" in md
    assert "change vs FP32" not in md
    assert all(path.stat().st_size > 0 for path in base.outputs.plots.values())
    assert "![" not in md.split("## Speed")[0]  # no ΔAP chart to show
    assert base.outputs.html.read_text().count("data:image/png") == 2  # the speed charts


def _without_fp32(by_precision: Mapping[str, Path]) -> dict[str, Path]:
    return {p: f for p, f in by_precision.items() if p != "FP32"}


def test_missing_optional_values_show_a_dash(tmp_path: Path) -> None:
    run = make_run(tmp_path, SSDLITE)
    benchmark = {p: _benchmark(SSDLITE, p) for p in ("FP32", "INT8")}  # FP16 not benchmarked
    for record in benchmark.values():
        record["nncf_version"] = record["machine"]["cpu_model"] = None
        for config in record["configurations"]:
            config["inference_precision"] = config["streams"] = config["threads"] = None
            config["executed_layers"] = {}
        validate(record)  # these are the values the schema lets be absent
    inputs = report.ReportInputs(
        accuracy={"coco": {p: _accuracy(SSDLITE, "coco", p) for p in PRECISIONS}},
        comparisons={"coco": {}},
        benchmark=benchmark,
        samples={},
        ir_sizes={},
        conversion={"source": "archive"},
        quantization=None,
        meta={},
    )
    outputs = replace(run.outputs, plots={n: run.outputs.plots[n] for n in CHARTS[:4]})
    report.write_report(inputs, outputs.named())
    md = outputs.md.read_text()
    speed = _md_rows(md, "## Speed")
    assert {row["Configuration"] for row in speed} == {"FP32 f32", "FP32 default", "INT8 default"}
    for column in ("Inference precision", "Convolutions in", "Streams"):
        assert {row[column] for row in speed} == {verdict.MISSING}
    assert f"**CPU**: {verdict.MISSING}" in md
    assert f"**NNCF**: {verdict.MISSING}" in md
    assert "**Quantization**: no INT8 model in this run" in md
    assert "**Post-processing**" not in md  # the conversion record does not say
    assert _md_table(md, "## Headline")["IR size, INT8 / FP32"]["Value"] == verdict.MISSING
    assert "<dd>—</dd>" in outputs.html.read_text()


@pytest.mark.parametrize(
    ("value", "spec", "text"),
    [
        (0.2312345, verdict.STAT, "0.2312"),
        (-0.0000004, verdict.DELTA, "-0.0000"),
        (-0.00656, verdict.DELTA, "-0.0066"),
        (241.36, verdict.FPS, "241.4"),
        (8.127, verdict.MS, "8.13"),
        (2.5822, verdict.RATIO, "2.58"),
        (None, verdict.FPS, verdict.MISSING),
        (math.nan, verdict.STAT, verdict.MISSING),
        (math.inf, verdict.RATIO, verdict.MISSING),
        (2.0, verdict.INT, "2"),
        ("f32", "", "f32"),
    ],
)
def test_format(value: Any, spec: str, text: str) -> None:
    assert verdict.fmt(value, spec) == text


def test_format_pairs() -> None:
    assert verdict.fmt((93.4712, 101.06), verdict.FPS) == "93.5-101.1"
    assert verdict.fmt((7.3, 7.412), verdict.MS) == "7.30-7.41"
    assert verdict.fmt(None, verdict.MS) == verdict.fmt((1.0, None), verdict.MS) == verdict.MISSING
    assert verdict.interval((-0.00491, 0.00062)) == "[-0.0049, +0.0006]"


def test_write_report_leaves_no_temporary_files(run: Run) -> None:
    model_dir = run.outputs.md.parent
    names = sorted(p.name for p in model_dir.iterdir())
    written = ["headline.yaml", "plots", "report.html", "report.md"]
    assert names == sorted([*written, "accuracy", "benchmark", "ir", "samples"])
    assert sorted(p.name for p in (model_dir / "plots").iterdir()) == sorted(
        f"{n}.png" for n in CHARTS
    )


# Index


def make_index(root: Path) -> tuple[dict[str, Run], Path, Path]:
    """Two models' reports under one results folder, and the index page linking them."""
    runs = {model: make_run(root, model) for model in (SSDLITE, V1)}
    for run in runs.values():
        write_run(run)
    paths = Paths(root)
    report.write_index(index_inputs(runs), list(runs), paths.index_md, paths.index_html)
    return runs, paths.index_md, paths.index_html


def index_inputs(runs: Mapping[str, Run]) -> dict[str, Path]:
    """Rule index's inputs, named as rules/common.smk names them."""
    kinds = ("headline", "html", "md")
    return {input_key(k, m): getattr(run.outputs, k) for m, run in runs.items() for k in kinds}


def test_index_links_every_report_with_its_headline(tmp_path: Path) -> None:
    runs, index_md, index_html = make_index(tmp_path)
    rows = _md_rows(index_md.read_text(), "# INT8 vs FP32: one report per model")
    # The model's name links to its report.html; the Markdown column to its report.md.
    links = [re.fullmatch(r"\[([^\]]+)\]\(([^)]+)\)", row["Model"]) for row in rows]
    assert [link[1] for link in links] == [SSDLITE, V1]
    for link, row, run in zip(links, rows, runs.values(), strict=True):
        assert (tmp_path / link[2]).resolve() == run.outputs.html.resolve()
        md_link = re.fullmatch(r"\[report\.md\]\(([^)]+)\)", row["Markdown"])
        assert md_link and (tmp_path / md_link[1]).resolve() == run.outputs.md.resolve()
        delta = yaml.safe_load(run.files.deltas["coco"].read_text())
        bounds = delta["comparisons"]["INT8"]["ap_interval"]
        assert row["ΔAP"] == f"{bounds['delta']:+.4f}"
        assert row["ΔAP 95% interval"] == f"[{bounds['low']:+.4f}, {bounds['high']:+.4f}]"
        assert row["Images"] == str(delta["images"])
        bench = {p: json.loads(f.read_text()) for p, f in run.files.benchmark.items()}
        for baseline in ("FP32 f32", "FP32 default"):
            before, after = _medians(bench, baseline, "throughput")
            assert row[f"Throughput vs {baseline} (x)"] == f"{after / before:.2f}"
            before, after = _medians(bench, baseline, "latency")
            assert row[f"Latency vs {baseline} (x)"] == f"{before / after:.2f}"
        sizes = {p: f.stat().st_size for p, f in run.files.ir_bins.items()}
        assert row["Size vs FP32 (x)"] == f"{sizes['INT8'] / sizes['FP32']:.2f}"
    assert [row["Verdict"] for row in rows] == ["Ship INT8", "Inconclusive"]
    page = index_html.read_text()
    hrefs = _attributes(page, "href")
    assert sorted(hrefs) == sorted(f"{m}/report.{ext}" for m in runs for ext in ("html", "md"))
    assert '<span class="inconclusive">Inconclusive</span>' in page
    assert '<span class="bad">0.68</span>' in page  # ssdlite's INT8 is slower than bf16 FP32
    assert "<script" not in page and "src=" not in page
