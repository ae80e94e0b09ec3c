"""The SQLite live cache: round trips, profile separation, several writing processes."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import sqlite3
from contextlib import closing

import numpy as np
import pytest

from nares_nas.data.benchmark import Benchmark
from nares_nas.errors import CacheConflictError, CacheError, ConfigError, DataFormatError
from nares_nas.live.cache import SCHEMA_VERSION, RecordCache, default_cache_path, records_to_table
from nares_nas.live.profiles import DIGITS, NARES

from ._fakes import fake_record


def test_put_get_roundtrip_and_len(tmp_path):
    cache = RecordCache(tmp_path / "c.sqlite")
    assert len(cache) == 0
    assert cache.get(441, DIGITS) is None
    record = fake_record(441, DIGITS, seed=3)
    cache.put(record, DIGITS, 3)
    assert len(cache) == 1
    assert cache.get(441, DIGITS, seed=3) == record
    assert cache.get(441, DIGITS) == record  # any seed
    assert cache.get(441, DIGITS, seed=4) is None
    assert cache.get(442, DIGITS) is None


def test_seed_defaults_to_the_record_and_lowest_seed_wins(tmp_path):
    cache = RecordCache(tmp_path / "c.sqlite")
    cache.put(fake_record(7, DIGITS, seed=5), DIGITS)
    cache.put(fake_record(7, DIGITS, seed=2), DIGITS)
    assert len(cache) == 2
    assert cache.get(7, DIGITS)["train"][0]["seed"] == 2
    assert [e["seed"] for e in cache.entries(DIGITS)] == [2, 5]


def test_a_different_record_for_a_cached_key_is_refused_by_name(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = RecordCache(path)
    first = fake_record(9, DIGITS, seed=0)
    second = dict(first, train=[dict(first["train"][0], training_time=0.5, gpu_type="other-gpu")])
    assert cache.put(first, DIGITS, 0) is True
    with pytest.raises(CacheConflictError) as info:
        cache.put(second, DIGITS, 0)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and info.value.path == str(path)
    assert info.value.key == {"arch_id": 9, "profile": "digits", "profile_key": DIGITS.key, "seed": 0,
                              "epochs": DIGITS.epochs}
    assert str(path) in message and "arch_id 9" in message and f"epochs {DIGITS.epochs}" in message
    assert f"gpu_type {first['train'][0]['gpu_type']!r}" in message and "gpu_type 'other-gpu'" in message
    assert "train[0].gpu_type" in message  # the first difference, by path
    assert f"nares-nas cache rm 4,10,4,8,4,8 --profile digits --seed 0 --epochs {DIGITS.epochs} --cache {path}" \
        in message
    assert len(cache) == 1 and cache.get(9, DIGITS, 0) == first  # never overwritten
    assert cache.remove(9, DIGITS, 0) is True and cache.remove(9, DIGITS, 0) is False
    assert cache.put(second, DIGITS, 0) is True and cache.get(9, DIGITS, 0) == second


def test_putting_the_identical_record_again_is_a_no_op(tmp_path):
    cache = RecordCache(tmp_path / "c.sqlite")
    record = fake_record(9, DIGITS, seed=0)
    assert cache.put(record, DIGITS, 0) is True
    created = cache.entries()[0]["created"]
    again = json.loads(json.dumps(record))  # an equal copy, as a retry or the Dask driver sends it
    assert cache.put(again, DIGITS, 0) is False
    assert len(cache) == 1 and cache.entries()[0]["created"] == created and cache.get(9, DIGITS, 0) == record


def test_the_key_holds_the_epochs_trained(tmp_path):
    cache = RecordCache(tmp_path / "c.sqlite")
    full = fake_record(9, DIGITS, seed=0)
    partial = fake_record(9, DIGITS, seed=0, epochs=3)
    cache.put(full, DIGITS, 0)
    cache.put(partial, DIGITS, 0, epochs=3)
    assert len(cache) == 2
    assert cache.get(9, DIGITS, 0) == full  # no epochs: the profile's full training
    assert cache.get(9, DIGITS, 0, epochs=DIGITS.epochs) == full
    assert cache.get(9, DIGITS, 0, epochs=3) == partial and cache.get(9, DIGITS, 0, epochs=4) is None
    assert [(e["arch_id"], e["epochs"]) for e in cache.entries()] == [(9, 3), (9, DIGITS.epochs)]
    assert cache.records(DIGITS) == [full] and cache.records(DIGITS, epochs=3) == [partial]
    assert cache.to_table(DIGITS).epochs == DIGITS.epochs
    with pytest.raises(DataFormatError, match=f"3 epochs of history.*says {DIGITS.epochs}"):
        cache.put(fake_record(10, DIGITS, seed=0, epochs=3), DIGITS, 0)  # a partial record as the full one
    with pytest.raises(ConfigError, match=rf"epochs \(profile 'digits' trains {DIGITS.epochs}\) must be an integer in "
                                          rf"1\.\.{DIGITS.epochs}, got {DIGITS.epochs + 1}"):
        cache.get(9, DIGITS, 0, epochs=DIGITS.epochs + 1)
    assert cache.remove(9, DIGITS, 0, epochs=3) is True
    assert cache.get(9, DIGITS, 0) == full and len(cache) == 1


# The schema as the unversioned cache (before schema versions) created it, verbatim.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    arch_id      INTEGER NOT NULL,
    profile_key  TEXT    NOT NULL,
    seed         INTEGER NOT NULL,
    profile_name TEXT    NOT NULL,
    device       TEXT    NOT NULL,
    created      REAL    NOT NULL,
    record       TEXT    NOT NULL,
    PRIMARY KEY (arch_id, profile_key, seed)
)
"""


def _old_cache(path, rows):
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(OLD_SCHEMA)
        for record, profile, seed in rows:
            conn.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (record["arch_id"], profile.key, seed, profile.name, record["train"][0]["gpu_type"],
                          1700000000.0 + seed, json.dumps(record)))


def test_an_unversioned_cache_is_migrated_to_version_1_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    rows = [(fake_record(441, DIGITS, seed=0), DIGITS, 0), (fake_record(441, DIGITS, seed=1), DIGITS, 1),
            (fake_record(9, NARES, seed=0), NARES, 0)]
    _old_cache(path, rows)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    cache = RecordCache(path)
    assert cache.schema_version == SCHEMA_VERSION == 1
    assert len(cache) == 3
    for record, profile, seed in rows:
        assert cache.get(record["arch_id"], profile, seed) == record
    assert [(e["arch_id"], e["seed"], e["epochs"], e["created"]) for e in cache.entries()] == [
        (441, 0, DIGITS.epochs, 1700000000.0), (441, 1, DIGITS.epochs, 1700000001.0),
        (9, 0, NARES.epochs, 1700000000.0)]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = [row[1] for row in conn.execute("PRAGMA table_info(records)")]
        assert columns == ["arch_id", "profile_key", "seed", "epochs", "profile_name", "device", "created",
                           "record"]
        assert [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == [
            "records"]
    assert len(RecordCache(path)) == 3  # opening again changes nothing


def test_a_cache_of_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    RecordCache(path).put(fake_record(9, DIGITS), DIGITS, 0)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 2")
        conn.commit()
    with pytest.raises(CacheError, match=r"new.sqlite: live cache schema version 2 is newer than the version 1 "
                                         r"this nares-nas reads; upgrade nares-nas"):
        RecordCache(path)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 1  # untouched


def test_profiles_never_mix(tmp_path):
    cache = RecordCache(tmp_path / "c.sqlite")
    short = dataclasses.replace(DIGITS, epochs=3, lr_milestones=(1, 2), save_epochs=(1,))
    assert short.name == DIGITS.name and short.key != DIGITS.key
    cache.put(fake_record(100, NARES, seed=0), NARES, 0)
    cache.put(fake_record(100, DIGITS, seed=0), DIGITS, 0)
    cache.put(fake_record(200, DIGITS, seed=0), DIGITS, 0)
    assert len(cache) == 3
    assert cache.get(100, NARES)["profile"]["name"] == "nares"
    assert cache.get(100, DIGITS)["profile"]["name"] == "digits"
    assert cache.get(200, NARES) is None
    assert cache.get(100, short) is None
    assert [r["arch_id"] for r in cache.records(DIGITS)] == [100, 200]
    assert [r["arch_id"] for r in cache.records(NARES)] == [100]
    assert cache.records(short) == []
    assert {e["profile"] for e in cache.entries()} == {"nares", "digits"}


def test_persists_across_instances_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    RecordCache(path).put(fake_record(5, DIGITS), DIGITS, 0)
    again = RecordCache(path)
    assert len(again) == 1 and again.get(5, DIGITS)["arch_id"] == 5
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_is_under_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("NARES_NAS_HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / "live_cache.sqlite"
    assert RecordCache().path == tmp_path / "home" / "live_cache.sqlite"


def test_to_table_loads_through_the_tabular_loader(tmp_path):
    cache = RecordCache(tmp_path / "c.sqlite")
    records = [fake_record(a, DIGITS, seed=0) for a in (15625, 3, 441)]
    for record in records:
        cache.put(record, DIGITS, 0)
    cache.put(fake_record(3, DIGITS, seed=1), DIGITS, 1)  # a second seed: the lowest is used
    table = cache.to_table(DIGITS)
    assert table.arch_ids.tolist() == [3, 441, 15625]
    assert not table.synthetic and "digits" in table.source
    bench = Benchmark(table)
    by_id = {r["arch_id"]: r for r in records}
    for arch_id in (3, 441, 15625):
        train = by_id[arch_id]["train"][0]
        best = train["best_epoch"]
        assert bench.metric(arch_id, "VAL_PGD_ACC") == pytest.approx(train["pgd"][best])
        assert bench.metric(arch_id, "TRAIN_ACC") == pytest.approx(100 * train["train_acc"][best])
        assert bench.metric(arch_id, "TEST_AA_ACC") == pytest.approx(by_id[arch_id]["test_best"][0]["Linf_aa_acc"])
    assert cache.to_table(DIGITS, seed=1).arch_ids.tolist() == [3]
    with pytest.raises(CacheError, match="no records of profile 'nares'"):
        cache.to_table(NARES)


def test_records_to_table_refuses_duplicates():
    record = fake_record(12, DIGITS)
    with pytest.raises(DataFormatError, match="duplicate architecture"):
        records_to_table([record, record], "test")


@pytest.mark.parametrize("damage", ["no_train", "short_list", "best_epoch", "nan"])
def test_malformed_records_are_refused(tmp_path, damage):
    cache = RecordCache(tmp_path / "c.sqlite")
    record = fake_record(12, DIGITS)
    train = dict(record["train"][0])
    if damage == "no_train":
        record = {k: v for k, v in record.items() if k != "train"}
    elif damage == "short_list":
        train["pgd"] = train["pgd"][:-1]
    elif damage == "best_epoch":
        train["best_epoch"] = len(train["pgd"])
    else:
        train["pgd"] = [float("nan")] * len(train["pgd"])
    if damage != "no_train":
        record = dict(record, train=[train])
    with pytest.raises(DataFormatError):
        cache.put(record, DIGITS, 0)
    assert len(cache) == 0


def test_a_file_that_is_not_a_database_raises_cache_error(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="c.sqlite"):
        RecordCache(path)


def _write_many(args: tuple[str, int, int]) -> int:
    path, worker, n = args
    cache = RecordCache(path)
    for i in range(n):
        arch_id = 1 + worker * 1000 + i
        cache.put(fake_record(arch_id, DIGITS, seed=worker), DIGITS, worker)
    return n


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    RecordCache(path)
    n_proc, per = 4, 25
    with multiprocessing.get_context("spawn").Pool(n_proc) as pool:
        done = pool.map(_write_many, [(str(path), w, per) for w in range(n_proc)])
    assert done == [per] * n_proc
    cache = RecordCache(path)
    assert len(cache) == n_proc * per
    entries = cache.entries(DIGITS)
    expected = {(1 + w * 1000 + i, w) for w in range(n_proc) for i in range(per)}
    assert {(e["arch_id"], e["seed"]) for e in entries} == expected
    for arch_id, seed in sorted(expected)[::10]:
        got, want = cache.get(arch_id, DIGITS, seed), fake_record(arch_id, DIGITS, seed=seed)
        assert got["train"][0].pop("gpu_type").startswith("fake-pid")
        want["train"][0].pop("gpu_type")
        assert got == want
    table = records_to_table(cache.records(DIGITS), "all")  # every row is a valid record
    assert len(table) == n_proc * per
    assert np.isfinite(np.asarray(table.columns["pgd"])).all()
