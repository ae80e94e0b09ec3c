"""The clock's account in reports: GPU-days worked, incumbents against time and cost, the cost table."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nares_nas
from nares_nas.oracle import Trajectory
from nares_nas.reports.costs import cost_frame
from nares_nas.reports.curves import anytime_clock, gpu_used
from nares_nas.runs.record import RunResult
from nares_nas.simulation.budget import Budget, budget_note, equal_cost, mean_training_days
from nares_nas.simulation.log import epoch_counts


def run_of(rows, maximize=True, max_epochs=4, seed=0):
    """A RunResult from evaluation rows (arch, from, to, worker, start, end, value)."""
    keys = ("arch_id", "epoch_from", "epoch_to", "worker", "start", "end", "value")
    cols = {k: [r[i] for r in rows] for i, k in enumerate(keys)}
    cols["cost"] = [r[5] - r[4] for r in rows]
    full = [r for r in sorted(rows, key=lambda r: (r[5], r[3])) if r[2] == max_epochs]
    traj = Trajectory(np.array([r[0] for r in full]), np.array([r[6] for r in full], float), "VAL_PGD_ACC", maximize)
    clock = {"workers": 2, "gpu_days": sum(cols["cost"]), "sim_days": max(cols["end"]), "max_epochs": max_epochs,
             "stopped_by_budget": True, "evaluations": cols}
    return RunResult.of_trajectory("toy", seed, {}, None, traj, None, clock)


def test_gpu_days_worked_by_a_time_count_each_running_evaluation_once():
    start, end = np.array([0.0, 0.0, 1.0]), np.array([2.0, 1.0, 4.0])
    # t=0.5: 0.5 + 0.5; t=1: 1 + 1; t=2: 2 + 1 + 1; t=3: 2 + 1 + 2; t=9: 2 + 1 + 3
    np.testing.assert_allclose(gpu_used(start, end, np.array([0.5, 1.0, 2.0, 3.0, 9.0])), [1, 2, 4, 5, 6])


def test_incumbents_against_time_and_cost_at_full_or_any_fidelity():
    run = run_of([(1, 0, 4, 0, 0.0, 2.0, 30.0), (2, 0, 1, 1, 0.0, 1.0, 50.0), (2, 1, 4, 1, 1.0, 3.0, 35.0),
                  (3, 0, 4, 0, 2.0, 3.0, 32.0)])
    grid = np.array([0.5, 1.0, 2.0, 2.9, 3.0, 9.0])
    mean, _, _, n = anytime_clock([run], "sim_days", grid)
    np.testing.assert_allclose(mean, [np.nan, np.nan, 30.0, 30.0, 35.0, 35.0])  # 3 and 2 both end at 3
    np.testing.assert_array_equal(n, [0, 0, 1, 1, 1, 1])
    mean, _, _, _ = anytime_clock([run], "sim_days", grid, any_fidelity=True)
    np.testing.assert_allclose(mean, [np.nan, 50.0, 50.0, 50.0, 50.0, 50.0])
    # GPU-days: 2 at t=1, 4 at t=2 (first full incumbent), 6 at t=3
    mean, _, _, _ = anytime_clock([run], "gpu_days", np.array([3.9, 4.0, 5.9, 6.0]))
    np.testing.assert_allclose(mean, [np.nan, 30.0, 30.0, 35.0])


def test_the_band_spans_the_runs():
    runs = [run_of([(1, 0, 4, 0, 0.0, 1.0, v)], seed=i) for i, v in enumerate((30.0, 32.0, 34.0))]
    mean, low, high, n = anytime_clock(runs, "sim_days", np.array([1.0]))
    half = 1.96 * np.std([30, 32, 34], ddof=1) / np.sqrt(3)
    np.testing.assert_allclose([mean[0], low[0], high[0], n[0]], [32.0, 32 - half, 32 + half, 3])


def test_minimising_keeps_the_smallest():
    run = run_of([(1, 0, 4, 0, 0.0, 1.0, 5.0), (2, 0, 4, 0, 1.0, 2.0, 3.0), (3, 0, 4, 0, 2.0, 3.0, 4.0)],
                 maximize=False)
    mean, _, _, _ = anytime_clock([run], "sim_days", np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(mean, [5.0, 3.0, 3.0])


def test_cost_table_and_budget_lines():
    runs = [run_of([(1, 0, 1, 0, 0.0, 1.0, 30.0), (1, 1, 4, 0, 1.0, 4.0, 31.0)], seed=0),
            run_of([(2, 0, 4, 0, 0.0, 2.0, 33.0)], seed=1)]
    frame = cost_frame({"toy": runs})
    row = frame.loc["toy"]
    assert (row["runs"], row["gpu_days_mean"], row["sim_days_mean"], row["evaluations_mean"]) == (2, 3.0, 3.0, 1.5)
    assert row["gpu_days_std"] == pytest.approx(np.std([4.0, 2.0], ddof=1))
    assert row["evaluations_by_epochs"] == "1: 0.5; 4: 1.0" and row["full_trainings_mean"] == 1.0
    bench = nares_nas.load("synthetic")
    mean = float(np.nanmean(bench.metric_by_id("TRAINING_TIME")[1:]))
    assert mean_training_days(bench) == pytest.approx(mean) and equal_cost(bench) == pytest.approx(500 * mean)
    note = budget_note(Budget(cost=equal_cost(bench)), bench, 8)
    assert "(= 500 full trainings at the table's mean training_time" in note and "8 simulated workers" in note
    assert budget_note(Budget(archs=500)) == "budget per run: 500 distinct architectures; 1 simulated worker"
    json.dumps(frame.reset_index().to_json())


def test_a_multi_fidelity_searcher_makes_table2_compare_at_equal_cost():
    from nares_nas.suites.table2 import table2_budget

    bench = nares_nas.load("synthetic")
    assert table2_budget(bench, ["random_search", "asha"]) == Budget(cost=equal_cost(bench))
    assert table2_budget(bench, ["random_search"]) == Budget(archs=500)
    assert table2_budget(bench, ["asha"], budget=300) == Budget(archs=300)
    assert table2_budget(bench, ["asha"], max_cost="equal", max_time=3.0) == Budget(cost=equal_cost(bench), time=3.0)
    with pytest.raises(ValueError, match="max_cost must be GPU-days or 'equal'"):
        table2_budget(bench, ["asha"], max_cost="lots")


def test_epoch_counts_count_over_every_column_given():
    assert epoch_counts([4, 12, 4], np.array([12, 1])) == {1: 1, 4: 2, 12: 2}
    assert epoch_counts() == {} and epoch_counts([]) == {}
