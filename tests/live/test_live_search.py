"""Live search on N workers (nares_nas.live.driver): partial trainings, promotions, budgets in flight, resume."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nares_nas.asktell import Proposal
from nares_nas.errors import ConfigError
from nares_nas.live import checkpoints, pipeline
from nares_nas.live.cache import RecordCache
from nares_nas.live.driver import LiveSearch, replay
from nares_nas.live.executors import InProcessExecutor
from nares_nas.live.pipeline import run_dir
from nares_nas.live.profiles import DIGITS
from nares_nas.searchers import Asha, RandomSearch, Searcher
from nares_nas.simulation.budget import Budget

from . import _fakes
from ._fakes import FOLDER_STATE, TRAINED_LOG, fake_record, fake_seconds_per_epoch, fake_train_to
from .test_trainer import ARCH, TINY

FAKE9 = dataclasses.replace(DIGITS, name="fake9", epochs=9, lr_milestones=(6, 7), save_epochs=(5, 6))


# --------------------------------------------------------------------------- helpers
class Scripted(Searcher):
    """Proposes the given (arch, epochs) pairs one after another, then waits for everything."""

    def __init__(self, plan: tuple = ()) -> None:
        self.plan = plan

    def propose(self, space, budget, rng, *, maximize=True, max_epochs=None):
        for arch_id, epochs in self.plan:
            yield Proposal(arch_id, epochs)
        while True:
            if (yield None) == []:
                return


class VirtualExecutor:
    """``workers`` workers on a virtual clock: a job takes its fake seconds per epoch times the epochs it
    adds, jobs finish in end-time order (ties: submission order), one per wait. ``kill_at`` raises
    KeyboardInterrupt at that wait, as a killed driver stops."""

    worker_processes = False

    def __init__(self, workers: int, kill_at: int | None = None) -> None:
        self.workers, self.kill_at, self.now, self.waits, self.count = workers, kill_at, 0.0, 0, 0

    def submit(self, fn, *args, **kwargs):
        arch = args[1]
        span = fake_seconds_per_epoch(arch.arch_id) * kwargs["epochs"]
        self.count += 1
        return _VirtualJob(self.now + span, self.count, (fn, args, kwargs))

    def wait(self, jobs):
        self.waits += 1
        if self.kill_at is not None and self.waits >= self.kill_at:
            raise KeyboardInterrupt
        job = min(jobs, key=lambda j: (j.end, j.number))
        self.now = job.end
        fn, args, kwargs = job.call
        job.value = fn(*args, **kwargs)
        return [job]


@dataclasses.dataclass(eq=False)
class _VirtualJob:
    end: float
    number: int
    call: tuple
    value: object = None

    def result(self):
        return self.value


def driver(tmp_path, searcher, *, executor=None, profile=FAKE9, budget=None, seed=0, log=True,
           resume=False, cache="cache.sqlite", **kwargs) -> LiveSearch:
    return LiveSearch(searcher, profile, seed=seed, budget=budget or Budget(archs=5),
                      executor=executor or InProcessExecutor(), cache=tmp_path / cache, runs_dir=tmp_path / "runs",
                      device="cpu", train_fn=fake_train_to,
                      log_path=tmp_path / "log.json" if log else None, resume=resume, **kwargs)


def trainings(tmp_path, profile=FAKE9, seed=0) -> dict[int, list[tuple[int, int]]]:
    """(epoch_from, epoch_to) of every fake training call that trained epochs, by arch."""
    found = {}
    for path in (tmp_path / "runs").glob(f"{profile.name}-*/seed_{seed}/arch_*/{TRAINED_LOG}"):
        arch_id = int(path.parent.name.split("_")[1])
        found[arch_id] = [tuple(map(int, line.split()[:2])) for line in path.read_text().splitlines()]
    return found


def fidelity_value(record: dict, epochs: int, key: str = "pgd") -> float:
    """The fidelity rule by hand: the recorded best_epoch if below ``epochs``, else the first max of cw."""
    train = record["train"][0]
    cw = train["cw"][:epochs]
    chosen = train["best_epoch"] if train["best_epoch"] < epochs else cw.index(max(cw))
    return train[key][chosen]


# --------------------------------------------------------------------------- the trainer and pipeline
def test_train_to_e_then_resume_to_e2_equals_training_straight_to_e2(tmp_path):
    """A promotion resumes the run folder: bit-identical weights and history on the CPU."""
    from nares_nas.live import trainer
    from nares_nas.live.data import datasets_for

    data = datasets_for(TINY)
    common = dict(seed=4, device="cpu", progress=False, num_threads=1)
    first = trainer.train(ARCH, TINY, data, tmp_path / "promoted", epochs=1, **common)
    assert len(first.history["cw"]) == 1 and first.resumed_from == 0
    promoted = trainer.train(ARCH, TINY, data, tmp_path / "promoted", epochs=3, **common)
    straight = trainer.train(ARCH, TINY, data, tmp_path / "straight", epochs=3, **common)
    assert promoted.resumed_from == 1 and promoted.history == straight.history
    assert promoted.best_epoch == straight.best_epoch and len(promoted.epoch_seconds) == 3
    assert promoted.epoch_seconds[0] == first.epoch_seconds[0]
    for tag in ("last", "best", "resume"):
        a = torch.load(checkpoints.checkpoint_path(tmp_path / "promoted", ARCH.arch_id, tag), weights_only=True)
        b = torch.load(checkpoints.checkpoint_path(tmp_path / "straight", ARCH.arch_id, tag), weights_only=True)
        assert a["model_state_dict"].keys() == b["model_state_dict"].keys()
        assert all(torch.equal(a["model_state_dict"][k], b["model_state_dict"][k]) for k in a["model_state_dict"])
    # a folder that trained further answers a shorter training with its history's prefix, training nothing
    again = trainer.train(ARCH, TINY, data, tmp_path / "straight", epochs=2, **common)
    assert again.history == {k: v[:2] for k, v in straight.history.items()} and again.resumed_from == 3
    cw = straight.history["cw"][:2]
    assert again.best_epoch == cw.index(max(cw)) and again.epoch_seconds == straight.epoch_seconds[:2]


def test_no_test_set_evaluation_below_full_epochs(tmp_path, monkeypatch):
    from nares_nas.live import evaluator

    calls = []
    real = evaluator.evaluate_checkpoint

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluator, "evaluate_checkpoint", counting)
    out_dir = tmp_path / "run"
    common = dict(seed=0, data_dir=None, out_dir=out_dir, device="cpu", num_threads=1)
    partial = pipeline.train_to(ARCH, TINY, epochs=2, **common)
    assert calls == [] and not (out_dir / pipeline.RECORD_FILE).exists()
    record = partial["record"]
    assert len(record["train"][0]["cw"]) == 2 and set(record["test_best"][0].values()) == {None}
    assert partial["resumed_from"] == 0 and len(partial["epoch_seconds"]) == 2
    cache = RecordCache(tmp_path / "c.sqlite")
    assert cache.put(record, TINY, 0, epochs=2) and cache.epochs_held(ARCH.arch_id, TINY, 0) == [2]
    full = pipeline.train_to(ARCH, TINY, epochs=None, **common)
    assert len(calls) == 1 and full["resumed_from"] == 2 and (out_dir / pipeline.RECORD_FILE).is_file()
    assert full["record"]["train"][0]["cw"][:2] == record["train"][0]["cw"]
    assert full["record"]["test_best"][0]["Linf_pgd_acc"] is not None
    assert pipeline.train_to(ARCH, TINY, epochs=None, **common)["record"] == full["record"]
    assert len(calls) == 1  # the finished run is not evaluated again


# --------------------------------------------------------------------------- the driver
def test_partial_records_are_cached_and_answer_later_queries(tmp_path):
    plan = ((11, 3), (11, 9), (12, 4))
    run = driver(tmp_path, Scripted(plan), log=False).run()
    assert [(r["arch_id"], r["epoch_from"], r["epoch_to"], r["source"]) for r in run.evaluations] == [
        (11, 0, 3, "trained"), (11, 3, 9, "trained"), (12, 0, 4, "trained")]
    # costs: the measured seconds of the epochs each evaluation added
    assert [r["cost"] * 86400 for r in run.evaluations] == pytest.approx(
        [3 * fake_seconds_per_epoch(11), 6 * fake_seconds_per_epoch(11), 4 * fake_seconds_per_epoch(12)])
    cache = RecordCache(tmp_path / "cache.sqlite")
    assert cache.epochs_held(11, FAKE9, 0) == [3, 9] and cache.epochs_held(12, FAKE9, 0) == [4]
    assert trainings(tmp_path) == {11: [(0, 3), (3, 9)], 12: [(0, 4)]}
    # another run: (11, 5) from the full record, (12, 2) from the partial one (recorded once: (12, 4) is then in
    # the run's own history, free and unrecorded, as on the clock), (12, 7) trains on from the cached 4 epochs
    again = driver(tmp_path, Scripted(((11, 5), (12, 2), (12, 4), (12, 7))), seed=1, log=False).run()
    assert [(r["arch_id"], r["epoch_to"], r["source"]) for r in again.evaluations] == [
        (11, 5, "cache"), (12, 2, "cache"), (12, 7, "trained")]
    assert again.evaluations[-1]["epoch_from"] == 4 and trainings(tmp_path)[12] == [(0, 4), (4, 7)]
    assert again.evaluations[-1]["cost"] * 86400 == pytest.approx(3 * fake_seconds_per_epoch(12))
    assert all(r["cost"] == 0 and r["worker"] == -1 for r in again.evaluations[:2])
    partial12 = cache.get(12, FAKE9, 0, epochs=4)
    told = {(a, e): v for _, results in again.steps for a, e, v in results}
    assert told == {(11, 5): fidelity_value(fake_record(11, FAKE9, 0), 5), (12, 2): fidelity_value(partial12, 2),
                    (12, 4): fidelity_value(partial12, 4), (12, 7): fidelity_value(fake_record(12, FAKE9, 0), 7)}


def test_the_distinct_arch_budget_counts_at_dispatch(tmp_path):
    executor = VirtualExecutor(3)
    run = driver(tmp_path, RandomSearch(), executor=executor, budget=Budget(archs=4), log=False).run()
    assert len(run.evaluations) == 4 == len({r["arch_id"] for r in run.evaluations}) and executor.count == 4
    assert not run.stopped and sorted(r["worker"] for r in run.evaluations[:3]) == [0, 1, 2]
    # a searcher that ignores the budget: the fifth architecture is refused while four are in flight or done
    executor = VirtualExecutor(3)
    plan = tuple((arch_id, 9) for arch_id in (31, 32, 33, 34, 35, 36))
    run = driver(tmp_path, Scripted(plan), executor=executor, budget=Budget(archs=4), log=False).run()
    assert [r["arch_id"] for r in run.evaluations] == [31, 32, 33, 34] and executor.count == 4 and run.stopped


def test_progress_lines_say_what_starts_and_finishes_and_what_it_ran_on(tmp_path, capsys, monkeypatch):
    """One plain line per event here (interval 0); the cost is labelled by the device the trainings report."""
    from nares_nas import progress

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)

    def on_the_cpu(*args, **kwargs):
        out = fake_train_to(*args, **kwargs)
        out["record"]["train"][0]["gpu_type"] = "cpu"  # what the trainer writes on the CPU
        return out

    run = LiveSearch(Scripted(((31, 4), (32, 9))), FAKE9, seed=0, budget=Budget(archs=5), executor=InProcessExecutor(),
                     cache=tmp_path / "c.sqlite", runs_dir=tmp_path / "runs", train_fn=on_the_cpu, progress=True).run()
    lines = capsys.readouterr().err.splitlines()
    partial = fidelity_value(fake_record(31, FAKE9, 0), 4)
    assert lines[0] == "live search seed 0: training arch_id 31 from epoch 0 to 4 on worker 0; 0 trainings done, " \
                       f"1 running, 1 archs, {lines[0].rsplit(', ', 1)[1]}"
    seconds = fake_seconds_per_epoch(31) * 4
    assert lines[1].startswith(f"live search seed 0: arch_id 31 trained to 4 epochs in {seconds:.0f} s, "
                               f"VAL_PGD_ACC {partial:.2f}; 1 trainings done, 0 running, 1 archs")
    assert len(lines) == 4 and "arch_id 32 trained to 9 epochs" in lines[3]
    assert run.hardware == "CPU" and run.clock()["hardware"] == "CPU"
    # a GPU's name (what the trainer writes on CUDA) counts as a GPU
    cuda = driver(tmp_path / "gpu", Scripted(((33, 9),)), log=False).run()  # the fake reports gpu_type "fake"
    assert cuda.hardware == "GPU"


def test_max_cost_stops_dispatching_once_spent_plus_in_flight_reaches_it(tmp_path, monkeypatch):
    """Two workers, every training T seconds, max_cost 3.5 T: worked out by hand. Dispatch a1, a2 (nothing
    spent, nothing known of costs); a1 ends: spent T, in flight a2 ~T -> 2T < 3.5T, dispatch a3; a2 ends:
    2T + T -> dispatch a4; a3 ends: 3T + T >= 3.5T, stop; a4 finishes in flight: 4T in all (<= 3.5T + 2T)."""
    T = 9 * 500.0
    for module in (_fakes, sys.modules[__name__]):
        monkeypatch.setattr(module, "fake_seconds_per_epoch", lambda arch_id: 500.0)
    executor = VirtualExecutor(2)
    run = driver(tmp_path, RandomSearch(), executor=executor, budget=Budget(cost=3.5 * T / 86400), log=False).run()
    assert executor.count == 4 and run.stopped
    assert run.cost_days * 86400 == pytest.approx(4 * T)
    assert [r["order"] for r in run.evaluations] == [0, 1, 2, 3]


def test_kill_and_resume_on_one_worker_ends_as_an_uninterrupted_run(tmp_path):
    """One worker: the run is a function of its seed, so killed and resumed it is the uninterrupted run."""
    searcher = Asha(min_epochs=1, eta=3)
    reference = driver(tmp_path / "a", searcher, budget=Budget(archs=8)).run()

    class Killing(InProcessExecutor):
        def __init__(self, at):
            self.at, self.waits = at, 0

        def wait(self, jobs):
            self.waits += 1
            if self.waits == self.at:
                raise KeyboardInterrupt
            return super().wait(jobs)

    with pytest.raises(KeyboardInterrupt):
        driver(tmp_path / "b", Asha(min_epochs=1, eta=3), executor=Killing(6), budget=Budget(archs=8)).run()
    killed = json.loads((tmp_path / "b" / "log.json").read_text())
    finished = [(r["arch_id"], r["epoch_to"]) for r in killed["evaluations"] if r["order"] is not None]
    assert len(finished) == 5 and not killed["finished"]
    with pytest.raises(ConfigError, match="resume it"):
        driver(tmp_path / "b", Asha(min_epochs=1, eta=3), budget=Budget(archs=8)).run()
    resumed = driver(tmp_path / "b", Asha(min_epochs=1, eta=3), budget=Budget(archs=8), resume=True).run()
    keys = ("arch_id", "epoch_from", "epoch_to", "value", "source", "order")
    assert [[r[k] for k in keys] for r in resumed.evaluations] == [[r[k] for k in keys] for r in reference.evaluations]
    assert resumed.steps == reference.steps
    assert resumed.trajectory().arch_ids.tolist() == reference.trajectory().arch_ids.tolist()
    # nothing trained twice: each fake training call added epochs no earlier call had trained
    for arch_id, calls in trainings(tmp_path / "b").items():
        assert [a for a, _ in calls] == [0] + [b for _, b in calls[:-1]], arch_id


def test_kill_and_resume_on_three_workers_replays_the_log(tmp_path):
    """Three workers: the resumed run retrains nothing finished, and its final log replays exactly."""
    budget = Budget(archs=12)
    with pytest.raises(KeyboardInterrupt):
        driver(tmp_path, Asha(min_epochs=1, eta=3), executor=VirtualExecutor(3, kill_at=7), budget=budget).run()
    killed = json.loads((tmp_path / "log.json").read_text())
    in_flight = [r for r in killed["evaluations"] if r["order"] is None]
    # killed while waiting with all three workers busy: six finished, and the trainings in flight that the log
    # holds (the last dispatch is written with the next event; replaying the log proposes it again)
    assert 1 <= len(in_flight) <= 3 and sum(r["order"] is not None for r in killed["evaluations"]) == 6
    before = trainings(tmp_path)
    executor = VirtualExecutor(3)
    resumed = driver(tmp_path, Asha(min_epochs=1, eta=3), executor=executor, budget=budget, resume=True).run()
    assert resumed.evaluations[:len(killed["evaluations"])] == [
        {**r, **{k: resumed.evaluations[i][k] for k in ("start", "end", "cost", "value", "pid", "order", "told")}}
        for i, r in enumerate(killed["evaluations"])]
    after = trainings(tmp_path)
    for arch_id, calls in before.items():
        assert after[arch_id][:len(calls)] == calls  # nothing finished trained again
    for arch_id, calls in after.items():
        assert [a for a, _ in calls] == [0] + [b for _, b in calls[:-1]], arch_id
    assert len({(r["arch_id"], r["epoch_to"]) for r in resumed.evaluations}) == len(resumed.evaluations)
    final = json.loads((tmp_path / "log.json").read_text())
    assert final["finished"] and final["steps"] == resumed.steps
    commands = replay(Asha(min_epochs=1, eta=3), final, max_epochs=FAKE9.epochs, budget=12)
    assert commands[:-1] == [step[0] for step in final["steps"]]
    # the run's result is the log's: its full trainings in finish order
    full = sorted((r for r in final["evaluations"] if r["epoch_to"] == 9), key=lambda r: r["order"])
    assert resumed.trajectory().arch_ids.tolist() == [r["arch_id"] for r in full]


def test_a_log_of_another_run_or_searcher_is_refused(tmp_path):
    driver(tmp_path, Scripted(((5, 3),)), budget=Budget(archs=5)).run()
    with pytest.raises(ConfigError, match="another live run"):
        driver(tmp_path, Scripted(((5, 3),)), budget=Budget(archs=6), resume=True).run()
    log = json.loads((tmp_path / "log.json").read_text())
    log["finished"], log["steps"][0][0] = False, [6, 3]  # a log whose first proposal is not this searcher's
    (tmp_path / "log.json").write_text(json.dumps(log))
    with pytest.raises(ConfigError, match="step 0 of the log is arch_id 6 at 3 epochs, but the searcher now yields "
                                          "arch_id 5 at 3 epochs"):
        driver(tmp_path, Scripted(((5, 3),)), budget=Budget(archs=5), resume=True).run()


def test_bad_input_gets_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match="epochs must be an integer in 1..9"):
        driver(tmp_path, Scripted(((5, 10),)), log=False).run()
    with pytest.raises(ConfigError, match="no per-epoch history"):
        driver(tmp_path, Asha(), log=False, objective="TRAINING_TIME")


# --------------------------------------------------------------------------- Dask workers
@pytest.fixture(scope="module")
def two_gpu_workers():
    """The executor of --workers 2 on a machine with two GPUs (pretended: the tasks train on the CPU)."""
    pytest.importorskip("distributed")
    from nares_nas.live import distributed as live_distributed
    from nares_nas.live.executors import open_executor

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live_distributed, "visible_gpus", lambda: ["0", "1"])
        with open_executor(2, device="auto") as executor:
            yield executor


def test_two_workers_train_concurrently(tmp_path, two_gpu_workers):
    """Real tiny trainings (one epoch) on two single-thread worker processes, one per (pretended) GPU: both
    busy at once."""
    assert two_gpu_workers.resources == {"GPU": 1}
    run = LiveSearch(Scripted(((ARCH.arch_id, 1), (7, 1))), TINY, seed=3, budget=Budget(archs=2),
                     executor=two_gpu_workers, cache=tmp_path / "c.sqlite", runs_dir=tmp_path / "runs",
                     device="auto").run()
    a, b = run.evaluations
    assert {a["worker"], b["worker"]} == {0, 1} and a["pid"] != b["pid"] and a["source"] == b["source"] == "trained"
    assert a["start"] < b["end"] and b["start"] < a["end"]  # the two trainings overlap in time
    cache = RecordCache(tmp_path / "c.sqlite")
    for row in (a, b):
        record = cache.get(row["arch_id"], TINY, 0, epochs=1)
        assert len(record["train"][0]["cw"]) == 1 and row["value"] == record["train"][0]["pgd"][0]
        assert 0 < row["cost"] * 86400 < row["end"] * 86400 - row["start"] * 86400


def test_each_worker_holds_its_own_gpu(tmp_path, two_gpu_workers):
    from ._fakes import fake_train_to_reporting

    run = LiveSearch(Scripted(((21, 2), (22, 2), (21, 9), (22, 9))), FAKE9, seed=0, budget=Budget(archs=4),
                     executor=two_gpu_workers, cache=tmp_path / "c.sqlite", runs_dir=tmp_path / "runs",
                     device="auto", train_fn=fake_train_to_reporting).run()
    assert len(run.evaluations) == 4
    reports = [json.loads((run_dir(tmp_path / "runs", FAKE9, a, 0) / "worker.json").read_text()) for a in (21, 22)]
    assert all(r["free_gpu"] == 0 for r in reports) and {r["cuda_visible"] for r in reports} <= {"0", "1"}
    assert int(Path(run_dir(tmp_path / "runs", FAKE9, 21, 0) / FOLDER_STATE).read_text()) == 9
    assert np.isfinite(run.cost_days)
