"""Train many architectures at once on a Dask cluster: one training per worker process, one GPU per worker.

Each architecture becomes one task running :func:`~nares_nas.live.pipeline.train_and_evaluate`
on a worker. torch's thread count, deterministic algorithms and ``cudnn.benchmark`` are
process-wide, so a worker process runs one training at a time (one thread, or a resource it holds
once) and its numerics are set once, when the worker starts (the :class:`TorchNumerics` plugin),
never per task. On GPUs every task asks for the worker resource ``GPU=1``: start one worker per
GPU with ``--nthreads 1 --resources GPU=1`` and ``CUDA_VISIBLE_DEVICES`` set per worker, as
``dask-cuda``'s ``LocalCUDACluster`` does and as the default local cluster here does
(:func:`local_worker_specs`). Workers never touch the cache: the driver stores each record as its
future completes, so a failed or cancelled run loses nothing finished. A run folder is locked by
the training in it (:func:`~nares_nas.live.pipeline.run_lock`), and each (arch, profile, seed) key
is submitted once.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from nares_nas._dask import connect_scheduler
from nares_nas.data.home import data_home
from nares_nas.errors import ConfigError, NaresError
from nares_nas.live.cache import RecordCache
from nares_nas.live.pipeline import DEFAULT_THREADS, run_dir, train_and_evaluate
from nares_nas.live.profiles import resolve_profile
from nares_nas.space import ArchLike, to_arch

log = logging.getLogger(__name__)

GPU_RESOURCES: dict[str, float] = {"GPU": 1}
NUMERICS_PLUGIN = "nares-nas-torch-numerics"


def apply_numerics(device: str, num_threads: int | None) -> None:
    """Set this process's torch numerics as the trainer wants them, for good (not restored).

    ``num_threads`` CPU threads (None: torch's default); on the CPU deterministic algorithms, on
    CUDA ``cudnn.benchmark`` (``device="auto"``: CUDA when this process sees a GPU).
    """
    import torch

    if num_threads is not None:
        torch.set_num_threads(num_threads)
    cuda = device != "cpu" and (device != "auto" or torch.cuda.is_available())
    if cuda:
        torch.backends.cudnn.benchmark = True
    else:
        torch.use_deterministic_algorithms(True)


try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # dask is optional; train_many says how to install it
    _WorkerPlugin = object


class TorchNumerics(_WorkerPlugin):
    """A Dask worker plugin: :func:`apply_numerics` once per worker process, when it starts or joins."""

    idempotent = False  # a new registration (other settings) replaces the old one

    def __init__(self, device: str = "auto", num_threads: int | None = DEFAULT_THREADS) -> None:
        self.device = device
        self.num_threads = num_threads

    def setup(self, worker: Any) -> None:
        apply_numerics(self.device, self.num_threads)


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (``[]`` without CUDA)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(i) for i in range(count)]
    return [d.strip() for d in listed.split(",") if d.strip()][:count]


@contextlib.contextmanager
def dask_logs(silence_logs: int | None = logging.WARNING) -> Iterator[None]:
    """Dask's log lines below ``silence_logs`` dropped in this process meanwhile (a falsey value: all kept).

    Dask's own ``LocalCluster`` silences its logs below WARNING the same way; a cluster started here
    would otherwise print some 45 INFO lines per search (scheduler, nannies, workers, plugins).
    """
    logger = logging.getLogger("distributed")
    saved = logger.level
    if silence_logs and logger.getEffectiveLevel() < silence_logs:
        logger.setLevel(silence_logs)
    try:
        yield
    finally:
        logger.setLevel(saved)


def local_worker_specs(gpus: list[str], num_threads: int | None, n_cpu_workers: int | None = None,
                       silence_logs: int | None = logging.WARNING) -> dict:
    """Worker specs of the default local cluster: one single-thread worker process per GPU in ``gpus``,
    each seeing only its own (``CUDA_VISIBLE_DEVICES``) and advertising ``GPU=1``; without GPUs one per
    ``num_threads`` CPU cores (``n_cpu_workers`` overrides), each seeing no GPU. The workers drop their
    log lines below ``silence_logs`` (a falsey value: none), as :func:`dask_logs` does here.
    """
    from dask.system import CPU_COUNT
    from distributed import Nanny

    def spec(env: dict[str, str], resources: dict[str, float] | None) -> dict:
        if num_threads is not None:
            env = {**env, "OMP_NUM_THREADS": str(num_threads), "MKL_NUM_THREADS": str(num_threads)}
        return {"cls": Nanny, "options": {"nthreads": 1, "host": "127.0.0.1", "resources": resources, "env": env,
                                          "silence_logs": silence_logs or None}}

    if gpus:
        return {f"gpu-{gpu}": spec({"CUDA_VISIBLE_DEVICES": gpu}, dict(GPU_RESOURCES)) for gpu in gpus}
    n = n_cpu_workers or max(1, CPU_COUNT // num_threads if num_threads else 1)
    return {f"cpu-{i}": spec({"CUDA_VISIBLE_DEVICES": ""}, None) for i in range(n)}


def local_cluster(device: str = "auto", num_threads: int | None = DEFAULT_THREADS,
                  n_workers: int | None = None, silence_logs: int | None = logging.WARNING) -> Any:
    """The default cluster of :func:`train_many`: :func:`local_worker_specs` on this machine's GPUs
    (none for ``device="cpu"``), a scheduler on 127.0.0.1 without a dashboard.

    ``n_workers`` (live search's ``--workers``): that many workers, on the first ``n_workers``
    GPUs (more than there are is refused), else that many single-thread CPU workers. The workers
    drop their log lines below ``silence_logs``; wrap the cluster's life in :func:`dask_logs` for
    this process's.
    """
    from distributed import Scheduler, SpecCluster

    gpus = [] if device == "cpu" else visible_gpus()
    if n_workers is not None and gpus:
        if n_workers > len(gpus):
            raise ConfigError(f"{n_workers} workers asked for, but this machine shows {len(gpus)} GPUs "
                              f"({', '.join(gpus)}): one training per GPU; use --workers {len(gpus)} or fewer, "
                              "or --device cpu")
        gpus = gpus[:n_workers]
    workers = local_worker_specs(gpus, num_threads, n_workers, silence_logs)
    log.info("local Dask cluster: %d workers (%s)", len(workers), f"GPUs {gpus}" if gpus else "CPU")
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard": False, "dashboard_address": ":0"}}
    return SpecCluster(workers=workers, scheduler=scheduler)


def _client(client: Any, device: str = "auto", num_threads: int | None = DEFAULT_THREADS,
            silence_logs: int | None = logging.WARNING):
    """(client, cluster we own or None, whether we own the client) from a client, an address, or None."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("scale-out needs dask: pip install 'nares-nas[dask]'") from None
    if client is None:
        cluster = local_cluster(device, num_threads, silence_logs=silence_logs)
        try:
            own = Client(cluster)
            own.wait_for_workers(len(cluster.worker_spec), timeout=600)  # all GPU workers count for resources
        except BaseException:
            cluster.close()
            raise
        return own, cluster, True
    if isinstance(client, str):
        return connect_scheduler(client), None, True
    return client, None, False


def _wants_gpu(client: Any, device: str) -> bool:
    """Whether tasks must ask for a GPU: ``cuda``, or ``auto`` on a cluster offering GPUs."""
    workers = client.scheduler_info().get("workers", {})
    has_gpu = any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers.values())
    if device == "cuda" and not has_gpu:
        raise ConfigError("device 'cuda' needs workers started with --resources GPU=1; "
                          "none of the cluster's workers offers a GPU")
    return device == "cuda" or (device == "auto" and has_gpu)


def training_resources(client: Any, device: str, resources: Mapping[str, float] | None) -> dict[str, float]:
    """Per-task worker resources (``{"GPU": 1}`` on GPUs unless ``resources`` says otherwise), checked so
    that every worker able to run a training runs only one at a time."""
    if resources is None:
        resources = GPU_RESOURCES if _wants_gpu(client, device) else {}
    resources = dict(resources)
    workers = client.scheduler_info().get("workers", {})
    slots = {}
    for address, info in workers.items():
        held = info.get("resources", {}) or {}
        slots[address] = min([int(info.get("nthreads", 1))] + [int(held.get(k, 0) // v) for k, v in resources.items()
                                                            if v > 0])
    if not any(n >= 1 for n in slots.values()):
        raise ConfigError(f"none of the cluster's {len(workers)} workers offers the resources a training asks for "
                          f"({resources or 'none'})")
    crowded = {address: n for address, n in slots.items() if n > 1}
    if crowded:
        address, n = next(iter(crowded.items()))
        raise ConfigError(
            f"worker {address} would run {n} trainings at once ({len(crowded)} such workers), but torch's "
            "threads, deterministic algorithms and cudnn.benchmark are process-wide: start workers with "
            "--nthreads 1, or give each worker a resource it holds once (--resources GPU=1, or train=1 with "
            "train_many(..., resources={'train': 1}))")
    return resources


def train_key(profile: Any, seed: int, arch_id: int) -> str:
    """The Dask key of one training: one per (profile, seed, arch), never submitted twice."""
    return f"train-{profile.name}-{profile.key}-s{seed}-arch{arch_id}"


def _train_task(fn: Callable[..., Mapping[str, Any]], arch: Any, profile: Any, *, num_threads: int | None,
                **kwargs: Any) -> Mapping[str, Any]:
    """One training on a worker. :class:`TorchNumerics` set the process's numerics; torch's thread
    count is also the executing thread's own (OpenMP), so it is set here if this thread differs —
    a plain set, never restored, as the worker runs nothing else meanwhile. ``fn`` gets
    ``num_threads=None``: it leaves the numerics alone."""
    if num_threads is not None:
        import torch

        if torch.get_num_threads() != num_threads:
            torch.set_num_threads(num_threads)
    return fn(arch, profile, num_threads=None, **kwargs)


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
    compile: bool = False,
    fn: Callable[..., Mapping[str, Any]] = train_and_evaluate,
    silence_logs: int | None = logging.WARNING,
) -> list[dict[str, Any]]:
    """Records of ``archs`` (in their order), training on the cluster what the cache lacks.

    ``client``: a ``distributed.Client``, a scheduler address, or None for :func:`local_cluster`
    (one worker per visible GPU, else per CPU core; closed afterwards). ``resources`` overrides the
    per-task worker resources (default ``{"GPU": 1}`` when the tasks run on GPUs, none on CPUs);
    a cluster whose workers could run two trainings at once is refused. ``num_threads`` is each
    worker's torch CPU threads, set once per worker with the other numerics (:class:`TorchNumerics`,
    registered on the client). ``compile`` adds ``torch.compile``. ``fn`` has
    ``train_and_evaluate``'s signature; it must be importable on the workers. Dask's own log lines
    below ``silence_logs`` are dropped (:func:`dask_logs`; a falsey value keeps them).
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
    todo: dict[str, Any] = {}  # by Dask key: a repeated architecture is submitted once
    for arch in arch_list:
        found = cache.get(arch.arch_id, profile, seed)
        if found is not None:
            results[arch.arch_id] = found
        else:
            todo.setdefault(train_key(profile, seed, arch.arch_id), arch)
    log.info("%d architectures: %d cached, %d to train", len(arch_list), len(arch_list) - len(todo), len(todo))
    if todo:
        with dask_logs(silence_logs):
            dask_client, cluster, owned = _client(client, device, num_threads, silence_logs)
            try:
                task_resources = training_resources(dask_client, device, resources)
                dask_client.register_plugin(TorchNumerics(device, num_threads), name=NUMERICS_PLUGIN)
                futures = {
                    dask_client.submit(
                        _train_task, fn, arch, profile, seed=seed, data_dir=data_dir,
                        out_dir=run_dir(runs_dir, profile, arch.arch_id, seed), device=device,
                        progress=False, compile=compile, num_threads=num_threads,
                        resources=task_resources or None, key=key, pure=False,
                    ): arch
                    for key, arch in todo.items()
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
                if cluster is not None:
                    cluster.close()
            if failures:
                names = ", ".join(f"{a} ({type(e).__name__}: {e})" for a, e in failures)
                raise NaresError(f"{len(failures)} of {len(todo)} trainings failed: {names}") from failures[0][1]
    return [results[a.arch_id] for a in arch_list]
