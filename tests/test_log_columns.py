"""An evaluation log held as arrays (ASHA's compiled twin) is the same log as one held as lists: equal,
the same run-file columns in days, the same encoded bytes, and records that read back equal."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from nares_nas.runs.codec import decode_columns, encode_columns
from nares_nas.runs.folder import summary_row
from nares_nas.runs.record import RunResult
from nares_nas.searchers import Asha, RandomSearch
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import ClockRun, simulate
from nares_nas.simulation.log import CORE_COLUMNS, EvaluationLog

# two evaluations at 10 ticks a day: arch 3 on worker 0 for 5 ticks, arch 4 on worker 1 for 7
LISTS = ([3, 4], [0, 0], [2, 2], [0, 1], [0, 0], [5, 7], [5, 7], [40.0, 41.5])
IN_DAYS = {"arch_id": [3, 4], "epoch_from": [0, 0], "epoch_to": [2, 2], "worker": [0, 1], "start": [0.0, 0.0],
           "end": [0.5, 0.7], "cost": [0.5, 0.7], "value": [40.0, 41.5]}


def as_arrays(log: EvaluationLog) -> EvaluationLog:
    """``log`` with every core column a numpy array, as the compiled twin makes it."""
    return EvaluationLog(log.ticks_per_day, *(np.asarray(getattr(log, key)) for key in CORE_COLUMNS))


def by_hand(log: EvaluationLog) -> dict[str, list]:
    """The run file's columns of a clock log, each entry converted on its own: times divided by ticks a day."""
    tpd = log.ticks_per_day
    return {key: [int(t) / tpd if key in ("start", "end", "cost") else t.item() if hasattr(t, "item") else t
                  for t in getattr(log, key)] for key in CORE_COLUMNS}


def test_a_log_of_arrays_equals_the_same_log_of_lists():
    lists = EvaluationLog(10, *LISTS)
    assert as_arrays(lists) == lists and lists == as_arrays(lists)
    other = EvaluationLog(10, *LISTS[:-1], [40.0, 41.25])
    assert as_arrays(other) != lists and as_arrays(lists) != EvaluationLog(20, *LISTS)


def test_the_columns_of_a_log_of_arrays_are_plain_lists_in_days():
    columns = as_arrays(EvaluationLog(10, *LISTS)).columns()
    assert tuple(columns) == CORE_COLUMNS and "source" not in columns
    assert columns == IN_DAYS and dict(columns) == IN_DAYS
    assert {type(v) for key in ("arch_id", "worker") for v in columns[key]} == {int}
    assert {type(v) for key in ("start", "end", "value") for v in columns[key]} == {float}
    with pytest.raises(KeyError):
        columns["pid"]


def test_cost_and_time_of_a_log_of_arrays_are_python_numbers():
    log = as_arrays(EvaluationLog(10, *LISTS))
    run = ClockRun(0, log, 2, "VAL_PGD_ACC", True, False)
    assert (run.cost_days, run.time_days) == (1.2, 0.7) and type(run.cost_days) is float
    assert repr(run.time_days) == "0.7" and run.evaluations_per_fidelity() == {2: 2}


def clock_runs(model) -> list[ClockRun]:
    """A compiled ASHA run (arrays), the generator's run of it (lists) and a random search (lists)."""
    budget = Budget(cost=12.0)
    compiled = simulate(Asha(), model, [3], budget=budget, workers=4)
    generator = simulate(Asha(), model, [3], budget=budget, workers=4, compiled=False)
    return [*compiled, *generator, *simulate(RandomSearch(), model, [5], budget=Budget(archs=30), workers=3)]


@pytest.mark.numba
def test_a_log_is_encoded_as_its_lists_in_days_were(model):
    runs = clock_runs(model)
    assert isinstance(runs[0].log.arch_id, np.ndarray) and runs[0].log == runs[1].log
    for run in runs:
        tpd = run.log.ticks_per_day
        view, plain = run.log.columns(), by_hand(run.log)
        assert view == plain
        assert orjson.dumps(encode_columns(view, tpd)) == orjson.dumps(encode_columns(plain, tpd))
        assert decode_columns(encode_columns(view, tpd)) == plain


@pytest.mark.numba
def test_a_record_of_a_log_of_arrays_reads_back_equal(model):
    compiled, generator = clock_runs(model)[:2]
    records = [RunResult.from_clock("asha", {}, None, run, 4) for run in (compiled, generator)]
    files = [orjson.dumps(r.to_json(), option=orjson.OPT_SERIALIZE_NUMPY) for r in records]
    assert files[0] == files[1]
    read = RunResult.from_json(orjson.loads(files[0]))
    assert read.clock == records[0].clock == records[1].clock
    assert read.clock["evaluations"] == by_hand(generator.log)
    assert summary_row(read) == summary_row(records[0]) == summary_row(records[1])


def test_the_finish_order_of_one_fidelity_keeps_the_order_of_all():
    # worker 0: arch 1 over [0, 3], arch 3 over [3, 5], arch 5 free at 5; worker 1: arch 2 over [0, 5], arch 4 [5, 9]
    log = EvaluationLog(1, [1, 2, 3, 4, 5], [0] * 5, [4, 100, 100, 4, 100], [0, 1, 0, 1, 0], [0, 0, 3, 5, 5],
                        [3, 5, 5, 9, 5], [3, 5, 2, 4, 0], [1.0] * 5)
    for held in (log, as_arrays(log)):  # by end, then worker, then the order logged
        assert held.finish_order().tolist() == [0, 2, 4, 1, 3]
        assert held.finish_order(100).tolist() == [2, 4, 1] and held.finish_order(4).tolist() == [0, 3]
        assert held.finish_order(12).tolist() == []
