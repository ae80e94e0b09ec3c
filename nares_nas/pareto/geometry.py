"""Pareto geometry through moocore: non-dominated sets, ranks, hypervolume, IGD+, attainment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nares_nas.errors import ConfigError

REFERENCE = 1.1
"""The hypervolume reference point in every normalised objective (0 best, 1 worst in the table)."""


# --------------------------------------------------------------------------- the geometry (moocore)
def as_points(points: Any, k: int | None = None) -> np.ndarray:
    """``points`` as a float ``(n, k)`` array (``k`` objectives where given), or a one-line error."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or (k is not None and points.shape[1] != k):
        raise ConfigError(f"expected an (n, objectives) array of points, got shape {points.shape}")
    return points


def nondominated(points: Any, maximise: bool | Sequence[bool] = False) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points``; equal rows are all kept (``keep_weakly``)."""
    import moocore

    points = as_points(points)
    if not len(points):
        return np.zeros(0, dtype=bool)
    return np.asarray(moocore.is_nondominated(points, maximise=maximise, keep_weakly=True), dtype=bool)


def pareto_ranks(points: Any, maximise: bool | Sequence[bool] = False) -> np.ndarray:
    """Non-dominated sorting (``moocore.pareto_rank``) of the rows of ``points``, **first front = 1**.

    Equal points share a rank. ``maximise``: one flag, or one per objective (column).
    """
    import moocore

    points = as_points(points)
    if len(points) == 0:
        raise ConfigError(f"expected a non-empty (n, objectives) array of points, got shape {points.shape}")
    return moocore.pareto_rank(points, maximise=maximise).astype(np.int64) + 1


def hypervolume(points: Any, reference: float | Sequence[float] = REFERENCE) -> float:
    """Hypervolume of minimised ``points`` up to ``reference`` (0 for no points)."""
    import moocore

    points = as_points(points)
    return float(moocore.hypervolume(points, ref=reference)) if len(points) else 0.0


def igd_plus(points: Any, reference_set: Any) -> float:
    """IGD+ of minimised ``points`` against ``reference_set`` (moocore)."""
    import moocore

    return float(moocore.igd_plus(as_points(points), ref=as_points(reference_set)))


def attainment(points: Any, sets: Any, percentiles: Sequence[float] = (0, 50, 100)) -> np.ndarray:
    """The empirical attainment function of minimised ``points`` grouped by ``sets`` (moocore's ``eaf``).

    Rows ``(objectives..., percentile)``; percentile 0 is attained by at least one set (the best
    surface), 50 by half, 100 by all (the worst).
    """
    import moocore

    return np.asarray(moocore.eaf(as_points(points), np.asarray(sets), percentiles=list(percentiles)))


_BLOCK = 256


def first_dominators(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row ``j`` of minimised ``points``: the first row that strictly dominates it, and the
    first *other* row that weakly dominates it (is <= everywhere, equal included); ``len(points)``
    where there is none. Computed in blocks of rows, so memory stays ~``256 × n × k``."""
    n = len(points)
    strict, weak = np.full(n, n, dtype=np.int64), np.full(n, n, dtype=np.int64)
    index = np.arange(n)
    for start in range(0, n, _BLOCK):
        block = points[start:start + _BLOCK]
        leq = np.ones((len(block), n), dtype=bool)  # [l, j]: row l weakly dominates row j
        lt = np.zeros((len(block), n), dtype=bool)
        for column in range(points.shape[1]):  # one objective at a time: 2-D comparisons are fast
            mine, theirs = block[:, column, None], points[None, :, column]
            leq &= mine <= theirs
            lt |= mine < theirs
        lt &= leq
        leq &= (start + np.arange(len(block)))[:, None] != index[None, :]
        for found, mask in ((strict, lt), (weak, leq)):
            hit = mask.any(axis=0)
            rows = start + mask.argmax(axis=0)
            update = hit & (rows < found)
            found[update] = rows[update]
    return strict, weak
