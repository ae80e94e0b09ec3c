"""BOHB: the encoding, the density model's pieces, when the model is used, and its gain over random search."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas.errors import ConfigError
from nares_nas.searchers import BOHB, Hyperband, RandomSearch, _bohb, resolve
from nares_nas.searchers._bohb import bandwidths, decode, kde_pdf, split, tpe_candidates, unit_vectors
from nares_nas.searchers.contract import check_searcher
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import simulate
from nares_nas.space import CHOICES, N_ARCHS, Arch


class SmoothTable:
    """27 epochs, one tick each (a full training is a day) for every architecture.

    The final value is ``50 - 2 * |index - target|^2`` over the six choice indices (0..4), so
    it is smooth in the decision variables with one best architecture; after ``e`` epochs it is
    lower by ``3 * g`` and noisier by ``4 * g * z`` (``g = 1 - e/27``, ``z`` a fixed normal per arch).
    """

    max_epochs = 27
    ticks_per_day = 27
    from_scratch = False
    target = np.array([3, 1, 2, 4, 0, 3])

    def __init__(self):
        index = np.asarray([[CHOICES[j].index(v) for j, v in enumerate(Arch.from_id(a).to_list())]
                            for a in range(1, N_ARCHS + 1)], dtype=np.float64)
        self.final = np.concatenate([[np.nan], 50.0 - 2.0 * ((index - self.target) ** 2).sum(axis=1)])
        self.z = np.concatenate([[np.nan], np.random.default_rng(0).normal(size=N_ARCHS)])

    def value(self, arch_id, epochs):
        gap = 1.0 - epochs / self.max_epochs
        return float(self.final[arch_id] - 3.0 * gap + 4.0 * gap * self.z[arch_id])

    def cost_ticks(self, arch_id, epochs, epoch_from=0):
        return epochs - epoch_from


@pytest.fixture(scope="module")
def smooth():
    return SmoothTable()


# --------------------------------------------------------------------------- the model's pieces
def test_the_encoding_is_the_bin_centre_of_each_choice_and_decodes_back():
    vectors = unit_vectors()
    assert np.isnan(vectors[0]).all()
    arch = Arch.from_id(441)  # 5,10,5,10,5,10: choice 1 everywhere
    assert arch.to_list() == [5, 10, 5, 10, 5, 10]
    np.testing.assert_allclose(vectors[441], [0.3] * 6)
    assert set(np.round(vectors[1:], 12).ravel()) == {0.1, 0.3, 0.5, 0.7, 0.9}
    assert decode(vectors[1:]).tolist() == list(range(1, N_ARCHS + 1))
    # any point of a bin decodes to its choice; the edges go to the end bins
    assert decode(np.array([[0.21, 0.39, 0.2, 0.3999, 0.0, 1.0]])).tolist() == [
        Arch(5, 10, 5, 10, 4, 16).arch_id]


@pytest.mark.filterwarnings("ignore::FutureWarning")  # statsmodels' own, about its default generator
def test_bandwidths_and_density_match_statsmodels():
    kd = pytest.importorskip("statsmodels.nonparametric.kernel_density")
    rng = np.random.default_rng(3)
    data = unit_vectors()[rng.choice(np.arange(1, N_ARCHS + 1), 12, replace=False)]
    points = rng.random((5, 6))
    kde = kd.KDEMultivariate(data=data, var_type="c" * 6, bw="normal_reference")
    np.testing.assert_allclose(bandwidths(data, 1e-3), kde.bw, rtol=1e-12)
    np.testing.assert_allclose(kde_pdf(points, data, kde.bw), kde.pdf(points), rtol=1e-10)
    assert (bandwidths(np.full((7, 6), 0.5), 1e-3) == 1e-3).all()  # no spread: the floor


def test_split_follows_the_papers_sizes():
    scores = [5, 3, 9, 3, 1, 7, 7, 2, 0]  # best first: 2, 5, 6 (tie: the earliest first), 0, 1, 3, 7, 4, 8
    good, bad = split(scores, 3, 0.15)  # N_l = max(3, floor(1.35)) = 3; N_g = max(3, 9 - 3) = 6
    assert good.tolist() == [2, 5, 6] and bad.tolist() == [0, 1, 3, 7, 4, 8]
    good, bad = split(scores, 7, 0.15)  # N_b = N_min + 2: the best 7 and the worst 7 overlap
    assert good.tolist() == [2, 5, 6, 0, 1, 3, 7] and bad.tolist() == [6, 0, 1, 3, 7, 4, 8]
    good, bad = split(np.arange(100.0), 7, 0.15)  # 15 good, the other 85 bad
    assert good.tolist() == list(range(99, 84, -1)) and bad.tolist() == list(range(84, -1, -1))
    assert len(split(np.arange(100.0), 7, 0.29)[0]) == 29  # 0.29 * 100 is 28.999... in floats


def test_samples_concentrate_where_the_good_density_is():
    vectors = unit_vectors()
    best = Arch(9, 10, 7, 16, 4, 14).arch_id
    good = np.repeat(vectors[[best]], 7, axis=0)
    bad = vectors[np.random.default_rng(0).choice(np.arange(1, N_ARCHS + 1), 30, replace=False)]
    picks = tpe_candidates(np.random.default_rng(1), good, bad, 64, 3.0, 1e-3)
    assert len(picks) == 64 and picks[0] == best
    again = tpe_candidates(np.random.default_rng(1), good, bad, 64, 3.0, 1e-3)
    assert picks.tolist() == again.tolist()


# --------------------------------------------------------------------------- BOHB on the clock
def test_the_model_is_that_of_the_largest_budget_with_n_min_plus_2_observations(smooth, monkeypatch):
    sizes = []

    def spy(scores, n_min, top_fraction):
        sizes.append(len(scores))
        return split(scores, n_min, top_fraction)

    monkeypatch.setattr(_bohb, "split", spy)
    # max 27, min 1, eta 3: brackets 27@1 -> 9@3 -> 3@9 -> 1@27, 12@3 -> 4@9 -> 1@27, 6@9 -> 2@27, ...
    # budget 45 = the first three brackets' archs; random_fraction 0: the model whenever there is one
    (run,) = simulate(BOHB(min_epochs=1, random_fraction=0.0), smooth, [0], budget=Budget(archs=45))
    assert len(set(run.log.arch_id)) == 45
    assert sizes == (
        list(range(9, 27))  # bracket 1: 9 random archs, then the model at 1 epoch on 9, 10, ..., 26 results
        + list(range(9, 21))  # bracket 2 (at 3 epochs): bracket 1 left 9 results at 3 epochs; 9..20
        # bracket 3 (at 9 epochs): 3 + 4 results at 9 epochs are too few, so 3 epochs' 9 + 12 = 21, twice;
        # then 9 epochs has 9, 10, 11, 12
        + [21, 21, 9, 10, 11, 12]
    )


def test_with_only_random_picks_the_schedule_is_hyperbands(smooth):
    a = simulate(BOHB(min_epochs=1, random_fraction=1.0), smooth, [3], budget=Budget(archs=100))[0]
    b = simulate(Hyperband(min_epochs=1, overlap_brackets=True), smooth, [3], budget=Budget(archs=100))[0]
    assert list(zip(a.log.epoch_from, a.log.epoch_to)) == list(zip(b.log.epoch_from, b.log.epoch_to))
    assert a.log.cost == b.log.cost


@pytest.mark.parametrize("workers", [1, 4])
def test_never_repeats_an_architecture_and_a_seed_determines_the_run(smooth, workers):
    runs = [simulate(BOHB(min_epochs=1), smooth, [s], budget=Budget(cost=25.0), workers=workers)[0]
            for s in (0, 0, 1)]
    log = runs[0].log
    starts = [a for a, f in zip(log.arch_id, log.epoch_from) if f == 0]
    assert len(starts) == len(set(starts)) > 50
    assert runs[0].log == runs[1].log and runs[0].log.arch_id != runs[2].log.arch_id
    assert sum(log.cost) <= 25 * 27 and runs[0].stopped


def test_overlapping_brackets_keep_workers_busy(smooth):
    over, seq = (simulate(BOHB(overlap_brackets=o), smooth, [2], budget=Budget(cost=20.0), workers=8)[0]
                 for o in (True, False))
    assert over.time_days < 0.6 * seq.time_days


def test_beats_random_search_at_equal_cost_on_a_smooth_landscape(smooth):
    seeds = list(range(10))
    budget = Budget(cost=60.0)  # 60 full trainings

    def best(searcher):
        runs = simulate(searcher, smooth, seeds, budget=budget, workers=4)
        assert all(r.cost_days <= 60.0 for r in runs)
        return np.array([r.trajectory().values.max() for r in runs])

    bohb, hyperband, random = best(BOHB()), best(Hyperband()), best(RandomSearch())
    # measured: BOHB 49.2, Hyperband 43.8, random search 40.2 (the optimum is 50)
    assert bohb.mean() > random.mean() + 6 and bohb.min() > random.mean()
    assert bohb.mean() > hyperband.mean() + 3  # the density model, not only the cheap rungs


@pytest.mark.parametrize("searcher", [BOHB, BOHB(min_epochs=4, overlap_brackets=False, num_samples=8)], ids=repr)
def test_the_searcher_contract_on_the_clock(searcher):
    check_searcher(searcher, budget=40, seeds=(0, 1))


def test_registered_and_defaults_follow_the_paper():
    assert resolve("bohb") is BOHB and BOHB.multi_fidelity
    params = BOHB().get_params()
    assert params["eta"] == 3 and params["top_fraction"] == 0.15 and params["random_fraction"] == 1 / 3
    assert params["bandwidth_factor"] == 3 and params["num_samples"] == 64 and params["min_points_in_model"] is None
    assert params["min_bandwidth"] == 1e-3


@pytest.mark.parametrize(("params", "message"), [
    ({"top_fraction": 0.0}, r"top_fraction must be a number in \(0.0, 1.0\]"),
    ({"random_fraction": 1.5}, "random_fraction"),
    ({"bandwidth_factor": -1}, "bandwidth_factor"),
    ({"min_bandwidth": float("nan")}, "min_bandwidth"),
    ({"num_samples": 0}, "num_samples"),
    ({"min_points_in_model": 2.5}, "min_points_in_model"),
    ({"eta": 0.5}, "eta"),
])
def test_bad_settings_are_named(smooth, params, message):
    with pytest.raises(ConfigError, match=message):
        simulate(BOHB(**params), smooth, [0], budget=Budget(archs=5))
