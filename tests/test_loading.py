"""load(): the columnar cache round trip, its invalidation, corrupt caches, and the import."""

import json
import os

import numpy as np
import pytest
from conftest import make_txz, whole_space_records, write_lines

from nares_nas import load
from nares_nas.cli import main
from nares_nas.data import home
from nares_nas.data.importing import import_data
from nares_nas.data.jsonl import read_source
from nares_nas.data.table import load_table, save_table
from nares_nas.errors import CacheError, DataFormatError, UnknownArchError


def _cache_dir():
    dirs = [p for p in (home.cache_root()).iterdir() if p.name.startswith("cifar10.jsonl-")]
    assert len(dirs) == 1
    return dirs[0]


def test_cache_round_trip(tmp_path, small_jsonl, fresh_home):
    first = load(small_jsonl)
    cache = _cache_dir()
    assert (cache / "meta.json").exists()
    second = load(small_jsonl)
    for name, column in first.table.columns.items():
        assert np.array_equal(column, second.table.columns[name], equal_nan=column.dtype.kind == "f"), name
    assert isinstance(second.table.columns["pgd"], np.memmap)  # came from the cache
    assert second.metric(441, "VAL_PGD_ACC") == first.metric(441, "VAL_PGD_ACC")


def test_cache_is_invalidated_when_the_source_changes(tmp_path, small_jsonl, small_records, fresh_home):
    before = load(small_jsonl).metric(441, "TEST_AA_ACC")
    small_records[2]["test_best"][0]["Linf_aa_acc"] = 12.34
    write_lines(small_jsonl, small_records)
    os.utime(small_jsonl, ns=(1, 1))  # a different mtime even on coarse clocks
    assert before != 12.34
    assert load(small_jsonl).metric(441, "TEST_AA_ACC") == 12.34


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta", "delete"])
def test_corrupt_cache_is_detected_reported_and_rebuilt(small_jsonl, fresh_home, caplog, damage):
    expected = load(small_jsonl).metric(441, "VAL_PGD_ACC")
    cache = _cache_dir()
    target = cache / "pgd.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:-100])
    elif damage == "flip":
        data = bytearray(target.read_bytes())
        data[-8:] = b"\xff" * 8
        target.write_bytes(bytes(data))
    elif damage == "meta":
        (cache / "meta.json").write_text((cache / "meta.json").read_text()[:40])
    else:
        target.unlink()
    if damage != "meta":
        with pytest.raises(CacheError, match="pgd.npy"):
            load_table(cache)
    with caplog.at_level("WARNING"):
        bench = load(small_jsonl)
    assert bench.metric(441, "VAL_PGD_ACC") == expected
    if damage != "meta":  # unreadable metadata looks like "no cache" and is rebuilt silently
        assert "rebuilding the cache" in caplog.text
    assert load_table(cache).arch_ids.tolist() == [1, 2, 441, 5000, 15625]


def test_a_cache_of_an_older_format_is_rebuilt_with_todays_checks(small_jsonl, fresh_home, caplog):
    load(small_jsonl)
    cache = _cache_dir()
    meta = json.loads((cache / "meta.json").read_text())
    (cache / "meta.json").write_text(json.dumps(dict(meta, format=1)))  # as an older nares-nas left it
    # the source as it was imported by that version: same size and mtime, a training_time it let through
    stat = small_jsonl.stat()
    lines = small_jsonl.read_text().splitlines()
    lines[2] = lines[2].replace('"training_time": 0.25', '"training_time": -1.0')
    small_jsonl.write_text("\n".join(lines) + "\n")
    os.utime(small_jsonl, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with caplog.at_level("WARNING"), pytest.raises(DataFormatError, match=r'line 3: key "train\[0\]\.training_time"'):
        load(small_jsonl)
    assert "cache format 1, expected 2" in caplog.text


def test_save_is_atomic_and_leaves_no_temporaries(tmp_path, small_jsonl):
    table = read_source(small_jsonl)
    out = tmp_path / "out"
    save_table(table, out / "t", {"x": 1})
    save_table(table, out / "t", {"x": 2})
    assert sorted(p.name for p in out.iterdir()) == ["t"]
    assert json.loads((out / "t" / "meta.json").read_text())["fingerprint"] == {"x": 2}


def test_partial_table_refuses_missing_archs(small_jsonl):
    bench = load(small_jsonl)
    assert len(bench) == 5 and not bench.complete
    assert "5,10,5,10,5,10" in bench and "5,10,5,10,5,12" not in bench
    with pytest.raises(UnknownArchError, match=r"5,10,5,10,5,12 \(arch_id \d+\) is not in the table.*live mode"):
        bench.metric("5,10,5,10,5,12", "VAL_PGD_ACC")
    with pytest.raises(UnknownArchError):
        bench.metrics([441, 442], "VAL_PGD_ACC")


def test_to_frame(small_jsonl):
    frame = load(small_jsonl).to_frame()
    assert frame.shape[0] == 5
    assert frame.loc[441, "MACS"] == 6_661_790_592 and frame.loc[441, "D1"] == 5
    assert frame.attrs["synthetic"] is False
    assert {"VAL_PGD_ACC", "TEST_AA_ACC", "TEST_CORRUPT_ACC", "VAL_LOSS"} <= set(frame.columns)


def test_import_requires_the_whole_space(small_jsonl, fresh_home):
    with pytest.raises(DataFormatError, match="expected all 15,625 architectures, found 5"):
        import_data(small_jsonl)
    assert not home.has_imported()


def test_import_refuses_a_negative_training_time_with_file_line_and_key(tmp_path, small_records, fresh_home, capsys):
    small_records[3]["train"][0]["training_time"] = -1
    bad = write_lines(tmp_path / "cifar10.jsonl", small_records)
    assert main(["data", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (f'nares-nas data import: error: {bad} line 4: key "train[0].training_time": '
                   "-1 is not a positive number of GPU days\n")
    assert not home.has_imported()


def test_import_from_txz_becomes_the_default(tmp_path, fresh_home):
    records = whole_space_records()
    payload = "".join(json.dumps(r) + "\n" for r in records).encode()
    archive = make_txz(tmp_path / "nares.txz", payload)
    table = import_data(archive)
    assert len(table) == 15625
    assert home.imported_jsonl().read_bytes() == payload
    bench = load()  # the default is now the imported data
    assert not bench.synthetic and bench.complete
    assert bench.metric(15625, "VAL_CW_ACC") == 50.0
    assert bench.metric(15625, "VAL_CW_ACC", epoch=0) == 15625 % 97 / 2
    # a later bad import does not clobber the good one
    bad = write_lines(tmp_path / "bad.jsonl", records[:10])
    with pytest.raises(DataFormatError):
        import_data(bad)
    assert home.imported_jsonl().read_bytes() == payload
