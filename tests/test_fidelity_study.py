"""``nares-nas fidelity`` (nares_nas/analysis/fidelity.py) on the hand-worked table of fidelity_records."""

from __future__ import annotations

import math

import pytest
from fidelity_records import EPOCHS, write
from plain_csv import read_plain

import nares_nas
from nares_nas import cli
from nares_nas.analysis.fidelity import fidelity_correlations
from nares_nas.errors import MetricError

COLUMNS = ["epoch", "kendall_final", "spearman_final", "kendall_test_pgd", "spearman_test_pgd",
           "kendall_test_aa", "spearman_test_aa"]


@pytest.fixture
def jsonl(tmp_path, fresh_home):
    return write(tmp_path / "cifar10.jsonl")


def test_correlations_by_hand(jsonl):
    frame = fidelity_correlations(nares_nas.load(jsonl), "VAL_PGD_ACC")
    assert list(frame.columns) == COLUMNS and frame["epoch"].tolist() == list(range(1, EPOCHS + 1))
    first = frame.iloc[0]
    # after 1 epoch VAL_PGD is 5, 20, 1, 30 (archs 1-4); finally 18, 23, 1, 10; test PGD 50, 52, 40, 45
    # (the final order) and AA 48, 47, 46, 49: 4 of 6 pairs concordant with the final value and test PGD
    # (tau 1/3, sum d^2 = 6), 5 of 6 with AA (tau 2/3, sum d^2 = 2)
    assert first["kendall_final"] == pytest.approx(1 / 3) and first["spearman_final"] == pytest.approx(0.4)
    assert first["kendall_test_pgd"] == pytest.approx(1 / 3) and first["spearman_test_pgd"] == pytest.approx(0.4)
    assert first["kendall_test_aa"] == pytest.approx(2 / 3) and first["spearman_test_aa"] == pytest.approx(0.8)
    # from 3 epochs on the order is the final one
    assert (frame.loc[frame["epoch"] >= 3, ["kendall_final", "spearman_final"]] == 1.0).all().all()
    assert frame.attrs["metric"] == "VAL_PGD_ACC" and frame.attrs["n_archs"] == 4


def test_study_refuses_metrics_without_history(jsonl):
    bench = nares_nas.load(jsonl)
    with pytest.raises(MetricError, match="^TEST_AA_ACC has no per-epoch history"):
        fidelity_correlations(bench, "TEST_AA_ACC")
    with pytest.raises(MetricError, match="same at every fidelity"):
        fidelity_correlations(bench, "MACS")


def test_cli_writes_csv_and_plot(jsonl, tmp_path, capsys):
    out = tmp_path / "study"
    assert cli.main(["fidelity", "--metric", "VAL_PGD_ACC", "--out", str(out), "--data", str(jsonl)]) == 0
    printed, err = capsys.readouterr()
    assert "written:" in printed and "SYNTHETIC" not in printed
    # progress on stderr, which is not a terminal here: the job's last line
    assert f"fidelity VAL_PGD_ACC: {EPOCHS}/{EPOCHS} epochs in " in err
    frame = read_plain(out / "fidelity_VAL_PGD_ACC.csv", COLUMNS, synthetic=False)
    assert len(frame) == EPOCHS and set(frame["data"]) == {f"NARes ({jsonl})"}
    assert math.isclose(frame["kendall_test_aa"][0], 2 / 3)
    assert (out / "fidelity_VAL_PGD_ACC.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_labels_the_stand_in(tmp_path, capsys, monkeypatch):
    from nares_nas.analysis import fidelity as fidelity_study

    bench = nares_nas.load(write(tmp_path / "cifar10.jsonl"))
    bench.table.meta["synthetic"] = True  # the tiny table dressed as the stand-in
    monkeypatch.setattr("nares_nas.commands.fidelity.load_data", lambda args, **kwargs: bench)
    out = tmp_path / "study"
    assert cli.main(["fidelity", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    first = captured.out.splitlines()[0]
    assert first.startswith("data: SYNTHETIC stand-in")  # the one synthetic notice of the command
    assert [line for line in (captured.out + captured.err).splitlines() if "SYNTHETIC" in line] == [first]
    read_plain(out / "fidelity_VAL_PGD_ACC.csv", COLUMNS, synthetic=True)
    assert fidelity_study.notes(fidelity_correlations(bench))[0].startswith("Data: SYNTHETIC")


def test_plot_legend_covers_no_curve(jsonl):
    """The legend sits outside the axes (below them), so no curve can run under it."""
    from nares_nas.analysis.fidelity import figure

    fig = figure(fidelity_correlations(nares_nas.load(jsonl), "VAL_PGD_ACC"))
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    legend = ax.get_legend().get_window_extent(renderer)
    assert len(ax.get_legend().get_texts()) == 6
    assert not legend.overlaps(ax.get_window_extent(renderer))
    assert legend.y1 <= ax.xaxis.get_tightbbox(renderer).y0 + 1  # below the x axis and its label, not over them
    assert legend.y0 >= 0  # and on the figure


def test_cli_bad_metric_is_one_line(tmp_path, capsys):
    assert cli.main(["fidelity", "--metric", "TEST_PGD_ACC", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nares-nas fidelity: error: TEST_PGD_ACC has no per-epoch history") and "\n" not in err
