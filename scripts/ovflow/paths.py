"""Every file location of the workflow, built in one place.

Functions take plain strings so the Snakefile can pass wildcards ("{model}").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The report's Jinja2 templates and CSS: inputs of rules report and index, so editing one
# rebuilds the pages.
TEMPLATES = Path(__file__).parent / "templates"


def input_key(kind: str, *names: str) -> str:
    """A file's name among a rule's inputs, e.g. accuracy_coco_FP32: the input functions of
    rules/common.smk name them so, and the rule scripts look them up so."""
    return "_".join((kind, *names))


@dataclass(frozen=True)
class Paths:
    root: Path

    # Shared inputs
    def download(self, name: str) -> Path:
        return self.root / "downloads" / name

    @property
    def coco_images(self) -> Path:
        return self.root / "data" / "coco" / "val2017"

    @property
    def coco_annotations(self) -> Path:
        return self.root / "data" / "coco" / "annotations" / "instances_val2017.json"

    def eval_ids(self, dataset: str) -> Path:
        return self.root / "data" / dataset / "eval_image_ids.txt"

    @property
    def held_out_ids(self) -> Path:
        return self.root / "data" / "held_out_image_ids.txt"

    @property
    def calibration_list(self) -> Path:
        return self.root / "data" / "calibration_images.txt"

    # Per model
    def model_dir(self, model: str) -> Path:
        return self.root / model

    def frozen_graph(self, model: str) -> Path:
        return self.model_dir(model) / "archive" / "frozen_inference_graph.pb"

    def pipeline_config(self, model: str) -> Path:
        return self.model_dir(model) / "archive" / "pipeline.config"

    def ir_source(self, model: str, suffix: str) -> Path:
        """An IR model's own .xml or .bin, fetched and checked (the FP32 IR is made from it)."""
        return self.model_dir(model) / "source" / f"{model}.{suffix}"

    def ir_xml(self, model: str, precision: str) -> Path:
        return self.model_dir(model) / "ir" / precision / f"{model}.xml"

    def ir_bin(self, model: str, precision: str) -> Path:
        return self.ir_xml(model, precision).with_suffix(".bin")

    def conversion_info(self, model: str) -> Path:
        """What making the FP32 IR decided: model source, post-processing, checks."""
        return self.model_dir(model) / "ir" / "FP32" / "conversion.yaml"

    def quantization_info(self, model: str) -> Path:
        return self.model_dir(model) / "ir" / "INT8" / "quantization.yaml"

    def samples_dir(self, model: str, precision: str) -> Path:
        return self.model_dir(model) / "samples" / precision

    def detections(self, model: str, dataset: str, precision: str) -> Path:
        return self.model_dir(model) / "accuracy" / dataset / f"{precision}.detections.json"

    def detection_shard(
        self, model: str, dataset: str, precision: str, shard: str, shards: str
    ) -> Path:
        name = f"{precision}.shard{shard}of{shards}.json"
        return self.model_dir(model) / "accuracy" / dataset / "shards" / name

    def accuracy(self, model: str, dataset: str, precision: str) -> Path:
        return self.model_dir(model) / "accuracy" / dataset / f"{precision}.yaml"

    def accuracy_delta(self, model: str, dataset: str) -> Path:
        return self.model_dir(model) / "accuracy" / dataset / "delta.yaml"

    def benchmark(self, model: str, precision: str) -> Path:
        return self.model_dir(model) / "benchmark" / f"{precision}.json"

    def report_md(self, model: str) -> Path:
        return self.model_dir(model) / "report.md"

    def report_html(self, model: str) -> Path:
        return self.model_dir(model) / "report.html"

    def report_headline(self, model: str) -> Path:
        return self.model_dir(model) / "headline.yaml"

    def plot(self, model: str, name: str) -> Path:
        return self.model_dir(model) / "plots" / f"{name}.png"

    # Across models
    @property
    def index_md(self) -> Path:
        return self.root / "index.md"

    @property
    def index_html(self) -> Path:
        return self.root / "index.html"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    @property
    def usage_dir(self) -> Path:
        """The heavy jobs' runtime and memory (Snakemake's benchmark records; perf/job_usage.py)."""
        return self.root / "usage"

    def usage(self, rule: str, job: str) -> Path:
        return self.usage_dir / rule / f"{job}.tsv"
