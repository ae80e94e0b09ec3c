"""nares_nas/analysis/figures.py on small NARes-format tables whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_record, write_lines

import nares_nas
from nares_nas.analysis import figures as analysis
from nares_nas.errors import ConfigError, MetricError
from nares_nas.space import Arch


def bench_of(tmp_path, rows: dict[tuple[int, ...], dict], days: dict[tuple[int, ...], float] | None = None):
    """A table of the given archs; each value dict overrides test_best keys (``Linf_pgd_acc`` …)."""
    records = []
    for arch, test in rows.items():
        record = make_record(Arch(*arch).arch_id, epochs=3, corruptions=False)
        record["test_best"][0].update(test)
        if days:
            record["train"][0]["training_time"] = days[arch]
        records.append(record)
    return nares_nas.load(write_lines(tmp_path / "cifar10.jsonl", records))


# D1 = 4: W3 = 8, 10, 12, 14 with PGD 50..53; D1 = 5: W3 = 8 … 16 with PGD 40..43 and an outlier 60
BOX_ROWS = {
    **{(4, 8, 4, 8, 4, w3): {"Linf_pgd_acc": 50.0 + i} for i, w3 in enumerate((8, 10, 12, 14))},
    **{(5, 8, 4, 8, 4, w3): {"Linf_pgd_acc": v} for w3, v in zip((8, 10, 12, 14, 16), (40.0, 41.0, 42.0, 43.0, 60.0))},
}


@pytest.fixture
def box_bench(tmp_path, fresh_home):
    return bench_of(tmp_path, BOX_ROWS)


def test_channels_and_both_ratios_by_hand():
    archs = np.array([[4, 8, 4, 8, 4, 8], [11, 16, 4, 8, 7, 12]])
    assert analysis.channels(archs).tolist() == [[128, 256, 512], [256, 256, 768]]  # 16·2^(i−1)·W_i
    # RobustResNet ΣD/(ΣD+ΣW): 12/(12+24); 22/(22+36)
    assert analysis.robustresnet_ratio(archs) == pytest.approx([1 / 3, 22 / 58])
    # RobustPrinciple ½(C1/D1 + C2/D2): ½(128/4 + 256/4) = 48; ½(256/11 + 256/4)
    assert analysis.robustprinciple_ratio(archs) == pytest.approx([48.0, 0.5 * (256 / 11 + 64)])


def test_quantities_of_a_table(box_bench):
    frame = analysis.architecture_frame(box_bench, ["d1", "C3", "ratio_robustresnet", "test_pgd_acc", "MACS"])
    assert list(frame.columns) == ["D1", "C3", "RATIO_ROBUSTRESNET", "TEST_PGD_ACC", "MACS"]
    row = frame.loc[Arch(5, 8, 4, 8, 4, 16).arch_id]
    assert row["D1"] == 5 and row["C3"] == 1024 and row["TEST_PGD_ACC"] == 60.0
    assert row["RATIO_ROBUSTRESNET"] == pytest.approx(13 / (13 + 32))
    assert row["MACS"] == Arch(5, 8, 4, 8, 4, 16).macs and frame.attrs["synthetic"] is False
    with pytest.raises(MetricError, match="unknown quantity 'D4'.*RATIO_ROBUSTPRINCIPLE.*TEST_AA_ACC"):
        analysis.quantity_name("D4")


def test_group_statistics_by_hand(box_bench):
    frame = analysis.group_statistics(box_bench, "TEST_PGD_ACC", "D1")
    assert list(frame.columns) == list(analysis.BOX_COLUMNS) and frame["group"].tolist() == [4, 5]
    four, five = frame.iloc[0], frame.iloc[1]
    # 50, 51, 52, 53: quartiles by linear interpolation 50.75, 51.5, 52.25; whiskers at the extremes
    assert (four["n"], four["mean"], four["q1"], four["median"], four["q3"]) == (4, 51.5, 50.75, 51.5, 52.25)
    assert four["std"] == pytest.approx(math.sqrt(5 / 3)) and (four["whisker_low"], four["whisker_high"]) == (50, 53)
    assert four["n_outliers"] == 0 and math.isnan(four["group_low"]) and four["label"] == "4"
    # 40, 41, 42, 43, 60: q1 41, median 42, q3 43, IQR 2 -> 60 lies past 43 + 3 = 46: an outlier
    assert (five["n"], five["mean"], five["q1"], five["median"], five["q3"]) == (5, 45.2, 41, 42, 43)
    assert (five["whisker_low"], five["whisker_high"], five["max"], five["n_outliers"]) == (40, 43, 60, 1)


def test_group_statistics_by_width_and_default_sets(box_bench):
    frame = analysis.group_statistics(box_bench, ["TEST_PGD_ACC"], ["W3"])
    assert frame["group"].tolist() == [8, 10, 12, 14, 16]
    assert frame["mean"].tolist() == [45.0, 46.0, 47.0, 48.0, 60.0] and frame["n"].tolist() == [2, 2, 2, 2, 1]
    default = analysis.group_statistics(box_bench)
    assert default.attrs["metrics"] == analysis.ACCURACIES and default.attrs["by"] == analysis.DECISION_VARIABLES
    assert set(default["variable"]) == set(analysis.DECISION_VARIABLES) and set(default["metric"]) == set(
        analysis.ACCURACIES)


def test_a_continuous_quantity_is_binned_into_quantiles(box_bench):
    # sorted PGD: 40 41 42 43 50 51 52 53 60; tertile edges at positions 8/3 and 16/3: 42 2/3 and 51 1/3
    frame = analysis.group_statistics(box_bench, "TEST_PGD_ACC", "TEST_PGD_ACC", bins=3)
    assert frame["group"].tolist() == [1, 2, 3] and frame["n"].tolist() == [3, 3, 3]
    assert frame["group_low"].tolist() == pytest.approx([40, 42 + 2 / 3, 51 + 1 / 3])
    assert frame["group_high"].tolist() == pytest.approx([42 + 2 / 3, 51 + 1 / 3, 60])
    assert frame["mean"].tolist() == pytest.approx([41, 48, 55])  # {40,41,42}, {43,50,51}, {52,53,60}
    with pytest.raises(ConfigError, match="bins must be a positive integer"):
        analysis.group_statistics(box_bench, "TEST_PGD_ACC", "MACS", bins=0)


def test_quadratic_fit_by_hand():
    x = np.linspace(-2, 3, 7)
    exact = analysis.quadratic_fit(x, 2 * x**2 - 3 * x + 1)
    assert (exact["a"], exact["b"], exact["c"], exact["r2"]) == pytest.approx((2, -3, 1, 1)) and exact["n"] == 7
    # (-1, 2), (0, 0), (0, 2), (1, 2): the fit passes through the mean at each x, y = x² + 1;
    # SS_res = 1 + 1 = 2, SS_tot around 1.5 = 3, so R² = 1/3
    fit = analysis.quadratic_fit([-1, 0, 0, 1, np.nan], [2, 0, 2, 2, 5])
    assert (fit["a"], fit["b"], fit["c"], fit["r2"], fit["n"]) == pytest.approx((1, 0, 1, 1 / 3, 4))
    with pytest.raises(ConfigError, match="at least 3 distinct x values, got 2"):
        analysis.quadratic_fit([0, 1, 1], [1, 2, 3])


def test_ratio_fit_on_a_table(tmp_path, fresh_home):
    archs = [(4, 8, 4, 8, 4, 8), (11, 8, 11, 8, 11, 8), (4, 16, 4, 16, 4, 16), (7, 10, 5, 12, 9, 14)]
    ratios = analysis.robustresnet_ratio(np.array(archs))
    bench = bench_of(tmp_path, {a: {"Linf_pgd_acc": float(2 * r * r - 3 * r + 50)} for a, r in zip(archs, ratios)})
    data = analysis.figure_data(bench, 6)
    fit = data.tables["fit"].iloc[0]
    assert (fit["ratio"], fit["metric"], fit["n"]) == ("RATIO_ROBUSTRESNET", "TEST_PGD_ACC", 4)
    assert (fit["a"], fit["b"], fit["c"], fit["r2"]) == pytest.approx((2, -3, 50, 1))
    points = data.tables[""].set_index("arch_id")
    assert points.loc[Arch(4, 8, 4, 8, 4, 8).arch_id, "RATIO_ROBUSTPRINCIPLE"] == 48.0


def test_pareto_ranks_start_at_one_on_a_hand_set():
    # (acc max, MACs min): A (3,1) dominates all; B (1,1) and the twins C, D (2,2) trade off; E (1,3) last
    points = np.array([[3, 1], [1, 1], [2, 2], [2, 2], [1, 3]])
    assert analysis.pareto_ranks(points, maximise=[True, False]).tolist() == [1, 2, 2, 2, 3]
    # inverted (acc min, MACs max): E dominates all, then B, C, D, then A
    assert analysis.pareto_ranks(points, maximise=[False, True]).tolist() == [3, 2, 2, 2, 1]
    assert analysis.pareto_ranks(np.array([[1.0, 2.0]])).tolist() == [1]


@pytest.fixture
def pareto_bench(tmp_path, fresh_home):
    # arch_ids 1..5 have strictly rising MACs; PGD 50, 52, 51, 53, 49
    rows = {Arch.from_id(i).to_tuple(): {"Linf_pgd_acc": v} for i, v in zip(range(1, 6), (50, 52, 51, 53, 49))}
    return bench_of(tmp_path, rows)


def test_best_and_worst_sets_by_hand(pareto_bench):
    frame = analysis.pareto_selection(pareto_bench, "TEST_PGD_ACC", max_rank=1)
    # ranks: 1, 2 and 4 form the first front; 3 is dominated by 2; 5 by everything
    assert frame["rank"].tolist() == [1, 1, 2, 1, 3]
    # inverted: 5 dominates all; then 1, 3, 4 (3 dominates 2); then 2
    assert frame["inverse_rank"].tolist() == [2, 3, 2, 2, 1]
    assert frame["best"].tolist() == [True, True, False, True, False]
    assert frame["worst"].tolist() == [False, False, False, False, True]
    two = analysis.pareto_selection(pareto_bench, max_rank=2)
    assert two["best"].tolist() == [True, True, True, True, False]
    assert two["worst"].tolist() == [True, False, True, True, True]
    with pytest.raises(ConfigError, match="the worst set holds 1 architecture.*raise max_rank"):
        analysis.decision_pca(frame)


def test_pca_sign_convention_on_constructed_vectors():
    u = np.array([2, 1, 0, 0, 0, 0]) / math.sqrt(5)
    w = np.array([-1, 2, 0, 0, 0, 1]) / math.sqrt(6)  # orthogonal to u; both sum to a positive number
    ts = np.array([(3, 1), (3, -1), (-3, 1), (-3, -1)])  # uncorrelated, var 12 and 4/3 (ddof 1)
    vectors = np.array([7, 12, 7, 12, 7, 12]) + ts[:, :1] * u + ts[:, 1:] * w
    for rows in (vectors, vectors[::-1], 2 * vectors.mean(axis=0) - vectors):  # any order, mirrored
        components, variance, ratio, projections = analysis.signed_pca(rows)
        assert components[0] == pytest.approx(u) and components[1] == pytest.approx(w)
        assert variance == pytest.approx([12, 4 / 3]) and ratio == pytest.approx([0.9, 0.1])
    _, _, _, projections = analysis.signed_pca(vectors)
    assert projections == pytest.approx(ts.astype(float))
    negative = -vectors  # the components of -X point the other way before the sign is fixed
    assert analysis.signed_pca(negative)[0][0] == pytest.approx(u)


def test_decision_pca_rows_and_published_components(pareto_bench):
    selection = analysis.pareto_selection(pareto_bench, max_rank=2)
    components, projections = analysis.decision_pca(selection)
    assert components["source"].tolist() == ["nares-nas", "nares-nas", "published (paper)", "published, our sign"] * 2
    ours = components[components["source"] == "nares-nas"]
    assert (ours[list(analysis.DECISION_VARIABLES)].sum(axis=1) >= 0).all()
    published = components[components["source"] != "nares-nas"].set_index(["set", "source"])
    cols = list(analysis.DECISION_VARIABLES)
    assert published.loc[("best", "published (paper)"), cols].tolist() == [0.378, 0.315, 0.350, 0.517, 0.441, 0.416]
    assert published.loc[("worst", "published (paper)"), cols].tolist() == [-0.283, -0.282, -0.468, -0.537,
                                                                            -0.454, -0.356]
    assert published.loc[("worst", "published, our sign"), cols].tolist() == [0.283, 0.282, 0.468, 0.537,
                                                                              0.454, 0.356]
    assert projections.groupby("set")["arch_id"].apply(list).to_dict() == {"best": [1, 2, 3, 4],
                                                                           "worst": [1, 3, 4, 5]}
    assert projections.groupby("set")["pc1"].sum().to_numpy() == pytest.approx([0, 0])  # centred


def test_dataset_summary(tmp_path, fresh_home):
    days = {(4, 8, 4, 8, 4, 8): 0.25, (5, 10, 5, 10, 5, 10): 0.5, (11, 16, 11, 16, 11, 16): 1.25}
    bench = bench_of(tmp_path, {a: {"Linf_pgd_acc": v} for a, v in zip(days, (50.0, 52.0, 57.0))}, days)
    frame = analysis.dataset_summary(bench).set_index("quantity")
    table = frame.loc["architectures (table)"]
    assert table["total"] == 3 and table["published"] == "15,625"
    space = frame.loc["PARAMS (space)"]
    assert (space["n"], space["min"], space["max"]) == (15625, 23_354_842, 266_796_506)  # spec §1.3
    assert (frame.loc["PARAMS (published)", "min"], frame.loc["PARAMS (published)", "max"]) == (23.25e6, 266.80e6)
    assert frame.loc["MACS (space)", "max"] == 38_774_320_128
    assert frame.loc["TRAINING_TIME", "total"] == 2.0 and "13,100 GPU-days" in frame.loc["TRAINING_TIME", "published"]
    pgd = frame.loc["TEST_PGD_ACC"]
    assert (pgd["n"], pgd["min"], pgd["max"], pgd["mean"]) == (3, 50, 57, 53)
    assert frame.loc["PARAMS", "min"] == 23_354_842 and frame.loc["PARAMS", "max"] == 266_796_506


def test_figure_options_are_checked_before_any_data(box_bench):
    with pytest.raises(ConfigError, match=r"^unknown figure '8'; valid: 2, 3, 4, 5, 6, 7, summary$"):
        analysis.check_figure(8)
    with pytest.raises(ConfigError, match="figure 2 does not take --by"):
        analysis.check_figure(2, by="D1")
    with pytest.raises(ConfigError, match="figure 6 does not take --max-rank"):
        analysis.check_figure("6", max_rank=3)
    with pytest.raises(MetricError, match="give one metric, got TEST_PGD_ACC, TEST_AA_ACC"):
        analysis.check_figure(7, metrics="TEST_PGD_ACC,TEST_AA_ACC")
    with pytest.raises(MetricError, match="unknown metric 'NOPE'"):
        analysis.figure_data(box_bench, 3, metrics="TEST_PGD_ACC,NOPE")
    assert analysis.parse_metrics(" test_aa_acc, TEST_PGD_ACC,test_aa_acc") == ("TEST_AA_ACC", "TEST_PGD_ACC")
    data = analysis.figure_data(box_bench, "2", metrics="TEST_AA_ACC")
    assert list(data.tables[""].columns) == ["arch_id", "PARAMS", "MACS", "TEST_AA_ACC"]
    assert data.notes[0] == f"Data: {box_bench.provenance}." and data.file_names() == {"": "fig2.csv"}
