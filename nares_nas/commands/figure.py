"""``nares-nas figure N``: the paper's analyses of the dataset (Figures 2-7, the Table 1 summary)."""

from __future__ import annotations

import argparse

from nares_nas.analysis.figures import FIGURES, check_figure, describe, figure_data
from nares_nas.analysis.plots import write_figure
from nares_nas.commands.common import add_data_option, load_data, out_dir, source_line
from nares_nas.errors import ConfigError

ALL = "all"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "figure", help="the paper's dataset analyses: Figures 2-7 and the Table 1 summary (CSV and PNG)",
        description="Write DIR/figN.png and DIR/figN.csv (and figN_<part>.csv where a figure has more than one "
                    "table) for the paper's Figure N: 2 accuracies against #Params and #MACs; 3 box plots of "
                    "the accuracies by decision variable; 4 PGD-20 stable accuracy; 5 PGD-20 LIP; 6 accuracy "
                    "against the RobustResNet and RobustPrinciple ratios (quadratic fit); 7 best and worst sets "
                    "by Pareto rank (first front = rank 1) and the PCA of their decision vectors. 'summary' "
                    "writes summary.csv and summary.md (Table 1 and Section 3); 'all' writes every one.",
    )
    p.add_argument("figure", metavar="N", help="2, 3, 4, 5, 6, 7, summary or all")
    p.add_argument("--out", required=True, type=out_dir, metavar="DIR", help="output folder")
    p.add_argument("--metric", metavar="NAME[,NAME]",
                   help="metrics replacing the figure's default set (figures 2-7; figure 7 takes one)")
    p.add_argument("--by", metavar="QUANTITY[,QUANTITY]",
                   help="box-plot groups (figures 3-5): decision variables D1..W3 or channels C1..C3 by value, "
                        "or any metric or ratio binned into --bins quantiles (default: D1,W1,D2,W2,D3,W3)")
    p.add_argument("--bins", type=int, metavar="K", help="quantile bins of a continuous --by quantity (default 5)")
    p.add_argument("--against", metavar="NAME", help="the scatter's x axis in figures 4 and 5 (default TEST_PGD_ACC)")
    p.add_argument("--max-rank", type=int, metavar="R",
                   help="figure 7: best/worst sets are ranks 1..R (default 15, the paper's 'rank < 16' from 1)")
    add_data_option(p)
    p.set_defaults(func=cmd_figure)


def cmd_figure(args: argparse.Namespace) -> int:
    options = {"metrics": args.metric, "by": args.by, "bins": args.bins, "against": args.against,
               "max_rank": args.max_rank}
    if str(args.figure).strip().lower() == ALL:
        given = [f"--{k.replace('_', '-').replace('metrics', 'metric')}" for k, v in options.items() if v is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} applies to one figure; give N instead of 'all'")
        figures = list(FIGURES)
    elif str(args.figure).strip().lower() not in FIGURES:
        raise ConfigError(f"unknown figure {args.figure!r}; valid: {', '.join(FIGURES)}, {ALL}")
    else:
        figures = [check_figure(args.figure, **options)]  # bad input fails before the data loads
    bench = load_data(args, notice=False)
    print(source_line(args, bench))
    for figure in figures:
        data = figure_data(bench, figure, **options)
        paths = write_figure(data, args.out)
        print(f"\n{data.stem}:")
        print("\n".join(describe(data)))
        print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0
