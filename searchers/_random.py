"""Random search (spec §5.3): uniform architectures, never the same one twice, until the budget."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from nares_nas.oracle import Oracle
from nares_nas.space import N_ARCHS, SearchSpace

from ._base import Searcher


class RandomSearch(Searcher):
    """Query uniformly drawn, not yet queried architectures until ``budget`` are spent.

    The reference rejection-samples uniform archs and skips seen ones; the distinct archs it
    ends up with are a uniformly random ordered sample without replacement, which one
    ``rng.choice(..., replace=False)`` draws directly.
    """

    name: ClassVar[str] = "random_search"

    def __init__(self) -> None:
        pass

    def search(self, space: SearchSpace, oracle: Oracle, budget: int, rng: np.random.Generator) -> None:
        budget = min(budget, N_ARCHS)
        need = budget - oracle.n_queries
        if need <= 0:
            return
        # ``budget`` distinct candidates hold at least ``need`` unseen ones, whatever was seen.
        candidates = (rng.choice(N_ARCHS, size=budget, replace=False) + 1).tolist()
        query = oracle.query
        if need == budget:  # a fresh oracle: nothing to skip
            for arch_id in candidates:
                query(arch_id)
            return
        seen = oracle.seen
        for arch_id in candidates:
            if not seen(arch_id):
                query(arch_id)
                need -= 1
                if need == 0:
                    return
