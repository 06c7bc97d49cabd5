"""Should INT8 ship? The verdict, on accuracy alone: ΔAP = AP(INT8) - AP(FP32) on the primary
set, its 95% paired-bootstrap interval [low, high], against the budget quantization.max_drop.
Plain Python (no pandas, no matplotlib): the report writes the headline to headline.yaml and the
index lists it as stored. The sentences that state it are in templates/notes.j2."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import OvflowError
from .precisions import QUANTIZED as TARGET
from .precisions import REFERENCE

MISSING = "—"
# The number formats of the report's figures, by kind; tables and sentences use these.
STAT, DELTA, RATIO, MB = ".4f", "+.4f", ".2f", ".2f"  # AP, change of AP, ratio, megabytes
FPS, MS, PERCENT, INT = ".1f", ".2f", ".1f", "d"
Verdict = Literal["ship", "do_not_ship", "inconclusive", "none"]
LABELS = {"ship": f"Ship {TARGET}", "do_not_ship": "Do not ship"}
LABELS |= {"inconclusive": "Inconclusive", "none": "No verdict"}


def fmt(value: Any, spec: str = "", pair: str = "{}-{}") -> str:
    """A figure as text, or a pair of them (e.g. a min-max range) joined by `pair`; MISSING for
    None or a non-finite number, and for a pair unless both are there."""
    if isinstance(value, tuple):
        return MISSING if None in value else pair.format(*(fmt(v, spec) for v in value))
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return str(int(value)) if spec == INT else format(value, spec) if spec else str(value)


def interval(bounds: tuple[float | None, float | None]) -> str:
    """ΔAP's (low, high) interval."""
    return fmt(tuple(bounds), DELTA, "[{}, {}]")


def times(ratio: float | None) -> str:
    text = fmt(ratio, RATIO)
    return text if text == MISSING else f"{text}x"


def tone(ratio: float | None, above_one: str) -> str:
    """`above_one` ("good" or "bad") for a ratio above 1, the other below 1, "" at 1."""
    if ratio in (None, 1):
        return ""
    return above_one if ratio > 1 else {"good": "bad", "bad": "good"}[above_one]


def verdict_of(
    low: float | None, high: float | None, max_drop: float | None, reference_ap: float | None
) -> Verdict:
    """Ship when even the interval's pessimistic end loses at most max_drop AP; do not ship when
    even its optimistic end loses more; otherwise these images cannot tell. No verdict when FP32's
    AP is itself within the budget: no drop could exceed it, so passing would mean nothing."""
    if None in (low, high, max_drop, reference_ap) or reference_ap <= max_drop:
        return "none"
    if low >= -max_drop:
        return "ship"
    return "do_not_ship" if high < -max_drop else "inconclusive"


@dataclass(frozen=True)
class Headline:
    """INT8 vs FP32 on the primary set: what the report leads with and the index lists."""

    model: str
    dataset: str
    images: int | None
    max_drop: float | None
    ap: dict[str, float | None]  # REFERENCE and TARGET
    delta: float | None
    low: float | None
    high: float | None
    # ovflow.benchmark.speedups rows: INT8 against each FP32 baseline
    speedups: list[dict[str, Any]]
    ir_bytes: dict[str, int | None]  # REFERENCE and TARGET
    verdict: Verdict  # verdict_of(low, high, max_drop, ap[REFERENCE])

    @property
    def size_ratio(self) -> float | None:
        before, after = self.ir_bytes.get(REFERENCE), self.ir_bytes.get(TARGET)
        return after / before if before and after is not None else None

    def caveat(self) -> str | None:
        """Where INT8 is slower than a baseline: a shippable model that buys no speed there."""
        slower = []
        for row in self.speedups:
            ratios = {m: row.get(f"{m}_speedup") for m in ("throughput", "latency")}
            found = [f"{m} {times(r)}" for m, r in ratios.items() if r is not None and r < 1]
            slower += [f"{row['baseline']} ({', '.join(found)})"] if found else []
        if not slower:
            return None
        return f"Caveat: on the benchmark machine {TARGET} is slower than {'; than '.join(slower)}."

    @classmethod
    def read(cls, path: Path) -> Headline:
        """headline.yaml as the report wrote it, its verdict included (not decided again)."""
        try:
            head = cls(**yaml.safe_load(path.read_text(encoding="utf-8")))
        except TypeError as error:  # not a mapping, or not these keys
            raise OvflowError(f"{path}: not a headline record ({error})") from error
        if head.verdict not in LABELS:
            raise OvflowError(f"{path}: unknown verdict {head.verdict!r}")
        return head
