"""Syne Tune 0.16's ASHA and BOHB on NARes, through Syne Tune's simulated backend and our export.

Writes the table with ``nares_nas.integrations.synetune.export_syne_tune`` (what ``nares-nas export
syne-tune DIR`` writes), reads it back with Syne Tune's ``deserialize``, and runs Syne Tune's
``ASHA`` and ``BOHB`` schedulers on ``UserBlackboxBackend`` with ``SimulatorCallback``: simulated
time, ``n_workers`` trials at once, each epoch taking its recorded training time. Beside them it
runs nares-nas's own ``asha`` and ``bohb`` on the same budget of simulated days and workers
(``--no-compare`` skips them). Needs ``pip install 'nares-nas[synetune]'``. Example::

    python experiments/synetune_asha_bohb.py --workers 8 --max-time 1 --seeds 2
    python experiments/synetune_asha_bohb.py --export results/st-export --out results/st-runs

**Not the same algorithms**, and every row says which variant it is:

- Syne Tune 0.16's ``ASHA`` is ASHA of the *stopping* type: a trial trains on, and at each rung it
  either continues or is stopped for good (top ``1/3`` of the results so far in that rung continue);
  nothing is paused and resumed later. Its ``BOHB`` is the same stopping ASHA whose new trials come
  from a KDE searcher, not Falkner et al.'s synchronous Hyperband brackets.
- nares-nas's ``asha`` is ASHA of the *promotion* type (Li et al., 2020, Algorithm 2): an
  architecture waits at its rung, and a free worker may promote it later, continuing from its
  epoch. Our ``bohb`` runs Hyperband's brackets with a TPE-style model (Falkner et al., 2018).

Syne Tune 0.16 has no promotion-type scheduler (``syne_tune/optimizer/schedulers`` offers only the
stopping ``AsynchronousSuccessiveHalving`` under ``ASHA``, ``ASHABORE``, ``ASHACQR`` and ``BOHB``; its
``HyperbandScheduler(type="promotion")`` was last shipped in 0.13), so no like-for-like ASHA run is
possible with the pinned version. The README records an independent run of Syne Tune 0.13's
promotion-type scheduler on our export.

Syne Tune writes each tuning's files under ``--out`` (default: a temporary folder, removed at the
end; never ``~/syne-tune``). Syne Tune 0.16 draws some values from NumPy's global generator, so
each run seeds it (``np.random.seed(seed)``) to be repeatable; nares-nas itself never does. Its
simulated time also counts the schedulers' own compute time, so the end of a tuning limited by
time can differ slightly from one invocation to the next.
Both schedulers use ``grace_period = --min-epochs`` (4, as our ``asha``) and reduction factor 3.
Without imported NARes data it runs on the synthetic stand-in, and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import nares_nas
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.integrations.synetune import DEFAULT_METRIC, ELAPSED_TIME, FIDELITY_ATTR, TASK, export_syne_tune
from nares_nas.runs.search import simulate_search
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.model import evaluation_model

SCHEDULERS: tuple[str, ...] = ("ASHA", "BOHB")
# Each row's name says which variant it runs (the module docstring says why they differ).
VARIANTS: dict[str, str] = {
    "ASHA": "Syne Tune ASHA (stopping)",
    "BOHB": "Syne Tune BOHB (stopping ASHA + KDE)",
    "asha": "nares-nas asha (promotion)",
    "bohb": "nares-nas bohb (Hyperband brackets + KDE)",
}
WHO = max(map(len, VARIANTS.values()))
SECONDS_PER_DAY = 86_400


def run_scheduler(blackbox: Any, scheduler: str, *, seed: int, workers: int, max_time_days: float | None = None,
                  max_trials: int | None = None, min_epochs: int = 4, out_dir: str | os.PathLike,
                  points_to_evaluate: list[dict] | None = None) -> dict[str, Any]:
    """One Syne Tune tuning of ``blackbox`` (a ``BlackboxTabular`` of our export) on the simulator.

    Stops after ``max_time_days`` simulated days, or once ``max_trials`` trials started (and
    lets those finish); writes under
    ``out_dir``; ``points_to_evaluate`` are the first configurations (``{"hp_D1": 4, ...}``).
    Returns the trials started, simulated days, the best ``metric_val_pgd_acc`` at the full
    fidelity (None if no trial got there) and at any fidelity, and the results frame.
    """
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer import baselines

    if scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
    max_t = int(max(blackbox.fidelity_values))
    np.random.seed(seed)  # Syne Tune 0.16 draws from NumPy's global generator in places
    backend = UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr=ELAPSED_TIME, seed=0)
    searcher = getattr(baselines, scheduler)(
        blackbox.configuration_space, metric=DEFAULT_METRIC, time_attr=FIDELITY_ATTR, max_t=max_t,
        do_minimize=False, random_seed=seed, grace_period=min(min_epochs, max_t), reduction_factor=3,
        points_to_evaluate=points_to_evaluate)
    stop = StoppingCriterion(max_wallclock_time=None if max_time_days is None else max_time_days * SECONDS_PER_DAY,
                             max_num_trials_started=None if max_trials is None else max_trials - 1)
    callback = SimulatorCallback()
    previous = os.environ.get("SYNETUNE_FOLDER")
    os.environ["SYNETUNE_FOLDER"] = str(out_dir)  # Syne Tune's default is ~/syne-tune
    try:
        tuner = Tuner(trial_backend=backend, scheduler=searcher, stop_criterion=stop, n_workers=workers,
                      sleep_time=0, callbacks=[callback], tuner_name=f"{scheduler.lower()}-seed{seed}",
                      wait_trial_completion_when_stopping=max_trials is not None,  # the last trials report
                      save_tuner=False, print_update_interval=1e12, results_update_interval=1e12)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # its per-trial console lines
            warnings.simplefilter("ignore", FutureWarning)  # pandas, on Syne Tune's sampling
            tuner.run()
    finally:
        if previous is None:
            os.environ.pop("SYNETUNE_FOLDER", None)
        else:
            os.environ["SYNETUNE_FOLDER"] = previous
    results = callback.dataframe()
    full = results[results[FIDELITY_ATTR] == max_t]
    return {
        "scheduler": scheduler, "seed": seed, "trials": int(results["trial_id"].nunique()),
        "sim_days": float(results["st_tuner_time"].max()) / SECONDS_PER_DAY,
        "best_full": float(full[DEFAULT_METRIC].max()) if len(full) else None,
        "best_any": float(results[DEFAULT_METRIC].max()), "results": results, "path": tuner.tuner_path,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="cifar10.jsonl, 'nares' or 'synthetic' (default: auto)")
    parser.add_argument("--export", type=Path, help="the export folder (written if it holds none; default: temporary)")
    parser.add_argument("--out", type=Path, help="Syne Tune's output folder (default: temporary, removed)")
    parser.add_argument("--workers", type=int, default=8, help="simulated workers (default 8)")
    parser.add_argument("--max-time", type=float, default=1.0, help="simulated days per tuning (default 1)")
    parser.add_argument("--min-epochs", type=int, default=4, help="the schedulers' grace period (default 4)")
    parser.add_argument("--seeds", type=int, default=1, help="tunings per scheduler, seeds 0.. (default 1)")
    parser.add_argument("--no-compare", action="store_true", help="skip nares-nas's own asha and bohb")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.getLogger("syne_tune").setLevel(logging.ERROR)  # its notes on unused searcher arguments
    args = parse_args(argv)
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize

    bench = nares_nas.load(args.data) if args.data else nares_nas.load()
    print(f"data: {bench.provenance}")
    with contextlib.ExitStack() as stack:
        export = args.export or Path(stack.enter_context(tempfile.TemporaryDirectory())) / "export"
        if not (export / "metadata.json").exists():
            export_syne_tune(bench, export)
        out = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        blackbox = deserialize(str(export))[TASK]
        print(f"{args.workers} workers, {args.max_time:g} simulated days per tuning, grace period {args.min_epochs}, "
              f"reduction factor 3; best {DEFAULT_METRIC} at {FIDELITY_ATTR}={int(max(blackbox.fidelity_values))}")
        print(f"{'who':<{WHO}} {'seed':>4} {'trials':>7} {'sim days':>8} {'best (full)':>11} {'best (any)':>10} "
              f"{'seconds':>8}")
        for scheduler in SCHEDULERS:
            for seed in range(args.seeds):
                start = time.perf_counter()
                run = run_scheduler(blackbox, scheduler, seed=seed, workers=args.workers, max_time_days=args.max_time,
                                    min_epochs=args.min_epochs, out_dir=out)
                full = "n/a" if run["best_full"] is None else f"{run['best_full']:.2f}"
                print(f"{VARIANTS[scheduler]:<{WHO}} {seed:>4} {run['trials']:>7} {run['sim_days']:>8.2f} "
                      f"{full:>11} {run['best_any']:>10.2f} {time.perf_counter() - start:>8.1f}")
        if not args.no_compare:
            model = evaluation_model(bench, "VAL_PGD_ACC")
            for name in ("asha", "bohb"):
                start = time.perf_counter()
                runs = simulate_search(name, model, seeds=range(args.seeds), budget=Budget(time=args.max_time),
                                       workers=args.workers)
                seconds = (time.perf_counter() - start) / args.seeds
                for seed, run in enumerate(runs):
                    trajectory = run.trajectory()
                    full = f"{trajectory.best_value:.2f}" if len(trajectory) else "n/a"
                    best_any = max(run.log.value) if len(run.log) else float("nan")
                    print(f"{VARIANTS[name]:<{WHO}} {seed:>4} {len(set(run.log.arch_id)):>7} {run.time_days:>8.2f} "
                          f"{full:>11} {best_any:>10.2f} {seconds:>8.1f}")
        if args.out:
            print(f"Syne Tune's results in {out}")
    print("(trials: Syne Tune's trials, or distinct architectures for nares-nas; a Syne Tune trial may repeat "
          "an architecture. Stopping: a trial continues or stops at each rung; promotion: an architecture "
          "waits at its rung and may be resumed later)")
    if bench.synthetic:
        print(f"NOTE: {SYNTHETIC_LABEL}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
