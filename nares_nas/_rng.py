"""Turning seeds into generators, in one place."""

from __future__ import annotations

import numpy as np

from .errors import ConfigError


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``; ``None`` is refused.

    A run must be fully determined by its seed, so there is no "fresh entropy" default.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be an int or a numpy Generator, got {seed!r}")
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))
