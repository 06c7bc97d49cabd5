"""One run at a time per results folder.

Snakemake's own lock lives in `.snakemake/` of the working directory, so two runs started from
different directories with the same absolute `results:` would both start and then trip over
each other's files. The main process of a run holds an advisory lock (flock) on a file in the
results folder instead. The kernel drops it when the process ends, however it ends (kill -9
included), so a killed run never leaves the folder locked and there is nothing to clear.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO

from .errors import OvflowError

LOCK_FILE = ".run.lock"
_held: list[IO[str]] = []  # open for the life of the process: closing would release the lock


class ResultsBusy(OvflowError):
    """Another run is writing to the same results folder."""


def hold(results: Path) -> None:
    """Lock `results` for the rest of this process, or warn where the file system has no locks.
    Raises ResultsBusy while another process holds it."""
    results = Path(results).absolute()
    results.mkdir(parents=True, exist_ok=True)
    path = results / LOCK_FILE
    note = open(path, "a+")  # noqa: SIM115 (kept open while the process runs)
    try:
        fcntl.flock(note, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        note.seek(0)
        holder = note.read().strip() or "a process that wrote no note yet"
        note.close()
        raise ResultsBusy(
            f"{results}: in use by another run ({holder}); wait for it to end or stop it. "
            f"Its lock on {LOCK_FILE} ends with its process, even if killed: nothing to clear"
        ) from None
    except OSError as err:
        note.close()
        print(
            f"warning: cannot lock {path} ({err}): a second run on {results} would not be refused",
            file=sys.stderr,
        )
        return
    note.truncate(0)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    note.write(f"pid {os.getpid()} on {socket.gethostname()}, started {started} in {os.getcwd()}")
    note.flush()
    _held.append(note)
