"""Scoring vs inference at full scale: the workflow's detect, accuracy and accuracy_delta jobs on
a 5,000-image COCO-format set.

The set: the 206 images of ../shared/data/coco-val2017-subset replicated under new ids (copy c
of image i gets id (c + 1) * 10**7 + i) until it holds --images images: 24 full copies and the
first 56 images, in id order, of a 25th (43,342 boxes). Images are symlinks in a temporary
folder; the annotations are copied with renumbered ids.

The run: the real workflow (tests/config/offline.yaml with absolute paths, coco.images and
coco.annotations pointing at the set; ssdlite_mobilenet_v2 from ../shared/mirror; FP32, FP16,
INT8; calibration on the person images). First everything the measured jobs need (IRs, the image
selection), unmeasured; then each measured job alone, one `snakemake --cores 2` call per job
(with --forcerun of its rule), so the one rule-script process running is that job: detect of
each precision, accuracy of each precision, then accuracy_delta.

Per job: seconds from the start of the job's script process to its exit (Python start-up and
imports included, Snakemake's own planning not), and its peak resident memory (VmHWM of
/proc/<pid>/status), both polled every 20 ms, beside the mem_mb the job was given. Printed: that
table, and (accuracy + accuracy_delta seconds) / (detect seconds), all precisions; bar <= 0.5.

    .venv/bin/python perf/scoring_speed.py [--images 5000] [--workdir DIR]
"""

from __future__ import annotations

import _no_telemetry  # noqa: F401

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ovflow.paths import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SUBSET = SHARED / "data" / "coco-val2017-subset"
PERSON = SHARED / "data" / "coco-val2017-person"
MODEL = "ssdlite_mobilenet_v2"
PRECISIONS = ["FP32", "FP16", "INT8"]
BAR = 0.5
POLL_SECONDS = 0.02
COPY_STRIDE = 10**7  # above every val2017 image id


def replicated_set(images: int, folder: Path) -> tuple[Path, Path, int]:
    """(images folder, annotations file, boxes) of `images` subset images under new ids."""
    coco = json.loads((SUBSET / "annotations" / "instances_val2017.json").read_text())
    originals = sorted(coco["images"], key=lambda img: img["id"])
    boxes: dict[int, list[dict]] = {}
    for ann in coco["annotations"]:
        boxes.setdefault(ann["image_id"], []).append(ann)
    image_dir = folder / "val2017"
    image_dir.mkdir(parents=True, exist_ok=True)
    new_images, new_anns = [], []
    for n in range(images):
        copy, index = divmod(n, len(originals))
        img = originals[index]
        new_id = (copy + 1) * COPY_STRIDE + img["id"]
        name = f"{new_id:012d}.jpg"
        link = image_dir / name
        if not link.exists():
            link.symlink_to(SUBSET / "val2017" / img["file_name"])
        new_images.append({**img, "id": new_id, "file_name": name})
        for ann in boxes.get(img["id"], []):
            new_anns.append({**ann, "id": len(new_anns) + 1, "image_id": new_id})
    annotations = folder / "annotations" / "instances_val2017.json"
    annotations.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(
        annotations, json.dumps({**coco, "images": new_images, "annotations": new_anns})
    )
    return image_dir, annotations, len(new_anns)


def _write_if_changed(path: Path, text: str) -> None:
    """Leave a reused working directory's inputs untouched: a newer file reruns the workflow."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def write_config(workdir: Path, images: Path, annotations: Path) -> Path:
    config = yaml.safe_load((REPO / "tests" / "config" / "offline.yaml").read_text())
    config["mirror"] = str(SHARED / "mirror")
    config["coco"].update(images=str(images), annotations=str(annotations), max_images=None)
    config["calibration"].update(
        images=str(PERSON / "val2017"),
        annotations=str(PERSON / "annotations" / "instances_val2017_person.json"),
    )
    path = workdir / "config.yaml"
    _write_if_changed(path, yaml.safe_dump(config))
    return path


def snakemake(workdir: Path, config: Path, targets: list[Path], *args: str) -> list[str]:
    """A `snakemake` call of the repository's workflow in `workdir`, temp outputs kept."""
    program = Path(sys.executable).parent / "snakemake"
    options = [f"--snakefile={REPO / 'Snakefile'}", f"--directory={workdir}", "--cores=2"]
    # Targets first: options such as --forcerun take every word that follows them.
    return [str(program), *map(str, targets), *options, f"--configfile={config}", "--notemp", *args]


def _descendants(pid: int) -> list[int]:
    """The processes under `pid` (via /proc/<pid>/task/<tid>/children)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(k) for k in children.read_text().split()]
            except OSError:
                continue
            found += kids
            queue += kids
    return found


def _script_processes(rule: str, root: int) -> list[int]:
    """Rule-script processes of `rule` under `root` (python .../tmpXXXX.<rule>.py)."""
    pattern = re.compile(rf"/\.snakemake/scripts/tmp[^/]*\.{re.escape(rule)}\.py$")
    found = []
    for pid in _descendants(root):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        # The shell that Snakemake starts names the script too; the Python process is the job.
        if len(args) >= 2 and "python" in Path(args[0]).name and pattern.search(args[-1]):
            found.append(pid)
    return found


def _peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a live process (None once it has exited: a zombie has no memory lines)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def measure(command: list[str], rule: str, log: Path) -> tuple[float, float, str]:
    """Run one Snakemake call that runs one `rule` job: (seconds, peak RSS MB, its output)."""
    jobs: dict[int, list[float]] = {}  # pid -> [first seen, last seen, peak RSS MB]
    with open(log, "w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            now = time.monotonic()
            for pid in _script_processes(rule, proc.pid):
                peak = _peak_rss_mb(pid)
                if peak is not None:
                    record = jobs.setdefault(pid, [now, now, 0.0])
                    record[1:] = [now, max(record[2], peak)]
            time.sleep(POLL_SECONDS)
    text = log.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{text[-5000:]}")
    if len(jobs) != 1:
        raise SystemExit(f"expected one {rule} job, saw {len(jobs)}:\n{text[-3000:]}")
    first, last, peak = next(iter(jobs.values()))
    return last - first, peak, text


def declared_mem_mb(output: str, rule: str) -> str:
    """The mem_mb Snakemake printed for the job (its `resources:` line)."""
    block = output.split(f"rule {rule}:", 1)[-1]
    match = re.search(r"mem_mb=(\d+)", block)
    return match.group(1) if match else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, help="keep the set and the run here (reused)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = (args.workdir or Path(tmp)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        images, annotations, boxes = replicated_set(args.images, workdir / "set")
        config = write_config(workdir, images, annotations)
        # Targets relative to the working directory, as the rules name their outputs.
        paths = Paths(Path(yaml.safe_load(config.read_text())["results"]))
        setup = [paths.ir_xml(MODEL, p) for p in PRECISIONS] + [paths.eval_ids("coco")]
        print(f"{args.images} images, {boxes} boxes; preparing IRs in {workdir} ...", flush=True)
        setup_call = snakemake(workdir, config, setup, "--rerun-incomplete")
        done = subprocess.run(setup_call, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(
                f"preparing the IRs failed:\n{done.stdout[-3000:]}{done.stderr[-5000:]}"
            )

        load_before = os.getloadavg()
        jobs = [
            ("detect", p, [paths.detection_shard(MODEL, "coco", p, "0", "1")]) for p in PRECISIONS
        ]
        jobs += [("accuracy", p, [paths.accuracy(MODEL, "coco", p)]) for p in PRECISIONS]
        jobs.append(("accuracy_delta", "all", [paths.accuracy_delta(MODEL, "coco")]))
        rows = []
        for rule, precision, targets in jobs:
            command = snakemake(workdir, config, targets, "--forcerun", rule)
            log = workdir / f"measure_{rule}_{precision}.log"
            seconds, peak, output = measure(command, rule, log)
            rows.append((rule, precision, seconds, peak, declared_mem_mb(output, rule)))
            print(f"  {rule} {precision}: {seconds:.1f} s, {peak:.0f} MB", flush=True)
        load_after = os.getloadavg()

    print(f"\n{MODEL}, {args.images} images ({boxes} boxes), snakemake --cores 2:")
    print(f"{'job':<16}{'precision':<11}{'seconds':>9}{'max RSS MB':>12}{'mem_mb':>8}")
    for rule, precision, seconds, peak, mem_mb in rows:
        print(f"{rule:<16}{precision:<11}{seconds:>9.1f}{peak:>12.0f}{mem_mb:>8}")
    detect = sum(r[2] for r in rows if r[0] == "detect")
    scoring = sum(r[2] for r in rows if r[0] != "detect")
    ratio = scoring / detect
    verdict = "pass" if ratio <= BAR else "FAIL"
    print(
        f"scoring / inference: (accuracy + accuracy_delta) {scoring:.1f} s / detect "
        f"{detect:.1f} s = {ratio:.2f} (bar <= {BAR}: {verdict})"
    )
    print(
        "load average (1, 5, 15 min) before the measured jobs: "
        f"{', '.join(f'{v:.2f}' for v in load_before)}; after: "
        f"{', '.join(f'{v:.2f}' for v in load_after)}"
    )


if __name__ == "__main__":
    main()
