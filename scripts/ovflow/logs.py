"""Send a rule script's output to its Snakemake log file."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def to_log(path: str | Path) -> Iterator[None]:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with (
        open(path, "w", buffering=1) as f,
        contextlib.redirect_stdout(f),
        contextlib.redirect_stderr(f),
    ):
        handler = logging.StreamHandler(f)
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        try:
            yield
        except Exception as exc:
            # The full trace goes to the log; Snakemake shows the one-line reason.
            logging.exception("failed")
            print(f"{type(exc).__name__}: {exc}", file=sys.__stderr__)
            raise
        finally:
            logging.getLogger().removeHandler(handler)
