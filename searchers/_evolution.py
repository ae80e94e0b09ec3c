"""Regularized evolution (spec §5.5): tournament selection, one-step mutation, oldest dies."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from nares_nas.errors import ConfigError
from nares_nas.oracle import Oracle
from nares_nas.space import N_ARCHS, N_NEIGHBOURS, SearchSpace

from ._base import Searcher
from ._local import CHUNK, neighbour_lists


class RegularizedEvolution(Searcher):
    """Ageing evolution as the reference codes it.

    1. The population is ``population_size`` uniform random archs (duplicates possible, and
       free), all of age 0.
    2. Until the budget is spent: draw ``tournament_size`` members *with replacement*; the
       parent is the best of them (the first drawn among equals); with probability
       ``mutation_rate`` its child, a uniform one-step neighbour, is queried (free if seen)
       and replaces the oldest member.

    The oldest member is the one replaced longest ago, first index among the initial ones, so
    replacement walks the population in index order; a ring position tracks it.
    Random draws come from streams spawned from ``rng`` (initial population; tournaments;
    mutation coins; neighbour choices), each drawn :data:`~._local.CHUNK` at a time
    (a slot neighbour draw is consumed even by an iteration that does not mutate).
    """

    name: ClassVar[str] = "regularized_evolution"

    def __init__(self, population_size: int = 30, tournament_size: int = 10,
                 mutation_rate: float = 1.0) -> None:
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_rate = mutation_rate

    def _validate(self) -> None:
        for key in ("population_size", "tournament_size"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"RegularizedEvolution {key} must be a positive integer, got {value!r}")
        if not 0.0 < self.mutation_rate <= 1.0:
            raise ConfigError(f"RegularizedEvolution mutation_rate must be in (0, 1], got {self.mutation_rate!r}")

    def search(self, space: SearchSpace, oracle: Oracle, budget: int, rng: np.random.Generator) -> None:
        self._validate()
        budget = min(budget, N_ARCHS)
        size = min(self.population_size, budget)  # as the reference shrinks it
        init_rng, tournament_rng, coin_rng, slot_rng = rng.spawn(4)
        query = oracle.query
        population = init_rng.integers(1, N_ARCHS + 1, size=size).tolist()
        scores = [query(arch_id) for arch_id in population]

        shape = (CHUNK, self.tournament_size)
        rate = self.mutation_rate
        neighbours = neighbour_lists()
        oldest = 0
        while oracle.n_queries < budget:
            tournaments = tournament_rng.integers(0, size, size=shape).tolist()
            slots = slot_rng.integers(0, N_NEIGHBOURS, size=CHUNK).tolist()
            coins = [True] * CHUNK if rate == 1.0 else (coin_rng.random(CHUNK) < rate).tolist()
            for tournament, slot, mutate in zip(tournaments, slots, coins):
                parent = tournament[0]
                best = scores[parent]
                for member in tournament:
                    if scores[member] > best:
                        parent, best = member, scores[member]
                if not mutate:
                    continue
                child = neighbours[population[parent]][slot]
                population[oldest] = child
                scores[oldest] = query(child)
                oldest = oldest + 1 if oldest + 1 < size else 0
                if oracle.n_queries >= budget:
                    return
