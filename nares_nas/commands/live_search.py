"""``nares-nas search --live``: its options turned into a budget, a table and one library call; its cost line."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import numpy as np

from nares_nas.commands.common import data_line, load_data
from nares_nas.errors import ConfigError
from nares_nas.live.driver import live_budget_note
from nares_nas.live.oracle import check_table, is_nares_profile
from nares_nas.live.profiles import load_profile
from nares_nas.runs.live import run_live_to_dir
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


def live_runs(args: argparse.Namespace, searcher: Any, bench: Any, seeds: range, budget: Any,
              maximize: bool) -> list:
    """The live runs of ``seeds`` the options ask for (:func:`nares_nas.runs.live.run_live_to_dir`), after
    refusing the options that live mode has no use for."""
    if not searcher.proposes():
        if args.workers != 1:
            raise ConfigError(f"{args.algo} is written as a blocking search(): live mode trains its queries one "
                              "at a time (drop --workers; write it as propose() to use several)")
        if args.backend != "loky" or args.jobs != 1:
            raise ConfigError("--live runs sequentially in this process: drop --jobs and --backend "
                              "(scale training out with nares_nas.live.distributed.train_many)")
    else:
        if args.from_scratch:
            raise ConfigError("--from-scratch is an accounting rule of the simulated clock; live mode measures "
                              "what each training costs (a promotion resumes its run folder)")
        if args.jobs != 1:
            raise ConfigError("--live runs one search at a time (its trainings on --workers N workers): drop --jobs")
        if args.backend == "dask" and not args.scheduler:
            raise ConfigError("--backend dask needs --scheduler ADDRESS (without it --workers N starts a local "
                              "cluster)")
    dask_logs = None if getattr(args, "debug", False) else logging.WARNING  # `nares-nas --debug` shows them
    return run_live_to_dir(args.out, searcher, bench, seeds=seeds, profile=args.profile, budget=budget,
                           objective=args.objective, maximize=maximize, workers=args.workers, resume=args.resume,
                           cache=args.cache, data_dir=args.data_dir, train_seed=args.train_seed, device=args.device,
                           scheduler=args.scheduler, progress=not args.quiet, silence_logs=dask_logs)


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
