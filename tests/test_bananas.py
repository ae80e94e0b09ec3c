"""BANANAS (searchers/_bananas.py): acquisition, candidates, budget, determinism."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nares_nas.errors import ConfigError
from nares_nas.oracle import TabularOracle
from nares_nas.runs.search import run_search
from nares_nas.searchers._bananas import FAST_PRESET, Bananas
from nares_nas.searchers.contract import CallLog, check_searcher, toy_objective
from nares_nas.space import N_ARCHS, SPACE, neighbour_table
from nares_nas.surrogate import encode

pytestmark = pytest.mark.torch  # BANANAS needs the torch extra

TINY = dict(num_ensemble=3, num_layers=2, layer_width=8, epochs=5)


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return toy_objective(seed=3)


def _run(searcher: Bananas, values: np.ndarray, budget: int, seed: int) -> CallLog:
    oracle = CallLog(values, searcher.query_cap(budget))
    searcher.run(SPACE, oracle, budget, np.random.default_rng(seed))
    return oracle


class _KnownPredictor:
    """Stands in for the MLP ensemble: every member predicts ``onehot(arch) @ weights``."""

    def __init__(self, weights: np.ndarray, members: int = 5) -> None:
        self.weights, self.members = weights, members

    def fit(self, X: np.ndarray, y: np.ndarray) -> _KnownPredictor:
        return self

    def predict_ensemble(self, X: np.ndarray) -> np.ndarray:
        return np.tile(X @ self.weights, (self.members, 1))  # zero spread: draws equal the means


def test_rounds_query_the_k_best_candidates_by_acquisition(monkeypatch, values):
    weights = np.random.default_rng(7).normal(size=30)
    pools: list[np.ndarray] = []
    original = Bananas.candidates

    def spy(self, ids, scores, rng, maximize=True):
        pool = original(self, ids, scores, rng, maximize)
        pools.append(pool)
        return pool

    monkeypatch.setattr(Bananas, "make_predictor", lambda self, rng: _KnownPredictor(weights))
    monkeypatch.setattr(Bananas, "candidates", spy)
    searcher = Bananas(encoding="onehot")
    oracle = _run(searcher, values, budget=57, seed=4)
    paid = oracle.trajectory().arch_ids
    assert len(paid) == 57 and len(pools) == 5  # 10 initial + 4 rounds of 10 + one cut to 7
    scores = {int(a): float(v) for a, v in zip(paid, values[paid])}
    done = 10
    for pool in pools:
        before = paid[:done]
        # parents: the 50 best queried so far, latest first among equal values
        order = sorted(range(done), key=lambda i: (-scores[int(before[i])], -i))[:50]
        parents = before[order]
        nbrs = neighbour_table()[parents]
        assert np.isin(pool, nbrs).all() and not np.isin(pool, before).any()
        assert 100 <= len(pool) <= 109  # parents are visited while fewer than 100 candidates exist
        predicted = encode(pool, "onehot") @ weights
        best_first = list(dict.fromkeys(pool[np.argsort(predicted, kind="stable")].tolist()))
        take = min(10, 57 - done)
        assert paid[done:done + take].tolist() == best_first[:take]
        done += take
    assert done == 57


def test_candidates_follow_parent_order_and_stop_rule():
    ids = np.array([101, 2002, 7003, 9004, 12005])
    scores = np.array([30.0, 35.0, 31.0, 35.0, 20.0])
    # one candidate per parent, at most two parents' worth: the best-and-latest (9004) first
    searcher = Bananas(num_candidates=2, num_arches_to_mutate=2, patience_factor=2)
    pool = searcher.candidates(ids, scores, np.random.default_rng(0))
    assert len(pool) == 2
    assert pool[0] in neighbour_table()[9004] and pool[1] in neighbour_table()[2002]
    # 10 per parent for 100 candidates: parents are visited only while fewer than 100 exist
    many = Bananas().candidates(ids, scores, np.random.default_rng(1))
    assert len(many) == 50 and np.isin(many[:10], neighbour_table()[9004]).all()
    assert np.isin(many[40:], neighbour_table()[12005]).all()


def reference_parents(ids, raw_values, n_parents, direction):
    """The reference's parents: ``get_topk_archs`` (a stable ascending sort, reversed for max)."""
    archs = sorted(zip(ids.tolist(), raw_values.tolist()), key=lambda item: item[1])
    if direction == "max":
        archs.reverse()
    return [arch for arch, _ in archs[:n_parents]]


@pytest.mark.parametrize("direction", ["max", "min"])
def test_parents_among_equal_values_follow_get_topk_archs(direction):
    # raw values: the best value is tied three times, once more further down
    ids = np.array([101, 2002, 7003, 9004, 12005, 15000])
    raw = np.array([20.0, 35.0, 20.0, 31.0, 20.0, 35.0]) * (1 if direction == "max" else -1) + 50
    maximize = direction == "max"
    scores = raw if maximize else -raw
    parents = reference_parents(ids, raw, 6, direction)
    # by hand: max -> 35 (latest first: 15000, 2002), 31, then the 20s latest first;
    #          min -> the best is 15 (= -35 + 50), earliest first: 2002, 15000; then 19; then 30s earliest first
    assert parents == ([15000, 2002, 9004, 12005, 7003, 101] if maximize else [2002, 15000, 9004, 101, 7003, 12005])
    nbrs = neighbour_table()
    assert len(set(nbrs[ids].ravel().tolist()) | set(ids.tolist())) == 6 * 25  # disjoint neighbourhoods
    searcher = Bananas(num_candidates=6, num_arches_to_mutate=6, patience_factor=1)  # one child per parent
    pool = searcher.candidates(ids, scores, np.random.default_rng(0), maximize)
    assert len(pool) == 6
    for child, parent in zip(pool, parents):
        assert child in nbrs[parent]


def test_a_minimising_run_passes_its_direction_to_the_candidates(monkeypatch, values):
    seen: list[bool] = []
    original = Bananas.candidates

    def spy(self, ids, scores, rng, maximize=True):
        seen.append(maximize)
        return original(self, ids, scores, rng, maximize)

    monkeypatch.setattr(Bananas, "candidates", spy)
    oracle = TabularOracle(-values, maximize=False, budget=25)
    Bananas(**TINY).run(SPACE, oracle, 25, np.random.default_rng(1))
    assert seen and not any(seen) and oracle.n_queries == 25


def test_exact_budget_and_free_repeats(values):
    for budget in (7, 23, 40):
        oracle = _run(Bananas(**TINY), values, budget, seed=budget)
        assert oracle.n_queries == budget
        assert list(dict.fromkeys(oracle.calls)) == oracle.trajectory().arch_ids.tolist()


def test_contract_and_determinism(values):
    check_searcher(Bananas(**TINY), budget=30, seeds=(0,), values=values)
    a = _run(Bananas(**TINY), values, 35, seed=9).trajectory()
    b = _run(Bananas(**TINY), values, 35, seed=9).trajectory()
    c = _run(Bananas(**TINY), values, 35, seed=10).trajectory()
    np.testing.assert_array_equal(a.arch_ids, b.arch_ids)
    assert not np.array_equal(a.arch_ids, c.arch_ids)


def test_reference_overshoot_can_pass_the_budget_by_at_most_nine(values):
    searcher = Bananas(**TINY, reference_overshoot=True)
    assert searcher.query_cap(500) == 509 and Bananas().query_cap(500) == 500
    lengths = [_run(searcher, values, budget, seed=s).n_queries for s, budget in enumerate((15, 25, 33, 4))]
    for budget, n in zip((15, 25, 33, 4), lengths):
        assert budget <= n <= budget + 9, (budget, n)
    assert lengths[0] > 15 and lengths[3] == 10  # a full round of 10 after 10; 10 initial for budget 4


def test_presets_params_and_validation(values):
    fast = Bananas.fast(encoding="onehot")
    assert fast.epochs == FAST_PRESET["epochs"] and fast.encoding == "onehot" and fast.num_layers == 20
    params = Bananas().get_params()
    assert params["epochs"] == 500 and params["encoding"] == "path" and params["reference_overshoot"] is False
    assert Bananas(**params).get_params() == params
    with pytest.raises(ConfigError, match="encoding"):
        _run(Bananas(encoding="graph"), values, 12, seed=0)
    with pytest.raises(ConfigError, match="device"):
        _run(Bananas(device="tpu"), values, 12, seed=0)
    with pytest.raises(ConfigError, match="num_init"):
        _run(Bananas(num_init=0), values, 12, seed=0)
    for bad in (0, "8"):
        with pytest.raises(ConfigError, match="lockstep_runs"):
            run_search(Bananas(lockstep_runs=bad), values, seeds=[0, 1], budget=12)


def test_exhausted_neighbourhoods_fall_back_to_random_new_archs(monkeypatch, values):
    monkeypatch.setattr(Bananas, "candidates", lambda self, *args: np.array([], dtype=np.int64))
    oracle = _run(Bananas(**TINY), values, 25, seed=2)
    ids = oracle.trajectory().arch_ids
    assert len(ids) == 25 and len(np.unique(ids)) == 25 and ids.max() <= N_ARCHS


@pytest.mark.parametrize("overshoot", [False, True])
def test_lockstep_runs_equal_solo_runs_and_share_their_fits(monkeypatch, values, overshoot):
    import nares_nas.surrogate.ensemble as ensemble

    searcher = Bananas(**TINY, reference_overshoot=overshoot)
    seeds, budget = (3, 4, 5), 46
    stacked: list[int] = []
    original = ensemble.fit_together

    def spy(models, xs, ys):
        stacked.append(len(models))
        original(models, xs, ys)

    monkeypatch.setattr(ensemble, "fit_together", spy)
    solo = [_run(searcher, values, budget, seed=s).trajectory() for s in seeds]
    solo_fits, stacked[:] = len(stacked), []
    oracles = [CallLog(values, searcher.query_cap(budget)) for _ in seeds]
    together = searcher.run_many(SPACE, oracles, budget, [np.random.default_rng(s) for s in seeds])
    for a, b in zip(solo, together):
        np.testing.assert_array_equal(a.arch_ids, b.arch_ids)
        np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(solo[0].arch_ids, solo[1].arch_ids)
    assert sum(stacked) == solo_fits  # the same fits, fewer calls
    if not overshoot:  # 4 rounds after the 10 initial archs, the three runs' fits of a round in one stack
        assert stacked == [3, 3, 3, 3]


def test_importing_bananas_imports_neither_torch_nor_sklearn():
    code = "import sys, nares_nas.searchers._bananas; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
