"""A test whose data is missing skips naming it, and under CI=true fails instead (the
availability plugin, run on a tiny test file in a pytest of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TINY = """
from pathlib import Path

import pytest
from availability import needs

HERE = Path(__file__).parent
RAN = HERE / "ran"


@pytest.fixture
def ran(request):
    RAN.mkdir(exist_ok=True)
    (RAN / f"fixture of {request.node.name}").touch()
    yield
    (RAN / request.node.name).touch()


@needs(HERE / "absent" / "data", HERE)
def test_reads_absent_data(ran):
    pass


@needs(HERE)
def test_reads_present_data(ran):
    pass


def test_needs_nothing(ran):
    pass
"""

RAN_WITHOUT_THE_ABSENT_ONE = [
    "fixture of test_needs_nothing",
    "fixture of test_reads_present_data",
    "test_needs_nothing",
    "test_reads_present_data",
]


def run_tiny(folder: Path, ci: str | None) -> tuple[subprocess.CompletedProcess, list[str]]:
    (folder / "test_tiny.py").write_text(TINY)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "availability", "-ra", "-p", "no:cacheprovider"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ran = sorted(p.name for p in (folder / "ran").iterdir())
    return proc, ran


def summary_lines(proc: subprocess.CompletedProcess, word: str) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith(word)]


def test_missing_data_skips_naming_it(tmp_path: Path) -> None:
    proc, ran = run_tiny(tmp_path, ci=None)
    assert proc.returncode == 0, proc.stdout
    assert "2 passed, 1 skipped" in proc.stdout
    # Neither the test nor its fixtures ran; the one line names the folder, not what exists.
    assert ran == RAN_WITHOUT_THE_ABSENT_ONE
    (skipped,) = summary_lines(proc, "SKIPPED")
    assert skipped.endswith(": absent/data is missing (real data for this test)")


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_missing_data_fails_the_run(tmp_path: Path, ci: str) -> None:
    proc, ran = run_tiny(tmp_path, ci=ci)
    assert proc.returncode == 1, proc.stdout
    assert "2 passed, 1 error" in proc.stdout
    assert ran == RAN_WITHOUT_THE_ABSENT_ONE
    (error,) = summary_lines(proc, "ERROR")
    assert "test_reads_absent_data" in error
    assert "absent/data is missing (real data for this test); CI=true" in error


def test_ci_false_still_skips(tmp_path: Path) -> None:
    proc, _ = run_tiny(tmp_path, ci="false")
    assert proc.returncode == 0 and "1 skipped" in proc.stdout, proc.stdout
