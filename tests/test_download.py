"""Downloads from the real mirror and a local HTTP server; extraction of real and made archives."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import random
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from availability import needs

from conftest import MIRROR
from ovflow import download
from ovflow.catalog import ArchiveSpec
from ovflow.download import (
    ChecksumError,
    DownloadError,
    extract_tar_folder,
    extract_zip_folder,
    extract_zip_member,
    fetch,
    verify,
)

SSDLITE = "ssdlite_mobilenet_v2_coco_2018_05_09"
SSDLITE_TAR = f"{SSDLITE}.tar.gz"
WRONG_SHA = "0" * 64


def mirror_sha256(name: str) -> str:
    sums = dict(reversed(line.split()) for line in (MIRROR / "SHA256SUMS").read_text().splitlines())
    return sums[name]


def spec_for(name: str, data: bytes, url: str = "http://127.0.0.1:9/x") -> ArchiveSpec:
    return ArchiveSpec(url=url, name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download.time, "sleep", lambda _seconds: None)


# -- verify and fetch ---------------------------------------------------------------------


def test_verify_reports_size_and_hash(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"hello")
    verify(f, spec_for("a.bin", b"hello"))
    with pytest.raises(ChecksumError, match=r"a\.bin: size expected 6, got 5"):
        verify(f, ArchiveSpec(url="", name="a.bin", size=6, sha256=WRONG_SHA))
    with pytest.raises(ChecksumError, match=rf"a\.bin: sha256 expected {WRONG_SHA}, got "):
        verify(f, ArchiveSpec(url="", name="a.bin", sha256=WRONG_SHA))
    with pytest.raises(ChecksumError, match=r"a\.bin: md5 expected 0+, got 5d41402a"):
        verify(f, ArchiveSpec(url="", name="a.bin", md5="0" * 32))
    verify(f, ArchiveSpec(url="", name="a.bin", md5=hashlib.md5(b"hello").hexdigest()))


def test_unchecked_spec_is_refused(tmp_path: Path) -> None:
    spec = ArchiveSpec(url="http://127.0.0.1:9/a.bin", name="a.bin", size=5)
    with pytest.raises(DownloadError, match=r"a\.bin: no sha256 or md5"):
        fetch(spec, tmp_path / "a.bin", log=lambda _m: None)


@needs(MIRROR)
def test_fetch_from_real_mirror_then_keeps_it(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/" + SSDLITE_TAR
    spec = ArchiveSpec(url=url, name=SSDLITE_TAR, sha256=mirror_sha256(SSDLITE_TAR))
    dest = tmp_path / "downloads" / SSDLITE_TAR
    assert fetch(spec, dest, mirror=MIRROR, log=lambda _m: None) == dest
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == spec.sha256
    stamp = dest.stat().st_mtime_ns
    messages: list[str] = []
    assert fetch(spec, dest, mirror=MIRROR, log=messages.append) == dest
    assert dest.stat().st_mtime_ns == stamp
    assert messages == []
    assert leftovers(dest.parent) == [SSDLITE_TAR]


@needs(MIRROR)
def test_mirror_file_with_wrong_sha256_is_an_error(tmp_path: Path) -> None:
    spec = ArchiveSpec(url="http://127.0.0.1:9/" + SSDLITE_TAR, name=SSDLITE_TAR, sha256=WRONG_SHA)
    dest = tmp_path / "downloads" / SSDLITE_TAR
    with pytest.raises(ChecksumError) as err:
        fetch(spec, dest, mirror=MIRROR, log=lambda _m: None)
    message = str(err.value)
    assert str(MIRROR / SSDLITE_TAR) in message
    assert "sha256" in message and "model_overrides" in message
    assert "\n" not in message
    assert leftovers(dest.parent) == []


def test_corrupt_dest_is_replaced_from_mirror(tmp_path: Path) -> None:
    data = b"archive bytes" * 100
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.tar.gz").write_bytes(data)
    dest = tmp_path / "downloads" / "a.tar.gz"
    dest.parent.mkdir()
    dest.write_bytes(b"half")
    fetch(spec_for("a.tar.gz", data), dest, mirror=mirror, log=lambda _m: None)
    assert dest.read_bytes() == data


def test_unreachable_url_without_mirror_file_names_url_and_mirror(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/" + SSDLITE_TAR
    spec = ArchiveSpec(url=url, name=SSDLITE_TAR, sha256=WRONG_SHA)
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    dest = tmp_path / "downloads" / SSDLITE_TAR
    messages: list[str] = []
    with pytest.raises(DownloadError) as err:
        fetch(spec, dest, mirror=empty_mirror, retries=1, timeout=5, log=messages.append)
    message = str(err.value)
    assert not isinstance(err.value, ChecksumError)
    assert url in message and "`mirror:`" in message and SSDLITE_TAR in message
    assert "\n" not in message
    assert any("not in mirror" in m for m in messages)
    assert leftovers(dest.parent) == []


# -- a local HTTP server ------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class FailOnceHandler(QuietHandler):
    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        if type(self).requests == 1:
            self.send_error(500, "try again")
            return
        super().do_GET()


@contextmanager
def serving(directory: Path, handler: type[QuietHandler]) -> Iterator[str]:
    bound = functools.partial(handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), bound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def served_file(tmp_path: Path) -> tuple[Path, bytes]:
    root = tmp_path / "www"
    root.mkdir()
    data = bytes(range(256)) * 5000  # over one read chunk
    (root / "model.tar.gz").write_bytes(data)
    return root, data


def test_fetch_over_http(tmp_path: Path, served_file: tuple[Path, bytes]) -> None:
    root, data = served_file
    dest = tmp_path / "downloads" / "model.tar.gz"
    with serving(root, QuietHandler) as base:
        fetch(spec_for("model.tar.gz", data, f"{base}/model.tar.gz"), dest, log=lambda _m: None)
    assert dest.read_bytes() == data
    assert leftovers(dest.parent) == ["model.tar.gz"]


def test_fetch_over_http_with_wrong_checksum_leaves_nothing(
    tmp_path: Path, served_file: tuple[Path, bytes]
) -> None:
    root, _ = served_file
    dest = tmp_path / "downloads" / "model.tar.gz"
    with serving(root, QuietHandler) as base, pytest.raises(ChecksumError) as err:
        spec = ArchiveSpec(f"{base}/model.tar.gz", "model.tar.gz", sha256=WRONG_SHA)
        fetch(spec, dest, log=lambda _m: None)
    assert f"{base}/model.tar.gz" in str(err.value) and "sha256 expected" in str(err.value)
    assert leftovers(dest.parent) == []


def test_fetch_retries_after_server_error(tmp_path: Path, served_file: tuple[Path, bytes]) -> None:
    root, data = served_file
    FailOnceHandler.requests = 0
    dest = tmp_path / "downloads" / "model.tar.gz"
    messages: list[str] = []
    with serving(root, FailOnceHandler) as base:
        fetch(spec_for("model.tar.gz", data, f"{base}/model.tar.gz"), dest, log=messages.append)
    assert FailOnceHandler.requests == 2
    assert any("500" in m and "try 1/3" in m for m in messages)
    assert dest.read_bytes() == data


def test_missing_url_is_not_retried(tmp_path: Path, served_file: tuple[Path, bytes]) -> None:
    root, data = served_file
    dest = tmp_path / "downloads" / "other.tar.gz"
    messages: list[str] = []
    with serving(root, QuietHandler) as base, pytest.raises(DownloadError, match="404"):
        fetch(spec_for("other.tar.gz", data, f"{base}/other.tar.gz"), dest, log=messages.append)
    assert sum("failed" in m for m in messages) == 1


# -- tar extraction -----------------------------------------------------------------------


@needs(MIRROR)
def test_extract_real_mirror_archive(tmp_path: Path) -> None:
    dest = tmp_path / "archive"
    members = ["frozen_inference_graph.pb", "pipeline.config"]
    out = extract_tar_folder(MIRROR / SSDLITE_TAR, SSDLITE, dest, members)
    assert out == [dest / m for m in members]
    assert (dest / "frozen_inference_graph.pb").stat().st_size == 18403760
    assert (dest / "pipeline.config").stat().st_size == 4323
    assert leftovers(tmp_path) == ["archive"]


@needs(MIRROR)
def test_truncated_tar_is_reported_and_leaves_nothing(tmp_path: Path) -> None:
    archive = tmp_path / SSDLITE_TAR
    with open(MIRROR / SSDLITE_TAR, "rb") as f:
        archive.write_bytes(f.read(100_000))
    dest = tmp_path / "archive"
    with pytest.raises(DownloadError, match="corrupt or truncated") as err:
        extract_tar_folder(archive, SSDLITE, dest, ["frozen_inference_graph.pb", "pipeline.config"])
    assert str(archive) in str(err.value)
    assert leftovers(tmp_path) == [SSDLITE_TAR]


def make_tar(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)


def test_tar_missing_member_names_archive_and_member(tmp_path: Path) -> None:
    archive = tmp_path / "m.tar.gz"
    make_tar(archive, {"top/pipeline.config": b"cfg"})
    with pytest.raises(DownloadError, match=r"m\.tar\.gz: no member top/frozen_inference_graph"):
        extract_tar_folder(
            archive, "top", tmp_path / "out", ["pipeline.config", "frozen_inference_graph.pb"]
        )
    assert not (tmp_path / "out").exists()


def test_tar_refuses_links_and_escaping_names(tmp_path: Path) -> None:
    archive = tmp_path / "m.tar.gz"
    make_tar(archive, {"top/pipeline.config": b"cfg"}, links={"top/graph.pb": "/etc/passwd"})
    with pytest.raises(DownloadError, match="not a regular file"):
        extract_tar_folder(archive, "top", tmp_path / "out", ["graph.pb"])
    with pytest.raises(DownloadError, match="unsafe path"):
        extract_tar_folder(archive, "top", tmp_path / "out", ["../../etc/passwd"])
    with pytest.raises(DownloadError, match="unsafe path"):
        extract_tar_folder(archive, "/top", tmp_path / "out", ["pipeline.config"])
    assert not (tmp_path / "out").exists()


# -- zip extraction -----------------------------------------------------------------------


def make_zip(path: Path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def test_extract_zip_member(tmp_path: Path) -> None:
    archive = tmp_path / "annotations_trainval2017.zip"
    payload = b'{"images": []}' * 100
    make_zip(archive, {"annotations/instances_val2017.json": payload, "annotations/x.json": b"{}"})
    dest = tmp_path / "coco" / "annotations" / "instances_val2017.json"
    assert extract_zip_member(archive, "annotations/instances_val2017.json", dest) == dest
    assert dest.read_bytes() == payload
    assert leftovers(dest.parent) == ["instances_val2017.json"]
    with pytest.raises(DownloadError, match=r"annotations_trainval2017\.zip: no member nope"):
        extract_zip_member(archive, "nope.json", tmp_path / "nope.json")


def test_corrupt_zip_is_reported(tmp_path: Path) -> None:
    archive = tmp_path / "val2017.zip"
    make_zip(archive, {"val2017/a.jpg": random.Random(0).randbytes(5000)})
    archive.write_bytes(archive.read_bytes()[:2000])
    dest = tmp_path / "coco" / "val2017"
    with pytest.raises(DownloadError, match=r"val2017\.zip: corrupt or truncated"):
        extract_zip_folder(archive, "val2017", dest)
    with pytest.raises(DownloadError, match=r"val2017\.zip: corrupt or truncated"):
        extract_zip_member(archive, "val2017/a.jpg", tmp_path / "a.jpg")
    assert leftovers(tmp_path) == ["coco", "val2017.zip"]
    assert leftovers(dest.parent) == []


def test_extract_zip_folder_replaces_whole_dir(tmp_path: Path) -> None:
    archive = tmp_path / "val2017.zip"
    make_zip(archive, {"val2017/b.jpg": b"b", "val2017/a.jpg": b"a", "other/c.jpg": b"c"})
    dest = tmp_path / "coco" / "val2017"
    dest.mkdir(parents=True)
    (dest / "stale.jpg").write_bytes(b"old")
    out = extract_zip_folder(archive, "val2017", dest)
    assert out == [dest / "a.jpg", dest / "b.jpg"]
    assert leftovers(dest) == ["a.jpg", "b.jpg"]
    assert (dest / "a.jpg").read_bytes() == b"a"
    assert leftovers(dest.parent) == ["val2017"]


def test_zip_folder_refuses_escaping_member(tmp_path: Path) -> None:
    archive = tmp_path / "val2017.zip"
    make_zip(archive, {"val2017/a.jpg": b"a", "val2017/../evil.jpg": b"x"})
    dest = tmp_path / "coco" / "val2017"
    with pytest.raises(DownloadError, match=r"unsafe path '\.\./evil\.jpg'"):
        extract_zip_folder(archive, "val2017", dest)
    assert leftovers(tmp_path / "coco") == []
    assert not (tmp_path / "evil.jpg").exists()


def test_zip_without_folder_is_reported(tmp_path: Path) -> None:
    archive = tmp_path / "val2017.zip"
    make_zip(archive, {"other/a.jpg": b"a"})
    with pytest.raises(DownloadError, match=r"val2017\.zip: no files under val2017/"):
        extract_zip_folder(archive, "val2017", tmp_path / "val2017")
    assert not (tmp_path / "val2017").exists()
