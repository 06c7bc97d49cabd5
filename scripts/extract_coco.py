"""Rules extract_coco_images / extract_coco_annotations: unpack the COCO zips."""

from pathlib import Path

from ovflow.download import extract_zip_folder, extract_zip_member
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    spec = snakemake.params.spec
    archive, out = Path(snakemake.input[0]), Path(snakemake.output[0])
    if spec.member:
        extract_zip_member(archive, spec.member, out)
    else:
        extract_zip_folder(archive, spec.folder, out)
