"""Live records (pipeline) and the lookup-or-train oracle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nares_nas.data.benchmark import Benchmark
from nares_nas.data.jsonl import read_source
from nares_nas.data.table import Table
from nares_nas.errors import BudgetExhaustedError, ConfigError, DataFormatError, MetricError, UnknownArchError
from nares_nas.live.cache import RecordCache, records_to_table
from nares_nas.live.oracle import LiveOracle, make_live_oracle, record_metric
from nares_nas.live.pipeline import RECORD_FILE, make_record, read_record, run_dir, train_and_evaluate, write_record
from nares_nas.live.profiles import DIGITS, NARES, resolve_profile
from nares_nas.metrics import HISTORY_KEYS, TEST_KEYS
from nares_nas.space import Arch

from ._fakes import fake_record, fake_train_and_evaluate

ARCH = Arch.parse("4,8,4,8,4,8")


# ----------------------------------------------------------------------------- records
def test_make_record_has_the_exact_jsonl_schema():
    record = fake_record(ARCH, DIGITS, seed=2)
    assert set(record) == {"arch_id", "arch", "MACs", "Params", "train", "test_best", "profile", "model"}
    assert record["arch_id"] == ARCH.arch_id
    assert record["arch"] == {"D1": 4, "W1": 8, "D2": 4, "W2": 8, "D3": 4, "W3": 8}
    assert record["Params"] == round(ARCH.params / 1e6, 2) and record["MACs"] == round(ARCH.macs / 1e6, 2)
    train = record["train"][0]
    assert set(train) == {"seed", "gpu_type", "timestamp", "training_time", "best_epoch", *HISTORY_KEYS}
    assert train["seed"] == 2 and all(isinstance(v, float) for v in train["pgd"])
    assert set(record["test_best"][0]) == set(TEST_KEYS)
    assert record["profile"] == DIGITS.to_dict()
    json.dumps(record, allow_nan=False)  # strict JSON


def test_make_record_refuses_bad_histories():
    good = fake_record(ARCH, DIGITS)["train"][0]
    history = {k: good[k] for k in HISTORY_KEYS}
    kwargs = dict(seed=0, gpu_type="cpu", timestamp="2024-01-01", training_time=0.0, test={})
    with pytest.raises(DataFormatError, match="best_epoch"):
        make_record(ARCH, DIGITS, history=history, best_epoch=len(good["pgd"]), **kwargs)
    with pytest.raises(DataFormatError, match="cw_loss"):
        make_record(ARCH, DIGITS, history={k: v for k, v in history.items() if k != "cw_loss"},
                             best_epoch=0, **kwargs)
    with pytest.raises(DataFormatError, match="same number"):
        make_record(ARCH, DIGITS, history={**history, "pgd": history["pgd"][:2]}, best_epoch=0,
                             **kwargs)


def test_nan_becomes_null_and_still_loads(tmp_path):
    record = fake_record(ARCH, DIGITS)
    test = dict(record["test_best"][0], Linf_aa_acc=np.float32("nan"))
    train = record["train"][0]
    again = make_record(ARCH, DIGITS, seed=0, history={k: train[k] for k in HISTORY_KEYS},
                                 best_epoch=train["best_epoch"], gpu_type="cpu", timestamp="2024-01-01",
                                 training_time=0.001, test=test)
    assert again["test_best"][0]["Linf_aa_acc"] is None
    assert np.isnan(record_metric(again, "TEST_AA_ACC"))


def test_record_file_round_trips_through_the_tabular_loader(tmp_path):
    record = fake_record(ARCH, DIGITS, seed=1)
    path = write_record(record, tmp_path / "run" / RECORD_FILE)
    assert [p.name for p in path.parent.iterdir()] == [RECORD_FILE]  # no temp file left
    assert read_record(path) == record
    jsonl = tmp_path / "cifar10.jsonl"
    jsonl.write_text(path.read_text())  # one line: a one-record table
    bench = Benchmark(read_source(jsonl))
    assert bench.arch_ids.tolist() == [ARCH.arch_id]
    train, test = record["train"][0], record["test_best"][0]
    best = train["best_epoch"]
    assert bench.table.epochs == len(train["pgd"])
    assert bench.metric(ARCH, "VAL_PGD_ACC") == pytest.approx(train["pgd"][best])
    assert bench.metric(ARCH, "VAL_CW_ACC") == pytest.approx(train["cw"][best])
    assert bench.metric(ARCH, "TRAIN_ACC") == pytest.approx(100 * train["train_acc"][best])
    assert bench.metric(ARCH, "TEST_PGD_ACC") == pytest.approx(test["Linf_pgd_acc"])
    assert bench.metric(ARCH, "PARAMS") == ARCH.params


def test_read_record_errors_name_the_file(tmp_path):
    with pytest.raises(DataFormatError, match="missing.json: no such file"):
        read_record(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataFormatError, match="bad.json"):
        read_record(bad)


def test_run_dir_separates_profiles_and_seeds(tmp_path):
    a = run_dir(tmp_path, DIGITS, 5, 0)
    assert a == tmp_path / f"digits-{DIGITS.key}" / "seed_0" / "arch_5"
    assert run_dir(tmp_path, DIGITS, 5, 1) != a
    assert run_dir(tmp_path, NARES, 5, 0) != a


def test_resolve_profile_accepts_name_profile_and_dict():
    assert resolve_profile("digits") is DIGITS
    assert resolve_profile(DIGITS) is DIGITS
    assert resolve_profile(DIGITS.to_dict()) == DIGITS


# ----------------------------------------------------------------------------- oracle
class CountingTrainer:
    """Records its calls and answers like the real pipeline (fast)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, Path]] = []

    def __call__(self, arch, profile, *, seed, data_dir, out_dir, device="auto", progress=True, num_threads=None,
                 compile=False):
        self.calls.append((arch.arch_id, seed, Path(out_dir)))
        self.compile = compile
        return fake_train_and_evaluate(arch, profile, seed=seed, data_dir=data_dir, out_dir=out_dir)


def refuse_training(*args, **kwargs):
    raise AssertionError("the oracle must not train here")


@pytest.fixture
def small_bench():
    records = [fake_record(a, NARES, seed=0) for a in (10, 20, 30)]
    return Benchmark(records_to_table(records, "small table")), {r["arch_id"]: r for r in records}


def _value(record, key):
    train = record["train"][0]
    return train[key][train["best_epoch"]]


def test_table_answers_under_the_nares_profile(tmp_path, small_bench):
    bench, by_id = small_bench
    oracle = LiveOracle(bench, profile="nares", cache=tmp_path / "c.sqlite", trainer=refuse_training)
    assert oracle.query(20) == pytest.approx(_value(by_id[20], "pgd"))
    assert "small table" in oracle.source


def test_a_synthetic_table_never_answers_for_the_nares_profile(tmp_path, small_bench):
    bench, by_id = small_bench
    synthetic = Benchmark(Table(bench.table.columns, {**bench.table.meta, "synthetic": True}))
    for make in (lambda: LiveOracle(synthetic, profile="nares", cache=tmp_path / "c.sqlite", trainer=refuse_training),
                 lambda: make_live_oracle(synthetic, profile=NARES, cache_path=tmp_path / "c.sqlite")):
        with pytest.raises(ConfigError) as info:
            make()
        message = str(info.value)
        assert "small table" in message and "SYNTHETIC stand-in" in message and "profile 'nares'" in message
        assert "nares-nas data import PATH" in message and "partial NARes-format table" in message
        assert "--data none" in message and "bench=None" in message
    # under another profile the table is never read, so a synthetic one is harmless
    trainer = CountingTrainer()
    oracle = LiveOracle(synthetic, profile="digits", cache=tmp_path / "c.sqlite", trainer=trainer,
                        runs_dir=tmp_path / "runs")
    assert oracle.query(20) == pytest.approx(_value(fake_record(20, DIGITS, seed=0), "pgd"))
    assert [c[0] for c in trainer.calls] == [20]
    # without a table everything comes from the cache or training, under NARes's profile too
    trainer = CountingTrainer()
    oracle = LiveOracle(None, profile="nares", cache=tmp_path / "c.sqlite", trainer=trainer, runs_dir=tmp_path / "r")
    assert oracle.query(20) == pytest.approx(_value(fake_record(20, NARES, seed=0), "pgd"))
    assert [c[0] for c in trainer.calls] == [20]


def test_compile_reaches_the_trainer(tmp_path):
    for compile in (False, True):
        trainer = CountingTrainer()
        oracle = make_live_oracle(None, profile=DIGITS, cache_path=tmp_path / f"c{compile}.sqlite", compile=compile)
        oracle.trainer, oracle.runs_dir = trainer, tmp_path / "runs"
        oracle.query(12)
        assert trainer.compile is compile and [c[0] for c in trainer.calls] == [12]


def test_live_miss_trains_once_and_caches(tmp_path, small_bench):
    bench, _ = small_bench
    trainer = CountingTrainer()
    cache = RecordCache(tmp_path / "c.sqlite")
    oracle = LiveOracle(bench, profile=NARES, cache=cache, trainer=trainer, seed=3, data_dir=tmp_path / "data",
                        budget=3)
    value = oracle.query(441)
    expected = fake_record(441, NARES, seed=3)
    assert value == pytest.approx(_value(expected, "pgd"))
    assert oracle.query(441) == value  # repeats are free and do not retrain
    assert [c[:2] for c in trainer.calls] == [(441, 3)]
    out_dir = trainer.calls[0][2]
    assert out_dir == tmp_path / "data" / "runs" / f"nares-{NARES.key}" / "seed_3" / "arch_441"
    assert (out_dir / RECORD_FILE).exists()
    assert cache.get(441, NARES, seed=3)["arch_id"] == 441
    assert oracle.trained == [441]
    # a new oracle on the same cache answers without training
    again = LiveOracle(None, profile=NARES, cache=cache, trainer=refuse_training, seed=3)
    assert again.query(441) == value
    oracle.query(10)
    oracle.query(20)
    with pytest.raises(BudgetExhaustedError):
        oracle.query(30)


def test_other_profiles_never_read_the_table(tmp_path, small_bench):
    bench, by_id = small_bench
    trainer = CountingTrainer()
    oracle = LiveOracle(bench, profile="digits", cache=tmp_path / "c.sqlite", trainer=trainer,
                        runs_dir=tmp_path / "runs")
    value = oracle.query(20)
    assert [c[0] for c in trainer.calls] == [20]
    assert value == pytest.approx(_value(fake_record(20, DIGITS, seed=0), "pgd"))
    assert value != pytest.approx(_value(by_id[20], "pgd"))
    assert oracle.cache.get(20, NARES) is None and oracle.cache.get(20, DIGITS) is not None


def test_not_live_miss_raises_with_a_hint(tmp_path, small_bench):
    bench, _ = small_bench
    oracle = LiveOracle(bench, profile="nares", cache=tmp_path / "c.sqlite", live=False, trainer=refuse_training)
    with pytest.raises(UnknownArchError, match="arch_id 441.*nares-nas train") as info:
        oracle.query(441)
    assert isinstance(info.value, KeyError)
    assert oracle.n_queries == 0
    RecordCache(tmp_path / "c.sqlite").put(fake_record(441, NARES), NARES, 0)
    assert oracle.query(441) == pytest.approx(_value(fake_record(441, NARES), "pgd"))


def test_objectives_minimise_and_refuse_test_metrics(tmp_path):
    cache = RecordCache(tmp_path / "c.sqlite")
    record = fake_record(77, DIGITS)
    cache.put(record, DIGITS, 0)
    oracle = LiveOracle(None, profile=DIGITS, cache=cache, objective="VAL_CW_LIP", maximize=False,
                        trainer=refuse_training)
    assert oracle.query(77) == pytest.approx(-_value(record, "cw_lip"))
    assert oracle.trajectory().best_value == pytest.approx(_value(record, "cw_lip"))
    macs = LiveOracle(None, profile=DIGITS, cache=cache, objective="MACS", trainer=refuse_training)
    assert not macs.maximize and macs.query(77) == -Arch.from_id(77).macs  # a cost: minimised by default
    assert macs.trajectory().best_value == Arch.from_id(77).macs
    with pytest.raises(MetricError, match="test set"):
        LiveOracle(None, profile=DIGITS, cache=cache, objective="TEST_PGD_ACC")


def test_trainer_returning_another_arch_is_refused(tmp_path):
    def wrong(arch, profile, *, seed, out_dir, **kwargs):
        return fake_record(arch.arch_id + 1, profile, seed)

    oracle = LiveOracle(None, profile=DIGITS, cache=tmp_path / "c.sqlite", trainer=wrong, runs_dir=tmp_path)
    with pytest.raises(DataFormatError, match="arch_id 6 for arch_id 5"):
        oracle.query(5)
    assert len(oracle.cache) == 0


def test_make_live_oracle(tmp_path, small_bench):
    bench, by_id = small_bench
    oracle = make_live_oracle(bench, objective="VAL_CW_ACC", maximize=True, budget=5, profile="nares",
                              data_dir=tmp_path, cache_path=tmp_path / "live.sqlite", live=False, seed=0,
                              device="cpu")
    assert isinstance(oracle, LiveOracle)
    assert oracle.cache.path == tmp_path / "live.sqlite" and oracle.budget == 5 and oracle.device == "cpu"
    assert oracle.query(30) == pytest.approx(_value(by_id[30], "cw"))


# ----------------------------------------------------------------------------- the real pipeline
def tiny_profile():
    """A few seconds of real training and attacks on the CPU (not a meaningful protocol)."""
    import dataclasses

    return dataclasses.replace(
        DIGITS, name="digits-tiny", epochs=2, lr_milestones=(1,), save_epochs=(0,), train_limit=64, batch_size=32,
        val_limit=30, test_limit=30, train_steps=2, val_pgd_steps=3, val_cw_steps=3, test_pgd_steps=5,
        test_cw_steps=5, aa_iters=5, aa_targets=1,
    )


def test_real_train_and_evaluate_round_trips(tmp_path):
    pytest.importorskip("torch")
    profile = tiny_profile()
    out_dir = tmp_path / "run"
    record = train_and_evaluate(ARCH, profile, seed=0, data_dir=None, out_dir=out_dir, device="cpu",
                                         progress=False, num_threads=1)
    assert record["profile"] == profile.to_dict()
    assert read_record(out_dir / RECORD_FILE) == record
    assert (out_dir / "checkpoints" / f"arch_{ARCH.arch_id}_best.pth").is_file()
    train, test = record["train"][0], record["test_best"][0]
    assert len(train["pgd"]) == 2 and train["gpu_type"] == "cpu"
    assert 0 <= test["Linf_aa_acc"] <= test["Linf_pgd_acc"] <= test["test_clean_acc"] <= 100
    jsonl = tmp_path / "cifar10.jsonl"
    jsonl.write_text((out_dir / RECORD_FILE).read_text())
    bench = Benchmark(read_source(jsonl))
    assert bench.metric(ARCH, "VAL_PGD_ACC") == pytest.approx(train["pgd"][train["best_epoch"]])
    assert bench.metric(ARCH, "TEST_CLEAN_ACC") == pytest.approx(test["test_clean_acc"])


def test_a_finished_run_is_returned_and_another_runs_folder_refused(tmp_path):
    pytest.importorskip("torch")
    record = fake_record(ARCH, DIGITS, seed=0)
    out_dir = tmp_path / "run"
    write_record(record, out_dir / RECORD_FILE)
    assert train_and_evaluate(ARCH, DIGITS, seed=0, data_dir=None, out_dir=out_dir) == record
    for arch, seed in ((ARCH, 1), (Arch.from_id(2), 0)):
        with pytest.raises(DataFormatError, match="another run's record"):
            train_and_evaluate(arch, DIGITS, seed=seed, data_dir=None, out_dir=out_dir)
