"""``nares-nas table2``: rerun the NAS protocol of Table 2 and write the table and the anytime plot."""

from __future__ import annotations

import argparse
from typing import Any

from nares_nas.commands.common import (
    POSITIVE_INT,
    SEED,
    add_clock_options,
    add_data_option,
    add_objective_options,
    add_parallel_options,
    clock_budget,
    load_data,
    objective_direction,
    out_dir,
    param_value,
    table_coverage,
)
from nares_nas.errors import ConfigError
from nares_nas.reports.curves import BANDS
from nares_nas.reports.table2 import OPTIMAL_MODES, published_table2, summarize, write_report
from nares_nas.simulation.budget import budget_note
from nares_nas.suites.table2 import DEFAULT_SEARCHERS, PRESETS, run_table2


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "table2", help="run the searchers and write Table 2 (md, csv, tex, json) and the anytime plot",
        description="Run each searcher for --runs seeds (objective VAL_PGD_ACC, as published, unless --objective "
                    "says otherwise), then report the mean ± std (ddof=1) over runs of the metrics of each run's "
                    "best architecture.",
    )
    p.add_argument("--out", required=True, type=out_dir, metavar="DIR",
                   help="runs go to DIR/<searcher>/, the report to DIR/table2.{md,csv,tex,json} "
                        "and DIR/anytime.png")
    p.add_argument("--runs", type=POSITIVE_INT, default=400, help="runs per searcher (default 400, as published)")
    p.add_argument("--seed-start", type=SEED, default=0, help="seeds are seed-start .. seed-start+runs-1")
    p.add_argument("--budget", type=POSITIVE_INT, default=None,
                   help="distinct architectures per run (default 500; no limit when --max-cost, --max-time or "
                        "--max-total-epochs is given; with a multi-fidelity searcher and no budget given, the "
                        "equal-cost budget of --max-cost)")
    add_objective_options(p)
    p.add_argument("--searchers", default=",".join(DEFAULT_SEARCHERS),
                   help="comma-separated searcher names or module:Class (default: the four of Table 2)")
    p.add_argument("--preset", choices=PRESETS, default="default",
                   help="default: corrected behaviour; reference: every reference behaviour of the paper's "
                        "code at once; fast: BANANAS' cheap settings")
    p.add_argument("--param", action="append", default=[], metavar="SEARCHER.KEY=VALUE",
                   help="override one hyper-parameter, VALUE read as the type the searcher declares (a boolean: "
                        "true/false in any case or 1/0); repeatable")
    add_clock_options(p)
    p.add_argument("--incumbent", choices=("full", "any"), default="full",
                   help="anytime plots against time and cost: the best at full fidelity (default) or at any")
    add_parallel_options(p)
    p.add_argument("--resume", action="store_true",
                   help="keep the runs already in DIR/<searcher>/ (--jobs and --backend may change)")
    p.add_argument("--optimal", choices=OPTIMAL_MODES, default="per-metric",
                   help="Optimal column: per-metric best over the space (docs/protocol.md §7) or every metric of the "
                        "single best-VAL_PGD architecture")
    p.add_argument("--band", choices=tuple(BANDS), default="sem",
                   help="anytime band: sem = mean ± 1.96·sem; percentile = 2.5–97.5th percentile of runs")
    p.add_argument("--reference-table", action="store_true",
                   help="also print the PUBLISHED Table 2 (reference numbers) after the computed one")
    add_data_option(p)
    p.set_defaults(func=cmd_table2)


def parse_params(items: list[str], searchers: list[str]) -> dict[str, dict[str, Any]]:
    """``["bananas.epochs=5"]`` -> ``{"bananas": {"epochs": 5}}``, each value read as the type its searcher declares."""
    from nares_nas.searchers import resolve

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, eq, text = item.partition("=")
        name, dot, key = target.rpartition(".")
        if not eq or not dot or not name or not key:
            raise ConfigError(f"--param {item!r}: expected SEARCHER.KEY=VALUE, e.g. bananas.epochs=5")
        if name not in searchers:
            raise ConfigError(f"--param {item!r}: searcher {name!r} is not among --searchers {searchers}")
        out.setdefault(name, {})[key.strip()] = param_value(resolve(name), key.strip(), text, item)
    return out


def cmd_table2(args: argparse.Namespace) -> int:
    searchers = [s.strip() for s in args.searchers.split(",") if s.strip()]
    if not searchers:
        raise ConfigError("--searchers is empty; name at least one searcher")
    params = parse_params(args.param, searchers)
    maximize = objective_direction(args)
    bench = load_data(args)
    budget = clock_budget(args, bench, searchers)
    results = run_table2(
        bench, args.out, searchers=searchers, runs=args.runs, seed_start=args.seed_start, budget=budget.archs,
        objective=args.objective, maximize=maximize,
        max_cost=budget.cost, max_time=budget.time, max_total_epochs=budget.total_epochs, workers=args.workers,
        from_scratch=args.from_scratch, preset=args.preset, params=params, n_jobs=args.jobs, backend=args.backend,
        scheduler=args.scheduler, resume=args.resume, progress=True,
    )
    table = summarize(bench, results, optimal=args.optimal, preset=args.preset, budget=budget.archs,
                      budget_note=budget_note(budget, bench, args.workers))
    paths = write_report(table, results, args.out, band=args.band, reference=args.reference_table,
                         any_fidelity=args.incumbent == "any")
    print(table.to_markdown())
    if "costs" in paths:
        from nares_nas.reports.costs import cost_frame, cost_markdown

        print(cost_markdown(cost_frame(results), table.budget_note))
    if args.reference_table:
        print("=" * 100)
        print(published_table2().to_markdown())
    print("written: " + ", ".join(str(p) for p in paths.values()))
    for line in table_coverage(args.out, searchers, range(args.seed_start, args.seed_start + args.runs)):
        print(line)
    return 0
