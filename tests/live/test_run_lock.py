"""The run-folder lock (pipeline.run_lock): two processes asking for the same run train it once."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from filelock import FileLock, Timeout

from nares_nas.live.pipeline import LOCK_FILE, RECORD_FILE, read_record, run_lock
from nares_nas.live.profiles import DIGITS
from nares_nas.space import Arch

from ._fakes import TRAININGS_FILE, train_behind_the_lock


def test_the_lock_is_held_inside_and_free_after(tmp_path):
    out_dir = tmp_path / "run"
    with run_lock(out_dir):
        with pytest.raises(Timeout):
            FileLock(out_dir / LOCK_FILE).acquire(timeout=0)
    with FileLock(out_dir / LOCK_FILE).acquire(timeout=0):
        pass


def test_two_processes_training_the_same_run_train_it_once_and_get_the_same_record(tmp_path):
    """Both start together (a barrier) the real train_and_evaluate on one run folder, behind a fake trainer
    that takes a second: one trains, the other waits for the lock and returns the record the first wrote.
    (Forked where possible: the children then start without importing torch again.)"""
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(2)
    out_dir, arch = tmp_path / "run", Arch.parse("4,8,4,8,4,8")
    results = [tmp_path / f"result{i}.json" for i in range(2)]
    children = [ctx.Process(target=train_behind_the_lock, args=(arch, DIGITS, str(out_dir), barrier, str(path)))
                for path in results]
    for child in children:
        child.start()
    for child in children:
        child.join(180)
    assert [child.exitcode for child in children] == [0, 0]
    trained = (out_dir / TRAININGS_FILE).read_text().split()
    assert len(trained) == 1 and trained[0] in {str(child.pid) for child in children}
    first, second = (json.loads(path.read_text()) for path in results)
    assert first == second == read_record(out_dir / RECORD_FILE)
    assert first["arch_id"] == arch.arch_id and first["train"][0]["gpu_type"] == f"fake-pid{trained[0]}"
