"""Fast stand-ins for training, importable by Dask workers (module-level, picklable)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nares_nas.live.pipeline import RECORD_FILE, make_record, write_record
from nares_nas.live.profiles import resolve_profile
from nares_nas.metrics import HISTORY_KEYS, TEST_KEYS
from nares_nas.space import to_arch


def fake_record(arch, profile, seed: int = 0, epochs: int | None = None) -> dict:
    """A record with values drawn from (seed, arch_id, profile): what a real run would return.

    ``epochs``: the length of its histories (default: the profile's, a full training).
    """
    arch, profile = to_arch(arch), resolve_profile(profile)
    epochs = profile.epochs if epochs is None else epochs
    rng = np.random.default_rng([seed, arch.arch_id, int(profile.key, 16)])
    history = {key: np.round(rng.uniform(1, 60, epochs), 2) for key in HISTORY_KEYS}
    history["train_acc"] = np.round(rng.uniform(0.2, 0.9, epochs), 4)  # a fraction, as the trainer writes
    best = int(np.argmax(history["cw"]))
    test = {key: round(float(rng.uniform(10, 90)), 2) for key in TEST_KEYS}
    return make_record(arch, profile, seed=seed, history=history, best_epoch=best,
                       gpu_type=f"fake-pid{os.getpid()}", timestamp="2024-05-06", training_time=0.001,
                       test=test)


def fake_train_and_evaluate(arch, profile, *, seed, data_dir, out_dir, device="auto", progress=True,
                            compile=False, num_threads=None) -> dict:
    """``train_and_evaluate``'s signature and outputs, without training."""
    record = fake_record(arch, profile, seed)
    write_record(record, Path(out_dir) / RECORD_FILE)
    return record


def failing_for_arch_1(arch, profile, *, seed, data_dir, out_dir, device="auto", progress=True,
                       compile=False, num_threads=None) -> dict:
    """Fails for arch_id 1 only, like a run that crashed."""
    if to_arch(arch).arch_id == 1:
        raise RuntimeError("simulated crash of arch_id 1")
    return fake_train_and_evaluate(arch, profile, seed=seed, data_dir=data_dir, out_dir=out_dir)


def fake_reporting_gpu(arch, profile, *, seed, data_dir, out_dir, device="auto", progress=True,
                       compile=False, num_threads=None) -> dict:
    """Like the fake trainer, but its ``gpu_type`` tells how many GPU resources were free on the worker
    while it ran (0 when the task holds the worker's one GPU)."""
    from distributed import get_worker

    free = get_worker().state.available_resources.get("GPU")
    record = fake_train_and_evaluate(arch, profile, seed=seed, data_dir=data_dir, out_dir=out_dir)
    record["train"][0]["gpu_type"] = f"free-GPU-{free}"
    return record


def fake_reporting_numerics(arch, profile, *, seed, data_dir, out_dir, device="auto", progress=True,
                            compile=False, num_threads=None) -> dict:
    """Like the fake trainer, but its ``gpu_type`` is a JSON report of the worker process it ran in: torch's
    threads and deterministic flag, the arguments ``num_threads`` and ``compile``, ``CUDA_VISIBLE_DEVICES``,
    the worker's thread count and its free GPU resource while the task ran."""
    import json
    import time

    import torch
    from distributed import get_worker

    worker = get_worker()
    report = {"torch_threads": torch.get_num_threads(), "deterministic": torch.are_deterministic_algorithms_enabled(),
              "num_threads": num_threads, "compile": compile, "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
              "nthreads": worker.state.nthreads, "free_gpu": worker.state.available_resources.get("GPU"),
              "pid": os.getpid()}
    time.sleep(0.2)  # long enough for the other worker to take the next task
    record = fake_train_and_evaluate(arch, profile, seed=seed, data_dir=data_dir, out_dir=out_dir)
    record["train"][0]["gpu_type"] = json.dumps(report)
    return record


# ------------------------------------------------------------------ a fake, slow trainer behind the real run lock
TRAININGS_FILE = "trainings.txt"  # one line (the pid) per training that ran in a run folder


def _slow_fake_train(arch, profile, bundle, out_dir, *, seed, device="auto", progress=True, compile=False,
                     num_threads=None, **kwargs):
    """``trainer.train``'s signature: notes its pid in ``out_dir/trainings.txt``, takes a second, and returns
    a ``TrainResult`` of :func:`fake_record`'s values."""
    import time

    from nares_nas.live.trainer import TrainResult

    with open(Path(out_dir) / TRAININGS_FILE, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(1.0)
    train = fake_record(arch, profile, seed)["train"][0]
    return TrainResult(arch=to_arch(arch), profile=profile, seed=seed, history={k: train[k] for k in HISTORY_KEYS},
                       best_epoch=train["best_epoch"], gpu_type=f"fake-pid{os.getpid()}", timestamp=train["timestamp"],
                       training_time=train["training_time"], best_checkpoint=Path(out_dir) / "best.pth")


def train_behind_the_lock(arch, profile, out_dir, barrier, result_path) -> None:
    """A child process: the real ``pipeline.train_and_evaluate`` (and its lock) with :func:`_slow_fake_train`
    and a fake evaluation; starts when ``barrier`` lets it and writes the record it got to ``result_path``."""
    import json

    from nares_nas.live import data, evaluator, pipeline, trainer

    trainer.train = _slow_fake_train  # in this child process only
    evaluator.evaluate_checkpoint = lambda path, profile, bundle, *, arch, seed, **kwargs: \
        fake_record(arch, profile, seed)["test_best"][0]
    data.datasets_for = lambda profile, data_dir=None: None
    barrier.wait(timeout=120)
    record = pipeline.train_and_evaluate(arch, profile, seed=0, data_dir=None, out_dir=out_dir, device="cpu",
                                         progress=False)
    Path(result_path).write_text(json.dumps(record))


# ------------------------------------------------------------------ a fake train_to: partial trainings and promotions
FOLDER_STATE = "fake_epochs.txt"  # how far the fake run folder has trained
TRAINED_LOG = "fake_trained.txt"  # one line "epoch_from epoch_to pid" per call that trained epochs


def fake_seconds_per_epoch(arch_id: int) -> float:
    """The fake cost of one epoch of ``arch_id``, in seconds."""
    return 100.0 * (1 + arch_id % 5)


def fake_train_to(arch, profile, *, seed, data_dir, out_dir, epochs=None, device="auto", progress=False,
                  compile=False, num_threads=None) -> dict:
    """``pipeline.train_to``'s signature and outputs: the first ``epochs`` epochs of :func:`fake_record`'s run
    (so a shorter training is a prefix of a longer one, as for the real trainer); the folder remembers how far
    it trained, a call trains only the epochs beyond (noted in ``fake_trained.txt``); test values at full
    epochs only."""
    arch, profile = to_arch(arch), resolve_profile(profile)
    target = profile.epochs if epochs is None else epochs
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = out_dir / FOLDER_STATE
    reached = int(state.read_text()) if state.is_file() else 0
    if target > reached:
        with open(out_dir / TRAINED_LOG, "a") as fh:
            fh.write(f"{reached} {target} {os.getpid()}\n")
        state.write_text(str(target))
    full = fake_record(arch, profile, seed)
    train = full["train"][0]
    history = {key: train[key][:target] for key in HISTORY_KEYS}
    best = int(np.argmax(history["cw"]))
    seconds = [fake_seconds_per_epoch(arch.arch_id) * (e + 1) for e in range(target)]
    test = full["test_best"][0] if target == profile.epochs else {}
    record = make_record(arch, profile, seed=seed, history=history, best_epoch=best, gpu_type="fake",
                         timestamp="2024-05-06", training_time=seconds[-1] / 86400, test=test)
    return {"record": record, "epoch_seconds": seconds, "resumed_from": reached}


def fake_train_to_reporting(arch, profile, **kwargs) -> dict:
    """:func:`fake_train_to` after a pause, writing ``worker.json`` in the run folder: the worker's
    ``CUDA_VISIBLE_DEVICES`` and its free GPU resource while the task ran."""
    import json
    import time

    from distributed import get_worker

    report = {"cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
              "free_gpu": get_worker().state.available_resources.get("GPU")}
    time.sleep(0.3)
    out = fake_train_to(arch, profile, **kwargs)
    (Path(kwargs["out_dir"]) / "worker.json").write_text(json.dumps(report))
    return out
