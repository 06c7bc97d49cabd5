"""The workflow on a real one-node Slurm cluster (tests/slurm), through profiles/slurm and
snakemake-executor-plugin-slurm: the jobs really are Slurm jobs, sharded results equal a local
unsharded run, and a cancelled job fails the run and alone is redone. Skipped, with the reason,
only where Slurm cannot start; in CI (CI=true) that is a failure instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from availability import needs, unavailable
from slurm.cluster import Cluster, ClusterUnavailable, start

from conftest import OFFLINE_DATA, REPO, job_stats, offline_config, planned_jobs, run_snakemake
from ovflow.paths import Paths

pytestmark = [pytest.mark.slow, needs(*OFFLINE_DATA)]

MODEL = "ssdlite_mobilenet_v2"
PRECISIONS = ["FP32", "INT8"]
PROFILE = REPO / "profiles" / "slurm"
# The plugin (2.8) first asks Slurm for job states this long after a submission, then 10 s
# later each time no job has finished: a little over one short job here (~4 s, most of it
# Snakemake starting inside the job) keeps runs short.
FIRST_STATUS_CHECK_S = 8
CANCEL_TIMEOUT_S = 180
SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", re.M)
JOB_HEADER = re.compile(r"^rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.M)
LOCAL_JOB_HEADER = re.compile(r"^localrule (\w+):$", re.M)


def slice_config(shards: int) -> dict:
    return offline_config(
        precisions=PRECISIONS,
        coco={"max_images": 20},
        calibration={"subset_size": 20},
        benchmark={"duration": 1, "repeats": 1},
        accuracy={"shards": shards},
    )


@dataclass(frozen=True)
class Run:
    workdir: Path
    config: dict
    log: str  # Snakemake's log of the run

    @property
    def paths(self) -> Paths:
        return Paths(self.workdir / self.config["results"])

    def slurm_jobs(self) -> dict[str, str]:
        """The rule of each Slurm job id that Snakemake's log reports."""
        rules = {job: rule for rule, job in JOB_HEADER.findall(self.log)}
        return {slurm_id: rules[job] for job, slurm_id in SUBMITTED.findall(self.log)}


def run_on_slurm(
    workdir: Path, config: dict, *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    return run_snakemake(
        workdir,
        config,
        "--profile",
        str(PROFILE),
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        str(FIRST_STATUS_CHECK_S),
        *args,
        check=check,
    )


def snakemake_log(proc: subprocess.CompletedProcess) -> str:
    match = re.search(r"^Complete log\(s\): (\S+)$", proc.stderr, re.M)
    assert match, f"no log named in:\n{proc.stderr[-3000:]}"
    return Path(match.group(1)).read_text()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        running = start(tmp_path_factory.mktemp("slurm"))
    except ClusterUnavailable as error:
        unavailable(f"Slurm cannot be started here: {error}")
    with pytest.MonkeyPatch.context() as patch:
        # Snakemake, and the sbatch/squeue/scancel it calls, reach this cluster through these.
        for name, value in running.env.items():
            patch.setenv(name, value)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def slurm_run(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The slice, evaluated in two shards, every job a Slurm job."""
    workdir = tmp_path_factory.mktemp("on-slurm")
    config = slice_config(shards=2)
    return Run(workdir, config, snakemake_log(run_on_slurm(workdir, config)))


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same slice in one shard on this machine, up to the accuracy records."""
    workdir = tmp_path_factory.mktemp("local")
    config = slice_config(shards=1)
    relative = Paths(Path(config["results"]))  # targets as the rules name them
    targets = [str(relative.accuracy(MODEL, "coco", p)) for p in PRECISIONS]
    return Run(workdir, config, snakemake_log(run_snakemake(workdir, config, *targets)))


def test_every_job_is_a_slurm_job_in_slurms_records(slurm_run: Run, cluster: Cluster) -> None:
    jobs = slurm_run.slurm_jobs()
    # Only the target rule, which runs nothing, stays with Snakemake.
    assert LOCAL_JOB_HEADER.findall(slurm_run.log) == ["all"]
    assert Counter(jobs.values()) == Counter(job_stats(slurm_run.log)) - Counter(all=1)
    assert Counter(jobs.values())["detect"] == len(PRECISIONS) * 2  # two shards each
    records = cluster.records(list(jobs), ["JobName", "State", "NodeList"])
    assert set(records) == set(jobs)
    assert {r["State"] for r in records.values()} == {"COMPLETED"}
    assert {r["NodeList"] for r in records.values()} == {"localhost"}
    # The plugin names every job of a run after the run's id.
    assert len({r["JobName"] for r in records.values()}) == 1


def test_benchmark_jobs_have_the_node_to_themselves(slurm_run: Run, cluster: Cluster) -> None:
    jobs = slurm_run.slurm_jobs()
    records = cluster.records(list(jobs), ["Start", "End", "AllocCPUS"])
    # squeue keeps finished jobs for MinJobAge; OverSubscribe NO = exclusive node access.
    lines = cluster.run("squeue", "-h", "-t", "all", "-o", "%i|%h").split()
    sharing = dict(line.split("|") for line in lines)
    benchmarks = {job for job, rule in jobs.items() if rule == "benchmark"}
    assert {job for job in jobs if sharing[job] == "NO"} == benchmarks
    for job in benchmarks:
        assert records[job]["AllocCPUS"] == str(cluster.cpus)
        assert ran_beside(job, records) == [], f"benchmark job {job} shared the node"
    # Other jobs did share the node, so the check above is not vacuous.
    assert any(ran_beside(job, records) for job in set(jobs) - benchmarks)


def ran_beside(job: str, records: dict[str, dict[str, str]]) -> list[str]:
    """Jobs that ran while `job` ran (Start/End in whole seconds, so touching is not overlap)."""
    start_, end = records[job]["Start"], records[job]["End"]
    return [
        other
        for other, record in records.items()
        if other != job and record["Start"] < end and start_ < record["End"]
    ]


def test_sharded_slurm_results_equal_a_local_unsharded_run(slurm_run: Run, local_run: Run) -> None:
    for precision in PRECISIONS:
        on_slurm, local = (
            run.paths.detections(MODEL, "coco", precision) for run in (slurm_run, local_run)
        )
        assert on_slurm.read_bytes() == local.read_bytes()
        records = [
            yaml.safe_load(run.paths.accuracy(MODEL, "coco", precision).read_text())
            for run in (slurm_run, local_run)
        ]
        # Only how the detections were made differs (shards, speed); every metric is equal.
        assert [r.pop("inference")["shards"] for r in records] == [2, 1]
        assert records[0] == records[1]


def test_a_cancelled_job_fails_the_run_and_alone_is_redone(
    slurm_run: Run, cluster: Cluster
) -> None:
    workdir, config, paths = slurm_run.workdir, slurm_run.config, slurm_run.paths
    output = paths.benchmark(MODEL, "FP32")
    # What redoing this one job takes: it and what depends on it, nothing else.
    forced = run_snakemake(
        workdir, config, "--dry-run", "--forcerun", str(output.relative_to(workdir))
    )
    redo = Counter(job_stats(forced.stdout))
    assert redo["benchmark"] == 1

    with ThreadPoolExecutor(max_workers=1) as pool:
        # Every benchmark again (FP32 measures longest); --keep-going lets the others finish,
        # so only the cancelled job and what needs its output are left undone.
        running = pool.submit(
            run_on_slurm, workdir, config, "--forcerun", "benchmark", "--keep-going", check=False
        )
        job = cancel_while_measuring(cluster, paths.ir_xml(MODEL, "FP32"), running)
        failed = running.result()

    assert failed.returncode != 0
    report = error_report(failed.stderr, "benchmark")
    assert f"SLURM-job '{job}' failed, SLURM status is: 'CANCELLED'" in report
    assert str(output.relative_to(workdir)) in report
    assert cluster.records([job], ["State"])[job]["State"] == "CANCELLED"
    assert not output.exists()
    assert not [p for p in output.parent.iterdir() if p.name.startswith(".")]  # no scratch left

    assert planned_jobs(workdir, config) == redo
    rerun = Run(workdir, config, snakemake_log(run_on_slurm(workdir, config)))
    assert Counter(rerun.slurm_jobs().values()) == redo - Counter(all=1)
    assert json.loads(output.read_text())["precision"] == "FP32"


def cancel_while_measuring(cluster: Cluster, xml: Path, running: Future) -> str:
    """scancel the Slurm job that benchmarks `xml` while benchmark_app measures it; its id."""
    comment = f"rule_benchmark_wildcards_{MODEL}_{xml.parent.name}"
    deadline = time.monotonic() + CANCEL_TIMEOUT_S
    while not running.done() and time.monotonic() < deadline:
        lines = cluster.run("squeue", "-h", "-t", "R", "-o", "%k|%i").split()
        job = dict(line.split("|") for line in lines).get(comment)
        if job and benchmark_app_measures(xml):
            cluster.run("scancel", job)
            return job
        time.sleep(0.2)
    pytest.fail(f"never saw the Slurm job {comment} measure")


def benchmark_app_measures(xml: Path) -> bool:
    """True while a benchmark_app process measures `xml` (its -m, relative to its cwd)."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = (proc / "cwd").resolve()
        except OSError:  # ended meanwhile
            continue
        is_benchmark_app = any(a.endswith("benchmark_app") for a in args) and "-m" in args[:-1]
        if is_benchmark_app and (cwd / args[args.index("-m") + 1]).resolve() == xml.resolve():
            return True
    return False


def error_report(output: str, rule: str) -> str:
    """Snakemake's report of a failed job: the indented lines under `Error in rule <rule>:`."""
    match = re.search(rf"^Error in rule {rule}:\n((?:    .*\n)+)", output, re.M)
    assert match, f"no error reported for rule {rule}:\n{output[-3000:]}"
    return match.group(1)
