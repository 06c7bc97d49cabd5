"""Open Model Zoo SSD detector → verified, benchmarked INT8 OpenVINO model.

COCO val2017 + model archive → FP32/FP16 IR → INT8 IR (NNCF) → sample detections
→ COCO accuracy → benchmark_app → one report per model. See README.md.
"""

import re
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# Beside the Snakefile, so `--directory` elsewhere still finds the defaults.
configfile: Path(workflow.basedir) / "config.yaml"


sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from ovflow import (  # noqa: E402
    catalog,
    coco_data,
    precisions,
    run_lock,
    settings,
    sizing,
    telemetry,
)
from ovflow.errors import exit_with_one_line  # noqa: E402
from ovflow.paths import Paths  # noqa: E402

with exit_with_one_line():
    settings.validate(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
    settings.check(config)
if telemetry.opt_out():
    print(
        f"OpenVINO telemetry: opted out in {telemetry.consent_file()}", file=sys.stderr
    )

PATHS = Paths(Path(config["results"]))
USER_CATALOGS = settings.user_catalogs(config)
MODELS = config["models"]
PRECISIONS = config["precisions"]
# "Every core": Snakemake lowers a rule's threads to the cores it was given (--cores, or a
# cluster profile's per-job cores), so this asks for the whole machine or node.
ALL_CORES = 1024


# Only a run that executes jobs, in its main process (jobs get --no-hooks): dry runs, --lint,
# --report and --unlock neither take nor wait for the results folder's lock.
onstart:
    with exit_with_one_line():
        run_lock.hold(PATHS.root)


wildcard_constraints:
    model="|".join(map(re.escape, catalog.model_names(USER_CATALOGS))),
    precision="|".join(precisions.PRECISIONS),
    dataset="[A-Za-z0-9_-]+",


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/model.smk"
include: "rules/ir.smk"
include: "rules/quantize.smk"
include: "rules/samples.smk"
include: "rules/accuracy.smk"
include: "rules/benchmark.smk"
include: "rules/report.smk"
include: "rules/index.smk"


rule all:
    default_target: True
    input:
        PATHS.index_html,
        PATHS.index_md,
