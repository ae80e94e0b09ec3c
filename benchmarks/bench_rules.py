"""The clock of another git revision against this checkout's, run for run: what sharing the event rules costs.

Command (documented in docs/benchmarks.md)::

    python benchmarks/bench_rules.py --baseline REV [--runs 200] [--repeat 7] [--workers 1] [--data synthetic]

In one process, with the table loaded as an evaluation model, each searcher (random search,
local search with default and reference moves, regularized evolution; 500 distinct architectures,
``--workers`` simulated workers) runs ``--runs`` seeds through
:func:`nares_nas.simulation.clock.simulate` of this checkout and of ``REV`` (its
``nares_nas/simulation/clock.py``, loaded beside ours; the searchers are ours), alternating,
``--repeat`` times. Shown: the least CPU seconds of each and their ratio. CPU time
(not wall) and alternation keep the ratio readable on a loaded machine; the first five runs' logs
of the two clocks are checked equal.
"""

from __future__ import annotations

import argparse
import time

from _revision import module_at

import nares_nas
import nares_nas.searchers as searchers
from nares_nas.simulation import clock
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.model import EvaluationModel

CASES = {"random_search": ("RandomSearch", {}), "local_search": ("LocalSearch", {}),
         "local_search_reference": ("LocalSearch", {"reference_moves": True}),
         "regularized_evolution": ("RegularizedEvolution", {})}


def clock_of(rev: str):
    """``nares_nas/simulation/clock.py`` of git revision ``rev`` as a module of its own."""
    return module_at(rev, "nares_nas/simulation/clock.py", name="bench_rules_baseline_clock")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, metavar="REV", help="git revision whose clock to time beside")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data", default="synthetic")
    args = parser.parse_args()
    base = clock_of(args.baseline)
    bench = nares_nas.load(args.data)
    print(f"data: {bench.provenance}")
    model = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC")
    budget = Budget(archs=500)
    print(f"{'searcher':<24}{'baseline CPU s':>15}{'this CPU s':>12}{'ratio':>8}")
    for name, (cls, params) in CASES.items():
        searcher = getattr(searchers, cls)(**params)
        best = {"baseline": float("inf"), "this": float("inf")}
        logs = {}
        for _ in range(args.repeat):
            for tag, module in (("baseline", base), ("this", clock)):
                start = time.process_time()
                runs = module.simulate(searcher, model, range(args.runs), budget=budget, workers=args.workers)
                best[tag] = min(best[tag], time.process_time() - start)
                logs[tag] = [run.log.rows() for run in runs[:5]]
            if logs["baseline"] != logs["this"]:
                raise AssertionError(f"{name}: the two clocks' logs differ")
        print(f"{name:<24}{best['baseline']:>15.3f}{best['this']:>12.3f}{best['this'] / best['baseline']:>8.3f}",
              flush=True)


if __name__ == "__main__":
    main()
