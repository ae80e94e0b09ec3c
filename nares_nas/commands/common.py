"""Options and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..benchmark import SYNTHETIC_NOTICE, Benchmark


def add_data_option(parser: argparse.ArgumentParser, *, live: bool = False) -> None:
    none = ", 'none' (with --live: no table, every architecture from the live cache or trained)" if live else ""
    parser.add_argument(
        "--data", metavar="PATH|nares|synthetic" + ("|none" if live else ""), default=None,
        help=f"cifar10.jsonl, nares.txz, 'nares' (imported), 'synthetic'{none}; "
             "default: $NARES_NAS_DATA, else the imported data, else the synthetic stand-in",
    )


def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--backend`` and ``--scheduler``: how runs execute (never what they find)."""
    from ..harness import BACKENDS

    parser.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1; -1 = all cores)")
    parser.add_argument("--backend", choices=BACKENDS, default="loky",
                        help="loky: local processes; dask: the workers of --scheduler (then --jobs is unused)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address")


def load_data(args: argparse.Namespace, *, allow_none: bool = False, notice: bool = True) -> Benchmark | None:
    """Load ``--data``; print a one-line notice to stderr when the stand-in is used (and ``notice``).

    ``--data none`` means no table: None where ``allow_none`` (live mode), else an error.
    """
    from .. import home, load
    from ..errors import ConfigError

    source = args.data or home.default_source()
    if source == "none":
        if not allow_none:
            raise ConfigError("--data none (no table) is for live mode only: add --live, or name a table")
        return None
    bench = load(source)
    if bench.synthetic and notice:
        print(f"notice: {SYNTHETIC_NOTICE}{_import_hint(args)}", file=sys.stderr)
    return bench


def _import_hint(args: argparse.Namespace) -> str:
    """How to get the real data, where the stand-in is used because none was imported."""
    from .. import home

    return "" if args.data or home.has_imported() else " (no NARes data imported: run `nares-nas data import PATH`)"


def data_line(bench: Benchmark) -> str:
    """One line naming the data behind the numbers printed after it."""
    return f"data: {bench.provenance}"


def source_line(args: argparse.Namespace, bench: Benchmark) -> str:
    """:func:`data_line` for a command that prints one: on the stand-in it is the command's one synthetic
    notice (load the data with ``notice=False``), with how to import NARes where nothing is imported."""
    return data_line(bench) + (_import_hint(args) if bench.synthetic else "")


def add_clock_options(parser: argparse.ArgumentParser) -> None:
    """The simulated clock: ``--workers`` and the cost, time and epoch budgets (they change results)."""
    group = parser.add_argument_group("the simulated clock (every training costs its recorded time)")
    group.add_argument("--workers", type=int, default=1,
                       help="simulated workers (one GPU each) evaluating at once (default 1)")
    group.add_argument("--max-cost", type=_cost, nargs="?", const="equal", metavar="GPU_DAYS",
                       help="GPU-days a run may spend; without a value: the cost of 500 full trainings at the "
                            "table's mean training_time")
    group.add_argument("--max-time", type=float, metavar="DAYS", help="simulated days a run may take")
    group.add_argument("--max-total-epochs", type=int, metavar="N", help="training epochs a run may spend")
    group.add_argument("--from-scratch", action="store_true",
                       help="charge every evaluation as a fresh training (default: a promotion continues)")


def _cost(text: str) -> float | str:
    if text == "equal":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected GPU-days (a number) or 'equal', got {text!r}") from None


def clock_budget(args: argparse.Namespace, bench: Benchmark, searchers: list[str] | None = None):
    """The :class:`~nares_nas.clock.Budget` of the parsed options (see :func:`nares_nas.report.table2_budget`)."""
    from ..report import table2_budget

    return table2_budget(bench, searchers or [], budget=args.budget, max_cost=args.max_cost, max_time=args.max_time,
                         max_total_epochs=args.max_total_epochs)


def seed_ranges(seeds: Iterable[int]) -> str:
    """Seeds as runs of consecutive ones: ``0..7, 10, 12..13``."""
    spans: list[list[int]] = []
    for seed in sorted(set(seeds)):
        if spans and seed == spans[-1][1] + 1:
            spans[-1][1] = seed
        else:
            spans.append([seed, seed])
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in spans) or "none"


def kept_seeds(folder: Path) -> list[int]:
    """The seeds of the finished runs a results folder holds (``runs/seed_NNNNN.json``)."""
    return sorted(int(path.stem[len("seed_"):]) for path in (folder / "runs").glob("seed_*.json"))


def coverage_note(folder: Path, seeds: Sequence[int]) -> str | None:
    """What a report of the runs of ``seeds`` leaves out of ``folder`` (a resume with fewer runs), or None.

    The printed statistics cover ``seeds``; ``summary.csv`` keeps every run of the folder.
    """
    kept = kept_seeds(folder)
    if not set(kept) - set(seeds):
        return None
    return (f"{folder} holds {len(kept)} runs (seeds {seed_ranges(kept)}), of which the {len(seeds)} of seeds "
            f"{seed_ranges(seeds)} are reported here; its summary.csv has all {len(kept)}")


def left_out_folders(out: Path, used: Iterable[Path]) -> list[str]:
    """The searchers' folders in ``out`` that a table leaves out (runs of searchers not asked for this time)."""
    import orjson

    used = {Path(path).resolve() for path in used}
    lines = []
    for config in sorted(out.glob("*/config.json")):
        if config.parent.resolve() not in used:
            try:
                name = orjson.loads(config.read_bytes()).get("searcher", "?")
            except (orjson.JSONDecodeError, AttributeError):
                name = "?"
            lines.append(f"{config.parent} ({name}, {len(kept_seeds(config.parent))} runs)")
    return lines


def table_coverage(out: Path, searchers: Sequence[str], seeds: Sequence[int]) -> list[str]:
    """Lines saying what a table of ``searchers`` over ``seeds`` leaves out of ``out`` (after a resume
    with fewer searchers or runs): other searchers' folders, and runs of other seeds."""
    from ..report import searcher_folder

    folders = [searcher_folder(out, name) for name in searchers]
    lines = [note for folder in folders if (note := coverage_note(folder, seeds))]
    left = left_out_folders(out, folders)
    if left:
        lines.append(f"left out of this table (not among --searchers): {', '.join(left)}")
    return lines
