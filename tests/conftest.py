"""Shared fixtures: the real data in ../shared, read in place, never copied."""

from __future__ import annotations

# First: telemetry off before any test module imports openvino or nncf (at collection too).
import ovflow.no_telemetry  # noqa: F401

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import synthetic

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SUBSET = SHARED / "data" / "coco-val2017-subset"
PERSON = SHARED / "data" / "coco-val2017-person"
MIRROR = SHARED / "mirror"
# What offline_config() points at: tests that run it mark @needs(*OFFLINE_DATA).
OFFLINE_DATA = (MIRROR, SUBSET, PERSON)

# Tests mark what they read with availability.needs(...): without it they skip naming it
# (a fresh clone has no ../shared), and under CI=true they fail instead.
pytest_plugins = ["availability"]


# openvino-telemetry's own CI opt-outs: a test of the opt-out runs without them.
TELEMETRY_CI_VARS = ("CI", "TF_BUILD", "JENKINS_URL")


def assert_no_telemetry_traces(home: Path) -> None:
    """Only the declined consent file in ~/intel: openvino-telemetry writes openvino_ga_cid and
    stats whenever it may send."""
    intel = home / "intel"
    assert sorted(p.name for p in intel.iterdir()) == ["openvino_telemetry"]
    assert (intel / "openvino_telemetry").read_text() == "0"


OFFLINE_CONFIG = REPO / "tests" / "config" / "offline.yaml"


def offline_config(**sections: dict) -> dict:
    """tests/config/offline.yaml with absolute paths, updated section by section."""
    import yaml

    config = yaml.safe_load(OFFLINE_CONFIG.read_text())
    config["mirror"] = str(MIRROR)
    config["coco"]["images"] = str(SUBSET / "val2017")
    config["coco"]["annotations"] = str(SUBSET / "annotations" / "instances_val2017.json")
    config["calibration"]["images"] = str(PERSON / "val2017")
    config["calibration"]["annotations"] = str(
        PERSON / "annotations" / "instances_val2017_person.json"
    )
    for key, value in sections.items():
        if isinstance(value, dict):
            config[key] = {**config.get(key, {}), **value}
        else:
            config[key] = value
    return config


@pytest.fixture(scope="session")
def synthetic_ssd(tmp_path_factory: pytest.TempPathFactory) -> synthetic.Synthetic:
    """The synthetic detector's IR, user catalog and image sets (tests/synthetic.py)."""
    import synthetic

    return synthetic.build(tmp_path_factory.mktemp("synthetic"))


def run_snakemake(
    workdir: Path, config: dict, *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    """Run the workflow in `workdir` (its own .snakemake and results) with `config`."""
    import yaml

    workdir.mkdir(parents=True, exist_ok=True)
    configfile = workdir / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    cmd = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def job_stats(output: str) -> dict[str, int]:
    """Jobs per rule, from the first job-stats table in Snakemake's output."""
    jobs: dict[str, int] = {}
    for line in output.split("Job stats:\n", 1)[1].splitlines()[2:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


def planned_jobs(workdir: Path, config: dict) -> dict[str, int]:
    """Jobs a dry run would execute, from Snakemake's job-stats table."""
    proc = run_snakemake(workdir, config, "--dry-run")
    if "Nothing to be done" in proc.stdout + proc.stderr:
        return {}
    return job_stats(proc.stdout)


TF_REFERENCE = SHARED / "reference" / "ssdlite_mobilenet_v2_tf_detections_subset206.json"


def tf_reference_results() -> list[dict]:
    """TensorFlow's detections on the 206 subset images (../shared/reference), as COCO results."""
    import json

    import numpy as np

    from ovflow import coco_eval
    from ovflow.detections import Detections

    images = json.loads((SUBSET / "annotations" / "instances_val2017.json").read_text())["images"]
    sizes = {img["id"]: (img["width"], img["height"]) for img in images}
    results = []
    for key, ref in json.loads(TF_REFERENCE.read_text()).items():
        dets = Detections(
            labels=np.asarray(ref["classes"]).astype(np.int64),
            scores=np.asarray(ref["scores"], dtype=np.float32),
            # TF ymin, xmin, ymax, xmax → x_min, y_min, x_max, y_max
            boxes=np.asarray(ref["boxes"], dtype=np.float32)[:, [1, 0, 3, 2]],
        )
        results += coco_eval.to_coco_results(int(key), dets, *sizes[int(key)])
    return results
