"""Every perf script's first import: scripts/ on sys.path, then telemetry off (ovflow.no_telemetry)
before the script's other imports load openvino or nncf."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import ovflow.no_telemetry  # noqa: F401
