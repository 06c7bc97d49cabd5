"""Rule accuracy: merged detection shards of one precision → COCO detections + accuracy YAML."""

import json
from pathlib import Path

from ovflow import coco_eval, labels
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    annotations = Path(snakemake.input.annotations)
    ground_truth, ids, classes = labels.match_set(
        snakemake.params.labels,
        annotations,
        Path(snakemake.input.eval_ids),
        snakemake.params.only_model_classes,
    )
    shards = [json.loads(Path(f).read_text()) for f in snakemake.input.shards]
    covered = [i for shard in shards for i in shard["image_ids"]]
    if covered != ids:
        raise RuntimeError(
            f"detection shards cover {len(covered)} images, not the {len(ids)} chosen"
        )
    results = [row for shard in shards for row in shard["results"]]
    seconds = sum(shard["seconds"] for shard in shards)
    coco_eval.write_detections_json(Path(snakemake.output.detections), results)

    evaluation = coco_eval.evaluate(
        coco_eval.ground_truth(ground_truth), results, ids, classes.cat_ids
    )
    print(evaluation["summary"])
    coco_eval.write_accuracy_yaml(
        Path(snakemake.output.accuracy),
        model=snakemake.wildcards.model,
        precision=snakemake.wildcards.precision,
        stats_dict=evaluation,
        extra={
            "dataset": snakemake.wildcards.dataset,
            **classes.record(),
            "selection": {
                "annotations": str(annotations),
                "images_in_annotations": len(ground_truth["images"]),
                **snakemake.params.selection,
                "method": (
                    "seeded permutation of the annotated image ids; the first `reserve` are held "
                    "out for calibration, the next `max_images` (all if null) are evaluated"
                ),
            },
            "inference": {
                "device": snakemake.params.device,
                "precision_hint": snakemake.params.precision_hint,
                "shards": len(shards),
                "images_per_second": round(len(ids) / seconds, 2),
            },
        },
    )
