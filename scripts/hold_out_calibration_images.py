"""Rule hold_out_calibration_images: val2017 image ids kept out of evaluation for calibration.

The same seeded permutation as select_eval_images, so the two lists never overlap.
"""

from pathlib import Path

from ovflow import coco_data
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    index = coco_data.image_index(coco_data.load_annotations(Path(snakemake.input.annotations)))
    _, held_out = coco_data.select_eval_ids(
        index, None, snakemake.params.reserve, snakemake.params.seed
    )
    coco_data.write_ids(Path(snakemake.output[0]), held_out)
    print(f"held out for calibration: {len(held_out)} of {len(index)}")
