"""Reproduce Table 2 of the NARes paper: 400 runs of each searcher, objective VAL_PGD_ACC, 500 queries.

Uses only the public API (``nares_nas.load``, ``nares_nas.suites.table2``); ``nares-nas table2`` does the same
with more options (searcher subset, --param overrides, Optimal reading, band). Example::

    python experiments/table2.py --out results/table2-ref --preset reference --jobs 8
    python experiments/table2.py --out results/table2-ref --preset reference --jobs 8 --resume
    python experiments/table2.py --out results/table2 --backend dask --scheduler tcp://HOST:8786

Without imported NARes data it runs on the synthetic stand-in, and every output says
"SYNTHETIC stand-in data, not NARes results". Bad input (an output folder already holding runs
without ``--resume``, an unknown searcher) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import nares_nas
from nares_nas.reports.table2 import published_table2, summarize, write_report
from nares_nas.runs.parallel import BACKENDS
from nares_nas.simulation.budget import budget_note
from nares_nas.suites.table2 import DEFAULT_SEARCHERS, PRESETS, run_table2, table2_budget


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--data", default=None, help="cifar10.jsonl, 'nares' or 'synthetic' (default: auto)")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--budget", type=int, default=None,
                        help="distinct architectures per run (default 500, or no limit with --max-cost)")
    parser.add_argument("--searchers", default=",".join(DEFAULT_SEARCHERS),
                        help="comma-separated searcher names (default: the four of Table 2)")
    parser.add_argument("--workers", type=int, default=1, help="simulated workers (default 1)")
    parser.add_argument("--max-cost", default=None, type=_cost,
                        help="GPU-days per run, or 'equal': 500 full trainings at the mean training_time")
    parser.add_argument("--preset", choices=PRESETS, default="default",
                        help="default: corrected behaviour (as nares-nas table2); reference: the paper's code "
                             "as published; fast: BANANAS' cheap settings")
    parser.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1; -1 = all cores)")
    parser.add_argument("--backend", choices=BACKENDS, default="loky",
                        help="loky: local processes; dask: the workers of --scheduler")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address")
    parser.add_argument("--resume", action="store_true")
    return parser.parse_args(argv)


def _cost(text: str) -> float | str:
    if text == "equal":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected GPU-days (a number) or 'equal', got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run(args)
    except nares_nas.NaresError as exc:  # the user's input: one line, as nares-nas prints it
        print(f"table2.py: error: {exc}", file=sys.stderr)
        sys.exit(2)


def run(args: argparse.Namespace) -> None:
    bench = nares_nas.load(args.data)
    searchers = [name.strip() for name in args.searchers.split(",") if name.strip()]
    budget = table2_budget(bench, searchers, budget=args.budget, max_cost=args.max_cost)
    results = run_table2(bench, args.out, searchers=searchers, runs=args.runs, budget=budget.archs,
                         max_cost=budget.cost, workers=args.workers, preset=args.preset,
                         n_jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                         resume=args.resume, progress=True)
    table = summarize(bench, results, preset=args.preset, budget=budget.archs,
                      budget_note=budget_note(budget, bench, args.workers))
    write_report(table, results, args.out, reference=True)
    print(table.to_markdown())
    print(published_table2().to_markdown())
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
