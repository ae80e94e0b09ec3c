"""One run record (``RunResult``) for one objective or several: its run files, read back equal.

Every expected value here is worked out by hand from the few numbers each record is made of.
"""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from nares_nas.errors import DataFormatError
from nares_nas.oracle import Trajectory
from nares_nas.runs.codec import decode_run
from nares_nas.runs.folder import MO_SUMMARY_COLUMNS, SUMMARY_COLUMNS, summary_columns, summary_row
from nares_nas.runs.record import FrontScores, RunResult
from nares_nas.space import KEYS, archs_by_id

CLOCK = {"workers": 1, "ticks_per_day": 100, "gpu_days": 0.75, "sim_days": 0.75, "stopped_by_budget": True,
         "evaluations": {"arch_id": [5, 9, 2], "start": [0.0, 0.25, 0.5], "end": [0.25, 0.5, 0.75],
                         "cost": [0.25, 0.25, 0.25]}}


def _through_a_file(record: RunResult) -> tuple[dict, RunResult]:
    """The run file's JSON as it reads back from disk, and the record read from it."""
    obj = orjson.loads(orjson.dumps(record.to_json(), option=orjson.OPT_SERIALIZE_NUMPY))
    return obj, RunResult.from_json(obj)


def one_objective() -> RunResult:
    trajectory = Trajectory(np.array([5, 9, 2]), np.array([30.0, 32.5, 32.5]), "VAL_PGD_ACC", True)
    return RunResult.of_trajectory("random_search", 7, {"x": 1}, 3, trajectory, {"n_jobs": 1}, CLOCK)


def three_objectives() -> RunResult:
    scores = FrontScores(("MACS<=2e10",), np.array([True, False, True]), np.array([0.5, 0.5, 0.25]),
                         np.array([0.3, 0.3, 0.125]), np.array([1, 1, 2]), np.array([2, 5]), 0.75, 4,
                         {"exact_hypervolume": 1.0})
    values = np.array([[36.5, 1.5e10, 0.5], [37.0, 2.5e10, 0.25], [35.0, 1.0e10, 0.125]])
    return RunResult("mo_random_search", 2, {}, 3, ("VAL_PGD_ACC", "MACS", "TRAINING_TIME"), (True, False, False),
                     np.array([5, 9, 2]), values, None, CLOCK, scores)


def test_one_objective_is_todays_single_objective_run_file_and_reads_back_equal():
    record = one_objective()
    assert record.k == 1 and record.queries == 3 and record.distinct_archs == 3
    assert record.trajectory.arch_ids.tolist() == [5, 9, 2]
    assert record.best_arch_id == 2 and record.best_value == 32.5  # ties when maximising: the latest query
    obj, back = _through_a_file(record)
    assert list(obj) == ["format", "searcher", "seed", "params", "budget", "objective", "maximize", "queries",
                         "best_arch_id", "best_value", "arch_ids", "values", "best", "execution", "clock"]
    plain = decode_run(obj)
    assert (plain["format"], plain["objective"], plain["maximize"], plain["queries"]) == (2, "VAL_PGD_ACC", True, 3)
    assert (plain["best_arch_id"], plain["best_value"]) == (2, 32.5)
    assert plain["arch_ids"] == [5, 9, 2] and plain["values"] == [30.0, 32.5, 32.5]
    assert plain["best"] == [30.0, 32.5, 32.5]
    assert plain["clock"]["evaluations"] == CLOCK["evaluations"]
    assert (back.objectives, back.maximize, back.scores) == (("VAL_PGD_ACC",), (True,), None)
    assert back.values.tolist() == [[30.0], [32.5], [32.5]]
    assert back.trajectory.values.tolist() == [30.0, 32.5, 32.5] and back.trajectory.maximize is True
    assert (back.searcher, back.seed, back.params, back.budget, back.execution) == (
        "random_search", 7, {"x": 1}, 3, {"n_jobs": 1})
    assert back.to_json() == record.to_json()


def test_three_objectives_with_their_scores_read_back_equal():
    record = three_objectives()
    assert record.k == 3 and record.queries == 3
    with pytest.raises(ValueError, match="3 objectives"):
        _ = record.trajectory
    obj, back = _through_a_file(record)
    plain = decode_run(obj)
    assert plain["multi_objective"] is True
    assert plain["objectives"] == ["VAL_PGD_ACC:max", "MACS:min", "TRAINING_TIME:min"]
    assert plain["constraints"] == ["MACS<=2e10"]
    assert plain["values"] == [[36.5, 1.5e10, 0.5], [37.0, 2.5e10, 0.25], [35.0, 1.0e10, 0.125]]
    assert plain["feasible"] == [1, 0, 1] and plain["front"] == [2, 5]
    assert plain["hv_regret"] == [0.5, 0.5, 0.25] and plain["front_size"] == [1, 1, 2]
    assert (plain["hypervolume"], plain["rejected_free"]) == (0.75, 4)
    assert back.objectives == ("VAL_PGD_ACC", "MACS", "TRAINING_TIME") and back.maximize == (True, False, False)
    assert back.values.shape == (3, 3) and back.values[1].tolist() == [37.0, 2.5e10, 0.25]
    assert back.scores.feasible.tolist() == [True, False, True]
    assert back.scores.final() == (0.25, 0.125, 2)  # after the last query
    assert back.scores.final(2) == (0.5, 0.3, 1)  # after the second
    assert back.scores.final(10) == (0.25, 0.125, 2)  # a run that stopped earlier keeps its last scores
    assert back.to_json() == record.to_json()


def test_one_summary_row_for_either_kind():
    single, multi = summary_row(one_objective()), summary_row(three_objectives())
    assert set(single) == set(SUMMARY_COLUMNS) and set(multi) == set(MO_SUMMARY_COLUMNS)
    assert single["arch_id"] == 2 and single["objective"] == "32.5" and single["full_trainings"] == 3
    assert [single[key] for key in KEYS] == archs_by_id()[1].tolist()
    assert (single["gpu_days"], single["sim_days"], single["evaluations"]) == ("0.75", "0.75", 3)
    assert (multi["queries"], multi["infeasible"], multi["rejected_free"], multi["front_size"]) == (3, 1, 4, 2)
    assert (multi["hypervolume"], multi["hv_regret"], multi["igd_plus"]) == ("0.75", "0.25", "0.125")
    assert summary_columns({"objectives": ["VAL_PGD_ACC:max", "MACS:min"]}) == MO_SUMMARY_COLUMNS
    assert summary_columns({"objective": "VAL_PGD_ACC", "objectives": None}) == SUMMARY_COLUMNS


def test_a_multi_objective_file_short_of_a_score_is_named():
    obj = orjson.loads(orjson.dumps(three_objectives().to_json(), option=orjson.OPT_SERIALIZE_NUMPY))
    del obj["igd_plus"]
    with pytest.raises(DataFormatError, match='x.json: key "igd_plus": missing key in a multi-objective run file'):
        RunResult.from_json(obj, "x.json")
    obj = orjson.loads(orjson.dumps(three_objectives().to_json(), option=orjson.OPT_SERIALIZE_NUMPY))
    obj["hv_regret"] = [0.5]
    with pytest.raises(DataFormatError, match="per-query scores differ in length"):
        RunResult.from_json(obj, "x.json")
