"""Regularized evolution (spec §5.5): tournament selection, one-step mutation, oldest dies."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np

from nares_nas._validation import check_int, check_real
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.space import N_ARCHS, N_NEIGHBOURS, SearchSpace

from ._base import Searcher
from ._local import CHUNK, neighbour_lists
from ._one_worker import walk_runs

Chunk = Iterator[tuple[list, int, bool]]
"""Tournaments of :func:`breeding`, each ``(draw, slot, mutate)``: the population indices drawn, the
neighbour slot of the parent's child, and whether the child is made."""


class RegularizedEvolution(Searcher):
    """Ageing evolution as the reference codes it.

    1. The population is ``population_size`` uniform random archs (duplicates possible, and
       free), all of age 0.
    2. Until the budget is spent: draw ``tournament_size`` members *with replacement*; the
       parent is the best of them (the first drawn among equals); with probability
       ``mutation_rate`` its child, a uniform one-step neighbour, is queried (free if seen)
       and replaces the oldest member.

    On N workers it runs asynchronously, as Real et al. (2019) ran it: the tournaments start
    once the whole initial population is in; then a free worker gets the child of a
    tournament over the population as it stands, and a child joins (and the oldest member
    dies) when its result comes back. On one worker that is exactly the sequential loop, which
    :meth:`walk` runs without the generator where the values are in a table.

    The oldest member is the one replaced longest ago, first index among the initial ones, so
    replacement walks the population in index order; a ring position tracks it.
    Random draws come from streams spawned from ``rng`` (initial population; tournaments;
    mutation coins; neighbour choices), each drawn :data:`~._local.CHUNK` at a time
    (a slot neighbour draw is consumed even by an iteration that does not mutate).
    """

    name: ClassVar[str] = "regularized_evolution"
    seconds_per_query: ClassVar[float | None] = 8e-6  # 400 runs of 500 took 1.4 s (docs/benchmarks.md), rounded up

    def __init__(self, population_size: int = 30, tournament_size: int = 10,
                 mutation_rate: float = 1.0) -> None:
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_rate = mutation_rate

    def _validate(self) -> tuple[int, int]:
        """``(population_size, tournament_size)`` as ints; raises ConfigError for a bad parameter."""
        sizes = tuple(check_int(getattr(self, key), f"RegularizedEvolution {key}")
                      for key in ("population_size", "tournament_size"))
        check_real(self.mutation_rate, "RegularizedEvolution mutation_rate", 0, 1, low_open=True)
        return sizes

    def _start(self, budget: int | None, rng: np.random.Generator) -> tuple[int, list[int], Iterator[Chunk]]:
        """``(budget, population, breeding)`` of a run: the initial population drawn, the tournaments'
        draws to come (:func:`breeding`) as the generator and the walk take them."""
        population_size, tournament_size = self._validate()
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        size = min(population_size, budget)  # as the reference shrinks it
        init_rng, tournament_rng, coin_rng, slot_rng = rng.spawn(4)
        population = init_rng.integers(1, N_ARCHS + 1, size=size).tolist()
        count = CHUNK * tournament_size  # drawn flat and reshaped: the same numbers, without numpy's shape handling
        return budget, population, breeding(lambda: tournament_rng.integers(0, size, size=count)
                                            .reshape(CHUNK, tournament_size).tolist(), slot_rng,
                                            coin_rng, float(self.mutation_rate))

    def simulate_runs(self, table: Any, rngs: list[np.random.Generator], *, search_budget: int | None,
                      budget: Any, workers: int, maximize: Any) -> list[tuple[Any, bool]] | None:
        """The clock's runs of this searcher as :meth:`walk` (the same logs, without a generator round trip per
        proposal), or None where a walk does not give them: a subclass, several workers or objectives, a
        table without ``lookups()`` and ``arrays()`` (the clock then runs :meth:`propose`)."""
        return walk_runs(self, RegularizedEvolution, table, rngs, search_budget=search_budget, budget=budget,
                         workers=workers, maximize=maximize)

    def walk(self, budget: int | None, rng: np.random.Generator, evaluate: Callable[[int], float]) -> None:
        """The run on one worker with every result told at once, as a plain loop: :meth:`propose`'s draws and
        decisions, ``evaluate(arch_id)`` giving each new architecture's score where it yields a proposal
        (a repeat is free: its score is the one known)."""
        budget, population, draws = self._start(budget, rng)
        known: dict[int, float] = {}  # every arch proposed -> its score
        for arch_id in population:
            if arch_id not in known:
                known[arch_id] = evaluate(arch_id)
        scores = [known[arch_id] for arch_id in population]
        if len(known) >= budget:
            return
        neighbours = neighbour_lists()
        size, oldest, known_get, score_of = len(population), 0, known.get, scores.__getitem__
        for chunk in draws:
            for draw, slot, mutate in chunk:
                parent = max(draw, key=score_of)  # the first drawn among equals, as in propose
                if not mutate:
                    continue
                child = neighbours[population[parent]][slot]
                score = known_get(child)
                if score is None:
                    score = known[child] = evaluate(child)
                population[oldest], scores[oldest] = child, score  # the child joins, the oldest member dies
                oldest = oldest + 1 if oldest + 1 < size else 0
                if len(known) >= budget:
                    return

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        budget, population, draws = self._start(budget, rng)
        size = len(population)
        scores: list[float | None] = [None] * size
        waiting: dict[int, list[int | None]] = {}  # arch -> what its result fills: a slot, or None (a child)
        oldest = 0

        def hear(results: list[Result]) -> None:
            nonlocal oldest
            for arch_id, _, score in results:  # unpacked: cheaper than a named tuple's attributes
                for slot in waiting.pop(arch_id, ()):
                    if slot is not None:
                        scores[slot] = score
                    else:  # a child joins, the oldest member dies
                        population[oldest], scores[oldest] = arch_id, score
                        oldest = oldest + 1 if oldest + 1 < size else 0

        for slot, arch_id in enumerate(population):
            waiting.setdefault(arch_id, []).append(slot)
        proposed = set(population)
        hear((yield [Proposal(arch_id) for arch_id in population]))  # one batch: no result is needed before
        while None in scores:  # the tournaments start on the whole initial population
            hear((yield None))

        # the parent: the best of the tournament, the first drawn among equals (max keeps the first)
        winner = functools.partial(max, key=scores.__getitem__)
        yield from breed(draws, winner, population, waiting, proposed, budget, hear)


def breeding(draw_chunk: Callable[[], list], slot_rng: np.random.Generator, coin_rng: np.random.Generator,
             rate: float) -> Iterator[Chunk]:
    """Ageing evolution's random numbers, shared by its one- and multi-objective forms: chunks of tournaments.

    Chunk by chunk: :data:`~._local.CHUNK` tournament draws (``draw_chunk()``), then as many
    neighbour slots from ``slot_rng`` and (``rate < 1``) mutation coins from ``coin_rng``, in that
    order (the reference's random numbers); a chunk is drawn when its first tournament is needed.
    """
    while True:
        draws = draw_chunk()
        slots = slot_rng.integers(0, N_NEIGHBOURS, size=CHUNK).tolist()
        coins = [True] * CHUNK if rate == 1.0 else (coin_rng.random(CHUNK) < rate).tolist()
        yield zip(draws, slots, coins)


def breed(draws: Iterator[Chunk], winner: Callable[[Any], int], population: list[int],
          waiting: dict[int, list[int | None]], proposed: set[int], budget: int,
          hear: Callable[[list[Result]], None]) -> Proposals:
    """Ageing evolution's breeding, shared by its one- and multi-objective forms.

    Each tournament of ``draws`` (:func:`breeding`): its ``winner`` over the population as it stands
    is the parent; unless its coin says no, its child (the slot's one-step neighbour) is proposed and
    marked in ``waiting`` as a child, until ``budget`` architectures are proposed.
    """
    if len(proposed) >= budget:
        return
    neighbours = neighbour_lists()
    new = tuple.__new__  # a Proposal without its Python-level constructor: this runs once per proposal
    for chunk in draws:
        for draw, slot, mutate in chunk:
            parent = winner(draw)
            if not mutate:
                continue
            child = neighbours[population[parent]][slot]
            fills = waiting.get(child)
            if fills is None:
                waiting[child] = [None]
            else:
                fills.append(None)
            proposed.add(child)
            hear((yield new(Proposal, (child, None))))
            if len(proposed) >= budget:
                return
