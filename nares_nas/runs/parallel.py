"""Parallel dispatch of runs: lockstep groups of seeds, in this process, on local processes or on Dask."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from nares_nas._dask import connect_scheduler
from nares_nas._optional import available
from nares_nas._params import check_params
from nares_nas._validation import check_choice, check_int, check_seed
from nares_nas.errors import ConfigError
from nares_nas.metrics import higher_is_better, objective_direction, objective_metric
from nares_nas.searchers import Searcher, resolve
from nares_nas.simulation.budget import Budget, make_budget
from nares_nas.simulation.clock import ClockRun, simulate
from nares_nas.simulation.model import EvaluationModel, as_model

log = logging.getLogger(__name__)


BACKENDS: tuple[str, ...] = ("loky", "dask")
SMALL_JOB_S = 2.0
"""Seconds of one core below which a job asked to run on local processes runs in this one instead:
starting a worker process (an interpreter, its imports, the evaluation model it is sent) takes about a
second of a 2-core machine, so such a job ends sooner here (docs/benchmarks.md)."""
T = TypeVar("T")


# --------------------------------------------------------------------------- running
def as_searcher(searcher: Searcher | type[Searcher] | str) -> Searcher:
    """The searcher a run starts with, its hyper-parameters checked against their declared types
    (:func:`~nares_nas._params.check_params`: ``reference_moves="False"`` is refused, not truthy)."""
    if isinstance(searcher, Searcher):
        check_params(searcher)
        return searcher
    return resolve(searcher)()


def kind_of(device: Any) -> str:
    """The kind of a device name: ``"cpu"``, ``"cuda"`` (also for ``"cuda:1"``); ``"auto"`` as it resolves here
    (``"cpu"`` without torch: nothing here computes on CUDA without it)."""
    name = str(device)
    if name == "auto":
        if not available("torch"):
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name.split(":")[0]


def device_kind(searcher: Searcher) -> str:
    """What ``searcher`` computes on: the kind of its ``device`` hyper-parameter, ``"cpu"`` without one."""
    device = getattr(searcher, "device", None)
    return "cpu" if device is None else kind_of(device)


@dataclass(frozen=True)
class _GroupSetup:
    """What every lockstep group of a job shares besides the searcher and the model."""

    budget: Budget
    workers: int
    objective: str
    maximize: bool
    device: str
    """The device kind the job is pinned to."""


def _run_group(searcher: Searcher | Shared, model: EvaluationModel | Shared, setup: _GroupSetup | Shared,
               seeds: Sequence[int]) -> list[tuple[int, ClockRun]]:
    """Worker task: one lockstep group on the simulated clock (top-level so that it pickles).

    A worker that would compute on another device kind than the job's (``device="auto"`` on a
    machine of another kind) refuses.
    """
    searcher, model, setup = shared(searcher), shared(model), shared(setup)
    kind = device_kind(searcher)
    if kind != setup.device:
        raise ConfigError(f"{type(searcher).__name__} computes on {kind} here, not on {setup.device} as the other "
                          f"runs of this job do; give its device explicitly (device={setup.device!r})")
    runs = simulate(searcher, model, seeds, budget=setup.budget, search_budget=setup.budget.archs,
                    workers=setup.workers, objective=setup.objective, maximize=setup.maximize)
    return list(zip(seeds, runs))


def lockstep_size(searcher: Searcher) -> int:
    """G, the runs a searcher makes together (``lockstep_runs``), checked."""
    return check_int(searcher.lockstep_runs, f"{type(searcher).__name__} lockstep_runs")


def lockstep_groups(seeds: Iterable[int], size: int) -> list[list[int]]:
    """``seeds`` in aligned blocks: seeds with equal ``seed // size`` together, ascending.

    >>> lockstep_groups([9, 2, 3, 4, 8], 4)
    [[2, 3], [4], [8, 9]]
    """
    blocks: dict[int, list[int]] = {}
    for seed in sorted(seeds):
        blocks.setdefault(seed // size, []).append(seed)
    return list(blocks.values())


def check_seeds(seeds: Iterable[int]) -> list[int]:
    """``seeds`` as a list of checked, distinct seeds (refused otherwise, in one line)."""
    seeds = [check_seed(seed) for seed in seeds]
    if len(set(seeds)) != len(seeds):
        raise ConfigError("seeds must be distinct")
    return seeds


def run_direction(objective: str, maximize: bool | None) -> bool:
    """:func:`~nares_nas.metrics.objective_direction`, logging (INFO) when the default minimises.

    Where a run starts, so the command line, Table 2 and the Python API agree: an objective
    that is better when smaller (``TRAINING_TIME``, ``MACS``, a loss) is minimised unless
    ``maximize=True`` is given.
    """
    if maximize is None and not higher_is_better(objective):
        log.info("objective %s is better when smaller: minimised (maximize=True maximises it)",
                 objective_metric(objective).name)
    return objective_direction(objective, maximize)


def check_run_args(evaluator: np.ndarray | EvaluationModel, objective: str, backend: str,
                    scheduler: str | None) -> EvaluationModel:
    """The evaluation model of ``evaluator``, with the objective, backend and scheduler checked together."""
    objective_metric(objective)
    model = as_model(evaluator, objective)
    check_choice(backend, "backend", BACKENDS)
    if backend == "dask" and not scheduler:
        raise ConfigError("the dask backend needs a scheduler address (e.g. tcp://10.0.0.1:8786)")
    if backend != "dask" and scheduler:
        raise ConfigError("a scheduler address is only used with backend='dask'")
    return model


_SHARED: dict[str, Any] = {}
"""What this worker process was sent once (:func:`dispatch`), by token."""


@dataclass(frozen=True)
class Shared:
    """A token for an object every worker process holds already: a task carries this, not the object."""

    token: str

    def get(self) -> Any:
        return _SHARED[self.token]


def shared(obj: Any) -> Any:
    """``obj`` itself, or the object a :class:`Shared` token names in this process."""
    return obj.get() if isinstance(obj, Shared) else obj


def _start_worker(parent: int, objects: Mapping[str, Any], every: float = 0.5) -> None:
    """Worker initializer: keep ``objects`` (sent once per process) and end as soon as ``parent`` is gone.

    A killed job (``kill -9``) cannot shut its loky workers down, and they would idle on for
    joblib's 300 s timeout (keeping loky's resource tracker alive too); a daemon thread
    watching the parent's pid ends them within ``every`` seconds instead.
    """
    import threading
    import time

    _SHARED.clear()
    _SHARED.update(objects)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit with parent", daemon=True).start()


def dispatch(task: Callable[..., T], common: Sequence[Any], items: Iterable[Any], *, n_jobs: int = 1,
             backend: str = "loky", scheduler: str | None = None, batch_size: int | str = "auto") -> Iterator[T]:
    """Yield ``task(*common, item)`` for each of ``items`` as it finishes (in no fixed order).

    The one way runs are sent out. ``n_jobs`` 1 runs here, one after another; else local
    processes (joblib/loky: ``common`` is sent once per worker process, each task carries a
    :class:`Shared` token for it, which ``task`` reads through :func:`shared`; workers end with
    this process, however it ends) or Dask (``common`` is scattered to the workers once).
    """
    if n_jobs == 1 and backend != "dask":  # in-process: not even joblib's import
        for item in items:
            yield task(*common, item)
        return
    from joblib import Parallel, delayed, effective_n_jobs, parallel_config

    if backend == "dask":
        with connect_scheduler(scheduler), parallel_config(backend="dask", scatter=list(common)):
            yield from Parallel(n_jobs=-1, return_as="generator_unordered", batch_size=batch_size)(
                delayed(task)(*common, item) for item in items)
        return
    if n_jobs == 0:
        raise ConfigError("n_jobs must not be 0 (1 = sequential, -1 = all cores)")
    if effective_n_jobs(n_jobs) == 1:  # -1 on one core
        yield from dispatch(task, common, items)
        return
    tokens = [uuid.uuid4().hex for _ in common]
    handles = [Shared(token) for token in tokens]
    with parallel_config(backend="loky", initializer=_start_worker,
                         initargs=(os.getpid(), dict(zip(tokens, common)))):
        yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=batch_size)(
            delayed(task)(*handles, item) for item in items)


def local_jobs(searcher: Searcher, runs: int, budget: Budget, n_jobs: int, backend: str = "loky") -> int:
    """The local processes for a job of ``runs`` runs that asks for ``n_jobs``: 1 for a small job of a
    searcher whose runs take milliseconds (it declares ``seconds_per_query``; its
    :meth:`~nares_nas.searchers.Searcher.expected_seconds` of a distinct-architecture budget, times the
    runs, under :data:`SMALL_JOB_S`), else ``n_jobs``. What ``nares-nas search --jobs`` runs on;
    the runs are the same either way, and each run file records the processes its job used. A searcher
    whose estimate has another shape (BANANAS: model fits) keeps the processes asked for."""
    if backend != "loky" or n_jobs in (0, 1) or budget.archs is None or searcher.seconds_per_query is None:
        return n_jobs  # (0 is refused where the job starts)
    return 1 if searcher.expected_seconds(budget.archs) * runs < SMALL_JOB_S else n_jobs


def iter_groups(searcher: Searcher | str, evaluator: np.ndarray | EvaluationModel, *, seeds: Iterable[int],
                budget: Budget | int | None = None, objective: str = "VAL_PGD_ACC", maximize: bool | None = None,
                workers: int = 1, n_jobs: int = 1, backend: str = "loky", scheduler: str | None = None,
                device: str | None = None) -> Iterator[list[tuple[int, ClockRun]]]:
    """Yield each lockstep group's ``[(seed, clock run), ...]`` as it finishes (in no fixed order).

    Groups are :func:`lockstep_groups` of ``searcher.lockstep_runs``, one worker task each
    (joblib may batch quick single-run tasks). ``device`` is the device kind every worker must
    compute on (default: :func:`device_kind` here). See :func:`run_search` for the rest.
    """
    searcher = as_searcher(searcher)
    model = check_run_args(evaluator, objective, backend, scheduler)
    maximize = run_direction(objective, maximize)
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    workers = check_int(workers, "workers")
    seeds = check_seeds(seeds)
    if not seeds:
        return
    size = lockstep_size(searcher)
    device = device_kind(searcher) if device is None else device
    setup = _GroupSetup(budget, workers, objective, maximize, device)
    # a group of several runs is slow by design: never hold a finished one back in a batch
    yield from dispatch(_run_group, (searcher, model, setup), lockstep_groups(seeds, size), n_jobs=n_jobs,
                        backend=backend, scheduler=scheduler, batch_size=1 if size > 1 else "auto")


def iter_runs(searcher: Searcher | str, evaluator: np.ndarray | EvaluationModel, *, seeds: Iterable[int],
              **options: Any) -> Iterator[tuple[int, ClockRun]]:
    """Yield ``(seed, clock run)`` as runs finish (in no fixed order); options as :func:`run_search`."""
    for group in iter_groups(searcher, evaluator, seeds=seeds, **options):
        yield from group
