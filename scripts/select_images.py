"""Rules select_eval_images / hold_out_calibration_images: deterministic image ids."""

from pathlib import Path

from ovflow import coco_data
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    index = coco_data.image_index(coco_data.load_annotations(Path(snakemake.input.annotations)))
    if snakemake.input.get("calibration"):
        # Same folder as the calibration images: never evaluate on those.
        used = {p.name for p in coco_data.read_paths(Path(snakemake.input.calibration))}
        index = {i: rec for i, rec in index.items() if rec["file_name"] not in used}
    evaluate, held_out = coco_data.select_eval_ids(
        index,
        snakemake.params.get("max_images"),
        snakemake.params.reserve,
        snakemake.params.seed,
    )
    chosen = evaluate if snakemake.rule == "select_eval_images" else held_out
    coco_data.write_ids(Path(snakemake.output[0]), chosen)
    print(f"{snakemake.rule}: {len(chosen)} of {len(index)} images")
