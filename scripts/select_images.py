"""Rules select_eval_images / hold_out_calibration_images: deterministic image ids."""

from pathlib import Path

from ovflow import coco_data
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    annotations = coco_data.load_annotations(Path(snakemake.input[0]))
    evaluate, held_out = coco_data.select_eval_ids(
        coco_data.image_index(annotations),
        snakemake.params.get("max_images"),
        snakemake.params.reserve,
        snakemake.params.seed,
    )
    chosen = evaluate if snakemake.rule == "select_eval_images" else held_out
    coco_data.write_ids(Path(snakemake.output[0]), chosen)
    print(f"{snakemake.rule}: {len(chosen)} images")
