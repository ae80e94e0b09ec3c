"""Random search: distinct uniform archs up to exactly the budget."""

from __future__ import annotations

import numpy as np

from nares_nas.oracle import TabularOracle
from nares_nas.searchers import RandomSearch
from nares_nas.searchers.contract import toy_objective
from nares_nas.space import N_ARCHS, SPACE, archs_by_id


def run(values, budget, seed, oracle=None):
    oracle = oracle or TabularOracle(values, budget=budget)
    return RandomSearch().run(SPACE, oracle, budget, np.random.default_rng(seed))


def test_exact_budget_distinct_and_deterministic():
    values = toy_objective(0)
    a = run(values, 500, 7)
    assert len(a) == 500 and len(set(a.arch_ids.tolist())) == 500
    assert a.arch_ids.tolist() == run(values, 500, 7).arch_ids.tolist()
    assert a.arch_ids.tolist() != run(values, 500, 8).arch_ids.tolist()
    np.testing.assert_array_equal(a.values, values[a.arch_ids])


def test_draws_are_uniform_over_the_space():
    values = toy_objective(0)
    ids = np.concatenate([run(values, 500, seed).arch_ids for seed in range(100)])
    archs = archs_by_id()[ids - 1]
    for col in range(6):
        _, counts = np.unique(archs[:, col], return_counts=True)
        assert len(counts) == 5
        # 50,000 draws, 10,000 expected per value; 3 % is > 6 standard deviations
        assert np.all(np.abs(counts - 10_000) < 300), (col, counts)


def test_already_seen_archs_are_skipped_and_free():
    values = toy_objective(0)
    oracle = TabularOracle(values, budget=100)
    for arch_id in range(1, 41):
        oracle.query(arch_id)
    traj = run(values, 100, 3, oracle)
    assert len(traj) == 100
    assert traj.arch_ids[:40].tolist() == list(range(1, 41))
    assert len(set(traj.arch_ids.tolist())) == 100


def test_a_budget_as_large_as_the_space_queries_everything():
    traj = run(toy_objective(0), N_ARCHS, 0)
    assert sorted(traj.arch_ids.tolist()) == list(range(1, N_ARCHS + 1))
