"""A small SSD detector and the images it detects, both built by the tests: no ../shared needed.

The images: solid red, green and blue rectangles on a noisy grey background, each on one of
the detector's prior boxes (some 64-px ones moved 8 px off it), plus small squares that no
prior fits (missed by design).

The detector, an OpenVINO IR built with the opset API and hand-set weights:

    image [1,3,128,128] BGR 0..255
    → 1x1 convolution: one feature per colour (its channel minus the mean of the others) / 255
    → ReLU → 4x4 average pool (cells of 4 px)
    → per feature map, convolutions whose window is a prior's box and the ring of half its
      size around it: class logit = GAIN * (mean in the box - 2 * mean in the ring) - OFFSET
      (background 0); centre codes = the colour's offset from the prior's centre (right - left
      half, bottom - top half), size codes 0
    → softmax → Caffe-style DetectionOutput (opset8) with the generated priors → [1,1,50,7]

A prior exactly on an object scores ~0.997 for its colour, one 8 px off ~0.7, and its codes
move the box onto the object. A prior half on an object, inside a larger one or around a
small one, gets at most half the box mean: below 0.003, under the 0.01 confidence threshold.
So every placed object is found with IoU > 0.95 and ranked above every false detection, and
the COCO AP follows from the scene plan alone: per class (floor(100 k / n) + 1) / 101 with k
of its n objects detectable (COCO's 101 recall points), the same at every IoU threshold.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset8 as ops8
import openvino.opset13 as ops
import yaml
from PIL import Image

from ovflow.coco_eval import to_coco_results
from ovflow.detections import Detections

NAME = "synthetic_ssd"
SIZE = 128  # network input height and width
CELL = 4  # pixels per cell after the average pool
INPUT = "image"
OUTPUT = "detection_out"
KEEP_TOP_K = 50
# Model labels; the dataset numbers its categories otherwise (alphabetically), so scoring
# must map them by name.
LABELS = {1: "red", 2: "green", 3: "blue"}
CATEGORIES = {name: i for i, name in enumerate(sorted(LABELS.values()), start=1)}
RGB = {1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255)}
GAIN, OFFSET = 24.0, 18.0  # logit +6 on a whole box (value 1), -6 at value 0.5
BOX_GAIN = 5.0  # half-box mean difference 2d/w → centre code (d/w) / variance 0.1
VARIANCES = (0.1, 0.1, 0.2, 0.2)
# Feature maps: stride (px) → prior boxes (width, height) at each cell, in network pixels.
MAPS = {16: [(32, 32)], 32: [(64, 64), (64, 32), (32, 64)]}
SMALL = 16  # side of a square that no prior fits
SHIFT = 8  # some 64-px objects lie this far off their prior, along that side: codes refine
# Image sizes (width, height): multiples of 16, so every prior edge lands on a whole pixel.
SIZES = [(128, 128), (192, 144), (320, 240), (240, 320), (96, 112), (256, 176), (160, 208)]


@dataclass(frozen=True)
class Box:
    """An object in network pixels (corners on the 8-px grid) of class `label`."""

    label: int
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def detectable(self) -> bool:
        return (self.x1 - self.x0, self.y1 - self.y0) != (SMALL, SMALL)

    def keep_out(self) -> Box:
        """The box with the ring its prior's logit subtracts (from a prior up to SHIFT away):
        no other object may enter it."""
        dx, dy = (self.x1 - self.x0) // 2 + SHIFT, (self.y1 - self.y0) // 2 + SHIFT
        if not self.detectable:
            dx = dy = 8
        return Box(self.label, self.x0 - dx, self.y0 - dy, self.x1 + dx, self.y1 + dy)

    def meets(self, other: Box) -> bool:
        apart = self.x1 <= other.x0 or other.x1 <= self.x0 or self.y1 <= other.y0
        return not (apart or other.y1 <= self.y0)


@dataclass(frozen=True)
class Scene:
    image_id: int
    width: int
    height: int
    grey: int
    boxes: tuple[Box, ...]

    @property
    def file_name(self) -> str:
        return f"{self.image_id:06d}.jpg"

    def pixels(self, box: Box) -> tuple[int, int, int, int]:
        """The box's corners in this image's pixels (exact: sizes are multiples of 16)."""
        sx, sy = self.width // 16, self.height // 16
        return box.x0 * sx // 8, box.y0 * sy // 8, box.x1 * sx // 8, box.y1 * sy // 8


# -- the detector -------------------------------------------------------------------------


def priors() -> np.ndarray:
    """Prior boxes [P, 4] (x_min, y_min, x_max, y_max, normalized) in the network's order:
    per feature map, per cell row, per cell column, per box shape."""
    boxes = []
    for stride, shapes in MAPS.items():
        for row in range(SIZE // stride):
            for col in range(SIZE // stride):
                cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
                for w, h in shapes:
                    boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return np.asarray(boxes, np.float32) / SIZE


def _window_weights(stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Class and box filters of one feature map: [shapes * (1 + classes) or shapes * 4, 3, K, K]
    over the largest ring of the map, centred on the prior."""
    k = 2 * max(max(w, h) for w, h in MAPS[stride]) // CELL
    classes = len(LABELS)
    cls, box = [], []
    for w, h in MAPS[stride]:
        bw, bh = w // CELL, h // CELL  # box in cells; its ring reaches half a box further
        inner = np.zeros((k, k), np.float32)
        inner[k // 2 - bh // 2 : k // 2 + bh // 2, k // 2 - bw // 2 : k // 2 + bw // 2] = 1
        outer = np.zeros((k, k), np.float32)
        outer[k // 2 - bh : k // 2 + bh, k // 2 - bw : k // 2 + bw] = 1
        ring = outer - inner
        logit = GAIN * (inner / inner.sum() - 2 * ring / ring.sum())
        cls.append(np.zeros((3, k, k), np.float32))  # background: logit 0
        for c in range(classes):
            filters = np.zeros((3, k, k), np.float32)
            filters[c] = logit
            cls.append(filters)
        right = inner * (np.arange(k) >= k // 2)[None, :]
        bottom = inner * (np.arange(k) >= k // 2)[:, None]
        dx = BOX_GAIN * (2 * right - inner) / (inner.sum() / 2)
        dy = BOX_GAIN * (2 * bottom - inner) / (inner.sum() / 2)
        for code in (dx, dy, np.zeros_like(dx), np.zeros_like(dx)):
            box.append(np.broadcast_to(code, (3, k, k)))  # any colour's offset
    return np.stack(cls), np.stack(box).astype(np.float32)


def _head(
    features: ov.Node, filters: np.ndarray, stride: int, bias: np.ndarray, width: int
) -> ov.Node:
    """Convolution over each prior's window → [1, priors of this map, width]."""
    k = filters.shape[-1]
    step = stride // CELL
    pad = (k - step) // 2
    conv = ops.convolution(features, filters, [step, step], [pad, pad], [pad, pad], [1, 1])
    out = ops.add(conv, bias.reshape(1, -1, 1, 1).astype(np.float32))
    nhwc = ops.transpose(out, np.int64([0, 2, 3, 1]))
    return ops.reshape(nhwc, np.int64([1, -1, width]), False)


def build_model() -> ov.Model:
    image = ops.parameter([1, 3, SIZE, SIZE], np.float32, name=INPUT)
    image.output(0).set_names({INPUT})
    # B, G, R input planes → one feature per label (red, green, blue): channel - others / 2.
    colour = np.full((3, 3), -0.5, np.float32)
    for c, bgr_plane in enumerate((2, 1, 0)):
        colour[c, bgr_plane] = 1.0
    features = ops.convolution(
        image, (colour / 255).reshape(3, 3, 1, 1), [1, 1], [0, 0], [0, 0], [1, 1]
    )
    cells = ops.avg_pool(ops.relu(features), [CELL, CELL], [0, 0], [0, 0], [CELL, CELL], True)
    logits, codes = [], []
    classes = 1 + len(LABELS)
    for stride, shapes in MAPS.items():
        cls, box = _window_weights(stride)
        bias = np.tile(np.r_[0.0, np.full(len(LABELS), -OFFSET)], len(shapes))
        logits.append(_head(cells, cls, stride, bias, classes))
        codes.append(_head(cells, box, stride, np.zeros(len(box)), 4))
    n = len(priors())
    encodings = ops.reshape(ops.concat(codes, 1), np.int64([1, n * 4]), False)
    encodings.set_friendly_name("box_encodings")
    probabilities = ops.softmax(ops.concat(logits, 1), -1)
    scores = ops.reshape(probabilities, np.int64([1, n * classes]), False)
    scores.set_friendly_name("class_probabilities")
    proposals = np.stack([priors().reshape(-1), np.tile(np.float32(VARIANCES), n)])[None]
    detections = ops8.detection_output(
        encodings,
        scores,
        proposals.astype(np.float32),
        {
            "background_label_id": 0,
            "top_k": 100,
            "keep_top_k": [KEEP_TOP_K],
            "nms_threshold": 0.45,
            "confidence_threshold": 0.01,
            "code_type": "caffe.PriorBoxParameter.CENTER_SIZE",
            "share_location": True,
            "variance_encoded_in_target": False,
            "normalized": True,
            "clip_before_nms": False,
            "clip_after_nms": False,
            "decrease_label_id": False,
            "input_height": 1,
            "input_width": 1,
            "objectness_score": 0.0,
        },
        name=OUTPUT,
    )
    detections.output(0).set_names({OUTPUT})
    return ov.Model([detections], [image], NAME)


def write_ir(folder: Path) -> Path:
    """The FP32 IR (weights uncompressed) as folder/synthetic_ssd.xml (+ .bin)."""
    xml = folder / f"{NAME}.xml"
    folder.mkdir(parents=True, exist_ok=True)
    ov.save_model(build_model(), xml, compress_to_fp16=False)
    return xml


# -- the images ---------------------------------------------------------------------------


def _candidate(rng: np.random.Generator, small: bool) -> Box:
    """A random object: a small square, or a prior box of a random feature map and shape,
    maybe moved by SHIFT along a 64-px side (its prior's box codes move it back)."""
    label = int(rng.integers(1, len(LABELS) + 1))
    if small:
        x, y = (int(v) * 8 for v in rng.integers(0, (SIZE - SMALL) // 8 + 1, 2))
        return Box(label, x, y, x + SMALL, y + SMALL)
    stride = int(rng.choice(list(MAPS)))
    w, h = MAPS[stride][int(rng.integers(len(MAPS[stride])))]
    # Centres whose box lies inside the image.
    xs = [c for c in range(stride // 2, SIZE, stride) if w // 2 <= c <= SIZE - w // 2]
    ys = [c for c in range(stride // 2, SIZE, stride) if h // 2 <= c <= SIZE - h // 2]
    cx, cy = int(rng.choice(xs)), int(rng.choice(ys))
    if w == 64 and rng.random() < 0.3:
        cx = int(np.clip(cx + rng.choice([-SHIFT, SHIFT]), w // 2, SIZE - w // 2))
    elif h == 64 and rng.random() < 0.3:
        cy = int(np.clip(cy + rng.choice([-SHIFT, SHIFT]), h // 2, SIZE - h // 2))
    return Box(label, cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2)


def plan_scenes(count: int, seed: int, first_id: int = 1) -> list[Scene]:
    """`count` scenes of 1-4 objects that keep out of each other's rings; every fifth scene
    holds one small square first (a miss, so AP is below 1 by a known amount)."""
    rng = np.random.default_rng(seed)
    scenes = []
    for i in range(count):
        boxes: list[Box] = []
        smalls = int(i % 5 == 4)
        wanted = smalls + int(rng.integers(1, 5))
        for _ in range(50 * wanted):
            if len(boxes) == wanted:
                break
            new = _candidate(rng, small=len(boxes) < smalls)
            if not any(new.meets(b.keep_out()) or b.meets(new.keep_out()) for b in boxes):
                boxes.append(new)
        width, height = SIZES[i % len(SIZES)]
        grey = int(rng.integers(80, 180))
        scenes.append(Scene(first_id + i, width, height, grey, tuple(boxes)))
    return scenes


def render(scene: Scene) -> np.ndarray:
    """The scene as uint8 RGB: grey with a little noise, and the solid boxes."""
    rng = np.random.default_rng(scene.image_id)
    noise = rng.normal(0, 3, (scene.height, scene.width, 3))
    image = np.clip(scene.grey + noise, 0, 255).astype(np.uint8)
    for box in scene.boxes:
        x0, y0, x1, y1 = scene.pixels(box)
        image[y0:y1, x0:x1] = RGB[box.label]
    return image


def coco_annotations(scenes: list[Scene]) -> dict:
    annotations = []
    for scene in scenes:
        for box in scene.boxes:
            x0, y0, x1, y1 = scene.pixels(box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": scene.image_id,
                    "category_id": CATEGORIES[LABELS[box.label]],
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    return {
        "images": [
            {"id": s.image_id, "file_name": s.file_name, "width": s.width, "height": s.height}
            for s in scenes
        ],
        "annotations": annotations,
        "categories": [{"id": i, "name": name} for name, i in CATEGORIES.items()],
    }


def expected_ap(scenes: list[Scene]) -> dict[str, float]:
    """COCO AP per category name as the design predicts it (see the module docstring)."""
    ap = {}
    for label, name in LABELS.items():
        boxes = [b for s in scenes for b in s.boxes if b.label == label]
        found = sum(b.detectable for b in boxes)
        if not boxes or (found < len(boxes) and 100 * found % len(boxes) == 0):
            # No objects, or a recall on COCO's grid, where float rounding decides: re-plan.
            raise ValueError(f"{name}: {found} of {len(boxes)} objects detectable")
        ap[name] = (math.floor(100 * found / len(boxes)) + 1) / 101
    return ap


@dataclass(frozen=True)
class ImageSet:
    images: Path  # folder of JPEGs
    annotations: Path  # COCO instances JSON
    scenes: list[Scene]

    @property
    def expected_ap(self) -> float:
        per_class = expected_ap(self.scenes)
        return sum(per_class.values()) / len(per_class)


def write_images(folder: Path, count: int, seed: int, first_id: int = 1) -> ImageSet:
    """folder/images/*.jpg and folder/instances.json for `count` planned scenes."""
    scenes = plan_scenes(count, seed, first_id)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        # 4:4:4 chroma: colour edges stay where they were drawn.
        Image.fromarray(render(scene)).save(images / scene.file_name, quality=95, subsampling=0)
    annotations = folder / "instances.json"
    annotations.write_text(json.dumps(coco_annotations(scenes)))
    return ImageSet(images, annotations, scenes)


def coco_results(scenes: list[Scene], detections: list[Detections]) -> list[dict]:
    """The detections as COCO results, model labels mapped to the set's categories by name."""
    category = np.array([0, *(CATEGORIES[LABELS[label]] for label in sorted(LABELS))])
    results = []
    for scene, dets in zip(scenes, detections, strict=True):
        mapped = Detections(category[dets.labels], dets.scores, dets.boxes)
        results += to_coco_results(scene.image_id, mapped, scene.width, scene.height)
    return results


# -- catalog and workflow config ----------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_entry(path: Path, folder: Path) -> dict:
    """A catalog's entry of the local file `path`, relative to the catalog's `folder`."""
    return {"path": path.relative_to(folder).as_posix(), "sha256": sha256(path)}


def catalog_entry(xml: Path, catalog: Path) -> dict:
    """The model's entry in the agreed `ir` catalog format; paths relative to the catalog."""
    return {
        "description": "Synthetic SSD (tests/synthetic.py): colour boxes, Caffe DetectionOutput",
        "ir": {
            "xml": file_entry(xml, catalog.parent),
            "bin": file_entry(xml.with_suffix(".bin"), catalog.parent),
            "output": OUTPUT,
        },
        "input": {
            "name": INPUT,
            "height": SIZE,
            "width": SIZE,
            "layout": "NCHW",
            "color": "BGR",
            "range": [0, 255],
            "resize": "tf1_bilinear",
        },
        "label_map": dict(LABELS),
    }


def write_catalog(catalog: Path, xml: Path) -> Path:
    """A user catalog file holding the synthetic model alone."""
    catalog.write_text(
        yaml.safe_dump({"models": {NAME: catalog_entry(xml, catalog)}}, sort_keys=False)
    )
    return catalog


@dataclass(frozen=True)
class Synthetic:
    """Everything `build` writes."""

    xml: Path
    catalog: Path
    evaluation: ImageSet
    calibration: ImageSet


def build(folder: Path, images: int = 30, calibration_images: int = 16) -> Synthetic:
    """IR, user catalog, evaluation set and a separate calibration set, under `folder`."""
    xml = write_ir(folder / "model")
    return Synthetic(
        xml=xml,
        catalog=write_catalog(folder / "model" / "catalog.yaml", xml),
        evaluation=write_images(folder / "eval", images, seed=0),
        calibration=write_images(folder / "calibration", calibration_images, seed=1, first_id=1001),
    )


def workflow_config(built: Synthetic) -> dict:
    """A workflow config for the synthetic model that reads only generated files."""
    return {
        "models": [NAME],
        "precisions": ["FP32", "FP16", "INT8"],
        "results": "results/synthetic",
        "catalogs": [str(built.catalog)],
        "mirror": None,
        "model_overrides": {},
        "coco": {
            "source": "local",
            "images": str(built.evaluation.images),
            "annotations": str(built.evaluation.annotations),
            "max_images": None,
            "seed": 0,
        },
        "extra_datasets": {},
        "calibration": {
            "subset_size": len(built.calibration.scenes),
            "images": str(built.calibration.images),
            "annotations": str(built.calibration.annotations),
            "reserve": 0,
            "seed": 0,
        },
        "postprocess": {"score_threshold": None},
        "quantization": {"preset": "performance", "mode": "default", "max_drop": 0.01},
        "inference": {"device": "CPU", "precision_hint": "f32"},
        "accuracy": {"shards": 1, "bootstrap_resamples": 200, "seed": 0},
        "samples": {"count": 2, "image_ids": [], "score_threshold": 0.4},
        "benchmark": {
            "device": "CPU",
            "duration": 1,
            "repeats": 1,
            "modes": ["throughput", "latency"],
            "streams": None,
            "threads": None,
        },
    }
