"""The Benchmark API refuses ids outside the space (InvalidArchError) and accepts numpy integers."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas import load
from nares_nas.errors import ConfigError, InvalidArchError, UnknownArchError


@pytest.fixture
def bench(small_jsonl, fresh_home):
    return load(small_jsonl)  # archs 1, 2, 441, 5000, 15625


@pytest.mark.parametrize("bad", [-1, 0, 15626, True, 441.0, np.float64(441.0), np.bool_(True)], ids=repr)
def test_scalar_entry_points_refuse_invalid_ids(bench, bad):
    for call in (lambda: bench.query(bad), lambda: bench.metric(bad, "VAL_PGD_ACC"), lambda: bench.row(bad),
                 lambda: bench.metrics([441, bad], "VAL_PGD_ACC")):
        with pytest.raises(InvalidArchError):
            call()
    assert bad not in bench


def test_numpy_integers_are_accepted(bench):
    expected = bench.metric(441, "VAL_PGD_ACC")
    assert bench.metric(np.int64(441), "VAL_PGD_ACC") == expected
    assert bench.query(np.int32(441)).arch_id == 441 and np.uint16(441) in bench
    np.testing.assert_array_equal(bench.metrics(np.array([441, 1], dtype=np.int32), "VAL_PGD_ACC"),
                                  [expected, bench.metric(1, "VAL_PGD_ACC")])


def test_array_entry_points_refuse_rows_and_ids_outside_the_space(bench):
    # D1=6 used to be read as the next allowed depth (7) by a sorted-position lookup
    with pytest.raises(InvalidArchError, match="D1=6"):
        bench.metrics(np.array([[6, 10, 5, 10, 5, 10]]), "VAL_PGD_ACC")
    with pytest.raises(InvalidArchError, match="six values"):
        bench.metrics(np.array([[5, 10, 5, 10, 5]]), "VAL_PGD_ACC")
    with pytest.raises(InvalidArchError, match="1..15625"):
        bench.metrics(np.array([441, 15626]), "VAL_PGD_ACC")
    assert bench.metrics(np.array([[5, 10, 5, 10, 5, 10]]), "VAL_PGD_ACC")[0] == bench.metric(441, "VAL_PGD_ACC")


def test_by_id_and_by_row_say_how_they_are_indexed(bench, small_records):
    expected = {r["arch_id"]: r["train"][0]["pgd"][r["train"][0]["best_epoch"]] for r in small_records}
    by_id = bench.metric_by_id("VAL_PGD_ACC")
    assert by_id.shape == (15626,) and np.isnan(by_id[0]) and np.isnan(by_id[3])  # no arch 0; arch 3 not held
    assert {arch_id: by_id[arch_id] for arch_id in expected} == expected
    assert bench.arch_ids.tolist() == [1, 2, 441, 5000, 15625]
    assert bench.metric_by_row("VAL_PGD_ACC").tolist() == [expected[a] for a in (1, 2, 441, 5000, 15625)]
    with pytest.raises(ConfigError, match=r"metric_by_id\('VAL_PGD_ACC'\) \(indexed by arch_id\) or metric_by_row"):
        bench.metrics(None, "VAL_PGD_ACC")


def test_in_the_complete_table_row_441_is_arch_442():
    full = load("synthetic")
    assert full.metric_by_id("TEST_AA_ACC")[441] == full.query(441).metric("TEST_AA_ACC")
    assert full.metric_by_row("TEST_AA_ACC")[441] == full.query(442).metric("TEST_AA_ACC")
    assert full.query(441).metric("TEST_AA_ACC") != full.query(442).metric("TEST_AA_ACC")


def test_a_valid_arch_the_table_lacks_is_unknown(bench):
    with pytest.raises(UnknownArchError, match="arch_id 3"):
        bench.query(3)
    with pytest.raises(KeyError):  # UnknownArchError stays a KeyError for existing callers
        bench.metric(3, "VAL_PGD_ACC")
