"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    The caller writes (and should fsync) the temporary file; the parent folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (fsynced before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


class WriteBehind:
    """Writes done in order on one background thread, while the caller computes what comes next.

    Why: a run file costs its encoding and an fsync (milliseconds each on a busy disk), which a
    job of sub-second runs would otherwise wait for run after run; zlib and fsync release the GIL.
    Writes happen in the order submitted (a summary after the run files it covers). The first
    failed write is raised by the next :meth:`submit` or at the end of the ``with`` block, and the
    writes queued after it are skipped, so what is on disk is what a writer in the caller's thread
    would have left (never a summary naming a run whose file failed); a block left by an exception
    of the caller's still finishes the writes already submitted, so no finished run is lost.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-behind")
        self._pending: deque[Future] = deque()
        self._failed = False  # set on the writer's thread by the first failed write

    def submit(self, write: Callable[..., Any], *args: Any) -> None:
        """Queue ``write(*args)`` (its arguments must not change until it has run); raise an earlier failure."""
        self._settle(wait=False)
        self._pending.append(self._pool.submit(self._write, write, args))

    def _write(self, write: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self._failed:
            return  # an earlier write failed: the caller stops there, so everything after it stays undone
        try:
            write(*args)
        except BaseException:
            self._failed = True
            raise

    def _settle(self, wait: bool) -> None:
        """Collect finished writes (``wait``: all of them), raising the first that failed."""
        while self._pending and (wait or self._pending[0].done()):
            self._pending.popleft().result()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            if kind is None:
                self._settle(wait=True)
        finally:
            self._pool.shutdown(wait=True)  # after an error too: the runs already submitted are written
