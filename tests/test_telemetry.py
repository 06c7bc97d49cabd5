"""The workflow's opt-out is what OpenVINO's converter and NNCF check before sending, and every
entry point records it before anything imports openvino or nncf."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

from conftest import REPO, TELEMETRY_CI_VARS, assert_no_telemetry_traces
from ovflow import telemetry


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in TELEMETRY_CI_VARS:
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def consent() -> ConsentCheckResult:
    # The exact call ovc (telemetry_utils) and NNCF (telemetry/wrapper) make.
    return OptInChecker().check(enable_opt_in_dialog=False, disable_in_ci=True)


def test_without_opt_out_the_tools_would_send(fresh_home: Path) -> None:
    assert consent() == ConsentCheckResult.NO_FILE  # counted as consent by ovc and NNCF


def test_opt_out_declines_and_is_idempotent(fresh_home: Path) -> None:
    assert telemetry.opt_out() is True
    assert (fresh_home / "intel" / "openvino_telemetry").read_text() == "0"
    assert consent() == ConsentCheckResult.DECLINED
    assert telemetry.opt_out() is False


def test_opt_out_overrides_an_earlier_opt_in(fresh_home: Path) -> None:
    (fresh_home / "intel").mkdir()
    (fresh_home / "intel" / "openvino_telemetry").write_text("1")
    assert consent() == ConsentCheckResult.ACCEPTED
    telemetry.opt_out()
    assert consent() == ConsentCheckResult.DECLINED


# -- every entry point opts out before openvino or nncf is imported --------------------------


def run_with_fresh_home(home: Path, cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_CI_VARS}
    proc = subprocess.run(
        cmd, cwd=cwd, env={**env, "HOME": str(home)}, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def test_pytest_collection_opts_out_first(tmp_path: Path) -> None:
    proc = run_with_fresh_home(
        tmp_path, [sys.executable, "-m", "pytest", "--collect-only", "-q"], REPO
    )
    assert "tests collected" in proc.stdout
    assert_no_telemetry_traces(tmp_path)


@pytest.mark.parametrize(
    "cmd",
    [["-c", "import _models"], ["conversion_speed.py", "--help"]],
    ids=["import _models", "conversion_speed.py --help"],
)
def test_perf_scripts_opt_out_first(tmp_path: Path, cmd: list[str]) -> None:
    run_with_fresh_home(tmp_path, [sys.executable, *cmd], REPO / "perf")
    assert_no_telemetry_traces(tmp_path)


def first_import(path: Path) -> str:
    """The module of a file's first import after `from __future__`."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            return node.names[0].name
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            return node.module or ""
    return ""


def test_every_entry_point_imports_the_opt_out_first() -> None:
    # Ruff keeps these imports first (pyproject's isort section no-telemetry) once present.
    assert first_import(REPO / "tests" / "conftest.py") == "ovflow.no_telemetry"
    perf = [p for p in sorted((REPO / "perf").glob("*.py")) if p.name != "_no_telemetry.py"]
    assert perf and {p.name: first_import(p) for p in perf} == {
        p.name: "_no_telemetry" for p in perf
    }
