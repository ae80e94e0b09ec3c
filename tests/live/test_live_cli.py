"""``nares-nas train | evaluate | cache``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import time

import pytest
import torch

from nares_nas import cli
from nares_nas import progress as live_progress
from nares_nas.commands import live as live_cmd
from nares_nas.errors import DataFormatError, NaresError
from nares_nas.live import pipeline
from nares_nas.live.cache import RecordCache
from nares_nas.live.checkpoints import checkpoint_dict
from nares_nas.live.profiles import DIGITS, NARES
from nares_nas.space import Arch

from ._fakes import fake_record, fake_train_and_evaluate

ARCH = Arch.parse("4,8,4,8,4,8")


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Through ``nares_nas.cli.main`` once the live commands are wired in, else a parser of our own."""
    if "nares_nas.commands.live" in cli.COMMAND_MODULES:
        code = cli.main(argv)
    else:
        parser = argparse.ArgumentParser(prog="nares-nas")
        subparsers = parser.add_subparsers(dest="command", required=True)
        live_cmd.register(subparsers)
        args = parser.parse_args(argv)
        try:
            code = args.func(args)
        except NaresError as exc:
            print(f"nares-nas {args.command}: error: {exc}", file=sys.stderr)
            code = 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fake_pipeline(monkeypatch):
    calls = []

    def fake(arch, profile, **kwargs):
        calls.append((arch, profile, kwargs))
        return fake_train_and_evaluate(arch, profile, **kwargs)

    monkeypatch.setattr(pipeline, "train_and_evaluate", fake)
    return calls


def test_train_writes_the_record_and_prints_a_summary(tmp_path, capsys, fake_pipeline):
    out_dir, cache_path = tmp_path / "run", tmp_path / "c.sqlite"
    code, out, err = run_cli(["train", "4,8,4,8,4,8", "--profile", "digits", "--out", str(out_dir), "--seed", "2",
                              "--device", "cpu", "--quiet", "--cache", str(cache_path)], capsys)
    assert code == 0, err
    (arch, profile, kwargs), = fake_pipeline
    assert arch == ARCH and profile == DIGITS
    assert kwargs == dict(seed=2, data_dir=None, out_dir=out_dir, device="cpu", progress=False, compile=False,
                          num_threads=1)
    record = pipeline.read_record(out_dir / pipeline.RECORD_FILE)
    assert record == fake_record(ARCH, DIGITS, seed=2)
    assert record["profile"]["name"] == "digits"
    assert RecordCache(cache_path).get(ARCH.arch_id, DIGITS, 2) == record
    test = record["test_best"][0]
    assert f"arch 4,8,4,8,4,8 (arch_id {ARCH.arch_id})" in out and "profile digits" in out
    assert f"clean {test['test_clean_acc']:.2f}%" in out
    assert f"PGD-{DIGITS.test_pgd_steps} {test['Linf_pgd_acc']:.2f}%" in out
    assert f"CW-{DIGITS.test_cw_steps} {test['Linf_cw_acc']:.2f}%" in out
    assert f"AA-Compact {test['Linf_aa_acc']:.2f}%" in out
    assert re.search(r"wall time \d+\.\d s", out)
    assert f"record: {out_dir / pipeline.RECORD_FILE}" in out


def test_train_accepts_a_profile_file(tmp_path, capsys, fake_pipeline):
    short = DIGITS.to_dict() | {"name": "digits-short", "epochs": 3, "lr_milestones": [1, 2], "save_epochs": [1]}
    path = tmp_path / "short.json"
    path.write_text(json.dumps(short))
    code, out, err = run_cli(["train", "441", "--profile", str(path), "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    assert fake_pipeline[0][1].epochs == 3 and "profile digits-short" in out


@pytest.mark.parametrize("profile, message", [
    ("mnist", "unknown profile 'mnist'; valid profiles are ['digits', 'nares']"),
    ("missing.json", "missing.json: no such profile file"),
])
def test_train_bad_profile_is_a_one_line_error(tmp_path, capsys, fake_pipeline, profile, message):
    code, out, err = run_cli(["train", "441", "--profile", profile, "--out", str(tmp_path)], capsys)
    assert code == 2 and message in err and not fake_pipeline


def test_cache_ls_and_show(tmp_path, capsys):
    cache_path = tmp_path / "c.sqlite"
    cache = RecordCache(cache_path)
    cache.put(fake_record(441, DIGITS, seed=0), DIGITS, 0)
    cache.put(fake_record(441, DIGITS, seed=1), DIGITS, 1)
    cache.put(fake_record(9, NARES, seed=0), NARES, 0)
    code, out, _ = run_cli(["cache", "ls", "--cache", str(cache_path)], capsys)
    assert code == 0 and "3 records" in out and len(out.strip().splitlines()) == 4
    code, out, _ = run_cli(["cache", "ls", "--profile", "digits", "--cache", str(cache_path)], capsys)
    assert code == 0 and "2 records" in out and "arch_id   441" in out and "arch_id     9" not in out
    code, out, _ = run_cli(["cache", "show", "441", "--profile", "digits", "--seed", "1", "--cache",
                            str(cache_path)], capsys)
    assert code == 0 and json.loads(out) == fake_record(441, DIGITS, seed=1)
    code, _, err = run_cli(["cache", "show", "441", "--profile", "nares", "--cache", str(cache_path)], capsys)
    assert code == 2 and "arch_id 441" in err and "nares-nas train" in err


def test_cache_ls_shows_the_epochs_and_rm_removes_one_record_on_purpose(tmp_path, capsys):
    cache_path = tmp_path / "c.sqlite"
    cache = RecordCache(cache_path)
    cache.put(fake_record(441, DIGITS, seed=0), DIGITS, 0)
    cache.put(fake_record(441, DIGITS, seed=1), DIGITS, 1)
    cache.put(fake_record(441, DIGITS, seed=1, epochs=3), DIGITS, 1, epochs=3)
    code, out, _ = run_cli(["cache", "ls", "--cache", str(cache_path)], capsys)
    assert code == 0 and "3 records" in out
    assert re.search(rf"arch_id   441 .* seed 1  epochs 3  profile digits \({DIGITS.key}\)", out)
    assert re.search(rf"arch_id   441 .* seed 1  epochs {DIGITS.epochs}  profile digits", out)
    arch = Arch.from_id(441)
    argv = ["cache", "rm", str(arch), "--profile", "digits", "--seed", "1", "--cache", str(cache_path)]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert f"removed arch_id 441 [{arch}] profile digits ({DIGITS.key}) seed 1 epochs {DIGITS.epochs}" in out
    assert cache.get(441, DIGITS, 1) is None and cache.get(441, DIGITS, 1, epochs=3) is not None
    assert cache.get(441, DIGITS, 0) == fake_record(441, DIGITS, seed=0)
    code, _, err = run_cli(argv, capsys)  # nothing left under that key
    assert code == 2 and "arch_id 441" in err and "seed 1" in err and f"epochs {DIGITS.epochs}" in err
    # the profile key that `cache ls` prints names the profile too
    code, out, err = run_cli(["cache", "rm", "441", "--profile", DIGITS.key, "--seed", "1", "--epochs", "3",
                              "--cache", str(cache_path)], capsys)
    assert code == 0, err
    assert len(cache) == 1 and cache.get(441, DIGITS, 0) is not None
    code, _, err = run_cli(["cache", "rm", "441", "--profile", "0123456789ab", "--seed", "0", "--cache",
                            str(cache_path)], capsys)
    assert code == 2 and "0123456789ab" in err and len(cache) == 1


def test_train_into_a_cache_holding_another_record_is_a_one_line_error(tmp_path, capsys, fake_pipeline):
    cache_path = tmp_path / "c.sqlite"
    stored = fake_record(ARCH, DIGITS, seed=2)
    stored["train"][0]["training_time"] = 1.5
    RecordCache(cache_path).put(stored, DIGITS, 2)
    code, _, err = run_cli(["train", str(ARCH), "--profile", "digits", "--out", str(tmp_path / "run"), "--seed", "2",
                            "--quiet", "--cache", str(cache_path)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "already holds a different record" in err and "train[0].training_time (1.5 vs 0.001)" in err
    assert f"nares-nas cache rm {ARCH} --profile digits --seed 2 --epochs {DIGITS.epochs}" in err
    assert RecordCache(cache_path).get(ARCH.arch_id, DIGITS, 2) == stored


def test_evaluate_uses_the_runs_profile_and_prints_json(tmp_path, capsys, monkeypatch):
    from nares_nas.live import data

    record = fake_record(ARCH, DIGITS)
    run = tmp_path / "run"
    pipeline.write_record(record, run / pipeline.RECORD_FILE)
    checkpoint = run / "checkpoints" / f"arch_{ARCH.arch_id}_best.pth"
    checkpoint.parent.mkdir()
    torch.save(checkpoint_dict(0, {}, {}, {}), checkpoint)  # the reference's layout: no profile of its own
    seen = {}
    evaluator = pytest.importorskip("nares_nas.live.evaluator")
    monkeypatch.setattr(data, "datasets_for", lambda profile, data_dir: ("bundle", profile.name, data_dir))

    def fake_evaluate(path, profile, bundle, *, arch, seed, device, progress):
        seen.update(path=path, profile=profile, bundle=bundle, arch=arch, seed=seed, device=device,
                    progress=progress)
        return record["test_best"][0]

    monkeypatch.setattr(evaluator, "evaluate_checkpoint", fake_evaluate)
    code, out, err = run_cli(["evaluate", str(checkpoint), "--json", "--quiet", "--device", "cpu"], capsys)
    assert code == 0, err
    payload, test = json.loads(out), record["test_best"][0]
    assert payload["test_best"] == test  # the record's own keys
    assert payload["metrics"] == {name: test[key] for name, key in TEST_NAMES.items()} | {"TEST_CORRUPT_ACC": None}
    assert seen == dict(path=checkpoint, profile=DIGITS, bundle=("bundle", "digits", None), arch=None, seed=0,
                        device="cpu", progress=False)
    code, out, _ = run_cli(["evaluate", str(checkpoint), "--profile", "digits", "--arch", "4,8,4,8,4,8"], capsys)
    assert code == 0 and seen["arch"] == ARCH
    assert "Linf_aa_acc" in out and f"{record['test_best'][0]['Linf_aa_acc']:.4f}" in out


# The test_best keys under the metric names of every other command (the spec's metric table), by hand.
TEST_NAMES = {
    "TEST_CLEAN_ACC": "test_clean_acc", "TEST_LOSS": "test_loss", "TEST_FGSM_ACC": "Linf_fgsm_acc",
    "TEST_FGSM_STABLE": "Linf_fgsm_stable", "TEST_PGD_ACC": "Linf_pgd_acc", "TEST_PGD_STABLE": "Linf_pgd_stable",
    "TEST_PGD_LIP": "Linf_pgd_lip", "TEST_CW_ACC": "Linf_cw_acc", "TEST_CW_STABLE": "Linf_cw_stable",
    "TEST_CW_LIP": "Linf_cw_lip", "TEST_AA_ACC": "Linf_aa_acc",
}


def test_evaluate_json_gives_the_corruption_mean_as_test_corrupt_acc(tmp_path, capsys, monkeypatch):
    from nares_nas.live import evaluator
    from nares_nas.metrics import CORRUPTIONS

    checkpoint = tmp_path / "arch_1_best.pth"
    torch.save(checkpoint_dict(0, {}, {}, {}, arch=ARCH, profile=NARES), checkpoint)
    test = dict(fake_record(ARCH, NARES)["test_best"][0])
    test["corruptions"] = {name: {str(s): {"acc": 60.0, "loss": 0.5} for s in range(1, 6)} for name in CORRUPTIONS}
    test["corruptions"]["fog"]["3"]["acc"] = 155.0  # 95 points above the rest: the mean of 95 sets moves by 1
    monkeypatch.setattr("nares_nas.live.data.datasets_for", lambda profile, data_dir: None)
    monkeypatch.setattr(evaluator, "evaluate_checkpoint", lambda *args, **kwargs: test)
    code, out, err = run_cli(["evaluate", str(checkpoint), "--json", "--quiet"], capsys)
    assert code == 0, err
    assert json.loads(out)["metrics"]["TEST_CORRUPT_ACC"] == pytest.approx(61.0)
    assert json.loads(out)["metrics"]["TEST_AA_ACC"] == test["Linf_aa_acc"]


def test_a_record_keeps_the_arch_counts_and_carries_the_trained_models_own():
    """MACs/Params identify the arch (NARes-space, as the loader checks them); "model" is what was trained."""
    from nares_nas.live.cache import records_to_table

    nares, digits = fake_record(ARCH, NARES), fake_record(ARCH, DIGITS)
    assert nares["model"] == {"macs": ARCH.macs, "params": ARCH.params}  # NARes's width and input size
    assert (digits["MACs"], digits["Params"]) == (nares["MACs"], nares["Params"])
    assert digits["model"]["params"] < ARCH.params and digits["model"]["macs"] < ARCH.macs
    table = records_to_table([digits], source="digits record")  # the tabular loader accepts it
    assert table.columns["arch_id"].tolist() == [ARCH.arch_id]
    digits["MACs"] = round(digits["model"]["macs"] / 1e6, 2)  # the trained model's count in the schema's key
    with pytest.raises(DataFormatError, match="MACs"):
        records_to_table([digits], source="digits record")


def test_device_help_names_what_the_command_does(capsys):
    for command, verb in (("evaluate", "evaluate"), ("train", "train")):
        assert cli.main([command, "--help"]) == 0
        assert f"where to {verb} (default: cuda if available)" in " ".join(capsys.readouterr().out.split())


TINY = dataclasses.replace(
    DIGITS, name="digits-tiny", epochs=1, lr_milestones=(), save_epochs=(), train_limit=32, batch_size=32,
    val_limit=16, test_limit=16, train_steps=1, val_pgd_steps=1, val_cw_steps=1, test_pgd_steps=2, test_cw_steps=2,
    aa_iters=3, aa_targets=1,
)


def test_evaluate_a_checkpoint_that_train_wrote(tmp_path, capsys):
    """The README's `evaluate runs/digits-1/checkpoints/arch_1_best.pth`: no --arch, no --profile."""
    out_dir = tmp_path / "run"
    record = pipeline.train_and_evaluate(ARCH, TINY, seed=0, data_dir=None, out_dir=out_dir, device="cpu",
                                         progress=False, num_threads=1)
    best = out_dir / "checkpoints" / f"arch_{ARCH.arch_id}_best.pth"
    code, out, err = run_cli(["evaluate", str(best), "--json", "--quiet", "--device", "cpu"], capsys)
    assert code == 0, err
    assert json.loads(out)["test_best"] == record["test_best"][0]  # the very values the run recorded
    # the record's MACs/Params are the arch's NARes-space counts; "model" counts the network trained here
    assert (record["MACs"], record["Params"]) == (round(ARCH.macs / 1e6, 2), round(ARCH.params / 1e6, 2))
    weights = torch.load(best, weights_only=True)["model_state_dict"]
    trained = sum(t.numel() for key, t in weights.items() if not key.endswith(("running_mean", "running_var",
                                                                                "num_batches_tracked")))
    assert record["model"]["params"] == trained < ARCH.params
    (out_dir / pipeline.RECORD_FILE).unlink()  # the checkpoint alone names its arch and profile
    code, out, err = run_cli(["evaluate", str(best), "--quiet", "--device", "cpu"], capsys)
    assert code == 0, err
    assert f"profile digits-tiny ({TINY.key})" in out and "notice" not in err
    assert f"Linf_pgd_acc       {record['test_best'][0]['Linf_pgd_acc']:.4f}" in out


PROGRESS_LINE = re.compile(r"[\w -]+: \d+(/\d+)? \w+(, .*)? \(\d+ s\)")  # e.g. "arch_1: 1/1 epoch, ... (3 s)"


def _train_tiny(tmp_path, capsys, *extra: str) -> tuple[str, str, float]:
    profile = tmp_path / "tiny.json"
    profile.write_text(json.dumps(TINY.to_dict()))
    start = time.monotonic()
    code, out, err = run_cli(["train", str(ARCH), "--profile", str(profile), "--out", str(tmp_path / "run"),
                              "--device", "cpu", "--no-cache", *extra], capsys)
    assert code == 0, err
    return out, err, time.monotonic() - start


def test_train_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path, capsys, monkeypatch):
    """Every loop of a training reports (here each step may: interval 0), one line at a time, no bar redraws."""
    monkeypatch.setattr(live_progress, "LINE_INTERVAL_S", 0.0)
    _, err, _ = _train_tiny(tmp_path, capsys)
    lines = err.splitlines()
    assert "\r" not in err and lines and all(PROGRESS_LINE.fullmatch(line) for line in lines), err
    assert f"arch_{ARCH.arch_id}: 1/1 epoch, loss=" in err and "epoch 0: 1/1 batch" in err  # TINY: 32 images
    for attack in (f"PGD-{TINY.test_pgd_steps}", f"CW-{TINY.test_cw_steps}", "FGSM"):
        assert f"{attack}: 1/1 batch" in err


def test_train_progress_lines_are_a_few_seconds_apart(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(live_progress, "_last_line", -float("inf"))  # no line of an earlier test counts
    _, err, wall = _train_tiny(tmp_path, capsys)
    lines = err.splitlines()
    assert 1 <= len(lines) <= 1 + wall / live_progress.LINE_INTERVAL_S, err
    assert live_progress.LINE_INTERVAL_S >= 3


def test_train_quiet_prints_only_the_result(tmp_path):
    """In a process of its own, with the CLI's own logging: no progress, no log lines (the run's log goes to its
    file), only the summary and where the record is."""
    profile = tmp_path / "tiny.json"
    profile.write_text(json.dumps(TINY.to_dict()))
    env = {**os.environ, "NARES_NAS_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "nares_nas.cli", "train", str(ARCH), "--profile", str(profile),
                           "--out", str(tmp_path / "run"), "--device", "cpu", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"arch {ARCH} (arch_id {ARCH.arch_id})  profile digits-tiny") and len(lines) == 7
    assert lines[-2:] == [f"record: {tmp_path / 'run' / pipeline.RECORD_FILE}",
                          f"cached in {tmp_path / 'home' / 'live_cache.sqlite'}"]
    assert re.fullmatch(r"wall time [\d.]+ s, training time [\d.]+ s \([\d.e-]+ CPU-days\)", lines[-3])
    assert "Training Epoch 0" in (tmp_path / "run" / f"arch_{ARCH.arch_id}.log").read_text()


def test_evaluate_missing_checkpoint(tmp_path, capsys):
    code, _, err = run_cli(["evaluate", str(tmp_path / "nope.pth")], capsys)
    assert code == 2 and "nope.pth: no such checkpoint file" in err


def test_cifar10_without_data_names_what_is_missing(tmp_path, capsys):
    code, _, err = run_cli(["train", "441", "--profile", "nares", "--out", str(tmp_path / "r"), "--data-dir",
                            str(tmp_path / "nodata"), "--quiet"], capsys)
    assert code == 2 and "nodata" in err and "cifar" in err.lower()
    code, _, err = run_cli(["train", "441", "--profile", "nares", "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert code == 2 and "data" in err


@pytest.mark.slow
def test_train_digits_end_to_end(tmp_path, fresh_home, capsys):
    """The issue's done-when: real learning on the CPU in minutes (the record cached in the data home)."""
    out_dir = tmp_path / "x"
    start = time.perf_counter()
    code, out, err = run_cli(["train", "4,8,4,8,4,8", "--profile", "digits", "--out", str(out_dir), "--quiet"],
                             capsys)
    wall = time.perf_counter() - start
    assert code == 0, err
    print(out)
    assert wall < 300
    record = pipeline.read_record(out_dir / pipeline.RECORD_FILE)
    test = record["test_best"][0]
    assert test["test_clean_acc"] > 90
    assert 10 < test["Linf_pgd_acc"] < test["test_clean_acc"]
    assert test["Linf_aa_acc"] <= test["Linf_cw_acc"] and test["Linf_aa_acc"] <= test["Linf_pgd_acc"]
    assert (out_dir / "checkpoints" / f"arch_{ARCH.arch_id}_best.pth").exists()
    assert record["profile"] == DIGITS.to_dict()
    assert RecordCache(fresh_home / "live_cache.sqlite").get(ARCH.arch_id, DIGITS, 0) == record
    assert "GPU" not in out and "CPU-days" in out  # measured on the CPU


# ----------------------------------------------------------------------------- search --live and its table
def _first_queries(budget: int, seed: int) -> list[int]:
    """The arch_ids random search asks first (they do not depend on the answers)."""
    import numpy as np

    from nares_nas.oracle import TabularOracle
    from nares_nas.searchers import RandomSearch
    from nares_nas.space import N_ARCHS, SPACE

    oracle = TabularOracle(np.arange(N_ARCHS + 1, dtype=float), budget=budget)
    return RandomSearch().run(SPACE, oracle, budget, np.random.default_rng(seed)).arch_ids.tolist()


def test_live_search_under_nares_refuses_the_synthetic_stand_in(tmp_path, capsys):
    """No NARes data imported (the test home has none) and no --data: the stand-in must not answer."""
    cache_path = tmp_path / "c.sqlite"
    argv = ["search", "--algo", "random_search", "--runs", "1", "--budget", "2", "--live", "--profile", "nares",
            "--cache", str(cache_path), "--quiet"]
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("nares-nas search: error: ") and "SYNTHETIC stand-in" in err
    assert "nares-nas data import PATH" in err and "--data none" in err
    code, _, err = run_cli([*argv, "--data", "synthetic"], capsys)
    assert code == 2 and "SYNTHETIC stand-in" in err


def test_live_search_with_data_none_answers_from_the_cache_or_trains(tmp_path, capsys):
    ids = _first_queries(3, seed=7)
    cache_path = tmp_path / "c.sqlite"
    cache = RecordCache(cache_path)
    records = {arch_id: fake_record(arch_id, NARES, seed=0) for arch_id in ids}
    for record in records.values():
        cache.put(record, NARES, 0)
    argv = ["search", "--algo", "random_search", "--runs", "1", "--seed", "7", "--budget", "3", "--live",
            "--profile", "nares", "--data", "none", "--cache", str(cache_path), "--quiet"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    values = [train["pgd"][train["best_epoch"]] for train in (records[a]["train"][0] for a in ids)]
    assert f"best VAL_PGD_ACC: {max(values):.4f}" in out
    assert "data: none" in out and "SYNTHETIC" not in out + err
    code, _, err = run_cli(["search", "--algo", "random_search", "--runs", "1", "--data", "none"], capsys)
    assert code == 2 and "--data none" in err and "--live" in err


def test_live_search_under_digits_reads_no_table_and_is_not_labelled_synthetic(tmp_path, capsys):
    """The digits profile never reads the table: its values are real trainings (here: cached records)."""
    ids = _first_queries(3, seed=7)
    cache_path = tmp_path / "c.sqlite"
    records = {arch_id: fake_record(arch_id, DIGITS, seed=0) for arch_id in ids}
    for record in records.values():
        RecordCache(cache_path).put(record, DIGITS, 0)
    argv = ["search", "--algo", "random_search", "--runs", "1", "--seed", "7", "--budget", "3", "--live",
            "--profile", "digits", "--cache", str(cache_path), "--quiet"]
    values = [train["pgd"][train["best_epoch"]] for train in (records[a]["train"][0] for a in ids)]
    code, out, err = run_cli(argv, capsys)  # no --data: the default would be the synthetic stand-in
    assert code == 0, err
    assert "data: none (profile digits never reads the table" in out and "SYNTHETIC" not in out + err
    assert f"best VAL_PGD_ACC: {max(values):.4f}" in out
    code, out, err = run_cli([*argv, "--data", "synthetic"], capsys)
    assert code == 0 and "SYNTHETIC" not in out and "--data synthetic is not used" in err
    assert f"best VAL_PGD_ACC: {max(values):.4f}" in out

