"""Scale-out through Dask: tasks on worker processes, results cached by the driver."""

from __future__ import annotations

import json
import os

import pytest

from nares_nas.errors import ConfigError, NaresError
from nares_nas.live import distributed as live_distributed
from nares_nas.live.cache import RecordCache
from nares_nas.live.distributed import (
    GPU_RESOURCES,
    _wants_gpu,
    local_worker_specs,
    train_key,
    train_many,
    training_resources,
)
from nares_nas.live.pipeline import RECORD_FILE, run_dir
from nares_nas.live.profiles import DIGITS
from nares_nas.space import Arch

from ._fakes import (
    failing_for_arch_1,
    fake_record,
    fake_reporting_gpu,
    fake_reporting_numerics,
    fake_train_and_evaluate,
)

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """The default local cluster of a machine with two GPUs: two single-thread worker processes, each seeing
    its own GPU (CUDA_VISIBLE_DEVICES) and advertising GPU=1. Here no GPU is used: the fakes run on the CPU."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live_distributed, "visible_gpus", lambda: ["0", "1"])
        cluster = live_distributed.local_cluster(device="auto", num_threads=1)
    with cluster, distributed.Client(cluster) as c:
        c.wait_for_workers(2)
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
    def __init__(self, gpus: list[float], nthreads: int = 1, **resources: float) -> None:
        held = [{**({"GPU": g} if g else {}), **resources} for g in gpus]
        self.info = {"workers": {f"w{i}": {"nthreads": nthreads, "resources": r} for i, r in enumerate(held)}}

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


def _reports(records) -> list[dict]:
    return [json.loads(r["train"][0]["gpu_type"]) for r in records]


def test_numerics_are_set_once_per_worker_and_tasks_leave_them_alone(tmp_path, client):
    """torch's threads and deterministic algorithms are set in each worker process before its tasks (by the
    TorchNumerics plugin), so tasks get num_threads=None and never set or restore them; compile is passed on."""
    cache = RecordCache(tmp_path / "c.sqlite")
    records = train_many([21, 22, 23, 24], DIGITS, seed=0, data_dir=None, client=client, cache=cache,
                         runs_dir=tmp_path / "runs", device="cpu", num_threads=2, compile=True,
                         fn=fake_reporting_numerics)
    reports = _reports(records)
    assert [(r["torch_threads"], r["deterministic"], r["num_threads"], r["compile"], r["nthreads"]) for r in reports] \
        == [(2, True, None, True, 1)] * 4
    assert len({r["pid"] for r in reports}) == 2  # both worker processes took trainings


def test_workers_that_could_run_two_trainings_at_once_are_refused(tmp_path):
    crowded = _FakeClient([0, 0], nthreads=4)
    with pytest.raises(ConfigError, match=r"would run 4 trainings at once .*--nthreads 1"):
        train_many([1], DIGITS, seed=0, data_dir=None, client=crowded, cache=RecordCache(tmp_path / "c.sqlite"),
                   runs_dir=tmp_path / "runs", device="cpu", fn=_refuse)
    assert training_resources(_FakeClient([0, 0], nthreads=1), "cpu", None) == {}
    assert training_resources(_FakeClient([1, 1], nthreads=4), "auto", None) == {"GPU": 1}  # one GPU: one at a time
    with pytest.raises(ConfigError, match="2 trainings at once"):
        training_resources(_FakeClient([2], nthreads=4), "auto", None)
    assert training_resources(_FakeClient([0], nthreads=8, train=1), "cpu", {"train": 1}) == {"train": 1}
    with pytest.raises(ConfigError, match="none of the cluster.s 1 workers offers"):
        training_resources(_FakeClient([0], nthreads=1), "cpu", {"train": 1})


def test_local_worker_specs_give_each_gpu_its_own_single_thread_worker():
    """The multi-GPU spec is read here, not run on GPUs: one Nanny per visible GPU, seeing only that one."""
    specs = local_worker_specs(["0", "3"], num_threads=1)
    options = [spec["options"] for spec in specs.values()]
    assert [o["env"]["CUDA_VISIBLE_DEVICES"] for o in options] == ["0", "3"]
    assert all(o["nthreads"] == 1 and o["resources"] == {"GPU": 1} and o["env"]["OMP_NUM_THREADS"] == "1"
               for o in options)
    cpu = [spec["options"] for spec in local_worker_specs([], num_threads=1, n_cpu_workers=3).values()]
    assert len(cpu) == 3 and all(o["nthreads"] == 1 and not o["resources"] and o["env"]["CUDA_VISIBLE_DEVICES"] == ""
                                 for o in cpu)


def test_the_local_cluster_runs_one_training_per_gpu_worker(tmp_path, client):
    """Each worker sees its own GPU and advertises GPU=1, and every training holds its worker's GPU (none runs
    beside another on it)."""
    records = train_many([31, 32, 33, 34], DIGITS, seed=0, data_dir=None, client=client,
                         cache=RecordCache(tmp_path / "c.sqlite"), runs_dir=tmp_path / "runs", device="auto",
                         fn=fake_reporting_numerics)
    reports = _reports(records)
    assert {r["cuda_visible"] for r in reports} == {"0", "1"}
    assert all(r["free_gpu"] == 0 and r["nthreads"] == 1 and r["deterministic"] for r in reports)


@pytest.mark.slow
def test_train_many_without_a_client_starts_and_closes_the_local_cluster(tmp_path, monkeypatch):
    monkeypatch.setattr(live_distributed, "visible_gpus", lambda: ["0", "1"])
    records = train_many([35, 36], DIGITS, seed=0, data_dir=None, client=None,
                         cache=RecordCache(tmp_path / "c.sqlite"), runs_dir=tmp_path / "runs", device="auto",
                         fn=fake_reporting_numerics)
    assert {r["free_gpu"] for r in _reports(records)} == {0}


class _CountingClient:
    """A real client that notes the key of every submission."""

    def __init__(self, client) -> None:
        self.client, self.keys = client, []

    def submit(self, *args, key, **kwargs):
        self.keys.append(key)
        return self.client.submit(*args, key=key, **kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_each_key_is_submitted_once(tmp_path, client):
    counting, other = _CountingClient(client), Arch.parse("4,8,4,8,4,8")
    archs = [41, "4,8,4,8,4,8", other, 41, other.arch_id]
    records = train_many(archs, DIGITS, seed=5, data_dir=None, client=counting,
                         cache=RecordCache(tmp_path / "c.sqlite"), runs_dir=tmp_path / "runs", device="cpu",
                         fn=fake_train_and_evaluate)
    assert [r["arch_id"] for r in records] == [41, other.arch_id, other.arch_id, 41, other.arch_id]
    assert sorted(counting.keys) == sorted([train_key(DIGITS, 5, 41), train_key(DIGITS, 5, other.arch_id)])


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
