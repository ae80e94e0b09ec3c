"""``nares-nas search`` (repeated runs of one searcher) and ``nares-nas searchers`` (the registry)."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, PluginError
from ..harness import BACKENDS
from .common import add_data_option, data_line, load_data

SYNTHETIC_LINE = "SYNTHETIC stand-in, not NARes results"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search", help="run one searcher for many seeds (in parallel) and summarise the best found",
        description="Run --algo for seeds SEED..SEED+RUNS-1, each with a budget of distinct queries of the "
                    "objective; a run is fully determined by (algorithm, params, seed, data).",
    )
    p.add_argument("--algo", required=True, metavar="NAME|module:Class",
                   help="a registered searcher (see `nares-nas searchers`) or module:Class")
    p.add_argument("--runs", type=int, default=400, help="number of runs (default 400, as Table 2)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--budget", type=int, default=500, help="distinct queries per run (default 500)")
    p.add_argument("--objective", default="VAL_PGD_ACC", help="scalar non-test metric (default VAL_PGD_ACC)")
    p.add_argument("--minimize", action="store_true", help="smaller objective is better (default: larger)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyper-parameter of the searcher (VALUE read as JSON, else a string); repeatable")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1; -1 = all cores)")
    p.add_argument("--backend", choices=BACKENDS, default="loky",
                   help="loky: local processes; dask: the workers of --scheduler (then --jobs is unused)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="keep every run in DIR (runs/, summary.csv, config.json); without it nothing is saved")
    p.add_argument("--resume", action="store_true", help="continue the runs already in --out DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    live = p.add_argument_group("live mode: train and evaluate what the table lacks (runs one after another)")
    live.add_argument("--live", action="store_true", help="lookup-or-train: table, then cache, then training")
    live.add_argument("--profile", default="nares", help="training profile (nares, digits, or a JSON file)")
    live.add_argument("--data-dir", type=Path, help="folder with the profile's image data (CIFAR-10 etc.)")
    live.add_argument("--cache", type=Path, help="SQLite record cache (default: in the data home)")
    live.add_argument("--device", default="auto", help="auto, cpu or cuda")
    live.add_argument("--train-seed", type=int, default=0, help="seed of every training run (default 0)")
    add_data_option(p)
    p.set_defaults(func=cmd_search)

    s = subparsers.add_parser("searchers", help="list the registered searchers and their default hyper-parameters")
    s.set_defaults(func=cmd_searchers)


def parse_params(items: list[str], cls: type) -> dict[str, Any]:
    """``["num_init=5"]`` -> ``{"num_init": 5}``, checked against ``cls.__init__``."""
    names = cls._param_names()
    params: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ConfigError(f"--param {item!r}: expected KEY=VALUE, e.g. num_init=5")
        if key not in names:
            raise ConfigError(f"--param {item!r}: {cls.__name__} has no hyper-parameter {key!r}; "
                              f"it takes: {', '.join(names) or 'none'}")
        try:
            params[key] = json.loads(text)
        except ValueError:
            params[key] = text
    return params


def cmd_search(args: argparse.Namespace) -> int:
    from ..harness import run_search, run_to_dir
    from ..searchers import resolve, searcher_name

    if args.runs < 1:
        raise ConfigError(f"--runs must be >= 1, got {args.runs}")
    if args.resume and args.out is None:
        raise ConfigError("--resume needs --out DIR")
    cls = resolve(args.algo)
    searcher = cls(**parse_params(args.param, cls))
    bench = load_data(args)
    print(data_line(bench))
    if bench.synthetic:
        print(SYNTHETIC_LINE)
    seeds = range(args.seed, args.seed + args.runs)
    common = dict(seeds=seeds, budget=args.budget, objective=args.objective, maximize=not args.minimize,
                  n_jobs=args.jobs, backend=args.backend, scheduler=args.scheduler)
    if args.live:
        trajectories = _live_runs(args, searcher, bench, seeds)
    elif args.out is not None:
        progress = not args.quiet and sys.stderr.isatty()
        results = run_to_dir(args.out, searcher, bench, resume=args.resume, progress=progress, **common)
        trajectories = [r.trajectory for r in results]
    else:
        trajectories = run_search(searcher, bench.metric_array(args.objective), source=bench.source, **common)

    best = np.array([t.best_value for t in trajectories])
    queries = np.array([len(t) for t in trajectories])
    std = f"{best.std(ddof=1):.4f}" if len(best) > 1 else "n/a"
    direction = "min" if args.minimize else "max"
    print(f"{searcher_name(searcher)} {searcher!r}: {len(best)} runs (seeds {seeds[0]}..{seeds[-1]}), "
          f"budget {args.budget}, objective {trajectories[0].objective} ({direction})")
    print(f"best {trajectories[0].objective}: {best.mean():.4f} ± {std} (mean ± std over runs, ddof=1)")
    print(f"distinct queries per run: mean {queries.mean():.1f}, min {queries.min()}, max {queries.max()}")
    if args.out is not None:
        print(f"runs in {args.out}/runs, summary in {args.out / 'summary.csv'}")
    return 0


def _live_runs(args: argparse.Namespace, searcher: Any, bench: Any, seeds: range) -> list:
    """Runs one after another against a lookup-or-train oracle (each miss trains for real)."""
    from .._rng import as_generator
    from ..harness import RunResult, summary_row, write_run, write_summary
    from ..live.oracle import make_live_oracle
    from ..searchers import searcher_name
    from ..space import SPACE

    if args.resume or args.backend != "loky" or args.jobs != 1:
        raise ConfigError("--live runs sequentially in this process: drop --resume, --jobs and --backend "
                          "(scale training out with nares_nas.live.distributed.train_many)")
    results = []
    for seed in seeds:
        oracle = make_live_oracle(bench, objective=args.objective, maximize=not args.minimize,
                                  budget=searcher.query_cap(args.budget), profile=args.profile,
                                  data_dir=args.data_dir, cache_path=args.cache, seed=args.train_seed,
                                  device=args.device, progress=not args.quiet)
        fresh = type(searcher)(**searcher.get_params())
        trajectory = fresh.run(SPACE, oracle, args.budget, as_generator(seed))
        results.append(RunResult(searcher_name(searcher), seed, searcher.get_params(), args.budget, trajectory))
        if args.out is not None:
            write_run(args.out, results[-1])
    if args.out is not None:
        write_summary(args.out, [summary_row(r) for r in results])
    return [r.trajectory for r in results]


def _defaults(cls: type) -> str:
    parts = []
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = "(required)" if param.default is param.empty else repr(param.default)
        parts.append(f"{param.name}={default}")
    return ", ".join(parts) or "-"


def cmd_searchers(args: argparse.Namespace) -> int:
    from ..searchers import available, resolve

    rows, failed = [], 0
    for name, reference in available().items():
        try:
            rows.append((name, reference, _defaults(resolve(name))))
        except PluginError as exc:
            failed += 1
            rows.append((name, reference, f"FAILED TO LOAD: {exc}"))
    width = max([len("NAME")] + [len(r[0]) for r in rows])
    ref_width = max([len("CLASS")] + [len(r[1]) for r in rows])
    print(f"{'NAME':<{width}}  {'CLASS':<{ref_width}}  DEFAULTS")
    for name, reference, defaults in rows:
        print(f"{name:<{width}}  {reference:<{ref_width}}  {defaults}")
    return 1 if failed else 0
