"""Search benchmark: 400 runs x 500 queries of random search, local search and regularized evolution.

Command (documented in docs/benchmarks.md):

    python benchmarks/bench_search.py [--runs 400] [--budget 500] [--data synthetic] [--repeat 5]
                                      [--compare /tmp/a63] [--algos random_search,...]
    python benchmarks/bench_search.py --cli [--jobs 1,2] [--repeat 5] [--compare /tmp/before]

For each searcher it times, with the table already loaded, (a) nares-nas's ``run_search``
in-process on one core (the median of ``--repeat``), and (b) a straightforward per-query
implementation of the same algorithm (tuples, a dict of seen archs, one generator call per random
draw) measured in the same run as the baseline; then (c) the whole command ``nares-nas search
--runs R`` end to end in a fresh process. ``--compare DIR`` also times ``run_search`` of another
checkout of nares-nas (``git worktree add /tmp/a63 a63a798``: the last commit before the clock) in a
subprocess, in the same run, and prints the ratio.

``--cli`` times only the commands end to end with ``--out`` (:data:`CLI_COMMANDS`: the three
searchers, local search with reference moves, and 400 ASHA runs on 8 simulated workers), each with
every ``--jobs`` value, in fresh processes of this checkout and of ``--compare DIR`` taken in turn
(medians of ``--repeat`` after one untimed run each, wall and CPU seconds, and the ratio of wall
times to this checkout's ``--jobs 1``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from statistics import median

import numpy as np

import nares_nas
import nares_nas.searchers
from nares_nas.runs.search import run_search
from nares_nas.space import DEPTHS, WIDTHS


def _neighbours(arch: tuple[int, ...]) -> list[tuple[int, ...]]:
    out = []
    for col, allowed in enumerate((DEPTHS, WIDTHS) * 3):
        for value in allowed:
            if value != arch[col]:
                out.append(arch[:col] + (value,) + arch[col + 1:])
    return out


def _random_arch(rng: np.random.Generator) -> tuple[int, ...]:
    return tuple(int(rng.choice(c)) for c in (DEPTHS, WIDTHS) * 3)


def baseline_random(value, budget, rng):
    seen: dict = {}
    while len(seen) < budget:
        arch = _random_arch(rng)
        if arch not in seen:
            seen[arch] = value(arch)
    return max(seen.values())


def baseline_local(value, budget, rng):
    seen: dict = {}
    while len(seen) < budget:
        best, best_v = None, -np.inf
        for _ in range(10):
            while (arch := _random_arch(rng)) in seen:
                pass
            seen[arch] = v = value(arch)
            if v > best_v:
                best, best_v = arch, v
            if len(seen) >= budget:
                return max(seen.values())
        moved = True
        while moved and len(seen) < budget:
            moved = False
            neighbours = _neighbours(best)
            rng.shuffle(neighbours)
            for nb in neighbours:
                if nb in seen:
                    continue
                seen[nb] = v = value(nb)
                if v > best_v:
                    best, best_v, moved = nb, v, True
                    break
                if len(seen) >= budget:
                    break
    return max(seen.values())


def baseline_evolution(value, budget, rng):
    seen: dict = {}

    def query(arch):
        if arch not in seen:
            seen[arch] = value(arch)
        return seen[arch]

    population = [(arch, query(arch)) for arch in (_random_arch(rng) for _ in range(30))]
    ages = list(range(30))
    step = 30
    while len(seen) < budget:
        picks = rng.choice(30, 10)
        parent = max(picks, key=lambda i: population[i][1])
        neighbours = _neighbours(population[parent][0])
        child = neighbours[int(rng.integers(len(neighbours)))]
        oldest = int(np.argmin(ages))
        population[oldest] = (child, query(child))
        ages[oldest] = step
        step += 1
    return max(seen.values())


BASELINES = {"random_search": baseline_random, "local_search": baseline_local,
             "regularized_evolution": baseline_evolution}
SEARCHERS = {  # label: (class in nares_nas.searchers, hyper-parameters)
    "random_search": ("RandomSearch", {}), "local_search": ("LocalSearch", {}),
    "local_search_reference": ("LocalSearch", {"reference_moves": True}),
    "regularized_evolution": ("RegularizedEvolution", {}),
}


# Times run_search of the checkout on sys.path (argv: data, runs, budget, repeat, algos), one JSON line
# of medians. The checkout's top-level searchers/ and surrogate/ are mapped to nares_nas.* by hand, as
# its setup.cfg's package_dir does, so no installed copy of nares-nas is mixed in.
_MAP = """
import importlib.util, json, os, sys, time
from statistics import median
root = sys.path[0]
import nares_nas
for sub in ("searchers", "surrogate"):
    spec = importlib.util.spec_from_file_location(f"nares_nas.{sub}", os.path.join(root, sub, "__init__.py"),
                                                  submodule_search_locations=[os.path.join(root, sub)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    setattr(nares_nas, sub, module)
assert nares_nas.__file__.startswith(root) and nares_nas.searchers.__file__.startswith(root)
"""
_TIMER = _MAP + """
try:
    from nares_nas.runs.search import run_search
except ImportError:
    from nares_nas.harness import run_search
data, runs, budget, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
algos = json.loads(sys.argv[5])
bench = nares_nas.load(data)
values = bench.metric_by_id("VAL_PGD_ACC") if hasattr(bench, "metric_by_id") else bench.metric_array("VAL_PGD_ACC")
out = {}
for name, (cls, params) in algos.items():
    searcher = getattr(nares_nas.searchers, cls)(**params)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_search(searcher, values, seeds=range(runs), budget=budget)
        times.append(time.perf_counter() - t0)
    out[name] = median(times)
print(json.dumps(out))
"""


def time_run_search(values: np.ndarray, name: str, runs: int, budget: int,
                    repeat: int) -> tuple[float, float, list]:
    """Median wall and CPU seconds of this checkout's ``run_search`` of :data:`SEARCHERS` ``name`` over
    seeds 0..runs-1 in this process (the table already loaded), and the trajectories of its last repeat.
    On a shared machine the CPU time is the steadier figure."""
    cls, params = SEARCHERS[name]
    searcher = getattr(nares_nas.searchers, cls)(**params)
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        trajectories = run_search(searcher, values, seeds=range(runs), budget=budget)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return median(walls), median(cpus), trajectories


def time_checkout(root: str, data: str, runs: int, budget: int, repeat: int, algos: list[str]) -> dict[str, float]:
    """Median seconds of ``run_search`` per searcher in the checkout at ``root``, timed in a subprocess."""
    env = dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS="1")
    specs = json.dumps({name: SEARCHERS[name] for name in algos})
    done = subprocess.run([sys.executable, "-c", _TIMER, data, str(runs), str(budget), str(repeat), specs],
                          check=True, capture_output=True, text=True, env=env, cwd=root)
    return json.loads(done.stdout.strip().splitlines()[-1])


# The checkout's command line, its searchers mapped as above (argv: the command's arguments).
_CLI = _MAP + """
from nares_nas.cli import main
sys.argv[0] = "nares-nas"
sys.exit(main(sys.argv[1:]))
"""
_ASHA = ["--algo", "asha", "--param", "min_epochs=4", "--param", "eta=3", "--workers", "8", "--max-cost", "equal"]
CLI_COMMANDS = {  # label: arguments of `nares-nas search` besides --runs, --out, --quiet and --jobs
    "random_search": ["--algo", "random_search"], "local_search": ["--algo", "local_search"],
    "local_search_reference": ["--algo", "local_search", "--param", "reference_moves=true"],
    "regularized_evolution": ["--algo", "regularized_evolution"], "asha": _ASHA,
}


def time_cli(root: str, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, its processes') of one ``nares-nas search ARGS --out NEW_DIR
    --quiet`` of the checkout at ``root``: on a shared machine the CPU time is the steadier figure."""
    env = dict(os.environ, PYTHONPATH=root)
    with tempfile.TemporaryDirectory() as tmp:
        before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run([sys.executable, "-c", _CLI, "search", *args, "--out", os.path.join(tmp, "out"), "--quiet"],
                       check=True, capture_output=True, env=env, cwd=root)
        wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def cli_main(args: argparse.Namespace, names: list[str]) -> None:
    """``--cli``: every command of :data:`CLI_COMMANDS` with each ``--jobs``, here and in ``--compare``, in turn."""
    roots = {"this": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    if args.compare:
        roots["compare"] = os.path.abspath(args.compare)
    jobs = [int(j) for j in args.jobs.split(",")]
    print(f"{'command':<24}{'jobs':>5}" + "".join(f"{name + ' s':>11}{'cpu s':>7}" for name in roots)
          + "".join(f"{name + '/this j1':>16}" for name in roots))
    for name in names:
        times: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for root in roots.values():  # untimed: fills numba's cache and the file cache
            time_cli(root, [*CLI_COMMANDS[name], "--runs", str(args.runs)])
        for _ in range(args.repeat):
            for n_jobs in jobs:
                for label, root in roots.items():
                    command = [*CLI_COMMANDS[name], "--runs", str(args.runs), "--jobs", str(n_jobs)]
                    times.setdefault((label, n_jobs), []).append(time_cli(root, command))
        base = median(wall for wall, _ in times[("this", jobs[0])])
        for n_jobs in jobs:
            walls = [median(wall for wall, _ in times[(label, n_jobs)]) for label in roots]
            cpus = [median(cpu for _, cpu in times[(label, n_jobs)]) for label in roots]
            print(f"{name:<24}{n_jobs:>5}" + "".join(f"{w:>11.2f}{c:>7.2f}" for w, c in zip(walls, cpus))
                  + "".join(f"{w / base:>15.2f}x" for w in walls), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--baseline-runs", type=int, default=40, help="baseline runs timed (then scaled)")
    parser.add_argument("--repeat", type=int, default=5, help="timings of run_search whose median is shown")
    parser.add_argument("--compare", metavar="DIR", help="another checkout whose run_search to time beside")
    parser.add_argument("--algos", help="comma-separated, of " + ", ".join(SEARCHERS) + " (--cli: also asha)")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI timing")
    parser.add_argument("--cli", action="store_true", help="time only the commands with --out (CLI_COMMANDS)")
    parser.add_argument("--jobs", default="1,2", help="--cli: comma-separated --jobs values (the first is the base)")
    args = parser.parse_args()
    if args.cli:
        return cli_main(args, (args.algos or ",".join(CLI_COMMANDS)).split(","))
    algos = (args.algos or ",".join(SEARCHERS)).split(",")
    bench = nares_nas.load(args.data)
    values = bench.metric_by_id("VAL_PGD_ACC")
    by_arch = {tuple(int(v) for v in a): float(values[i]) for i, a in enumerate(nares_nas.SPACE.archs, 1)}
    print(f"data: {bench.provenance}")
    other = (time_checkout(os.path.abspath(args.compare), args.data, args.runs, args.budget, args.repeat, algos)
             if args.compare else {})
    print(f"{'searcher':<24}{'nares-nas s':>12}{'compare s':>10}{'ratio':>7}{'baseline s':>12}{'speed-up':>10}"
          f"{'CLI s':>9}{'mean best':>11}")
    for name in algos:
        params = SEARCHERS[name][1]
        ours, _, trajectories = time_run_search(values, name, args.runs, args.budget, args.repeat)
        mean_best = np.mean([t.best_value for t in trajectories])
        base = math.nan
        if name in BASELINES:  # no straightforward twin of the reference moves
            t0 = time.perf_counter()
            for seed in range(args.baseline_runs):
                BASELINES[name](by_arch.__getitem__, args.budget, np.random.default_rng(seed))
            base = (time.perf_counter() - t0) * args.runs / args.baseline_runs
        cli_algo = ["--algo", name] if not params else ["--algo", "local_search", "--param", "reference_moves=true"]
        cli = math.nan
        if not args.no_cli:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "nares_nas.cli", "search", *cli_algo, "--runs",
                                str(args.runs), "--budget", str(args.budget), "--data", args.data, "--quiet",
                                "--out", os.path.join(tmp, "out")], check=True, capture_output=True)
                cli = time.perf_counter() - t0
        compare = other.get(name, math.nan)
        print(f"{name:<24}{ours:>12.3f}{compare:>10.3f}{compare / ours:>6.2f}x{base:>12.2f}{base / ours:>9.1f}x"
              f"{cli:>9.2f}{mean_best:>11.3f}", flush=True)


if __name__ == "__main__":
    main()
