"""Search benchmark: 400 runs x 500 queries of random search, local search and regularized evolution.

Command (documented in docs/benchmarks.md):

    python benchmarks/bench_search.py [--runs 400] [--budget 500] [--data synthetic]

For each searcher it times, with the table already loaded, (a) nares-nas's ``run_search``
in-process, and (b) a straightforward per-query implementation of the same algorithm (tuples,
a dict of seen archs, one generator call per random draw) measured in the same run as the
baseline; then (c) the whole command ``nares-nas search --runs R`` end to end in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import nares_nas
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--baseline-runs", type=int, default=40, help="baseline runs timed (then scaled)")
    args = parser.parse_args()
    bench = nares_nas.load(args.data)
    values = bench.metric_by_id("VAL_PGD_ACC")
    by_arch = {tuple(int(v) for v in a): float(values[i]) for i, a in enumerate(nares_nas.SPACE.archs, 1)}
    print(f"data: {bench.provenance}")
    print(f"{'searcher':<24}{'nares-nas s':>12}{'baseline s':>12}{'speed-up':>10}{'CLI s':>9}{'mean best':>11}")
    for name, baseline in BASELINES.items():
        t0 = time.perf_counter()
        trajectories = run_search(name, values, seeds=range(args.runs), budget=args.budget)
        ours = time.perf_counter() - t0
        mean_best = np.mean([t.best_value for t in trajectories])
        t0 = time.perf_counter()
        for seed in range(args.baseline_runs):
            baseline(by_arch.__getitem__, args.budget, np.random.default_rng(seed))
        base = (time.perf_counter() - t0) * args.runs / args.baseline_runs
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nares_nas.cli", "search", "--algo", name, "--runs",
                            str(args.runs), "--budget", str(args.budget), "--data", args.data, "--quiet",
                            "--out", os.path.join(tmp, "out")], check=True, capture_output=True, env=env)
            cli = time.perf_counter() - t0
        print(f"{name:<24}{ours:>12.2f}{base:>12.2f}{base / ours:>9.1f}x{cli:>9.2f}{mean_best:>11.3f}")


if __name__ == "__main__":
    main()
