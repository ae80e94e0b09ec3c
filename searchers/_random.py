"""Random search (spec §5.3): uniform architectures, never the same one twice, until the budget."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from nares_nas.asktell import Proposal, Proposals
from nares_nas.space import N_ARCHS, SearchSpace

from ._base import Searcher


class RandomSearch(Searcher):
    """Query uniformly drawn, not yet queried architectures until ``budget`` are spent.

    The reference rejection-samples uniform archs and skips seen ones; the distinct archs it
    ends up with are a uniformly random ordered sample without replacement, which one
    ``rng.choice(..., replace=False)`` draws directly. On N workers each free worker takes
    the next one.
    """

    name: ClassVar[str] = "random_search"

    def __init__(self) -> None:
        pass

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        # Proposing an arch already queried is free, so ``budget`` distinct candidates always
        # hold enough new ones; the driver ends the run when the budget is spent.
        for arch_id in (rng.choice(N_ARCHS, size=budget, replace=False) + 1).tolist():
            yield Proposal(arch_id)
