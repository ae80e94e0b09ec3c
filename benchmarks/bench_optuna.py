"""Optuna samplers beside our searchers on equal terms: same seeds, budget, workers and table.

Command (documented in docs/benchmarks.md):

    nice -n 19 python benchmarks/bench_optuna.py [--runs 30] [--budget 500] [--workers 1] [--data synthetic]
        [--searchers regularized_evolution,random_search,optuna:RandomSampler,optuna:TPESampler]

For each searcher: ``harness.run_search`` over seeds ``0..runs-1`` in this process (the table loaded
first), then the mean best VAL_PGD_ACC ± std (ddof = 1) and its 95 % half-width (1.96·sem), and the
seconds per run (wall and process CPU). ``--max-seconds`` stops a searcher's runs once that much
wall time is spent and reports how many ran.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nares_nas
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.runs.search import run_search
from nares_nas.simulation.budget import Budget

SEARCHERS = "regularized_evolution,random_search,optuna:RandomSampler,optuna:TPESampler"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--searchers", default=SEARCHERS)
    parser.add_argument("--max-seconds", type=float, default=None, help="wall seconds per searcher (default: no limit)")
    args = parser.parse_args()

    bench = nares_nas.load(args.data)
    values = bench.metric_by_id("VAL_PGD_ACC")
    print(f"data: {bench.provenance}; budget {args.budget}, {args.workers} worker(s), seeds 0..{args.runs - 1}")
    print("| searcher | runs | mean best VAL_PGD_ACC ± std | 95% half-width | s per run (wall) | s per run (CPU) |")
    print("|---|---|---|---|---|---|")
    for name in args.searchers.split(","):
        best, wall, cpu = [], [], []
        for seed in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            (trajectory,) = run_search(name, values, seeds=[seed], budget=Budget(archs=args.budget),
                                       workers=args.workers)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            if len(trajectory) != args.budget:
                raise SystemExit(f"{name} seed {seed}: {len(trajectory)} distinct architectures, not {args.budget}")
            best.append(trajectory.best_value)
            if args.max_seconds is not None and sum(wall) >= args.max_seconds:
                break
        best_a = np.array(best)
        std = best_a.std(ddof=1) if len(best_a) > 1 else float("nan")
        print(f"| {name} | {len(best_a)} | {best_a.mean():.3f} ± {std:.3f} | {1.96 * std / np.sqrt(len(best_a)):.3f} "
              f"| {np.mean(wall):.2f} | {np.mean(cpu):.2f} |", flush=True)
    if bench.synthetic:
        print(f"NOTE: {SYNTHETIC_LABEL}")


if __name__ == "__main__":
    main()
