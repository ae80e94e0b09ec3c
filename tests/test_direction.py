"""The direction of an objective: a metric better when smaller is minimised unless told otherwise,
on the command line (``search``, ``table2``) and in the Python API alike."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest

from nares_nas import cli
from nares_nas.errors import ConfigError
from nares_nas.metrics import METRIC_NAMES, higher_is_better, objective_direction
from nares_nas.oracle import TabularOracle
from nares_nas.runs.folder import read_runs
from nares_nas.runs.search import run_search, run_to_dir
from nares_nas.searchers import RandomSearch

NOTICE = "objective TRAINING_TIME is better when smaller: minimised (--maximize to maximise it)"


def search(out, *args: str) -> int:
    return cli.main(["search", "--data", "synthetic", "--quiet", "--algo", "random_search", "--runs", "4",
                     "--budget", "40", "--out", str(out), *args])


def printed_best(text: str, name: str) -> float:
    return float(re.search(rf"best {name}: (\S+) ±", text).group(1))


def test_smaller_is_better_for_losses_lipschitz_and_costs():
    smaller = {n for n in METRIC_NAMES if n.endswith(("_LOSS", "_LIP")) or n in ("TRAINING_TIME", "MACS", "PARAMS")}
    assert {"VAL_LOSS", "TRAIN_LOSS", "VAL_PGD_LIP", "TEST_CW_LIP"} <= smaller
    assert {n for n in METRIC_NAMES if not higher_is_better(n)} == smaller
    assert objective_direction("VAL_LOSS") is False and objective_direction("VAL_PGD_ACC") is True
    assert objective_direction("VAL_LOSS", True) is True and objective_direction("VAL_PGD_ACC", False) is False
    with pytest.raises(ConfigError, match=r"^maximize \(None: VAL_LOSS's own direction\) must be a boolean .*, "
                                          r"got 'yes'$"):
        objective_direction("VAL_LOSS", "yes")


def test_search_minimises_training_time_by_default_with_a_notice(tmp_path, capsys, bench):
    """Random search queries the same architectures whatever the objective, so the expected best of
    each run is the table's smallest TRAINING_TIME among the architectures a VAL_PGD_ACC run queried."""
    assert search(tmp_path / "acc") == 0
    assert NOTICE not in capsys.readouterr().out
    queried = [r.trajectory.arch_ids for r in read_runs(tmp_path / "acc")]
    times = bench.metric_by_id("TRAINING_TIME")  # indexed by arch_id
    fastest = np.mean([times[ids].min() for ids in queried])
    slowest = np.mean([times[ids].max() for ids in queried])
    assert fastest < slowest

    assert search(tmp_path / "min", "--objective", "TRAINING_TIME") == 0
    text = capsys.readouterr().out
    assert NOTICE in text.splitlines() and "objective TRAINING_TIME (min)" in text
    assert printed_best(text, "TRAINING_TIME") == pytest.approx(fastest, abs=5e-5)
    config = json.loads((tmp_path / "min" / "config.json").read_text())
    assert config["direction"] == "min"

    assert search(tmp_path / "explicit", "--objective", "TRAINING_TIME", "--minimize") == 0
    text = capsys.readouterr().out
    assert NOTICE not in text and printed_best(text, "TRAINING_TIME") == pytest.approx(fastest, abs=5e-5)

    assert search(tmp_path / "max", "--objective", "TRAINING_TIME", "--maximize") == 0
    text = capsys.readouterr().out
    assert NOTICE not in text and "objective TRAINING_TIME (max)" in text
    assert printed_best(text, "TRAINING_TIME") == pytest.approx(slowest, abs=5e-5)


def test_an_accuracy_can_still_be_minimised(tmp_path, capsys, bench):
    assert search(tmp_path / "a", "--minimize") == 0
    text = capsys.readouterr().out
    values = bench.metric_by_id("VAL_PGD_ACC")
    expected = np.mean([values[r.trajectory.arch_ids].min() for r in read_runs(tmp_path / "a")])
    assert "objective VAL_PGD_ACC (min)" in text and "better when smaller" not in text
    assert printed_best(text, "VAL_PGD_ACC") == pytest.approx(expected, abs=5e-5)


def test_both_flags_and_a_multi_objective_direction_flag_are_refused(tmp_path, capsys):
    assert search(tmp_path / "x", "--maximize", "--minimize") == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert cli.main(["search", "--data", "synthetic", "--algo", "mo_random_search", "--objectives",
                     "VAL_PGD_ACC:max,MACS:min", "--maximize"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "nares-nas search: error: --maximize and --minimize are for one objective; give each direction in "
        "--objectives (NAME:max or NAME:min)")
    assert cli.main(["search", "--data", "synthetic", "--algo", "mo_random_search", "--objectives",
                     "VAL_PGD_ACC:max,MACS"]) == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith("; MACS is better when smaller: MACS:min")


def test_table2_minimises_training_time_by_default(tmp_path, capsys, bench):
    assert cli.main(["table2", "--data", "synthetic", "--out", str(tmp_path), "--runs", "2", "--budget", "30",
                     "--searchers", "random_search", "--objective", "TRAINING_TIME"]) == 0
    assert NOTICE in capsys.readouterr().out.splitlines()
    report = json.loads((tmp_path / "table2.json").read_text())
    assert report["objective"] == "TRAINING_TIME" and report["direction"] == "min"
    assert json.loads((tmp_path / "random_search" / "config.json").read_text())["direction"] == "min"
    times = bench.metric_by_id("TRAINING_TIME")
    for run in read_runs(tmp_path / "random_search"):
        assert times[run.best_arch_id] == times[run.trajectory.arch_ids].min()


# ------------------------------------------------------------------ the Python API
def test_the_api_takes_the_metrics_direction_unless_told(tmp_path, bench, caplog):
    times = bench.metric_by_id("TRAINING_TIME")
    with caplog.at_level(logging.INFO, logger="nares_nas.runs.parallel"):
        default = run_search(RandomSearch(), times, objective="TRAINING_TIME", seeds=[0, 1], budget=30)
    assert any("TRAINING_TIME is better when smaller: minimised" in r.getMessage() for r in caplog.records)
    told = run_search(RandomSearch(), times, objective="TRAINING_TIME", seeds=[0, 1], budget=30, maximize=True)
    for low, high in zip(default, told):
        assert not low.maximize and high.maximize
        assert low.best_value == times[low.arch_ids].min() and high.best_value == times[high.arch_ids].max()
    assert TabularOracle.from_benchmark(bench, "MACS").maximize is False
    assert TabularOracle.from_benchmark(bench, "VAL_PGD_ACC").maximize is True
    [result] = run_to_dir(tmp_path, RandomSearch(), bench, seeds=[3], budget=20, objective="VAL_LOSS")
    assert json.loads((tmp_path / "config.json").read_text())["direction"] == "min"
    assert result.best_value == bench.metric_by_id("VAL_LOSS")[result.trajectory.arch_ids].min()
