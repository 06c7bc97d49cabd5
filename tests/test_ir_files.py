"""Saving IRs: a full disk is named as such, with the path, and leaves no partial files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from conftest import REPO
from ovflow import ir_files

TMPFS_MB = 1


def matmul_model(size: int) -> ov.Model:
    """One f32 [size, size] weight: 4 * size**2 bytes of .bin."""
    x = ops.parameter([1, size], np.float32, name="x")
    weight = ops.constant(np.random.default_rng(0).random((size, size), dtype=np.float32))
    return ov.Model([ops.matmul(x, weight, False, False)], [x], "matmul")


def test_weight_bytes_is_the_bin_size(tmp_path: Path) -> None:
    model = matmul_model(256)
    for precision, compressed in (("FP32", False), ("FP16", True)):
        xml = tmp_path / precision / "m.xml"
        ir_files.save_ir(model, xml, precision)
        assert ir_files.weight_bytes(model, compressed) == xml.with_suffix(".bin").stat().st_size
        assert sorted(p.name for p in xml.parent.iterdir()) == ["m.bin", "m.xml"]


def on_small_tmpfs(mount: Path, code: str) -> subprocess.CompletedProcess:
    """Run `code` with a TMPFS_MB tmpfs at `mount`, in a private mount namespace (unshare -rm:
    root-less where user namespaces are allowed, invisible outside the process)."""
    mount.mkdir()
    script = f'mount -t tmpfs -o size={TMPFS_MB}m tmpfs {mount} && exec {sys.executable} -c "$0"'
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        reason = f"unshare -rm (a private tmpfs) is not allowed here: {probe.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("precision", ["FP32", "FP16"])
def test_full_device_is_named_with_the_path(tmp_path: Path, precision: str) -> None:
    mount = tmp_path / "small"
    xml = mount / "ir" / precision / "model.xml"
    # 4 MB of f32 weights (2 MB as FP16): more than the tmpfs holds.
    proc = on_small_tmpfs(
        mount,
        f"""
        import os
        from pathlib import Path
        import sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        from test_ir_files import matmul_model
        from ovflow.ir_files import DeviceFullError, save_ir
        xml = Path({str(xml)!r})
        try:
            save_ir(matmul_model(1024), xml, {precision!r})
        except DeviceFullError as err:
            print(err)
        print(sorted(os.listdir(xml.parent)))
        """,
    )
    assert proc.returncode == 0, proc.stderr
    message, leftovers = proc.stdout.splitlines()
    needed = 4.0 if precision == "FP32" else 2.0
    assert message == (
        f"{xml}: cannot save the IR, the device is full ({TMPFS_MB:.1f} MB free, "
        f"the IR needs about {needed:.1f} MB)"
    )
    assert leftovers == "[]"  # no partial .tmp.xml/.tmp.bin left to fill the disk
