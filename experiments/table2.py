"""Reproduce Table 2 of the NARes paper: 400 runs of each searcher, objective VAL_PGD_ACC, 500 queries.

Uses only the public API (``nares_nas.load``, ``nares_nas.report``); ``nares-nas table2`` does the same
with more options (searcher subset, --param overrides, Optimal reading, band). Example::

    python experiments/table2.py --out results/table2-ref --preset reference --jobs 8
    python experiments/table2.py --out results/table2-ref --preset reference --jobs 8 --resume
    python experiments/table2.py --out results/table2 --backend dask --scheduler tcp://HOST:8786

Without imported NARes data it runs on the synthetic stand-in, and every output says
"SYNTHETIC stand-in data, not NARes results".
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import nares_nas
from nares_nas import harness, report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--data", default=None, help="cifar10.jsonl, 'nares' or 'synthetic' (default: auto)")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--preset", choices=report.PRESETS, default="default",
                        help="default: corrected behaviour (as nares-nas table2); reference: the paper's code "
                             "as published; fast: BANANAS' cheap settings")
    parser.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1; -1 = all cores)")
    parser.add_argument("--backend", choices=harness.BACKENDS, default="loky",
                        help="loky: local processes; dask: the workers of --scheduler")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address")
    parser.add_argument("--resume", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    bench = nares_nas.load(args.data)
    results = report.run_table2(bench, args.out, runs=args.runs, budget=args.budget, preset=args.preset,
                                n_jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                                resume=args.resume, progress=True)
    table = report.summarize(bench, results, preset=args.preset, budget=args.budget)
    report.write_report(table, results, args.out, reference=True)
    print(table.to_markdown())
    print(report.published_table2().to_markdown())
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
