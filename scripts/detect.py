"""Rule detect: one shard of an evaluation set through one IR → COCO-format detections."""

import json
import time
from pathlib import Path

from ovflow import atomic, coco_data, coco_eval, inference, labels
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    # The accuracy rule's class check, here too so that a mismatch stops before inference.
    ground_truth, eval_ids, classes = labels.match_set(
        snakemake.params.labels,
        Path(snakemake.input.annotations),
        Path(snakemake.input.eval_ids),
        snakemake.params.only_model_classes,
    )
    index = coco_data.image_index(ground_truth)
    ids = coco_data.shard(eval_ids, int(snakemake.wildcards.shard), int(snakemake.wildcards.shards))
    paths = [Path(snakemake.input.images) / index[i]["file_name"] for i in ids]
    compiled = inference.compile_ir(
        Path(snakemake.input.xml), snakemake.params.device, snakemake.params.precision_hint
    )
    start = time.perf_counter()
    detections = inference.detect_all(compiled, paths, snakemake.params.preprocessing)
    seconds = time.perf_counter() - start
    # Written with the set's category ids.
    results = classes.to_set_ids(
        [
            row
            for i, dets in zip(ids, detections, strict=True)
            for row in coco_eval.to_coco_results(i, dets, index[i]["width"], index[i]["height"])
        ]
    )
    shard = {"image_ids": ids, "seconds": seconds, "results": results}
    atomic.write_text(Path(snakemake.output[0]), json.dumps(shard))
    print(f"{len(ids)} images in {seconds:.1f} s ({len(ids) / max(seconds, 1e-9):.1f} images/s)")
