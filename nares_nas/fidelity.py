"""The fidelity rule: what training an architecture for ``e`` of ``E`` epochs yields, and the units of cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nares_nas import metrics as _metrics
from nares_nas._validation import check_int
from nares_nas.errors import DataFormatError, MetricError
from nares_nas.metrics import METRICS, MetricSpec

SECONDS_PER_DAY = 86_400


SELECTION_COLUMN = "cw"  # validation PGD-CW-40 accuracy selects the epoch (spec §2.8)


FREE_METRICS: tuple[str, ...] = tuple(n for n, s in METRICS.items() if s.kind == "count")


FIDELITY_METRICS: tuple[str, ...] = tuple(
    n for n, s in METRICS.items() if s.kind == "history" or n == "BEST_EPOCH"
)


# --------------------------------------------------------------------------- validation
def check_epochs(epochs: Any, max_epochs: int, name: str = "epochs") -> int:
    """Return ``epochs`` as an int, or raise :class:`ConfigError` if it is not an integer in ``1..max_epochs``."""
    return check_int(epochs, name, 1, max_epochs)


def fidelity_metric(name: str | MetricSpec) -> MetricSpec:
    """Resolve ``name`` as a metric that has a value after any number of epochs."""
    spec = _metrics.resolve_metric(name)
    if spec.name not in FIDELITY_METRICS and spec.name not in FREE_METRICS:
        test = " (a test-set metric, measured once at the best epoch)" if spec.is_test else ""
        raise MetricError(
            f"{spec.name} has no per-epoch history{test}, so it has no value after a number of epochs; "
            f"metrics with one: {', '.join(FIDELITY_METRICS)} ({' and '.join(FREE_METRICS)} are "
            "the same at every fidelity)"
        )
    return spec


# --------------------------------------------------------------------------- the fidelity rule
def selected_epochs(cw: np.ndarray, best_epoch: np.ndarray) -> np.ndarray:
    """The 0-based epoch selected after ``e`` epochs, for every row and every ``e``.

    ``cw`` is the ``(rows, E)`` validation CW-40 history, ``best_epoch`` the recorded ``(rows,)``
    selection. Returns a ``(rows, E)`` int64 array whose column ``e - 1`` is the selection after
    ``e`` epochs: ``best_epoch`` where ``best_epoch < e``, else the first maximum of
    ``cw[:, :e]`` (a NaN is never selected after epoch 0). Its last column is ``best_epoch``.
    """
    cw = np.asarray(cw, dtype=np.float64)
    best = np.asarray(best_epoch, dtype=np.int64)
    if cw.ndim != 2 or best.shape != cw.shape[:1]:
        raise ValueError(f"cw must be (rows, epochs) and best_epoch (rows,), got {cw.shape} and {best.shape}")
    rows, n_epochs = cw.shape
    bad = np.flatnonzero((best < 0) | (best >= n_epochs))
    if len(bad):
        raise DataFormatError(f"best_epoch {int(best[bad[0]])} of row {int(bad[0])} is outside "
                              f"0..{n_epochs - 1}", key="best_epoch")
    filled = np.where(np.isnan(cw), -np.inf, cw)
    running = np.maximum.accumulate(filled, axis=1)
    improves = np.ones((rows, n_epochs), dtype=bool)
    improves[:, 1:] = filled[:, 1:] > running[:, :-1]  # strict: a tie keeps the earlier epoch
    first_max = np.maximum.accumulate(np.where(improves, np.arange(n_epochs), 0), axis=1)
    within = best[:, None] < np.arange(1, n_epochs + 1)
    return np.where(within, best[:, None], first_max)


def table_selected_epochs(columns: Mapping[str, np.ndarray], rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """:func:`selected_epochs` of ``rows`` of a columnar table (:mod:`nares_nas.data.table`)."""
    return selected_epochs(columns[SELECTION_COLUMN][rows], columns["best_epoch"][rows])


def fidelity_matrix(
    columns: Mapping[str, np.ndarray],
    metric: str | MetricSpec,
    rows: np.ndarray | slice = slice(None),
    selected: np.ndarray | None = None,
) -> np.ndarray:
    """``(rows, E)`` float64: column ``e - 1`` holds ``metric`` after ``e`` epochs.

    ``selected`` may pass :func:`table_selected_epochs` of the same rows, computed once.
    """
    spec = fidelity_metric(metric)
    n_epochs = columns[SELECTION_COLUMN].shape[1]
    if spec.kind == "count":
        values = _metrics.compute(columns, spec, rows)
        return np.repeat(values[:, None], n_epochs, axis=1)
    if selected is None:
        selected = table_selected_epochs(columns, rows)
    if spec.name == "BEST_EPOCH":
        return selected.astype(np.float64)
    history = np.asarray(columns[spec.column][rows])
    return np.take_along_axis(history, selected, axis=1).astype(np.float64)


def fidelity_values(
    columns: Mapping[str, np.ndarray],
    metric: str | MetricSpec,
    epochs: int,
    rows: np.ndarray | slice = slice(None),
) -> np.ndarray:
    """``metric`` of ``rows`` after ``epochs`` epochs (1-based count), float64."""
    spec = fidelity_metric(metric)
    epochs = check_epochs(epochs, columns[SELECTION_COLUMN].shape[1])
    if spec.kind == "count":
        return _metrics.compute(columns, spec, rows)
    cw = np.asarray(columns[SELECTION_COLUMN][rows], dtype=np.float64)[:, :epochs]
    first_max = np.argmax(np.where(np.isnan(cw), -np.inf, cw), axis=1)  # argmax: the first maximum
    best = np.asarray(columns["best_epoch"][rows], dtype=np.int64)
    index = np.where(best < epochs, best, first_max)
    if spec.name == "BEST_EPOCH":
        return index.astype(np.float64)
    history = np.asarray(columns[spec.column][rows])
    return history[np.arange(history.shape[0]), index].astype(np.float64)


# --------------------------------------------------------------------------- the cost model
def training_seconds(training_time: np.ndarray) -> np.ndarray:
    """GPU-days to whole seconds (int64); -1 where the value is NaN. Negative days raise."""
    days = np.asarray(training_time, dtype=np.float64)
    bad = np.flatnonzero(days < 0)
    if len(bad):
        raise DataFormatError(f"training_time {days[bad[0]]} at index {int(bad[0])} is negative",
                              key="training_time")
    seconds = np.full(days.shape, -1, dtype=np.int64)
    known = np.isfinite(days)
    seconds[known] = np.rint(days[known] * SECONDS_PER_DAY).astype(np.int64)
    return seconds
