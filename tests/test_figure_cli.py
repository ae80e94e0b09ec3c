"""``nares-nas figure N`` and experiments/figures.py: files, options and errors on small tables."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_record, write_lines
from PIL import Image

import nares_nas
from nares_nas import cli
from nares_nas.analysis import figures as analysis

TEST_KEYS = ("test_clean_acc", "Linf_fgsm_acc", "Linf_pgd_acc", "Linf_pgd_stable", "Linf_pgd_lip", "Linf_cw_acc",
             "Linf_aa_acc")
ROOT = Path(__file__).resolve().parents[1]


def read(path: Path) -> pd.DataFrame:
    """A figure's CSV as a user reads it: no options (the text column ``label`` kept as text)."""
    return pd.read_csv(path, dtype={"label": str})


@pytest.fixture
def jsonl(tmp_path, fresh_home) -> Path:
    """40 architectures spread over the space, each test metric drawn per architecture."""
    rng = np.random.default_rng(7)
    records = []
    for arch_id in np.linspace(1, 15625, 40).astype(int):
        record = make_record(int(arch_id), epochs=3, corruptions=False)
        record["test_best"][0].update({k: round(float(rng.uniform(40, 60)), 2) for k in TEST_KEYS})
        records.append(record)
    return write_lines(tmp_path / "cifar10.jsonl", records)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["figure", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_csvs_hold(data: analysis.FigureData, out: Path, jsonl: Path) -> None:
    """Every CSV of the figure holds its table, and the data on every row (and in its sidecar)."""
    for part, name in data.file_names().items():
        frame = read(out / name)
        assert frame.pop("data").tolist() == [f"NARes ({jsonl})"] * len(frame)
        pd.testing.assert_frame_equal(frame, data.tables[part].reset_index(drop=True),
                                      check_dtype=False, check_exact=True)
        assert json.loads((out / f"{name}.json").read_text())["data"] == [f"NARes ({jsonl})"]


def test_every_figure_writes_what_the_library_computes(jsonl, tmp_path, capsys):
    out = tmp_path / "figs"
    code, printed, _ = run(capsys, "all", "--out", out, "--data", jsonl)
    assert code == 0 and "SYNTHETIC" not in printed
    bench = nares_nas.load(jsonl)
    expected = {"summary.md"}
    for figure in analysis.FIGURES:
        data = analysis.figure_data(bench, figure)
        assert_csvs_hold(data, out, jsonl)
        expected |= {n + suffix for n in data.file_names().values() for suffix in ("", ".json")}
        if figure != "summary":
            png = out / f"fig{figure}.png"
            expected.add(png.name)
            assert png.read_bytes()[:4] == b"\x89PNG"
            assert Image.open(png).info["Description"].startswith(f"Data: NARes ({jsonl})")
        assert read(out / data.file_names()[""]).shape[0] > 0
    assert {p.name for p in out.iterdir()} == expected
    assert json.loads((out / "fig7_pca.csv.json").read_text())["notes"][0] == f"Data: NARes ({jsonl})."
    assert "first front rank 1" in (out / "fig7.csv.json").read_text()
    assert "published (paper)" in printed and "quadratic fit against the RobustResNet ratio" in printed


def test_metric_replaces_the_default_set(jsonl, tmp_path, capsys):
    out = tmp_path / "figs"
    assert run(capsys, 2, "--metric", "TEST_AA_ACC", "--out", out, "--data", jsonl)[0] == 0
    assert list(read(out / "fig2.csv").columns) == ["arch_id", "PARAMS", "MACS", "TEST_AA_ACC", "data"]
    assert run(capsys, 3, "--metric", "test_aa_acc,TEST_PGD_LIP", "--by", "W3", "--out", out, "--data", jsonl)[0] == 0
    groups = read(out / "fig3.csv")
    assert groups["metric"].unique().tolist() == ["TEST_AA_ACC", "TEST_PGD_LIP"]
    assert groups["variable"].unique().tolist() == ["W3"] and groups["group"].tolist() == [8, 8, 10, 10, 12, 12,
                                                                                            14, 14, 16, 16]
    code, printed, _ = run(capsys, 7, "--metric", "TEST_AA_ACC", "--max-rank", 2, "--out", out, "--data", jsonl)
    assert code == 0
    selection = read(out / "fig7.csv")
    assert "TEST_AA_ACC" in selection.columns and selection["best"].equals(selection["rank"] <= 2)
    # the published components beside ours are the paper's TEST_PGD ones: said on screen and in the CSVs
    said = "Compared with the paper's TEST_PGD_ACC components"
    assert said in printed and said in (out / "fig7_pca.csv.json").read_text()
    assert run(capsys, 7, "--max-rank", 2, "--out", out, "--data", jsonl)[1].count(said) == 0  # its own metric


def test_binned_quantities_and_against(jsonl, tmp_path, capsys):
    out = tmp_path / "figs"
    argv = (4, "--by", "MACS,D1", "--bins", 4, "--against", "TEST_CW_ACC", "--out", out, "--data", jsonl)
    assert run(capsys, *argv)[0] == 0
    bench = nares_nas.load(jsonl)
    data = analysis.figure_data(bench, 4, by="MACS,D1", bins=4, against="TEST_CW_ACC")
    assert_csvs_hold(data, out, jsonl)
    assert list(read(out / "fig4.csv").columns) == ["arch_id", "TEST_CW_ACC", "TEST_PGD_STABLE", "data"]
    groups = read(out / "fig4_groups.csv")
    macs = groups[groups["variable"] == "MACS"]
    assert macs["group"].tolist() == [1, 2, 3, 4] and macs["n"].tolist() == [10, 10, 10, 10]
    values = np.sort(bench.metric_by_row("MACS"))
    assert macs["group_low"].iloc[0] == values[0] and macs["group_high"].iloc[-1] == values[-1]
    assert macs["group_high"].iloc[1] == pytest.approx(np.percentile(values, 50))
    assert groups[groups["variable"] == "D1"]["group_low"].isna().all()


@pytest.mark.parametrize("argv, message", [
    ((8,), "unknown figure '8'; valid: 2, 3, 4, 5, 6, 7, summary"),
    ((3, "--metric", "TEST_PGD_ACC,NOPE"), "unknown metric 'NOPE'; valid metrics: MACS"),
    ((3, "--by", "D7"), "unknown quantity 'D7'"),
    ((7, "--metric", "TEST_PGD_ACC,TEST_AA_ACC"), "figure 7 ranks one accuracy against MACS; give one metric"),
    ((2, "--by", "D1"), "figure 2 does not take --by (it applies to figures 3, 4, 5)"),
    (("all", "--metric", "TEST_AA_ACC"), "--metric applies to one figure; give N instead of 'all'"),
    ((9,), "unknown figure '9'; valid: 2, 3, 4, 5, 6, 7, summary, all"),
    ((3, "--by", "MACS", "--bins", 0), "bins must be a positive integer, got 0"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, message):
    code, printed, err = run(capsys, *argv, "--out", tmp_path / "never")
    assert code == 2 and printed == "" and not (tmp_path / "never").exists()
    assert err.startswith(f"nares-nas figure: error: {message}") and err.count("\n") == 1


def test_the_stand_in_is_labelled(jsonl, tmp_path, capsys, monkeypatch):
    bench = nares_nas.load(jsonl)
    bench.table.meta["synthetic"] = True  # the small table dressed as the stand-in
    monkeypatch.setattr("nares_nas.commands.figure.load_data", lambda args, **kwargs: bench)
    out = tmp_path / "figs"
    for figure in (2, 7, "summary"):  # the labels come from one writer (write_frame_csv, _finish) for every figure
        code, printed, err = run(capsys, figure, "--out", out)
        first = printed.splitlines()[0]
        assert code == 0 and first.startswith("data: SYNTHETIC stand-in")  # the command's one notice
        assert [line for line in (printed + err).splitlines() if "SYNTHETIC" in line] == [first]
    for path in out.glob("*.csv"):
        column = pd.read_csv(path)["data"]
        assert len(column) and column.str.startswith("SYNTHETIC stand-in").all(), path.name
        assert json.loads((out / f"{path.name}.json").read_text())["synthetic"] is True, path.name
    for path in out.glob("*.png"):
        assert Image.open(path).info["Description"].startswith("Data: SYNTHETIC stand-in"), path.name
    assert "**Data: SYNTHETIC stand-in" in (out / "summary.md").read_text()


def test_experiments_script_writes_all(jsonl, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("figures_experiment", ROOT / "experiments" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "exp"
    assert module.parse_args(["--all", "--out", str(out)]).all
    module.main(["--figure", "6", "--figure", "summary", "--out", str(out), "--data", str(jsonl)])
    assert {p.name for p in out.iterdir()} == {"fig6.png", "fig6.csv", "fig6_fit.csv", "summary.csv", "summary.md",
                                               "fig6.csv.json", "fig6_fit.csv.json", "summary.csv.json"}
    assert "written to" in capsys.readouterr().out
