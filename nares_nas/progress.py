"""Progress of long jobs as plain lines on stderr, and a warning before a job expected to take long.

One helper for every command that runs many searches or a long study (``search``, ``table2``,
``mo-table``, ``fidelity``): a line such as ``bananas: 16/400 runs (4%), 12 min elapsed, about
4.8 h left``, at most one every :data:`EVERY_S` seconds while work finishes and one every
:data:`IDLE_S` seconds while nothing does (so a log file shows a job is alive without
filling up), and a last line when the job is done. Lines, not a redrawn bar: they read the
same on a terminal, in a pipe and in a log file.

Before it starts, a job whose estimate (:meth:`Searcher.expected_seconds
<nares_nas.searchers.Searcher.expected_seconds>` per run, over the processes it runs in)
exceeds :data:`LONG_S` says so (:func:`announce`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
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
    detail = ", ".join(f"{name}: {runs} runs, about {duration(seconds)}" for name, runs, seconds in parts)
    (sys.stderr if stream is None else stream).write(
        f"this job is expected to take about {duration(total)} {where} ({detail}; a rough estimate from the "
        "CPU timings in docs/benchmarks.md, which also says how to go faster)\n")
    return True
