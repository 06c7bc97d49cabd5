"""A small offline run under an empty HOME (every stage, INT8 included): no telemetry traces, a
usage record for every heavy job; then the run killed (kill -9) while a detect job runs, and a
rerun that gives the same accuracy as the uninterrupted run. Minutes: marked slow."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from availability import needs

from conftest import (
    OFFLINE_DATA,
    REPO,
    TELEMETRY_CI_VARS,
    assert_no_telemetry_traces,
    offline_config,
    run_snakemake,
)
from ovflow.paths import Paths

pytestmark = [pytest.mark.slow, needs(*OFFLINE_DATA)]

MODEL = "ssdlite_mobilenet_v2"
PRECISIONS = ["FP32", "INT8"]
HEAVY_RULES = {"convert", "quantize", "detect", "accuracy", "accuracy_delta", "benchmark", "report"}


def small_config() -> dict:
    return offline_config(
        precisions=PRECISIONS,
        coco={"max_images": 120},
        calibration={"subset_size": 20},
        accuracy={"bootstrap_resamples": 10},
        samples={"count": 1},
        benchmark={"duration": 1, "repeats": 1},
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty HOME for every process of this module's runs."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        for var in TELEMETRY_CI_VARS:
            patch.delenv(var, raising=False)
        yield home


@pytest.fixture(scope="module")
def small_run(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    workdir = tmp_path_factory.mktemp("small")
    config = small_config()
    run_snakemake(workdir, config)
    return workdir, config


def test_a_full_run_leaves_no_telemetry_traces(small_run: tuple[Path, dict], home: Path) -> None:
    workdir, config = small_run
    assert Paths(workdir / config["results"]).index_html.is_file()  # every stage ran
    assert_no_telemetry_traces(home)


def test_every_heavy_job_records_its_runtime_and_memory(small_run: tuple[Path, dict]) -> None:
    workdir, config = small_run
    usage = Paths(workdir / config["results"]).usage_dir
    records = {tsv.relative_to(usage).parts[0]: tsv for tsv in usage.glob("*/**/*.tsv")}
    assert set(records) == HEAVY_RULES
    proc = subprocess.run(
        [sys.executable, str(REPO / "perf" / "job_usage.py"), str(workdir / config["results"])],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()[2:]}
    assert set(rows) == HEAVY_RULES
    jobs = {rule: int(row[0]) for rule, row in rows.items()}
    assert jobs == {**dict.fromkeys(HEAVY_RULES, 1), "detect": 2, "accuracy": 2, "benchmark": 2}
    for rule, (_, longest_s, _, max_rss_mb, _) in rows.items():
        assert float(longest_s) > 0 and float(max_rss_mb) > 50, rule  # a Python process at least


JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", re.M)


def requests_per_record(workdir: Path, config: dict) -> dict[Path, dict[str, int]]:
    """Each heavy job's benchmark record → the mem_mb and runtime it asks for, from a dry run
    (inputs exist, so Snakemake evaluates the rules' resource functions)."""
    proc = run_snakemake(workdir, config, "--dry-run", "--forceall")
    requests = {}
    for _rule, body in JOB.findall(proc.stdout):
        fields = dict(line.strip().split(": ", 1) for line in body.splitlines())
        if "benchmark" in fields:
            asked = dict(item.split("=", 1) for item in fields["resources"].split(", "))
            requests[workdir / fields["benchmark"]] = {
                "mem_mb": int(asked["mem_mb"]),
                "runtime": int(asked["runtime"]),
            }
    return requests


def test_every_job_fits_the_resources_it_asks_for(small_run: tuple[Path, dict]) -> None:
    workdir, config = small_run
    requests = requests_per_record(workdir, config)
    usage = Paths(workdir / config["results"]).usage_dir
    records = sorted(usage.glob("*/**/*.tsv"))
    assert sorted(requests) == records
    for tsv in records:
        header, values = tsv.read_text().splitlines()[:2]
        record = dict(zip(header.split("\t"), values.split("\t"), strict=True))
        assert float(record["max_rss"]) < requests[tsv]["mem_mb"], tsv
        assert float(record["s"]) < requests[tsv]["runtime"] * 60, tsv


def detect_process(run: subprocess.Popen, log: Path, timeout: float = 300) -> psutil.Process:
    """The run's detect job (its rule script), once it has run a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert run.poll() is None, f"the run ended before detect started:\n{log.read_text()}"
        for child in psutil.Process(run.pid).children(recursive=True):
            try:
                if any(part.endswith(".detect.py") for part in child.cmdline()):
                    time.sleep(1.0)
                    return child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.1)
    raise AssertionError("no detect job started")


def accuracy_record(workdir: Path, config: dict) -> dict:
    record = yaml.safe_load(
        Paths(workdir / config["results"]).accuracy(MODEL, "coco", "FP32").read_text()
    )
    return {"stats": record["stats"], "per_class_ap": record["per_class_ap"]}


def test_a_run_killed_during_detect_reruns_to_the_same_accuracy(
    small_run: tuple[Path, dict], home: Path
) -> None:
    workdir, config = small_run
    uninterrupted = accuracy_record(workdir, config)
    paths = Paths(workdir / config["results"])
    target = str(Paths(Path(config["results"])).accuracy(MODEL, "coco", "FP32"))  # as rules name it
    paths.accuracy(MODEL, "coco", "FP32").unlink()
    paths.detections(MODEL, "coco", "FP32").unlink()

    cmd = [
        str(Path(sys.executable).parent / "snakemake"),
        *("--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)),
        *("--configfile", str(workdir / "config.yaml"), "--cores", "2", target),
    ]
    log = workdir / "killed-run.log"
    with log.open("w") as out:
        run = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
    detect = detect_process(run, log)
    assert detect.is_running(), "detect finished before it could be killed: use more images"
    os.killpg(run.pid, signal.SIGKILL)  # the whole run, as kill -9 of its process group
    run.wait()
    _, alive = psutil.wait_procs([detect], timeout=10)
    assert not alive, "the detect job outlived its run"
    assert not paths.accuracy(MODEL, "coco", "FP32").exists()
    assert not paths.detection_shard(MODEL, "coco", "FP32", "0", "1").exists()

    # Snakemake's own lock (in the working directory) stays behind a killed run; the
    # results folder's lock went with the process.
    locked = run_snakemake(workdir, config, target, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    run_snakemake(workdir, config, "--unlock")
    run_snakemake(workdir, config, target)
    assert accuracy_record(workdir, config) == uninterrupted
    assert_no_telemetry_traces(home)
