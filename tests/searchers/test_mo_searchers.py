"""The multi-objective searchers: contract, hand-checked pieces, constraints, and the stand-in claim."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.errors import ConfigError
from nares_nas.searchers import (
    NSGA2,
    MORandomSearch,
    MORegularizedEvolution,
    ParetoLocalSearch,
    RandomSearch,
    available,
    resolve,
)
from nares_nas.searchers._multiobjective import ParetoArchive, _Tournament, crowding_distance
from nares_nas.searchers._nsga2 import survivors
from nares_nas.searchers.contract import ToyObjectivesTable, check_searcher, toy_objectives
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import Simulation
from nares_nas.space import CHOICES, N_ARCHS, SPACE, archs_by_id, neighbour_table

NAMES = ["mo_random_search", "pareto_local_search", "mo_regularized_evolution", "nsga2", "mo_bananas"]
TINY_BANANAS = {"num_init": 5, "k": 5, "epochs": 3, "num_layers": 2, "num_ensemble": 2}


def _dominates(a, b):
    return bool((a >= b).all() and (a > b).any())


def _drive(searcher, values, budget, seed=0, workers=1):
    """Run ``searcher`` on the clock over raw ``values`` (both maximised); the simulation."""
    table = ToyObjectivesTable(values)
    table.maximize = (True, True)
    sim = Simulation(table, searcher.propose(SPACE, budget, np.random.default_rng(seed)), workers=workers,
                     budget=Budget(archs=budget), maximize=(True, True))
    sim.advance()
    return sim


def test_registered_as_multi_objective_plugins():
    names = available()
    for name in NAMES:
        assert name in names
        assert resolve(name).multi_objective is True
    assert resolve("random_search").multi_objective is False


@pytest.mark.parametrize("searcher", [
    MORegularizedEvolution(population_size=8, tournament_size=4),
    MORegularizedEvolution(population_size=10, tournament_size=3, mutation_rate=0.5),
    NSGA2(population_size=8), NSGA2(population_size=10, crossover_rate=0.0, mutation_rate=0.5),
    NSGA2(population_size=10, crossover_rate=0.9, mutation="reset"),
], ids=repr)
def test_small_population_variants_pass_the_contract(searcher):
    check_searcher(searcher, budget=60)


@pytest.mark.torch
def test_mo_bananas_passes_the_contract():
    check_searcher(resolve("mo_bananas")(**TINY_BANANAS), budget=15, seeds=(0,))


def test_mo_random_search_draws_what_random_search_draws():
    values = toy_objectives()
    sim = _drive(MORandomSearch(), values, 40, seed=5)
    (batch,) = RandomSearch().propose(SPACE, 40, np.random.default_rng(5))  # its candidates, one batch
    assert sim.log.arch_id == batch.tolist()


@pytest.mark.parametrize(("searcher", "message"), [
    (MORegularizedEvolution(population_size=0), "population_size must be a positive integer, got 0"),
    (MORegularizedEvolution(mutation_rate=0.0), r"mutation_rate must be a number in \(0, 1\], got 0.0"),
    (NSGA2(crossover_rate=1.5), r"crossover_rate must be a number in \[0, 1\], got 1.5"),
    (NSGA2(population_size=2.5), "population_size must be a positive integer, got 2.5"),
    (NSGA2(mutation="flip"), "NSGA2 mutation must be one of step, reset, got 'flip'"),
])
def test_bad_parameters_name_the_problem(searcher, message):
    with pytest.raises(ConfigError, match=message):
        next(searcher.propose(SPACE, 10, np.random.default_rng(0)))


@pytest.mark.torch
def test_mo_bananas_bad_rho():
    with pytest.raises(ConfigError, match="rho must be a non-negative number, got -1"):
        next(resolve("mo_bananas")(rho=-1).propose(SPACE, 10, np.random.default_rng(0)))


def _positions(arch_ids) -> np.ndarray:
    """Each arch's index among the values of each of its six (ordered) choices."""
    archs = archs_by_id()[np.asarray(arch_ids) - 1]  # row i is arch_id i + 1
    return np.stack([np.searchsorted(allowed, archs[:, col]) for col, allowed in enumerate(CHOICES)], axis=1)


@pytest.mark.parametrize(("mutation", "within_one_step"), [("step", True), ("reset", False)])
def test_nsga2_step_mutation_moves_each_choice_one_place(mutation, within_one_step):
    # no crossover: a child is its parent with some choices mutated, so with steps every child of
    # the second generation is at most one place from a member of the first in every choice
    sim = _drive(NSGA2(population_size=40, crossover_rate=0.0, mutation_rate=0.5, mutation=mutation),
                 toy_objectives(), 80)
    first, second = _positions(sim.log.arch_id[:40]), _positions(sim.log.arch_id[40:])
    steps = np.abs(second[:, None, :] - first[None, :, :]).max(axis=2).min(axis=1)  # to the nearest parent
    assert (steps >= 1).all()  # never a copy of its parent (a child is new)
    assert bool((steps == 1).all()) is within_one_step


# ---------------------------------------------------------------- crowding and survival by hand
FRONT = np.array([[4.0, 0.0], [1.0, 4.0], [2.0, 3.0], [3.0, 1.5]])
# objective 0 (span 3): (2,3) gets (3-1)/3, (3,1.5) gets (4-2)/3; objective 1 (span 4):
# (2,3) gets (4-1.5)/4, (3,1.5) gets (3-0)/4; the extremes are infinite
FRONT_CROWDING = [np.inf, np.inf, 2 / 3 + 2.5 / 4, 2 / 3 + 3 / 4]


def test_crowding_distance_by_hand():
    np.testing.assert_allclose(crowding_distance(FRONT), FRONT_CROWDING)
    assert np.isinf(crowding_distance(FRONT[:2])).all()


def test_nsga2_survival_by_rank_then_crowding():
    # rows 0-3 are FRONT (rank 1); (0.5, 2) and (2, 1) are rank 2 (dominated by (1, 4) and by
    # (3, 1.5), not by each other); (0, 0) rank 3; an infeasible row last
    points = np.vstack([FRONT, [[0.5, 2.0], [2.0, 1.0], [0.0, 0.0], [-np.inf, -np.inf]]])
    assert survivors(points, 3).tolist() == [0, 1, 3]  # the least crowded of rank 1: (2, 3) goes
    assert survivors(points, 4).tolist() == [0, 1, 2, 3]
    assert survivors(points, 5).tolist() == [0, 1, 2, 3, 4]  # a front of two: both infinite, the first
    assert survivors(points, 7).tolist() == [0, 1, 2, 3, 4, 5, 6]


def test_mo_re_tournament_is_the_crowded_comparison_within_the_sample():
    rng = np.random.default_rng(1)
    for k in (2, 3):
        scores = np.round(rng.random((12, k)), 1)  # ties in every objective
        tournament = _Tournament(12)
        for slot, score in enumerate(scores):
            tournament.set(slot, score)
        for _ in range(300):
            draw = rng.random(6).tolist()
            sample = list(dict.fromkeys(int(u * 12) for u in draw))
            front = [s for s in sample if not any(_dominates(scores[o], scores[s]) for o in sample)]
            # of equal vectors only the first drawn counts
            front = [s for i, s in enumerate(front) if not any((scores[o] == scores[s]).all() for o in front[:i])]
            expected = front[int(np.argmax(crowding_distance(scores[front])))] if len(front) > 2 else front[0]
            assert tournament.winner(draw) == expected


def test_mo_re_tournament_never_picks_an_infeasible_member_while_one_is_feasible():
    tournament = _Tournament(5)
    for slot in range(5):
        tournament.set(slot, np.array([-np.inf, -np.inf]))
    assert tournament.winner([0.9, 0.1]) == 4  # none feasible: the first drawn
    tournament.set(2, np.array([1.0, 1.0]))
    rng = np.random.default_rng(0)
    assert {tournament.winner(rng.random(3).tolist()) for _ in range(50)} == {2}


# ---------------------------------------------------------------- Pareto local search
def _brute_front(ids, values):
    return [a for a in ids if not any(_dominates(values[b], values[a]) for b in ids)]


def test_pareto_archive_is_the_brute_force_front():
    rng = np.random.default_rng(3)
    values = rng.random((200, 2))
    values[7] = -np.inf
    archive = ParetoArchive()
    for arch_id, score in enumerate(values):
        archive.offer(arch_id, score)
    assert archive.arch_ids == _brute_front(range(200), values)  # in the order they entered
    assert 7 not in archive
    best = archive.arch_ids[0]
    assert not archive.offer(999, values[best].copy())  # an equal vector is refused


def test_pls_scans_the_first_survivor_of_the_start_neighbourhood():
    values = np.random.default_rng(4).random((N_ARCHS + 1, 2))
    proposals = _drive(ParetoLocalSearch(), values, 60).log.arch_id  # one worker: the proposal order
    start, scan = proposals[0], proposals[1:25]
    assert set(scan) == set(neighbour_table()[start].tolist())
    front = _brute_front([start, *scan], values)
    member = next(a for a in scan if a in front)  # the oldest unexplored member of the archive
    new = set(neighbour_table()[member].tolist()) - {start, *scan}
    assert set(proposals[25:25 + len(new)]) == new


def test_pls_climbs_a_single_peak_then_restarts():
    # both objectives equal minus the L1 distance (in choice positions) to one architecture, so
    # PLS is a full-scan hill climb: it reaches that arch, scans its neighbourhood, and the
    # archive, just the peak, is explored: the next proposal is a fresh random start
    positions = np.stack([np.searchsorted(sorted(set(column)), column) for column in archs_by_id().T], axis=1)
    top = 4321
    height = np.full(N_ARCHS + 1, np.nan)
    height[1:] = -np.abs(positions - positions[top - 1]).sum(axis=1) + 1e-6 * np.arange(N_ARCHS)
    values = np.stack([height, height], axis=1)
    log = _drive(ParetoLocalSearch(), values, 400, seed=2).log.arch_id
    around = set(neighbour_table()[top].tolist())
    after = log[log.index(top) + 1:]
    restart = next(i for i, a in enumerate(after) if a not in around)
    assert set(after[:restart]) | (set(log) & around) == around
    start = after[restart]
    assert set(after[restart + 1:restart + 25]) == set(neighbour_table()[start].tolist()) - set(log[:log.index(start)])


# ---------------------------------------------------------------- constraints
@pytest.mark.parametrize("searcher", [ParetoLocalSearch(), MORegularizedEvolution(population_size=20,
                                                                                   tournament_size=5),
                                      NSGA2(population_size=20), MORandomSearch()], ids=repr)
@pytest.mark.parametrize("workers", [1, 4])
def test_constrained_runs_spend_the_budget_and_find_feasible_fronts(searcher, workers):
    values = toy_objectives(constrained=True)
    table = ToyObjectivesTable(values)
    sim = Simulation(table, searcher.propose(SPACE, 150, np.random.default_rng(0)), workers=workers,
                     budget=Budget(archs=150), maximize=table.maximize)
    sim.advance()
    ids = sorted(set(sim.log.arch_id))
    assert len(ids) == 150
    assert any(np.isfinite(values[a]).all() for a in ids)


# ---------------------------------------------------------------- the claim on the stand-in
@pytest.fixture(scope="module")
def stand_in():
    import nares_nas
    from nares_nas.pareto.problem import Problem

    bench = nares_nas.load("synthetic")
    return bench, Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min")


class _Raw:
    """The stand-in's (VAL_PGD_ACC, MACS) as the clock reads a table."""

    max_epochs, ticks_per_day, from_scratch = 1, 1, False

    def __init__(self, values):
        self.values = values

    def value(self, arch_id, epochs):
        return self.values[arch_id]

    def cost_ticks(self, arch_id, epochs, epoch_from=0):
        return 1


def _regrets(searcher, problem, seeds):
    table = _Raw(problem.values)
    out = []
    for seed in seeds:
        sim = Simulation(table, searcher.propose(SPACE, 500, np.random.default_rng(seed)), workers=1,
                         budget=Budget(archs=500), maximize=(True, False))
        sim.advance()
        out.append(problem.score(sorted(set(sim.log.arch_id))).hv_regret)
    return np.asarray(out)


CLAIM_SEEDS = range(2000, 2200)
"""200 seeds, never used to choose a default (NSGA-II's were chosen on seeds 1000-1199). The issue
asks for 30, but the effect the stand-in allows (≈ 0.01 of regret, paired spread ≈ 0.04) gives a
30-seed test about 40% power: MO-RE passes on 38% of random 30-seed subsets (docs/benchmarks.md)."""


@pytest.mark.slow
@pytest.mark.parametrize("searcher", [MORegularizedEvolution(), NSGA2()], ids=repr)
def test_beats_mo_random_search_on_the_stand_in(stand_in, searcher):
    from scipy.stats import wilcoxon

    _, problem = stand_in
    baseline = _regrets(MORandomSearch(), problem, CLAIM_SEEDS)
    regret = _regrets(searcher, problem, CLAIM_SEEDS)
    p = wilcoxon(regret, baseline, alternative="less").pvalue
    first30 = wilcoxon(regret[:30], baseline[:30], alternative="less").pvalue
    print(f"SYNTHETIC stand-in, {searcher!r}, 500 queries, seeds 2000-2199: regret {regret.mean():.4f} vs random "
          f"search {baseline.mean():.4f}, paired one-sided Wilcoxon p = {p:.3g} (its first 30 seeds: {first30:.3g})")
    assert p < 0.05, (f"SYNTHETIC stand-in, {len(CLAIM_SEEDS)} seeds, 500 queries: hypervolume regret "
                      f"{regret.mean():.4f} vs random search {baseline.mean():.4f}, one-sided Wilcoxon p = {p:.3g}")


@pytest.mark.parametrize("name", ["mo_random_search", "pareto_local_search", "mo_regularized_evolution", "nsga2",
                                  "mo_bananas"])
def test_a_vector_searcher_on_one_objective_is_refused_naming_objectives(name):
    from nares_nas.searchers import resolve
    from nares_nas.searchers.contract import toy_objective
    from nares_nas.simulation.clock import simulate
    from nares_nas.simulation.model import as_model

    with pytest.raises(ConfigError, match=r"searches several objectives at once: give them \(--objectives"):
        simulate(resolve(name)(), as_model(toy_objective()), [0], budget=Budget(archs=10))
