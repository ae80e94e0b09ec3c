"""Options and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from nares_nas._params import parse_param
from nares_nas._validation import MAX_SEED, integer_problem, wanted_int
from nares_nas.data import home
from nares_nas.data.benchmark import Benchmark
from nares_nas.data.loading import load
from nares_nas.data.synthetic import SYNTHETIC_NOTICE
from nares_nas.errors import ConfigError, PathError
from nares_nas.metrics import higher_is_better, objective_metric
from nares_nas.metrics import objective_direction as direction
from nares_nas.simulation.log import epoch_counts
from nares_nas.suites.table2 import searcher_folder, table2_budget


def int_type(low: int | None = 1, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``low..high`` (default: positive), refused in words where it enters."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or integer_problem(value, low, high) is not None:
            raise argparse.ArgumentTypeError(f"expected {wanted_int(low, high)}, got {text!r}")
        return value

    return parse


POSITIVE_INT = int_type(1)
SEED = int_type(0, MAX_SEED)


def positive_number(text: str, wanted: str = "a positive number") -> float:
    """An argparse ``type``: a finite number > 0 (a limit; ``inf`` is no limit, so it is refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isinf(value):
        raise argparse.ArgumentTypeError(f"the limit must be finite, got {text!r}; leave the option out for none")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
    return value


def out_dir(text: str) -> Path:
    """An argparse ``type``: a folder a command can write its files in (made if missing)."""
    return _out_argument(text, folder=True)


def out_file(text: str) -> Path:
    """An argparse ``type``: a file a command can write (replaced if there)."""
    return _out_argument(text, folder=False)


def _out_argument(text: str, *, folder: bool) -> Path:
    try:
        return check_out(Path(text), folder=folder)
    except PathError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_out(path: Path, *, folder: bool) -> Path:
    """``path`` if it can be written as a ``folder`` or a file, else :class:`~nares_nas.errors.PathError`.

    Refused: a file where a folder is wanted or the reverse, a path below a file, a folder we may
    not write in. Checked where the path enters, so that a long run never ends unable to write;
    whatever still fails when written (a full disk) the CLI reports in one line.
    """
    if path.exists():
        if folder != path.is_dir():
            raise PathError(path, "is a file, not a folder" if folder else "is a folder, not a file")
        existing = path if folder else path.parent  # where the files are written
    else:
        existing = next(p for p in path.parents if p.exists())
    if not existing.is_dir():
        raise PathError(path, f"{existing} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise PathError(path, f"cannot write in {existing}: Permission denied")
    return path


def add_data_option(parser: argparse.ArgumentParser, *, live: bool = False) -> None:
    none = ", 'none' (with --live: no table, every architecture from the live cache or trained)" if live else ""
    parser.add_argument(
        "--data", metavar="PATH|nares|synthetic" + ("|none" if live else ""), default=None,
        help=f"cifar10.jsonl, nares.txz, 'nares' (imported), 'synthetic'{none}; "
             "default: $NARES_NAS_DATA, else the imported data, else the synthetic stand-in",
    )


def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--backend`` and ``--scheduler``: how runs execute (never what they find)."""
    from nares_nas.runs.parallel import BACKENDS

    parser.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1; -1 = all cores; "
                        "a search expected to take under 2 s of one core runs in this process)")
    parser.add_argument("--backend", choices=BACKENDS, default="loky",
                        help="loky: local processes; dask: the workers of --scheduler (then --jobs is unused)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address")


def add_objective_options(parser: argparse.ArgumentParser) -> None:
    """``--objective`` and its direction, ``--maximize`` or ``--minimize`` (default: the metric's own)."""
    parser.add_argument("--objective", default="VAL_PGD_ACC", help="scalar non-test metric (default VAL_PGD_ACC)")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--maximize", dest="maximize", action="store_const", const=True, default=None,
                           help="larger objective is better (default: the metric's own direction; losses "
                                "(*_LOSS), Lipschitz constants (*_LIP), TRAINING_TIME, MACS and PARAMS are "
                                "minimised, with a notice, the others maximised)")
    direction.add_argument("--minimize", dest="maximize", action="store_const", const=False,
                           help="smaller objective is better")


def objective_direction(args: argparse.Namespace) -> bool:
    """Whether ``args.objective`` is maximised; says so when the metric's own direction minimises it.

    Refuses a test-set objective first, so nothing is printed about one that cannot run.
    """
    name = objective_metric(args.objective).name
    if args.maximize is None and not higher_is_better(name):
        print(f"objective {name} is better when smaller: minimised (--maximize to maximise it)")
    return direction(name, args.maximize)


def load_data(args: argparse.Namespace, *, allow_none: bool = False, notice: bool = True) -> Benchmark | None:
    """Load ``--data``; print a one-line notice to stderr when the stand-in is used (and ``notice``).

    ``--data none`` means no table: None where ``allow_none`` (live mode), else an error.
    """
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
    group.add_argument("--workers", type=POSITIVE_INT, default=1,
                       help="simulated workers (one GPU each) evaluating at once (default 1)")
    group.add_argument("--max-cost", type=_cost, nargs="?", const="equal", metavar="GPU_DAYS",
                       help="GPU-days a run may spend; without a value: the cost of 500 full trainings at the "
                            "table's mean training_time")
    group.add_argument("--max-time", type=positive_number, metavar="DAYS", help="simulated days a run may take")
    group.add_argument("--max-total-epochs", type=POSITIVE_INT, metavar="N", help="training epochs a run may spend")
    group.add_argument("--from-scratch", action="store_true",
                       help="charge every evaluation as a fresh training (default: a promotion continues)")


def _cost(text: str) -> float | str:
    return text if text == "equal" else positive_number(text, "GPU-days (a positive number) or 'equal'")


def clock_budget(args: argparse.Namespace, bench: Benchmark, searchers: list[str] | None = None):
    """The :class:`~nares_nas.simulation.budget.Budget` of the parsed options
    (see :func:`nares_nas.suites.table2.table2_budget`)."""
    return table2_budget(bench, searchers or [], budget=args.budget, max_cost=args.max_cost, max_time=args.max_time,
                         max_total_epochs=args.max_total_epochs)


def seed_ranges(seeds: Iterable[int]) -> str:
    """Seeds as runs of consecutive ones: ``0..7, 10, 12..13``."""
    values = np.unique(np.fromiter(seeds, dtype=np.int64))
    if not len(values):
        return "none"
    breaks = np.diff(values) != 1
    starts, ends = values[np.r_[True, breaks]], values[np.r_[breaks, True]]
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in zip(starts.tolist(), ends.tolist()))


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
    folders = [searcher_folder(out, name) for name in searchers]
    lines = [note for folder in folders if (note := coverage_note(folder, seeds))]
    left = left_out_folders(out, folders)
    if left:
        lines.append(f"left out of this table (not among --searchers): {', '.join(left)}")
    return lines


def parse_params(items: list[str], cls: type) -> dict[str, Any]:
    """``["num_init=5"]`` -> ``{"num_init": 5}``, each value read as the type ``cls.__init__`` declares."""
    params: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ConfigError(f"--param {item!r}: expected KEY=VALUE, e.g. num_init=5")
        params[key] = param_value(cls, key, text, item)
    return params


def clock_line(runs: list, note: str) -> str:
    """What the runs cost (GPU-days, simulated days with the workers; mean over runs) and could spend (``note``)."""
    clocks = [r.clock for r in runs if r.clock]
    older = len(runs) - len(clocks)
    spent = "no cost account" if not clocks else (
        f"{np.mean([c['gpu_days'] for c in clocks]):.2f} GPU-days, "
        f"{np.mean([c['sim_days'] for c in clocks]):.2f} simulated days (mean over runs)")
    if older:
        spent += f"; {older} runs written by an older version carry no cost account"
    return f"cost per run: {spent}; {note}"


def fidelity_line(runs: list) -> str:
    """Evaluations per fidelity (epochs trained), mean over the runs that carry the clock's account."""
    clocks = [r.clock for r in runs if r.clock]
    counts = epoch_counts(*(clock["evaluations"]["epoch_to"] for clock in clocks))
    return "evaluations per run by epochs trained: " + (", ".join(
        f"{epochs}: {n / len(clocks):.1f}" for epochs, n in counts.items()) or "n/a")


def param_value(cls: type, key: str, text: str, item: str) -> Any:
    """The value of ``--param item`` (``key`` of ``cls``, given as ``text``), as
    :func:`~nares_nas._params.parse_param` reads it; an unknown ``key`` is refused with the known ones."""
    names = cls._param_names()
    if key not in names:
        raise ConfigError(f"--param {item!r}: {cls.__name__} has no hyper-parameter {key!r}; "
                          f"it takes: {', '.join(names) or 'none'}")
    return parse_param(cls, key, text, f"--param {item!r}")


def folder_line(out: Path, seeds: range) -> str:
    """Where the runs are kept; after a resume with fewer runs, which of them the statistics cover."""

    note = coverage_note(out, seeds)
    return f"runs in {out / 'runs'}, summary in {out / 'summary.csv'}" + (f"; {note}" if note else "")
