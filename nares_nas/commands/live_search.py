"""``nares-nas search --live``: a proposing searcher trained for real on ``--workers`` workers."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import numpy as np

from nares_nas.commands.common import data_line, load_data
from nares_nas.errors import ConfigError
from nares_nas.live.driver import LiveSearch, live_budget_note
from nares_nas.live.executors import open_executor
from nares_nas.live.oracle import check_table, is_nares_profile
from nares_nas.live.profiles import load_profile
from nares_nas.runs.record import RunResult
from nares_nas.simulation.budget import make_budget


def live_budget(args: argparse.Namespace) -> Any:
    """The run budget of the options: ``--budget`` (default 500 unless another budget is given), ``--max-cost``
    in days of measured training (GPU-days, or CPU-days where the trainings run on the CPU), ``--max-time``
    in wall-clock days, ``--max-total-epochs``."""
    if args.max_cost == "equal":
        raise ConfigError("--max-cost needs a value in live mode (days of measured training: GPU-days, or CPU-days "
                          "on the CPU): there is no table whose mean training time would set it")
    return make_budget(args.budget, max_cost=args.max_cost, max_time=args.max_time,
                       max_total_epochs=args.max_total_epochs)


def live_table(args: argparse.Namespace) -> Any:
    """The table a live search reads (None: none), its ``data:`` line printed.

    Only NARes's own profile reads a table, and never the synthetic stand-in
    (:func:`~nares_nas.live.oracle.check_table` refuses it before any output). Under another profile
    no table is loaded: every value is trained or read from the live cache, so none is labelled
    synthetic.
    """
    profile = load_profile(args.profile)
    if not is_nares_profile(profile):
        if args.data not in (None, "none"):
            print(f"notice: profile {profile.name} never reads a table; --data {args.data} is not used",
                  file=sys.stderr)
        print(f"data: none (profile {profile.name} never reads the table: every value is trained or from the "
              "live cache)")
        return None
    bench = load_data(args, allow_none=True, notice=False)
    check_table(bench, profile)
    print("data: none (live mode: every architecture comes from the live cache or is trained)" if bench is None
          else data_line(bench))
    return bench


def live_search_runs(args: argparse.Namespace, searcher: Any, bench: Any, seeds: range, budget: Any) -> list:
    """The runs of ``seeds``, one after another, each on ``--workers`` workers (:mod:`nares_nas.live.driver`).

    With ``--out`` the folder pins the configuration (the workers too: with N > 1 a run is
    reproducible from its log, not from its seed alone); a run in progress keeps its log in
    ``DIR/live/seed_NNNNN.json``, which ``--resume`` replays before going on, and a finished run
    goes to ``DIR/runs/`` with its whole log (``clock.steps`` and ``clock.evaluations``).
    """
    from nares_nas.runs.folder import summary_row, write_run, write_summary
    from nares_nas.searchers import searcher_name, split_params

    if args.from_scratch:
        raise ConfigError("--from-scratch is an accounting rule of the simulated clock; live mode measures what "
                          "each training costs (a promotion resumes its run folder)")
    if args.jobs != 1:
        raise ConfigError("--live runs one search at a time (its trainings on --workers N workers): drop --jobs")
    if args.backend == "dask" and not args.scheduler:
        raise ConfigError("--backend dask needs --scheduler ADDRESS (without it --workers N starts a local cluster)")
    profile = load_profile(args.profile)
    maximize = args.maximize
    done = open_live_dir(args, searcher, bench, profile, budget, args.workers)
    params, execution_params = split_params(searcher)
    rows = {seed: summary_row(r) for seed, r in done.items()}
    todo = [s for s in seeds if s not in done]
    if todo:
        dask_logs = None if getattr(args, "debug", False) else logging.WARNING  # `nares-nas --debug` shows them
        with open_executor(args.workers, client=args.scheduler, device=args.device, silence_logs=dask_logs) as executor:
            execution = {"params": execution_params, "device": args.device, "data_dir": None if args.data_dir is None
                         else str(args.data_dir), "executor": type(executor).__name__, "scheduler": args.scheduler}
            for seed in todo:
                log_path = None if args.out is None else args.out / "live" / f"seed_{seed:05d}.json"
                fresh = searcher.clone()
                driver = LiveSearch(fresh, profile, seed=seed, budget=budget, executor=executor, bench=bench,
                                    objective=args.objective, maximize=maximize, cache=args.cache,
                                    data_dir=args.data_dir, train_seed=args.train_seed, device=args.device,
                                    log_path=log_path, resume=args.resume, progress=not args.quiet)
                run = driver.run()
                done[seed] = RunResult(searcher_name(searcher), seed, params, budget.archs, run.trajectory(),
                                       {**execution, "cache": str(driver.cache.path)}, run.clock())
                if args.out is not None:
                    write_run(args.out, done[seed])
                    log_path.unlink(missing_ok=True)  # the run file holds the whole log now
                    rows[seed] = summary_row(done[seed])
                    write_summary(args.out, rows.values())
    return [done[s] for s in seeds]


def open_live_dir(args: argparse.Namespace, searcher: Any, bench: Any, profile: Any, budget: Any,
                  workers: int = 1) -> dict[int, Any]:
    """Claim ``--out`` for live runs (None: nothing kept); the runs already there by seed.

    The folder pins what determines a live value (profile, training seed, device kind) beside
    the usual configuration; ``--resume`` skips the seeds already there.
    """
    from nares_nas.runs.folder import open_run_dir, run_config
    from nares_nas.runs.parallel import kind_of

    if args.out is None:
        return {}
    live = {"profile": profile.name, "profile_key": profile.key, "train_seed": args.train_seed,
            "device": kind_of(args.device)}
    table = bench if is_nares_profile(profile) else None  # the only profile the table answers for
    config = run_config(searcher, table, budget=budget, objective=args.objective, maximize=args.maximize,
                        workers=workers, live=live)
    return open_run_dir(args.out, config, resume=args.resume,
                        execution_params=getattr(searcher, "execution_params", ()))


def live_line(runs: list, budget: Any, workers: int) -> str:
    """What the live runs cost: hours of measured training (GPU- or CPU-hours, by what they ran on) and
    wall-clock time (mean over runs), and the budget."""
    clocks = [r.clock for r in runs if r.clock]
    spent = np.mean([c["gpu_days"] for c in clocks]) * 24
    wall = np.mean([c["sim_days"] for c in clocks]) * 24
    trained = np.mean([sum(s == "trained" for s in c["evaluations"].get("source", [])) for c in clocks])
    kinds = {c.get("hardware") for c in clocks}  # None where nothing was trained (all from the cache)
    unit = kinds.pop() if kinds in ({"CPU"}, {"GPU"}) else "device"
    return (f"cost per run: {spent:.4g} {unit}-hours of measured training, {wall:.4g} wall-clock hours on "
            f"{workers} workers, {trained:.1f} trainings (mean over runs); {live_budget_note(budget, workers)}")
