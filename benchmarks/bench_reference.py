"""Issue 20's in-process search figures beside the public NARes reference code, timed in the same run.

Command (documented in docs/benchmarks.md):

    python benchmarks/bench_reference.py --reference DIR [--runs 400] [--budget 500] [--repeat 3]
                                         [--jsonl PATH] [--algos random_search,...]

DIR is a checkout of the reference dataset and NAS code, github.com/zhichao-lu/arch-dataset-adv-robustness
(``git clone`` it; docs/benchmarks.md names the commit measured). Nothing of it is copied here: its
code runs from DIR, in a subprocess whose working directory is DIR, with its own imports, which need
``orjsonl`` and ``hydra-core`` (``pip install orjsonl hydra-core``) besides numpy, SciPy and torch
(its ``optimizer`` package imports BANANAS, hence torch, even for the other searchers).

What is timed, for each of random search, local search and regularized evolution, in ``--repeat``
rounds that each time the reference once and then nares-nas once (so both meet the same load on a
shared machine), wall and CPU seconds, medians over the rounds:

- the reference: its configuration composed by Hydra from DIR's ``configs/`` (``algo=NAME``,
  ``total_queries=BUDGET``, made read-only as its ``main`` does), then for seeds 0..runs-1 what its
  ``main`` does per Hydra job minus printing and writing ``results.json``: ``random.seed(seed)``,
  ``np.random.seed(seed)`` and its own ``nas_benchmark.search`` (build the optimizer, ``run()``,
  ``get_topk_archs`` and ``batch_query`` of the top 5). Its process loads the dataset from the JSONL
  once, timed apart; Hydra's per-job start of a multirun is not timed at all;
- nares-nas: ``run_search`` of the same searcher (local search with ``reference_moves=true``, the
  reference's move set) on the same file's VAL_PGD_ACC, seeds 0..runs-1, through
  :func:`bench_search.time_run_search`.

Both read one ``cifar10.jsonl`` in the official schema: ``--jsonl PATH``, else the synthetic stand-in
written by ``write_jsonl`` (what ``nares-nas data synth`` writes) into a temporary folder. Before
timing, the two must agree on arch 441's VAL_PGD_ACC. The reference's local search overshoots its
budget (docs/protocol.md §5.4, §6.18), and so does nares-nas's with ``reference_moves=true``: each
side's mean number of distinct queries per run is printed beside the times, with each side's mean best
VAL_PGD_ACC (different random streams, so close but not equal).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

import numpy as np
from bench_search import time_run_search

import nares_nas
from nares_nas.data import home
from nares_nas.data.jsonl import write_jsonl
from nares_nas.data.loading import load_table_from

# The reference searcher (its configs/algo/NAME.yaml) and the nares-nas searcher of bench_search.SEARCHERS.
PAIRS = {"random_search": "random_search", "local_search": "local_search_reference",
         "regularized_evolution": "regularized_evolution"}
CHECK_ARCH = (5, 10, 5, 10, 5, 10)  # arch 441, WRN-34-10: both sides must read the same value for it

# Runs in DIR (argv: jsonl, runs, budget, CHECK_ARCH as JSON). Loads the dataset, prints one JSON line
# (load seconds, CHECK_ARCH's objective), then for each searcher name read from stdin runs every seed once
# and prints one JSON line: wall and CPU seconds of all runs, each run's distinct queries and best objective.
_DRIVER = """
import json, os, random, sys, time
sys.path.insert(0, os.getcwd())
import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import get_class
from omegaconf import OmegaConf
from dataset import Metric, NASBenchR_CIFAR10_Dataset
from nas_benchmark import search
from search_space import Arch
jsonl, runs, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
dataset = NASBenchR_CIFAR10_Dataset(jsonl)
print(json.dumps({"load_s": time.perf_counter() - t0,
                  "check": dataset.get_objective(Arch(*json.loads(sys.argv[4])), Metric.VAL_PGD_ACC)}), flush=True)
with initialize_config_dir(config_dir=os.path.abspath("configs"), version_base=None):
    for line in sys.stdin:
        cfg = compose("config", overrides=[f"algo={line.strip()}", f"total_queries={budget}"])
        OmegaConf.set_readonly(cfg, True)
        cls, made = get_class(cfg.optimizer_cls), []
        def make(config, data):
            made.append(cls(config, data))
            return made[-1]
        t0, c0 = time.perf_counter(), time.process_time()
        for seed in range(runs):
            random.seed(seed)
            np.random.seed(seed)
            search(make, dataset, cfg)
        print(json.dumps({"s": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                          "queries": [o.queries for o in made],
                          "best": [max(o.sampled_archs.values()) for o in made]}), flush=True)
"""


class Reference:
    """The reference checkout at ``root`` in a subprocess on one thread, its dataset loaded once."""

    def __init__(self, root: Path, jsonl: Path, runs: int, budget: int) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HYDRA_FULL_ERROR="1")
        self.process = subprocess.Popen([sys.executable, "-c", _DRIVER, str(jsonl), str(runs), str(budget),
                                         json.dumps(CHECK_ARCH)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env, cwd=root)
        self.root = root
        self.loaded = self._answer()

    def time(self, algo: str) -> dict:
        """One timing of every run of the reference's ``algo``."""
        self.process.stdin.write(algo + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the reference code in {self.root} failed:\n{self.process.stderr.read()[-3000:]}")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def reference_commit(root: Path) -> str:
    """DIR's git commit, or 'unknown' for a copy without its .git."""
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 and (root / ".git").exists() else "unknown"


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def compare(args: argparse.Namespace, jsonl: Path) -> None:
    """Time the reference and nares-nas on ``jsonl`` in alternate rounds, so both meet the same load;
    print one row per searcher: medians over the rounds, and the median of the rounds' ratios."""
    root = Path(args.reference).resolve()
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}; {cpu_name()}, {os.cpu_count()} cores; "
          f"Python {platform.python_version()}, numpy {np.__version__}; reference {root} at "
          f"{reference_commit(root)}; load average {os.getloadavg()[0]:.2f}")
    reference = Reference(root, jsonl, args.runs, args.budget)
    bench = nares_nas.load(jsonl, cache=False)
    values = bench.metric_by_id("VAL_PGD_ACC")
    ours_check = float(values[bench.query(",".join(map(str, CHECK_ARCH))).arch_id])  # indexed by arch_id
    if ours_check != reference.loaded["check"]:
        raise SystemExit(f"the two read different VAL_PGD_ACC for {CHECK_ARCH}: "
                         f"{reference.loaded['check']} and {ours_check}")
    print(f"data: {bench.provenance}; the reference loaded it in {reference.loaded['load_s']:.1f} s")
    print(f"{args.runs} runs x {args.budget} queries, medians of {args.repeat} rounds (each: the reference once, "
          "then nares-nas once)")
    print(f"{'searcher':<23}{'reference s':>12}{'cpu s':>7}{'nares-nas s':>12}{'cpu s':>7}{'ratio':>8}"
          f"{'cpu ratio':>10}{'ref queries':>12}{'our queries':>12}{'ref best':>10}{'our best':>10}")
    for algo in args.algos.split(","):
        rounds = []
        for _ in range(args.repeat):
            theirs = reference.time(algo)
            wall, cpu, trajectories = time_run_search(values, PAIRS[algo], args.runs, args.budget, 1)
            rounds.append((theirs, wall, cpu))
        ref_wall, ref_cpu = median(r[0]["s"] for r in rounds), median(r[0]["cpu"] for r in rounds)
        print(f"{algo:<23}{ref_wall:>12.3f}{ref_cpu:>7.2f}{median(r[1] for r in rounds):>12.3f}"
              f"{median(r[2] for r in rounds):>7.3f}{median(r[0]['s'] / r[1] for r in rounds):>7.1f}x"
              f"{median(r[0]['cpu'] / r[2] for r in rounds):>9.1f}x{np.mean(theirs['queries']):>12.1f}"
              f"{np.mean([len(t) for t in trajectories]):>12.1f}"
              f"{np.mean(theirs['best']):>10.3f}{np.mean([t.best_value for t in trajectories]):>10.3f}", flush=True)
    reference.close()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, metavar="DIR", help="checkout of the reference code")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each timing both once; medians shown")
    parser.add_argument("--jsonl", type=Path, help="cifar10.jsonl to read (default: the stand-in, written anew)")
    parser.add_argument("--algos", default=",".join(PAIRS), help="comma-separated, of " + ", ".join(PAIRS))
    args = parser.parse_args()
    if not (Path(args.reference) / "nas_benchmark.py").exists():
        parser.error(f"--reference {args.reference}: no nas_benchmark.py there")
    if args.jsonl:
        return compare(args, args.jsonl.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        compare(args, write_jsonl(load_table_from(home.SYNTHETIC), Path(tmp) / "cifar10.jsonl"))


if __name__ == "__main__":
    main()
