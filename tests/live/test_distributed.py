"""Scale-out through Dask: tasks on worker processes, results cached by the driver."""

from __future__ import annotations

import os

import pytest

from nares_nas.errors import ConfigError, NaresError
from nares_nas.live.cache import RecordCache
from nares_nas.live.distributed import GPU_RESOURCES, _wants_gpu, train_many
from nares_nas.live.pipeline import RECORD_FILE, run_dir
from nares_nas.live.profiles import DIGITS
from nares_nas.space import Arch

from ._fakes import failing_for_arch_1, fake_record, fake_reporting_gpu, fake_train_and_evaluate

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """Two single-thread worker processes, each advertising one GPU (none is used: the fakes run on CPU)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  resources={"GPU": 1}) as cluster, distributed.Client(cluster) as c:
        yield c


def _refuse(*args, **kwargs):
    raise AssertionError("everything is cached: nothing may be submitted")


def test_train_many_runs_on_workers_and_caches(tmp_path, client):
    cache = RecordCache(tmp_path / "c.sqlite")
    archs = [441, "4,8,4,8,4,8", 15625, 441, 2]  # a repeat is trained once
    records = train_many(archs, "digits", seed=1, data_dir=None, client=client, cache=cache,
                         runs_dir=tmp_path / "runs", device="cpu", fn=fake_train_and_evaluate)
    ids = [Arch.parse("4,8,4,8,4,8").arch_id if a == "4,8,4,8,4,8" else a for a in archs]
    assert [r["arch_id"] for r in records] == ids
    assert len(cache) == 4
    for record in records:
        expected = fake_record(record["arch_id"], DIGITS, seed=1)
        gpu = record["train"][0]["gpu_type"]
        assert gpu != f"fake-pid{os.getpid()}"  # ran in a worker process, not the driver
        expected["train"][0]["gpu_type"] = gpu
        assert record == expected
        assert cache.get(record["arch_id"], DIGITS, seed=1) == record
        assert (run_dir(tmp_path / "runs", DIGITS, record["arch_id"], 1) / RECORD_FILE).exists()
    # all cached now: the second call submits nothing and returns the same records
    again = train_many(archs, DIGITS, seed=1, data_dir=None, client=client, cache=cache, fn=_refuse)
    assert again == records


def test_failures_keep_the_finished_records(tmp_path, client):
    cache = RecordCache(tmp_path / "c.sqlite")
    with pytest.raises(NaresError, match=r"1 of 3 trainings failed: .*simulated crash of arch_id 1"):
        train_many([1, 2, 3], DIGITS, seed=0, data_dir=None, client=client, cache=cache,
                   runs_dir=tmp_path / "runs", device="cpu", fn=failing_for_arch_1)
    assert sorted(e["arch_id"] for e in cache.entries(DIGITS)) == [2, 3]


class _FakeClient:
    def __init__(self, gpus: list[float]) -> None:
        self.info = {"workers": {f"w{i}": {"resources": {"GPU": g} if g else {}} for i, g in enumerate(gpus)}}

    def scheduler_info(self):
        return self.info


def test_gpu_resources_follow_the_device_and_the_cluster():
    assert GPU_RESOURCES == {"GPU": 1}
    assert _wants_gpu(_FakeClient([1, 1]), "auto") is True
    assert _wants_gpu(_FakeClient([1, 1]), "cuda") is True
    assert _wants_gpu(_FakeClient([1, 1]), "cpu") is False
    assert _wants_gpu(_FakeClient([0, 0]), "auto") is False
    with pytest.raises(ConfigError):
        _wants_gpu(_FakeClient([0]), "cuda")


def test_gpu_tasks_hold_the_worker_gpu_resource(tmp_path, client):
    cache = RecordCache(tmp_path / "c.sqlite")
    gpu = train_many([7, 8, 9], DIGITS, seed=0, data_dir=None, client=client, cache=cache,
                     runs_dir=tmp_path / "runs", device="auto", fn=fake_reporting_gpu)
    assert [r["train"][0]["gpu_type"] for r in gpu] == ["free-GPU-0"] * 3
    cpu = train_many([10, 11], DIGITS, seed=0, data_dir=None, client=client, cache=cache,
                     runs_dir=tmp_path / "runs", device="cpu", fn=fake_reporting_gpu)
    assert [r["train"][0]["gpu_type"] for r in cpu] == ["free-GPU-1"] * 2
    assert len(cache) == 5


@pytest.mark.slow
def test_train_many_real_training(tmp_path, client):
    """Real (tiny) training on two worker processes; records land in the cache and load as a table."""
    from .test_live_oracle import tiny_profile

    profile = tiny_profile()
    cache = RecordCache(tmp_path / "c.sqlite")
    records = train_many([1, 2], profile, seed=0, data_dir=None, client=client, cache=cache,
                         runs_dir=tmp_path / "runs", device="cpu", num_threads=1)
    assert [r["arch_id"] for r in records] == [1, 2]
    assert cache.to_table(profile).arch_ids.tolist() == [1, 2]
    assert cache.records(DIGITS) == []
