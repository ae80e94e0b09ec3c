"""Live searches kept in a run folder: one call runs, or resumes, the seeds of a searcher trained for real.

A proposing searcher goes through the live driver (:class:`~nares_nas.live.driver.LiveSearch`) on
``workers`` workers; a blocking ``search()`` queries a lookup-or-train oracle
(:func:`~nares_nas.live.oracle.make_live_oracle`) one architecture at a time. Either way the runs go
one after another, each written to ``out_dir`` as it finishes, through the same folder helpers as
:func:`~nares_nas.runs.search.run_to_dir` (``config.json``, ``runs/``, ``summary.csv``).

The folder pins what determines a live value beside the usual configuration: the training profile,
the training seed and the device kind (and the workers: with N > 1 a run is reproducible from its
log, not from its seed alone). A proposing run in progress keeps its log in
``out_dir/live/seed_NNNNN.json``, which ``resume=True`` replays before going on; a finished run
goes to ``out_dir/runs/`` with its whole log, and ``resume=True`` skips the seeds already there.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from nares_nas._rng import as_generator
from nares_nas.errors import ConfigError
from nares_nas.live.driver import LiveSearch
from nares_nas.live.executors import open_executor
from nares_nas.live.oracle import is_nares_profile, make_live_oracle
from nares_nas.live.profiles import load_profile, resolve_profile
from nares_nas.runs.folder import run_config
from nares_nas.runs.loop import run_into
from nares_nas.runs.parallel import as_searcher, check_seeds, kind_of, run_direction
from nares_nas.runs.record import RunResult
from nares_nas.searchers import Searcher, searcher_name, split_params
from nares_nas.simulation.budget import Budget, make_budget
from nares_nas.space import SPACE


def run_live_to_dir(out_dir: str | os.PathLike | None, searcher: Searcher | str, bench: Any, *,
                    seeds: Iterable[int], profile: Any = "nares", budget: Budget | int | None = None,
                    objective: str = "VAL_PGD_ACC", maximize: bool | None = None, workers: int = 1,
                    resume: bool = False, cache: str | os.PathLike | None = None,
                    data_dir: str | os.PathLike | None = None, train_seed: int = 0, device: str = "auto",
                    scheduler: str | None = None, progress: bool = False,
                    silence_logs: int | None = logging.WARNING) -> list[RunResult]:
    """Run ``searcher`` live for ``seeds``, one run after another, and keep each in ``out_dir`` (None: nowhere).

    ``profile`` is a :class:`~nares_nas.live.profiles.Profile`, its name or a JSON file; ``bench``
    the table NARes's own profile reads first (None: every value is trained or from ``cache``);
    ``budget`` distinct archs (None: 500) or a :class:`~nares_nas.simulation.budget.Budget` (a
    blocking searcher needs distinct archs); ``maximize`` None takes the objective's own direction.
    A proposing searcher trains on ``workers`` workers (Dask at ``scheduler``, or a local cluster
    for several; ``silence_logs`` is the level below which Dask's logs are hidden); a blocking one
    on this process alone. A folder belongs to one configuration; reusing it needs ``resume=True``.
    Returns the runs of ``seeds`` (resumed ones included) in that order.
    """
    searcher = as_searcher(searcher)
    seeds = check_seeds(seeds)
    out = None if out_dir is None else Path(out_dir)
    profile = load_profile(os.fspath(profile)) if isinstance(profile, (str, os.PathLike)) else resolve_profile(profile)
    maximize = run_direction(objective, maximize)
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    proposes = searcher.proposes()
    if not proposes and workers != 1:
        raise ConfigError(f"{searcher_name(searcher)} is written as a blocking search(): live mode trains its "
                          "queries one at a time on one worker (write it as propose() to use several)")
    if not proposes and budget.archs is None:
        raise ConfigError("a blocking search() runs live on a budget of distinct architectures only")
    config = None
    if out is not None:
        live = {"profile": profile.name, "profile_key": profile.key, "train_seed": train_seed,
                "device": kind_of(device)}
        table = bench if is_nares_profile(profile) else None  # the only profile the table answers for
        config = run_config(searcher, table, budget=budget, objective=objective, maximize=maximize, workers=workers,
                            live=live)
    options = dict(bench=bench, profile=profile, objective=objective, maximize=maximize, cache=cache,
                   data_dir=data_dir, train_seed=train_seed, device=device, progress=progress)
    produce = (partial(_proposing_runs, searcher, out, budget, workers=workers, scheduler=scheduler, resume=resume,
                       silence_logs=silence_logs, **options) if proposes
               else partial(_blocking_runs, searcher, budget.archs, **options))
    return run_into(out, config, seeds, produce, resume=resume,
                    execution_params=getattr(searcher, "execution_params", ()), summary_every=1,
                    kept=None if out is None else partial(_drop_live_log, out))


def _drop_live_log(out: Path, result: RunResult) -> None:
    """Remove the log a proposing run kept in ``out/live/`` while it ran: its run file holds it now."""
    (out / "live" / f"seed_{result.seed:05d}.json").unlink(missing_ok=True)


def _proposing_runs(searcher: Searcher, out: Path | None, budget: Budget, *, seeds: list[int], bench: Any,
                    profile: Any, objective: str, maximize: bool, cache: Any, data_dir: Any, train_seed: int,
                    device: str, progress: bool, workers: int, scheduler: str | None, resume: bool,
                    silence_logs: int | None) -> Iterator[list[RunResult]]:
    """The runs of ``seeds`` through the live driver, each yielded as it finishes (none: no executor starts);
    each keeps its log in ``out/live/`` until its run file is written (:func:`_drop_live_log`)."""
    if not seeds:
        return
    params, execution_params = split_params(searcher)
    with open_executor(workers, client=scheduler, device=device, silence_logs=silence_logs) as executor:
        execution = {"params": execution_params, "device": device, "data_dir": None if data_dir is None
                     else str(data_dir), "executor": type(executor).__name__, "scheduler": scheduler}
        for seed in seeds:
            log_path = None if out is None else out / "live" / f"seed_{seed:05d}.json"
            driver = LiveSearch(searcher.clone(), profile, seed=seed, budget=budget,
                                executor=executor, bench=bench, objective=objective, maximize=maximize, cache=cache,
                                data_dir=data_dir, train_seed=train_seed, device=device, log_path=log_path,
                                resume=resume, progress=progress)
            run = driver.run()
            yield [RunResult.of_trajectory(searcher_name(searcher), seed, params, budget.archs, run.trajectory(),
                                           {**execution, "cache": str(driver.cache.path)}, run.clock())]


def _blocking_runs(searcher: Searcher, budget: int, *, seeds: list[int], bench: Any, profile: Any, objective: str,
                   maximize: bool, cache: Any, data_dir: Any, train_seed: int, device: str,
                   progress: bool) -> Iterator[list[RunResult]]:
    """The runs of ``seeds`` of a blocking ``search()`` against a lookup-or-train oracle (each miss trains)."""
    params, execution_params = split_params(searcher)
    for seed in seeds:
        oracle = make_live_oracle(bench, objective=objective, maximize=maximize, budget=searcher.query_cap(budget),
                                  profile=profile, data_dir=data_dir, cache_path=cache, seed=train_seed,
                                  device=device, progress=progress)
        trajectory = searcher.clone().run(SPACE, oracle, budget, as_generator(seed))
        execution = {"params": execution_params, "device": device, "cache": str(oracle.cache.path),
                     "data_dir": None if data_dir is None else str(data_dir)}
        yield [RunResult.of_trajectory(searcher_name(searcher), seed, params, budget, trajectory, execution)]
