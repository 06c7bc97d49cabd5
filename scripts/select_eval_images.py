"""Rule select_eval_images: the seeded evaluation image ids of one set."""

from pathlib import Path

from ovflow import coco_data
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    index = coco_data.image_index(coco_data.load_annotations(Path(snakemake.input.annotations)))
    if snakemake.input.calibration:
        # Same folder as the calibration images: never evaluate on those.
        used = {p.name for p in coco_data.read_paths(Path(snakemake.input.calibration))}
        index = {i: rec for i, rec in index.items() if rec["file_name"] not in used}
    evaluate, _ = coco_data.select_eval_ids(
        index, snakemake.params.max_images, snakemake.params.reserve, snakemake.params.seed
    )
    coco_data.write_ids(Path(snakemake.output[0]), evaluate)
    print(f"evaluation images: {len(evaluate)} of {len(index)}")
