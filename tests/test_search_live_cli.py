"""``nares-nas search --live``: the lookup-or-train oracle behind the search command."""

import numpy as np
import pandas as pd
from conftest import make_record

from nares_nas.cli import main
from nares_nas.live.cache import RecordCache
from nares_nas.live.profiles import get_profile
from nares_nas.oracle import TabularOracle
from nares_nas.runs.folder import load_run_file
from nares_nas.searchers import RandomSearch
from nares_nas.space import N_ARCHS, SPACE


def _first_queries(budget: int, seed: int) -> list[int]:
    oracle = TabularOracle(np.arange(N_ARCHS + 1, dtype=float), budget=budget)
    return RandomSearch().run(SPACE, oracle, budget, np.random.default_rng(seed)).arch_ids.tolist()


def test_live_search_answers_misses_from_the_cache(tmp_path, capsys):
    ids = _first_queries(3, seed=7)
    cache = RecordCache(tmp_path / "cache.sqlite")
    for value, arch_id in zip((50.0, 70.0, 60.0), ids):
        record = make_record(arch_id, epochs=8, corruptions=False)
        train = record["train"][0]
        train["pgd"] = [value] * 8
        record["profile"] = "digits"
        cache.put(record, get_profile("digits"), seed=0)
    out = tmp_path / "runs"
    argv = ["search", "--algo", "random_search", "--runs", "1", "--seed", "7", "--budget", "3", "--live",
            "--profile", "digits", "--cache", str(tmp_path / "cache.sqlite"), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert summary.loc[0, "arch_id"] == ids[1] and summary.loc[0, "objective"] == 70.0
    assert summary.loc[0, "full_trainings"] == summary.loc[0, "distinct_archs"] == 3
    assert "best VAL_PGD_ACC: 70.0000" in capsys.readouterr().out


def test_live_search_without_data_names_the_missing_file(tmp_path, capsys):
    records = [make_record(i) for i in range(1, 6)]
    data = tmp_path / "cifar10.jsonl"
    data.write_text("".join(__import__("json").dumps(r) + "\n" for r in records))
    argv = ["search", "--algo", "random_search", "--runs", "1", "--budget", "3", "--data", str(data), "--live",
            "--data-dir", str(tmp_path / "nothing"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "nothing/cifar-10-batches-py" in err and "missing CIFAR-10" in err


def test_live_folders_pin_their_configuration_and_resume(tmp_path, capsys):
    """--live --out writes config.json: another profile or training seed is refused, --resume continues."""
    import json

    cache = RecordCache(tmp_path / "cache.sqlite")
    for seed in (7, 8):
        for arch_id in _first_queries(3, seed=seed):
            record = make_record(arch_id, epochs=8, corruptions=False)
            record["train"][0]["pgd"] = [float(arch_id % 50)] * 8
            cache.put(record, get_profile("digits"), seed=0)
    out = tmp_path / "runs"
    argv = ["search", "--algo", "random_search", "--seed", "7", "--budget", "3", "--live", "--profile", "digits",
            "--cache", str(tmp_path / "cache.sqlite"), "--device", "cpu", "--out", str(out), "--quiet"]
    assert main([*argv, "--runs", "1"]) == 0
    config = json.loads((out / "config.json").read_text())
    profile = get_profile("digits")
    assert config["live"] == {"profile": "digits", "profile_key": profile.key, "train_seed": 0, "device": "cpu"}
    assert config["searcher"] == "random_search" and config["budget"] == 3
    assert config["data"] is None  # the digits profile never consults the table
    run = load_run_file(out / "runs" / "seed_00007.json")
    assert run["execution"]["cache"] == str(tmp_path / "cache.sqlite")
    capsys.readouterr()
    assert main([*argv, "--runs", "2", "--train-seed", "1", "--resume"]) == 2
    assert "train_seed" in capsys.readouterr().err
    variant = tmp_path / "digits9.json"
    variant.write_text(json.dumps({**profile.to_dict(), "epochs": 9}))
    assert main([*argv, "--runs", "2", "--profile", str(variant), "--resume"]) == 2
    assert f"live['profile_key']: '{profile.key}' there" in capsys.readouterr().err
    assert main([*argv, "--runs", "2"]) == 2
    assert "use --resume" in capsys.readouterr().err
    assert main([*argv, "--runs", "2", "--resume"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert summary["seed"].tolist() == [7, 8]
    assert summary["objective"].tolist() == [float(max(a % 50 for a in _first_queries(3, seed=s)))
                                             for s in (7, 8)]
