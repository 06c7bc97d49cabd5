"""Rule extract_coco_images: the val2017 image folder out of val2017.zip."""

from pathlib import Path

from ovflow.download import extract_zip_folder
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    extract_zip_folder(
        Path(snakemake.input[0]), snakemake.params.spec.folder, Path(snakemake.output[0])
    )
