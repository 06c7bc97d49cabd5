"""Shared fixtures: the real data in ../shared, read in place, never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SUBSET = SHARED / "data" / "coco-val2017-subset"
PERSON = SHARED / "data" / "coco-val2017-person"
MIRROR = SHARED / "mirror"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests read the shared data in place")
    return SHARED
