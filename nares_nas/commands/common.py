"""Options and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys

from ..benchmark import SYNTHETIC_NOTICE, Benchmark


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", metavar="PATH|synthetic", default=None,
        help="cifar10.jsonl, nares.txz, 'nares' (imported) or 'synthetic'; "
             "default: $NARES_NAS_DATA, else the imported data, else the synthetic stand-in",
    )


def load_data(args: argparse.Namespace) -> Benchmark:
    """Load ``--data``; print a one-line notice to stderr when the stand-in is used."""
    from .. import home, load

    source = args.data or home.default_source()
    bench = load(source)
    if bench.synthetic:
        imported = args.data or home.has_imported()
        hint = "" if imported else " (no NARes data imported: run `nares-nas data import PATH`)"
        print(f"notice: {SYNTHETIC_NOTICE}{hint}", file=sys.stderr)
    return bench


def data_line(bench: Benchmark) -> str:
    """One line naming the data behind the numbers printed after it."""
    return f"data: {bench.provenance}"
