"""Reproduce the paper's analyses of the dataset: Figures 2-7 and the Table 1 / Section 3 summary.

Uses only the public API (``nares_nas.load``, ``nares_nas.analysis.figures``, ``nares_nas.analysis.plots``);
``nares-nas figure N`` does the same one figure at a time, with ``--metric``, ``--by``, ``--bins``,
``--against`` and ``--max-rank``. Example::

    python experiments/figures.py --all --out results/figures
    python experiments/figures.py --figure 7 --figure summary --out results/figures --data nares

Writes ``figN.png`` and ``figN.csv`` (plus ``figN_<part>.csv`` where a figure has more tables) and
``summary.csv``/``summary.md``. Without imported NARes data it runs on the synthetic stand-in, and
every file says "SYNTHETIC stand-in data: these numbers are not NARes results".
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import nares_nas
from nares_nas.analysis import figures as analysis
from nares_nas.analysis import plots as analysis_plots


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--data", default=None, help="cifar10.jsonl, 'nares' or 'synthetic' (default: auto)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every figure and the summary")
    which.add_argument("--figure", action="append", choices=analysis.FIGURES, help="one figure (repeatable)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    bench = nares_nas.load(args.data)
    print(f"data: {bench.provenance}")
    for figure in analysis.FIGURES if args.all else args.figure:
        data = analysis.figure_data(bench, figure)
        paths = analysis_plots.write_figure(data, args.out)
        print(f"\n{data.stem}:\n" + "\n".join(analysis.describe(data)))
        print("written: " + ", ".join(p.name for p in paths.values()))
    print(f"\nwritten to {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
