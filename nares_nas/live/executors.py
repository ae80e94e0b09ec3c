"""Where a live search's evaluations run: this process (one worker) or the workers of a Dask cluster.

An executor has ``submit(fn, *args, **kwargs)`` and ``wait(tasks) -> the finished ones`` (at
least one), ``workers`` and ``worker_processes`` (whether tasks run in worker processes, which
set their numerics once); :mod:`nares_nas.live.driver` uses nothing else of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from nares_nas._dask import connect_scheduler
from nares_nas._validation import check_int
from nares_nas.errors import ConfigError
from nares_nas.live.pipeline import DEFAULT_THREADS


class _Job:
    """A task of :class:`InProcessExecutor`, run when waited for."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.call = (fn, args, kwargs)
        self.done = False
        self._value: Any = None
        self._error: BaseException | None = None

    def run(self) -> None:
        fn, args, kwargs = self.call
        try:
            self._value = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raised by result(), as a Dask future does
            self._error = exc
        self.done = True

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


class InProcessExecutor:
    """One worker: this process, which trains an evaluation when the driver waits for it."""

    workers = 1
    worker_processes = False  # tasks get num_threads to set and restore themselves

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _Job:
        return _Job(fn, args, kwargs)

    def wait(self, jobs: list[_Job]) -> list[_Job]:
        done = [job for job in jobs if job.done]
        if not done:  # run the oldest (with one worker, the only one)
            jobs[0].run()
            done = [jobs[0]]
        return done


class DaskExecutor:
    """N workers of a Dask cluster; every task asks for ``resources`` (``{"GPU": 1}`` on GPUs)."""

    worker_processes = True  # the workers' numerics are set once, by the TorchNumerics plugin

    def __init__(self, client: Any, workers: int, resources: Mapping[str, float] | None = None) -> None:
        self.client = client
        self.workers = workers
        self.resources = dict(resources or {}) or None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.client.submit(fn, *args, resources=self.resources, pure=False, **kwargs)

    def wait(self, futures: list[Any]) -> list[Any]:
        from distributed import wait

        done = wait(futures, return_when="FIRST_COMPLETED").done
        return [f for f in futures if f in done]


@contextlib.contextmanager
def open_executor(workers: int = 1, *, client: Any = None, device: str = "auto",
                  num_threads: int | None = DEFAULT_THREADS, silence_logs: int | None = logging.WARNING
                  ) -> Iterator[Any]:
    """The executor of ``workers`` workers: this process for one (without ``client``), else Dask.

    Without ``client`` a local cluster starts (closed afterwards): one single-thread worker
    process per GPU on the first ``workers`` visible GPUs, each seeing only its own and holding
    the resource ``GPU=1`` that every task asks for, or ``workers`` single-thread CPU workers
    (``device="cpu"`` or no CUDA); the trainings' numerics are set once per worker. ``client``
    may be a ``distributed.Client`` or a scheduler address; its workers must each run one
    training at a time (:func:`~nares_nas.live.distributed.train_many`'s rule). Dask's own log lines
    below ``silence_logs`` are dropped, as Dask's ``LocalCluster`` does (a falsey value keeps them).
    """
    workers = check_int(workers, "workers")
    if client is None and workers == 1:
        yield InProcessExecutor()
        return
    from nares_nas.live.distributed import NUMERICS_PLUGIN, TorchNumerics, dask_logs, local_cluster, training_resources

    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("live search on several workers needs dask: pip install 'nares-nas[dask]'") from None
    cluster = own = None
    logs = contextlib.ExitStack()
    logs.enter_context(dask_logs(silence_logs))
    try:
        if client is None:
            cluster = local_cluster(device, num_threads, n_workers=workers, silence_logs=silence_logs)
            client = own = Client(cluster)
            own.wait_for_workers(workers, timeout=600)
        elif isinstance(client, str):
            client = own = connect_scheduler(client)
        resources = training_resources(client, device, None)
        client.register_plugin(TorchNumerics(device, num_threads), name=NUMERICS_PLUGIN)
        yield DaskExecutor(client, workers, resources)
    finally:
        if own is not None:
            own.close()
        if cluster is not None:
            cluster.close()
        logs.close()


def run_evaluation(fn: Callable[..., Mapping[str, Any]], arch: Any, profile: Any, *, num_threads: int | None,
                   worker_process: bool, **kwargs: Any) -> dict[str, Any]:
    """One evaluation where it runs: ``fn`` (:func:`~nares_nas.live.pipeline.train_to`'s signature),
    timed on the training process's clock, with its pid."""
    from nares_nas.live.distributed import _train_task

    start = time.time()
    if worker_process:
        out = _train_task(fn, arch, profile, num_threads=num_threads, **kwargs)
    else:
        out = fn(arch, profile, num_threads=num_threads, **kwargs)
    return {**out, "start": start, "end": time.time(), "pid": os.getpid()}
