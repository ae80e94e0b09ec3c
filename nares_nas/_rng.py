"""Turning seeds into generators, in one place."""

from __future__ import annotations

import numpy as np

from nares_nas._validation import check_seed


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``; ``None`` is refused.

    A run must be fully determined by its seed, so there is no "fresh entropy" default.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed, "seed (or a numpy Generator)"))
