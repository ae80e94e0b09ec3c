"""``nares-nas search --live --workers N``: the live driver from the shell, its run folder, kill and resume."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nares_nas.cli import main
from nares_nas.live.cache import RecordCache
from nares_nas.runs.folder import load_run_file

from .test_trainer import TINY


def _argv(tmp_path: Path, *extra: str) -> list[str]:
    profile = tmp_path / "tiny.json"
    profile.write_text(json.dumps(TINY.to_dict()))
    return ["search", "--algo", "asha", "--param", "min_epochs=1", "--live", "--profile", str(profile),
            "--device", "cpu", "--cache", str(tmp_path / "cache.sqlite"), "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "out"), "--quiet", "--runs", "1", *extra]


@pytest.mark.slow  # real trainings and test-set evaluations: half a minute on the 2-core machine
def test_live_asha_writes_its_log_into_the_run_file(tmp_path, capsys):
    assert main(_argv(tmp_path, "--budget", "3", "--workers", "1")) == 0
    out = capsys.readouterr().out
    assert "CPU-hours of measured training" in out and "on 1 workers" in out and "GPU" not in out
    assert "evaluations per run by epochs trained: 1: 3.0" in out
    run = load_run_file(tmp_path / "out" / "runs" / "seed_00000.json")
    clock = run["clock"]
    evaluations = pd.DataFrame(clock["evaluations"])
    assert clock["time"] == "wall-clock" and clock["workers"] == 1 and clock["max_epochs"] == TINY.epochs
    assert evaluations["arch_id"].nunique() == 3 and (evaluations["epoch_to"] == 1).sum() == 3
    promoted = evaluations[evaluations["epoch_to"] == 3]
    assert (promoted["epoch_from"] == 1).all() and len(promoted) == run["queries"] >= 1
    # every result the searcher was told, in order, is in the steps; the in-progress log is gone
    told = [tuple(r[:2]) for _, results in clock["steps"] for r in results]
    assert sorted(told) == sorted(zip(evaluations["arch_id"], evaluations["epoch_to"]))
    assert not (tmp_path / "out" / "live" / "seed_00000.json").exists()
    cache = RecordCache(tmp_path / "cache.sqlite")
    for arch_id, epochs in zip(evaluations["arch_id"], evaluations["epoch_to"]):
        record = cache.get(int(arch_id), TINY, 0, epochs=int(epochs))
        assert (record["test_best"][0]["Linf_pgd_acc"] is None) == (epochs < TINY.epochs)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary.loc[0, "gpu_days"] == pytest.approx(evaluations["cost"].sum())


def test_live_search_refusals(tmp_path, capsys):
    assert main(_argv(tmp_path, "--max-cost")) == 2
    assert "--max-cost needs a value in live mode" in capsys.readouterr().err
    assert main(_argv(tmp_path, "--budget", "2", "--from-scratch")) == 2
    assert "--from-scratch" in capsys.readouterr().err


def _epochs_trained(run_folder: Path) -> dict[str, list[int]]:
    """Per arch log: the epochs trained, from the trainer's own lines (one per epoch started)."""
    found = {}
    for log in run_folder.glob("*/seed_0/arch_*/arch_*.log"):
        found[log.parent.name] = [int(line.split("Training Epoch ")[1].split("=")[0])
                                  for line in log.read_text().splitlines() if "Training Epoch" in line]
    return found


@pytest.mark.slow  # a real process killed with SIGKILL mid-search, then resumed: half a minute
def test_a_killed_live_search_resumes_without_retraining_what_finished(tmp_path, capsys):
    argv = _argv(tmp_path, "--budget", "4")
    child = subprocess.Popen([sys.executable, "-m", "nares_nas.cli", *argv], env={**os.environ},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "out" / "live" / "seed_00000.json"
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            if log.is_file():
                with open(log, "rb") as fh:
                    text = fh.read()
                try:
                    state = json.loads(text)
                except ValueError:
                    state = {"evaluations": []}
                if sum(r["order"] is not None for r in state["evaluations"]) >= 2:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the live search wrote no log with two finished evaluations")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    killed = json.loads(log.read_text())
    finished = {(r["arch_id"], r["epoch_to"]) for r in killed["evaluations"] if r["order"] is not None}
    assert not (tmp_path / "out" / "runs" / "seed_00000.json").exists()
    assert main([*argv, "--resume"]) == 0
    run = load_run_file(tmp_path / "out" / "runs" / "seed_00000.json")
    evaluations = pd.DataFrame(run["clock"]["evaluations"])
    assert finished <= set(zip(evaluations["arch_id"], evaluations["epoch_to"]))
    assert len(evaluations) == len(set(zip(evaluations["arch_id"], evaluations["epoch_to"])))
    # nothing finished was trained again: each epoch below what finished appears once in the arch's log
    trained = _epochs_trained(tmp_path / "data" / "runs")
    for arch_id, epochs in finished:
        lines = trained[f"arch_{arch_id}"]
        assert all(lines.count(e) == 1 for e in range(epochs)), (arch_id, lines)
    steps = run["clock"]["steps"]
    assert [s[0] for s in steps[:len(killed["steps"])]] == [s[0] for s in killed["steps"]]


def _cached_cluster_search(tmp_path: Path) -> list[str]:
    """`search --live --workers 2` whose every proposal the cache answers: a local cluster starts, nothing trains."""
    from ._fakes import fake_record
    from .test_live_cli import _first_queries

    cache = RecordCache(tmp_path / "cache.sqlite")
    for arch_id in _first_queries(2, seed=0):
        cache.put(fake_record(arch_id, TINY, seed=0), TINY, 0)
    profile = tmp_path / "tiny.json"
    profile.write_text(json.dumps(TINY.to_dict()))
    return ["search", "--algo", "random_search", "--live", "--profile", str(profile), "--device", "cpu", "--cache",
            str(cache.path), "--runs", "1", "--budget", "2", "--workers", "2"]


def _dask_info(caplog) -> list[str]:
    """Dask's log lines below WARNING in this process (the scheduler's and the nannies')."""
    return [r.getMessage() for r in caplog.records if r.name.startswith("distributed") and r.levelno < logging.WARNING]


def test_a_local_cluster_keeps_dasks_info_lines_hidden(tmp_path, capfd, caplog):
    """The scheduler, nannies and workers of a local cluster would log some 45 INFO lines per search; none
    shows, neither here nor from the worker processes (their stderr is this process's file descriptor 2)."""
    assert main(_cached_cluster_search(tmp_path)) == 0
    out, err = capfd.readouterr()
    assert "best VAL_PGD_ACC" in out and "INFO" not in err and not _dask_info(caplog)


@pytest.mark.slow  # a second local cluster
def test_debug_shows_dasks_info_lines(tmp_path, caplog):
    assert main(["--debug", *_cached_cluster_search(tmp_path)]) == 0
    assert _dask_info(caplog)
