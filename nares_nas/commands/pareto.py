"""``nares-nas pareto`` (the exact front of the table), ``nares-nas mo-table`` and ``search --objectives``."""

from __future__ import annotations

import argparse
import json

import numpy as np

from nares_nas.commands.common import (
    POSITIVE_INT,
    SEED,
    add_clock_options,
    add_data_option,
    add_parallel_options,
    clock_budget,
    clock_line,
    folder_line,
    load_data,
    out_dir,
    parse_params,
    source_line,
    table_coverage,
)
from nares_nas.commands.table2 import parse_params as parse_suite_params
from nares_nas.data.synthetic import SYNTHETIC_KIND
from nares_nas.errors import ConfigError
from nares_nas.pareto.problem import Problem, pareto_front
from nares_nas.reports.mo_table import summarize_mo, write_mo_report
from nares_nas.simulation.budget import budget_note
from nares_nas.space import KEYS
from nares_nas.suites.mo_table import DEFAULT_MO_SEARCHERS, run_mo_table

_OBJECTIVES_HELP = "two or three metrics with their directions, e.g. VAL_PGD_ACC:max,MACS:min"
_CONSTRAINT_HELP = "a constraint such as MACS<=1e10 (operators <=, <, >=, >); repeatable"
_PREFILTER_HELP = ("apply MACS/PARAMS constraints before querying, for free (a violating proposal is told -inf "
                   "without being charged); default: every infeasible query is charged")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pareto", help="the exact Pareto front of the whole table for two or three objectives",
        description="Print the non-dominated architectures of the whole table (arch_id, decision vector, "
                    "objective values), best first by the first objective, ties by the next, then arch_id. "
                    "Architectures with equal objective vectors are all on the front. Test-set metrics are allowed.",
    )
    p.add_argument("--objectives", required=True, metavar="NAME:DIR,...", help=_OBJECTIVES_HELP)
    p.add_argument("--constraint", action="append", default=[], metavar="METRIC<=VALUE", help=_CONSTRAINT_HELP)
    p.add_argument("--json", action="store_true", help="print JSON (the front, the normalisation, the reference point)")
    add_data_option(p)
    p.set_defaults(func=cmd_pareto)

    t = subparsers.add_parser(
        "mo-table", help="run multi-objective searchers and write the hypervolume-regret table and plots",
        description="Run each multi-objective searcher for --runs seeds, score every run after each query by "
                    "hypervolume regret and IGD+ against the exact front, and write DIR/mo_table.{md,csv,tex,json}, "
                    "DIR/anytime_hv_regret.png and (two objectives) DIR/attainment.png.",
    )
    t.add_argument("--objectives", required=True, metavar="NAME:DIR,...", help=_OBJECTIVES_HELP + " (no test metrics)")
    t.add_argument("--constraint", action="append", default=[], metavar="METRIC<=VALUE", help=_CONSTRAINT_HELP)
    t.add_argument("--searchers", default=",".join(DEFAULT_MO_SEARCHERS),
                   help="comma-separated multi-objective searchers (default: the multi-objective ones except "
                        "mo_bananas, which is slow)")
    t.add_argument("--runs", type=POSITIVE_INT, default=100, help="runs per searcher (default 100)")
    t.add_argument("--seed-start", type=SEED, default=0, help="seeds are seed-start .. seed-start+runs-1")
    t.add_argument("--budget", type=POSITIVE_INT, default=None, help="distinct architectures per run (default 500)")
    t.add_argument("--param", action="append", default=[], metavar="SEARCHER.KEY=VALUE",
                   help="override one hyper-parameter, VALUE read as the type the searcher declares (a boolean: "
                        "true/false in any case or 1/0); repeatable")
    t.add_argument("--prefilter", action="store_true", help=_PREFILTER_HELP)
    t.add_argument("--out", required=True, type=out_dir, metavar="DIR",
                   help="runs go to DIR/<searcher>/, the report to DIR/mo_table.* and the PNGs")
    t.add_argument("--resume", action="store_true", help="keep the runs already in DIR/<searcher>/")
    add_clock_options(t)
    add_parallel_options(t)
    add_data_option(t)
    t.set_defaults(func=cmd_mo_table)


def cmd_pareto(args: argparse.Namespace) -> int:
    bench = load_data(args, notice=False)
    front = pareto_front(bench, args.objectives, args.constraint)
    problem = front.problem
    if args.json:
        payload = {"data": bench.provenance, "synthetic": bench.synthetic, **front.to_dict()}
        if bench.synthetic:
            payload = {"label": SYNTHETIC_KIND, **payload}
        print(json.dumps(payload, indent=1))
        return 0
    print(source_line(args, bench))
    constraints = ", ".join(map(str, problem.constraints)) or "none"
    print(f"exact front of {', '.join(map(str, problem.objectives))}; constraints: {constraints} "
          f"({int(problem.feasible.sum())} feasible): {len(front.frame)} architectures")
    print(f"scoring: {problem.describe()}; exact hypervolume {problem.exact_hypervolume:.6g}")
    names = [o.name for o in problem.objectives]
    print("\t".join(["arch_id", *KEYS, *names]))
    for row in front.frame.itertuples(index=False):
        record = row._asdict()
        print("\t".join(str(record[c]) for c in ["arch_id", *KEYS, *names]))
    return 0


def _check_mo_args(args: argparse.Namespace) -> None:
    if args.objectives is None:
        raise ConfigError("--constraint needs --objectives (a constrained search is multi-objective here)")
    if getattr(args, "live", False):
        raise ConfigError("--objectives runs on the table's simulated clock; drop --live")
    if getattr(args, "objective", "VAL_PGD_ACC") != "VAL_PGD_ACC":
        raise ConfigError("give --objectives (several) or --objective (one), not both")
    if getattr(args, "maximize", None) is not None:
        raise ConfigError("--maximize and --minimize are for one objective; give each direction in --objectives "
                          "(NAME:max or NAME:min)")
    if args.max_total_epochs is not None:
        raise ConfigError("--max-total-epochs says nothing in a multi-objective run (every evaluation is a full "
                          "training); give --budget, --max-cost or --max-time")
    if args.from_scratch:
        raise ConfigError("--from-scratch says nothing in a multi-objective run (every evaluation is a full "
                          "training)")


def _mean_std(values) -> str:
    values = np.asarray(values, dtype=np.float64)
    std = f"{values.std(ddof=1):.4f}" if len(values) > 1 else "n/a"
    return f"{values.mean():.4f} ± {std}"


def cmd_mo_search(args: argparse.Namespace) -> int:
    """``nares-nas search --objectives ...``: multi-objective runs of one searcher."""
    from nares_nas.runs.multiobjective import check_multi_objective, run_mo_search, run_mo_to_dir
    from nares_nas.searchers import resolve, searcher_name
    _check_mo_args(args)
    if args.resume and args.out is None:
        raise ConfigError("--resume needs --out DIR")
    cls = resolve(args.algo)
    searcher = cls(**parse_params(args.param, cls))
    check_multi_objective(searcher)
    bench = load_data(args, notice=False)
    problem = Problem.from_benchmark(bench, args.objectives, args.constraint, search=True)
    print(source_line(args, bench))
    budget = clock_budget(args, bench, [args.algo])
    seeds = range(args.seed, args.seed + args.runs)
    common = dict(seeds=seeds, budget=budget, workers=args.workers, prefilter=getattr(args, "prefilter", False),
                  n_jobs=args.jobs, backend=args.backend, scheduler=args.scheduler)
    if args.out is not None:
        runs = run_mo_to_dir(args.out, searcher, bench, problem.objectives, problem.constraints, resume=args.resume,
                             progress=not args.quiet, **common)
    else:
        runs = run_mo_search(searcher, bench, problem.objectives, problem.constraints, progress=not args.quiet,
                             **common)
    archs = "no limit" if budget.archs is None else budget.archs
    constraints = ", ".join(map(str, problem.constraints)) or "none"
    print(f"{searcher_name(searcher)} {searcher!r}: {len(runs)} runs (seeds {seeds[0]}..{seeds[-1]}), budget {archs} "
          f"distinct archs, objectives {', '.join(map(str, problem.objectives))}; constraints: {constraints}")
    print(f"scoring: {problem.describe()}; exact front {len(problem.exact_front())} architectures, hypervolume "
          f"{problem.exact_hypervolume:.6g}")
    print(clock_line(runs, budget_note(budget, bench, args.workers)))
    finals = [r.scores.final() for r in runs]
    print(f"hypervolume regret: {_mean_std([f[0] for f in finals])}; IGD+: {_mean_std([f[1] for f in finals])} "
          "(mean ± std over runs, ddof=1)")
    sizes = np.array([f[2] for f in finals])
    queries = np.array([r.queries for r in runs])
    infeasible = np.array([int((~r.scores.feasible).sum()) for r in runs])
    print(f"found front size: mean {sizes.mean():.1f}, min {sizes.min()}, max {sizes.max()}; queries per run: mean "
          f"{queries.mean():.1f}, min {queries.min()}, max {queries.max()}; infeasible queries per run: mean "
          f"{infeasible.mean():.1f}" + (f"; proposals rejected free per run: mean "
                                         f"{np.mean([r.scores.rejected_free for r in runs]):.1f}"
                                         if common["prefilter"] else ""))
    if args.out is not None:
        print(folder_line(args.out, seeds))
    return 0


def cmd_mo_table(args: argparse.Namespace) -> int:
    _check_mo_args(args)
    searchers = [s.strip() for s in args.searchers.split(",") if s.strip()]
    if not searchers:
        raise ConfigError("--searchers is empty; name at least one multi-objective searcher")
    if len(set(searchers)) != len(searchers):
        raise ConfigError(f"--searchers names a searcher twice: {args.searchers}")
    params = parse_suite_params(args.param, searchers)
    bench = load_data(args)
    problem = Problem.from_benchmark(bench, args.objectives, args.constraint, search=True)
    budget = clock_budget(args, bench, [])
    results = run_mo_table(bench, args.out, problem.objectives, problem.constraints, searchers=searchers,
                           runs=args.runs, seed_start=args.seed_start, budget=budget, workers=args.workers,
                           prefilter=args.prefilter, params=params, n_jobs=args.jobs, backend=args.backend,
                           scheduler=args.scheduler, resume=args.resume, progress=True)
    table = summarize_mo(bench, problem, results, budget_note=budget_note(budget, bench, args.workers))
    paths = write_mo_report(table, problem, results, args.out)
    print(table.to_markdown())
    print("written: " + ", ".join(str(p) for p in paths.values()))
    for line in table_coverage(args.out, searchers, range(args.seed_start, args.seed_start + args.runs)):
        print(line)
    return 0
