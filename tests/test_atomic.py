"""Atomic writes done behind the caller (nares_nas._atomic.WriteBehind)."""

from __future__ import annotations

import threading

import pytest

import nares_nas.runs.loop as loop
import nares_nas.runs.search as runner
from nares_nas._atomic import WriteBehind, write_bytes_atomic
from nares_nas.runs.folder import write_run
from nares_nas.searchers import RandomSearch


def test_writes_run_in_the_order_submitted_on_another_thread(tmp_path):
    seen = []

    def write(name):
        seen.append((name, threading.current_thread() is threading.main_thread()))
        write_bytes_atomic(tmp_path / name, name.encode())

    with WriteBehind() as writer:
        for name in ("a", "b", "c", "summary"):
            writer.submit(write, name)
    assert seen == [("a", False), ("b", False), ("c", False), ("summary", False)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c", "summary"]


def test_a_failed_write_is_raised_in_the_caller(tmp_path):
    def fail():
        raise OSError(28, "No space left on device", str(tmp_path / "x"))

    with pytest.raises(OSError, match="No space left"), WriteBehind() as writer:
        writer.submit(fail)


def test_a_failed_write_stops_the_next_submit(tmp_path):
    def fail():
        raise ValueError("disk gone")

    with WriteBehind() as writer:
        writer.submit(fail)
        writer._pending[0].exception()  # wait until it has run
        with pytest.raises(ValueError, match="disk gone"):
            writer.submit(write_bytes_atomic, tmp_path / "never", b"")
    assert not (tmp_path / "never").exists()


def test_the_writes_queued_after_a_failed_one_are_skipped(tmp_path):
    release = threading.Event()

    def fail():
        release.wait()  # the later writes are queued before this one fails
        raise OSError(28, "No space left on device", str(tmp_path))

    with pytest.raises(OSError, match="No space left"), WriteBehind() as writer:
        writer.submit(write_bytes_atomic, tmp_path / "seed_00000.json", b"run")
        writer.submit(fail)
        writer.submit(write_bytes_atomic, tmp_path / "seed_00002.json", b"run")
        writer.submit(write_bytes_atomic, tmp_path / "summary.csv", b"seed\n0\n1\n2\n")
        release.set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed_00000.json"]


def test_writes_already_submitted_finish_when_the_caller_fails(tmp_path):
    release = threading.Event()

    def slow(name):
        release.wait()
        write_bytes_atomic(tmp_path / name, b"run")

    with pytest.raises(KeyboardInterrupt), WriteBehind() as writer:
        writer.submit(slow, "seed_00000.json")
        writer.submit(slow, "seed_00001.json")
        threading.Timer(0.2, release.set).start()  # both writes are still waiting when the caller fails
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed_00000.json", "seed_00001.json"]


def test_a_job_whose_run_file_cannot_be_written_fails_and_keeps_the_runs_written(tmp_path, bench, monkeypatch):
    written = []

    def full_after_two(out_dir, result):
        if len(written) == 2:
            raise OSError(28, "No space left on device", str(out_dir))
        written.append(result.seed)
        return write_run(out_dir, result)

    monkeypatch.setattr(loop, "write_run", full_after_two)
    with pytest.raises(OSError, match="No space left"):
        runner.run_to_dir(tmp_path / "out", RandomSearch(), bench, seeds=range(6), budget=10)
    assert written == [0, 1]
    assert sorted(p.name for p in (tmp_path / "out" / "runs").iterdir()) == ["seed_00000.json", "seed_00001.json"]
