"""Multi-objective searchers: random search, Pareto local search, regularized evolution.

Each is written as :meth:`~._base.Searcher.propose` (:mod:`nares_nas.asktell`) and told
results whose ``score`` is a float64 vector of two or three objectives, larger-is-better in
every component (the evaluator has flipped the minimised ones), ``-inf`` in every component
for an architecture that violates a constraint. Such an architecture is dominated by every
feasible one; it never enters an archive and is never a parent while a feasible one exists.
The searchers learn the number of objectives from their first result and never see
table-wide ranges. Non-dominated sorting is moocore's
(:func:`nares_nas.pareto.geometry.pareto_ranks`).

NSGA-II lives in :mod:`._nsga2` and MO-BANANAS in :mod:`._mobananas`; both use the helpers here.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

import moocore
import numpy as np

from nares_nas._validation import check_int, check_real
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.space import N_ARCHS, SearchSpace

from ._base import Searcher
from ._evolution import breed, breeding
from ._local import CHUNK, arch_stream, neighbour_lists, shuffle_stream
from ._random import RandomSearch

_NEG_INF = -np.inf


def feasible(score: np.ndarray) -> bool:
    """Whether a result's score vector is feasible (an infeasible one is ``-inf`` throughout)."""
    return bool(score[0] != _NEG_INF)


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each row of one front (Deb et al. 2002, §III-B).

    Per objective the rows are sorted (stable: the first row among equals first); the first
    and the last get an infinite distance, every other one adds the gap between its two
    neighbours divided by the objective's range over the front (an objective with no range
    adds nothing). A front of one or two rows is all infinite.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    distance = np.zeros(n)
    if n <= 2:
        distance[:] = np.inf
        return distance
    for column in points.T:
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        span = ordered[-1] - ordered[0]
        if span > 0:
            distance[order[1:-1]] += (ordered[2:] - ordered[:-2]) / span
        distance[order[0]] = distance[order[-1]] = np.inf
    return distance


def check_rate(value: Any, name: str, *, zero: bool = False) -> float:
    """``value`` as a float probability in (0, 1] (``zero``: [0, 1]), else :class:`ConfigError`."""
    return check_real(value, name, 0, 1, low_open=not zero)


class ParetoArchive:
    """A set of mutually non-dominated (arch_id, score) pairs, in the order they entered.

    :meth:`offer` refuses an infeasible score and one that a member weakly dominates (at
    least as good in every objective: an equal vector too, so one architecture stands for
    each objective vector, the first found); an accepted one evicts the members it dominates.
    """

    def __init__(self) -> None:
        self.arch_ids: list[int] = []
        self._points: np.ndarray | None = None  # (members, k)

    def __len__(self) -> int:
        return len(self.arch_ids)

    def __contains__(self, arch_id: int) -> bool:
        return arch_id in self.arch_ids

    @property
    def points(self) -> np.ndarray:
        """The members' score vectors, row by row in :attr:`arch_ids` order."""
        return self._points if self._points is not None else np.empty((0, 0))

    def offer(self, arch_id: int, score: np.ndarray) -> bool:
        """Add ``arch_id`` unless it is infeasible or weakly dominated; True if it entered."""
        if not feasible(score):
            return False
        points = self._points
        if points is None:
            self.arch_ids.append(arch_id)
            self._points = np.asarray(score, dtype=np.float64)[None, :]
            return True
        if arch_id in self.arch_ids or (points >= score).all(axis=1).any():
            return False
        keep = ~((score >= points).all(axis=1) & (score > points).any(axis=1))
        if not keep.all():
            self.arch_ids = [a for a, k in zip(self.arch_ids, keep.tolist()) if k]
            points = points[keep]
        self.arch_ids.append(arch_id)
        self._points = np.vstack([points, score])
        return True


class MORandomSearch(RandomSearch):
    """Multi-objective random search: uniform architectures without repeats until the budget.

    Exactly :class:`~._random.RandomSearch` (the same random numbers, so the same
    architectures for a seed): it never looks at a score. The found front is the
    non-dominated set of what it queried; on N workers each free worker takes the next arch.
    """

    name: ClassVar[str] = "mo_random_search"
    multi_objective: ClassVar[bool] = True
    single_objective: ClassVar[bool] = False

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: Any = True, max_epochs: int | None = None) -> Proposals:
        # one proposal at a time: the constraint wrapper of a multi-objective run rewrites each result
        for batch in super().propose(space, budget, rng, maximize=maximize, max_epochs=max_epochs):
            for arch_id in batch.tolist():
                yield Proposal(arch_id)


class ParetoLocalSearch(Searcher):
    """Pareto local search (PLS; Paquete, Chiarandini and Stützle 2004) with random restarts.

    1. A restart queries one uniformly drawn, not yet queried architecture; a fresh archive
       (:class:`ParetoArchive`) holds it if it is feasible.
    2. While the archive has a member whose neighbourhood is unexplored, the oldest such
       member's 24 one-step neighbours (:func:`~nares_nas.space.neighbour_table`, scanned in
       a uniformly random order) are offered to the archive: the not yet queried ones are
       queried, the known ones offered at once; a member keeps its scan after a neighbour
       evicts it (PLS explores the whole neighbourhood of the member it picked).
    3. Once every member is explored, restart (a restart's archive is its own: the run's
       front is the non-dominated set of everything queried, which the scorer computes).

    It has no hyper-parameters. Random draws come from two streams spawned from ``rng``
    (restart archs; neighbour orders), as :class:`~._local.LocalSearch` draws them.

    On N workers a scan's neighbours go to the free workers in order and each result is
    offered to the archive when it arrives; the next member's scan starts as soon as the
    current one is all proposed. A restart waits until nothing is in flight, and its first
    architecture is alone in flight (the other workers idle until it is in). On one worker
    this is exactly the sequential algorithm.
    """

    name: ClassVar[str] = "pareto_local_search"
    multi_objective: ClassVar[bool] = True
    single_objective: ClassVar[bool] = False

    def __init__(self) -> None:
        pass

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        arch_rng, shuffle_rng = rng.spawn(2)
        archs, orders = arch_stream(arch_rng), shuffle_stream(shuffle_rng)
        neighbours = neighbour_lists()
        scores: dict[int, np.ndarray] = {}
        proposed: set[int] = set()
        in_flight: set[int] = set()
        archive = ParetoArchive()
        unexplored: deque[int] = deque()  # archive members to scan, oldest first

        def offer(arch_id: int, score: np.ndarray) -> None:
            if archive.offer(arch_id, score):
                unexplored.append(arch_id)

        def hear(results: list[Result]) -> None:
            for result in results:
                scores[result.arch_id] = result.score
                if result.arch_id in in_flight:
                    in_flight.discard(result.arch_id)
                    offer(result.arch_id, result.score)

        def ask(arch_id: int) -> Proposals:
            proposed.add(arch_id)
            in_flight.add(arch_id)
            hear((yield Proposal(arch_id)))

        while len(proposed) < budget:
            start = next(archs)
            while start in proposed:
                start = next(archs)
            archive, unexplored = ParetoArchive(), deque()
            yield from ask(start)
            while True:
                while unexplored and unexplored[0] not in archive:
                    unexplored.popleft()  # evicted before its scan
                if not unexplored:
                    if not in_flight:
                        break  # the archive is explored: restart
                    hear((yield None))
                    continue
                member = unexplored.popleft()
                for slot in next(orders):
                    arch_id = neighbours[member][slot]
                    if arch_id not in proposed:
                        if len(proposed) >= budget:
                            return
                        yield from ask(arch_id)
                    elif arch_id not in in_flight:
                        offer(arch_id, scores[arch_id])


class MORegularizedEvolution(Searcher):
    """Multi-objective regularized (ageing) evolution: tournaments by rank, then crowding, within the sample.

    1. The population is ``population_size`` uniform random archs (duplicates possible, and
       free), all of age 0.
    2. Until the budget is spent: draw ``tournament_size`` members *with replacement*; the
       parent is the best of the sample by NSGA-II's crowded comparison computed *within
       the sample*: its non-dominated members (rank 1 of the sample, moocore's
       ``is_nondominated``; of members with equal vectors the first drawn), then among
       those the largest crowding distance (:func:`crowding_distance` over them), then the
       first drawn. With probability ``mutation_rate`` its child, a uniform one-step
       neighbour, is queried (free if seen) and replaces the oldest member.

    Defaults: population 100 and sample 25, Real et al.'s (2019) settings for NAS-Bench-101
    (the single-objective :class:`~._evolution.RegularizedEvolution` keeps the NARes
    reference's 30 and 10); every tournament mutates. On the synthetic stand-in
    (VAL_PGD_ACC:max, MACS:min) these settings beat multi-objective random search
    (docs/benchmarks.md). Constraints: tournaments draw among the feasible members only
    (all members while none is), and an infeasible child does not join (nobody dies for
    it), so an infeasible architecture is never a parent while a feasible one exists.

    On N workers it runs asynchronously, as RegularizedEvolution does: the tournaments start
    once the whole initial population is in; then a free worker gets the child of a
    tournament over the population as it stands, and a child joins (the oldest member dies)
    when its result comes back. On one worker that is the sequential loop.

    Speed: a tournament looks only at its sample (one moocore call on at most
    ``tournament_size`` rows, and crowding over the sample's front where it has three or
    more members); the population is never sorted. Random draws come from streams spawned
    from ``rng`` (initial population; tournaments; mutation coins; neighbour choices), each
    drawn :data:`~._local.CHUNK` at a time.
    """

    name: ClassVar[str] = "mo_regularized_evolution"
    multi_objective: ClassVar[bool] = True
    single_objective: ClassVar[bool] = False

    def __init__(self, population_size: int = 100, tournament_size: int = 25,
                 mutation_rate: float = 1.0) -> None:
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_rate = mutation_rate

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        population_size, tournament_size = (check_int(getattr(self, key), f"MORegularizedEvolution {key}")
                                            for key in ("population_size", "tournament_size"))
        rate = check_rate(self.mutation_rate, "MORegularizedEvolution mutation_rate")
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        size = min(population_size, budget)
        init_rng, tournament_rng, coin_rng, slot_rng = rng.spawn(4)
        population = init_rng.integers(1, N_ARCHS + 1, size=size).tolist()
        missing = set(range(size))  # initial slots whose result is not in yet
        waiting: dict[int, list[int | None]] = {}  # arch -> what its result fills: a slot, or None (a child)
        sampler = _Tournament(size)
        oldest = 0  # the ring position of the oldest member

        def hear(results: list[Result]) -> None:
            nonlocal oldest
            for result in results:
                for slot in waiting.pop(result.arch_id, ()):
                    if slot is None:  # a child joins, the oldest member dies
                        if not feasible(result.score):
                            continue
                        slot, oldest = oldest, oldest + 1 if oldest + 1 < size else 0
                        population[slot] = result.arch_id
                    missing.discard(slot)
                    sampler.set(slot, result.score)

        proposed: set[int] = set()
        for slot, arch_id in enumerate(population):
            waiting.setdefault(arch_id, []).append(slot)
            proposed.add(arch_id)
            hear((yield Proposal(arch_id)))
        while missing:  # the tournaments start on the whole initial population
            hear((yield None))

        draws = breeding(lambda: tournament_rng.random((CHUNK, tournament_size)).tolist(), slot_rng, coin_rng, rate)
        yield from breed(draws, sampler.winner, population, waiting, proposed, budget, hear)


class _Tournament:
    """The population's score vectors and the tournament over them (a few microseconds each)."""

    def __init__(self, size: int) -> None:
        self.costs: np.ndarray | None = None  # (size, k) negated scores, for moocore (which minimises)
        self.rows: list[list[float]] = [[] for _ in range(size)]  # the scores as lists, for the tie-breaks
        self.infeasible: set[int] = set(range(size))
        self.members = list(range(size))  # the slots a tournament draws from
        self._pick = self.members + self.members[-1:]  # by int(u * n); the extra entry catches u * n == n

    def set(self, slot: int, score: np.ndarray) -> None:
        if self.costs is None:
            self.costs = np.empty((len(self.members), len(score)))
        self.costs[slot] = -score
        self.rows[slot] = score.tolist()
        if feasible(score) == (slot in self.infeasible):  # the slot's feasibility changed
            self.infeasible.symmetric_difference_update((slot,))
            size = len(self.costs)
            self.members = [s for s in range(size) if s not in self.infeasible] or list(range(size))
            self._pick = self.members + self.members[-1:]

    def winner(self, draw: list[float]) -> int:
        """The winning slot of the members picked by the uniform ``draw`` values in [0, 1).

        Equal to taking the first drawn of the largest :func:`crowding_distance` over the
        sample's front, computed directly: crowding is infinite exactly at each objective's
        first minimum and last maximum in the front (its stable sort's ends) and finite
        elsewhere, so the winner is the first drawn of those.
        """
        pick, n = self._pick, len(self.members)
        sample = list(dict.fromkeys([pick[int(u * n)] for u in draw]))
        if len(sample) == 1:
            return sample[0]
        keep = moocore.is_nondominated(self.costs[sample]).tolist()
        front = [slot for slot, kept in zip(sample, keep) if kept]
        last = len(front) - 1
        if last <= 1:  # crowding is infinite for all: the first drawn
            return front[0]
        rows, first = self.rows, last
        for j in range(len(rows[front[0]])):
            values = [rows[slot][j] for slot in front]
            low = values.index(min(values))
            values.reverse()
            high = last - values.index(max(values))
            first = min(first, low, high)
        return front[first]
