"""Progress of live trainings on stderr: a tqdm bar on a terminal, else a plain line every few seconds.

A log file or a pipe would otherwise get either nothing or a bar's redraws (carriage returns), so
where stderr is not a terminal every loop of a training (epochs, batches, attack batches) reports
through one shared clock: at most one line per :data:`LINE_INTERVAL_S` seconds for the whole process.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

LINE_INTERVAL_S = 5.0
_last_line = -float("inf")  # monotonic time of the last line, shared by every loop of this process


def throttled_line(text: str, *, force: bool = False) -> bool:
    """Print ``text`` on stderr if no line was printed in the last :data:`LINE_INTERVAL_S` seconds
    (``force``: in any case); whether it was printed."""
    global _last_line
    now = time.monotonic()
    if not force and now - _last_line < LINE_INTERVAL_S:
        return False
    _last_line = now
    print(text, file=sys.stderr, flush=True)
    return True


class _Lines:
    """tqdm's iteration, ``set_postfix`` and ``close`` as throttled lines: ``desc: n/total unit, postfix``."""

    def __init__(self, iterable: Iterable[Any], *, total: int | None, desc: str, unit: str, initial: int) -> None:
        self.iterable, self.desc, self.unit = iterable, desc, unit
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.n = initial
        self.postfix = ""
        self.start = time.monotonic()

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable:
            yield item
            self.n += 1
            throttled_line(self._text())

    def _text(self) -> str:
        of = "" if self.total is None else f"/{self.total}"
        postfix = f", {self.postfix}" if self.postfix else ""
        return f"{self.desc}: {self.n}{of} {self.unit}{postfix} ({time.monotonic() - self.start:.0f} s)"

    def set_postfix(self, **values: Any) -> None:
        self.postfix = " ".join(f"{key}={value}" for key, value in values.items())

    def close(self) -> None:
        """Nothing to clear: lines are never redrawn."""


def progress_bar(iterable: Iterable[Any], *, desc: str, enabled: bool = True, total: int | None = None,
                 unit: str = "it", initial: int = 0, leave: bool = True) -> Any:
    """``iterable`` with progress on stderr: tqdm on a terminal, :class:`_Lines` elsewhere, nothing
    unless ``enabled``. The result iterates like ``iterable`` and has ``set_postfix`` and ``close``."""
    if enabled and not sys.stderr.isatty():
        return _Lines(iterable, total=total, desc=desc, unit=unit, initial=initial)
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave, disable=not enabled,
                file=sys.stderr)
