"""The evaluation log: every evaluation of a run, shared by the simulated clock and live mode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class EvaluationLog:
    """Every evaluation of a run in start order; times and costs in ticks."""

    ticks_per_day: int
    arch_id: list[int] = field(default_factory=list)
    epoch_from: list[int] = field(default_factory=list)
    epoch_to: list[int] = field(default_factory=list)
    worker: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    cost: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.arch_id)

    def columns(self) -> dict[str, list]:
        """The run file's columns: times in simulated days, cost in GPU-days."""
        tpd = self.ticks_per_day
        return {"arch_id": self.arch_id, "epoch_from": self.epoch_from, "epoch_to": self.epoch_to,
                "worker": self.worker, "start": [t / tpd for t in self.start], "end": [t / tpd for t in self.end],
                "cost": [t / tpd for t in self.cost], "value": self.value}

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
