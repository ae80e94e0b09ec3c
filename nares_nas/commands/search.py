"""``nares-nas search`` (repeated runs of one searcher) and ``nares-nas searchers`` (the registry)."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas.commands.common import (
    POSITIVE_INT,
    SEED,
    add_clock_options,
    add_data_option,
    add_objective_options,
    add_parallel_options,
    clock_budget,
    clock_line,
    fidelity_line,
    folder_line,
    load_data,
    objective_direction,
    out_dir,
    out_file,
    parse_params,
    source_line,
)
from nares_nas.commands.live_search import live_budget, live_line, live_runs, live_table
from nares_nas.commands.pareto import cmd_mo_search
from nares_nas.errors import ConfigError, PluginError
from nares_nas.runs.parallel import local_jobs
from nares_nas.runs.record import RunResult
from nares_nas.simulation.budget import budget_note, make_budget
from nares_nas.simulation.model import evaluation_model


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search", help="run one searcher for many seeds (in parallel) and summarise the best found",
        description="Run --algo for seeds SEED..SEED+RUNS-1, each with a budget of distinct queries of the "
                    "objective; a run is fully determined by (algorithm, params, seed, data).",
    )
    p.add_argument("--algo", required=True, metavar="NAME|module:Class",
                   help="a registered searcher (see `nares-nas searchers`) or module:Class")
    p.add_argument("--runs", type=POSITIVE_INT, default=400, help="number of runs (default 400, as Table 2)")
    p.add_argument("--seed", type=SEED, default=0, help="first seed (default 0)")
    p.add_argument("--budget", type=POSITIVE_INT, default=None,
                   help="distinct architectures per run (default 500; no limit when --max-cost, --max-time or "
                        "--max-total-epochs is given)")
    add_objective_options(p)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyper-parameter of the searcher, VALUE read as the type the searcher declares (a boolean: "
                        "true/false in any case or 1/0; none or null for None); repeatable")
    p.add_argument("--objectives", metavar="NAME:DIR,...",
                   help="multi-objective search (a multi-objective --algo): two or three non-test metrics with "
                        "their directions, e.g. VAL_PGD_ACC:max,MACS:min (replaces --objective, --maximize and "
                        "--minimize)")
    p.add_argument("--constraint", action="append", default=[], metavar="METRIC<=VALUE",
                   help="with --objectives: a constraint such as MACS<=1e10 (<=, <, >=, >); repeatable")
    p.add_argument("--prefilter", action="store_true",
                   help="with --objectives: apply MACS/PARAMS constraints before querying, for free (default: "
                        "every infeasible query is charged)")
    add_clock_options(p)
    add_parallel_options(p)
    p.add_argument("--out", type=out_dir, metavar="DIR",
                   help="keep every run in DIR (runs/, summary.csv, config.json); without it nothing is saved")
    p.add_argument("--resume", action="store_true",
                   help="continue the runs already in --out DIR (of the same configuration; --jobs, --backend "
                        "and execution parameters such as bananas' num_threads may change)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    live = p.add_argument_group("live mode: train and evaluate what the table lacks (runs one after another, "
                                "each on --workers N workers; --out pins the profile, training seed and device "
                                "kind)")
    live.add_argument("--live", action="store_true", help="lookup-or-train: table, then cache, then training")
    live.add_argument("--profile", default="nares", help="training profile (nares, digits, or a JSON file)")
    live.add_argument("--data-dir", type=Path, help="folder with the profile's image data (CIFAR-10 etc.)")
    live.add_argument("--cache", type=out_file, help="SQLite record cache (default: in the data home)")
    live.add_argument("--device", default="auto", help="auto, cpu or cuda")
    live.add_argument("--train-seed", type=SEED, default=0, help="seed of every training run (default 0)")
    add_data_option(p, live=True)
    p.set_defaults(func=cmd_search)

    s = subparsers.add_parser("searchers", help="list the registered searchers and their default hyper-parameters")
    s.set_defaults(func=cmd_searchers)


def cmd_search(args: argparse.Namespace) -> int:
    from nares_nas.searchers import resolve, searcher_name
    if args.objectives is not None or args.constraint:
        return cmd_mo_search(args)
    if args.resume and args.out is None:
        raise ConfigError("--resume needs --out DIR")
    cls = resolve(args.algo)
    searcher = cls(**parse_params(args.param, cls))
    maximize = objective_direction(args)
    if args.live:
        bench = live_table(args)
    else:
        bench = load_data(args, notice=False)
        print(source_line(args, bench))
    seeds = range(args.seed, args.seed + args.runs)
    if args.live:  # a proposing searcher on --workers N workers, a blocking one against a lookup-or-train oracle
        budget = live_budget(args) if cls.proposes() else make_budget(args.budget)
        runs = live_runs(args, searcher, bench, seeds, budget, maximize)
    else:
        budget = clock_budget(args, bench, [args.algo])  # no limit of archs when a cost, epoch or time budget is given
        runs = _table_runs(args, searcher, bench, seeds, budget, maximize)
    trajectories = [r.trajectory for r in runs]
    clocked = any(r.clock for r in runs)  # a blocking live search keeps no clock
    objective = trajectories[0].objective
    found = [t.best_value for t in trajectories if len(t)]
    best = np.array(found)
    queries = np.array([len(t) for t in trajectories])
    std = f"{best.std(ddof=1):.4f}" if len(best) > 1 else "n/a"
    direction = "max" if maximize else "min"
    archs = "no limit" if budget.archs is None else budget.archs
    print(f"{searcher_name(searcher)} {searcher!r}: {len(trajectories)} runs (seeds {seeds[0]}..{seeds[-1]}), "
          f"budget {archs} distinct archs, objective {objective} ({direction})")
    if clocked and args.live:
        print(live_line(runs, budget, args.workers))
    elif clocked:
        print(clock_line(runs, budget_note(budget, bench, args.workers)))
    if len(found) < len(trajectories):
        print(f"{len(trajectories) - len(found)} runs finished no full training within the budget")
    if len(found):
        print(f"best {objective}: {best.mean():.4f} ± {std} (mean ± std over runs, ddof=1)")
    print(f"distinct full trainings per run: mean {queries.mean():.1f}, min {queries.min()}, max {queries.max()}")
    if clocked:
        print(fidelity_line(runs))
    if args.out is not None:
        print(folder_line(args.out, seeds))
    return 0


def _table_runs(args: argparse.Namespace, searcher: Any, bench: Any, seeds: range, budget: Any, maximize: bool) -> list:
    """Runs on the simulated clock, kept in ``--out`` when given (as :class:`~nares_nas.runs.record.RunResult`)."""
    from nares_nas.runs.search import run_to_dir, simulate_search
    from nares_nas.searchers import searcher_name
    n_jobs = local_jobs(searcher, len(seeds), budget, args.jobs, args.backend)  # a small job runs here
    common = dict(seeds=seeds, budget=budget, objective=args.objective, maximize=maximize,
                  workers=args.workers, n_jobs=n_jobs, backend=args.backend, scheduler=args.scheduler)
    if args.out is not None:
        return run_to_dir(args.out, searcher, bench, resume=args.resume, progress=not args.quiet,
                          from_scratch=args.from_scratch, **common)
    model = evaluation_model(bench, args.objective, from_scratch=args.from_scratch)
    runs = simulate_search(searcher, model, progress=not args.quiet, **common)
    return [RunResult.from_clock(searcher_name(searcher), searcher.get_params(), budget.archs, run, args.workers)
            for run in runs]


def _defaults(cls: type, skip: tuple[str, ...] = ()) -> str:
    parts = []
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name in ("self", *skip) or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = "(required)" if param.default is param.empty else repr(param.default)
        parts.append(f"{param.name}={default}")
    return ", ".join(parts) or "-"


def _kind(cls: type) -> str:
    """What a searcher searches: ``one`` objective or ``several`` (``one+several``: either), and
    ``+fidelity`` where it proposes trainings of fewer epochs."""
    objectives = [label for label, flag in (("one", getattr(cls, "single_objective", True)),
                                            ("several", getattr(cls, "multi_objective", False))) if flag]
    return "+".join(objectives) + ("+fidelity" if getattr(cls, "multi_fidelity", False) else "")


def cmd_searchers(args: argparse.Namespace) -> int:
    import importlib.util

    from nares_nas.integrations.optuna import INSTALL, OptunaSearcher
    from nares_nas.searchers import available, resolve

    rows, failed = [], 0
    for name, reference in available().items():
        try:
            cls = resolve(name)
            rows.append((name, reference, _kind(cls), _defaults(cls)))
        except PluginError as exc:
            failed += 1
            rows.append((name, reference, "?", f"FAILED TO LOAD: {exc}"))
    optuna = f"{OptunaSearcher.__module__}:{OptunaSearcher.__qualname__}"
    rows.append(("optuna:NAME", optuna, _kind(OptunaSearcher), _defaults(OptunaSearcher, skip=("sampler",))))
    width = max([len("NAME")] + [len(r[0]) for r in rows])
    ref_width = max([len("CLASS")] + [len(r[1]) for r in rows])
    kind_width = max([len("OBJECTIVES")] + [len(r[2]) for r in rows])
    print(f"{'NAME':<{width}}  {'CLASS':<{ref_width}}  {'OBJECTIVES':<{kind_width}}  DEFAULTS")
    for name, reference, kind, defaults in rows:
        print(f"{name:<{width}}  {reference:<{ref_width}}  {kind:<{kind_width}}  {defaults}")
    installed = "" if importlib.util.find_spec("optuna") else f" (Optuna is not installed: {INSTALL})"
    print("optuna:NAME is the sampler NAME of optuna.samplers (TPESampler, RandomSampler, GPSampler, NSGAIISampler, "
          "...) or module:Class of your own BaseSampler subclass, its keyword arguments in sampler_kwargs: --algo "
          f"optuna:TPESampler --param 'sampler_kwargs={{\"n_startup_trials\": 10}}'{installed}")
    return 1 if failed else 0
