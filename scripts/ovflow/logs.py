"""Send a rule script's output to its Snakemake log file; the workflow's own errors as one line."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from .errors import OvflowError, one_line


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
        except OvflowError as exc:
            # Anticipated: its one line says it all, in the log and on screen; a traceback
            # would only bury it. Exit non-zero so Snakemake marks the job failed.
            logging.error(one_line(exc))
            print(one_line(exc), file=sys.__stderr__)
            raise SystemExit(1) from None
        except Exception as exc:
            # Unexpected: the full trace goes to the log; Snakemake shows the one-line reason.
            logging.exception("failed")
            print(one_line(exc), file=sys.__stderr__)
            raise
        finally:
            logging.getLogger().removeHandler(handler)
