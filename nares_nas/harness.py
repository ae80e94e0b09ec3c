"""Repeated runs of one searcher: seeds in parallel, each run written to a folder as it finishes.

A run is fully determined by (searcher class and hyper-parameters, seed, budget, objective
values): its generator is ``np.random.default_rng(seed)`` wherever it runs, so sequential,
process-parallel (joblib/loky) and Dask runs give identical trajectories. Workers receive only
the searcher and the (15626,) objective array, never the whole benchmark.

A searcher that shares work between runs (``lockstep_runs`` G > 1, BANANAS) is handed fixed
aligned blocks of seeds: seed ``s`` runs with the other requested seeds of block ``s // G``,
whatever ``--runs``, ``--seed``, ``--jobs`` or ``--resume`` say. Each block is one worker task,
written as soon as it finishes. On the CPU a run does not depend on its block at all (tested);
on a GPU it may, so G and the device kind (:func:`device_kind`) are pinned with the folder.

Folder layout written by :func:`run_to_dir`::

    DIR/config.json          what determines the runs (checked on every reuse of DIR)
    DIR/runs/seed_00042.json one finished run: trajectory, best arch, hyper-parameters, and
                             how it was executed (free to change from run to run)
    DIR/summary.csv          one row per run in DIR, sorted by seed

What determines a result is pinned in ``config.json``: the searcher, its hyper-parameters
except its ``execution_params`` (a thread count, a device's name), G, the device kind, the
budget, the objective and its data, and for live runs the training profile, seed and device
kind. How runs are executed (those execution parameters, ``n_jobs``, the backend) is free: a
resumed job may change it, and every run file records its own. A ``config.json`` written before G, the device
kind and live runs were pinned reads them from its hyper-parameters (else as 1, ``"cpu"``, no
live runs), so such folders still resume.

Every file is written to a temporary name and moved into place, so an interrupted job leaves
only whole runs behind and ``resume=True`` continues it.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from . import __version__
from ._atomic import write_bytes_atomic
from ._dask import connect_scheduler
from ._params import check_params
from ._validation import check_int, check_seed
from .benchmark import Benchmark
from .clock import Budget, ClockRun, simulate
from .errors import ConfigError, DataFormatError
from .evaluation import EvaluationModel
from .metrics import higher_is_better, objective_direction, objective_metric
from .oracle import Trajectory
from .searchers import Searcher, resolve, searcher_name
from .space import KEYS, N_ARCHS, archs_by_id

log = logging.getLogger(__name__)


BACKENDS: tuple[str, ...] = ("loky", "dask")
SUMMARY_COLUMNS: tuple[str, ...] = ("searcher", "seed", "full_trainings", "distinct_archs", "arch_id", *KEYS,
                                    "objective", "gpu_days", "sim_days", "evaluations")
SUMMARY_EVERY = 25
"""Runs of single-run tasks between rewrites of ``summary.csv`` (it is rewritten after every larger group)."""


@dataclass(frozen=True)
class RunResult:
    """One finished run as stored in ``DIR/runs/``: who ran, with which seed, and what it found.

    ``params`` are the hyper-parameters that determine the run (as pinned in ``config.json``);
    ``execution`` says how it ran: the searcher's ``execution_params`` (under ``"params"``), the
    backend, ``n_jobs`` and the seeds of its lockstep group (None in files of older versions).
    """

    searcher: str
    seed: int
    params: Mapping[str, Any]
    budget: int | None
    trajectory: Trajectory
    execution: Mapping[str, Any] | None = None
    clock: Mapping[str, Any] | None = None
    """The simulated clock's account: ``workers``, ``gpu_days``, ``sim_days`` and ``evaluations``
    (columns ``arch_id, epoch_from, epoch_to, worker, start, end, cost, value``; days and GPU-days).
    None in files of older versions."""

    @classmethod
    def from_clock(cls, searcher: str, params: Mapping[str, Any], budget: int | None, run: ClockRun,
                   workers: int, execution: Mapping[str, Any] | None = None) -> RunResult:
        columns = run.log.columns()
        clock = {"workers": workers, "gpu_days": run.cost_days, "sim_days": run.time_days,
                 "max_epochs": run.max_epochs, "stopped_by_budget": run.stopped, "evaluations": columns}
        return cls(searcher, run.seed, params, budget, run.trajectory(), execution, clock)

    @property
    def queries(self) -> int:
        """Full trainings: the trajectory's evaluations at full fidelity (all of them for a single-fidelity
        searcher, whose budget they are; fewer than :attr:`distinct_archs` for a multi-fidelity one)."""
        return len(self.trajectory)

    @property
    def distinct_archs(self) -> int:
        """Distinct architectures evaluated at any fidelity (what a distinct-architecture budget counts);
        runs written before the clock's account were full trainings only."""
        evaluations = (self.clock or {}).get("evaluations")
        if evaluations is None:
            return len(set(self.trajectory.arch_ids.tolist()))
        return len(set(evaluations["arch_id"]))

    @property
    def best_arch_id(self) -> int | None:
        """The best full-fidelity arch (None if the budget bought no full training)."""
        return self.trajectory.best_arch_id if len(self.trajectory) else None

    @property
    def best_value(self) -> float | None:
        return self.trajectory.best_value if len(self.trajectory) else None

    def to_json(self) -> dict[str, Any]:
        traj = self.trajectory
        return {
            "searcher": self.searcher, "seed": self.seed, "params": dict(self.params),
            "budget": self.budget, "objective": traj.objective, "maximize": traj.maximize,
            "queries": self.queries, "best_arch_id": self.best_arch_id, "best_value": self.best_value,
            "arch_ids": traj.arch_ids, "values": traj.values, "best": traj.best_so_far,
            "execution": None if self.execution is None else dict(self.execution),
            "clock": None if self.clock is None else dict(self.clock),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], path: str = "<run>") -> RunResult:
        try:
            traj = Trajectory(np.asarray(obj["arch_ids"], dtype=np.int64),
                              np.asarray(obj["values"], dtype=np.float64),
                              str(obj["objective"]), bool(obj["maximize"]))
            execution, clock, budget = obj.get("execution"), obj.get("clock"), obj["budget"]
            result = cls(str(obj["searcher"]), int(obj["seed"]), dict(obj["params"]),
                         None if budget is None else int(budget), traj,
                         None if execution is None else dict(execution), None if clock is None else dict(clock))
        except KeyError as exc:
            raise DataFormatError("missing key in a run file", path=path, key=str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"malformed run file: {exc}", path=path) from None
        if traj.arch_ids.shape != traj.values.shape or traj.arch_ids.ndim != 1:
            raise DataFormatError("arch_ids and values differ in length", path=path, key="values")
        return result


# --------------------------------------------------------------------------- running
def _as_searcher(searcher: Searcher | type[Searcher] | str) -> Searcher:
    """The searcher a run starts with, its hyper-parameters checked against their declared types
    (:func:`~nares_nas._params.check_params`: ``reference_moves="False"`` is refused, not truthy)."""
    if isinstance(searcher, Searcher):
        check_params(searcher)
        return searcher
    return resolve(searcher)()


def _fresh(searcher: Searcher) -> Searcher:
    """A new instance with the same hyper-parameters, so no state leaks from run to run."""
    return type(searcher)(**searcher.get_params())


def kind_of(device: Any) -> str:
    """The kind of a device name: ``"cpu"``, ``"cuda"`` (also for ``"cuda:1"``); ``"auto"`` as it resolves here."""
    name = str(device)
    if name == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name.split(":")[0]


def device_kind(searcher: Searcher) -> str:
    """What ``searcher`` computes on: the kind of its ``device`` hyper-parameter, ``"cpu"`` without one."""
    device = getattr(searcher, "device", None)
    return "cpu" if device is None else kind_of(device)


def _run_group(searcher: Searcher, model: EvaluationModel, seeds: Sequence[int], budget: Budget,
               search_budget: int | None, workers: int, objective: str, maximize: bool,
               device: str) -> list[tuple[int, ClockRun]]:
    """Worker task: one lockstep group on the simulated clock (top-level so that it pickles).

    ``device`` is the device kind the job is pinned to; a worker that would compute on
    another kind (``device="auto"`` on a machine of another kind) refuses.
    """
    kind = device_kind(searcher)
    if kind != device:
        raise ConfigError(f"{type(searcher).__name__} computes on {kind} here, not on {device} as the other "
                          f"runs of this job do; give its device explicitly (device={device!r})")
    runs = simulate(searcher, model, seeds, budget=budget, search_budget=search_budget, workers=workers,
                    objective=objective, maximize=maximize)
    return list(zip(seeds, runs))


def _lockstep(searcher: Searcher) -> int:
    runs = searcher.lockstep_runs
    if isinstance(runs, (bool, np.bool_)) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ConfigError(f"{type(searcher).__name__} lockstep_runs must be a positive integer, got {runs!r}")
    return int(runs)


def lockstep_groups(seeds: Iterable[int], size: int) -> list[list[int]]:
    """``seeds`` in aligned blocks: seeds with equal ``seed // size`` together, ascending.

    >>> lockstep_groups([9, 2, 3, 4, 8], 4)
    [[2, 3], [4], [8, 9]]
    """
    blocks: dict[int, list[int]] = {}
    for seed in sorted(seeds):
        blocks.setdefault(seed // size, []).append(seed)
    return list(blocks.values())


def _check_seeds(seeds: Iterable[int]) -> list[int]:
    seeds = [check_seed(seed) for seed in seeds]
    if len(set(seeds)) != len(seeds):
        raise ConfigError("seeds must be distinct")
    return seeds


DEFAULT_BUDGET = 500
"""Distinct architectures per run when no cost, epoch or time budget is given (the paper's)."""


def as_model(evaluator: np.ndarray | EvaluationModel, objective: str = "VAL_PGD_ACC") -> EvaluationModel:
    """An :class:`EvaluationModel`; a plain (15626,) value array becomes one full fidelity costing 1 GPU-day."""
    if isinstance(evaluator, EvaluationModel):
        return evaluator
    values = np.asarray(evaluator, dtype=np.float64)
    if values.shape != (N_ARCHS + 1,):
        raise ConfigError(f"objective values must have shape ({N_ARCHS + 1},) indexed by arch_id, "
                          f"got {values.shape}")
    return EvaluationModel(values[:, None], np.ones(N_ARCHS + 1), objective=objective, source="values")


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


def make_budget(budget: int | None, *, max_cost: float | None = None, max_time: float | None = None,
                max_total_epochs: int | None = None) -> Budget:
    """The run budget: ``budget`` distinct archs (None: 500, or no limit when another budget is given)."""
    others = max_cost is not None or max_time is not None or max_total_epochs is not None
    if budget is None and not others:
        budget = DEFAULT_BUDGET
    if budget is not None:
        budget = check_int(budget, "budget (distinct architectures)", 1, N_ARCHS)
    return Budget(archs=budget, total_epochs=max_total_epochs, cost=max_cost, time=max_time)


def _check_run_args(evaluator: np.ndarray | EvaluationModel, objective: str, backend: str,
                    scheduler: str | None) -> EvaluationModel:
    objective_metric(objective)
    model = as_model(evaluator, objective)
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "dask" and not scheduler:
        raise ConfigError("the dask backend needs a scheduler address (e.g. tcp://10.0.0.1:8786)")
    if backend != "dask" and scheduler:
        raise ConfigError("a scheduler address is only used with backend='dask'")
    return model


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """Worker initializer: end this worker process as soon as ``parent`` is gone.

    A killed job (``kill -9``) cannot shut its loky workers down, and they would idle on for
    joblib's 300 s timeout (keeping loky's resource tracker alive too); a daemon thread
    watching the parent's pid ends them within ``every`` seconds instead.
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit with parent", daemon=True).start()


@contextlib.contextmanager
def _parallel(n_jobs: int, backend: str, scheduler: str | None, batch_size: int | str) -> Iterator[tuple[Any, int]]:
    """A joblib ``Parallel`` that yields results as they finish, and its number of workers.

    Local (loky) workers end with this process, however it ends (:func:`_exit_with_parent`).
    """
    from joblib import Parallel, effective_n_jobs, parallel_config

    if backend == "dask":
        with connect_scheduler(scheduler) as client, parallel_config(backend="dask"):
            workers = max(1, sum(client.ncores().values()))
            yield Parallel(n_jobs=-1, return_as="generator_unordered", batch_size=batch_size), workers
        return
    if n_jobs == 0:
        raise ConfigError("n_jobs must not be 0 (1 = sequential, -1 = all cores)")
    with parallel_config(backend="loky", initializer=_exit_with_parent, initargs=(os.getpid(),)):
        workers = effective_n_jobs(n_jobs)
        yield Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=batch_size), workers


def iter_groups(searcher: Searcher | str, evaluator: np.ndarray | EvaluationModel, *, seeds: Iterable[int],
                budget: Budget | int | None = None, objective: str = "VAL_PGD_ACC", maximize: bool | None = None,
                workers: int = 1, n_jobs: int = 1, backend: str = "loky", scheduler: str | None = None,
                device: str | None = None) -> Iterator[list[tuple[int, ClockRun]]]:
    """Yield each lockstep group's ``[(seed, clock run), ...]`` as it finishes (in no fixed order).

    Groups are :func:`lockstep_groups` of ``searcher.lockstep_runs``, one worker task each
    (joblib may batch quick single-run tasks). ``device`` is the device kind every worker must
    compute on (default: :func:`device_kind` here). See :func:`run_search` for the rest.
    """
    searcher = _as_searcher(searcher)
    model = _check_run_args(evaluator, objective, backend, scheduler)
    maximize = run_direction(objective, maximize)
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    workers = check_int(workers, "workers")
    seeds = _check_seeds(seeds)
    if not seeds:
        return
    from joblib import delayed

    size = _lockstep(searcher)
    groups = lockstep_groups(seeds, size)
    device = device_kind(searcher) if device is None else device
    args = (budget, budget.archs, workers, objective, maximize, device)
    task = delayed(_run_group)
    # a group of several runs is slow by design: never hold a finished one back in a batch
    with _parallel(n_jobs, backend, scheduler, 1 if size > 1 else "auto") as (parallel, n_workers):
        if n_workers == 1 and backend == "loky":  # in-process: skip joblib's dispatch entirely
            for group in groups:
                yield _run_group(searcher, model, group, *args)
            return
        yield from parallel(task(searcher, model, group, *args) for group in groups)


def iter_runs(searcher: Searcher | str, evaluator: np.ndarray | EvaluationModel, *, seeds: Iterable[int],
              **options: Any) -> Iterator[tuple[int, ClockRun]]:
    """Yield ``(seed, clock run)`` as runs finish (in no fixed order); options as :func:`run_search`."""
    for group in iter_groups(searcher, evaluator, seeds=seeds, **options):
        yield from group


def expected_job(searcher: Searcher, seeds: Sequence[int], budget: Budget | int | None, n_jobs: int = 1,
                 backend: str = "loky") -> tuple[float | None, int | None]:
    """(expected seconds, processes) of the runs of ``seeds`` (:func:`nares_nas.progress.job_seconds`).

    The processes are ``n_jobs``, but no more than there are lockstep groups (None on Dask).
    """
    from joblib import effective_n_jobs

    from .progress import job_seconds

    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    processes = None
    if backend != "dask":
        groups = len(lockstep_groups(seeds, _lockstep(searcher)))
        processes = max(1, min(effective_n_jobs(n_jobs) if n_jobs else 1, groups))
    return job_seconds(searcher, len(seeds), budget.archs, processes), processes


def job_progress(searcher: Searcher, total: int, todo: Sequence[int], budget: Budget | int | None, *,
                 n_jobs: int = 1, backend: str = "loky", enabled: bool = True, announce: bool = True) -> Any:
    """The :class:`~nares_nas.progress.Progress` of a job of ``total`` runs of which ``todo`` are left;
    first, with ``announce``, the warning of a long job (:func:`nares_nas.progress.announce`)."""
    from .progress import Progress
    from .progress import announce as say

    name = searcher_name(searcher)
    if enabled and announce:
        seconds, processes = expected_job(searcher, todo, budget, n_jobs, backend)
        say([(name, len(todo), seconds)], processes)
    return Progress(name, total, done=total - len(todo), enabled=enabled)


def simulate_search(searcher: Searcher | str, evaluator: np.ndarray | EvaluationModel, *, seeds: Iterable[int],
                    progress: bool = False, **options: Any) -> list[ClockRun]:
    """:func:`run_search` with the clock's whole account of each run (evaluations, cost, time).

    ``progress`` writes progress lines to stderr (:mod:`nares_nas.progress`).
    """
    searcher = _as_searcher(searcher)
    seeds = _check_seeds(seeds)
    found: dict[int, ClockRun] = {}
    with job_progress(searcher, len(seeds), seeds, options.get("budget"), n_jobs=options.get("n_jobs", 1),
                      backend=options.get("backend", "loky"), enabled=progress) as bar:
        for group in iter_groups(searcher, evaluator, seeds=seeds, **options):
            found.update(group)
            bar.update(len(group))
    return [found[seed] for seed in seeds]


def run_search(searcher: Searcher | str, evaluator: np.ndarray | EvaluationModel, *, seeds: Iterable[int],
               budget: Budget | int | None = None, objective: str = "VAL_PGD_ACC", maximize: bool | None = None,
               workers: int = 1, n_jobs: int = 1, backend: str = "loky",
               scheduler: str | None = None) -> list[Trajectory]:
    """Run ``searcher`` once per seed and return the trajectories in the order of ``seeds``.

    ``evaluator`` is an :class:`~nares_nas.evaluation.EvaluationModel`
    (``EvaluationModel.from_benchmark(bench, objective)``: fidelities and training costs) or the
    (15626,) array of raw objective values by arch_id (``bench.metric_by_id(objective)``), which
    counts every training as one GPU-day. ``maximize`` says which way is better (None: the
    objective's own way, :func:`~nares_nas.metrics.objective_direction`: ``TRAINING_TIME``,
    ``MACS``, ``PARAMS``, losses and Lipschitz constants are minimised, with a notice logged
    at INFO level; accuracies maximised); ``budget`` is
    distinct architectures (None: 500) or a :class:`~nares_nas.clock.Budget` (costs, time);
    ``workers`` the simulated workers. A trajectory is the full-fidelity evaluations in the
    order they finished (on one worker, the order of the queries). ``n_jobs`` local processes
    (joblib/loky; 1 runs in this process), or ``backend="dask"`` with ``scheduler`` the address
    of a running ``distributed`` scheduler (its workers decide the parallelism). ``searcher``
    may also be a registered name or ``"module:Class"``.
    """
    runs = simulate_search(searcher, evaluator, seeds=seeds, budget=budget, objective=objective,
                           maximize=maximize, workers=workers, n_jobs=n_jobs, backend=backend,
                           scheduler=scheduler)
    return [run.trajectory() for run in runs]


# --------------------------------------------------------------------------- folders
def _json_params(searcher: Searcher) -> dict[str, Any]:
    try:
        return orjson.loads(orjson.dumps(searcher.get_params(), option=orjson.OPT_SERIALIZE_NUMPY))
    except TypeError as exc:
        raise ConfigError(f"hyper-parameters of {searcher!r} must be JSON values: {exc}") from None


def split_params(searcher: Searcher) -> tuple[dict[str, Any], dict[str, Any]]:
    """``searcher``'s hyper-parameters as JSON values: (those that determine a run, ``execution_params``)."""
    params = _json_params(searcher)
    execution = set(getattr(searcher, "execution_params", ()))
    return ({key: value for key, value in params.items() if key not in execution},
            {key: value for key, value in params.items() if key in execution})


def _sha1(*arrays: np.ndarray) -> str:
    digest = hashlib.sha1()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def evaluation_model(bench: Benchmark, objective: str, *, from_scratch: bool = False) -> EvaluationModel:
    """The clock's model of ``bench`` for ``objective``: its fidelities and costs.

    An objective without a per-epoch history (``TRAINING_TIME``) has the one full fidelity.
    """
    spec = objective_metric(objective)
    if spec.kind in ("history", "count"):
        return EvaluationModel.from_benchmark(bench, spec.name, from_scratch=from_scratch)
    return EvaluationModel(bench.metric_by_id(spec.name)[:, None], bench.metric_by_id("TRAINING_TIME"),
                           objective=spec.name, from_scratch=from_scratch, source=bench.source)


def run_config(searcher: Searcher, bench: Benchmark | None, *, budget: Budget | int | None, objective: str,
               maximize: bool | None = None, workers: int = 1, from_scratch: bool = False,
               live: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What determines the runs of a folder (seeds aside), as written to ``config.json``.

    ``lockstep_runs`` is the group size G and ``device`` the device kind (both can change a
    result on a GPU); ``live`` what determines live-trained values (profile, training seed
    and device kind), None for table runs; ``bench`` None for live runs that consult no table.
    The budgets, the simulated ``workers``, ``from_scratch`` and the table's fidelities and
    training times (``model_sha1``) pin what the simulated clock does.
    """
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    sha1 = model_sha1 = None
    if bench is not None:
        spec = objective_metric(objective)
        sha1 = _sha1(bench.metric_by_id(spec.name))
        history = bench.fidelity_matrix(spec.name) if spec.kind == "history" else bench.metric_by_id(spec.name)
        model_sha1 = _sha1(history, bench.metric_by_id("TRAINING_TIME"))
    return {
        "searcher": searcher_name(searcher),
        "class": f"{type(searcher).__module__}:{type(searcher).__qualname__}",
        "params": split_params(searcher)[0],
        "lockstep_runs": _lockstep(searcher),
        "device": device_kind(searcher),
        "budget": budget.archs,
        "max_cost": budget.cost,
        "max_time": budget.time,
        "max_total_epochs": budget.total_epochs,
        "workers": check_int(workers, "workers"),
        "from_scratch": bool(from_scratch),
        "objective": objective_metric(objective).name,
        "direction": "max" if objective_direction(objective, maximize) else "min",
        "data": None if bench is None else bench.source,
        "synthetic": None if bench is None else bench.synthetic,
        "objective_sha1": sha1,
        "model_sha1": model_sha1,
        "live": None if live is None else dict(live),
        "version": __version__,
    }


def _as_pinned_now(existing: Mapping[str, Any], execution_params: Collection[str]) -> dict[str, Any]:
    """A ``config.json`` as this version pins it (one written before G, the device kind and live runs
    were pinned had every hyper-parameter in ``params``; those that are execution parameters now
    leave it, and give G and the device kind where they are there)."""
    config = dict(existing)
    params = dict(config.get("params") or {})
    moved = {key: params.pop(key) for key in execution_params if key in params}
    config["params"] = params
    config.setdefault("lockstep_runs", moved.get("lockstep_runs", 1))
    if "device" not in config:
        config["device"] = kind_of(moved.get("device", "cpu"))
    config.setdefault("live", None)
    # before the simulated clock: one worker, the distinct-arch budget only, full trainings
    for key, default in (("max_cost", None), ("max_time", None), ("max_total_epochs", None), ("workers", 1),
                         ("from_scratch", False)):
        config.setdefault(key, default)
    return config


def _differences(there: Any, now: Any, key: str) -> list[str]:
    if isinstance(there, Mapping) and isinstance(now, Mapping):
        return [line for sub in dict.fromkeys([*there, *now])
                for line in _differences(there.get(sub), now.get(sub), f"{key}[{sub!r}]")]
    return [] if there == now else [f"{key}: {there!r} there, {now!r} now"]


def _check_pinned_booleans(out_dir: Path, there: Mapping[str, Any], now: Mapping[str, Any]) -> None:
    """Refuse a folder that pinned as text a hyper-parameter that is a boolean now.

    Before ``--param`` values were typed, ``reference_moves=False`` was pinned as the string
    ``"False"``, and its runs took it as the string's truthiness: the folder's runs are not of
    the value its config says, so none of them may be resumed or mixed with new ones.
    """
    for key, value in there.items():
        if isinstance(value, str) and isinstance(now.get(key), bool):
            raise ConfigError(f"{out_dir / 'config.json'} pins {key}={value!r}, text where a boolean belongs: its "
                              f"runs used the text's truthy value, {key}={bool(value)}; they cannot be resumed "
                              "(run again into another output folder)")


def open_run_dir(out_dir: str | os.PathLike, config: Mapping[str, Any], *, resume: bool,
                 execution_params: Collection[str] = (), reader: Callable[[Path], Sequence[Any]] | None = None
                 ) -> dict[int, RunResult]:
    """Claim ``out_dir`` for the runs of ``config`` (:func:`run_config`); return the runs already in it by seed.

    A folder of another configuration is refused (every key but ``version`` is compared, and
    ``model_sha1`` only where the folder has one: before the clock, costs changed no result;
    ``execution_params`` are the searcher's, for folders written before they were set apart),
    and one of the same needs ``resume=True``. A new folder gets ``config.json`` and ``runs/``.
    """
    out_dir = Path(out_dir)
    config_path = out_dir / "config.json"
    if config_path.exists():
        try:
            existing = orjson.loads(config_path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataFormatError(f"not valid JSON: {exc}", path=str(config_path)) from None
        existing = _as_pinned_now(existing, execution_params)
        _check_pinned_booleans(out_dir, existing.get("params") or {}, config.get("params") or {})
        existing.setdefault("model_sha1", config.get("model_sha1"))
        differ = [line for key in config if key != "version"
                  for line in _differences(existing.get(key), config[key], key)]
        if differ:
            raise ConfigError(f"{out_dir} holds runs of a different configuration ({'; '.join(differ)}); "
                              "choose another output folder")
        if existing.get("version") != config["version"]:
            log.warning("%s was written by nares-nas %s (this is %s)", out_dir, existing.get("version"),
                        config["version"])
        if not resume:
            raise ConfigError(f"{out_dir} already holds runs of this configuration; "
                              "use --resume (resume=True) to continue them, or another output folder")
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"{out_dir} is not empty and holds no config.json; choose a new or empty folder")
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        write_bytes_atomic(config_path, orjson.dumps(dict(config), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return {r.seed: r for r in (reader or read_runs)(out_dir)}  # reader: another kind of run file


def _release(out_dir: Path, keep_dir: bool) -> None:
    """Undo :func:`open_run_dir` on a new folder that got no run: its config.json, runs/ and (unless
    it was there before) the folder, each only if empty."""
    (out_dir / "config.json").unlink(missing_ok=True)
    for folder in (out_dir / "runs",) if keep_dir else (out_dir / "runs", out_dir):
        with contextlib.suppress(OSError):  # not empty: keep it
            folder.rmdir()


def run_path(out_dir: str | os.PathLike, seed: int) -> Path:
    """Where ``out_dir`` keeps the finished run of ``seed``."""
    return Path(out_dir) / "runs" / f"seed_{seed:05d}.json"


def write_run(out_dir: str | os.PathLike, result: RunResult) -> Path:
    """Write one finished run to ``DIR/runs/seed_NNNNN.json`` atomically."""
    path = run_path(Path(out_dir), result.seed)
    write_bytes_atomic(path, orjson.dumps(result.to_json(), option=orjson.OPT_SERIALIZE_NUMPY))
    return path


def summary_row(result: RunResult) -> dict[str, Any]:
    """One row of ``summary.csv``: the full trainings and distinct architectures evaluated (the two differ
    for a multi-fidelity searcher), the run's best arch by the objective (ties as in
    :attr:`Trajectory.best_arch_id`), GPU-days spent, simulated days and evaluations (blank in runs
    of older versions); a run whose budget bought no full training has no best arch."""
    clock = result.clock or {}
    evaluations = clock.get("evaluations")
    account = {"gpu_days": repr(clock["gpu_days"]) if clock else "",
               "sim_days": repr(clock["sim_days"]) if clock else "",
               "evaluations": len(evaluations["arch_id"]) if evaluations else ""}
    counts = {"searcher": result.searcher, "seed": result.seed, "full_trainings": result.queries,
              "distinct_archs": result.distinct_archs}
    if result.best_arch_id is None:
        return {**counts, "arch_id": "", **dict.fromkeys(KEYS, ""), "objective": "", **account}
    arch_id = result.best_arch_id
    return {**counts, "arch_id": arch_id, **dict(zip(KEYS, archs_by_id()[arch_id - 1].tolist())),
            "objective": repr(result.best_value), **account}


def write_summary(out_dir: str | os.PathLike, rows: Iterable[Mapping[str, Any]],
                  columns: Sequence[str] = SUMMARY_COLUMNS) -> Path:
    """(Re)write ``DIR/summary.csv`` atomically from :func:`summary_row` rows, sorted by seed."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda row: row["seed"]))
    path = Path(out_dir) / "summary.csv"
    write_bytes_atomic(path, buffer.getvalue().encode())
    return path


def read_runs(out_dir: str | os.PathLike,
              from_json: Callable[[Mapping[str, Any], str], Any] | None = None) -> list[RunResult]:
    """Every finished run in ``DIR/runs/``, sorted by seed (for reports such as Table 2).

    ``from_json(obj, path)`` reads another kind of run file (default :meth:`RunResult.from_json`)."""
    runs_dir = Path(out_dir) / "runs"
    if not runs_dir.is_dir():
        raise DataFormatError("no runs folder (not written by run_to_dir?)", path=str(runs_dir))
    results = []
    for path in runs_dir.glob("seed_*.json"):
        try:
            obj = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataFormatError(f"not valid JSON: {exc}", path=str(path)) from None
        results.append((from_json or RunResult.from_json)(obj, str(path)))
    return sorted(results, key=lambda r: r.seed)


def run_to_dir(out_dir: str | os.PathLike, searcher: Searcher | str, bench: Benchmark, *,
               seeds: Iterable[int], budget: Budget | int | None = None, objective: str = "VAL_PGD_ACC",
               maximize: bool | None = None, workers: int = 1, from_scratch: bool = False, n_jobs: int = 1,
               backend: str = "loky", scheduler: str | None = None, resume: bool = False,
               progress: bool = False, announce: bool = True) -> list[RunResult]:
    """Run ``searcher`` for ``seeds`` on ``bench`` and keep every finished run in ``out_dir``.

    Runs go through the simulated clock with ``workers`` workers and ``budget`` (distinct
    archs, None: 500; or a :class:`~nares_nas.clock.Budget`); ``maximize`` as :func:`run_search`
    (None: the objective's own direction); ``from_scratch`` charges every
    evaluation as a fresh training. A folder belongs to one configuration
    (:func:`run_config`); reusing it with another is refused, and reusing it with the same
    one needs ``resume=True``, which skips the seeds already done. How the runs execute
    (``n_jobs``, ``backend``, the searcher's ``execution_params``) may change on resume; each
    run file records its own. Each lockstep group is written as it finishes. Returns the runs
    of ``seeds`` (resumed ones included), sorted by seed; ``summary.csv`` covers every run in
    the folder. ``progress`` writes progress lines to stderr (:mod:`nares_nas.progress`), after
    saying whether the runs left are expected to take long (unless ``announce`` is False: a
    caller that said so for a larger job).
    """
    searcher = _as_searcher(searcher)
    seeds = _check_seeds(seeds)
    out_dir = Path(out_dir)
    maximize = run_direction(objective, maximize)
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    config = run_config(searcher, bench, budget=budget, objective=objective, maximize=maximize, workers=workers,
                        from_scratch=from_scratch)
    model = _check_run_args(evaluation_model(bench, objective, from_scratch=from_scratch), objective, backend,
                            scheduler)
    fresh, existed = not (out_dir / "config.json").exists(), out_dir.exists()
    done = open_run_dir(out_dir, config, resume=resume,
                        execution_params=getattr(searcher, "execution_params", ()))
    rows = {seed: summary_row(r) for seed, r in done.items()}
    try:
        todo = [s for s in seeds if s not in done]
        name, params = config["searcher"], config["params"]
        execution = {"params": split_params(searcher)[1], "backend": backend,
                     "n_jobs": n_jobs if backend == "loky" else None, "scheduler": scheduler}
        bar = job_progress(searcher, len(seeds), todo, budget, n_jobs=n_jobs, backend=backend, enabled=progress,
                           announce=announce)
        unsummarised = 0
        with bar:
            for group in iter_groups(searcher, model, seeds=todo, budget=budget, objective=objective,
                                     maximize=maximize, workers=workers, n_jobs=n_jobs, backend=backend,
                                     scheduler=scheduler, device=config["device"]):
                together = [seed for seed, _ in group]
                for seed, run in group:
                    result = RunResult.from_clock(name, params, budget.archs, run, workers,
                                                  {**execution, "group": together})
                    write_run(out_dir, result)
                    done[seed] = result
                    rows[seed] = summary_row(result)
                bar.update(len(group))
                unsummarised += len(group)
                if len(group) > 1 or unsummarised >= SUMMARY_EVERY:
                    write_summary(out_dir, rows.values())
                    unsummarised = 0
    except BaseException:
        if fresh and not done:
            _release(out_dir, existed)  # a job that failed before its first run leaves nothing to refuse a retry
        raise
    write_summary(out_dir, rows.values())
    return [done[s] for s in seeds]
