"""Fetch the NARes release archive over HTTP(S) or file://, resumably, without half-written results.

The bytes go to ``<dest>.part`` first and are renamed onto ``dest`` (``os.replace``, atomic on one
file system) only when complete and, if asked, checksummed. An interrupted or failed transfer leaves
``dest`` untouched and keeps the partial file, so the next call resumes it with an HTTP ``Range``
request instead of starting over on a multi-hundred-megabyte archive.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

from nares_nas._validation import check_int
from nares_nas.errors import ConfigError, NaresError

logger = logging.getLogger(__name__)

#: The address of the reference dataset repository's v1.0 release, the archive ``nares.txz``
#: (it holds ``cifar10.jsonl``, the official NARes records).
DEFAULT_URL = "https://github.com/zhichao-lu/arch-dataset-adv-robustness/releases/download/v1.0/nares.txz"
#: Environment variable that replaces :data:`DEFAULT_URL` (a mirror, or a ``file://`` copy offline).
URL_ENV = "NARES_NAS_URL"

_USER_AGENT = "nares-nas-download/1"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DownloadError(NaresError, OSError):
    """A download that failed; names the URL and the HTTP status or the network cause.

    ``part`` is the partial file kept for a later resume, when there is one.
    """

    def __init__(self, url: str, reason: str, status: int | None = None, part: Path | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.part = part
        super().__init__(self._message())

    def _message(self) -> str:
        cause = f"HTTP {self.status} {self.reason}" if self.status is not None else self.reason
        text = f"download of {self.url} failed: {cause}"
        if self.part is not None:
            text += f"; the partial data is kept in {self.part}, run again to resume"
        return text


def resolve_url(url: str | None) -> str:
    """The URL to fetch: ``url`` if given, else ``$NARES_NAS_URL``, else :data:`DEFAULT_URL`."""
    if url:
        return url
    return os.environ.get(URL_ENV) or DEFAULT_URL


def check_url(url: str) -> str:
    """``url`` if it is an ``http(s)://`` address with a host or a ``file://`` URL (what we can fetch)."""
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        raise ConfigError(f"the URL must be an http://, https:// or file:// address, got {url!r}")
    return url


def part_path(dest: Path) -> Path:
    """Where the bytes of ``dest`` accumulate until the download is complete."""
    return dest.with_suffix(dest.suffix + ".part")


def download(
    url: str,
    dest: Path,
    *,
    progress: bool = True,
    chunk_size: int = 1 << 20,
    timeout: float = 60.0,
    expected_sha256: str | None = None,
) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``, resuming ``<dest>.part`` if it exists.

    ``progress`` shows a tqdm bar on stderr. ``timeout`` bounds each network wait in seconds.
    With ``expected_sha256`` the finished file must have that SHA-256 (hex) digest; a mismatch raises
    and removes the bad ``.part`` so that the next call downloads afresh. ``dest`` is written only
    once the whole file is there.
    """
    check_url(url)
    dest = Path(dest)
    check_int(chunk_size, "chunk_size (bytes)")
    digest = expected_sha256.lower() if expected_sha256 is not None else None
    if digest is not None and not _SHA256.fullmatch(digest):
        raise ConfigError(f"expected_sha256 must be 64 hexadecimal digits, got {expected_sha256!r}")
    part = part_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    if offset:
        logger.info("resuming %s from byte %d of %s", url, offset, part)

    try:
        response = urllib.request.urlopen(_request(url, offset), timeout=timeout)
    except urllib.error.HTTPError as exc:
        content_range = exc.headers.get("Content-Range") if exc.headers is not None else None
        if exc.fp is not None:
            exc.close()
        if exc.code != 416 or not offset:
            raise DownloadError(url, exc.reason, status=exc.code) from exc
        _check_complete(url, part, offset, content_range, timeout)
        return _finish(url, part, dest, digest)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise DownloadError(url, _cause(exc)) from exc

    with response:
        offset, total = _plan(url, response, offset)
        _stream(url, response, part, offset, total, dest.name, progress, chunk_size)
    return _finish(url, part, dest, digest)


def _request(url: str, offset: int, method: str = "GET") -> urllib.request.Request:
    # identity: a Range over a compressed transfer encoding would not be a range of the file
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.Request(url, headers=headers, method=method)


def _plan(url: str, response, offset: int) -> tuple[int, int | None]:
    """Where the body starts in the file and the file's total size (None if the server does not say).

    206 continues the partial file; 200 (or ``file://``, which has no status) is the whole file from
    byte zero, whatever was asked.
    """
    length = response.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    if response.status == 206:
        match = _CONTENT_RANGE.fullmatch((response.headers.get("Content-Range") or "").strip())
        if match is None or int(match.group(1)) != offset:
            raise DownloadError(
                url,
                f"asked for bytes from {offset}, the server answered Content-Range "
                f"{response.headers.get('Content-Range')!r}",
                status=206,
            )
        size = match.group(3)
        return offset, int(size) if size != "*" else (offset + length if length is not None else None)
    if offset:
        logger.info("%s ignored the range request; downloading from the start", url)
    return 0, length


def _stream(
    url: str, response, part: Path, offset: int, total: int | None, name: str, progress: bool, chunk_size: int
) -> None:
    """Append the body to ``part`` (rewrite it when ``offset`` is 0); raise if it ends short."""
    received = offset
    with (
        open(part, "ab" if offset else "wb") as out,
        tqdm(
            total=total, initial=offset, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
            disable=not progress, file=sys.stderr,
        ) as bar,
    ):
        try:
            while chunk := response.read(chunk_size):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(url, f"{_cause(exc)} after {received} bytes", part=part) from exc
        out.flush()
        os.fsync(out.fileno())
    if total is not None and received != total:
        raise DownloadError(
            url, f"the connection ended after {received} of {total} bytes", part=part
        )


def _check_complete(url: str, part: Path, offset: int, content_range: str | None, timeout: float) -> None:
    """After 416 to ``Range: bytes=offset-``: the part is complete only if the remote size is offset."""
    match = _UNSATISFIED_RANGE.fullmatch((content_range or "").strip())
    size = int(match.group(1)) if match else _remote_size(url, timeout)
    if size != offset:
        known = f"the remote file has {size} bytes" if size is not None else "the remote size is unknown"
        raise DownloadError(
            url,
            f"Range Not Satisfiable for bytes from {offset}, and {known}; {part} is not a prefix of it: "
            "delete it and run again",
            status=416,
        )


def _remote_size(url: str, timeout: float) -> int | None:
    """Content-Length from a HEAD request, or None when the server gives none."""
    try:
        with urllib.request.urlopen(_request(url, 0, method="HEAD"), timeout=timeout) as response:
            length = response.headers.get("Content-Length")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        logger.info("HEAD %s failed: %s", url, _cause(exc))
        return None
    return int(length) if length and length.isdigit() else None


def _finish(url: str, part: Path, dest: Path, digest: str | None) -> Path:
    """Check the digest of the complete ``part`` and move it onto ``dest`` in one step."""
    if digest is not None:
        actual = _sha256(part)
        if actual != digest:
            part.unlink()
            raise DownloadError(
                url, f"SHA-256 mismatch: expected {digest}, got {actual}; removed {part}, run again to retry"
            )
    os.replace(part, dest)
    return dest


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def _cause(exc: BaseException) -> str:
    """The network cause in words: URLError wraps it in ``reason``."""
    reason = getattr(exc, "reason", None) if isinstance(exc, urllib.error.URLError) else None
    inner = reason if reason is not None else exc
    return f"{type(inner).__name__}: {inner}" if isinstance(inner, BaseException) else str(inner)
