"""Every registered searcher passes the shared contract; the check catches broken ones."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.searchers import LocalSearch, RegularizedEvolution, Searcher, available, resolve
from nares_nas.searchers.contract import check_searcher, toy_objective

CHEAP = [name for name in available() if name not in ("bananas", "mo_bananas")]  # slow: checked on their own


@pytest.mark.parametrize("name", CHEAP)
def test_registered_searchers_pass(name):
    check_searcher(resolve(name))


@pytest.mark.parametrize("searcher", [LocalSearch(reference_moves=True), LocalSearch(query_full_nbhd=True),
                                      LocalSearch(num_init=1), RegularizedEvolution(mutation_rate=0.5)])
def test_variants_pass(searcher):
    check_searcher(searcher, budget=80)


@pytest.mark.torch
def test_bananas_at_its_default_configuration_passes():
    # default hyper-parameters (500 epochs, 5 x 20-layer MLPs): one fit per run keeps it to seconds
    check_searcher(resolve("bananas"), budget=20, seeds=(0,))


@pytest.mark.parametrize("budget", [1, 7, 60])
def test_built_ins_spend_exactly_their_budget(budget):
    for name in CHEAP:
        check_searcher(resolve(name), budget=budget, seeds=(3,))
    for searcher in (LocalSearch(query_full_nbhd=True), LocalSearch(num_init=1), LocalSearch(num_init=50),
                     RegularizedEvolution(mutation_rate=0.3)):
        check_searcher(searcher, budget=budget, seeds=(3,))


def test_toy_objective_is_seeded_and_has_ties():
    a, b = toy_objective(0), toy_objective(0)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[0]) and np.isfinite(a[1:]).all()
    assert len(np.unique(a[1:])) < 15625 // 2
    assert not np.array_equal(a, toy_objective(1))


class Greedy(Searcher):
    """Queries one more arch than its budget."""

    def search(self, space, oracle, budget, rng):
        for arch_id in range(1, budget + 2):
            oracle.query(arch_id)


class Unseeded(Searcher):
    """Ignores the rng it is given."""

    def search(self, space, oracle, budget, rng):
        for arch_id in np.random.default_rng().choice(15625, budget, replace=False) + 1:
            oracle.query(int(arch_id))


class Renamer(Searcher):
    """Changes its hyper-parameter (not stored unchanged)."""

    def __init__(self, width=3):
        self.width = width * 2

    def search(self, space, oracle, budget, rng):
        oracle.query(1)


class Bypass(Searcher):
    """Builds its own trajectory instead of the oracle's record."""

    def search(self, space, oracle, budget, rng):
        oracle.query(5)

    def run(self, space, oracle, budget, rng):
        from nares_nas.oracle import Trajectory

        self.search(space, oracle, budget, rng)
        return Trajectory(np.array([5, 6]), np.array([1.0, 2.0]), "VAL_PGD_ACC", True)


class Unpicklable(Searcher):
    def __init__(self, key=None):
        self.key = key
        self._hook = lambda: None

    def search(self, space, oracle, budget, rng):
        while oracle.remaining > 0:
            oracle.query(int(rng.integers(1, 15626)))


class Quitter(Searcher):
    """Stops after one query of its budget (it used to pass the contract)."""

    def search(self, space, oracle, budget, rng):
        oracle.query(space.sample(rng))


class Stall(Searcher):
    """Stops one short of its budget, repeating a free query instead."""

    def search(self, space, oracle, budget, rng):
        for arch_id in rng.choice(np.arange(1, 15626), size=budget - 1, replace=False).tolist():
            oracle.query(arch_id)
        oracle.query(arch_id)


class SharedRng(Searcher):
    """A lockstep searcher whose runs draw from one generator, so grouping changes them."""

    lockstep_runs = 4

    def search(self, space, oracle, budget, rng):
        for arch_id in rng.choice(np.arange(1, 15626), size=budget, replace=False):
            oracle.query(int(arch_id))

    def run_many(self, space, oracles, budget, rngs):
        return [self.run(space, oracle, budget, rngs[0]) for oracle in oracles]


@pytest.mark.parametrize(("cls", "message"), [
    (Greedy, "query cap"), (Unseeded, "two runs differ"), (Renamer, "unchanged"),
    (Bypass, "not the oracle's record"), (Unpicklable, "does not pickle"),
    (SharedRng, "run_many over seeds"), (Quitter, "stopped after 1 distinct queries of a budget of 20"),
    (Stall, "stopped after 19 distinct queries"),
])
def test_broken_searchers_are_caught(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_searcher(cls, budget=20)


def test_a_non_searcher_is_refused():
    with pytest.raises(AssertionError, match="not a subclass"):
        check_searcher(dict)
