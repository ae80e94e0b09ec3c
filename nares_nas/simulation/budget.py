"""What a run may spend: distinct architectures, epochs, GPU-days, simulated days."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nares_nas._validation import check_int, check_real
from nares_nas.data.benchmark import Benchmark
from nares_nas.errors import ConfigError
from nares_nas.space import N_ARCHS

DEFAULT_BUDGET = 500
"""Distinct architectures per run when no cost, epoch or time budget is given (the paper's)."""


def make_budget(budget: int | None, *, max_cost: float | None = None, max_time: float | None = None,
                max_total_epochs: int | None = None) -> Budget:
    """The run budget: ``budget`` distinct archs (None: 500, or no limit when another budget is given)."""
    others = max_cost is not None or max_time is not None or max_total_epochs is not None
    if budget is None and not others:
        budget = DEFAULT_BUDGET
    if budget is not None:
        budget = check_int(budget, "budget (distinct architectures)", 1, N_ARCHS)
    return Budget(archs=budget, total_epochs=max_total_epochs, cost=max_cost, time=max_time)


def _limit(name: str, value: Any, integer: bool) -> None:
    if value is None:
        return
    if integer:
        check_int(value, name)
        return
    if isinstance(value, (float, np.floating)) and math.isinf(value):  # no limit is None, not infinity
        raise ConfigError(f"{name} must be finite (a limit), got {value!r}")
    check_real(value, name, 0, low_open=True)


@dataclass(frozen=True)
class Budget:
    """Limits of one run; None means no limit of that kind."""

    archs: int | None = None
    total_epochs: int | None = None
    cost: float | None = None
    """GPU-days."""
    time: float | None = None
    """Simulated days."""

    def __post_init__(self) -> None:
        _limit("budget (distinct architectures)", self.archs, True)
        _limit("max_total_epochs", self.total_epochs, True)
        _limit("max_cost (GPU-days)", self.cost, False)
        _limit("max_time (simulated days)", self.time, False)

    @property
    def unlimited(self) -> bool:
        return self.archs is None and self.total_epochs is None and self.cost is None and self.time is None

    def ticks(self, value: float | None, ticks_per_day: int) -> int | None:
        """A budget in days as whole ticks, rounded down (so it is never exceeded)."""
        return None if value is None else math.floor(value * ticks_per_day + 1e-9)


EQUAL_COST_TRAININGS = 500
"""Equal-cost comparisons default to this many full trainings at the table's mean training time."""


def mean_training_days(bench: Benchmark) -> float:
    """The table's mean ``training_time`` (GPU-days of one full training)."""
    return float(np.nanmean(bench.metric_by_id("TRAINING_TIME")[1:]))


def equal_cost(bench: Benchmark, trainings: int = EQUAL_COST_TRAININGS) -> float:
    """GPU-days of ``trainings`` full trainings at the table's mean training time."""
    return trainings * mean_training_days(bench)


def budget_note(budget: Budget, bench: Benchmark | None = None, workers: int = 1) -> str:
    """One line saying what a run may spend, for every output that shows results."""
    parts = []
    if budget.archs is not None:
        parts.append(f"{budget.archs} distinct architectures")
    if budget.cost is not None:
        text = f"{budget.cost:.4g} GPU-days"
        if bench is not None:
            mean = mean_training_days(bench)
            text += f" (= {budget.cost / mean:.4g} full trainings at the table's mean training_time {mean:.4g})"
        parts.append(text)
    if budget.time is not None:
        parts.append(f"{budget.time:.4g} simulated days")
    if budget.total_epochs is not None:
        parts.append(f"{budget.total_epochs} training epochs")
    limit = ", ".join(parts) if parts else f"{DEFAULT_BUDGET} distinct architectures"
    return f"budget per run: {limit}; {workers} simulated worker{'s' if workers != 1 else ''}"
