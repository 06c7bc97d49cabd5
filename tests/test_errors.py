"""The workflow's own errors reach the user as their one line: from a rule script (log and
screen, no traceback), from the settings check while the Snakefile is read, and only once
(deterministic failures are not retried)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from availability import needs

from conftest import MIRROR, OFFLINE_DATA, REPO, offline_config, run_snakemake
from ovflow.paths import Paths

SSDLITE_TAR = "ssdlite_mobilenet_v2_coco_2018_05_09.tar.gz"
WRONG_SHA = "ab" + "0" * 62


def run_in_to_log(tmp_path: Path, raising: str) -> tuple[subprocess.CompletedProcess, str]:
    """A rule script's shape: `raising` inside ovflow.logs.to_log, in a fresh interpreter."""
    log = tmp_path / "job.log"
    code = (
        "from ovflow.logs import to_log\n"
        "from ovflow.download import ChecksumError\n"
        f"with to_log({str(log)!r}):\n"
        "    print('working')\n"
        f"    raise {raising}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "scripts"), "PATH": "/usr/bin:/bin"},
    )
    return proc, log.read_text()


def test_own_error_is_one_line_in_log_and_on_screen(tmp_path: Path) -> None:
    proc, log = run_in_to_log(tmp_path, "ChecksumError('/data/m.tar.gz: sha256 expected 1, got 2')")
    line = "ChecksumError: /data/m.tar.gz: sha256 expected 1, got 2"
    assert proc.returncode == 1
    assert proc.stderr == f"{line}\n"
    assert log == f"working\n{line}\n"


def test_unexpected_error_keeps_its_traceback(tmp_path: Path) -> None:
    proc, log = run_in_to_log(tmp_path, "KeyError('width')")
    assert proc.returncode == 1
    assert proc.stderr.startswith("KeyError: 'width'\n")
    assert "Traceback (most recent call last)" in proc.stderr
    assert "Traceback (most recent call last)" in log and "line 5, in <module>" in log


@needs(*OFFLINE_DATA)
def test_checksum_mismatch_fails_the_run_once_with_one_line(tmp_path: Path) -> None:
    config = offline_config(
        precisions=["FP32"], model_overrides={"ssdlite_mobilenet_v2": {"sha256": WRONG_SHA}}
    )
    paths = Paths(Path(config["results"]))
    proc = run_snakemake(tmp_path, config, str(paths.download(SSDLITE_TAR)), check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    error = [line for line in output.splitlines() if "ChecksumError" in line]
    # Once: a wrong checksum is the same on a retry, so the rule is not retried.
    assert len(error) == 1 and error[0].startswith(
        f"ChecksumError: mirror file {MIRROR / SSDLITE_TAR}"
    )
    assert f"expected {WRONG_SHA}" in error[0]
    assert "Trying to restart" not in output
    assert "Traceback" not in output
    log = (tmp_path / paths.log(f"download/{SSDLITE_TAR}")).read_text()
    assert log.splitlines()[-1] == error[0] and "Traceback" not in log
    assert not (tmp_path / paths.download(SSDLITE_TAR)).exists()


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"models": ["yolo"]}, "ConfigError: models: unknown model 'yolo'"),
        (
            {"model_overrides": {"ssdlite_mobilenet_v2": {"name": ".."}}},
            "ConfigError: model_overrides.ssdlite_mobilenet_v2.name: '..' does not match",
        ),
        ({"calibraton": {}}, "ConfigError: config: Additional properties are not allowed"),
    ],
)
def test_settings_error_is_one_line_while_the_snakefile_is_read(
    tmp_path: Path, sections: dict, message: str
) -> None:
    proc = run_snakemake(tmp_path, offline_config(**sections), "--dry-run", check=False)
    assert proc.returncode != 0
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = [line for line in lines if "Error" in line]
    assert len(errors) == 1 and errors[0].startswith(message)
    assert not any(line.lstrip().startswith('File "') for line in lines)
