"""Rule accuracy_delta: every precision vs FP32 on one evaluation set, with a paired bootstrap."""

from pathlib import Path

import yaml

from ovflow import atomic, coco_eval, labels
from ovflow.bootstrap import Bootstrap, match_table
from ovflow.coco_eval import read_accuracy_yaml, read_detections_json
from ovflow.compare import class_deltas, stat_deltas
from ovflow.logs import to_log
from ovflow.paths import input_key
from ovflow.precisions import REFERENCE

with to_log(snakemake.log[0]):
    precisions = snakemake.params.precisions
    records = {
        p: read_accuracy_yaml(Path(snakemake.input[input_key("accuracy", p)])) for p in precisions
    }
    reference = records[REFERENCE]
    # The accuracy rule's choice of classes.
    ground_truth, ids, classes = labels.match_set(
        snakemake.params.labels,
        Path(snakemake.input.annotations),
        Path(snakemake.input.eval_ids),
        snakemake.params.only_model_classes,
    )
    cat_ids = classes.cat_ids
    indexed = coco_eval.ground_truth(ground_truth)

    def table(precision):
        detections = Path(snakemake.input[input_key("detections", precision)])
        return match_table(indexed, read_detections_json(detections), ids, cat_ids)

    # The resamples, and the reference's AP on each, serve every comparison.
    bootstrap = Bootstrap(
        table(REFERENCE),
        resamples=snakemake.params.resamples,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
    comparisons = {}
    for precision in precisions:
        if precision == REFERENCE:
            continue
        candidate = records[precision]
        comparisons[precision] = {
            "stats": stat_deltas(reference, candidate),
            "ap_interval": bootstrap.compare(table(precision)),
            "classes": class_deltas(reference, candidate),
        }
    record = {
        "model": snakemake.wildcards.model,
        "dataset": snakemake.wildcards.dataset,
        "reference": REFERENCE,
        "images": len(ids),
        "classes_evaluated": reference.get("classes_evaluated", "all"),
        "comparisons": comparisons,
    }
    atomic.write_text(
        Path(snakemake.output[0]), yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    )
