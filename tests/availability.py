"""What a test needs that a clone may lack (the real data in ../shared, Slurm, a browser).

Where it is missing the test skips with one line that names it, so a fresh clone still
passes `make test`; under CI=true that skip is a failure instead, so CI never silently loses
a test. A pytest plugin (tests/conftest.py loads it): tests declare the files or folders they
read with `@needs(path, ...)`, checked before any fixture runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

MARKER = "needs"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1"}


def unavailable(reason: str) -> NoReturn:
    """Skip the current test with `reason`; under CI=true fail it instead."""
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def needs(*paths: Path) -> pytest.MarkDecorator:
    """Mark a test (or, as `pytestmark`, a module) as reading these files or folders."""
    return getattr(pytest.mark, MARKER)(*paths)


def missing_paths(item: pytest.Item) -> list[str]:
    """The needed paths that do not exist, relative to the rootdir (e.g. ../shared/mirror)."""
    missing = []
    for mark in item.iter_markers(MARKER):
        for path in mark.args:
            if not Path(path).exists():
                missing.append(os.path.relpath(path, item.config.rootpath))
    return sorted(set(missing))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*paths): files or folders the test reads; skip if one is missing"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = missing_paths(item)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        unavailable(f"{', '.join(missing)} {verb} missing (real data for this test)")
