"""The one run-to-folder loop (``runs/loop.py``): single-objective, multi-objective and live searches all
keep their folders through it, so a failure leaves each kind with the same guarantees.

The failure is injected into the loop's own ``write_run``: an entry point that kept its folder by any
other way would not fail, and these tests would.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

import nares_nas.runs.loop as loop
from nares_nas.errors import ConfigError
from nares_nas.runs.folder import read_runs
from nares_nas.runs.multiobjective import run_mo_to_dir
from nares_nas.runs.search import run_to_dir
from nares_nas.searchers import RandomSearch

OLD_NS = 1_000_000_000 * 1_000_000_000  # 2001: run files dated in the past, so a rewrite shows
OBJECTIVES = "VAL_PGD_ACC:max,MACS:min"
SEEDS = [3, 4, 5]


def _live_cached(tmp_path: Path):
    """A live random search on the digits profile whose every query the record cache answers (nothing trains)."""
    from live.test_live_cli import _first_queries
    from live.test_run_live import _cache

    from nares_nas.runs.live import run_live_to_dir

    values = {arch_id: float(arch_id % 50) for seed in SEEDS for arch_id in _first_queries(3, seed=seed)}
    cache = _cache(tmp_path / "cache.sqlite", values)
    return lambda out, seeds, **kw: run_live_to_dir(out, "random_search", None, seeds=seeds, profile="digits",
                                                    budget=3, cache=cache, device="cpu", **kw)


@pytest.fixture(params=["search", "multi_objective", pytest.param("live", marks=pytest.mark.torch)])
def entry(request, bench, tmp_path):
    """``(kind, run(out, seeds, **options))``: one of the three public ways to run into a folder."""
    kind = request.param
    if kind == "search":
        return kind, lambda out, seeds, **kw: run_to_dir(out, RandomSearch(), bench, seeds=seeds, budget=15, **kw)
    if kind == "multi_objective":
        return kind, lambda out, seeds, **kw: run_mo_to_dir(out, "mo_random_search", bench, OBJECTIVES,
                                                            ["MACS<=2e10"], seeds=seeds, budget=15, **kw)
    return kind, _live_cached(tmp_path)


def _fail_at_write(monkeypatch, number: int) -> None:
    """Make the loop's ``number``-th run write raise (the ones before it are written)."""
    calls = []
    real = loop.write_run

    def write_run(out_dir, result):
        calls.append(result.seed)
        if len(calls) == number:
            raise KeyboardInterrupt("killed")
        return real(out_dir, result)

    monkeypatch.setattr(loop, "write_run", write_run)


def _run_files(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((out / "runs").iterdir())}


def _summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_resume_after_a_failure_rewrites_no_run_and_rebuilds_the_summary(entry, tmp_path, monkeypatch):
    kind, run = entry
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    _fail_at_write(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run(out, SEEDS)
    monkeypatch.undo()
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["seed_00003.json"]  # the first run was kept
    for path in (out / "runs").iterdir():
        os.utime(path, ns=(OLD_NS, OLD_NS))
    before = _run_files(out)
    with pytest.raises(ConfigError, match="resume"):
        run(out, SEEDS)

    resumed = run(out, SEEDS, resume=True)
    after = _run_files(out)
    assert after["seed_00003.json"] == before["seed_00003.json"]  # same bytes, same time: not written again
    assert sorted(after) == ["seed_00003.json", "seed_00004.json", "seed_00005.json"]
    assert [r.seed for r in resumed] == SEEDS

    # the folder is the folder an uninterrupted job writes: same runs, summary rebuilt from all of them
    whole = run(fresh, SEEDS)
    for a, b in zip(read_runs(out), whole, strict=True):
        assert a.to_json()["arch_ids"] == b.to_json()["arch_ids"]
        assert a.to_json()["values"] == b.to_json()["values"]
    if kind != "live":  # a live run's summary holds wall-clock days
        assert (out / "summary.csv").read_bytes() == (fresh / "summary.csv").read_bytes()
    assert [int(row["seed"]) for row in _summary(out)] == SEEDS
    if kind == "live":
        assert not list((out / "live").glob("*.json"))  # each run's log went into its run file


def test_a_new_folder_that_got_no_run_is_released(entry, tmp_path, monkeypatch):
    kind, run = entry
    out, there = tmp_path / "new", tmp_path / "there"
    there.mkdir()
    for folder in (out, there):
        _fail_at_write(monkeypatch, 1)
        with pytest.raises(KeyboardInterrupt):
            run(folder, SEEDS)
    monkeypatch.undo()
    if kind == "live":
        # a live run's log in progress is data: the folder is kept whole, and a resume goes on from it
        assert (out / "config.json").exists() and list((out / "live").glob("*.json"))
        assert [r.seed for r in run(out, SEEDS, resume=True)] == SEEDS
        return
    assert not out.exists()  # made by the job: gone
    assert there.is_dir() and not any(there.iterdir())  # there before: kept, empty
    assert [r.seed for r in run(out, SEEDS)] == SEEDS  # a retry is not refused
    assert [r.seed for r in run(there, SEEDS)] == SEEDS


def test_a_folder_of_the_other_kind_of_run_is_refused(bench, tmp_path):
    """A single-objective run file in a multi-objective folder is named, not read as one of its runs."""
    from nares_nas.errors import DataFormatError

    mo, single = tmp_path / "mo", tmp_path / "single"
    run_mo_to_dir(mo, "mo_random_search", bench, OBJECTIVES, seeds=[0], budget=10)
    run_to_dir(single, RandomSearch(), bench, seeds=[1], budget=10)
    (mo / "runs" / "seed_00001.json").write_bytes((single / "runs" / "seed_00001.json").read_bytes())
    with pytest.raises(DataFormatError, match="seed_00001.json: a single-objective run in a multi-objective folder"):
        run_mo_to_dir(mo, "mo_random_search", bench, OBJECTIVES, seeds=[0, 2], budget=10, resume=True)


@pytest.mark.torch
def test_a_live_runs_log_stays_until_its_run_file_is_written(tmp_path, monkeypatch):
    """Run files are written behind the loop: a live run's log may go only once its run file is there."""
    out = tmp_path / "out"
    _fail_at_write(monkeypatch, 2)  # the second run's file is never written
    with pytest.raises(KeyboardInterrupt):
        _live_cached(tmp_path)(out, SEEDS)
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["seed_00003.json"]
    logs = sorted(p.name for p in (out / "live").iterdir())
    assert "seed_00003.json" not in logs  # its run file holds it
    assert "seed_00004.json" in logs  # its run file failed: the log is what a resume replays
