"""Fast stand-ins for training, importable by Dask workers (module-level, picklable)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nares_nas.live.pipeline import RECORD_FILE, make_record, resolve_profile, write_record
from nares_nas.metrics import HISTORY_KEYS, TEST_KEYS
from nares_nas.space import to_arch


def fake_record(arch, profile, seed: int = 0, epochs: int = 6) -> dict:
    """A record with values drawn from (seed, arch_id, profile): what a real run would return."""
    arch, profile = to_arch(arch), resolve_profile(profile)
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
