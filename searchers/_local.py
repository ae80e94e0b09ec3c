"""Local search (spec §5.4): hill climbing from random starts, restarted at local optima."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np

from nares_nas._validation import check_bool, check_int
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.space import N_ARCHS, N_NEIGHBOURS, SearchSpace, neighbour_table

from ._base import Searcher
from ._one_worker import walk_runs

CHUNK = 64
"""Random numbers are drawn this many at a time (same distribution, far less overhead)."""


@functools.cache
def neighbour_lists() -> list[list[int]]:
    """:func:`~nares_nas.space.neighbour_table` as Python lists: the fastest lookup per step."""
    return neighbour_table().tolist()


def _stream(draw: Callable[[], list]) -> Iterator:
    """Yield the items of successive ``draw()`` chunks, one at a time."""
    while True:
        yield from draw()


def arch_stream(rng: np.random.Generator) -> Iterator[int]:
    """Uniform arch_ids (with replacement), as the reference's per-coordinate ``random.choice``."""
    return _stream(lambda: rng.integers(1, N_ARCHS + 1, size=CHUNK).tolist())


def shuffle_stream(rng: np.random.Generator) -> Iterator[list[int]]:
    """Uniform random orders of the 24 neighbour slots (the reference's ``random.shuffle``)."""
    base = np.tile(np.arange(N_NEIGHBOURS), (CHUNK, 1))
    return _stream(lambda: rng.permuted(base, axis=1).tolist())


def draw_starts(archs: Iterator[int], proposed: set[int], num_init: int, limit: int) -> list[int]:
    """A restart's random archs: up to ``num_init`` not proposed before (marked proposed now), drawn while
    fewer than ``limit`` are proposed."""
    starts: list[int] = []
    while len(starts) < num_init and len(proposed) < limit:
        arch_id = next(archs)
        if arch_id not in proposed:
            starts.append(arch_id)
            proposed.add(arch_id)
    return starts


def first_best(starts: list[int], scores: list[float]) -> tuple[int, float]:
    """Where a restart climbs from: the first of the best of its archs (``scores`` theirs), in proposal order."""
    current, current_score = starts[0], scores[0]
    for arch_id, score in zip(starts[1:], scores[1:]):
        if score > current_score:
            current, current_score = arch_id, score
    return current, current_score


def improves(score: float, current_score: float, reference: bool) -> bool:
    """Whether a neighbour scoring ``score`` is a move: strictly better, or (reference moves) any other value."""
    return score != current_score if reference else score > current_score


class LocalSearch(Searcher):
    """Hill climbing with random restarts, at an exact budget by default.

    One restart queries ``num_init`` new random archs and starts from the best; then it scans
    the neighbours of the current arch in random order, querying the unseen ones, and moves to
    a strictly better one (at once, or after the whole scan with ``query_full_nbhd``). A scan
    that moves nowhere is a local optimum: restart. The search stops at exactly ``budget``.

    ``reference_moves=True`` reproduces the reference's code instead (spec §5.4, §6.18): it
    moves to any neighbour whose value *differs* (``compare_metric`` returns a truthy −1 for
    worse), and checks the budget only after a query that does not move, so it overshoots
    the budget (a median 612 distinct queries for 500 in the spec's measurement). Its
    :meth:`query_cap` is then None: the oracle must not stop it.

    Random draws come from two streams spawned from ``rng`` (random archs; neighbour
    orders), each drawn :data:`CHUNK` at a time.

    On N workers a restart's ``num_init`` random archs and a scan's neighbours go to the free
    workers in order; a restart starts from the best of its archs once all are in (the first
    of equals, as in order), and a scan moves as soon as a result of this scan beats the
    current arch (results of an abandoned scan are still recorded). On one worker that is
    exactly the sequential walk, which :meth:`walk` runs as a plain loop where the values are in a table.
    """

    name: ClassVar[str] = "local_search"
    # 400 runs of 500 took 0.74 s, 1.5 s with ``reference_moves`` (docs/benchmarks.md), rounded up
    seconds_per_query: ClassVar[float | None] = 8e-6

    def __init__(self, num_init: int = 10, query_full_nbhd: bool = False,
                 reference_moves: bool = False) -> None:
        self.num_init = num_init
        self.query_full_nbhd = query_full_nbhd
        self.reference_moves = reference_moves

    def query_cap(self, budget: int) -> int | None:
        return None if check_bool(self.reference_moves, "LocalSearch reference_moves") else budget

    def _settings(self, budget: int | None) -> tuple[int, bool, bool, int]:
        """``(num_init, query_full_nbhd, reference_moves, budget)`` checked; raises ConfigError for a bad one."""
        return (check_int(self.num_init, "LocalSearch num_init"),
                check_bool(self.query_full_nbhd, "LocalSearch query_full_nbhd"),
                check_bool(self.reference_moves, "LocalSearch reference_moves"), N_ARCHS if budget is None else budget)

    def simulate_runs(self, table: Any, rngs: list[np.random.Generator], *, search_budget: int | None,
                      budget: Any, workers: int, maximize: Any) -> list[tuple[Any, bool]] | None:
        """The clock's runs of this searcher as :meth:`walk` (the same logs, without a generator round trip per
        proposal), or None where a walk does not give them: a subclass, several workers or objectives, a
        table without ``lookups()`` and ``arrays()`` (the clock then runs :meth:`propose`)."""
        return walk_runs(self, LocalSearch, table, rngs, search_budget=search_budget, budget=budget, workers=workers,
                         maximize=maximize)

    def walk(self, budget: int | None, rng: np.random.Generator, evaluate: Callable[[int], float]) -> None:
        """The run on one worker with every result told at once, as a plain loop: :meth:`propose`'s draws and
        decisions, ``evaluate(arch_id)`` giving each new architecture's score where it yields a proposal."""
        num_init, full, reference, budget = self._settings(budget)
        arch_rng, shuffle_rng = rng.spawn(2)
        archs, orders = arch_stream(arch_rng), shuffle_stream(shuffle_rng)
        neighbours = neighbour_lists()
        proposed: set[int] = set()
        while len(proposed) < budget:
            starts = draw_starts(archs, proposed, num_init, min(budget, N_ARCHS))
            scores = [evaluate(arch_id) for arch_id in starts]
            if len(starts) < num_init or len(proposed) >= budget:
                return
            current, current_score = first_best(starts, scores)
            moved = True
            while moved:
                moved = False
                for arch_id in map(neighbours[current].__getitem__, next(orders)):
                    if arch_id in proposed:
                        continue
                    proposed.add(arch_id)
                    score = evaluate(arch_id)
                    if improves(score, current_score, reference):
                        current, current_score, moved = arch_id, score, True
                        if not full:
                            if not reference and len(proposed) >= budget:
                                return
                            break
                    if len(proposed) >= budget:
                        return

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        num_init, full, reference, budget = self._settings(budget)
        arch_rng, shuffle_rng = rng.spawn(2)
        archs, orders = arch_stream(arch_rng), shuffle_stream(shuffle_rng)
        neighbours = neighbour_lists()
        proposed: set[int] = set()  # every arch proposed (in flight or finished)
        scores: dict[int, float] = {}
        new = tuple.__new__  # a Proposal without its Python-level constructor: this runs once per proposal
        watched: list[int] = []  # proposals of the current phase whose results are awaited
        arrived: deque[int] = deque()  # their results, in the order they came

        def hear(results: list[Result]) -> None:
            for arch_id, _, score in results:  # unpacked: cheaper than a named tuple's attributes
                scores[arch_id] = score
                if arch_id in watched:
                    watched.remove(arch_id)
                    arrived.append(arch_id)

        while len(proposed) < budget:
            starts = draw_starts(archs, proposed, num_init, min(budget, N_ARCHS))  # proposed as one batch
            watched.clear()
            watched.extend(starts)
            if starts:
                hear((yield [Proposal(arch_id) for arch_id in starts]))
            if len(starts) < num_init or len(proposed) >= budget:
                return  # the budget is spent (or, with a huge one, nothing is left to sample)
            while watched:
                hear((yield None))
            arrived.clear()
            current, current_score = first_best(starts, [scores[arch_id] for arch_id in starts])

            moved = True
            while moved:
                moved = False
                scan = deque(map(neighbours[current].__getitem__, next(orders)))
                watched.clear()
                arrived.clear()
                while True:
                    while arrived:
                        arch_id = arrived.popleft()
                        score = scores[arch_id]
                        if improves(score, current_score, reference):
                            current, current_score, moved = arch_id, score, True
                            if not full:
                                # the reference breaks out here without checking the budget
                                if not reference and len(proposed) >= budget:
                                    return
                                break
                        if len(proposed) >= budget:
                            return
                    if moved and not full:
                        break
                    while scan and scan[0] in proposed:
                        scan.popleft()
                    if scan:  # inline, not a sub-generator: this runs once per proposal
                        arch_id = scan.popleft()
                        proposed.add(arch_id)
                        watched.append(arch_id)
                        hear((yield new(Proposal, (arch_id, None))))
                    elif watched:
                        hear((yield None))
                    else:
                        break
