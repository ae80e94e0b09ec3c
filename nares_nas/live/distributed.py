"""Train many architectures at once on a Dask cluster, one GPU per task.

Each architecture becomes one task running :func:`~nares_nas.live.pipeline.train_and_evaluate`
on a worker. On GPUs every task asks for the worker resource ``GPU=1``, so start one worker
per GPU with ``--resources GPU=1`` (and ``CUDA_VISIBLE_DEVICES`` set per worker, as
``dask-cuda``'s ``LocalCUDACluster`` does). Workers never touch the cache: the driver stores
each record as its future completes, so a failed or cancelled run loses nothing finished.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, NaresError
from ..home import data_home
from ..space import ArchLike, to_arch
from .cache import RecordCache
from .pipeline import DEFAULT_THREADS, resolve_profile, run_dir, train_and_evaluate

log = logging.getLogger(__name__)

GPU_RESOURCES: dict[str, float] = {"GPU": 1}


def _client(client: Any):
    """A ``distributed.Client`` from a client, a scheduler address, or None (a local cluster)."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("scale-out needs dask: pip install 'nares-nas[dask]'") from None
    if client is None:
        return Client(processes=True), True
    if isinstance(client, str):
        return Client(client), True
    return client, False


def _wants_gpu(client: Any, device: str) -> bool:
    """Whether tasks must ask for a GPU: ``cuda``, or ``auto`` on a cluster offering GPUs."""
    workers = client.scheduler_info().get("workers", {})
    has_gpu = any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers.values())
    if device == "cuda" and not has_gpu:
        raise ConfigError("device 'cuda' needs workers started with --resources GPU=1; "
                          "none of the cluster's workers offers a GPU")
    return device == "cuda" or (device == "auto" and has_gpu)


def train_many(
    archs: Iterable[ArchLike],
    profile: Any,
    *,
    seed: int,
    data_dir: str | os.PathLike | None,
    client: Any = None,
    cache: RecordCache | str | os.PathLike | None = None,
    runs_dir: str | os.PathLike | None = None,
    device: str = "auto",
    resources: Mapping[str, float] | None = None,
    num_threads: int | None = DEFAULT_THREADS,
    fn: Callable[..., Mapping[str, Any]] = train_and_evaluate,
) -> list[dict[str, Any]]:
    """Records of ``archs`` (in their order), training on the cluster what the cache lacks.

    ``client``: a ``distributed.Client``, a scheduler address, or None for a local cluster
    (closed afterwards). ``resources`` overrides the per-task worker resources (default
    ``{"GPU": 1}`` when the tasks run on GPUs, none on CPUs). ``fn`` has
    ``train_and_evaluate``'s signature; it must be importable on the workers. ``num_threads``
    is each task's torch CPU threads.
    Every finished record is in the cache even if other tasks fail; failures are raised
    together at the end.
    """
    from distributed import as_completed

    profile = resolve_profile(profile)
    arch_list = [to_arch(a) for a in archs]
    cache = cache if isinstance(cache, RecordCache) else RecordCache(cache)
    if runs_dir is None:
        runs_dir = (Path(data_dir) if data_dir is not None else data_home()) / "runs"
    results: dict[int, dict[str, Any]] = {}
    todo = []
    for arch in arch_list:
        found = cache.get(arch.arch_id, profile, seed)
        if found is not None:
            results[arch.arch_id] = found
        elif arch.arch_id not in {a.arch_id for a in todo}:
            todo.append(arch)
    log.info("%d architectures: %d cached, %d to train", len(arch_list), len(arch_list) - len(todo), len(todo))
    if todo:
        dask_client, owned = _client(client)
        try:
            if resources is None:
                resources = GPU_RESOURCES if _wants_gpu(dask_client, device) else None
            futures = {
                dask_client.submit(
                    fn, arch, profile, seed=seed, data_dir=data_dir,
                    out_dir=run_dir(runs_dir, profile, arch.arch_id, seed), device=device,
                    progress=False, num_threads=num_threads,
                    resources=dict(resources) if resources else None,
                    key=f"train-{profile.name}-{profile.key}-s{seed}-arch{arch.arch_id}", pure=False,
                ): arch
                for arch in todo
            }
            failures: list[tuple[Any, BaseException]] = []
            for future in as_completed(futures):
                arch = futures[future]
                try:
                    record = dict(future.result())
                except Exception as exc:  # noqa: BLE001 - reported together below
                    log.error("training %s failed: %s", arch, exc)
                    failures.append((arch, exc))
                    continue
                cache.put(record, profile, seed)
                results[arch.arch_id] = record
                log.info("trained %s (%d/%d)", arch, len(results), len(arch_list))
        finally:
            if owned:
                dask_client.close()
        if failures:
            names = ", ".join(f"{a} ({type(e).__name__}: {e})" for a, e in failures)
            raise NaresError(f"{len(failures)} of {len(todo)} trainings failed: {names}") from failures[0][1]
    return [results[a.arch_id] for a in arch_list]
