"""``nares-nas info`` and ``nares-nas query``."""

from __future__ import annotations

import argparse
import json
import math

from nares_nas.commands.common import add_data_option, load_data, source_line
from nares_nas.errors import ConfigError
from nares_nas.metrics import METRICS
from nares_nas.space import N_ARCHS, to_arch


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser("info", help="data source, counts and metric names")
    add_data_option(info)
    info.set_defaults(func=cmd_info)

    query = subparsers.add_parser("query", help="every scalar metric of one architecture")
    query.add_argument("arch", nargs="?", help='decision vector "5,10,5,10,5,10" (or an arch_id)')
    query.add_argument("--id", type=int, dest="arch_id", help="arch_id 1..15625")
    query.add_argument("--json", action="store_true", help="print one JSON object")
    add_data_option(query)
    query.set_defaults(func=cmd_query)


def cmd_info(args: argparse.Namespace) -> int:
    bench = load_data(args, notice=False)
    print(source_line(args, bench))
    print(f"synthetic: {'yes' if bench.synthetic else 'no'}")
    print(f"architectures: {len(bench):,} of {N_ARCHS:,}")
    print(f"epochs per history: {bench.table.epochs}")
    print("metrics (test-set metrics marked *, refused as search objectives):")
    for name, spec in METRICS.items():
        print(f"  {name:<17}{'*' if spec.is_test else ' '} {spec.doc}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    if (args.arch is None) == (args.arch_id is None):
        raise ConfigError("give exactly one of ARCH (e.g. 5,10,5,10,5,10) or --id N")
    arch = to_arch(args.arch_id if args.arch_id is not None else args.arch)
    bench = load_data(args, notice=args.json)  # as text, the data line says it
    record = bench.query(arch)
    values = record.metrics()
    if args.json:
        obj = {
            "arch_id": record.arch_id,
            "arch": record.arch.to_list(),
            "params": record.params,
            "macs": record.macs,
            "best_epoch": record.best_epoch,
            "synthetic": record.synthetic,
            "source": record.source,
            "metrics": {k: (int(v) if k in ("MACS", "PARAMS") else (None if math.isnan(v) else v))
                        for k, v in values.items()},
        }
        print(json.dumps(obj))
        return 0
    print(source_line(args, bench))
    print(f"arch_id {record.arch_id}  [{record.arch}]  params {record.params:,}  MACs {record.macs:,}")
    for name, value in values.items():
        shown = f"{int(value):,}" if name in ("MACS", "PARAMS") else ("-" if math.isnan(value) else f"{value:.4f}")
        print(f"  {name:<17} {shown:>16}   {METRICS[name].doc}")
    return 0
