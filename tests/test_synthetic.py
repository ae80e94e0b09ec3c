"""The synthetic stand-in: official schema, determinism, and calibration on the paper's Table 2."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.stats import spearmanr

from nares_nas import space
from nares_nas.data.benchmark import Benchmark
from nares_nas.data.synthetic import GENERATOR_VERSION, synthetic_table
from nares_nas.data.table import COLUMNS
from nares_nas.errors import ConfigError
from nares_nas.metrics import CORRUPTIONS, HISTORY_KEYS, TEST_KEYS

N = space.N_ARCHS
BUDGET = 500

# Table 2 (spec §5.7): per-metric optimum, and random search's mean for the best-by-VAL_PGD arch.
OPTIMAL = {
    "VAL_CLEAN_ACC": 78.25, "VAL_PGD_ACC": 38.80, "VAL_CW_ACC": 37.55, "TEST_CLEAN_ACC": 88.57,
    "TEST_FGSM_ACC": 62.68, "TEST_PGD_ACC": 57.39, "TEST_CW_ACC": 56.17, "TEST_AA_ACC": 53.48,
    "TEST_CORRUPT_ACC": 80.22,
}
RANDOM_SEARCH = {
    "VAL_CLEAN_ACC": 75.88, "VAL_CW_ACC": 36.58, "TEST_CLEAN_ACC": 87.28, "TEST_FGSM_ACC": 61.38,
    "TEST_PGD_ACC": 56.44, "TEST_CW_ACC": 54.86, "TEST_AA_ACC": 52.18, "TEST_CORRUPT_ACC": 78.89,
}


@pytest.fixture(scope="module")
def table():
    return synthetic_table(0)


@pytest.fixture(scope="module")
def bench(table):
    return Benchmark(table)


@pytest.fixture(scope="module")
def val_pgd(bench):
    """VAL_PGD_ACC indexed by arch_id, as a plain list for the pure-Python searches."""
    return bench.metric_by_id("VAL_PGD_ACC").tolist()


def random_search_best(values: np.ndarray, seed: int) -> int:
    """arch_id of the best of 500 distinct uniform queries (spec §5.3)."""
    ids = np.random.default_rng(seed).choice(N, BUDGET, replace=False) + 1
    return int(ids[np.argmax(values[ids])])


def regularized_evolution_best(values: list[float], neighbours: list[list[int]], seed: int,
                               pop_size: int = 30, tournament: int = 10) -> float:
    """Best VAL_PGD found by regularized evolution exactly as spec §5.5 describes it.

    Random population (duplicates free), tournament with replacement, parent = first best,
    child = uniform one-step neighbour, repeats free but inserted, oldest member replaced.
    """
    rng = np.random.default_rng(seed)
    seen: dict[int, float] = {}
    population = rng.integers(1, N + 1, pop_size).tolist()
    for arch in population:
        seen.setdefault(arch, values[arch])
    fitness = [values[a] for a in population]
    stamps = [0] * pop_size
    iteration = 0
    while len(seen) < BUDGET:
        draws = rng.integers(pop_size, size=(256, tournament)).tolist()
        moves = rng.integers(space.N_NEIGHBOURS, size=256).tolist()
        for picks, move in zip(draws, moves):
            iteration += 1
            parent = population[max(picks, key=fitness.__getitem__)]
            child = neighbours[parent][move]
            seen.setdefault(child, values[child])
            oldest = stamps.index(min(stamps))
            population[oldest], fitness[oldest], stamps[oldest] = child, values[child], iteration
            if len(seen) >= BUDGET:
                break
    return max(seen.values())


# --------------------------------------------------------------------------- schema, determinism
def test_schema_and_shapes(table):
    cols = table.columns
    assert set(COLUMNS) <= set(cols)
    assert len(table) == N and table.epochs == 100
    np.testing.assert_array_equal(cols["arch_id"], np.arange(1, N + 1))
    archs = space.archs_by_id()
    np.testing.assert_array_equal(cols["MACs"], np.round(space.count_macs(archs) / 1e6, 2))
    np.testing.assert_array_equal(cols["Params"], np.round(space.count_params(archs) / 1e6, 2))
    for key in HISTORY_KEYS:
        assert cols[key].shape == (N, 100) and cols[key].dtype == np.float64, key
        assert np.isfinite(cols[key]).all(), key
    for key in TEST_KEYS:
        assert cols[key].shape == (N,) and np.isfinite(cols[key]).all(), key
    assert cols["corruption_acc"].shape == cols["corruption_loss"].shape == (N, len(CORRUPTIONS), 5)
    assert cols["seed"].dtype.kind == "i" and cols["best_epoch"].dtype.kind == "i"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(t)) for t in cols["timestamp"])
    assert all(g for g in cols["gpu_type"]) and len(set(cols["gpu_type"])) > 1
    assert table.synthetic and table.meta == {
        "source": "synthetic (seed 0)", "synthetic": True, "epochs": 100, "generator_version": GENERATOR_VERSION,
    }
    assert not cols["pgd"].flags.writeable


def test_training_time_is_gpu_days_growing_with_macs(table):
    days = table.columns["training_time"]
    assert 0.02 <= days.min() and days.max() <= 0.7
    assert spearmanr(table.columns["MACs"], days)[0] > 0.7  # the GPU mix blurs it


def test_same_seed_same_table_other_seed_differs(table):
    again = synthetic_table(0)
    for name in COLUMNS:
        np.testing.assert_array_equal(again.columns[name], table.columns[name], err_msg=name)
    other = synthetic_table(1)
    for name in ("pgd", "Linf_aa_acc", "corruption_acc", "best_epoch", "seed"):
        assert not np.array_equal(other.columns[name], table.columns[name]), name
    assert other.meta["source"] == "synthetic (seed 1)"


@pytest.mark.parametrize("seed", [-1, 1.5, True, None])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ConfigError, match="seed"):
        synthetic_table(seed)


def test_values_sit_on_the_measurement_grain(table):
    cols = table.columns
    for key in ("val_acc", "pgd", "cw", "pgd_stable", "cw_stable"):  # counts of 2,000 val images
        np.testing.assert_allclose(cols[key] * 20, np.round(cols[key] * 20), atol=1e-6, err_msg=key)
    for key, decimals in (("train_acc", 2), ("Linf_pgd_acc", 2), ("Linf_aa_acc", 2), ("pgd_lip", 4),
                          ("test_loss", 4), ("train_loss", 4), ("pgd_loss", 2), ("cw_loss", 2)):
        np.testing.assert_array_equal(cols[key], np.round(cols[key], decimals), err_msg=key)


# --------------------------------------------------------------------------- Table 2 calibration
@pytest.mark.parametrize("metric", sorted(OPTIMAL))
def test_maximum_is_table2_optimal(bench, metric):
    assert abs(np.max(bench.metric_by_row(metric)) - OPTIMAL[metric]) <= 0.05


def test_random_search_matches_table2(bench):
    values = bench.metric_by_id("VAL_PGD_ACC")
    best = np.array([values[random_search_best(values, seed)] for seed in range(400)])
    assert abs(best.mean() - 38.18) <= 0.1
    assert abs(best.std(ddof=1) - 0.22) <= 0.1


def test_random_search_picks_have_table2_like_other_metrics(bench):
    """The best-by-VAL_PGD arch of each run scores close to Table 2's RS column elsewhere."""
    values = bench.metric_by_id("VAL_PGD_ACC")
    picks = np.array([random_search_best(values, seed) for seed in range(400)])
    for metric, published in RANDOM_SEARCH.items():
        assert abs(bench.metric_by_id(metric)[picks].mean() - published) <= 0.35, metric


def test_regularized_evolution_matches_table2(val_pgd):
    neighbours = space.neighbour_table().tolist()
    best = np.array([regularized_evolution_best(val_pgd, neighbours, seed) for seed in range(400)])
    assert abs(best.mean() - 38.50) <= 0.15


def test_regularized_evolution_beats_random_search(bench, val_pgd):
    values = bench.metric_by_id("VAL_PGD_ACC")
    neighbours = space.neighbour_table().tolist()
    seeds = range(50)
    evolution = np.mean([regularized_evolution_best(val_pgd, neighbours, s) for s in seeds])
    random = np.mean([values[random_search_best(values, s)] for s in seeds])
    assert evolution > random + 0.15


def test_validation_and_test_rankings_agree_only_moderately(bench):
    rho = spearmanr(bench.metric_by_row("VAL_PGD_ACC"), bench.metric_by_row("TEST_PGD_ACC"))[0]
    assert 0.5 <= rho <= 0.8


# --------------------------------------------------------------------------- structure
@pytest.mark.parametrize("metric", ["VAL_PGD_ACC", "TEST_PGD_ACC", "TEST_CLEAN_ACC"])
def test_accuracy_rises_with_macs_with_diminishing_returns(bench, metric):
    macs = bench.metric_by_row("MACS")
    values = bench.metric_by_row(metric)
    assert spearmanr(macs, values)[0] > 0.3
    deciles = np.array([values[rows].mean() for rows in np.array_split(np.argsort(macs), 10)])
    steps = np.diff(deciles)
    assert (steps > 0).all()
    assert deciles[9] - deciles[5] < deciles[5] - deciles[1]
    assert steps[-1] < steps[0]


@pytest.mark.parametrize("metric", ["VAL_PGD_ACC", "VAL_CLEAN_ACC", "TEST_PGD_ACC", "TEST_CLEAN_ACC"])
def test_every_depth_and_width_raises_accuracy_on_average(bench, metric):
    archs = space.archs_by_id()
    values = bench.metric_by_row(metric)
    for col, choices in enumerate(space.CHOICES):
        means = [values[archs[:, col] == c].mean() for c in choices]
        assert np.all(np.diff(means) > 0), (space.KEYS[col], means)


def test_test_attacks_are_ordered_per_arch(table):
    cols = table.columns
    chain = ["Linf_aa_acc", "Linf_cw_acc", "Linf_pgd_acc", "Linf_fgsm_acc", "test_clean_acc"]
    for weaker, stronger in zip(chain, chain[1:]):
        assert (cols[weaker] <= cols[stronger]).all(), (weaker, stronger)


def test_stable_lip_and_losses_are_plausible(table):
    cols = table.columns
    for attack in ("fgsm", "pgd", "cw"):
        stable, acc = cols[f"Linf_{attack}_stable"], cols[f"Linf_{attack}_acc"]
        assert (stable >= acc).all() and (stable <= 100).all(), attack
    for stable, acc in (("pgd_stable", "pgd"), ("cw_stable", "cw")):
        assert (cols[stable] >= cols[acc]).all() and (cols[stable] <= 100).all(), stable
    assert 15 <= cols["Linf_pgd_lip"].min() and cols["Linf_pgd_lip"].max() <= 65
    assert 20 <= np.median(cols["Linf_pgd_lip"]) <= 60
    for key in ("pgd_lip", "cw_lip", "Linf_cw_lip", "train_loss", "val_loss", "pgd_loss", "test_loss",
                "corruption_loss"):
        assert (cols[key] > 0).all(), key
    assert (cols["cw_loss"] < 0).all() and cols["cw_loss"].min() > -100  # batch sum over 100 images
    assert ((0 <= cols["corruption_acc"]) & (cols["corruption_acc"] <= 100)).all()


def test_corruption_mean_tracks_clean_accuracy(bench):
    clean = bench.metric_by_row("TEST_CLEAN_ACC")
    corrupt = bench.metric_by_row("TEST_CORRUPT_ACC")
    assert 7.5 < np.mean(clean - corrupt) < 9.5
    assert spearmanr(clean, corrupt)[0] > 0.8


# --------------------------------------------------------------------------- histories
def test_best_epoch_is_first_maximum_of_val_cw(table):
    cols = table.columns
    best = cols["best_epoch"]
    np.testing.assert_array_equal(np.argmax(cols["cw"], axis=1), best)
    counts = np.bincount(best, minlength=100)
    assert counts[75:81].sum() > 0.8 * N  # mostly just after the first learning-rate drop


def test_metrics_read_the_history_at_the_best_epoch(table, bench):
    rows = np.arange(N)
    best = table.columns["best_epoch"]
    np.testing.assert_array_equal(bench.metric_by_row("VAL_PGD_ACC"), table.columns["pgd"][rows, best])
    np.testing.assert_array_equal(bench.metric_by_row("VAL_CW_ACC"), table.columns["cw"][rows, best])


def test_histories_look_like_pgd_adversarial_training(table):
    cols = table.columns
    rows = np.arange(N)
    best = cols["best_epoch"]

    def mean(key, epoch):
        return cols[key][:, epoch].mean()

    at_best = cols["pgd"][rows, best].mean()
    # learning-rate drops at 75 and 90: accuracy jumps, training loss falls
    assert mean("pgd", 74) < at_best and mean("pgd", 75) > mean("pgd", 74) + 2
    assert mean("val_acc", 75) > mean("val_acc", 74) + 3
    assert mean("train_acc", 75) > mean("train_acc", 74) + 3
    assert mean("train_acc", 90) > mean("train_acc", 89) + 1
    assert mean("train_loss", 75) < mean("train_loss", 74) and mean("train_loss", 90) < mean("train_loss", 89)
    # robust overfitting after the first drop, while training accuracy keeps rising
    assert mean("pgd", 85) < at_best - 1 and mean("pgd", 99) < at_best - 2
    assert mean("cw", 85) < cols["cw"][rows, best].mean() - 1
    assert mean("train_acc", 99) > mean("train_acc", 74) + 15
    # clean validation accuracy keeps increasing
    assert mean("val_acc", 99) > cols["val_acc"][rows, best].mean() > mean("val_acc", 50) > mean("val_acc", 0)
    # a single run is noisy at lr 0.1
    assert np.diff(cols["pgd"][:, 40:75], axis=1).std() > 1.0
