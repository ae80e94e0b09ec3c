"""The built-in searchers on the simulated clock: one worker is today's run, N workers stay exact."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.oracle import TabularOracle
from nares_nas.searchers import Bananas, LocalSearch, RandomSearch, RegularizedEvolution, Searcher
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import simulate
from nares_nas.space import SPACE

TINY_BANANAS = {"epochs": 3, "num_layers": 2, "num_ensemble": 2}


SEARCHERS = [
    RandomSearch(), LocalSearch(), LocalSearch(query_full_nbhd=True), LocalSearch(reference_moves=True),
    RegularizedEvolution(), RegularizedEvolution(population_size=12, tournament_size=4, mutation_rate=0.5),
    pytest.param(Bananas(**TINY_BANANAS), marks=pytest.mark.torch),
    pytest.param(Bananas(**TINY_BANANAS, reference_overshoot=True), marks=pytest.mark.torch),
]


def _today(searcher, bench, budget, seed, maximize=True):
    oracle = TabularOracle(bench.metric_by_id("VAL_PGD_ACC"), "VAL_PGD_ACC", maximize, searcher.query_cap(budget))
    return type(searcher)(**searcher.get_params()).run(SPACE, oracle, budget, np.random.default_rng(seed))


@pytest.mark.parametrize("searcher", SEARCHERS, ids=repr)
@pytest.mark.parametrize("maximize", [True, False])
def test_one_worker_at_full_fidelity_is_todays_trajectory(searcher, bench, model, maximize):
    budget = 45 if isinstance(searcher, Bananas) else 150
    seeds = [3, 4]
    runs = simulate(searcher, model, seeds, budget=Budget(archs=budget), workers=1, maximize=maximize)
    for seed, run in zip(seeds, runs):
        today = _today(searcher, bench, budget, seed, maximize)
        traj = run.trajectory()
        assert traj.arch_ids.tolist() == today.arch_ids.tolist()
        np.testing.assert_array_equal(traj.values, today.values)
        # back to back on worker 0, each for its whole training time
        rows = run.log.rows()
        assert {r["worker"] for r in rows} == {0}
        ends = np.cumsum([model.cost(r["arch_id"], 100) for r in rows])
        np.testing.assert_allclose([r["end"] for r in rows], ends, rtol=1e-12)


class Blocking(Searcher):
    """Today's blocking style: a plain loop over oracle.query."""

    name = "blocking_test"

    def search(self, space, oracle, budget, rng):
        while oracle.remaining > 0:
            oracle.query(space.sample(rng))


def test_a_blocking_searcher_runs_through_the_adapter_and_gains_nothing_from_workers(model):
    one, eight = (simulate(Blocking(), model, [5], budget=Budget(archs=30), workers=w)[0] for w in (1, 8))
    assert one.trajectory().arch_ids.tolist() == eight.trajectory().arch_ids.tolist()
    assert one.time_days == eight.time_days == pytest.approx(one.cost_days)
    assert {r["worker"] for r in eight.log.rows()} == {0}


@pytest.mark.parametrize("searcher", SEARCHERS, ids=repr)
def test_n_workers_overlap_never_exceed_the_budget_and_repeat_exactly(searcher, model):
    budget = 45 if isinstance(searcher, Bananas) else 150
    a, b = (simulate(searcher, model, [7], budget=Budget(archs=budget), workers=4)[0] for _ in range(2))
    assert a.log.rows() == b.log.rows()
    rows = a.log.rows()
    distinct = {r["arch_id"] for r in rows}
    assert len(distinct) == len(rows)  # full fidelity: every arch trained once
    cap = searcher.query_cap(budget)
    if cap == budget:
        assert len(rows) == budget
    elif cap is not None:
        assert budget <= len(rows) <= cap
    for worker in range(4):  # a worker holds one evaluation at a time
        mine = sorted((r["start"], r["end"]) for r in rows if r["worker"] == worker)
        assert all(prev[1] <= nxt[0] + 1e-12 for prev, nxt in zip(mine, mine[1:]))
    assert {r["worker"] for r in rows} == {0, 1, 2, 3}
    assert a.time_days < a.cost_days  # work overlapped


def test_random_search_on_eight_workers_finishes_sooner_at_the_same_cost(model):
    one = simulate(RandomSearch(), model, [1], budget=Budget(archs=200), workers=1)[0]
    eight = simulate(RandomSearch(), model, [1], budget=Budget(archs=200), workers=8)[0]
    assert sorted(one.trajectory().arch_ids.tolist()) == sorted(eight.trajectory().arch_ids.tolist())
    assert eight.cost_days == pytest.approx(one.cost_days)
    assert eight.time_days < one.time_days / 6


def test_a_cost_budget_is_never_exceeded_and_is_spent(bench, model):
    cap, dearest = 60.0, float(np.nanmax(bench.metric_by_id("TRAINING_TIME")))
    for searcher in (RandomSearch(), RegularizedEvolution(), LocalSearch()):
        run = simulate(searcher, model, [2], budget=Budget(cost=cap), workers=3)[0]
        assert run.stopped and cap - dearest < run.cost_days <= cap


@pytest.mark.parametrize("argv, fragment", [
    (["--algo", "random_search", "--workers", "0"], "argument --workers: expected a positive integer, got '0'"),
    (["--algo", "random_search", "--max-cost", "0.01"],
     "the budget buys no evaluation: max_cost 0.01 GPU-days does not pay the first proposal"),
    (["--algo", "asha", "--objective", "TRAINING_TIME", "--max-cost"],
     "Asha evaluates at several fidelities, but objective TRAINING_TIME has no per-epoch history"),
    (["--algo", "hyperband", "--param", "min_epochs=0", "--max-cost"], "min_epochs"),
])
def test_bad_clock_input_is_one_line(argv, fragment, capsys):
    from nares_nas.cli import main

    assert main(["search", "--data", "synthetic", "--runs", "1", *argv]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("notice: SYNTHETIC")]
    assert len(lines) == 1 and fragment in lines[0] and lines[0].startswith("nares-nas search: error: ")
