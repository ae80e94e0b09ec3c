"""Multi-objective benchmark: exact fronts and ranks; per-query hypervolume of many runs.

Command (documented in docs/benchmarks.md)::

    python benchmarks/bench_pareto.py [--runs 100] [--budget 500] [--searcher mo_regularized_evolution]
        [--naive-runs 100] [--repeats 5] [--data synthetic] [--json out.json]

With the table loaded in-process first (``--data``, default the synthetic stand-in), it measures:

(a) the exact front and the Pareto ranks of all 15,625 architectures for a 3-objective problem
    (``VAL_PGD_ACC:max, VAL_CLEAN_ACC:max, MACS:min``, and ``VAL_PGD_ACC:max, MACS:min, PARAMS:min``):
    :meth:`Problem.from_benchmark <nares_nas.pareto.problem.Problem.from_benchmark>` (the objective
    matrix, feasibility, the table-wide ranges), :meth:`~nares_nas.pareto.problem.Problem.exact_front` and
    :meth:`~nares_nas.pareto.problem.Problem.ranks`, the fastest of ``--repeats`` (target: under 0.5 s);
(b) ``--runs`` runs of ``--searcher`` at ``--budget`` queries (VAL_PGD_ACC:max, MACS:min) through
    :func:`nares_nas.runs.multiobjective.run_mo_search` in-process, hypervolume regret and IGD+ tracked
    after every query (target: under 10 s), split into the runs on the clock and the scoring
    (:meth:`~nares_nas.pareto.problem.Problem.anytime`); then the same scores by a straightforward per-query
    recomputation (:meth:`~nares_nas.pareto.problem.Problem.score` of every prefix, from scratch) for the
    first ``--naive-runs`` runs, checked equal, and the ratio.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nares_nas  # noqa: E402
from nares_nas.pareto.problem import Problem
from nares_nas.runs.multiobjective import ObjectiveTable, simulate_mo
from nares_nas.searchers import resolve  # noqa: E402

PROBLEMS_3D = ("VAL_PGD_ACC:max,VAL_CLEAN_ACC:max,MACS:min", "VAL_PGD_ACC:max,MACS:min,PARAMS:min")
OBJECTIVES_2D = "VAL_PGD_ACC:max,MACS:min"


def exact_fronts(bench, repeats: int) -> list[dict]:
    rows = []
    for objectives in PROBLEMS_3D:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            problem = Problem.from_benchmark(bench, objectives)
            front = problem.exact_front()
            ranks = problem.ranks()
            times.append(time.perf_counter() - start)
        rows.append({"objectives": objectives, "seconds": min(times), "seconds_all": times,
                     "front": len(front), "fronts": int(ranks.max())})
        print(f"(a) {objectives}: front {len(front)} archs, {int(ranks.max())} fronts; "
              f"{min(times):.4f} s (fastest of {repeats}; the first, which also computes the table's metric "
              f"arrays: {times[0]:.4f} s)")
    return rows


def many_runs(bench, searcher_name: str, runs: int, budget: int, naive_runs: int) -> dict:
    from nares_nas.simulation.budget import Budget

    searcher = resolve(searcher_name)()
    start = time.perf_counter()
    problem = Problem.from_benchmark(bench, OBJECTIVES_2D, search=True)
    table = ObjectiveTable.from_benchmark(bench, problem)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    sims = simulate_mo(searcher, problem, table, list(range(runs)), budget=Budget(archs=budget))
    clock = time.perf_counter() - start
    start = time.perf_counter()
    scores = [problem.anytime(run.arch_ids) for run in sims]
    scoring = time.perf_counter() - start
    total = setup + clock + scoring
    print(f"(b) {runs} runs of {searcher_name} x {budget} queries: {total:.2f} s in all "
          f"(setup {setup:.3f} s, runs on the clock {clock:.2f} s, per-query scoring {scoring:.3f} s)")
    start = time.perf_counter()
    for run, fast in zip(sims[:naive_runs], scores):
        ids = run.arch_ids
        slow = [problem.score(ids[:i + 1]) for i in range(len(ids))]
        np.testing.assert_allclose(fast.hv_regret, [s.hv_regret for s in slow], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(fast.igd_plus, [s.igd_plus for s in slow], rtol=1e-12, atol=1e-15)
        assert fast.front_size.tolist() == [s.front_size for s in slow]
    naive = time.perf_counter() - start
    per_run_fast, per_run_naive = scoring / runs, naive / max(naive_runs, 1)
    print(f"    straightforward recomputation of every prefix, {naive_runs} runs: {naive:.2f} s "
          f"({per_run_naive * 1e3:.1f} ms per run against {per_run_fast * 1e3:.2f} ms incremental: "
          f"{per_run_naive / per_run_fast:.1f}x); equal scores")
    final = np.array([s.hv_regret[-1] for s in scores])
    print(f"    final hypervolume regret {final.mean():.4f} ± {final.std(ddof=1):.4f} (synthetic)")
    return {"searcher": searcher_name, "runs": runs, "budget": budget, "setup_s": setup, "clock_s": clock,
            "scoring_s": scoring, "total_s": total, "naive_runs": naive_runs, "naive_s": naive,
            "ratio_per_run": per_run_naive / per_run_fast, "final_regret_mean": float(final.mean()),
            "final_regret_std": float(final.std(ddof=1))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--searcher", default="mo_regularized_evolution")
    parser.add_argument("--naive-runs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    bench = nares_nas.load(args.data)
    print(f"data: {bench.provenance}; {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    for _ in range(10**6):
        pass
    print(f"empty loop: {(time.perf_counter() - start) * 1e3:.1f} ns per iteration (machine load)")
    result = {"date": datetime.date.today().isoformat(), "data": bench.provenance,
              "exact_fronts": exact_fronts(bench, args.repeats),
              "runs": many_runs(bench, args.searcher, args.runs, args.budget, args.naive_runs)}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
