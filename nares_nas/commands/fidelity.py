"""``nares-nas fidelity``: how well each epoch count ranks architectures (CSV and plot)."""

from __future__ import annotations

import argparse

from nares_nas.analysis.fidelity import HIGHLIGHT_EPOCHS, fidelity_correlations, write_study
from nares_nas.commands.common import add_data_option, load_data, out_dir, source_line
from nares_nas.fidelity import fidelity_metric


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fidelity", help="rank correlation of a metric after e epochs with its final value and test PGD/AA",
        description="For e = 1..E, Kendall tau and Spearman rho across all architectures between METRIC after "
                    "e epochs (the checkpoint the protocol selects among the first e) and its final value, the "
                    "test PGD-20 and the test AA accuracy. Writes DIR/fidelity_METRIC.csv and .png.",
    )
    p.add_argument("--metric", default="VAL_PGD_ACC", help="a metric with a per-epoch history (default VAL_PGD_ACC)")
    p.add_argument("--out", required=True, type=out_dir, metavar="DIR", help="output folder")
    add_data_option(p)
    p.set_defaults(func=cmd_fidelity)


def cmd_fidelity(args: argparse.Namespace) -> int:
    fidelity_metric(args.metric)  # a bad metric fails before the data loads
    bench = load_data(args, notice=False)
    frame = fidelity_correlations(bench, args.metric, progress=True)
    paths = write_study(frame, args.out)
    print(source_line(args, bench))
    last = int(frame["epoch"].iloc[-1])
    shown = frame[frame["epoch"].isin([e for e in HIGHLIGHT_EPOCHS if e < last] + [last])]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0
