"""Multi-objective runs on the simulated clock: costs, constraints, determinism, run files."""

from __future__ import annotations

import pickle
from typing import ClassVar

import numpy as np
import pytest

from nares_nas.asktell import Proposal, Result
from nares_nas.errors import ConfigError
from nares_nas.pareto.problem import Problem
from nares_nas.runs.folder import read_runs
from nares_nas.runs.multiobjective import (
    ObjectiveTable,
    penalised,
    run_mo_search,
    run_mo_to_dir,
    simulate_mo,
)
from nares_nas.runs.record import RunResult
from nares_nas.searchers import RandomSearch, Searcher
from nares_nas.simulation.budget import Budget
from nares_nas.space import N_ARCHS

OBJECTIVES = "VAL_PGD_ACC:max,MACS:min"


class TinyMORandom(Searcher):
    """Uniform archs without repeats until the driver stops it; records what it is told (per seed)."""

    multi_objective: ClassVar[bool] = True
    told: ClassVar[dict[int, list[Result]]] = {}

    def __init__(self) -> None:
        pass

    def propose(self, space, budget, rng, *, maximize=True, max_epochs=None):
        first = int(rng.integers(2**31))
        heard = TinyMORandom.told.setdefault(first, [])
        for arch_id in (rng.permutation(N_ARCHS) + 1).tolist():
            heard.extend((yield Proposal(arch_id)))


def test_a_run_charges_training_time_and_records_raw_vectors(bench):
    (run,) = run_mo_search(TinyMORandom(), bench, OBJECTIVES, seeds=[3], budget=50)
    assert run.queries == 50 and run.values.shape == (50, 2)
    acc, macs = bench.metric_by_id("VAL_PGD_ACC"), bench.metric_by_id("MACS")
    assert run.values[:, 0].tolist() == acc[run.arch_ids].tolist()
    assert run.values[:, 1].tolist() == macs[run.arch_ids].tolist()
    days = bench.metric_by_id("TRAINING_TIME")[run.arch_ids]
    assert run.clock["gpu_days"] == pytest.approx(days.sum())
    assert run.clock["sim_days"] == pytest.approx(days.sum())  # one worker
    assert run.clock["evaluations"]["value"][0] == run.values[0].tolist()
    # scores: what pareto says of the same architectures
    problem = Problem.from_benchmark(bench, OBJECTIVES)
    assert run.scores.final() == (pytest.approx(problem.score(run.arch_ids).hv_regret),
                           pytest.approx(problem.score(run.arch_ids).igd_plus), problem.score(run.arch_ids).front_size)
    assert run.scores.front.tolist() == problem.found_front(run.arch_ids).tolist()


def test_the_searcher_is_told_signed_scores_and_minus_inf_when_infeasible(bench):
    TinyMORandom.told.clear()
    (run,) = run_mo_search(TinyMORandom(), bench, OBJECTIVES, ["VAL_PGD_ACC>=36.5"], seeds=[0], budget=40)
    (heard,) = TinyMORandom.told.values()
    assert [r.arch_id for r in heard] == run.arch_ids.tolist()
    acc, macs = bench.metric_by_id("VAL_PGD_ACC"), bench.metric_by_id("MACS")
    for result in heard:
        if acc[result.arch_id] >= 36.5:
            assert result.score.tolist() == [acc[result.arch_id], -macs[result.arch_id]]
        else:
            assert np.isneginf(result.score).all()
    assert (~run.scores.feasible).sum() == sum(acc[a] < 36.5 for a in run.arch_ids)  # charged like any other
    assert (~run.scores.feasible).any() and all(acc[a] >= 36.5 for a in run.scores.front)


def test_prefilter_answers_macs_constraints_for_free(bench):
    TinyMORandom.told.clear()
    (run,) = run_mo_search(TinyMORandom(), bench, OBJECTIVES, ["MACS<=1e10"], seeds=[1], budget=30, prefilter=True)
    macs = bench.metric_by_id("MACS")
    assert run.queries == 30 and (macs[run.arch_ids] <= 1e10).all() and run.scores.feasible.all()
    assert run.scores.rejected_free > 0
    assert run.clock["gpu_days"] == pytest.approx(bench.metric_by_id("TRAINING_TIME")[run.arch_ids].sum())
    (heard,) = TinyMORandom.told.values()
    rejected = [r for r in heard if np.isneginf(r.score).all()]
    assert len(rejected) == run.scores.rejected_free and all(macs[r.arch_id] > 1e10 for r in rejected)
    # a searcher that counts its proposals against its budget still pays for the whole budget
    (built_in,) = run_mo_search("mo_random_search", bench, OBJECTIVES, ["MACS<=1e10"], seeds=[1], budget=30,
                                prefilter=True)
    assert built_in.queries == 30 and built_in.scores.rejected_free > 0 and built_in.scores.feasible.all()


def test_penalised_passes_side_work_through():
    class Work:
        pass

    work = Work()

    def searcher():
        reply = yield work
        assert reply == "fitted"
        news = yield Proposal(5)
        assert news[0].score.tolist() == [-np.inf, -np.inf]

    class Problemish:  # nothing is feasible
        k = 2
        feasible = np.zeros(N_ARCHS + 1, dtype=bool)
        free_feasible = feasible

    gen = penalised(searcher(), Problemish())
    assert next(gen) is work
    assert gen.send("fitted") == Proposal(5)
    with pytest.raises(StopIteration):
        gen.send([Result(5, 1, np.array([1.0, 2.0]))])


def test_runs_are_determined_by_the_seed_and_workers_overlap(bench):
    a = run_mo_search(TinyMORandom(), bench, OBJECTIVES, seeds=[4, 5], budget=20, workers=3)
    b = run_mo_search(TinyMORandom(), bench, OBJECTIVES, seeds=[5], budget=20, workers=3)
    assert a[1].arch_ids.tolist() == b[0].arch_ids.tolist()
    assert a[1].scores.hv_regret.tolist() == b[0].scores.hv_regret.tolist()
    assert a[0].arch_ids.tolist() != a[1].arch_ids.tolist()
    assert a[0].clock["sim_days"] < a[0].clock["gpu_days"]


def test_single_objective_searchers_and_epoch_budgets_are_refused(bench):
    with pytest.raises(ConfigError, match="random_search is a single-objective searcher; .*mo_random_search"):
        run_mo_search(RandomSearch(), bench, OBJECTIVES, seeds=[0], budget=10)
    problem = Problem.from_benchmark(bench, OBJECTIVES)
    with pytest.raises(ConfigError, match="epoch budget says nothing"):
        simulate_mo(TinyMORandom(), problem, ObjectiveTable.from_benchmark(bench, problem), [0],
                    budget=Budget(total_epochs=100))


def test_the_table_refuses_fidelities_and_pickles(bench):
    problem = Problem.from_benchmark(bench, OBJECTIVES)
    table = ObjectiveTable.from_benchmark(bench, problem)
    assert table.value(7, 1).tolist() == problem.values[7].tolist()
    with pytest.raises(ConfigError, match="epochs"):
        table.value(7, 2)
    clone = pickle.loads(pickle.dumps(table))
    assert clone.cost_ticks(7, 1) == table.cost_ticks(7, 1) == round(
        bench.metric_by_id("TRAINING_TIME")[7] * 86_400)


def test_run_folders_round_trip_and_resume(bench, tmp_path):
    out = tmp_path / "mo"
    runs = run_mo_to_dir(out, TinyMORandom(), bench, OBJECTIVES, ["MACS<=2e10"], seeds=[0, 1], budget=15)
    again = read_runs(out)
    assert [r.seed for r in again] == [0, 1]
    for a, b in zip(runs, again):
        assert a.to_json() == b.to_json()
    header, *rows = (out / "summary.csv").read_text().splitlines()
    assert header.split(",")[:9] == ["searcher", "seed", "queries", "infeasible", "rejected_free", "front_size",
                                     "hypervolume", "hv_regret", "igd_plus"]
    assert len(rows) == 2
    with pytest.raises(ConfigError, match="already holds runs"):
        run_mo_to_dir(out, TinyMORandom(), bench, OBJECTIVES, ["MACS<=2e10"], seeds=[0, 1], budget=15)
    with pytest.raises(ConfigError, match="different configuration"):
        run_mo_to_dir(out, TinyMORandom(), bench, OBJECTIVES, ["MACS<=3e10"], seeds=[0], budget=15, resume=True)
    more = run_mo_to_dir(out, TinyMORandom(), bench, OBJECTIVES, ["MACS<=2e10"], seeds=[0, 1, 2], budget=15,
                         resume=True)
    assert more[0].to_json() == runs[0].to_json() and len(read_runs(out)) == 3
    assert RunResult.from_json(more[2].to_json()).to_json() == more[2].to_json()


def test_the_built_in_multi_objective_random_search_runs(bench):
    (run,) = run_mo_search("mo_random_search", bench, OBJECTIVES, seeds=[0], budget=25)
    assert run.queries == 25 and run.searcher == "mo_random_search"
    assert run.scores.hv_regret[0] >= run.scores.hv_regret[-1] > 0
