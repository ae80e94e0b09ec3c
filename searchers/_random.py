"""Random search (spec §5.3): uniform architectures, never the same one twice, until the budget."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from nares_nas.asktell import Proposals
from nares_nas.space import N_ARCHS, SearchSpace

from ._base import Searcher


class RandomSearch(Searcher):
    """Query uniformly drawn, not yet queried architectures until ``budget`` are spent.

    The reference rejection-samples uniform archs and skips seen ones; the distinct archs it
    ends up with are a uniformly random ordered sample without replacement, which one
    ``rng.choice(..., replace=False)`` draws directly. On N workers each free worker takes
    the next one (the candidates go to the evaluator as one batch: the run needs no result).
    """

    name: ClassVar[str] = "random_search"
    seconds_per_query: ClassVar[float | None] = 2e-6  # 400 runs of 500 took 0.33 s (docs/benchmarks.md), rounded up

    def __init__(self) -> None:
        pass

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        # ``budget`` distinct candidates, all new, handed over as one batch: the evaluator starts
        # them in order as workers free up and ends the run where the budget is spent.
        yield rng.choice(N_ARCHS, size=budget, replace=False) + 1
