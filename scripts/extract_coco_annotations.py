"""Rule extract_coco_annotations: instances_val2017.json out of the annotations zip."""

from pathlib import Path

from ovflow.download import extract_zip_member
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    extract_zip_member(
        Path(snakemake.input[0]), snakemake.params.spec.member, Path(snakemake.output[0])
    )
