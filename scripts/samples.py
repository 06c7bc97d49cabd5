"""Rule samples: detections of one precision drawn on a few evaluation images."""

from pathlib import Path

from ovflow import coco_data, inference
from ovflow.draw import draw_detections
from ovflow.logs import to_log
from ovflow.settings import ConfigError

with to_log(snakemake.log[0]):
    index = coco_data.image_index(coco_data.load_annotations(Path(snakemake.input.annotations)))
    ids = (
        snakemake.params.image_ids
        or (coco_data.read_ids(Path(snakemake.input.eval_ids))[: snakemake.params.n_images])
    )
    unknown = [i for i in ids if i not in index]
    if unknown:
        raise ConfigError(f"samples.image_ids: {unknown} not in the annotations")
    compiled = inference.compile_ir(
        Path(snakemake.input.xml), snakemake.params.device, snakemake.params.precision_hint
    )
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    for image_id in ids:
        image = Path(snakemake.input.images) / index[image_id]["file_name"]
        draw_detections(
            image,
            inference.detect_one(compiled, image, snakemake.params.preprocessing),
            snakemake.params.labels,
            out / f"{image_id}.jpg",
            snakemake.params.score_threshold,
            title=f"{snakemake.wildcards.model} {snakemake.wildcards.precision}",
        )
