"""A live search into a folder, and its resumption, through one Python call: ``run_live_to_dir``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_record

from nares_nas.cli import main
from nares_nas.errors import ConfigError
from nares_nas.live.cache import RecordCache
from nares_nas.live.profiles import get_profile
from nares_nas.runs.folder import load_run_file
from nares_nas.runs.live import run_live_to_dir
from nares_nas.searchers import Searcher
from nares_nas.space import SPACE

from .test_live_cli import _first_queries

DIGITS = get_profile("digits")


def _cache(path: Path, values: dict[int, float]) -> Path:
    """A record cache answering each arch_id with a full digits training whose PGD accuracy is its value."""
    cache = RecordCache(path)
    for arch_id, value in values.items():
        record = make_record(arch_id, epochs=DIGITS.epochs, corruptions=False)
        record["train"][0]["pgd"] = [value] * DIGITS.epochs
        record["profile"] = "digits"
        cache.put(record, DIGITS, seed=0)
    return path


def test_a_live_search_runs_into_a_folder_and_resumes_through_one_call(tmp_path):
    seven, eight = _first_queries(3, seed=7), _first_queries(3, seed=8)
    assert not set(seven) & set(eight)
    first = _cache(tmp_path / "first.sqlite", dict(zip(seven, (50.0, 70.0, 60.0))))
    out = tmp_path / "out"
    options = dict(profile="digits", budget=3, device="cpu")
    [run] = run_live_to_dir(out, "random_search", None, seeds=[7], cache=first, **options)
    assert run.seed == 7 and run.trajectory.arch_ids.tolist() == seven
    assert run.trajectory.best_value == 70.0 and run.execution["cache"] == str(first)
    kept = (out / "runs" / "seed_00007.json").read_bytes()
    with pytest.raises(ConfigError, match="resume"):
        run_live_to_dir(out, "random_search", None, seeds=[7], cache=first, **options)

    # seed 7 is read back, not run again: the second cache has none of its archs, only seed 8's
    second = _cache(tmp_path / "second.sqlite", dict(zip(eight, (20.0, 40.0, 30.0))))
    again, new = run_live_to_dir(out, "random_search", None, seeds=[7, 8], cache=second, resume=True, **options)
    assert (out / "runs" / "seed_00007.json").read_bytes() == kept
    assert again.execution["cache"] == str(first) and again.trajectory.best_value == 70.0
    assert new.trajectory.arch_ids.tolist() == eight and new.trajectory.best_value == 40.0
    summary = pd.read_csv(out / "summary.csv")
    assert summary["seed"].tolist() == [7, 8] and summary["objective"].tolist() == [70.0, 40.0]
    assert summary["arch_id"].tolist() == [seven[1], eight[1]]
    assert not list((out / "live").glob("*.json"))  # the in-progress logs went into the run files


def test_the_command_line_runs_what_the_call_runs(tmp_path, capsys):
    """``nares-nas search --live --out`` writes the runs the Python call writes (what the wall clock measured aside)."""
    values = {arch_id: float(arch_id % 50) for seed in (7, 8) for arch_id in _first_queries(3, seed=seed)}
    cache = _cache(tmp_path / "cache.sqlite", values)
    argv = ["search", "--algo", "random_search", "--seed", "7", "--runs", "2", "--budget", "3", "--live",
            "--profile", "digits", "--cache", str(cache), "--device", "cpu", "--out", str(tmp_path / "cli"), "--quiet"]
    assert main(argv) == 0
    run_live_to_dir(tmp_path / "call", "random_search", None, seeds=[7, 8], profile="digits", budget=3,
                    cache=cache, device="cpu")
    assert (tmp_path / "cli" / "config.json").read_text() == (tmp_path / "call" / "config.json").read_text()
    for seed in (7, 8):
        cli, call = (load_run_file(tmp_path / folder / "runs" / f"seed_{seed:05d}.json") for folder in ("cli", "call"))
        assert _measured_aside(cli) == _measured_aside(call)
        assert cli["arch_ids"] == _first_queries(3, seed=seed)


def _measured_aside(run: dict) -> dict:
    """A run file without what the wall clock measured (its days, each evaluation's start and end)."""
    clock = {**run["clock"], "sim_days": None}
    clock["evaluations"] = {k: list(v) for k, v in clock["evaluations"].items() if k not in ("start", "end")}
    return {**run, "clock": clock}


def test_without_a_folder_nothing_is_kept(tmp_path):
    seven = _first_queries(2, seed=7)
    cache = _cache(tmp_path / "cache.sqlite", dict(zip(seven, (5.0, 9.0))))
    [run] = run_live_to_dir(None, "random_search", None, seeds=[7], profile=DIGITS, budget=2, cache=cache,
                            device="cpu")
    assert run.trajectory.arch_ids.tolist() == seven and run.trajectory.best_value == 9.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.sqlite"]


class Blocking(Searcher):
    """A blocking search(): random archs queried one by one."""

    name = "blocking_test"

    def search(self, space, oracle, budget, rng):
        while oracle.remaining > 0:
            oracle.query(space.sample(rng))


def _blocking_queries(budget: int, seed: int) -> list[int]:
    """The archs ``Blocking`` asks for first: its samples from the seed's generator, whatever the answers."""
    rng = np.random.default_rng(seed)
    return [int(SPACE.sample(rng)) for _ in range(budget)]


def test_a_blocking_search_runs_live_into_a_folder_and_resumes(tmp_path):
    seven, eight = _blocking_queries(3, seed=7), _blocking_queries(3, seed=8)
    assert len(set(seven) | set(eight)) == 6
    cache = _cache(tmp_path / "cache.sqlite", dict(zip(seven + eight, (50.0, 70.0, 60.0, 20.0, 10.0, 40.0))))
    out = tmp_path / "out"
    options = dict(profile="digits", budget=3, device="cpu", cache=cache)
    with pytest.raises(ConfigError, match="blocking search"):
        run_live_to_dir(out, Blocking(), None, seeds=[7], workers=2, **options)
    [run] = run_live_to_dir(out, Blocking(), None, seeds=[7], **options)
    assert run.trajectory.arch_ids.tolist() == seven and run.trajectory.best_value == 70.0
    assert run.budget == 3 and not run.clock  # a blocking search keeps no clock
    kept = (out / "runs" / "seed_00007.json").read_bytes()
    again, new = run_live_to_dir(out, Blocking(), None, seeds=[7, 8], resume=True, **options)
    assert (out / "runs" / "seed_00007.json").read_bytes() == kept
    assert again.trajectory.arch_ids.tolist() == seven
    assert new.trajectory.arch_ids.tolist() == eight and new.trajectory.best_value == 40.0
    assert pd.read_csv(out / "summary.csv")["objective"].tolist() == [70.0, 40.0]
