"""Checked downloads (URL or local mirror) and safe, atomic archive extraction."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm import tqdm

from ovflow.atomic import temp_beside
from ovflow.catalog import ArchiveSpec
from ovflow.errors import OvflowError

CHUNK = 1 << 20
MIRROR_HINT = "set the archive's sha256 in model_overrides for a re-packed mirror archive"
CATALOG_HINT = "is it the file the catalog's sha256 was taken of?"
# Errors worth another try: the network, not the disk or the content.
NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)
CORRUPT_ARCHIVE = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile)


class DownloadError(OvflowError, RuntimeError):
    """A file could not be fetched or unpacked."""


class ChecksumError(DownloadError):
    """A file's size or hash differs from the catalog."""


# -- checking -----------------------------------------------------------------------------


def _require_hash(spec: ArchiveSpec) -> None:
    if not spec.sha256 and not spec.md5:
        raise DownloadError(f"{spec.name}: no sha256 or md5 configured; refusing an unchecked file")


def _mismatch(path: Path, spec: ArchiveSpec) -> str | None:
    """What differs between `path` and `spec` (size, then hashes), or None if it matches."""
    _require_hash(spec)
    actual_size = path.stat().st_size
    if spec.size is not None and actual_size != spec.size:
        return f"size expected {spec.size}, got {actual_size}"
    hashes = {algo: hashlib.new(algo) for algo in ("sha256", "md5") if getattr(spec, algo)}
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)
    for algo, h in hashes.items():
        expected = getattr(spec, algo).lower()
        if h.hexdigest() != expected:
            return f"{algo} expected {expected}, got {h.hexdigest()}"
    return None


def verify(path: Path, spec: ArchiveSpec) -> None:
    """Raise ChecksumError unless `path` has the size and hashes of `spec`."""
    problem = _mismatch(path, spec)
    if problem:
        raise ChecksumError(f"{path}: {problem}")


# -- fetching -----------------------------------------------------------------------------


def _copy_checked(source: Path, spec: ArchiveSpec, dest: Path, what: str, hint: str) -> None:
    with temp_beside(dest) as tmp:
        try:
            shutil.copyfile(source, tmp)
        except OSError as exc:
            raise DownloadError(f"{what} {source}: cannot read ({exc.strerror})") from None
        problem = _mismatch(tmp, spec)
        if problem:
            raise ChecksumError(f"{what} {source}: {problem}; {hint}")
        os.replace(tmp, dest)


def _progress(total: int | None, name: str) -> tqdm | None:
    """A tqdm bar on an interactive terminal; None in logs and CI."""
    if not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=name)


def _stream(response: BinaryIO, out: BinaryIO, total: int | None, name: str) -> None:
    bar = _progress(total, name)
    received = 0
    try:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            received += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    # A server closing early without an error must not pass as a complete file.
    if total is not None and received != total:
        raise http.client.IncompleteRead(b"", total - received)


def _download_once(url: str, tmp: Path, timeout: float, name: str) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
        length = response.headers.get("Content-Length")
        _stream(response, out, int(length) if length else None, name)


def _is_retryable(err: Exception) -> bool:
    # A 4xx answer will not change on a retry; server errors and dropped connections may.
    return not (isinstance(err, urllib.error.HTTPError) and err.code < 500)


def _download(
    spec: ArchiveSpec, dest: Path, retries: int, timeout: float, log: Callable[[str], object]
) -> None:
    last: Exception | None = None
    for attempt in range(1, max(retries, 1) + 1):
        with temp_beside(dest) as tmp:
            try:
                _download_once(spec.url, tmp, timeout, spec.name)
            except NETWORK_ERRORS as err:
                last = err
                log(f"download of {spec.url} failed (try {attempt}/{retries}): {err}")
                if not _is_retryable(err) or attempt >= retries:
                    break
                time.sleep(min(2 ** (attempt - 1), 30))
                continue
            problem = _mismatch(tmp, spec)
            if problem:
                raise ChecksumError(f"{spec.url} (downloaded for {dest}): {problem}")
            os.replace(tmp, dest)
            return
    raise DownloadError(
        f"cannot download {spec.url} ({last}); offline? put {spec.name} in a local directory"
        " and set `mirror:` in the config"
    )


def fetch(
    spec: ArchiveSpec,
    dest: Path,
    mirror: Path | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    log: Callable[[str], object] = print,
) -> Path:
    """`dest` holding the checked file of `spec`: kept if valid, else copied from its local
    path, or from `mirror` or its URL."""
    _require_hash(spec)
    dest = Path(dest)
    if dest.exists():
        problem = _mismatch(dest, spec)
        if problem is None:
            return dest
        log(f"{dest}: {problem}; fetching it again")
    if spec.path is not None:
        log(f"copying {spec.path}")
        _copy_checked(Path(spec.path), spec, dest, "file", CATALOG_HINT)
        return dest
    if mirror is not None:
        source = Path(mirror) / spec.name
        if source.is_file():
            log(f"copying {spec.name} from mirror {mirror}")
            _copy_checked(source, spec, dest, "mirror file", MIRROR_HINT)
            return dest
        log(f"{spec.name} is not in mirror {mirror}; downloading {spec.url}")
    else:
        log(f"downloading {spec.url}")
    _download(spec, dest, retries, timeout, log)
    return dest


# -- extracting ---------------------------------------------------------------------------


def _safe_relative(name: str, archive: Path) -> PurePosixPath:
    """`name` as a relative path that stays inside its target directory."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise DownloadError(f"{archive}: unsafe path {name!r} in archive")
    return path


@contextmanager
def _temp_dir(beside: Path) -> Iterator[Path]:
    beside.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=beside.parent, prefix=f".{beside.name}.", suffix=".part"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _reading(archive: Path) -> Iterator[None]:
    """Turn a corrupt or truncated archive into one DownloadError naming it."""
    try:
        yield
    except CORRUPT_ARCHIVE as err:
        raise DownloadError(
            f"{archive}: corrupt or truncated archive ({err}); delete it and rerun"
        ) from err


def extract_tar_folder(archive: Path, folder: str, dest: Path, members: list[str]) -> list[Path]:
    """Extract `folder/<member>` of a .tar.gz to `dest/<member>`; the extracted paths."""
    archive, dest = Path(archive), Path(dest)
    names = [str(_safe_relative(f"{folder}/{m}", archive)) for m in members]
    with _temp_dir(dest) as tmp, _reading(archive), tarfile.open(archive, "r:gz") as tar:
        for name in names:
            try:
                info = tar.getmember(name)
            except KeyError:
                raise DownloadError(f"{archive}: no member {name}") from None
            if not info.isfile():
                raise DownloadError(f"{archive}: member {name} is not a regular file")
            tar.extract(info, tmp, filter="data")
        # Only a complete extraction reaches dest.
        dest.mkdir(parents=True, exist_ok=True)
        outputs = []
        for member, name in zip(members, names, strict=True):
            (dest / member).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, dest / member)
            outputs.append(dest / member)
    return outputs


def extract_zip_member(archive: Path, member: str, dest_file: Path) -> Path:
    """Extract one file of a zip archive to `dest_file`."""
    archive, dest_file = Path(archive), Path(dest_file)
    _safe_relative(member, archive)
    with _reading(archive), zipfile.ZipFile(archive) as zf:
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise DownloadError(f"{archive}: no member {member}") from None
        with temp_beside(dest_file) as tmp:
            with zf.open(info) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            os.replace(tmp, dest_file)
    return dest_file


def _replace_dir(new: Path, dest_dir: Path) -> None:
    """Put directory `new` at `dest_dir`, dropping an older `dest_dir`."""
    if not dest_dir.exists():
        new.rename(dest_dir)
        return
    with _temp_dir(dest_dir) as trash:
        dest_dir.rename(trash / "old")
        new.rename(dest_dir)


def extract_zip_folder(archive: Path, folder: str, dest_dir: Path) -> list[Path]:
    """Extract the files under `folder/` of a zip archive into `dest_dir`; the extracted paths."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    prefix = f"{_safe_relative(folder, archive)}/"
    with _temp_dir(dest_dir) as tmp, _reading(archive), zipfile.ZipFile(archive) as zf:
        relatives = []
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(prefix):
                continue
            relative = _safe_relative(info.filename[len(prefix) :], archive)
            target = tmp / "out" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            relatives.append(relative)
        if not relatives:
            raise DownloadError(f"{archive}: no files under {prefix}")
        _replace_dir(tmp / "out", dest_dir)
    return sorted(dest_dir / r for r in relatives)
