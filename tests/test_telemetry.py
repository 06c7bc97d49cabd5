"""The workflow's opt-out is what OpenVINO's converter and NNCF check before sending."""

from __future__ import annotations

from pathlib import Path

import pytest
from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

from ovflow import telemetry


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("CI", "TF_BUILD", "JENKINS_URL"):
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
