"""Train one architecture, evaluate its best checkpoint, and write one NARes record.

The record is a ``cifar10.jsonl`` object (spec §4) plus a ``"profile"`` key holding the
training profile, so live results load through the same tabular loader as the published
data (:func:`nares_nas.data.jsonl.read_source` ignores unknown top-level keys) and a record never
loses track of how it was made.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas._atomic import write_bytes_atomic
from nares_nas._optional import require
from nares_nas._validation import check_int, check_seed
from nares_nas.errors import DataFormatError
from nares_nas.live.profiles import resolve_profile
from nares_nas.metrics import HISTORY_KEYS, TEST_KEYS
from nares_nas.space import KEYS, ArchLike, to_arch

log = logging.getLogger(__name__)

RECORD_FILE = "record.json"
LOCK_FILE = "run.lock"
# torch CPU threads of a run. Fixed, because CPU results depend on the thread count (so a run is
# determined by its seed on any machine), and 1 because the small CPU profiles' tensors gain
# nothing from more: `train 4,8,4,8,4,8 --profile digits` took 1m51 of CPU time with 1 thread
# and 16m51 with 2 on a loaded 2-core machine.
DEFAULT_THREADS = 1
LIVE_MODE = "live mode (training and attacks)"
"""What needs torch here, as the one-line error for a missing torch extra names it."""


def profile_dict(profile: Any) -> dict[str, Any]:
    """The profile as plain JSON values (tuples become lists)."""
    return profile.to_dict()


def run_dir(root: str | os.PathLike, profile: Any, arch_id: int, seed: int) -> Path:
    """``root/<profile>-<key>/seed_<seed>/arch_<id>``: one folder per run.

    The profile's key and the seed are part of the path because the trainer resumes from
    what it finds in its folder: a run of another profile or seed must never be resumed.
    """
    return Path(root) / f"{profile.name}-{profile.key}" / f"seed_{seed}" / f"arch_{arch_id}"


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars and arrays become Python values, NaN/inf become null."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None  # strict JSON, as orjson reads it
    if hasattr(value, "item"):  # 0-d torch tensors
        return _plain(value.item())
    return value


def make_record(
    arch: ArchLike,
    profile: Any,
    *,
    seed: int,
    history: Mapping[str, Sequence[float]],
    best_epoch: int,
    gpu_type: str,
    timestamp: str,
    training_time: float,
    test: Mapping[str, Any],
) -> dict[str, Any]:
    """One ``cifar10.jsonl`` object (spec §4) plus ``"profile"`` and ``"model"``.

    ``MACs``/``Params`` are the NARes-space counts in millions (2 decimals), as the published
    data stores them and as the metric functions compute them, whatever the profile's width: they
    identify the architecture, and the loader checks them against it. ``"model"`` holds the exact
    counts of the model the profile trains (``macs`` per image at its resolution, ``params``), which
    differ under a narrower or smaller-input profile such as ``digits``.
    ``history`` holds the 12 per-epoch lists under their JSON names (``train_acc`` as a
    fraction, as the training logs write it); ``test`` the ``test_best`` keys.
    """
    from nares_nas.live.model import model_counts

    arch = to_arch(arch)
    profile = resolve_profile(profile)
    missing = [key for key in HISTORY_KEYS if key not in history]
    if missing:
        raise DataFormatError(f"training history lacks {missing}", key=missing[0])
    lengths = {key: len(history[key]) for key in HISTORY_KEYS}
    epochs = lengths["train_loss"]
    uneven = {key: n for key, n in lengths.items() if n != epochs}
    if epochs == 0 or uneven:
        raise DataFormatError(f"per-epoch lists must all hold the same number (>0) of epochs, got {lengths}")
    if not 0 <= int(best_epoch) < epochs:
        raise DataFormatError(f"best_epoch {best_epoch} is outside 0..{epochs - 1}", key="best_epoch")
    train = {
        "seed": int(seed), "gpu_type": str(gpu_type), "timestamp": str(timestamp),
        "training_time": float(training_time), "best_epoch": int(best_epoch),
        **{key: _plain(history[key]) for key in HISTORY_KEYS},
    }
    test_best = {key: _plain(test.get(key)) for key in TEST_KEYS}
    if test.get("corruptions"):
        test_best["corruptions"] = _plain(test["corruptions"])
    return {
        "arch_id": arch.arch_id,
        "arch": dict(zip(KEYS, arch.to_tuple())),
        "MACs": round(arch.macs / 1e6, 2),
        "Params": round(arch.params / 1e6, 2),
        "train": [train],
        "test_best": [test_best],
        "profile": profile_dict(profile),
        "model": model_counts(arch, profile.base_channels, profile.resolution),
    }


def write_record(record: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``record`` as JSON to ``path`` atomically (a reader never sees half a file)."""
    return write_bytes_atomic(path, (json.dumps(record, allow_nan=False) + "\n").encode())


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    """A record written by :func:`write_record`."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataFormatError("no such file", path=str(path)) from None
    except ValueError as exc:
        raise DataFormatError(f"not a JSON record ({exc})", path=str(path)) from None


def _finished_record(path: Path, arch: Any, profile: Any, seed: int) -> dict[str, Any] | None:
    """The record at ``path`` if it is this very run's (arch, profile and seed), else None."""
    if not path.is_file():
        return None
    record = read_record(path)
    same = (record.get("arch_id") == arch.arch_id and record.get("profile") == profile_dict(profile)
            and (record.get("train") or [{}])[0].get("seed") == seed)
    if not same:
        raise DataFormatError(f"{path.parent} holds another run's record; use another output folder",
                              path=str(path))
    return record


@contextlib.contextmanager
def run_lock(out_dir: str | os.PathLike) -> Iterator[None]:
    """Hold ``out_dir``'s lock (``run.lock``, a ``filelock.FileLock``): one process trains in a run folder
    at a time, so checkpoint and resume writes never interleave. Waits for as long as another holds it."""
    from filelock import FileLock, Timeout  # 30-70 ms: only where a training runs, not at every command's start

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out_dir / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("%s is being trained by another process; waiting for it", out_dir)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def train_and_evaluate(
    arch: ArchLike,
    profile: Any,
    *,
    seed: int,
    data_dir: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    device: str = "auto",
    progress: bool = True,
    compile: bool = False,
    num_threads: int | None = DEFAULT_THREADS,
) -> dict[str, Any]:
    """Train ``arch`` under ``profile``, evaluate its best checkpoint, return its record.

    Checkpoints go to ``out_dir/checkpoints/`` and the record to ``out_dir/record.json``.
    A rerun with the same folder resumes an interrupted training, and returns the record at
    once when the run (same arch, profile and seed) is finished. The folder is locked while a
    run trains in it (:func:`run_lock`): a second process asking for the same run waits, then
    returns the record the first wrote. ``num_threads`` fixes torch's CPU threads for training
    and evaluation (None: leave them as they are).
    """
    require("torch", LIVE_MODE)
    from nares_nas.live import data

    arch = to_arch(arch)
    profile = resolve_profile(profile)
    seed = check_seed(seed)
    if num_threads is not None:
        check_int(num_threads, "num_threads")
    bundle = data.datasets_for(profile, data_dir)  # before any folder is made: missing data fails first
    out_dir = Path(out_dir)
    done = _finished_record(out_dir / RECORD_FILE, arch, profile, seed)
    if done is not None:
        log.info("%s already holds the finished record of this run", out_dir)
        return done
    with run_lock(out_dir):
        done = _finished_record(out_dir / RECORD_FILE, arch, profile, seed)
        if done is not None:  # another process finished this run while we waited for the lock
            log.info("%s: another process finished this run; its record is reused", out_dir)
            return done
        record = _train_and_evaluate(arch, profile, bundle, seed, out_dir, device, progress, compile, num_threads)
        write_record(record, out_dir / RECORD_FILE)
    return record


@contextlib.contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``num_threads`` meanwhile (None: left as they are), then restored."""
    import torch

    saved = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def _record_of(arch: Any, profile: Any, result: Any, test: Mapping[str, Any]) -> dict[str, Any]:
    """The record of a training ``result`` (:func:`~.trainer.train`) with its ``test`` values."""
    return make_record(arch, profile, seed=result.seed, history=result.history, best_epoch=result.best_epoch,
                       gpu_type=result.gpu_type, timestamp=result.timestamp, training_time=result.training_time,
                       test=test)


def _train_and_evaluate(arch: Any, profile: Any, bundle: Any, seed: int, out_dir: Path, device: str,
                        progress: bool, compile: bool, num_threads: int | None) -> dict[str, Any]:
    from nares_nas.live import evaluator, trainer

    with _torch_threads(num_threads):
        log.info("training %s (arch_id %d) under profile %s, seed %d", arch, arch.arch_id, profile.name, seed)
        result = trainer.train(arch, profile, bundle, out_dir, seed=seed, device=device, progress=progress,
                               compile=compile, num_threads=num_threads)
        log.info("evaluating %s", result.best_checkpoint)
        test = evaluator.evaluate_checkpoint(result.best_checkpoint, profile, bundle, arch=arch, seed=seed,
                                             device=device, progress=progress)
    return _record_of(arch, profile, result, test)


def train_to(
    arch: ArchLike,
    profile: Any,
    *,
    seed: int,
    data_dir: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    epochs: int | None = None,
    device: str = "auto",
    progress: bool = False,
    compile: bool = False,
    num_threads: int | None = DEFAULT_THREADS,
) -> dict[str, Any]:
    """Train ``arch`` to ``epochs`` epochs (None: the profile's full training) in ``out_dir``.

    One evaluation of live search: the run folder resumes from its checkpoint (a promotion
    continues where the last evaluation stopped), and the test set is evaluated only at the
    profile's full epochs, once (``record.json`` holds it; a finished run is not evaluated
    again). Below full epochs the record has the validation history only: its ``test_best``
    values are null. Returns ``{"record": ..., "epoch_seconds": [...], "resumed_from": e}``:
    the record of the first ``epochs`` epochs, the cumulative training seconds after each of
    them (what an evaluation from ``e1`` to ``e2`` cost is the difference) and the epochs the
    folder held when the call began. The folder is locked meanwhile (:func:`run_lock`).
    """
    require("torch", LIVE_MODE)
    from nares_nas.live import data, evaluator, trainer

    arch = to_arch(arch)
    profile = resolve_profile(profile)
    full = epochs is None or epochs == profile.epochs
    bundle = data.datasets_for(profile, data_dir)
    out_dir = Path(out_dir)
    with _torch_threads(num_threads), run_lock(out_dir):
        result = trainer.train(arch, profile, bundle, out_dir, seed=seed, device=device, progress=progress,
                               compile=compile, num_threads=num_threads, epochs=epochs)
        record = _finished_record(out_dir / RECORD_FILE, arch, profile, seed) if full else None
        if record is None:
            test: Mapping[str, Any] = {}
            if full:
                log.info("evaluating %s", result.best_checkpoint)
                test = evaluator.evaluate_checkpoint(result.best_checkpoint, profile, bundle, arch=arch,
                                                     seed=seed, device=device, progress=progress)
            record = _record_of(arch, profile, result, test)
            if full:
                write_record(record, out_dir / RECORD_FILE)
    return {"record": record, "epoch_seconds": list(result.epoch_seconds), "resumed_from": result.resumed_from}


__all__ = [
    "DEFAULT_THREADS", "LOCK_FILE", "RECORD_FILE", "make_record", "profile_dict", "read_record", "resolve_profile",
    "run_dir", "run_lock", "train_and_evaluate", "train_to", "write_record",
]
