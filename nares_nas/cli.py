"""The ``nares-nas`` command: parse arguments, call the library, map errors to exit codes."""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from nares_nas._version import __version__
from nares_nas.errors import NaresError

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
    "nares_nas.commands.report",
)


# OSErrors without a file name that the user's machine causes, not our code.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


class Parser(argparse.ArgumentParser):
    """A usage mistake is one line, like every other error (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="nares-nas",
        description="NAS benchmark harness for NARes, the architecture dataset for adversarial robustness.",
    )
    parser.add_argument("--version", action="version", version=f"nares-nas {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    _name_commands(parser)
    return parser


def _name_commands(parser: argparse.ArgumentParser) -> None:
    """Give each (sub)command its full name, ``prog`` (``nares-nas data import``), to put before its errors."""
    parser.set_defaults(prog=parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _name_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage mistake, already printed
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except NaresError as exc:
        if args.debug:
            raise
        return _error(args, exc)
    except BrokenPipeError:  # the reader went away (`nares-nas info | head -1`): stop quietly
        _silence_stdout()
        return 128 + 13  # as if killed by SIGPIPE, what a shell reports for `yes | head -1`
    except OSError as exc:
        if args.debug or (exc.filename is None and exc.errno not in ENVIRONMENT_ERRNOS):
            raise  # not about a path or the machine: a bug, with its traceback
        return _error(args, _os_message(exc))
    except KeyboardInterrupt:
        print("nares-nas: interrupted", file=sys.stderr)
        return 130


def _error(args: argparse.Namespace, message: object) -> int:
    print(f"{args.prog}: error: {message}", file=sys.stderr)
    return 2


def _os_message(exc: OSError) -> str:
    """``PATH: reason`` of a failed file operation (``PATH -> OTHER`` for a rename)."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    path = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
    return f"{path}: {reason}"


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the final flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a captured stdout): nothing is flushed at exit
        pass


if __name__ == "__main__":
    sys.exit(main())
