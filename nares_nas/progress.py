"""Progress of long jobs on stderr: searches and studies as plain lines, live trainings as a bar on a
terminal and throttled lines off one; and a warning before a job expected to take long.

One helper for every command that runs many searches or a long study (``search``, ``table2``,
``mo-table``, ``fidelity``): a line such as ``bananas: 16/400 runs (4%), 12 min elapsed, about
4.8 h left``, at most one every :data:`EVERY_S` seconds while work finishes and one every
:data:`IDLE_S` seconds while nothing does (so a log file shows a job is alive without
filling up), and a last line when the job is done. Lines, not a redrawn bar: they read the
same on a terminal, in a pipe and in a log file.

Before it starts, a job whose estimate (:meth:`Searcher.expected_seconds
<nares_nas.searchers.Searcher.expected_seconds>` per run, over the processes it runs in)
exceeds :data:`LONG_S` says so (:func:`announce`).

A live training's loops (epochs, batches, attack batches) report through :func:`progress_bar`: a tqdm bar
where stderr is a terminal; elsewhere a log file or a pipe would get either nothing or a bar's redraws
(carriage returns), so every loop prints plain lines through one shared clock (:func:`throttled_line`):
at most one line per :data:`LINE_INTERVAL_S` seconds for the whole process.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

EVERY_S = 5.0
"""Fewest seconds between two progress lines while work finishes."""
IDLE_S = 60.0
"""Seconds between two lines while nothing finishes (a single slow task)."""
LONG_S = 60.0
"""A job expected to take longer than this says so before it starts."""


def duration(seconds: float) -> str:
    """``seconds`` as a person reads it: ``45 s``, ``12 min``, ``4.8 h``, ``2.1 days``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 120 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


class Progress:
    """``done``/``total`` units of a job, reported as lines on ``stream`` (default stderr).

    Use as a context manager around the work and call :meth:`update` as units finish; a
    background thread writes the lines (:meth:`tick`), so a job whose first unit takes an
    hour still shows it is alive. Nothing is written when ``enabled`` is False, and no last
    line when the job fails.
    """

    def __init__(self, desc: str, total: int, *, done: int = 0, unit: str = "run", enabled: bool = True,
                 stream: IO[str] | None = None, every: float = EVERY_S, idle: float = IDLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.desc, self.total, self.done, self.unit = desc, total, done, unit
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.every, self.idle, self.clock = every, idle, clock
        self._initial = done
        self._start = self._last_line = clock()
        self._changed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._start = self._last_line = self.clock()
            self._thread = threading.Thread(target=self._watch, name=f"progress {self.desc}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.close(finished=exc_type is None)

    def _watch(self) -> None:
        while not self._stop.wait(min(self.every, self.idle) / 2):
            self.tick()

    def update(self, n: int = 1) -> None:
        """``n`` more units finished."""
        with self._lock:
            self.done += n
            self._changed = True

    def line(self) -> str:
        """The progress line now: done of total, elapsed and (once a unit finished here) the time left."""
        elapsed = self.clock() - self._start
        text = f"{self.desc}: {self.done}/{self.total} {self.unit}s"
        if self.total:
            text += f" ({100 * self.done // self.total}%)"
        text += f", {duration(elapsed)} elapsed"
        finished_here = self.done - self._initial
        if finished_here > 0 and self.done < self.total:
            text += f", about {duration(elapsed / finished_here * (self.total - self.done))} left"
        return text

    def tick(self) -> bool:
        """Write the progress line if one is due (news and :attr:`every` seconds, or :attr:`idle` seconds)."""
        with self._lock:
            since = self.clock() - self._last_line
            if not self.enabled or not (since >= self.idle or (self._changed and since >= self.every)):
                return False
            self._write(self.line())
            self._last_line, self._changed = self.clock(), False
            return True

    def close(self, finished: bool = True) -> None:
        """Stop the line thread; a finished job that did some work writes its last line (``desc: 400/400 runs in
        3 min``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.enabled and finished and self.done > self._initial:
            with self._lock:
                self._write(f"{self.desc}: {self.done}/{self.total} {self.unit}s in "
                            f"{duration(self.clock() - self._start)}")
            self.enabled = False

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def job_seconds(searcher: Any, runs: int, budget: int | None, processes: int | None) -> float | None:
    """Expected seconds of ``runs`` runs of ``searcher`` shared by ``processes`` processes (None: unknown).

    From :meth:`Searcher.expected_seconds <nares_nas.searchers.Searcher.expected_seconds>`
    (seconds of one CPU core per run); ``processes`` None (a Dask cluster) gives the CPU time.
    """
    per_run = searcher.expected_seconds(budget)
    if per_run is None or runs <= 0:
        return None
    return per_run * runs / (processes or 1)


def announce(parts: Iterable[tuple[str, int, float | None]], processes: int | None, *,
             stream: IO[str] | None = None) -> bool:
    """Say before a job starts that it will take long: ``parts`` are (name, runs, :func:`job_seconds`).

    Writes one line when their sum exceeds :data:`LONG_S`, naming the slow parts; returns
    whether it did.
    """
    parts = [(name, runs, seconds) for name, runs, seconds in parts if seconds]
    total = sum(seconds for _, _, seconds in parts)
    if total <= LONG_S:
        return False
    if processes is None:
        where = "of CPU time, shared by the Dask cluster's workers"
    else:
        where = "in one process" if processes == 1 else f"in {processes} processes"
    detail = ", ".join(f"{name}: {runs} runs, about {duration(seconds)}" for name, runs, seconds in parts
                       if seconds >= 1)  # the slow parts: a part of milliseconds is not worth a word
    (sys.stderr if stream is None else stream).write(
        f"this job is expected to take about {duration(total)} {where} ({detail}; a rough estimate from the "
        "CPU timings in docs/benchmarks.md, which also says how to go faster)\n")
    return True


# ---------------------------------------------------------------------------- live trainings
LINE_INTERVAL_S = EVERY_S
"""Fewest seconds between two lines of live trainings, for the whole process (every loop shares it)."""
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
