"""Importing this module records the telemetry opt-out (ovflow.telemetry.opt_out).

For entry points whose first import it must be, before anything imports openvino or nncf (both
send usage data on import and use unless the consent file declines): tests/conftest.py and,
through perf/_no_telemetry.py, the perf scripts. pyproject.toml's isort section `no-telemetry`
keeps the import first; the Snakefile calls opt_out itself.
"""

from .telemetry import opt_out

opt_out()
