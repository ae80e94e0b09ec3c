"""The multi-objective commands: pareto, search --objectives, mo-table; bad input as one line each."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from plain_csv import read_plain

from nares_nas.cli import main
from nares_nas.runs.folder import load_run_file
from nares_nas.space import archs_by_id


def brute_front(acc: np.ndarray, macs: np.ndarray) -> list[int]:
    """arch_ids nothing dominates (VAL max, MACS min), comparing every pair (in blocks of rows)."""
    out = []
    for start in range(0, len(acc), 2000):
        a, m = acc[start:start + 2000, None], macs[start:start + 2000, None]
        better = (acc >= a) & (macs <= m) & ((acc > a) | (macs < m))  # [i, j]: j dominates i
        out += (start + 1 + np.flatnonzero(~better.any(axis=1))).tolist()
    return out


def test_pareto_json_is_the_brute_force_front_best_first(bench, capsys):
    assert main(["pareto", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--json", "--data", "synthetic"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["synthetic"] is True and "SYNTHETIC" in out["label"]
    assert out["reference_point"] == [1.1, 1.1]
    acc, macs = bench.metric_by_id("VAL_PGD_ACC")[1:], bench.metric_by_id("MACS")[1:]
    ids = [row["arch_id"] for row in out["front"]]
    assert sorted(ids) == brute_front(acc, macs)
    values = [row["objectives"]["VAL_PGD_ACC"] for row in out["front"]]
    assert values == sorted(values, reverse=True)
    first = out["front"][0]
    assert first["arch"] == archs_by_id()[first["arch_id"] - 1].tolist()
    assert first["objectives"]["MACS"] == macs[first["arch_id"] - 1]
    assert out["normalisation"]["MACS:min"] == {"min": macs.min(), "max": macs.max()}


def test_pareto_text_with_a_constraint_and_a_test_metric(bench, capsys):
    assert main(["pareto", "--objectives", "TEST_PGD_ACC:max,PARAMS:min", "--constraint", "MACS<=1e10",
                 "--data", "synthetic"]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[0].startswith("data: SYNTHETIC") and "reference point 1.1" in out[2]
    assert [line for line in out + captured.err.splitlines() if "SYNTHETIC" in line] == [out[0]]  # once
    header = out[3].split("\t")
    assert header == ["arch_id", "D1", "W1", "D2", "W2", "D3", "W3", "TEST_PGD_ACC", "PARAMS"]
    rows = [line.split("\t") for line in out[4:]]
    macs = bench.metric_by_id("MACS")
    assert rows and all(macs[int(r[0])] <= 1e10 for r in rows)


@pytest.mark.parametrize("argv, words", [
    (["pareto", "--objectives", "VAL_PGD:max,MACS:min"], "unknown metric 'VAL_PGD'"),
    (["pareto", "--objectives", "VAL_PGD_ACC:max"], "needs two or three objectives, got one"),
    (["pareto", "--objectives", "MACS:min,MACS:max"], "MACS is given twice"),
    (["pareto", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--constraint", "MACS<=1"],
     "no architecture of the table meets the constraint MACS<=1"),
    (["pareto", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--constraint", "MACS=1"], "expected METRIC OP NUMBER"),
    (["search", "--algo", "mo_random_search", "--objectives", "TEST_PGD_ACC:max,MACS:min", "--runs", "1"],
     "TEST_PGD_ACC is measured on the test set and may not be a search objective"),
    (["search", "--algo", "random_search", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--runs", "1"],
     "random_search is a single-objective searcher"),
    (["search", "--algo", "mo_random_search", "--constraint", "MACS<=1e10", "--runs", "1"],
     "--constraint needs --objectives"),
    (["mo-table", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--constraint", "PARAMS>1e12", "--out", "unused"],
     "no architecture of the table meets the constraint PARAMS>1e+12"),
])
def test_bad_input_is_one_clear_line(argv, words, capsys):
    assert main([*argv, "--data", "synthetic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if not line.startswith("notice:")]) == 1
    assert words in err[-1] and err[-1].startswith(f"nares-nas {argv[0]}: error:")


def test_search_with_objectives_writes_vectors_and_scores(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", "--algo", "mo_regularized_evolution", "--objectives", "VAL_PGD_ACC:max,MACS:min",
                 "--constraint", "MACS<=2e10", "--runs", "2", "--budget", "40", "--out", str(out),
                 "--data", "synthetic", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "SYNTHETIC" in text and "hypervolume regret:" in text and "reference point 1.1" in text
    run = load_run_file(out / "runs" / "seed_00000.json")
    assert np.asarray(run["values"]).shape == (40, 2) and run["objectives"] == ["VAL_PGD_ACC:max", "MACS:min"]
    assert len(run["hv_regret"]) == len(run["igd_plus"]) == len(run["front_size"]) == 40
    read_plain(out / "summary.csv", ["searcher", "seed", "queries", "infeasible", "rejected_free", "front_size",
                                     "hypervolume", "hv_regret", "igd_plus", "gpu_days", "sim_days", "evaluations"],
               synthetic=True)
    with open(out / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["seed"]) for r in rows] == [0, 1]
    assert float(rows[0]["hv_regret"]) == pytest.approx(run["hv_regret"][-1])
    assert int(rows[0]["front_size"]) == len(run["front"]) == run["front_size"][-1]
    config = json.loads((out / "config.json").read_text())
    assert config["objectives"] == ["VAL_PGD_ACC:max", "MACS:min"] and config["constraints"] == ["MACS<=2e+10"]
    assert config["scoring"]["reference_point"] == [1.1, 1.1]


def test_mo_table_writes_every_output(tmp_path, capsys):
    out = tmp_path / "table"
    assert main(["mo-table", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--searchers",
                 "mo_random_search,mo_regularized_evolution", "--runs", "3", "--budget", "30", "--out", str(out),
                 "--data", "synthetic"]) == 0
    printed, err = capsys.readouterr()
    assert "HV regret @ 30" in printed and "SYNTHETIC" in printed  # the table's own label
    # the one synthetic notice, and a last progress line per searcher (stderr is not a terminal here)
    assert [line for line in err.splitlines() if "SYNTHETIC" in line] == [err.splitlines()[0]]
    assert "NOTE:" not in printed
    assert "mo_random_search: 3/3 runs in " in err and "mo_regularized_evolution: 3/3 runs in " in err
    for name in ("mo_table.md", "mo_table.csv", "mo_table.tex", "mo_table.json", "anytime_hv_regret.png",
                 "attainment.png", "attainment.csv"):
        assert (out / name).stat().st_size > 0, name
    read_plain(out / "mo_table.csv", ["key", "row", *(f"{s}_{part}" for s in ("mo_random_search",
               "mo_regularized_evolution") for part in ("mean", "std", "n"))], synthetic=True)
    surfaces = read_plain(out / "attainment.csv", ["searcher", "level", "VAL_PGD_ACC", "MACS"], synthetic=True)
    assert set(surfaces["level"]) == {0, 50, 100}
    md = (out / "mo_table.md").read_text()
    assert "SYNTHETIC" in md and "reference point 1.1" in md and "MO-RE" in md
    assert "Test HV regret (TEST_PGD_ACC:max × MACS:min)" in md and "Best TEST_AA_ACC" in md
    payload = json.loads((out / "mo_table.json").read_text())
    assert payload["problem"]["reference_point"] == [1.1, 1.1] and payload["data"]["synthetic"] is True
    regret = next(r for r in payload["rows"] if r["key"] == "hv_regret@30")
    runs = [load_run_file(out / "mo_random_search" / "runs" / f"seed_{s:05d}.json") for s in range(3)]
    assert regret["cells"]["mo_random_search"]["mean"] == pytest.approx(np.mean([r["hv_regret"][-1] for r in runs]))
    assert "p (vs MO-RS)" in md
