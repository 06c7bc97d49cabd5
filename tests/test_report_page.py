"""report.html and index.html in headless Chromium: they load offline with no failed resource,
every image decodes to a non-zero size, and a screenshot shows a drawn page.

No browser driver is needed: a copy of the page gets a small inline probe script that writes
what it found into the DOM, and Chromium's --dump-dom prints it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from availability import unavailable
from PIL import Image
from test_report import SSDLITE, make_index, make_run, write_run

WIDTH = 1280
MAX_HEIGHT = 16_000  # Chromium's screenshot limit is near 16384 px
# Runs before the page's images load (first in <head>), so their errors are caught.
PROBE = """<script>
const failed = [];
addEventListener("error", (e) => {
  if (e.target !== window) failed.push(e.target.src || e.target.href || e.target.tagName);
}, true);
addEventListener("load", () => {
  const images = [...document.images].map((i) => ({
    alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
  }));
  const external = performance.getEntriesByType("resource").map((r) => r.name)
    .filter((name) => !name.startsWith("data:"));
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    failed, external, images, height: document.documentElement.scrollHeight,
  });
  document.body.append(probe);
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    unavailable("chromium is not installed (Debian: apt-get install chromium)")


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    proc = subprocess.run(
        [chromium, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def probe(chromium: str, page: Path, profile: Path) -> dict[str, Any]:
    """What the probe script saw once the page had loaded."""
    # Beside the page, so any relative reference would resolve as it does for the page.
    probed = page.with_name(f".probe-{page.name}")
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", f"<head>\n{PROBE}", 1))
    try:
        # The screenshot's width, so the measured height is the screenshot's.
        size = f"--window-size={WIDTH},1000"
        dom = _run(chromium, profile, size, "--dump-dom", probed.as_uri()).stdout
    finally:
        probed.unlink()
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.DOTALL)
    assert found, f"the probe did not run:\n{dom[-2000:]}"
    return json.loads(html.unescape(found[1]))


def screenshot(chromium: str, page: Path, height: int, profile: Path, out: Path) -> Path:
    """The whole page (up to MAX_HEIGHT) as a PNG."""
    size = f"--window-size={WIDTH},{min(height, MAX_HEIGHT)}"
    _run(chromium, profile, "--hide-scrollbars", size, f"--screenshot={out}", page.as_uri())
    print(f"screenshot: {out}")
    return out


def _check_page(chromium: str, page: Path, tmp: Path, images: int) -> None:
    seen = probe(chromium, page, tmp / "profile")
    assert seen["failed"] == [], "resources failed to load"
    assert seen["external"] == [], "the page fetched something: it must be self-contained"
    assert len(seen["images"]) == images
    for image in seen["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    shot = screenshot(chromium, page, seen["height"], tmp / "profile", tmp / f"{page.stem}.png")
    assert shot.stat().st_size > 20_000
    with Image.open(shot) as picture:
        assert picture.size == (WIDTH, min(seen["height"], MAX_HEIGHT))
        # A drawn page: text, tables and charts, not one flat colour.
        colors = picture.convert("RGB").getcolors(1 << 24)
        assert len(colors) > 200


def test_report_page_renders_offline(
    chromium: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("report_page")
    run = make_run(tmp / "results", SSDLITE)
    write_run(run)
    # Four charts (the one-class set has none) and every sample.
    samples = sum(len(list(folder.glob("*.jpg"))) for folder in run.files.samples.values())
    _check_page(chromium, run.outputs.html, tmp, images=4 + samples)


def test_index_page_renders_offline(
    chromium: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("index_page")
    _, _, index_html = make_index(tmp / "results")
    _check_page(chromium, index_html, tmp, images=0)
