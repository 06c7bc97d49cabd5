"""What the report takes from its inputs beyond the figures: user-controlled strings escaped in
both formats, the conversion record of any model source, the classes left out of scoring, the
index's trust in headline.yaml, and a one-line error for a record that is not one.

Fixtures are test_report's files, edited the way another model or another set would write them.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt
from test_report import SSDLITE, Run, _md_table, index_inputs, make_index, make_run, write_run

from ovflow import report
from ovflow.errors import OvflowError

CLASS = "<img src=x onerror=alert(1)>"
URL = "http://example.com/<script>alert(2)</script>.tar.gz"


def _edit(path: Path, change: Any) -> None:
    record = yaml.safe_load(path.read_text())
    change(record)
    path.write_text(yaml.safe_dump(record, sort_keys=False))


class _Tags(HTMLParser):
    """The elements of an HTML page and their attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _injected(page: str) -> list[tuple[str, dict[str, str | None]]]:
    """Elements a user string could have injected: scripts, and images that are not the
    report's own (charts and samples, as data: URIs in HTML or relative files in Markdown)."""
    own = ("data:image/", "plots/", "samples/")
    return [
        (tag, attrs)
        for tag, attrs in _Tags(page).tags
        if tag == "script"
        or any(k.startswith("on") for k in attrs)
        or (tag == "img" and not str(attrs.get("src")).startswith(own))
    ]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A report whose worst class is named like an HTML tag and whose archive URL holds a
    script, as a label map or a model_overrides url could make them."""
    run = make_run(tmp_path_factory.mktemp("hostile"), SSDLITE)

    def rename(record: dict) -> None:
        record["comparisons"]["INT8"]["classes"][0]["class"] = CLASS

    _edit(run.files.deltas["coco"], rename)
    _edit(run.files.conversion, lambda record: record["archive"].update(url=URL))
    write_run(run)
    return run


def test_user_strings_are_text_in_html(hostile: Run) -> None:
    page = hostile.outputs.html.read_text()
    assert CLASS not in page and "<script" not in page.lower()
    assert f"<th>{CLASS.replace('<', '&lt;').replace('>', '&gt;')}</th>" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert _injected(page) == []


def test_user_strings_are_text_in_markdown(hostile: Run) -> None:
    md = hostile.outputs.md.read_text()
    assert CLASS not in md and "<script>" not in md
    # As a Markdown viewer that renders raw HTML shows it: the strings as text, nothing injected.
    viewed = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "&lt;img src=x onerror=alert(1)&gt;" in viewed
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in viewed
    assert _injected(viewed) == []
    # The escaped name still fills one cell of its row: the table is intact.
    classes = _md_table(md, "#### coco: per-class AP, INT8 vs FP32")
    assert "\\<img src=x onerror=alert(1)\\>" in classes
    assert len(classes) == 10


def test_markdown_escape_keeps_words_and_breaks_markup() -> None:
    assert report.md_escape("ssd_mobilenet_v1 [low, high] a-b (c)") == (
        "ssd_mobilenet_v1 [low, high] a-b (c)"
    )
    assert report.md_escape("_x_ *y* `z` a|b [t](u) <i> &amp; ~s~\nnext") == (
        "\\_x\\_ \\*y\\* \\`z\\` a\\|b [t\\](u) \\<i\\> \\&amp; \\~s\\~ next"
    )


def test_an_ir_source_record_is_shown_as_it_is(tmp_path: Path) -> None:
    """Another model source records other facts: each is shown, nested keys dotted, and no
    archive or pipeline.config fact is required."""
    run = make_run(tmp_path, SSDLITE)
    record = {
        "source": "ir",
        "ir": {"xml": "omz/<b>m</b>.xml", "xml_sha256": "ab" * 32},
        "detection_output": {"op": "DetectionOutput", "top_k": 100},
        "preprocessing": {"reverse_channels": True, "mean": [127.5, 127.5, 127.5]},
        "outputs_dropped": [],
    }
    run.files.conversion.write_text(yaml.safe_dump(record))
    write_run(run)
    md, page = run.outputs.md.read_text(), run.outputs.html.read_text()
    for fact in (
        "- **Made from**: ir",
        "- **ir.xml**: omz/\\<b\\>m\\</b\\>.xml",
        f"- **ir.xml_sha256**: {'ab' * 32}",
        "- **detection_output.op**: DetectionOutput",
        "- **detection_output.top_k**: 100",
        "- **preprocessing.reverse_channels**: True",
        "- **preprocessing.mean**: 127.5, 127.5, 127.5",
        "- **outputs_dropped**: —",
    ):
        assert fact in md.splitlines()
    assert "<dt>ir.xml</dt><dd>omz/&lt;b&gt;m&lt;/b&gt;.xml</dd>" in page
    assert "Post-processing" not in md and "archive." not in md


def test_a_record_without_its_source_is_named(tmp_path: Path) -> None:
    run = make_run(tmp_path, SSDLITE)
    run.files.conversion.write_text("archive: {}\n")
    with pytest.raises(OvflowError, match=rf"^{run.files.conversion}: not a conversion record"):
        write_run(run)


def test_classes_left_out_of_scoring_are_listed(tmp_path: Path) -> None:
    run = make_run(tmp_path, SSDLITE)
    left_out = ["bicycle", "car", "dog"]
    for path in run.files.accuracy["person"].values():
        _edit(path, lambda record: record.update(unscored_model_classes=left_out))
    for path in run.files.accuracy["coco"].values():
        _edit(path, lambda record: record.update(unscored_set_classes=["hair drier"]))
    for path in run.files.accuracy["person"].values():  # a person-only model on the set
        _edit(path, lambda record: record.update(unscored_set_classes=["dog"]))
    write_run(run)
    md = run.outputs.md.read_text()
    assert "1827 annotations; scored on person only: its AP is the person AP." in md
    sets = _md_table(md, "### Evaluation sets")
    assert sets["person"]["Model classes not in the set"] == "3"
    assert sets["person"]["Set classes not scored"] == "1"
    assert sets["coco"]["Set classes not scored"] == "1"
    assert "Model classes the set has no annotations of, not scored: bicycle, car, dog." in md
    assert "set classes the model cannot predict (hair drier)." in md


def test_absent_unscored_keys_show_nothing(tmp_path: Path) -> None:
    run = make_run(tmp_path, SSDLITE)
    write_run(run)
    md = run.outputs.md.read_text()
    columns = next(iter(_md_table(md, "### Evaluation sets").values()))
    assert "Set classes not scored" not in columns and "Model classes not in the set" not in columns
    assert "not scored" not in md and "cannot predict" not in md


def test_no_class_left_out_says_nothing_but_zero(tmp_path: Path) -> None:
    run = make_run(tmp_path, SSDLITE)
    for path in run.files.accuracy["coco"].values():
        _edit(path, lambda r: r.update(unscored_set_classes=[], unscored_model_classes=[]))
    write_run(run)
    md = run.outputs.md.read_text()
    coco = _md_table(md, "### Evaluation sets")["coco"]
    assert coco["Set classes not scored"] == coco["Model classes not in the set"] == "0"
    assert "not scored:" not in md and "cannot predict" not in md


def test_the_index_lists_the_stored_verdict(tmp_path: Path) -> None:
    """The index shows headline.yaml as the report stored it: it does not decide again."""
    runs, index_md, index_html = make_index(tmp_path)
    _edit(runs[SSDLITE].outputs.headline, lambda record: record.update(verdict="do_not_ship"))
    report.write_index(index_inputs(runs), list(runs), index_md, index_html)
    rows = _md_table(index_md.read_text(), "# INT8 vs FP32: one report per model")
    assert rows[f"[{SSDLITE}]({SSDLITE}/report.html)"]["Verdict"] == "Do not ship"
    assert '<span class="do_not_ship">Do not ship</span>' in index_html.read_text()
    # Its numbers (ΔAP within the budget) and its own report still say ship.
    assert "**Ship INT8:" in runs[SSDLITE].outputs.md.read_text()


def test_a_broken_headline_is_named(tmp_path: Path) -> None:
    runs, index_md, index_html = make_index(tmp_path)
    headline = runs[SSDLITE].outputs.headline
    _edit(headline, lambda record: record.pop("verdict"))
    with pytest.raises(OvflowError, match=rf"^{headline}: not a headline record") as error:
        report.write_index(index_inputs(runs), list(runs), index_md, index_html)
    assert "\n" not in str(error.value)
