"""Detections as the converted IR emits them: [1, 1, N, 7] DetectionOutput rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """One image's detections, best first.

    boxes are normalized corners (x_min, y_min, x_max, y_max) in [0, 1];
    labels are COCO 91-class ids (1..90).
    """

    labels: np.ndarray  # int64 [N]
    scores: np.ndarray  # float32 [N]
    boxes: np.ndarray  # float32 [N, 4]

    def __len__(self) -> int:
        return len(self.labels)

    def above(self, threshold: float) -> Detections:
        keep = self.scores >= threshold
        return Detections(self.labels[keep], self.scores[keep], self.boxes[keep])


def parse_detection_output(raw: np.ndarray) -> Detections:
    """Rows of `image_id, label, conf, x_min, y_min, x_max, y_max`; stop at image_id -1."""
    rows = np.asarray(raw, dtype=np.float32).reshape(-1, 7)
    unused = np.flatnonzero(rows[:, 0] < 0)
    if unused.size:
        rows = rows[: unused[0]]
    return Detections(
        labels=rows[:, 1].astype(np.int64),
        scores=rows[:, 2].copy(),
        boxes=rows[:, 3:7].copy(),
    )
