"""The oracle: arch_ids outside the space are refused everywhere; the best arch follows get_topk_archs."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.errors import ConfigError, InvalidArchError, NaresError, UnknownArchError
from nares_nas.oracle import TabularOracle, Trajectory, best_first
from nares_nas.searchers.contract import toy_objective
from nares_nas.space import N_ARCHS

BAD_IDS = [-1, 0, N_ARCHS + 1, -N_ARCHS, True, False, np.bool_(True), 5.0, np.float64(3.0), "5", None,
           np.int64(-1), np.uint16(N_ARCHS + 1)]


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return toy_objective(0)


def test_invalid_arch_error_is_a_value_error_and_unknown_stays_a_key_error():
    assert issubclass(InvalidArchError, NaresError) and issubclass(InvalidArchError, ValueError)
    assert issubclass(UnknownArchError, NaresError) and issubclass(UnknownArchError, KeyError)
    assert not issubclass(UnknownArchError, InvalidArchError)  # a valid arch the table lacks


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_ids_outside_the_space_and_non_integers_are_refused_before_the_budget(values, bad):
    oracle = TabularOracle(values, budget=3)
    oracle.query(1)  # so a bool cannot pass as a cached arch 1
    for method in (oracle.query, oracle.seen, oracle.lookup):
        with pytest.raises(InvalidArchError):
            method(bad)
    with pytest.raises(InvalidArchError):
        oracle.query_many([2, bad])
    assert oracle.trajectory().arch_ids.tolist() == [1, 2]  # nothing of ``bad`` charged or logged
    assert oracle.remaining == 1


def test_minus_one_is_not_arch_15625(values):
    # the bug: a list index of -1 answered with the last architecture's value
    oracle = TabularOracle(values, budget=5)
    with pytest.raises(InvalidArchError, match=r"invalid architecture -1: arch_id must be in 1\.\.15625"):
        oracle.query(-1)
    assert oracle.n_queries == 0 and len(oracle.trajectory()) == 0


@pytest.mark.parametrize("cast", [int, np.int64, np.int32, np.uint16, np.intp])
def test_numpy_integers_are_accepted_and_logged_as_ints(values, cast):
    oracle = TabularOracle(values, budget=3)
    assert oracle.query(cast(7)) == values[7]
    assert oracle.seen(cast(7)) and oracle.query(7) == values[7]
    np.testing.assert_array_equal(oracle.query_many(np.array([7, 9], dtype=np.int64)), values[[7, 9]])
    assert oracle.n_queries == 2
    assert all(type(a) is int for a in oracle._log)


def test_an_arch_missing_from_the_table_is_unknown_not_invalid(values):
    holes = values.copy()
    holes[441] = np.nan
    oracle = TabularOracle(holes, budget=3)
    with pytest.raises(UnknownArchError, match="arch_id 441"):
        oracle.query(441)
    assert oracle.n_queries == 0


@pytest.mark.parametrize("budget", [0, -3, 2.5, True, "10"])
def test_the_budget_must_be_a_positive_integer(values, budget):
    with pytest.raises(ConfigError, match="budget must be a positive integer"):
        TabularOracle(values, budget=budget)


def test_a_numpy_budget_is_accepted(values):
    assert TabularOracle(values, budget=np.int64(4)).remaining == 4


def test_the_live_oracle_inherits_the_check(tmp_path, values):
    from nares_nas.live.oracle import LiveOracle

    class Table:  # what LiveOracle reads from a Benchmark
        source = "toy"
        synthetic = False

        def metric_by_id(self, name):
            return values

    def trainer(*args, **kwargs):
        raise AssertionError("nothing may be trained")

    oracle = LiveOracle(Table(), profile="nares", cache=tmp_path / "cache.sqlite", live=True, trainer=trainer,
                        budget=4)
    for bad in (-1, 0, N_ARCHS + 1, True, 3.0):
        with pytest.raises(InvalidArchError):
            oracle.query(bad)
    assert oracle.query(np.int64(N_ARCHS)) == values[N_ARCHS]
    assert oracle.trajectory().arch_ids.tolist() == [N_ARCHS]


# --------------------------------------------------------------------------- ties (get_topk_archs)
def reference_get_topk_archs(sampled: dict, k: int, direction: str) -> list:
    """A literal port of the reference's ``MetaOptimizer.get_topk_archs`` (spec §5.2).

    ``sampled`` is the insertion-ordered dict arch -> metric; Python's sort is stable.
    """
    archs = sorted(sampled.items(), key=lambda item: item[1])
    if direction == "max":
        archs.reverse()
    return [arch for arch, _ in archs[:k]]


def test_ties_by_hand():
    ids = np.array([10, 20, 30, 40, 50, 60, 70])
    vals = np.array([3.0, 5.0, 1.0, 5.0, 2.0, 5.0, 1.0])
    up = Trajectory(ids, vals, "VAL_PGD_ACC", True)
    down = Trajectory(ids, vals, "VAL_PGD_ACC", False)
    assert (up.best_index, up.best_arch_id, up.best_value) == (5, 60, 5.0)  # the latest of the three 5s
    assert (down.best_index, down.best_arch_id, down.best_value) == (2, 30, 1.0)  # the earliest of the two 1s
    assert best_first(vals, True).tolist() == [5, 3, 1, 0, 4, 6, 2]
    assert best_first(vals, False).tolist() == [2, 6, 4, 0, 1, 3, 5]
    np.testing.assert_array_equal(up.best_so_far, [3, 5, 5, 5, 5, 5, 5])
    np.testing.assert_array_equal(down.best_so_far, [3, 3, 1, 1, 1, 1, 1])


@pytest.mark.parametrize("direction", ["max", "min"])
def test_best_and_top_k_match_the_reference_port(direction):
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        ids = rng.choice(np.arange(1, N_ARCHS + 1), size=n, replace=False)
        vals = rng.integers(0, 4, size=n).astype(np.float64)  # few distinct values: many ties
        sampled = dict(zip(ids.tolist(), vals.tolist()))
        port = reference_get_topk_archs(sampled, n, direction)
        traj = Trajectory(ids, vals, "VAL_PGD_ACC", direction == "max")
        assert traj.best_arch_id == port[0]
        assert ids[best_first(vals, direction == "max")].tolist() == port
