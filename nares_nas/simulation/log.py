"""The evaluation log, its schema written once: every evaluation of a run, for the simulated clock and live mode."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CORE_COLUMNS: tuple[str, ...] = ("arch_id", "epoch_from", "epoch_to", "worker", "start", "end", "cost", "value")
"""Every evaluation's columns: times in days (simulated, or wall-clock in live mode), cost in GPU-days."""
LIVE_COLUMNS: tuple[str, ...] = ("source", "pid", "order", "step")
"""Live mode's optional columns: ``source`` (``trained``; ``cache`` or ``table``, free, ``worker`` -1), the
training process's ``pid``, the ``order`` in which the evaluations finished, and the conversation ``step`` at
which each was proposed (absent from the run files of versions before it)."""


@dataclass
class EvaluationLog:
    """Every evaluation of a run in start order; on the clock, times and costs in ticks.

    ``ticks_per_day`` None: times and costs are days already (live mode's wall clock). The live
    columns are None where the run has none (the simulated clock).
    """

    ticks_per_day: int | None
    arch_id: list[int] = field(default_factory=list)
    epoch_from: list[int] = field(default_factory=list)
    epoch_to: list[int] = field(default_factory=list)
    worker: list[int] = field(default_factory=list)
    start: list[Any] = field(default_factory=list)
    end: list[Any] = field(default_factory=list)
    cost: list[Any] = field(default_factory=list)
    value: list[Any] = field(default_factory=list)
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

    def columns(self) -> dict[str, list]:
        """The run file's columns (:data:`CORE_COLUMNS`, then the live ones the log has): days and GPU-days."""
        tpd = self.ticks_per_day
        start, end, cost = ((self.start, self.end, self.cost) if tpd is None
                            else ([t / tpd for t in self.start], [t / tpd for t in self.end],
                                  [t / tpd for t in self.cost]))
        columns = {"arch_id": self.arch_id, "epoch_from": self.epoch_from, "epoch_to": self.epoch_to,
                   "worker": self.worker, "start": start, "end": end, "cost": cost, "value": self.value}
        for key in LIVE_COLUMNS:
            if getattr(self, key) is not None:
                columns[key] = getattr(self, key)
        return columns

    def rows(self) -> list[dict[str, Any]]:
        """The run file's rows (:meth:`columns` by evaluation)."""
        columns = self.columns()
        return [dict(zip(columns, row)) for row in zip(*columns.values())]

    def finish_order(self) -> np.ndarray:
        """Indices of the evaluations in the order they finished (end time, then worker)."""
        return np.lexsort((np.asarray(self.worker), np.asarray(self.end)))


def epoch_counts(*epoch_to: Sequence[int] | np.ndarray) -> dict[int, int]:
    """Evaluations by the epoch count they ended at, ascending, over one or more ``epoch_to`` columns."""
    ended = np.concatenate([np.asarray(column, dtype=np.int64) for column in epoch_to] or [np.empty(0, np.int64)])
    epochs, counts = np.unique(ended, return_counts=True)
    return dict(zip(epochs.tolist(), counts.tolist()))
