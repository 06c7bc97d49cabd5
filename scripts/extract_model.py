"""Rule extract_model: frozen graph and pipeline.config out of the model archive."""

from pathlib import Path

from ovflow.download import extract_tar_folder
from ovflow.logs import to_log

with to_log(snakemake.log[0]):
    out = Path(snakemake.output.graph).parent
    names = [Path(snakemake.output.graph).name, Path(snakemake.output.pipeline).name]
    extract_tar_folder(Path(snakemake.input[0]), snakemake.params.folder, out, names)
