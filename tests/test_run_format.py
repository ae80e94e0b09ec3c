"""Run-file format 2: compact exact columns; folders of format 1 (plain JSON lists) still read and resume."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from nares_nas.runs.codec import decode_array, decode_columns, encode_array, encode_columns
from nares_nas.runs.folder import read_runs
from nares_nas.runs.search import run_to_dir
from nares_nas.searchers import Asha, RandomSearch
from nares_nas.simulation.budget import Budget

TPD = 8_640_000  # ticks per day at E = 100


@pytest.mark.parametrize("values", [
    [3, 1, 2], [0, 200, 40000], [2**40, -5], [36.8, 35.0, 37.15], [0.1 + 0.2, 1 / 3], [np.nan, 1.0, -np.inf],
    [[1.5, 2.25], [3.0, -4.0]], [True, False, True],
])
def test_a_column_round_trips_bit_for_bit(values):
    array = np.asarray(values)
    back = decode_array(json.loads(json.dumps(encode_array(array))))
    assert back.shape == array.shape
    assert back.tobytes() == array.astype(back.dtype).tobytes()
    assert back.dtype == (np.float64 if array.dtype.kind == "f" else np.int64)


def test_times_as_ticks_read_back_as_the_floats_ticks_over_ticks_per_day():
    start, cost = [0, 10, 10, 7_000_000_000], [864, 3, 17_280_000, 5]
    end = [s + c for s, c in zip(start, cost)]
    end[2] += 1  # an evaluation that waited a tick is stored exactly too
    columns = {"arch_id": [5, 9, 5, 15625], "start": [t / TPD for t in start], "end": [t / TPD for t in end],
               "cost": [t / TPD for t in cost], "value": [36.8, 12.25, 40.0, 0.5], "source": ["a", "b", None, "d"]}
    stored = encode_columns(columns, TPD)
    assert stored["start"]["delta"] and stored["end"]["after"] == ["start", "cost"]
    assert stored["source"] == ["a", "b", None, "d"]
    assert decode_columns(json.loads(json.dumps(stored))) == columns



def test_only_columns_of_numbers_are_encoded():
    """A column is encoded when every entry is a number (Python's or numpy's, or a vector of them); a
    boolean, None or text anywhere keeps the whole column a plain list, as it was given."""
    columns = {"ints": [1, np.int64(2), 3], "floats": [0.5, np.float32(1.5), 2],
               "vectors": [[1.0, 2], [np.int8(3), 4.5]],
               "flag": [1, True, 2], "flag_in_vector": [[1.0, 2.0], [False, 3.0]], "gap": [1.0, None]}
    stored = encode_columns(columns)
    assert {key for key, column in stored.items() if isinstance(column, dict)} == {"ints", "floats", "vectors"}
    assert stored["flag"] == [1, True, 2] and stored["gap"] == [1.0, None]
    assert stored["flag_in_vector"] == [[1.0, 2.0], [False, 3.0]]
    assert decode_array(stored["vectors"]).tolist() == [[1.0, 2.0], [3.0, 4.5]]

def _as_format_1(path):
    """Rewrite a run file as format 1 wrote it: plain lists, no ``format``, no ``ticks_per_day``."""
    obj = orjson.loads(path.read_bytes())
    old = {key: value for key, value in obj.items() if key != "format"}
    for key in ("arch_ids", "values", "best"):
        old[key] = decode_array(obj[key]).tolist()
    old["clock"] = {key: value for key, value in obj["clock"].items() if key != "ticks_per_day"}
    old["clock"]["evaluations"] = decode_columns(obj["clock"]["evaluations"])
    path.write_bytes(orjson.dumps(old))


def test_a_format_1_folder_resumes_untouched_and_reads_like_a_new_one(tmp_path, bench):
    old, new = tmp_path / "old", tmp_path / "new"
    run_to_dir(old, Asha(), bench, seeds=[0, 1], budget=Budget(cost=10.0), workers=3)
    config = orjson.loads((old / "config.json").read_bytes())
    assert config["format"] == 2
    (old / "config.json").write_bytes(orjson.dumps({k: v for k, v in config.items() if k != "format"}))
    for path in (old / "runs").iterdir():
        _as_format_1(path)
    before = {p.name: p.read_bytes() for p in (old / "runs").iterdir()}
    run_to_dir(old, Asha(), bench, seeds=[0, 1, 2], budget=Budget(cost=10.0), workers=3, resume=True)
    assert {p.name: p.read_bytes() for p in (old / "runs").iterdir() if p.name in before} == before
    run_to_dir(new, Asha(), bench, seeds=[0, 1, 2], budget=Budget(cost=10.0), workers=3)
    for a, b in zip(read_runs(old), read_runs(new), strict=True):
        assert a.clock["evaluations"] == b.clock["evaluations"] and a.clock["gpu_days"] == b.clock["gpu_days"]
        assert a.trajectory.arch_ids.tolist() == b.trajectory.arch_ids.tolist()
        assert a.trajectory.values.tobytes() == b.trajectory.values.tobytes()
    assert (old / "summary.csv").read_bytes() == (new / "summary.csv").read_bytes()


def test_run_files_are_written_compact(tmp_path, bench):
    """500 evaluations in a few kilobytes (format 1 took about 26 kB), and the folder records its format."""
    run_to_dir(tmp_path / "rs", RandomSearch(), bench, seeds=[0], budget=500)
    size = (tmp_path / "rs" / "runs" / "seed_00000.json").stat().st_size
    assert size < 12_000
    assert orjson.loads((tmp_path / "rs" / "runs" / "seed_00000.json").read_bytes())["format"] == 2


def test_local_workers_are_sent_the_model_once_each(monkeypatch, bench):
    """400 single runs on 2 processes: the evaluation model is pickled once per worker process, not per task."""
    from nares_nas.runs.parallel import iter_runs
    from nares_nas.simulation.model import EvaluationModel, evaluation_model

    pickled = []
    original = EvaluationModel.__getstate__

    def counting(self):
        pickled.append(self._token)
        return original(self)

    monkeypatch.setattr(EvaluationModel, "__getstate__", counting)
    model = evaluation_model(bench, "VAL_PGD_ACC")
    runs = dict(iter_runs(RandomSearch(), model, seeds=range(400), budget=5, n_jobs=2))
    sequential = dict(iter_runs(RandomSearch(), model, seeds=range(400), budget=5))
    assert sorted(runs) == list(range(400))
    assert all(runs[s].log == sequential[s].log for s in range(400))
    assert 1 <= len(pickled) <= 2
