"""Regularized evolution: the reference's loop reproduced, ageing, duplicates, tie rule."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.errors import ConfigError
from nares_nas.oracle import TabularOracle
from nares_nas.searchers import RegularizedEvolution
from nares_nas.searchers._local import CHUNK
from nares_nas.searchers.contract import toy_objective
from nares_nas.space import N_ARCHS, N_NEIGHBOURS, SPACE, neighbour_table


class Calls(TabularOracle):
    """Records every query call, repeats included."""

    def __init__(self, values, budget):
        super().__init__(values, budget=budget)
        self.calls: list[int] = []

    def query(self, arch_id):
        self.calls.append(arch_id)
        return super().query(arch_id)


def run(values, searcher, budget, seed):
    oracle = Calls(values, budget)
    traj = searcher.run(SPACE, oracle, budget, np.random.default_rng(seed))
    return traj, oracle.calls


def reference_run(values, total_queries, pop_size, tournament_size, mutation_rate, rng):
    """A literal port of DS ``optimizer/regularized_evolution.py`` (objective_direction max).

    The random draws take the streams :class:`RegularizedEvolution` uses: initial population,
    tournaments (``np.random.choice(pop, k)``), mutation coins (``random.random()``) and the
    neighbour picked by ``get_random_neighbor``, each drawn in chunks.
    """
    init_rng, tournament_rng, coin_rng, slot_rng = rng.spawn(4)
    sampled_archs: dict[int, float] = {}
    queries = 0

    def query_metric(arch):
        nonlocal queries
        if arch in sampled_archs:
            return sampled_archs[arch]
        sampled_archs[arch] = float(values[arch])
        queries += 1
        return sampled_archs[arch]

    def chunks(draw):
        while True:
            yield from draw()

    tournaments = chunks(lambda: tournament_rng.integers(0, pop_size, size=(CHUNK, tournament_size)).tolist())
    coins = chunks(lambda: coin_rng.random(CHUNK).tolist())
    slots = chunks(lambda: slot_rng.integers(0, N_NEIGHBOURS, size=CHUNK).tolist())

    def tournament_selection(pop_metric):
        sample_i = np.array(next(tournaments))
        sample_metric = [pop_metric[i] for i in sample_i]
        return sample_i[np.argmax(sample_metric)]

    pop = init_rng.integers(1, N_ARCHS + 1, size=pop_size).tolist()
    pop_metric = [query_metric(arch) for arch in pop]
    iteration = 0
    pop_time = [iteration for _ in range(pop_size)]
    while queries < total_queries:
        iteration += 1
        parent_i = tournament_selection(pop_metric)
        parent = pop[parent_i]
        coin = next(coins) if mutation_rate < 1.0 else 0.0
        slot = next(slots)
        if coin < mutation_rate:
            child = int(neighbour_table()[parent, slot])
            child_metric = query_metric(child)
            oldest_i = np.argmin(pop_time)
            pop[oldest_i] = child
            pop_metric[oldest_i] = child_metric
            pop_time[oldest_i] = iteration
    return list(sampled_archs)


@pytest.mark.parametrize(("size", "tournament", "rate"), [(30, 10, 1.0), (5, 3, 1.0), (8, 4, 0.5)])
def test_matches_a_literal_port_of_the_reference(size, tournament, rate):
    values = np.round(toy_objective(5), 0)  # integers: many ties inside tournaments
    for seed in range(8):
        port = reference_run(values, 200, size, tournament, rate, np.random.default_rng(seed))
        traj, _ = run(values, RegularizedEvolution(size, tournament, rate), 200, seed)
        assert traj.arch_ids.tolist() == port, seed
        assert len(port) == 200


def test_the_oldest_member_is_replaced():
    """Model the population as a queue (oldest out) from the call log: every child must come
    from a member that is still alive in that model; replacing the worst or the newest member
    instead would break the chain within a few iterations."""
    values = toy_objective(1)
    table = neighbour_table()

    def consistent(calls, size, replace):
        population = list(calls[:size])
        for child in calls[size:]:
            if not any(child in table[member] for member in population):
                return False
            index = replace(population)
            population[index:index + 1] = []
            population.append(child)
        return True

    oldest = lambda pop: 0  # noqa: E731  (the queue's head)
    worst = lambda pop: int(np.argmin([values[m] for m in pop]))  # noqa: E731
    newest = lambda pop: len(pop) - 1  # noqa: E731
    for seed in range(5):
        _, calls = run(values, RegularizedEvolution(population_size=4, tournament_size=1), 120, seed)
        assert len(calls) >= 120
        assert consistent(calls, 4, oldest)
        assert not consistent(calls, 4, worst)
        assert not consistent(calls, 4, newest)


def test_initial_duplicates_are_free():
    values = toy_objective(0)
    hits = 0
    for seed in range(300):
        traj, calls = run(values, RegularizedEvolution(), 100, seed)
        initial = calls[:30]
        if len(set(initial)) < 30:
            hits += 1
            distinct = list(dict.fromkeys(initial))
            assert traj.arch_ids[: len(distinct)].tolist() == distinct
            assert len(traj) == 100
    assert hits > 0  # about 3 % of seeds draw a duplicate among 30 of 15,625


def test_tournament_takes_the_first_of_equal_best():
    """All members equal: the parent is always the first one drawn in the tournament."""
    values = np.full(N_ARCHS + 1, 1.0)
    for seed in range(5):
        port = reference_run(values, 80, 6, 4, 1.0, np.random.default_rng(seed))
        traj, _ = run(values, RegularizedEvolution(6, 4), 80, seed)
        assert traj.arch_ids.tolist() == port


def test_population_shrinks_to_the_budget_and_budget_is_exact():
    values = toy_objective(2)
    traj, calls = run(values, RegularizedEvolution(population_size=30), 12, 0)
    assert len(traj) == 12
    for seed in range(10):
        assert len(run(values, RegularizedEvolution(), 300, seed)[0]) == 300


def test_minimising_a_negated_objective_is_maximising_it():
    values = toy_objective(4)
    up, _ = run(values, RegularizedEvolution(), 150, 3)
    oracle = TabularOracle(-values, maximize=False, budget=150)
    down = RegularizedEvolution().run(SPACE, oracle, 150, np.random.default_rng(3))
    assert up.arch_ids.tolist() == down.arch_ids.tolist()


@pytest.mark.parametrize("params", [dict(population_size=0), dict(tournament_size=-2),
                                    dict(mutation_rate=0.0), dict(mutation_rate=1.5),
                                    dict(population_size=2.5), dict(population_size=True),
                                    dict(tournament_size=np.float64(3.0)), dict(mutation_rate="1"),
                                    dict(mutation_rate=True)])
def test_bad_hyper_parameters_are_refused(params):
    with pytest.raises(ConfigError):
        run(toy_objective(0), RegularizedEvolution(**params), 50, 0)


def test_numpy_integers_and_floats_are_accepted():
    values = toy_objective(2)
    expected, _ = run(values, RegularizedEvolution(population_size=12, tournament_size=4, mutation_rate=0.5), 80, 1)
    got, _ = run(values, RegularizedEvolution(population_size=np.int64(12), tournament_size=np.int32(4),
                                              mutation_rate=np.float32(0.5)), 80, 1)
    assert got.arch_ids.tolist() == expected.arch_ids.tolist() and len(got) == 80
