"""Rule accuracy: one precision on the evaluation images → COCO detections + accuracy YAML."""

import time
from pathlib import Path

from ovflow import coco_data, coco_eval, inference
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    annotations = Path(snakemake.input.annotations)
    index = coco_data.image_index(coco_data.load_annotations(annotations))
    ids = coco_data.read_ids(Path(snakemake.input.eval_ids))
    paths = [Path(snakemake.input.images) / index[i]["file_name"] for i in ids]
    compiled = inference.compile_ir(
        Path(snakemake.input.xml), snakemake.params.device, snakemake.params.precision_hint
    )
    start = time.perf_counter()
    detections = inference.detect_all(compiled, paths)
    seconds = time.perf_counter() - start
    results = [
        row
        for i, dets in zip(ids, detections, strict=True)
        for row in coco_eval.to_coco_results(i, dets, index[i]["width"], index[i]["height"])
    ]
    coco_eval.write_detections_json(Path(snakemake.output.detections), results)
    evaluation = coco_eval.evaluate(annotations, results, ids)
    print(evaluation["summary"])
    coco = snakemake.params.coco
    coco_eval.write_accuracy_yaml(
        Path(snakemake.output.accuracy),
        model=snakemake.wildcards.model,
        precision=snakemake.wildcards.precision,
        stats_dict=evaluation,
        extra={
            "selection": {
                "annotations": str(annotations),
                "max_images": coco["max_images"],
                "seed": coco["seed"],
                "method": "seeded permutation of all image ids; calibration hold-out removed first",
            },
            "inference": {
                "device": snakemake.params.device,
                "precision_hint": snakemake.params.precision_hint,
                "images_per_second": round(len(ids) / seconds, 2),
            },
        },
    )
