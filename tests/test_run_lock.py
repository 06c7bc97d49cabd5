"""One run at a time per results folder, whatever directory each run starts from; a killed
run's lock goes with it; dry runs, --lint and --unlock are never blocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from availability import needs

from conftest import OFFLINE_DATA, REPO, offline_config, run_snakemake
from ovflow.paths import Paths
from ovflow.run_lock import LOCK_FILE


@contextmanager
def holder(results: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the results folder's lock, as a run's main process does."""
    code = (
        "import sys, time\n"
        "from ovflow import run_lock\n"
        f"run_lock.hold({str(results)!r})\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "scripts")},
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def hold_in_subprocess(results: Path) -> subprocess.CompletedProcess:
    code = f"from ovflow import run_lock\nrun_lock.hold({str(results)!r})\n"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "scripts")},
    )


def test_a_held_folder_is_refused_and_freed_when_its_holder_is_killed(tmp_path: Path) -> None:
    results = tmp_path / "results"
    with holder(results) as first:
        refused = hold_in_subprocess(results)
        assert refused.returncode == 1
        assert f"ResultsBusy: {results}: in use by another run (pid {first.pid} on " in (
            refused.stderr
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert hold_in_subprocess(results).returncode == 0


@pytest.fixture
def two_directories(tmp_path: Path) -> tuple[Path, Path, dict]:
    """Two working directories, one absolute results folder."""
    config = offline_config(precisions=["FP32"], results=str(tmp_path / "shared-results"))
    return tmp_path / "a", tmp_path / "b", config


@needs(*OFFLINE_DATA)
def test_second_run_on_a_results_folder_is_refused_at_once(
    two_directories: tuple[Path, Path, dict],
) -> None:
    first_dir, second_dir, config = two_directories
    results = Path(config["results"])
    target = str(Paths(results).eval_ids("coco"))
    with holder(results) as first:
        proc = run_snakemake(second_dir, config, target, check=False)
        assert proc.returncode != 0
        lines = proc.stderr.splitlines()
        refusal = [line for line in lines if line.startswith("ResultsBusy: ")]
        assert len(refusal) == 1 and refusal[0].startswith(f"ResultsBusy: {results}: in use")
        assert f"pid {first.pid} " in refusal[0] and "even if killed" in refusal[0]
        assert not any("Error" in line or line.lstrip().startswith('File "') for line in lines)
        assert not Path(target).exists()  # refused before any job
        # Neither blocked nor taking the lock: a dry run, --unlock, --lint.
        assert "eval_image_ids.txt" in run_snakemake(second_dir, config, "-n", target).stdout
        run_snakemake(second_dir, config, "--unlock")
        run_snakemake(second_dir, config, "--lint")
        first.send_signal(signal.SIGKILL)
    # Killed: its lock went with it, nothing to clear.
    run_snakemake(first_dir, config, target)
    assert Path(target).is_file()
    note = (results / LOCK_FILE).read_text()
    assert f"in {first_dir}" in note  # the run took the lock itself
