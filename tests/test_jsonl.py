"""The loader on generated files in the official schema, including every class of bad input."""

import copy
import json

import numpy as np
import pytest
from conftest import make_record, make_txz, write_lines

from nares_nas import load
from nares_nas.data.jsonl import read_source, write_jsonl
from nares_nas.errors import DataFormatError
from nares_nas.metrics import CORRUPTIONS


def test_reads_every_field(small_jsonl, small_records):
    table = read_source(small_jsonl)
    assert table.arch_ids.tolist() == [1, 2, 441, 5000, 15625]
    assert table.epochs == 100
    rec = small_records[2]
    row = 2
    for key in ("pgd", "cw", "val_acc", "train_loss", "cw_lip", "pgd_loss"):
        assert table.columns[key][row].tolist() == rec["train"][0][key]
    # train_acc stored as a fraction is reported in percent
    assert np.allclose(table.columns["train_acc"][row], np.array(rec["train"][0]["train_acc"]) * 100)
    assert table.columns["Linf_aa_acc"][row] == rec["test_best"][0]["Linf_aa_acc"]
    assert table.columns["corruption_acc"][row, CORRUPTIONS.index("fog"), 2] == \
        rec["test_best"][0]["corruptions"]["fog"]["3"]["acc"]
    assert table.columns["best_epoch"][row] == rec["train"][0]["best_epoch"]
    assert str(table.columns["timestamp"][row]) == "2023-01-02"


def test_metrics_follow_the_spec(small_jsonl, small_records):
    bench = load(small_jsonl)
    rec = small_records[2]
    train = rec["train"][0]
    best = train["best_epoch"]
    assert bench.metric("5,10,5,10,5,10", "VAL_PGD_ACC") == train["pgd"][best]
    assert bench.metric(441, "VAL_CW_ACC") == train["cw"][best]
    assert bench.metric(441, "VAL_CLEAN_ACC") == train["val_acc"][best]
    assert bench.metric(441, "VAL_LOSS") == train["val_loss"][best]
    assert bench.metric(441, "VAL_PGD_ACC", epoch=7) == train["pgd"][7]
    assert bench.metric(441, "TRAIN_ACC") == pytest.approx(train["train_acc"][best] * 100)
    assert bench.metric(441, "TEST_AA_ACC") == rec["test_best"][0]["Linf_aa_acc"]
    accs = [lvl["acc"] for c in rec["test_best"][0]["corruptions"].values() for lvl in c.values()]
    assert bench.metric(441, "TEST_CORRUPT_ACC") == pytest.approx(np.mean(accs))
    assert bench.metric(441, "MACS") == 6_661_790_592
    assert bench.metric(441, "PARAMS") == 46_160_474
    assert bench.metric(441, "BEST_EPOCH") == best
    record = bench.query(441)
    assert record.history.val_pgd_acc[best] == train["pgd"][best]
    assert record.params == 46_160_474 and record.macs == 6_661_790_592
    assert record.metric("VAL_PGD_ACC") == train["pgd"][best]
    values = bench.metrics([1, "5,10,5,10,5,10", 15625], "VAL_CW_ACC")
    expected = [r["train"][0]["cw"][r["train"][0]["best_epoch"]] for r in (small_records[0], rec, small_records[4])]
    assert values.tolist() == expected


def test_txz_streams_the_member(tmp_path, small_jsonl):
    archive = make_txz(tmp_path / "nares.txz", small_jsonl.read_bytes())
    assert read_source(archive).arch_ids.tolist() == [1, 2, 441, 5000, 15625]


def test_truncated_txz(tmp_path, small_jsonl):
    archive = make_txz(tmp_path / "nares.txz", small_jsonl.read_bytes())
    data = archive.read_bytes()
    cut = tmp_path / "cut.txz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupt archive"):
        read_source(cut)


def test_txz_without_the_member(tmp_path):
    archive = make_txz(tmp_path / "nares.txz", b"hello", member="nares/README.md")
    with pytest.raises(DataFormatError, match=r"no cifar10.jsonl.*nares/README.md"):
        read_source(archive)


def _broken(tmp_path, records, line_no, mutate):
    records = copy.deepcopy(records)
    mutate(records[line_no - 1])
    return write_lines(tmp_path / "bad.jsonl", records)


@pytest.mark.parametrize("mutate, key, fragment", [
    (lambda r: r.pop("test_best"), "test_best", "missing key"),
    (lambda r: r["train"][0].pop("cw_lip"), "train[0].cw_lip", "missing key"),
    (lambda r: r["train"][0]["train_loss"].pop(), "train[0].train_loss", "expected 100 values .* got 99"),
    (lambda r: r["train"][0]["pgd"].__setitem__(5, "x"), "train[0].pgd", "value 5 is 'x'"),
    (lambda r: r["arch"].__setitem__("W2", 9), "arch", "outside the search space: W2=9"),
    (lambda r: r.__setitem__("arch_id", True), "arch_id", "expected an integer, got True"),
    (lambda r: r.__setitem__("arch_id", 441.0), "arch_id", "expected an integer, got 441.0"),
    (lambda r: r.__setitem__("arch_id", 7), "arch_id", "does not match"),
    (lambda r: r.__setitem__("MACs", 1234.5), "MACs", "does not match the search space"),
    (lambda r: r.__setitem__("Params", "lots"), "Params", "expected a number"),
    (lambda r: r["test_best"][0]["corruptions"].__setitem__("rain", {}), "test_best[0].corruptions.rain",
     "unknown corruption"),
    (lambda r: r["test_best"][0]["corruptions"].pop("fog"), "test_best[0].corruptions",
     r"missing corruptions \['fog'\]"),
    (lambda r: r.__setitem__("train", [r["train"][0], r["train"][0]]), "train", "exactly one object, got 2"),
    (lambda r: r.__setitem__("test_best", None), "test_best", "must not be null"),
    (lambda r: r["train"][0].__setitem__("best_epoch", 100), "train[0].best_epoch", "outside 0..99"),
    (lambda r: r["train"][0].__setitem__("timestamp", "2023/01/02"), "train[0].timestamp", "YYYY-MM-DD"),
    # physically impossible values: accuracies are percent, training_time is positive GPU days
    (lambda r: r["train"][0]["pgd"].__setitem__(5, 100.5), "train[0].pgd", r"value 5 is 100\.5, outside 0\.\.100"),
    (lambda r: r["train"][0]["cw_stable"].__setitem__(0, -0.5), "train[0].cw_stable", r"value 0 is -0\.5, outside"),
    (lambda r: r["train"][0]["train_acc"].__setitem__(9, -0.01), "train[0].train_acc", r"value 9 is -1\.0, outside"),
    (lambda r: r["test_best"][0].__setitem__("Linf_aa_acc", 101), "test_best[0].Linf_aa_acc",
     r"101\.0 is outside 0\.\.100"),
    (lambda r: r["test_best"][0]["corruptions"]["fog"]["3"].__setitem__("acc", 120.0),
     "test_best[0].corruptions.fog.3.acc", r"120\.0 is outside 0\.\.100"),
    (lambda r: r["train"][0].__setitem__("training_time", -1), "train[0].training_time",
     "-1 is not a positive number of GPU days"),
    (lambda r: r["train"][0].__setitem__("training_time", 0.0), "train[0].training_time", "0.0 is not a positive"),
    # json.dumps writes NaN and Infinity, which JSON does not have
    (lambda r: r["train"][0]["pgd"].__setitem__(7, float("nan")), "train[0].pgd",
     "value 7 is NaN, not a finite number"),
    (lambda r: r["test_best"][0].__setitem__("Linf_pgd_lip", float("-inf")), "test_best[0].Linf_pgd_lip",
     "-infinite, not a finite number"),
    (lambda r: r["test_best"][0]["corruptions"]["snow"]["5"].__setitem__("loss", float("nan")),
     "test_best[0].corruptions.snow.5.loss", "NaN, not a finite number"),
])
def test_malformed_records_name_line_and_key(tmp_path, small_records, mutate, key, fragment):
    path = _broken(tmp_path, small_records, 3, mutate)
    with pytest.raises(DataFormatError, match=fragment) as info:
        read_source(path)
    assert info.value.line == 3
    assert info.value.key == key
    assert f"{path} line 3" in str(info.value) and f'key "{key}"' in str(info.value)


def test_an_overflowing_number_is_named_like_infinity(tmp_path, small_records):
    path = write_lines(tmp_path / "bad.jsonl", small_records)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"training_time": 0.25', '"training_time": 1e999')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r'line 2: key "train\[0\]\.training_time": infinite, not a finite'):
        read_source(path)


def test_the_first_impossible_value_in_file_order_is_reported(tmp_path, small_records):
    records = copy.deepcopy(small_records[::-1])  # file order 15625, 5000, 441, 2, 1: not the table's order
    records[3]["train"][0]["pgd"][0] = 101.0
    records[1]["test_best"][0]["Linf_cw_acc"] = -3.0
    with pytest.raises(DataFormatError, match='line 2: key "test_best\\[0\\].Linf_cw_acc": -3.0 is outside'):
        read_source(write_lines(tmp_path / "bad.jsonl", records))


def test_null_where_the_format_allows_it_is_not_an_error(tmp_path):
    rec = make_record(441)
    rec["test_best"][0].update(Linf_aa_acc=None, test_loss=None)  # a partial live record's test_best
    rec["train"][0]["pgd_loss"][3] = None  # a NaN loss of a live training, written as null
    table = read_source(write_lines(tmp_path / "nulls.jsonl", [rec]))
    assert np.isnan(table.columns["Linf_aa_acc"][0]) and np.isnan(table.columns["test_loss"][0])
    assert np.isnan(table.columns["pgd_loss"][0, 3])
    assert table.columns["pgd_loss"][0, 4] == rec["train"][0]["pgd_loss"][4]


def test_best_epoch_off_the_cw_maximum_gets_one_warning(tmp_path, small_records, caplog):
    records = copy.deepcopy(small_records)
    for line in (2, 4):  # best_epoch moved off the maximum of the recorded CW-40 on lines 2 and 4
        train = records[line - 1]["train"][0]
        train["best_epoch"] = (train["best_epoch"] + 1) % len(train["cw"])
    tie = records[2]["train"][0]  # line 3: a later epoch tying the maximum is still a maximum
    tie["cw"][(tie["best_epoch"] + 1) % len(tie["cw"])] = tie["cw"][tie["best_epoch"]]
    tie["best_epoch"] = (tie["best_epoch"] + 1) % len(tie["cw"])
    path = write_lines(tmp_path / "off.jsonl", records)
    with caplog.at_level("WARNING", logger="nares_nas.data.jsonl"):
        table = read_source(path)
    assert len(table) == 5  # read, not refused
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert f"{path} line 2: best_epoch is not a maximum of the recorded CW-40" in message
    assert "in 2 of 5 records" in message
    # read as recorded: the metrics come from the stated best_epoch
    train = records[3]["train"][0]
    assert table.columns["best_epoch"][3] == train["best_epoch"]


def test_consistent_best_epochs_give_no_warning(small_jsonl, caplog):
    with caplog.at_level("WARNING", logger="nares_nas.data.jsonl"):
        read_source(small_jsonl)
    assert caplog.records == []


def test_malformed_json_line(tmp_path, small_records):
    path = write_lines(tmp_path / "bad.jsonl", small_records)
    lines = path.read_text().splitlines()
    lines[3] = lines[3][:50]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match="line 4: malformed JSON"):
        read_source(path)


def test_duplicate_architecture(tmp_path, small_records):
    path = write_lines(tmp_path / "dup.jsonl", small_records + [small_records[1]])
    with pytest.raises(DataFormatError, match=r"line 6: .*duplicate architecture \[4, 8, 4, 8, 5, 8\].*line 2"):
        read_source(path)


def test_optional_test_keys_and_no_corruptions(tmp_path):
    rec = make_record(441, corruptions=False)
    del rec["test_best"][0]["Linf_aa_acc"]
    bench = load(write_lines(tmp_path / "c.jsonl", [rec]))
    assert np.isnan(bench.metric(441, "TEST_AA_ACC"))
    assert np.isnan(bench.metric(441, "TEST_CORRUPT_ACC"))
    assert bench.query(441).corruption_acc is None


def test_params_stored_as_raw_counts_are_accepted(tmp_path):
    rec = make_record(441)
    rec["Params"], rec["MACs"] = 46_160_474, 6_661_790_592
    assert read_source(write_lines(tmp_path / "raw.jsonl", [rec])).arch_ids.tolist() == [441]


def test_write_then_read_round_trip(tmp_path, small_jsonl):
    table = read_source(small_jsonl)
    out = write_jsonl(table, tmp_path / "again.jsonl")
    again = read_source(out)
    for name, column in table.columns.items():
        assert np.array_equal(column, again.columns[name], equal_nan=column.dtype.kind == "f"), name
    first_in = json.loads(small_jsonl.read_text().splitlines()[0])
    first_out = json.loads(out.read_text().splitlines()[0])
    assert first_out["train"][0]["train_acc"] == pytest.approx(np.array(first_in["train"][0]["train_acc"]) * 100)
    assert first_out.keys() == first_in.keys()
