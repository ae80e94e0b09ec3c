"""``nares-nas report DIR [DIR ...]``: summarise and compare finished folders without re-running them."""

from __future__ import annotations

import argparse
from pathlib import Path

from nares_nas.commands.common import out_dir
from nares_nas.reports.curves import BANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="summarise and compare finished run folders (tables and anytime plots), without re-running",
        description="Read the finished runs of each DIR (a folder written by search --out, or a table2/mo-table "
                    "--out folder, whose per-searcher folders are read) and print the summary (mean ± std over "
                    "runs of each run's best value, the objective's direction honoured) and the cost table; "
                    "with --out also write them (md, csv, tex, json) and the anytime plots against queries, "
                    "simulated days and GPU-days.",
    )
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="folders of finished runs")
    p.add_argument("--out", type=out_dir, metavar="OUT",
                   help="write report.md, summary.csv/.tex, costs.csv, report.json and anytime_*.png here")
    p.add_argument("--log-x", action="store_true", help="anytime plots with a log x-axis")
    p.add_argument("--band", choices=tuple(BANDS), default="sem",
                   help="anytime band: sem = mean ± 1.96·sem; percentile = 2.5–97.5th percentile of runs")
    p.add_argument("--incumbent", choices=("full", "any"), default="full",
                   help="plots against time and cost: the best at full fidelity (default) or at any")
    p.add_argument("--decimals", type=int, choices=range(0, 9), default=4, metavar="N",
                   help="decimals of the best values shown (0-8, default 4)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from nares_nas.reports.compare import compare, report_markdown, write_comparison
    from nares_nas.reports.results import read_results

    comparison = compare(read_results(args.dirs), decimals=args.decimals)
    print(report_markdown(comparison))
    if args.out is not None:
        paths = write_comparison(comparison, args.out, band=args.band, log_x=args.log_x,
                                 any_fidelity=args.incumbent == "any")
        print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0
