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

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from nares_nas.data.benchmark import Benchmark
from nares_nas.oracle import Trajectory
from nares_nas.progress import Progress, job_seconds
from nares_nas.progress import announce as say
from nares_nas.runs.folder import run_config
from nares_nas.runs.loop import run_into
from nares_nas.runs.parallel import (
    as_searcher,
    check_run_args,
    check_seeds,
    iter_groups,
    lockstep_groups,
    lockstep_size,
    run_direction,
)
from nares_nas.runs.record import RunResult
from nares_nas.searchers import Searcher, searcher_name, split_params
from nares_nas.simulation.budget import Budget, make_budget
from nares_nas.simulation.clock import ClockRun
from nares_nas.simulation.model import EvaluationModel, evaluation_model

log = logging.getLogger(__name__)


def expected_job(searcher: Searcher, seeds: Sequence[int], budget: Budget | int | None, n_jobs: int = 1,
                 backend: str = "loky") -> tuple[float | None, int | None]:
    """(expected seconds, processes) of the runs of ``seeds`` (:func:`nares_nas.progress.job_seconds`).

    The processes are ``n_jobs``, but no more than there are lockstep groups (None on Dask).
    """
    from joblib import effective_n_jobs


    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    processes = None
    if backend != "dask":
        groups = len(lockstep_groups(seeds, lockstep_size(searcher)))
        processes = max(1, min(effective_n_jobs(n_jobs) if n_jobs else 1, groups))
    return job_seconds(searcher, len(seeds), budget.archs, processes), processes


def job_progress(searcher: Searcher, total: int, todo: Sequence[int], budget: Budget | int | None, *,
                 n_jobs: int = 1, backend: str = "loky", enabled: bool = True, announce: bool = True) -> Any:
    """The :class:`~nares_nas.progress.Progress` of a job of ``total`` runs of which ``todo`` are left;
    first, with ``announce``, the warning of a long job (:func:`nares_nas.progress.announce`)."""
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
    searcher = as_searcher(searcher)
    seeds = check_seeds(seeds)
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

    ``evaluator`` is an :class:`~nares_nas.simulation.model.EvaluationModel`
    (``EvaluationModel.from_benchmark(bench, objective)``: fidelities and training costs) or the
    (15626,) array of raw objective values by arch_id (``bench.metric_by_id(objective)``), which
    counts every training as one GPU-day. ``maximize`` says which way is better (None: the
    objective's own way, :func:`~nares_nas.metrics.objective_direction`: ``TRAINING_TIME``,
    ``MACS``, ``PARAMS``, losses and Lipschitz constants are minimised, with a notice logged
    at INFO level; accuracies maximised); ``budget`` is
    distinct architectures (None: 500) or a :class:`~nares_nas.simulation.budget.Budget` (costs, time);
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


def run_to_dir(out_dir: str | os.PathLike, searcher: Searcher | str, bench: Benchmark, *,
               seeds: Iterable[int], budget: Budget | int | None = None, objective: str = "VAL_PGD_ACC",
               maximize: bool | None = None, workers: int = 1, from_scratch: bool = False, n_jobs: int = 1,
               backend: str = "loky", scheduler: str | None = None, resume: bool = False,
               progress: bool = False, announce: bool = True) -> list[RunResult]:
    """Run ``searcher`` for ``seeds`` on ``bench`` and keep every finished run in ``out_dir``.

    Runs go through the simulated clock with ``workers`` workers and ``budget`` (distinct
    archs, None: 500; or a :class:`~nares_nas.simulation.budget.Budget`); ``maximize`` as :func:`run_search`
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
    searcher = as_searcher(searcher)
    seeds = check_seeds(seeds)
    maximize = run_direction(objective, maximize)
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    config = run_config(searcher, bench, budget=budget, objective=objective, maximize=maximize, workers=workers,
                        from_scratch=from_scratch)
    model = check_run_args(evaluation_model(bench, objective, from_scratch=from_scratch), objective, backend,
                            scheduler)
    name, params = config["searcher"], config["params"]
    execution = {"params": split_params(searcher)[1], "backend": backend,
                 "n_jobs": n_jobs if backend == "loky" else None, "scheduler": scheduler}

    def produce(seeds: list[int]) -> Iterator[list[RunResult]]:
        for group in iter_groups(searcher, model, seeds=seeds, budget=budget, objective=objective, maximize=maximize,
                                 workers=workers, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
                                 device=config["device"]):
            together = [seed for seed, _ in group]
            yield [RunResult.from_clock(name, params, budget.archs, run, workers, {**execution, "group": together})
                   for _, run in group]

    def bar(todo: list[int]) -> Progress:
        return job_progress(searcher, len(seeds), todo, budget, n_jobs=n_jobs, backend=backend, enabled=progress,
                            announce=announce)

    return run_into(out_dir, config, seeds, produce, resume=resume,
                    execution_params=getattr(searcher, "execution_params", ()), progress=bar)
