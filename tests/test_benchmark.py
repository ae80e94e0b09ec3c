"""The Benchmark API refuses ids outside the space (InvalidArchError) and accepts numpy integers."""

from __future__ import annotations

import numpy as np
import pytest

from nares_nas import load
from nares_nas.errors import InvalidArchError, UnknownArchError


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


def test_a_valid_arch_the_table_lacks_is_unknown(bench):
    with pytest.raises(UnknownArchError, match="arch_id 3"):
        bench.query(3)
    with pytest.raises(KeyError):  # UnknownArchError stays a KeyError for existing callers
        bench.metric(3, "VAL_PGD_ACC")
