"""The report shows exactly the numbers it was given, and the HTML page is self-contained."""

from __future__ import annotations

import base64
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from test_benchmark import make_record, validate

from conftest import SUBSET
from ovflow import report
from ovflow.detections import Detections
from ovflow.draw import draw_detections

PRECISIONS = ("FP32", "FP16", "INT8")
IMAGES = ("000000000139.jpg", "000000000802.jpg")
AP = {"FP32": 0.231234, "FP16": 0.230987, "INT8": 0.224671}
# Median FPS (throughput mode) and median latency (latency mode) of each configuration.
FPS = {"FP32 f32": 93.47, "FP32 default": 289.35, "FP16 default": 288.4, "INT8 default": 241.36}
LATENCY = {"FP32 f32": 21.236, "FP32 default": 7.412, "FP16 default": 7.5, "INT8 default": 8.127}
IR_SIZES = {"FP32": 27_370_218, "FP16": 13_691_870, "INT8": 7_152_348}
# Ratios of each stat to AP, to make the other 11 stats differ from AP and each other.
STAT_SHAPE = dict(
    zip(
        report.STATS,
        (1.0, 1.52, 1.03, 0.09, 0.71, 1.61, 0.93, 1.19, 1.22, 0.17, 0.99, 1.78),
        strict=True,
    )
)
CLASSES = [f"class{i:02d}" for i in range(25)]


def _accuracy(precision: str) -> dict[str, Any]:
    shift = {"FP32": 0.0, "FP16": -0.0003, "INT8": -0.0071}[precision]
    per_class: dict[str, float | None] = {
        name: 0.1 + 0.013 * i + shift * (1 + (i % 7)) for i, name in enumerate(CLASSES)
    }
    per_class["class03"] = None  # no ground truth of that class in the evaluated images
    return {
        "model": "ssd_mobilenet_v1_coco",
        "precision": precision,
        "images": 200,
        "annotations": 1437,
        "stats": {
            s: AP[precision] * k + 0.00001 * i for i, (s, k) in enumerate(STAT_SHAPE.items())
        },
        "per_class_ap": per_class,
        "runtime": {"openvino": "2025.3.0", "nncf": "2.18.0"},
    }


def _runs(median: float, low: float, high: float) -> list[float]:
    """Three runs whose median is `median` (not their mean), spread low..high around it."""
    return [median * high, median, median * low]


def _benchmark(precision: str) -> dict[str, Any]:
    speeds = {}
    for label in FPS:
        ir_precision, setting = label.split()
        if ir_precision == precision:
            speeds[setting, "throughput"] = (
                _runs(FPS[label], 0.97, 1.05),
                _runs(LATENCY[label] * 2.1, 0.9, 1.3),
            )
            speeds[setting, "latency"] = (
                _runs(1000 / LATENCY[label], 0.98, 1.01),
                _runs(LATENCY[label], 0.95, 1.02),
            )
    return make_record(precision, speeds)


ACCURACY = {p: _accuracy(p) for p in PRECISIONS}
BENCHMARK = {p: _benchmark(p) for p in PRECISIONS}
META: report.ReportMeta = {
    "model": "ssd_mobilenet_v1_coco",
    "description": "SSD MobileNet V1, TF Object Detection API, COCO",
    "archive_url": "http://download.tensorflow.org/models/object_detection/x.tar.gz",
    "archive_sha256": "8788f89108519fd1102b8a5c2ac861cf6d86603571b6ce5bbd1c245b7fe005e3",
    "quantization_preset": "performance",
    "calibration_images": 300,
    "calibration_source": "val2017 images held out of evaluation",
    "eval_images": 200,
    "eval_selection": "random sample, seed 0",
    "config": {"models": ["ssd_mobilenet_v1_coco"], "quantization": {"preset": "performance"}},
    "commands": ["snakemake --cores 2 --configfile config.yaml", "pytest -q"],
}


@pytest.fixture(scope="module")
def results(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results") / "ssd_mobilenet_v1_coco"


@pytest.fixture(scope="module")
def samples(results: Path) -> dict[str, list[Path]]:
    """Annotated JPEGs of two real images, slightly different detections per precision."""
    out: dict[str, list[Path]] = {}
    for k, precision in enumerate(PRECISIONS):
        dets = Detections(
            labels=np.array([1, 62], dtype=np.int64),
            scores=np.array([0.91 - 0.02 * k, 0.55], dtype=np.float32),
            boxes=np.array(
                [[0.1, 0.3 + 0.01 * k, 0.4, 0.8], [0.6, 0.55, 0.9, 0.9]], dtype=np.float32
            ),
        )
        out[precision] = []
        for name in IMAGES:
            path = results / "samples" / precision / name
            draw_detections(
                SUBSET / "val2017" / name, dets, {1: "person", 62: "chair"}, path, 0.4, precision
            )
            out[precision].append(path)
    return out


@pytest.fixture(scope="module")
def benchmark_json(results: Path) -> dict[str, dict[str, Any]]:
    """The benchmark records as the report rule gets them: read back from JSON files."""
    records = {}
    for precision, record in BENCHMARK.items():
        path = results / "benchmark" / f"{precision}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2))
        records[precision] = json.loads(path.read_text())
    return records


@pytest.fixture(scope="module")
def written(
    results: Path, samples: dict[str, list[Path]], benchmark_json: dict[str, dict[str, Any]]
) -> tuple[str, str]:
    md_path, html_path = results / "report.md", results / "report.html"
    report.write_report(
        md_path,
        html_path,
        accuracy=ACCURACY,
        benchmark=benchmark_json,
        samples=samples,
        ir_sizes=IR_SIZES,
        meta=META,
    )
    return md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")


def _md_rows(md: str, heading: str) -> list[dict[str, str]]:
    """The first table after `heading`, as one {column: cell} per row."""
    lines = md[md.index(f"\n{heading}\n") :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    header, body = rows[0], rows[2:]
    return [dict(zip(header, row, strict=True)) for row in body]


def _md_table(md: str, heading: str) -> dict[str, dict[str, str]]:
    """The first table after `heading`, as {first cell: {column: cell}}."""
    return {next(iter(row.values())): row for row in _md_rows(md, heading)}


def test_benchmark_fixtures_follow_the_schema() -> None:
    for record in BENCHMARK.values():
        validate(record)


# Markdown


def test_markdown_accuracy_table_shows_every_stat(written: tuple[str, str]) -> None:
    table = _md_table(written[0], "## Accuracy")
    assert list(table) == list(PRECISIONS)
    for precision in PRECISIONS:
        assert f"{AP[precision]:.4f}" in written[0]
        for stat, value in ACCURACY[precision]["stats"].items():
            assert table[precision][stat] == f"{value:.4f}"


def test_markdown_speed_table_equals_the_benchmark_json(
    written: tuple[str, str], benchmark_json: dict[str, dict[str, Any]]
) -> None:
    rows = _md_rows(written[0], "## Speed")
    shown = {(row["Configuration"], row[report.MODE]): row for row in rows}
    expected = [(p, c) for p in PRECISIONS for c in benchmark_json[p]["configurations"]]
    assert list(shown) == [(f"{p} {c['setting']}", c["mode"]) for p, c in expected]
    for precision, config in expected:
        row = shown[f"{precision} {config['setting']}", config["mode"]]
        fps, latency = config["summary"]["throughput_fps"], config["summary"]["latency_median_ms"]
        assert row[report.FPS] == f"{fps['median']:.1f}"
        assert row[report.FPS_RANGE] == f"{fps['min']:.1f}-{fps['max']:.1f}"
        assert row[report.LATENCY_MEDIAN] == f"{latency['median']:.2f}"
        assert row[report.LATENCY_RANGE] == f"{latency['min']:.2f}-{latency['max']:.2f}"
        assert row[report.LATENCY_AVG] == f"{config['summary']['latency_avg_ms']['median']:.2f}"
        assert row[report.INFERENCE_PRECISION] == config["inference_precision"]
        assert row[report.CONV_PRECISION] == ", ".join(config["executed_layers"]["Convolution"])
        assert row[report.STREAMS] == str(config["streams"])
        assert row[report.THREADS] == str(config["threads"])
        assert row[report.RUNS] == str(len(config["runs"]))


def test_speed_table_shows_medians_not_means(written: tuple[str, str]) -> None:
    shown = {(r["Configuration"], r[report.MODE]): r for r in _md_rows(written[0], "## Speed")}
    for label, fps in FPS.items():
        assert shown[label, "throughput"][report.FPS] == f"{fps:.1f}"
        assert shown[label, "latency"][report.LATENCY_MEDIAN] == f"{LATENCY[label]:.2f}"
    assert shown["INT8 default", "throughput"][report.CONV_PRECISION] == "i8, u8"
    assert shown["FP32 f32", "latency"][report.INFERENCE_PRECISION] == "f32"


def test_markdown_speedup_table(written: tuple[str, str]) -> None:
    table = _md_table(written[0], "### Speed-up")
    assert list(table) == [
        "INT8 default vs FP32 f32",
        "INT8 default vs FP32 default",
        "FP16 default vs FP32 f32",
    ]
    # Hand-computed from the medians above.
    for name, target, baseline in (
        ("INT8 default vs FP32 f32", 241.36, 93.47),
        ("INT8 default vs FP32 default", 241.36, 289.35),
        ("FP16 default vs FP32 f32", 288.4, 93.47),
    ):
        assert table[name][report.FPS] == f"{target:.1f}"
        assert table[name][report.BASELINE_FPS] == f"{baseline:.1f}"
        assert table[name][report.SPEEDUP] == f"{target / baseline:.2f}"
    for name, target, baseline in (
        ("INT8 default vs FP32 f32", 8.127, 21.236),
        ("INT8 default vs FP32 default", 8.127, 7.412),
        ("FP16 default vs FP32 f32", 7.5, 21.236),
    ):
        assert table[name][report.LATENCY_MEDIAN] == f"{target:.2f}"
        assert table[name][report.BASELINE_LATENCY] == f"{baseline:.2f}"
        assert table[name][report.LATENCY_SPEEDUP] == f"{baseline / target:.2f}"


def test_markdown_size_and_deltas_against_fp32(written: tuple[str, str]) -> None:
    sizes = _md_table(written[0], "## Size")
    for precision in PRECISIONS:
        assert sizes[precision][report.SIZE] == f"{IR_SIZES[precision] / 1e6:.2f}"
    table = _md_table(written[0], "## Change vs FP32")
    assert list(table) == ["FP16", "INT8"]
    for precision in ("FP16", "INT8"):
        row = table[precision]
        for stat in report.STATS:
            diff = ACCURACY[precision]["stats"][stat] - ACCURACY["FP32"]["stats"][stat]
            assert row[f"Δ{stat}"] == f"{diff:+.4f}"
        assert row[report.SIZE_RATIO] == f"{IR_SIZES[precision] / IR_SIZES['FP32']:.2f}"


def test_headline_compares_int8_with_both_fp32_baselines(written: tuple[str, str]) -> None:
    line = next(line for line in written[0].splitlines() if line.startswith("**INT8 vs FP32"))
    assert f"ΔAP {AP['INT8'] - AP['FP32']:+.4f}" in line
    assert f"{241.36 / 93.47:.2f}x vs FP32 f32 (93.5 → 241.4 FPS)" in line
    assert f"{241.36 / 289.35:.2f}x vs FP32 default (289.4 → 241.4 FPS)" in line
    assert f"{21.236 / 8.127:.2f}x vs FP32 f32 (21.24 → 8.13 ms)" in line
    assert f"{7.412 / 8.127:.2f}x vs FP32 default (7.41 → 8.13 ms)" in line
    assert f"{IR_SIZES['FP32'] / 1e6:.2f} → {IR_SIZES['INT8'] / 1e6:.2f} MB" in line


def test_markdown_links_samples_relative_to_itself(
    written: tuple[str, str], results: Path, samples: dict[str, list[Path]]
) -> None:
    links = re.findall(r"\[(FP32|FP16|INT8)\]\(([^)]+)\)", written[0])
    assert len(links) == len(PRECISIONS) * len(IMAGES)
    for precision, link in links:
        assert not link.startswith("/")
        assert (results / link).resolve() in [p.resolve() for p in samples[precision]]
    # One line per image, precisions in report order.
    first = next(line for line in written[0].splitlines() if line.startswith(f"- {IMAGES[0]}"))
    assert first.index("[FP32]") < first.index("[FP16]") < first.index("[INT8]")


def test_markdown_says_how_it_was_made(written: tuple[str, str]) -> None:
    md = written[0]
    for text in (
        META["archive_sha256"],
        META["archive_url"],
        "preset performance",
        "300 calibration images",
        "random sample, seed 0",
        "preset: performance",
        *META["commands"],
        *(c["command"] for r in BENCHMARK.values() for c in r["configurations"]),
        "**ISA flags**: avx2: yes, avx512f: yes, avx512_vnni: yes",
        "amx_tile: no, amx_int8: yes",
        "**Cores**: 2 logical, 1 physical, 2 usable",
        "**OpenVINO**: 2026.4.1",
        "**NNCF**: 3.4.0",
    ):
        assert text in md


# HTML


def _attributes(page: str) -> list[str]:
    return re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", page, flags=re.IGNORECASE)


def _decode(uri: str) -> tuple[str, bytes]:
    match = re.fullmatch(r"data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=]+)", uri)
    assert match, uri[:60]
    return match[1], base64.b64decode(match[2], validate=True)


def test_html_needs_no_network(written: tuple[str, str]) -> None:
    page = written[1]
    attributes = _attributes(page)
    assert attributes, "expected embedded images"
    assert all(a.startswith("data:") for a in attributes)
    assert not [a for a in attributes if "http://" in a or "https://" in a]
    for external in ("<link", "<script", "url(", "@import"):
        assert external not in page.lower()


def test_html_images_are_valid_embedded_pictures(
    written: tuple[str, str], samples: dict[str, list[Path]]
) -> None:
    tags = re.findall(r"<img\b[^>]*>", written[1])
    uris = [re.search(r'src="([^"]+)"', tag)[1] for tag in tags]
    decoded = [_decode(uri) for uri in uris]
    for mime, data in decoded:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert Image.MIME[image.format] == mime
            assert image.width > 0 and image.height > 0
    pngs = [data for mime, data in decoded if mime == "image/png"]
    jpegs = [data for mime, data in decoded if mime == "image/jpeg"]
    assert len(pngs) == 4  # AP, throughput, latency, per-class ΔAP
    # Samples: one row per image, one column per precision, the files' exact bytes.
    assert jpegs == [samples[p][i].read_bytes() for i in range(len(IMAGES)) for p in PRECISIONS]


def test_html_shows_the_same_numbers(written: tuple[str, str]) -> None:
    page = written[1]
    for precision in PRECISIONS:
        assert f'<td class="num">{AP[precision]:.4f}</td>' in page
    for label, fps in FPS.items():
        assert f'<td class="num">{fps:.1f}</td>' in page
        assert f'<td class="num">{LATENCY[label]:.2f}</td>' in page
    assert f'<td class="num">{AP["INT8"] - AP["FP32"]:+.4f}</td>' in page
    assert f'<td class="num">{241.36 / 93.47:.2f}</td>' in page
    assert META["archive_sha256"] in page
    # Text is escaped, not injected.
    assert "<dd>Intel(R) Xeon(R) Platinum 8480+</dd>" in page


def test_html_without_int8_per_class_ap_has_three_charts() -> None:
    accuracy = {p: {**ACCURACY[p], "per_class_ap": {}} for p in PRECISIONS}
    tables = report.build_tables(accuracy, BENCHMARK, IR_SIZES)
    page = report.render_html(tables, META, {}, accuracy)
    assert page.count("data:image/png;base64,") == 3
    assert "data:image/jpeg" not in page


# Tables


def test_speed_charts_draw_the_spread() -> None:
    speed = report.build_tables(ACCURACY, BENCHMARK, IR_SIZES)["speed"]
    args = ("throughput", report.FPS, report.FPS_RANGE, "Throughput", "FPS")
    uri, _ = report._speed_chart(speed, *args)
    no_spread = speed.assign(**{report.FPS_RANGE: [(v, v) for v in speed[report.FPS]]})
    assert report._speed_chart(no_spread, *args)[0] != uri  # the whiskers are drawn
    latency_only = speed[speed[report.MODE] == "latency"]
    assert report._speed_chart(latency_only, *args)[0] is None


def test_build_tables_orders_precisions_and_computes_deltas() -> None:
    shuffled = {p: ACCURACY[p] for p in ("INT8", "FP32", "FP16")}
    benchmark = {p: BENCHMARK[p] for p in ("INT8", "FP16", "FP32")}
    tables = report.build_tables(shuffled, benchmark, IR_SIZES)
    assert list(tables["accuracy"].index) == list(PRECISIONS)
    assert list(tables["accuracy"].columns) == list(report.STATS)
    assert list(dict.fromkeys(tables["speed"].index)) == list(FPS)
    deltas = tables["deltas"]
    assert deltas.at["INT8", "ΔAP"] == pytest.approx(AP["INT8"] - AP["FP32"])
    assert deltas.at["FP16", "ΔAP"] == pytest.approx(AP["FP16"] - AP["FP32"])
    assert tables["speedups"].at["INT8 default vs FP32 f32", report.SPEEDUP] == pytest.approx(
        241.36 / 93.47
    )
    assert deltas.at["INT8", report.SIZE_RATIO] == pytest.approx(
        IR_SIZES["INT8"] / IR_SIZES["FP32"]
    )


def test_without_fp32_the_delta_table_is_empty() -> None:
    accuracy = {p: ACCURACY[p] for p in ("FP16", "INT8")}
    benchmark = {p: BENCHMARK[p] for p in ("FP16", "INT8")}
    tables = report.build_tables(accuracy, benchmark, {"INT8": IR_SIZES["INT8"]})
    assert tables["deltas"].empty
    assert tables["speedups"].empty
    md = report.render_markdown(tables, META)
    assert "No FP32 results to compare against" in md
    assert "No INT8 vs FP32 comparison" in md
    assert "No comparison: it needs FP32" in md
    assert f"{AP['INT8']:.4f}" in md


def test_missing_optional_values_show_a_dash() -> None:
    benchmark = {p: _benchmark(p) for p in ("FP32", "INT8")}  # FP16 not benchmarked
    for record in benchmark.values():
        record["nncf_version"] = record["machine"]["cpu_model"] = None
        for config in record["configurations"]:
            config["inference_precision"] = config["streams"] = config["threads"] = None
            config["executed_layers"] = {}
        validate(record)  # these are the values the schema lets be absent
    tables = report.build_tables(ACCURACY, benchmark, {})
    md = report.render_markdown(tables, {})
    speed = _md_rows(md, "## Speed")
    assert {row["Configuration"] for row in speed} == {"FP32 f32", "FP32 default", "INT8 default"}
    for column in (report.INFERENCE_PRECISION, report.CONV_PRECISION, report.STREAMS):
        assert {row[column] for row in speed} == {report.MISSING}
    assert list(_md_table(md, "### Speed-up")) == [
        "INT8 default vs FP32 f32",
        "INT8 default vs FP32 default",
    ]
    assert _md_table(md, "## Size")["INT8"][report.SIZE] == report.MISSING
    assert _md_table(md, "## Environment")["FP16"]["Repeats"] == report.MISSING
    assert _md_table(md, "## Change vs FP32")["INT8"][report.SIZE_RATIO] == report.MISSING
    assert f"**CPU**: {report.MISSING}" in md
    assert f"**NNCF**: {report.MISSING}" in md
    report.render_html(tables, {}, {}, ACCURACY)  # renders without the optional values


def test_per_class_delta_is_worst_first_without_missing_classes() -> None:
    deltas = report.per_class_delta(ACCURACY)
    assert "class03" not in deltas.index
    assert len(deltas) == len(CLASSES) - 1
    assert list(deltas) == sorted(deltas)
    worst = deltas.index[0]
    expected = ACCURACY["INT8"]["per_class_ap"][worst] - ACCURACY["FP32"]["per_class_ap"][worst]
    assert deltas.iloc[0] == pytest.approx(expected)
    assert report.per_class_delta({"FP32": ACCURACY["FP32"]}).empty


def test_ordered_precisions_puts_known_ones_first() -> None:
    assert report.ordered_precisions(["INT4", "INT8"], ["FP32"]) == ["FP32", "INT8", "INT4"]


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (0.2312345, "stat", "0.2312"),
        (-0.0000004, "delta", "-0.0000"),
        (-0.00656, "delta", "-0.0066"),
        (241.36, "fps", "241.4"),
        (8.127, "ms", "8.13"),
        (2.5822, "ratio", "2.58"),
        (None, "fps", report.MISSING),
        (math.nan, "stat", report.MISSING),
        (math.inf, "ratio", report.MISSING),
        (2.0, "int", "2"),
        ("f32", "text", "f32"),
        ((93.4712, 101.06), "fps_range", "93.5-101.1"),
        ((7.3, 7.412), "ms_range", "7.30-7.41"),
        (None, "ms_range", report.MISSING),
    ],
)
def test_format_value(value: Any, kind: report.Kind, text: str) -> None:
    assert report.format_value(value, kind) == text


def test_write_report_leaves_no_temporary_files(written: tuple[str, str], results: Path) -> None:
    names = sorted(p.name for p in results.iterdir())
    assert names == ["benchmark", "report.html", "report.md", "samples"]
