"""download(): full, resumed, restarted and failed transfers against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import socket
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nares_nas.data.download import DEFAULT_URL, URL_ENV, DownloadError, download, part_path, resolve_url
from nares_nas.errors import ConfigError, NaresError

PAYLOAD = np.random.default_rng(20240611).bytes(3 << 20)
CHUNK = 1 << 16
SERVER_SECONDS = 10.0  # the serving loop ends by then whatever happens
POLL_SECONDS = 0.05
MAX_POLLS = int(SERVER_SECONDS / POLL_SECONDS)


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET/HEAD of one in-memory file with single ``bytes=N-`` ranges; ``server.mode`` picks a fault.

    Modes: ``range`` (honours Range), ``ignore_range`` (always 200), ``drop`` (sends half the body,
    then closes), ``stall`` (sends half, then waits), ``missing`` (404), ``wrong_range`` (206 from 0).
    """

    timeout = 5.0  # socket timeout of each connection

    def log_message(self, format, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def do_GET(self) -> None:
        self._respond(body=True)

    def _respond(self, body: bool) -> None:
        srv = self.server
        data, mode, asked = srv.payload, srv.mode, self.headers.get("Range")
        srv.requests.append((self.command, asked))
        if self.path == "/moved":  # as GitHub sends release assets to its object store
            self.send_response(302)
            self.send_header("Location", "/nares.txz")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "missing":
            self.send_error(404)
            return
        start = 0
        if asked and mode != "ignore_range":
            start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if mode == "wrong_range":
                start = 0
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        rest = data[start:]
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if not body:
            return
        if mode in ("drop", "stall"):
            self.wfile.write(rest[: len(rest) // 2])
            if mode == "stall":
                srv.release.wait(SERVER_SECONDS)
            return  # HTTP/1.0: the connection closes here, short of Content-Length
        self.wfile.write(rest)


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.timeout = POLL_SECONDS
    srv.payload, srv.mode, srv.requests, srv.release = PAYLOAD, "range", [], threading.Event()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/nares.txz"
    stop = threading.Event()
    deadline = time.monotonic() + SERVER_SECONDS

    def serve() -> None:
        for _ in range(MAX_POLLS):
            if stop.is_set() or time.monotonic() > deadline:
                return
            srv.handle_request()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        stop.set()
        srv.release.set()
        thread.join(2 * POLL_SECONDS + 1)
        srv.server_close()


def _get(srv, dest: Path, **kwargs) -> Path:
    kwargs.setdefault("progress", False)
    return download(srv.url, dest, chunk_size=CHUNK, timeout=5.0, **kwargs)


def test_full_download_equals_source(server, tmp_path):
    dest = tmp_path / "sub" / "nares.txz"
    assert _get(server, dest) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not part_path(dest).exists()
    assert server.requests == [("GET", None)]


def test_resume_sends_range_and_appends(server, tmp_path):
    dest = tmp_path / "nares.txz"
    n = 1_000_003
    part_path(dest).write_bytes(PAYLOAD[:n])
    _get(server, dest)
    assert server.requests == [("GET", f"bytes={n}-")]
    assert dest.read_bytes() == PAYLOAD
    assert not part_path(dest).exists()


def test_resume_follows_redirect_with_range(server, tmp_path):
    dest = tmp_path / "nares.txz"
    part_path(dest).write_bytes(PAYLOAD[:777])
    download(server.url.replace("/nares.txz", "/moved"), dest, progress=False, timeout=5.0)
    assert server.requests == [("GET", "bytes=777-"), ("GET", "bytes=777-")]
    assert dest.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.mode = "ignore_range"
    dest = tmp_path / "nares.txz"
    part_path(dest).write_bytes(PAYLOAD[:12345])
    _get(server, dest)
    assert server.requests == [("GET", "bytes=12345-")]
    assert dest.read_bytes() == PAYLOAD


def test_dropped_connection_keeps_part_and_next_call_completes(server, tmp_path):
    server.mode = "drop"
    dest = tmp_path / "nares.txz"
    part = part_path(dest)
    with pytest.raises(DownloadError) as info:
        _get(server, dest)
    half = len(PAYLOAD) // 2
    assert info.value.part == part
    assert server.url in str(info.value)
    assert f"after {half} of {len(PAYLOAD)} bytes" in str(info.value)
    assert not dest.exists()
    assert part.read_bytes() == PAYLOAD[:half]

    server.mode = "range"
    _get(server, dest)
    assert server.requests[-1] == ("GET", f"bytes={half}-")
    assert dest.read_bytes() == PAYLOAD
    assert not part.exists()


def test_stalled_server_times_out_and_keeps_part(server, tmp_path):
    server.mode = "stall"
    dest = tmp_path / "nares.txz"
    with pytest.raises(DownloadError, match="TimeoutError") as info:
        download(server.url, dest, progress=False, chunk_size=CHUNK, timeout=0.5)
    assert info.value.part == part_path(dest)
    assert part_path(dest).read_bytes() == PAYLOAD[: len(PAYLOAD) // 2]
    assert not dest.exists()


def test_416_on_complete_part_finishes(server, tmp_path):
    dest = tmp_path / "nares.txz"
    part_path(dest).write_bytes(PAYLOAD)
    _get(server, dest)
    assert server.requests == [("GET", f"bytes={len(PAYLOAD)}-")]
    assert dest.read_bytes() == PAYLOAD
    assert not part_path(dest).exists()


def test_416_on_part_longer_than_remote_raises_and_keeps_part(server, tmp_path):
    dest = tmp_path / "nares.txz"
    part_path(dest).write_bytes(PAYLOAD + b"extra")
    with pytest.raises(DownloadError) as info:
        _get(server, dest)
    assert info.value.status == 416
    assert f"the remote file has {len(PAYLOAD)} bytes" in str(info.value)
    assert part_path(dest).read_bytes() == PAYLOAD + b"extra"
    assert not dest.exists()


def test_partial_content_at_wrong_offset_raises_and_keeps_part(server, tmp_path):
    server.mode = "wrong_range"
    dest = tmp_path / "nares.txz"
    part_path(dest).write_bytes(PAYLOAD[:100])
    with pytest.raises(DownloadError, match="asked for bytes from 100"):
        _get(server, dest)
    assert part_path(dest).read_bytes() == PAYLOAD[:100]


def test_404_names_url_and_status(server, tmp_path):
    server.mode = "missing"
    dest = tmp_path / "nares.txz"
    with pytest.raises(DownloadError) as info:
        _get(server, dest)
    assert info.value.status == 404
    assert str(info.value) == f"download of {server.url} failed: HTTP 404 Not Found"
    assert isinstance(info.value, NaresError) and isinstance(info.value, OSError)
    assert not dest.exists() and not part_path(dest).exists()


def test_refused_connection_names_url_and_cause(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/nares.txz"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "nares.txz", progress=False, timeout=5.0)
    assert url in str(info.value) and "ConnectionRefusedError" in str(info.value)
    assert info.value.status is None


@pytest.mark.parametrize("url", ["ftp//bad", "ftp://example.org/nares.txz", "http:///nares.txz", "nares.txz"])
def test_a_url_we_cannot_fetch_is_refused_before_anything_is_made(url, tmp_path):
    with pytest.raises(ConfigError, match="the URL must be an http://, https:// or file:// address"):
        download(url, tmp_path / "downloads" / "nares.txz", progress=False)
    assert not (tmp_path / "downloads").exists()


def test_checksum_mismatch_raises_and_leaves_no_dest(server, tmp_path):
    dest = tmp_path / "nares.txz"
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(DownloadError, match=f"SHA-256 mismatch: expected {wrong}"):
        _get(server, dest, expected_sha256=wrong)
    assert not dest.exists() and not part_path(dest).exists()


def test_matching_checksum_accepted_in_any_case(server, tmp_path):
    dest = tmp_path / "nares.txz"
    _get(server, dest, expected_sha256=hashlib.sha256(PAYLOAD).hexdigest().upper())
    assert dest.read_bytes() == PAYLOAD


def test_malformed_checksum_rejected_before_any_request(server, tmp_path):
    with pytest.raises(ConfigError, match="64 hexadecimal digits"):
        _get(server, tmp_path / "nares.txz", expected_sha256="abc")
    with pytest.raises(ConfigError, match=r"^chunk_size \(bytes\) must be a positive integer, got 0$"):
        download(server.url, tmp_path / "nares.txz", chunk_size=0)
    assert server.requests == []


def test_progress_false_writes_nothing(server, tmp_path, capfd):
    _get(server, tmp_path / "nares.txz", progress=False)
    assert capfd.readouterr() == ("", "")


def test_progress_bar_goes_to_stderr(server, tmp_path, capfd):
    _get(server, tmp_path / "nares.txz", progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "nares.txz" in err and "3.00M" in err


def test_generated_txz_downloads_intact(server, tmp_path):
    lines = b'{"arch": [4, 8, 4, 8, 4, 8]}\n{"arch": [11, 16, 11, 16, 11, 16]}\n'
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        info = tarfile.TarInfo("cifar10.jsonl")
        info.size = len(lines)
        tar.addfile(info, io.BytesIO(lines))
    server.payload = buf.getvalue()
    dest = _get(server, tmp_path / "nares.txz")
    with tarfile.open(dest, mode="r:xz") as tar:
        assert tar.extractfile("cifar10.jsonl").read() == lines


def test_file_url(tmp_path):
    src = tmp_path / "src" / "nares.txz"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "nares.txz"
    part_path(dest).parent.mkdir()
    part_path(dest).write_bytes(b"stale bytes that file:// cannot resume")
    download(src.as_uri(), dest, progress=False)
    assert dest.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="FileNotFoundError"):
        download((tmp_path / "absent.txz").as_uri(), tmp_path / "x.txz", progress=False)


def test_resolve_url_precedence(monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    assert resolve_url(None) == DEFAULT_URL
    assert DEFAULT_URL == (
        "https://github.com/zhichao-lu/arch-dataset-adv-robustness/releases/download/v1.0/nares.txz"
    )
    monkeypatch.setenv(URL_ENV, "file:///mirror/nares.txz")
    assert resolve_url(None) == "file:///mirror/nares.txz"
    assert resolve_url("http://127.0.0.1/x.txz") == "http://127.0.0.1/x.txz"
    monkeypatch.setenv(URL_ENV, "")
    assert resolve_url(None) == DEFAULT_URL
