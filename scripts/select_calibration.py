"""Rule select_calibration_images: the calibration subset as a list of image files."""

from pathlib import Path

from ovflow import coco_data
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    images = Path(snakemake.input.images)
    if snakemake.input.held_out:
        index = coco_data.image_index(coco_data.load_annotations(Path(snakemake.input.annotations)))
        ids = coco_data.read_ids(Path(snakemake.input.held_out))
        candidates = [images / index[i]["file_name"] for i in ids]
    else:
        candidates = coco_data.list_images(images)
    chosen = coco_data.select_calibration(
        candidates, snakemake.params.subset_size, snakemake.params.seed
    )
    for path in chosen:
        coco_data.check_image_file(path)
    coco_data.write_paths(Path(snakemake.output[0]), chosen)
    print(f"calibration: {len(chosen)} of {len(candidates)} images from {images}")
