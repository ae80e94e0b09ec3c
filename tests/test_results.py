"""Finished folders as data (reports.results) and ``nares-nas report``, checked against the run files themselves."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from plain_csv import read_plain

from nares_nas.cli import main
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.errors import DataFormatError
from nares_nas.reports.results import read_results
from nares_nas.runs.folder import load_run_file


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def folders(home, tmp_path_factory):
    """A random-search folder, an ASHA folder on 3 workers, a multi-objective folder, and a table2 folder."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NARES_NAS_HOME", str(home))
        common = ["--data", "synthetic", "--quiet"]
        assert main(["search", "--algo", "random_search", "--runs", "3", "--budget", "12",
                     "--out", str(root / "rs"), *common]) == 0
        assert main(["search", "--algo", "asha", "--runs", "2", "--max-cost", "2", "--workers", "3",
                     "--out", str(root / "asha"), *common]) == 0
        assert main(["search", "--algo", "mo_random_search", "--objectives", "VAL_PGD_ACC:max,MACS:min",
                     "--runs", "2", "--budget", "10", "--out", str(root / "mo"), *common]) == 0
        assert main(["table2", "--data", "synthetic", "--out", str(root / "t2"), "--runs", "2", "--budget", "10",
                     "--searchers", "random_search,local_search"]) == 0
    return root


SUMMARY_HEADER = ["folder", "name", "searcher", "objective", "direction", "runs", "n", "mean", "std", "best"]
COST_HEADER = ["folder", "runs", "workers", "gpu_days_mean", "gpu_days_std", "sim_days_mean", "sim_days_std",
               "evaluations_mean", "full_trainings_mean", "evaluations_by_epochs", "name"]


def run_files(folder):
    return [load_run_file(p) for p in sorted((folder / "runs").glob("seed_*.json"))]


def summary_rows(folder):
    with open(folder / "summary.csv") as handle:
        return list(csv.DictReader(handle))


def test_runs_frame_matches_the_run_files(folders):
    res = read_results([folders / "rs", folders / "asha"])
    runs = res.runs.set_index(["folder", "seed"])
    for name in ("rs", "asha"):
        for obj in run_files(folders / name):
            row = runs.loc[(str(folders / name), obj["seed"])]
            values = np.asarray(obj["values"])
            assert row["best_value"] == values.max()  # VAL_PGD_ACC is maximised
            assert row["queries"] == len(values) and row["searcher"] == obj["searcher"]
            assert row["gpu_days"] == pytest.approx(sum(obj["clock"]["evaluations"]["cost"]))
            assert row["sim_days"] == pytest.approx(max(obj["clock"]["evaluations"]["end"]))
            assert row["evaluations"] == len(obj["clock"]["evaluations"]["arch_id"])
            assert json.loads(row["params"]) == obj["params"]
            assert bool(row["synthetic"]) and row["direction"] == "max" and not row["multi_objective"]
    assert len(res.runs) == 5


def test_evaluations_frame_is_every_logged_evaluation(folders):
    res = read_results(folders / "asha")
    obj = run_files(folders / "asha")[1]
    ev = res.evaluations[res.evaluations["seed"] == obj["seed"]]
    logged = obj["clock"]["evaluations"]
    for key in ("arch_id", "epoch_from", "epoch_to", "worker", "start", "end", "cost", "value"):
        np.testing.assert_array_equal(ev[key].to_numpy(), np.asarray(logged[key]), err_msg=key)
    assert set(ev["worker"]) == {0, 1, 2} and ev["epoch_to"].max() == 100
    assert (ev["folder"] == str(folders / "asha")).all() and (ev["searcher"] == "asha").all()


def test_multi_objective_folder_splits_the_objective_vector(folders):
    res = read_results(folders / "mo")
    obj = run_files(folders / "mo")[0]
    ev = res.evaluations[res.evaluations["seed"] == 0]
    vectors = np.asarray(obj["clock"]["evaluations"]["value"])
    np.testing.assert_array_equal(ev["VAL_PGD_ACC"].to_numpy(), vectors[:, 0])
    np.testing.assert_array_equal(ev["MACS"].to_numpy(), vectors[:, 1])
    assert "value" not in ev.columns
    row = res.runs.set_index("seed").loc[0]
    assert row["hv_regret"] == obj["hv_regret"][-1] and row["front_size"] == len(obj["front"])
    assert bool(row["multi_objective"]) and pd.isna(row["best_value"])


def test_a_table_folder_reads_as_its_searchers_folders(folders):
    res = read_results(folders / "t2")
    assert sorted(set(res.runs["searcher"])) == ["local_search", "random_search"]
    assert sorted(set(res.runs["folder"])) == [str(folders / "t2" / s) for s in ("local_search", "random_search")]


def test_a_folder_before_the_clock_has_runs_but_no_evaluations(tmp_path):
    """A run file as versions before the simulated clock wrote it: no clock account."""
    folder = tmp_path / "old"
    (folder / "runs").mkdir(parents=True)
    config = {"searcher": "random_search", "params": {}, "budget": 3, "objective": "VAL_PGD_ACC",
              "direction": "max", "data": "synthetic (seed 0)", "synthetic": True, "version": "0.1.0"}
    (folder / "config.json").write_text(json.dumps(config))
    run = {"searcher": "random_search", "seed": 4, "params": {}, "budget": 3, "objective": "VAL_PGD_ACC",
           "maximize": True, "queries": 3, "arch_ids": [5, 9, 2], "values": [30.0, 33.5, 31.0]}
    (folder / "runs" / "seed_00004.json").write_text(json.dumps(run))
    res = read_results(folder)
    assert res.evaluations.empty and list(res.runs["best_value"]) == [33.5]
    assert list(res.runs["best_arch_id"]) == [9] and np.isnan(res.runs["gpu_days"][0])


def test_live_columns_are_kept(tmp_path):
    """A live folder's run file (hand-written): its evaluations carry source, pid and order."""
    folder = tmp_path / "live"
    (folder / "runs").mkdir(parents=True)
    config = {"searcher": "random_search", "params": {}, "budget": 2, "objective": "VAL_ACC", "direction": "max",
              "data": None, "synthetic": None, "live": {"profile": "tiny"}, "workers": 2}
    (folder / "config.json").write_text(json.dumps(config))
    evaluations = {"arch_id": [7, 8, 9], "epoch_from": [0, 0, 0], "epoch_to": [2, 2, 2], "worker": [0, 1, -1],
                   "start": [0.0, 0.0, 0.01], "end": [0.01, 0.02, 0.01], "cost": [0.01, 0.02, 0.0],
                   "value": [40.0, 42.0, 41.0], "source": ["trained", "trained", "cache"], "pid": [11, 12, None],
                   "order": [0, 1, 2]}
    run = {"searcher": "random_search", "seed": 0, "params": {}, "budget": 2, "objective": "VAL_ACC",
           "maximize": True, "queries": 3, "arch_ids": [7, 8, 9], "values": [40.0, 42.0, 41.0],
           "clock": {"workers": 2, "gpu_days": 0.03, "sim_days": 0.02, "time": "wall-clock", "max_epochs": 2,
                     "stopped_by_budget": True, "evaluations": evaluations, "steps": []}}
    (folder / "runs" / "seed_00000.json").write_text(json.dumps(run))
    res = read_results(folder)
    assert res.evaluations["source"].tolist() == ["trained", "trained", "cache"]
    assert res.evaluations["order"].tolist() == [0, 1, 2] and res.evaluations["pid"].tolist()[:2] == [11, 12]
    assert bool(res.runs["live"][0]) and not bool(res.runs["synthetic"][0]) and not res.synthetic
    # the schema's order: the run key, the core columns, then the live ones (this file predates "step")
    assert list(res.evaluations.columns) == ["folder", "searcher", "seed", "arch_id", "epoch_from", "epoch_to",
                                             "worker", "start", "end", "cost", "value", "source", "pid", "order"]


def test_not_a_folder_of_runs_is_one_error(tmp_path):
    with pytest.raises(DataFormatError, match="config.json"):
        read_results(tmp_path)


def test_report_command_summary_equals_the_folders_summary_csv(folders, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(folders / "rs"), str(folders / "asha"), str(folders / "mo"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert SYNTHETIC_LABEL in printed
    table = read_plain(out / "summary.csv", SUMMARY_HEADER, synthetic=True).set_index("name")
    for name, column in (("rs", "objective"), ("asha", "objective"), ("mo", "hv_regret")):
        values = np.array([float(r[column]) for r in summary_rows(folders / name)])
        assert table.loc[name, "mean"] == pytest.approx(values.mean())
        assert table.loc[name, "std"] == pytest.approx(values.std(ddof=1))
        assert table.loc[name, "runs"] == len(values)
    # the better of the two VAL_PGD_ACC folders (max) is marked; the MO folder is alone in its objective
    better = "rs" if table.loc["rs", "mean"] > table.loc["asha", "mean"] else "asha"
    assert table["best"].fillna("").to_dict() == {"rs": "*" if better == "rs" else "", "mo": "*",
                                                  "asha": "*" if better == "asha" else ""}
    costs = read_plain(out / "costs.csv", COST_HEADER, synthetic=True).set_index("name")
    assert costs["data"].tolist() == [f"{SYNTHETIC_LABEL} (source: synthetic (seed 0))"] * 3
    gpu = [float(r["gpu_days"]) for r in summary_rows(folders / "asha")]
    assert costs.loc["asha", "gpu_days_mean"] == pytest.approx(np.mean(gpu))
    for name in ("report.md", "summary.csv", "summary.tex", "report.json", "costs.csv"):
        assert SYNTHETIC_LABEL in (out / name).read_text(encoding="utf-8"), name
    for name in ("anytime_queries.png", "anytime_sim_days.png", "anytime_gpu_days.png", "anytime_hv_regret.png"):
        image = Image.open(out / name)
        assert SYNTHETIC_LABEL in image.text["Description"], name
        assert "x-axis: log" not in image.text["Description"]
    assert json.loads((out / "report.json").read_text())["x_axis"] == "linear"


def test_report_minimised_objective_marks_the_smallest_mean(home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NARES_NAS_HOME", str(home))
    for name, budget in (("few", "3"), ("many", "30")):
        assert main(["search", "--algo", "random_search", "--objective", "VAL_PGD_LOSS", "--runs", "3", "--budget",
                     budget, "--out", str(tmp_path / name), "--data", "synthetic", "--quiet"]) == 0
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "few"), str(tmp_path / "many"), "--out", str(out)]) == 0
    table = read_plain(out / "summary.csv", SUMMARY_HEADER, synthetic=True).set_index("name")
    assert set(table["direction"]) == {"min"}
    lowest = table["mean"].idxmin()
    assert table.loc[lowest, "best"] == "*" and table["best"].isna().sum() == 1


def test_log_x_changes_the_axis_scale(folders, tmp_path):
    linear, log = tmp_path / "linear", tmp_path / "log"
    assert main(["report", str(folders / "t2"), "--out", str(linear)]) == 0
    assert main(["report", str(folders / "t2"), "--out", str(log), "--log-x"]) == 0
    for name in ("anytime_queries.png", "anytime_sim_days.png", "anytime_gpu_days.png"):
        assert "x-axis: log" in Image.open(log / name).text["Description"]
        assert "x-axis: log" not in Image.open(linear / name).text["Description"]
        a = np.asarray(Image.open(linear / name).convert("L"), dtype=float)
        b = np.asarray(Image.open(log / name).convert("L"), dtype=float)
        assert a.shape == b.shape and np.abs(a - b).mean() > 1.0, name
    assert json.loads((log / "report.json").read_text())["x_axis"] == "log"
