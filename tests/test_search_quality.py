"""On the synthetic stand-in, model-based and evolutionary search beat random search (issue: searchers)."""

import numpy as np
import pytest

import nares_nas
from nares_nas.runs.search import run_search
from nares_nas.searchers import Bananas, RandomSearch, RegularizedEvolution

SEEDS = range(50)


def _mean_best(searcher, values, n_jobs=1):
    runs = run_search(searcher, values, seeds=SEEDS, budget=500, n_jobs=n_jobs)
    assert all(len(t) == 500 for t in runs)
    return float(np.mean([t.best_value for t in runs]))


@pytest.fixture(scope="module")
def values():
    return nares_nas.load("synthetic").metric_by_id("VAL_PGD_ACC")


@pytest.fixture(scope="module")
def random_mean(values):
    return _mean_best(RandomSearch(), values)


def test_regularized_evolution_beats_random_search(values, random_mean):
    assert _mean_best(RegularizedEvolution(), values) > random_mean + 0.1


@pytest.mark.slow
def test_bananas_beats_random_search(values, random_mean):
    # 50 runs at the reference settings take hours on 2 cores; a shorter fit keeps the algorithm
    # (ensemble, mutation candidates, Thompson sampling) and runs in minutes.
    bananas = _mean_best(Bananas(epochs=10), values, n_jobs=2)
    assert bananas > random_mean + 0.1
