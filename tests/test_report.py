"""Table 2 aggregation, best marking, Optimal readings, rendering and the anytime plot."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from nares_nas.data.benchmark import Benchmark
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.data.table import Table, empty_columns, finalize_columns
from nares_nas.errors import ConfigError
from nares_nas.oracle import Trajectory
from nares_nas.reports.curves import anytime_curve, band_over_runs, plot_anytime
from nares_nas.reports.table2 import TABLE2_METRICS, higher_is_better, published_table2, summarize, write_report

IDS = np.array([1, 2, 3, 4, 5, 6])
# Per arch_id 1..6 (index 0 = arch 1); archs 3 and 4 tie on the objective.
VALUES = {
    "pgd": [30.0, 35.0, 38.0, 38.0, 33.0, 36.0],        # VAL_PGD_ACC
    "val_acc": [70.0, 72.0, 74.0, 75.0, 71.0, 78.0],    # VAL_CLEAN_ACC
    "cw": [29.0, 33.0, 37.0, 36.0, 32.0, 35.0],         # VAL_CW_ACC
    "test_clean_acc": [80.0, 81.0, 82.0, 83.0, 84.0, 85.0],
    "Linf_fgsm_acc": [60.0, 61.0, 62.0, 63.0, 64.0, 65.0],
    "Linf_pgd_acc": [55.0, 56.0, 57.0, 58.0, 59.0, 54.0],
    "Linf_cw_acc": [53.0, 54.0, 55.0, 56.0, 52.0, 51.0],
    "Linf_aa_acc": [49.0, 50.009, 50.001, 50.0, 49.5, 50.004],
    "test_loss": [0.5, 0.6, 0.4, 0.45, 0.7, 0.3],
}
CORRUPT = [70.0, 71.0, 72.0, 73.0, 74.0, 75.0]


def make_bench(synthetic: bool, missing: tuple[str, int] | None = None, **changed: list[float]) -> Benchmark:
    """The hand-made table; ``missing`` = (column, arch_id) leaves one value out (NaN); ``changed``
    replaces columns of :data:`VALUES`."""
    cols = empty_columns(len(IDS), epochs=2)
    cols["arch_id"][:] = IDS
    cols["best_epoch"][:] = 1
    for key, values in {**VALUES, **changed}.items():
        if cols[key].ndim == 2:
            cols[key][:, 0] = 0.0  # epoch 0 must not be read: metrics are at best_epoch
            cols[key][:, 1] = values
        else:
            cols[key][:] = values
    cols["corruption_acc"][:] = np.array(CORRUPT)[:, None, None]
    if missing is not None:
        cols[missing[0]][missing[1] - 1] = np.nan
    meta = {"source": "hand-made", "synthetic": synthetic, "epochs": 2}
    return Benchmark(Table(finalize_columns(cols), meta))


def traj(ids: list[int]) -> Trajectory:
    ids = np.array(ids)
    return Trajectory(ids, np.array(VALUES["pgd"])[ids - 1], "VAL_PGD_ACC", True)


# best arch per run (latest among ties): a -> 3, 6, 3 ; b -> 4, 4, 2 ; c -> 1
RESULTS = {
    "a": [traj([1, 3, 2]), traj([2, 6]), traj([4, 3])],
    "b": [traj([4, 1]), traj([3, 4]), traj([2])],
    "c": [traj([1])],
}


@pytest.fixture
def bench() -> Benchmark:
    return make_bench(synthetic=False)


def test_means_and_stds_are_exact(bench):
    t = summarize(bench, RESULTS)
    f = t.frame
    assert f.loc[("VAL_PGD_ACC", "a"), "mean"] == pytest.approx(112 / 3)
    assert f.loc[("VAL_PGD_ACC", "a"), "std"] == pytest.approx(math.sqrt(4 / 3))
    assert f.loc[("VAL_PGD_ACC", "b"), "mean"] == pytest.approx(37.0)
    assert f.loc[("VAL_PGD_ACC", "b"), "std"] == pytest.approx(math.sqrt(3.0))
    assert f.loc[("VAL_CLEAN_ACC", "a"), "mean"] == pytest.approx((74 + 78 + 74) / 3)
    assert f.loc[("TEST_CORRUPT_ACC", "b"), "mean"] == pytest.approx((73 + 73 + 71) / 3)
    corrupt_var = ((2 / 3) ** 2 * 2 + (4 / 3) ** 2) / 2
    assert f.loc[("TEST_CORRUPT_ACC", "b"), "std"] == pytest.approx(math.sqrt(corrupt_var))
    assert f.loc[("VAL_PGD_ACC", "a"), "n"] == 3
    # a single run: the ddof=1 std is undefined, not zero
    assert math.isnan(f.loc[("VAL_PGD_ACC", "c"), "std"])
    assert list(t.metrics) == list(TABLE2_METRICS) and t.searchers == ("a", "b", "c")
    assert t.queries["a"] == (2, 2.0, 3) and t.runs == {"a": 3, "b": 3, "c": 1}


def test_json_means_and_stds_carry_no_float_artefacts():
    # searcher a's best archs are 3, 6, 3: TEST_CLEAN_ACC 86.0, 86.03, 86.0, whose mean is 86.01
    # (numpy's is 86.00999999999999) and whose std (ddof=1) is sqrt(0.0003)
    clean = [80.0, 81.0, 86.0, 83.0, 84.0, 86.03]
    data = json.loads(json.dumps(summarize(make_bench(False, test_clean_acc=clean), RESULTS).to_dict()))
    cell = data["searchers"]["a"]["metrics"]["TEST_CLEAN_ACC"]
    assert cell["mean"] == 86.01
    assert cell["std"] == pytest.approx(math.sqrt(0.0003), rel=1e-11)


def test_ddof_zero(bench):
    t = summarize(bench, RESULTS, ddof=0)
    assert t.frame.loc[("VAL_PGD_ACC", "a"), "std"] == pytest.approx(math.sqrt(8 / 9))
    assert t.frame.loc[("VAL_PGD_ACC", "c"), "std"] == 0.0
    assert "ddof=0" in t.to_markdown()


def test_best_marking_with_ties_at_displayed_precision(bench):
    f = summarize(bench, RESULTS).frame
    # Val PGD: a 37.33 > b 37.00 > c 30
    assert f.loc["VAL_PGD_ACC", "best"].tolist() == [True, False, False]
    # Test AA: a 50.002, b 50.003 -> both "50.00", marked; c 49.00 not
    assert f.loc[("TEST_AA_ACC", "a"), "mean"] != f.loc[("TEST_AA_ACC", "b"), "mean"]
    assert f.loc["TEST_AA_ACC", "best"].tolist() == [True, True, False]
    # Test PGD: b (58+58+56)/3 = 57.33 beats a (57+54+57)/3 = 56
    assert f.loc["TEST_PGD_ACC", "best"].tolist() == [False, True, False]


def test_a_missing_value_leaves_that_run_out_of_the_cell():
    t = summarize(make_bench(False, missing=("test_clean_acc", 6)), RESULTS)
    cell = t.frame.loc[("TEST_CLEAN_ACC", "a")]
    assert (cell["mean"], cell["std"], cell["n"]) == (82.0, 0.0, 2)   # runs with best arch 3, 3
    assert t.frame.loc[("VAL_PGD_ACC", "a"), "n"] == 3
    assert t.optimal["TEST_CLEAN_ACC"] == 84.0                      # arch 6 has no value now
    t = summarize(make_bench(False, missing=("test_clean_acc", 1)), RESULTS)
    assert t.frame.loc[("TEST_CLEAN_ACC", "c"), "n"] == 0
    assert "runs: a 3 (2/2/3 distinct full trainings min/median/max), b 3" in t.to_markdown()
    assert "| Test Clean | 85.00 | **83.00±1.73** | 82.33±1.15 | n/a |" in t.to_markdown()


def test_lower_is_better_metrics_mark_the_minimum(bench):
    assert higher_is_better("VAL_PGD_ACC") and not higher_is_better("TEST_LOSS")
    t = summarize(bench, RESULTS, metrics=["TEST_LOSS"])
    # a (0.4+0.3+0.4)/3 = 0.3667, b (0.45+0.45+0.6)/3 = 0.5, c 0.5
    assert t.frame.loc["TEST_LOSS", "best"].tolist() == [True, False, False]
    assert t.optimal["TEST_LOSS"] == 0.3


def test_optimal_per_metric_and_best_arch(bench):
    per = summarize(bench, RESULTS, optimal="per-metric")
    assert per.optimal["VAL_PGD_ACC"] == 38.0
    assert per.optimal["VAL_CLEAN_ACC"] == 78.0   # arch 6, not an objective optimum
    assert per.optimal["TEST_PGD_ACC"] == 59.0
    assert per.optimal["TEST_CORRUPT_ACC"] == 75.0
    assert per.optimal_arch_id is None
    best = summarize(bench, RESULTS, optimal="best-arch")
    assert best.optimal_arch_id == 3              # archs 3 and 4 tie on VAL_PGD: lowest id
    assert best.optimal["VAL_PGD_ACC"] == 38.0
    assert best.optimal["VAL_CLEAN_ACC"] == 74.0
    assert best.optimal["TEST_PGD_ACC"] == 57.0
    assert "per-metric best" in per.to_markdown() and "best-arch" not in per.to_markdown()
    assert "single best-VAL_PGD_ACC architecture (arch_id 3" in best.to_markdown()
    assert "Optimal (best-arch)" in best.to_markdown()


def test_invalid_inputs(bench):
    with pytest.raises(ConfigError, match="^optimal must be one of per-metric, best-arch, got 'max'$"):
        summarize(bench, RESULTS, optimal="max")
    with pytest.raises(ConfigError, match="^ddof must be a non-negative integer, got -1$"):
        summarize(bench, RESULTS, ddof=-1)
    with pytest.raises(ConfigError, match="^band must be one of sem, percentile, got 'iqr'$"):
        band_over_runs(np.zeros((2, 3)), "iqr")
    with pytest.raises(ConfigError, match="no runs"):
        summarize(bench, {"a": []})
    mixed = Trajectory(np.array([1]), np.array([70.0]), "VAL_CLEAN_ACC", True)
    with pytest.raises(ConfigError, match="mix objectives"):
        summarize(bench, {"a": RESULTS["a"], "x": [mixed]})


def test_renderings_parse_and_agree(bench):
    t = summarize(bench, RESULTS, preset="default", budget=3)
    md = t.to_markdown()
    assert "| Val PGD (obj) | 38.00 | **37.33±1.15** | 37.00±1.73 | 30.00 |" in md
    assert "| Test AA | 50.01 | **50.00±0.00** | **50.00±0.01** | 49.00 |" in md
    assert "ddof=1" in md and "Preset: default" in md and "NARes (hand-made)" in md
    assert SYNTHETIC_LABEL not in md

    frame = pd.read_csv(io.StringIO(t.to_csv()))
    assert list(frame.columns) == ["row", "metric", "optimal", *(f"{s}_{part}" for s in "abc"
                                                                for part in ("mean", "std", "n", "best")), "data"]
    assert len(frame) == len(TABLE2_METRICS) and set(frame["data"]) == {"NARes (hand-made)"}
    row = frame.set_index("metric").loc["VAL_PGD_ACC"]
    assert row["a_mean"] == pytest.approx(112 / 3) and row["a_best"] == "*"
    assert pd.isna(row["b_best"]) and pd.isna(row["c_std"]) and row["c_n"] == 1
    assert frame.set_index("metric").loc["TEST_AA_ACC", ["a_best", "b_best"]].tolist() == ["*", "*"]

    tex = t.to_latex()
    assert tex.count("\\mathbf{") == int(t.frame["best"].sum())
    assert "$\\mathbf{37.33 \\pm 1.15}$" in tex and "VAL\\_PGD\\_ACC" in tex
    assert tex.count("\\\\") == len(TABLE2_METRICS) + 1

    data = json.loads(json.dumps(t.to_dict()))
    cell = data["searchers"]["a"]["metrics"]["VAL_PGD_ACC"]
    assert cell["mean"] == pytest.approx(112 / 3) and cell["n"] == 3
    assert cell["std"] == pytest.approx(1.1547005)
    assert data["searchers"]["c"]["metrics"]["VAL_PGD_ACC"]["std"] is None
    assert data["ddof"] == 1 and data["optimal"]["mode"] == "per-metric"


def test_published_table_reproduces_published_bold_marks():
    t = published_table2()
    bold = {m: [s for s in t.searchers if t.frame.loc[(m, s), "best"]] for m in t.metrics}
    assert bold == {
        "VAL_CLEAN_ACC": ["bananas"], "VAL_PGD_ACC": ["bananas"], "VAL_CW_ACC": ["bananas"],
        "TEST_CLEAN_ACC": ["random_search"], "TEST_FGSM_ACC": ["regularized_evolution"],
        "TEST_PGD_ACC": ["regularized_evolution", "bananas"], "TEST_CW_ACC": ["regularized_evolution"],
        "TEST_AA_ACC": ["regularized_evolution", "bananas"], "TEST_CORRUPT_ACC": ["bananas"],
    }
    md = t.to_markdown()
    assert "PUBLISHED" in md
    assert "| Val PGD (obj) | 38.80 | 38.18±0.22 | 38.17±0.22 | 38.50±0.24 | **38.55±0.24** |" in md


def test_anytime_curve_pads_and_bands():
    runs = [Trajectory(np.array([1, 2, 3]), np.array([1.0, 3.0, 2.0]), "VAL_PGD_ACC", True),
            Trajectory(np.array([4]), np.array([2.0]), "VAL_PGD_ACC", True)]
    x, mean, low, high = anytime_curve(runs, "sem")
    assert x.tolist() == [1, 2, 3]
    assert mean.tolist() == [1.5, 2.5, 2.5]      # run 2 keeps its last best (2.0)
    half = 1.96 * np.std([1.0, 2.0], ddof=1) / math.sqrt(2)
    assert low[0] == pytest.approx(1.5 - half) and high[0] == pytest.approx(1.5 + half)
    _, _, low, high = anytime_curve(runs, "percentile")
    assert low[1] == pytest.approx(2.0 + 0.025) and high[1] == pytest.approx(3.0 - 0.025)
    with pytest.raises(ConfigError, match="band"):
        anytime_curve(runs, "iqr")


def test_plot_and_files_carry_the_synthetic_label(tmp_path):
    bench = make_bench(synthetic=True)
    t = summarize(bench, RESULTS, preset="fast", budget=3)
    paths = write_report(t, RESULTS, tmp_path, reference=True)
    assert sorted(p.name for p in paths.values()) == [
        "anytime.png", "table2.csv", "table2.json", "table2.md", "table2.tex"]
    for ext in ("md", "csv", "tex", "json"):
        assert SYNTHETIC_LABEL in paths[ext].read_text(encoding="utf-8"), ext
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert SYNTHETIC_LABEL.encode() in png       # PNG text metadata
    md = paths["md"].read_text(encoding="utf-8")
    computed, published = md.split("\n---\n")
    assert "PUBLISHED" in published and "PUBLISHED" not in computed
    assert json.loads(paths["json"].read_text())["data"]["synthetic"] is True


def test_plot_anytime_alone(tmp_path):
    path = plot_anytime(RESULTS, tmp_path / "a.png", band="percentile", budget=3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
