"""The ``nares-nas`` command: parse arguments, call the library, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import NaresError

# Each module exposes register(subparsers); its subcommands set `func(args) -> int`.
COMMAND_MODULES: tuple[str, ...] = (
    "nares_nas.commands.data",
    "nares_nas.commands.query",
    "nares_nas.commands.search",
    "nares_nas.commands.table2",
    "nares_nas.commands.live",
    "nares_nas.commands.fidelity",
    "nares_nas.commands.figure",
    "nares_nas.commands.export",
    "nares_nas.commands.pareto",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nares-nas",
        description="NAS benchmark harness for NARes, the architecture dataset for adversarial robustness.",
    )
    parser.add_argument("--version", action="version", version=f"nares-nas {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except NaresError as exc:
        if args.debug:
            raise
        print(f"nares-nas {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nares-nas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
