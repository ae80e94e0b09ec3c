"""A searcher's fast path held to the general one: the clock's runs with and without it, run for run."""

from __future__ import annotations

from typing import Any

import numpy as np

from nares_nas.simulation.clock import simulate
from nares_nas.simulation.log import CORE_COLUMNS


def same_runs(searcher: Any, table: Any, seeds: list[int], **options: Any) -> list:
    """The runs of ``searcher`` on the clock's default path (a compiled twin, a one-worker walk), checked
    equal to its generator's (``compiled=False``): every log column, the values' float64 bits (NaN and
    -0.0 included) and the stop flag. Returns the generator's runs."""
    fast = simulate(searcher, table, seeds, **options)
    slow = simulate(searcher, table, seeds, compiled=False, **options)
    assert len(fast) == len(slow) == len(seeds)
    for f, s in zip(fast, slow):
        for column in CORE_COLUMNS:
            assert np.asarray(getattr(f.log, column)).tolist() == list(getattr(s.log, column)), column
        assert np.asarray(f.log.value, dtype=np.float64).tobytes() == np.asarray(s.log.value).tobytes()
        assert f.log == s.log
        assert f.stopped == s.stopped
    return slow
