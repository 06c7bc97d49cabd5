"""Keep OpenVINO and NNCF telemetry off for this workflow's runs.

Both read the consent file of the `openvino-telemetry` package and send usage
data unless it says "declined" (no file counts as consent for ovc and NNCF).
The documented switch is `opt_in_out --opt_out`, which writes that file, but
on first use it also sends one "opted out" event. We write the same consent
file through the package's own checker, so nothing is sent at all.
"""

from __future__ import annotations

from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker


def consent_file() -> str:
    return OptInChecker().consent_file()


def is_opted_out() -> bool:
    checker = OptInChecker()
    return checker.check(enable_opt_in_dialog=False) == ConsentCheckResult.DECLINED


def opt_out() -> bool:
    """Record "declined" in the consent file; True if it was changed."""
    if is_opted_out():
        return False
    checker = OptInChecker()
    if not checker.create_or_check_consent_dir() or not checker.update_result(
        ConsentCheckResult.DECLINED
    ):
        raise RuntimeError(
            f"cannot write the OpenVINO telemetry consent file {consent_file()}; "
            "run `opt_in_out --opt_out` or make its folder writable"
        )
    return True
