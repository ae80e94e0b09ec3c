"""``nares-nas export syne-tune DIR``: the table in another tool's format."""

from __future__ import annotations

import argparse

from nares_nas.commands.common import add_data_option, load_data, out_dir, source_line
from nares_nas.integrations.synetune import TASK, export_syne_tune, objective_names


def register(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser("export", help="write the table in another tool's format (Syne Tune)")
    sub = export.add_subparsers(dest="export_command", metavar="FORMAT")
    sub.required = True
    st = sub.add_parser(
        "syne-tune", help="Syne Tune's tabular blackbox (needs: pip install 'nares-nas[synetune]')",
        description="Write the table as a Syne Tune tabular blackbox, readable by "
                    "syne_tune.blackbox_repository.blackbox_tabular.deserialize(DIR): the six hyper-parameters, "
                    "hp_epoch 1..E with every history metric after that many epochs, cumulative elapsed time "
                    "in seconds; no test-set metrics.",
    )
    st.add_argument("directory", type=out_dir, metavar="DIR", help="output folder (created if missing)")
    add_data_option(st)
    st.set_defaults(func=cmd_syne_tune)


def cmd_syne_tune(args: argparse.Namespace) -> int:
    bench = load_data(args, notice=False)
    out = export_syne_tune(bench, args.directory)
    print(source_line(args, bench))
    print(f"wrote {len(bench):,} architectures x {bench.max_epochs} epochs, {len(objective_names())} objectives "
          f"(task {TASK!r}) to {out}")
    return 0
