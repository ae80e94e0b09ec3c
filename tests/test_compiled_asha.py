"""ASHA's compiled twin gives exactly the generator's runs: whole logs over settings, budgets,
ties, directions and cost models; the same errors; and simulate uses it only where it applies."""

from __future__ import annotations

import numpy as np
import pytest
from fast_paths import same_runs

from nares_nas.errors import ConfigError, UnknownArchError
from nares_nas.searchers import Asha
from nares_nas.searchers import _asha_compiled as compiled_asha
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import simulate
from nares_nas.simulation.model import EvaluationModel
from nares_nas.space import N_ARCHS

PARAMS = [{}, {"min_epochs": 1}, {"eta": 2}, {"min_epochs": 2, "eta": 2.5}, {"s": 1}, {"max_epochs": 50},
          {"min_epochs": 100}]


@pytest.mark.parametrize("workers", [1, 3, 8])
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "defaults")
def test_the_same_runs_as_the_generator_under_every_budget(model, full_cost, params, workers):
    budgets = [Budget(archs=40), Budget(cost=20 * full_cost), Budget(time=4 * full_cost),
               Budget(total_epochs=900), Budget(archs=25, cost=15 * full_cost)]
    stopped = set()
    for budget in budgets:
        runs = same_runs(Asha(**params), model, [0, 7], budget=budget, workers=workers)
        assert all(len(run.log) > 0 for run in runs)
        stopped.update(run.stopped for run in runs)
    assert stopped == {True, False}  # both ends of a run: the searcher's and a budget's


def test_the_same_runs_minimising_from_scratch_and_for_a_free_objective(bench, model, full_cost):
    same_runs(Asha(), model, [1, 2], budget=Budget(cost=20 * full_cost), workers=4, maximize=False)
    scratch = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC", from_scratch=True)
    runs = same_runs(Asha(min_epochs=1), scratch, [3], budget=Budget(cost=20 * full_cost), workers=4)
    assert all(f == 0 for f in runs[0].log.epoch_from)  # every evaluation charged from epoch 0
    free = EvaluationModel.from_benchmark(bench, "MACS")  # costs nothing: every event at time 0
    runs = same_runs(Asha(), free, [4], budget=Budget(archs=60), workers=3)
    assert set(runs[0].log.end) == {0} and len(runs[0].log) > 60


def test_the_same_runs_where_scores_and_event_times_tie(model, full_cost):
    # scores rounded to multiples of 5 and one training time for every arch: rungs full of equal
    # scores (ranked by the order told) and many completions at the same instant (by worker id)
    values, _ = model.arrays()
    tied = EvaluationModel(np.round(values / 5) * 5, np.full(N_ARCHS + 1, 0.25))
    for workers in (1, 2, 5):
        runs = same_runs(Asha(min_epochs=1), tied, [0, 1], budget=Budget(cost=15 * full_cost), workers=workers)
        ends = runs[0].log.end
        assert workers == 1 or len(set(ends)) < len(ends)  # ties did occur


def first_arch(budget: int = 5) -> int:
    """ASHA's first new architecture for seed 0 (its documented draw)."""
    return int(np.random.default_rng(0).choice(N_ARCHS, size=budget, replace=False)[0] + 1)


@pytest.mark.parametrize("compiled", [True, False])
def test_the_same_errors(bench, model, compiled):
    with pytest.raises(ConfigError, match="the budget buys no evaluation: max_cost 1e-06 GPU-days"):
        simulate(Asha(), model, [0], budget=Budget(cost=1e-6), compiled=compiled)
    values, times = model.arrays()[0], bench.metric_by_id("TRAINING_TIME")
    unknown = values.copy()
    unknown[first_arch()] = np.nan
    with pytest.raises(UnknownArchError, match=f"arch_id {first_arch()}"):
        simulate(Asha(), EvaluationModel(unknown, times), [0], budget=Budget(archs=5), compiled=compiled)
    untimed = times.copy()
    untimed[first_arch()] = np.nan
    with pytest.raises(UnknownArchError, match="its record has no training_time"):
        simulate(Asha(), EvaluationModel(values, untimed), [0], budget=Budget(archs=5), compiled=compiled)


class PlainAsha(Asha):
    """A subclass may change the schedule, so it runs as a generator."""


def test_simulate_uses_the_twin_only_for_exactly_asha_on_a_model(model, monkeypatch):
    calls = []
    real = compiled_asha.run_asha
    monkeypatch.setattr(compiled_asha, "run_asha", lambda *a, **k: calls.append(1) or real(*a, **k))
    simulate(Asha(), model, [0], budget=Budget(archs=10), workers=2)
    assert calls == [1]
    simulate(PlainAsha(), model, [0], budget=Budget(archs=10), workers=2)
    simulate(Asha(), model, [0], budget=Budget(archs=10), workers=2, compiled=False)
    assert calls == [1]
