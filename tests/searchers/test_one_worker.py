"""Local search's and regularized evolution's one-worker walks give exactly the clock's runs of their
generators: whole logs (every column) and stop flags over seeds, budgets of every kind, both move sets,
ties, repeats, restarts, directions and cost models; the same errors; and simulate uses a walk only where
it applies. The reference is always the generator on the clock (``compiled=False``)."""

from __future__ import annotations

import numpy as np
import pytest
from fast_paths import same_runs

from nares_nas.errors import ConfigError, UnknownArchError
from nares_nas.searchers import LocalSearch, RegularizedEvolution
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import simulate
from nares_nas.simulation.model import EvaluationModel
from nares_nas.space import N_ARCHS

SEEDS = list(range(12))
SEARCHERS = {
    "local": LocalSearch(), "local_reference": LocalSearch(reference_moves=True),
    "local_full": LocalSearch(query_full_nbhd=True), "local_full_reference":
        LocalSearch(query_full_nbhd=True, reference_moves=True), "local_init3": LocalSearch(num_init=3),
    "evolution": RegularizedEvolution(), "evolution_small": RegularizedEvolution(population_size=12,
                                                                                 tournament_size=4, mutation_rate=0.5),
    "evolution_tiny": RegularizedEvolution(population_size=2, tournament_size=2),
}


@pytest.mark.parametrize("name", SEARCHERS)
def test_the_same_runs_as_the_generator_under_every_budget(model, full_cost, name):
    budgets = [Budget(archs=60), Budget(archs=300), Budget(cost=25 * full_cost), Budget(time=12 * full_cost),
               Budget(total_epochs=40 * model.max_epochs), Budget(archs=30, cost=40 * full_cost),
               Budget(archs=80, total_epochs=50 * model.max_epochs)]
    stopped = set()
    for budget in budgets:
        runs = same_runs(SEARCHERS[name], model, SEEDS, budget=budget)
        assert all(len(run.log) > 0 for run in runs)
        stopped.update(run.stopped for run in runs)
    assert stopped == {True, False}  # both ends of a run: the searcher's and a budget's


def test_local_search_restarts_and_reference_moves_overshoot(model):
    runs = same_runs(LocalSearch(num_init=3), model, SEEDS, budget=Budget(archs=200))
    # a restart is a jump: an evaluation that is no one-step neighbour of any architecture evaluated before it
    from nares_nas.space import neighbour_table

    table = neighbour_table()
    jumps = [sum(1 for i, arch in enumerate(run.log.arch_id[3:], 3)
                 if not any(arch in table[prev] for prev in run.log.arch_id[:i])) for run in runs]
    assert min(jumps) >= 3  # the first restart's 2 more archs, then at least one further restart
    reference = same_runs(LocalSearch(reference_moves=True), model, SEEDS, budget=Budget(archs=100))
    assert max(len(run.log) for run in reference) > 100  # the reference's overshoot, unrefused


def test_the_same_runs_where_values_tie_and_repeat(model):
    # values rounded to multiples of 5: equal scores everywhere (first of the best; no move to an equal one, or
    # with reference moves a move to any different one); every evaluation costs the same
    values, _ = model.arrays()
    tied = EvaluationModel(np.round(values / 5) * 5, np.full(N_ARCHS + 1, 0.25))
    for searcher in SEARCHERS.values():
        runs = same_runs(searcher, tied, SEEDS, budget=Budget(archs=120))
        scores = [run.log.value for run in runs]
        assert any(len(set(v)) < len(v) for v in scores)  # ties did occur
    # a population of two walks among its own neighbours: children evaluated before are free repeats
    counting = CountingEvolution(population_size=2, tournament_size=2)
    slow = simulate(counting, tied, SEEDS, budget=Budget(archs=50))  # a subclass: the generator runs
    fast = simulate(RegularizedEvolution(population_size=2, tournament_size=2), tied, SEEDS, budget=Budget(archs=50))
    assert [run.log for run in fast] == [run.log for run in slow]
    assert counting.proposals > sum(len(run.log) for run in slow)  # some proposals were repeats, free


class CountingEvolution(RegularizedEvolution):
    """Counts its generator's proposals (its clones share the count)."""

    proposals = 0

    def propose(self, *args, **kwargs):
        gen = super().propose(*args, **kwargs)
        reply = None
        while True:
            try:
                command = gen.send(reply)
            except StopIteration:
                return
            if command is not None:
                type(self).proposals += len(command) if isinstance(command, list) else 1
            reply = yield command


def test_the_same_runs_minimising_from_scratch_for_a_free_objective_and_the_whole_space(bench, model, full_cost):
    for searcher in SEARCHERS.values():
        same_runs(searcher, model, SEEDS[:4], budget=Budget(archs=80), maximize=False)
    scratch = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC", from_scratch=True)
    same_runs(LocalSearch(), scratch, SEEDS[:4], budget=Budget(cost=20 * full_cost))
    free = EvaluationModel.from_benchmark(bench, "MACS")  # costs nothing: every event at time 0
    for searcher in (LocalSearch(), RegularizedEvolution()):
        runs = same_runs(searcher, free, SEEDS[:4], budget=Budget(archs=60))
        assert set(runs[0].log.end) == {0}
    # no distinct-arch budget: the searcher is told none, and local search may walk the whole space
    runs = same_runs(LocalSearch(), model, [0], budget=Budget(total_epochs=N_ARCHS * model.max_epochs))
    assert len(runs[0].log) == N_ARCHS and not runs[0].stopped


def nth_evaluated(searcher, model, n: int, budget: Budget) -> int:
    """The arch_id of the generator's ``n``-th evaluation of seed 0."""
    return simulate(searcher, model, [0], budget=budget, compiled=False)[0].log.arch_id[n]


@pytest.mark.parametrize("searcher", [LocalSearch(), LocalSearch(reference_moves=True), RegularizedEvolution()],
                         ids=["local", "local_reference", "evolution"])
def test_the_same_errors_and_an_architecture_missing_from_the_table(bench, model, searcher):
    for compiled in (True, False):
        with pytest.raises(ConfigError, match="the budget buys no evaluation: max_cost 1e-06 GPU-days"):
            simulate(searcher, model, [0], budget=Budget(cost=1e-6), compiled=compiled)
    values, times = model.arrays()[0], bench.metric_by_id("TRAINING_TIME")
    missing = nth_evaluated(searcher, model, 40, Budget(archs=60))  # after restarts / the initial population
    unknown = values.copy()
    unknown[missing] = np.nan
    untimed = times.copy()
    untimed[missing] = np.nan
    # the clock reads a cost before it asks the budget, and a value after: a budget that refuses the missing
    # architecture's training (40 epochs' worth of trainings) ends the run before its unknown value, but not
    # before its unknown cost
    ends = Budget(archs=60, total_epochs=40 * model.max_epochs)
    for table, message, refused_first in ((EvaluationModel(unknown, times), f"arch_id {missing}", True),
                                          (EvaluationModel(values, untimed), "its record has no training_time", False)):
        errors = []
        for compiled in (True, False):
            with pytest.raises(UnknownArchError, match=message) as error:
                simulate(searcher, table, [0], budget=Budget(archs=60), compiled=compiled)
            errors.append(str(error.value))
        assert errors[0] == errors[1]
        if refused_first:
            runs = same_runs(searcher, table, [0], budget=ends)
            assert len(runs[0].log) == 40 and runs[0].stopped
        else:
            for compiled in (True, False):
                with pytest.raises(UnknownArchError, match=message):
                    simulate(searcher, table, [0], budget=ends, compiled=compiled)


class PlainLocalSearch(LocalSearch):
    """A subclass may change the run, so it runs as a generator."""


def test_simulate_walks_only_on_one_worker_for_exactly_these_searchers(model, monkeypatch):
    budget = Budget(archs=30)
    for searcher in (LocalSearch(), RegularizedEvolution()):
        options = {"search_budget": 30, "budget": budget, "maximize": True}
        assert len(searcher.simulate_runs(model, [np.random.default_rng(0)], workers=1, **options)) == 1
        assert searcher.simulate_runs(model, [np.random.default_rng(0)], workers=3, **options) is None
        options["maximize"] = (True, False)
        assert searcher.simulate_runs(model, [np.random.default_rng(0)], workers=1, **options) is None
    assert PlainLocalSearch().simulate_runs(model, [np.random.default_rng(0)], search_budget=30, budget=budget,
                                            workers=1, maximize=True) is None

    class NoArrays:  # a table offering only the clock's protocol: the generator runs
        max_epochs, ticks_per_day, from_scratch = model.max_epochs, model.ticks_per_day, False
        value, cost_ticks = model.value, model.cost_ticks

    assert LocalSearch().simulate_runs(NoArrays(), [], search_budget=30, budget=budget, workers=1,
                                       maximize=True) is None
    slow = simulate(LocalSearch(), model, [5], budget=budget, compiled=False)

    def fail(*args, **kwargs):
        raise AssertionError("the generator ran")

    for cls in (LocalSearch, RegularizedEvolution):
        monkeypatch.setattr(cls, "propose", fail)
    assert simulate(LocalSearch(), model, [5], budget=budget)[0].log == slow[0].log  # the walk, not propose
    simulate(RegularizedEvolution(), model, [5], budget=budget)
    with pytest.raises(AssertionError, match="the generator ran"):
        simulate(LocalSearch(), model, [5], budget=budget, workers=2)
