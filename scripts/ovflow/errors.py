"""The base of the workflow's own error types.

An OvflowError is an anticipated problem (a bad config value, a wrong checksum, a corrupt image,
an unusable model) whose message already says everything in one line naming the file or key.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


class OvflowError(Exception):
    """An anticipated failure explained by its one-line message."""


def one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def exit_with_one_line() -> Iterator[None]:
    """Outside any rule (the Snakefile): an OvflowError ends the process with its one line on
    stderr, where Snakemake would print a traceback."""
    try:
        yield
    except OvflowError as exc:
        sys.exit(one_line(exc))
