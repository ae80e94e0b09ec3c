"""The evaluation log, its schema written once: every evaluation of a run, for the simulated clock and live mode."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CORE_COLUMNS: tuple[str, ...] = ("arch_id", "epoch_from", "epoch_to", "worker", "start", "end", "cost", "value")
"""Every evaluation's columns: times in days (simulated, or wall-clock in live mode), cost in GPU-days."""
LIVE_COLUMNS: tuple[str, ...] = ("source", "pid", "order", "step")
"""Live mode's optional columns: ``source`` (``trained``; ``cache`` or ``table``, free, ``worker`` -1), the
training process's ``pid``, the ``order`` in which the evaluations finished, and the conversation ``step`` at
which each was proposed (absent from the run files of versions before it)."""


TIME_COLUMNS: tuple[str, ...] = ("start", "end", "cost")
"""The core columns that are times or costs: ticks on the clock, days in the run file."""


@dataclass(eq=False)
class EvaluationLog:
    """Every evaluation of a run in start order; on the clock, times and costs in ticks.

    ``ticks_per_day`` None: times and costs are days already (live mode's wall clock). The live
    columns are None where the run has none (the simulated clock). The core columns are lists, which
    the Python clock appends to, or numpy arrays of a finished log (ASHA's compiled twin), which stay
    arrays all the way to the run file's codec.
    """

    ticks_per_day: int | None
    arch_id: Sequence[int] = field(default_factory=list)
    epoch_from: Sequence[int] = field(default_factory=list)
    epoch_to: Sequence[int] = field(default_factory=list)
    worker: Sequence[int] = field(default_factory=list)
    start: Sequence[Any] = field(default_factory=list)
    end: Sequence[Any] = field(default_factory=list)
    cost: Sequence[Any] = field(default_factory=list)
    value: Sequence[Any] = field(default_factory=list)
    source: list[str] | None = None
    pid: list[int | None] | None = None
    order: list[int | None] | None = None
    step: list[int] | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], ticks_per_day: int | None = None) -> EvaluationLog:
        """A log of one mapping per evaluation (live mode's rows); a live column is kept where every row has it."""
        rows = list(rows)
        live = {key: [r[key] for r in rows] for key in LIVE_COLUMNS if rows and all(key in r for r in rows)}
        return cls(ticks_per_day, *([r[key] for r in rows] for key in CORE_COLUMNS), **live)

    def __len__(self) -> int:
        return len(self.arch_id)

    def __eq__(self, other: object) -> bool:
        """Equal logs hold equal entries, whether as lists or as arrays."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.ticks_per_day == other.ticks_per_day and all(
            _plain(getattr(self, key)) == _plain(getattr(other, key)) for key in CORE_COLUMNS + LIVE_COLUMNS)

    def columns(self) -> LogColumns:
        """The run file's columns (:data:`CORE_COLUMNS`, then the live ones the log has): days and GPU-days."""
        return LogColumns(self)

    def total_cost(self) -> int | float:
        """Ticks (or days) spent: the sum of ``cost``, a Python number whichever way the log holds it."""
        return int(np.sum(self.cost, dtype=np.int64)) if isinstance(self.cost, np.ndarray) else sum(self.cost)

    def last_end(self) -> int | float:
        """When the last evaluation finished (0 for an empty log), a Python number."""
        return int(self.end.max(initial=0)) if isinstance(self.end, np.ndarray) else max(self.end, default=0)

    def rows(self) -> list[dict[str, Any]]:
        """The run file's rows (:meth:`columns` by evaluation)."""
        columns = self.columns()
        return [dict(zip(columns, row)) for row in zip(*columns.values())]

    def finish_order(self, epochs: int | None = None) -> np.ndarray:
        """Indices of the evaluations (those that ended at ``epochs`` epochs, if given) in the order they
        finished (end time, then worker; the sort is stable, so filtering first gives the same order)."""
        end, worker = np.asarray(self.end), np.asarray(self.worker)
        if epochs is None:
            return np.lexsort((worker, end))
        kept = np.flatnonzero(np.asarray(self.epoch_to) == epochs)
        return kept[np.lexsort((worker[kept], end[kept]))]


def _plain(column: Sequence[Any] | None) -> list | None:
    """A column as a list (None stays None), to compare a logged list with a logged array."""
    return column.tolist() if isinstance(column, np.ndarray) else None if column is None else list(column)


class LogColumns(Mapping[str, list]):
    """A log's run-file columns as a read-only mapping of plain lists, each made when first read.

    Why a view and not a dict: a run file needs none of the lists. Its codec takes :meth:`held` and,
    on the clock, the times as the ticks the log holds (:meth:`ticks`), so a compiled log goes from
    its arrays to the file without days being computed only to be turned back into ticks.
    """

    def __init__(self, log: EvaluationLog) -> None:
        self.log = log
        self._keys = CORE_COLUMNS + tuple(key for key in LIVE_COLUMNS if getattr(log, key) is not None)
        self._lists: dict[str, list] = {}

    def __getitem__(self, key: str) -> list:
        if key not in self._lists:
            column = self.held(key)
            self._lists[key] = column.tolist() if isinstance(column, np.ndarray) else list(column)
        return self._lists[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    @property
    def ticks_per_day(self) -> int | None:
        return self.log.ticks_per_day

    def held(self, key: str) -> Sequence[Any]:
        """Column ``key`` as the log holds it (a list or an array), times and costs in days."""
        if key not in self._keys:
            raise KeyError(key)
        column, tpd = getattr(self.log, key), self.log.ticks_per_day
        if tpd is None or key not in TIME_COLUMNS:
            return column
        return column / tpd if isinstance(column, np.ndarray) else [t / tpd for t in column]

    def ticks(self, key: str) -> np.ndarray | None:
        """Time column ``key`` as int64 clock ticks, exactly as logged (None for a log in days)."""
        if key not in TIME_COLUMNS:
            raise KeyError(key)
        if self.log.ticks_per_day is None:
            return None
        return np.asarray(getattr(self.log, key), dtype=np.int64)


def logged(columns: Mapping[str, Sequence[Any]], key: str) -> Sequence[Any]:
    """Column ``key`` of a run's evaluation columns as held: a :class:`LogColumns` hands over its array
    (no list made), any other mapping (a run file read back) its entry."""
    return columns.held(key) if isinstance(columns, LogColumns) else columns[key]


def epoch_counts(*epoch_to: Sequence[int] | np.ndarray) -> dict[int, int]:
    """Evaluations by the epoch count they ended at, ascending, over one or more ``epoch_to`` columns."""
    ended = np.concatenate([np.asarray(column, dtype=np.int64) for column in epoch_to] or [np.empty(0, np.int64)])
    epochs, counts = np.unique(ended, return_counts=True)
    return dict(zip(epochs.tolist(), counts.tolist()))
