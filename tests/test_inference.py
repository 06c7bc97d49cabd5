"""Input preparation runs ahead of inference, but only a bounded number of images."""

from __future__ import annotations

import threading
import time

import numpy as np

from ovflow.inference import prepared


def test_prepared_keeps_order_and_bounds_the_look_ahead() -> None:
    lock = threading.Lock()
    loaded: list[int] = []

    def load(item: int) -> np.ndarray:
        with lock:
            loaded.append(item)
        return np.full(1, item)

    consumed = []
    for value in prepared(range(200), load, workers=2, ahead=5):
        time.sleep(0.001)  # a consumer slower than loading
        with lock:
            # Never more than `ahead` (+1 just submitted) loaded beyond what was consumed.
            assert len(loaded) - len(consumed) <= 6
        consumed.append(int(value[0]))
    assert consumed == list(range(200))
