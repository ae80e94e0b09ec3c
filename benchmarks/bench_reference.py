"""Issue 20's in-process search figures beside the public NARes reference code, timed in the same run.

Command (documented in docs/benchmarks.md):

    python benchmarks/bench_reference.py --reference DIR [--runs 400] [--budget 500] [--repeat 5]
                                         [--reference-repeat 1] [--jsonl PATH] [--algos random_search,...]

DIR is a checkout of the reference dataset and NAS code, github.com/zhichao-lu/arch-dataset-adv-robustness
(``git clone`` it; docs/benchmarks.md names the commit measured). Nothing of it is copied here: its
code runs from DIR, in a subprocess whose working directory is DIR, with its own imports, which need
``orjsonl`` and ``hydra-core`` (``pip install orjsonl hydra-core``) besides numpy, SciPy and torch
(its ``optimizer`` package imports BANANAS, hence torch, even for the other searchers).

What is timed, for each of random search, local search and regularized evolution:

- the reference: its configuration composed by Hydra from DIR's ``configs/`` (``algo=NAME``,
  ``total_queries=BUDGET``, made read-only as its ``main`` does), then for seeds 0..runs-1 what its
  ``main`` does per Hydra job minus printing and writing ``results.json``: ``random.seed(seed)``,
  ``np.random.seed(seed)`` and its own ``nas_benchmark.search`` (build the optimizer, ``run()``,
  ``get_topk_archs`` and ``batch_query`` of the top 5). Loading its dataset from the JSONL is timed
  apart; Hydra's per-job start of a multirun is not timed at all;
- nares-nas: ``run_search`` of the same searcher (local search with ``reference_moves=true``, the
  reference's move set) on the same file's VAL_PGD_ACC, seeds 0..runs-1, through
  :func:`bench_search.time_run_search`.

Both read one ``cifar10.jsonl`` in the official schema: ``--jsonl PATH``, else the synthetic stand-in
written by ``write_jsonl`` (what ``nares-nas data synth`` writes) into a temporary folder. Before
timing, the two must agree on arch 441's VAL_PGD_ACC. The reference's local search overshoots its
budget (docs/protocol.md §5.4, §6.18): its mean number of distinct queries is printed beside the time.
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

# Runs in DIR (argv: jsonl, runs, budget, repeat, algos as JSON); prints one JSON line: the dataset's
# load seconds, CHECK_ARCH's objective, and per searcher the median seconds of all runs, each run's
# distinct queries and best objective.
_DRIVER = """
import json, os, random, sys, time
from statistics import median
sys.path.insert(0, os.getcwd())
import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import get_class
from omegaconf import OmegaConf
from dataset import Metric, NASBenchR_CIFAR10_Dataset
from nas_benchmark import search
from search_space import Arch
jsonl, (runs, budget, repeat), algos = sys.argv[1], map(int, sys.argv[2:5]), json.loads(sys.argv[5])
t0 = time.perf_counter()
dataset = NASBenchR_CIFAR10_Dataset(jsonl)
out = {"load_s": time.perf_counter() - t0,
       "check": dataset.get_objective(Arch(*json.loads(sys.argv[6])), Metric.VAL_PGD_ACC)}
with initialize_config_dir(config_dir=os.path.abspath("configs"), version_base=None):
    for algo in algos:
        cfg = compose("config", overrides=[f"algo={algo}", f"total_queries={budget}"])
        OmegaConf.set_readonly(cfg, True)
        cls = get_class(cfg.optimizer_cls)
        made, times = [], []
        def make(config, data):
            made.append(cls(config, data))
            return made[-1]
        for _ in range(repeat):
            made.clear()
            t0 = time.perf_counter()
            for seed in range(runs):
                random.seed(seed)
                np.random.seed(seed)
                search(make, dataset, cfg)
            times.append(time.perf_counter() - t0)
        out[algo] = {"s": median(times), "queries": [o.queries for o in made],
                     "best": [max(o.sampled_archs.values()) for o in made]}
print(json.dumps(out))
"""


def time_reference(root: Path, jsonl: Path, runs: int, budget: int, repeat: int, algos: list[str]) -> dict:
    """The driver's JSON for the reference checkout at ``root``, run in a subprocess on one thread."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HYDRA_FULL_ERROR="1")
    done = subprocess.run([sys.executable, "-c", _DRIVER, str(jsonl), str(runs), str(budget), str(repeat),
                           json.dumps(algos), json.dumps(CHECK_ARCH)],
                          capture_output=True, text=True, env=env, cwd=root)
    if done.returncode != 0:
        raise SystemExit(f"the reference code in {root} failed:\n{done.stderr.strip()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    """Time the reference, then nares-nas, on ``jsonl``, and print one row per searcher."""
    algos = args.algos.split(",")
    root = Path(args.reference).resolve()
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}; {cpu_name()}, {os.cpu_count()} cores; "
          f"reference {root} at {reference_commit(root)}; load average {os.getloadavg()[0]:.2f}")
    ref = time_reference(root, jsonl, args.runs, args.budget, args.reference_repeat, algos)
    bench = nares_nas.load(jsonl, cache=False)
    values = bench.metric_by_id("VAL_PGD_ACC")
    ours_check = float(values[bench.query(",".join(map(str, CHECK_ARCH))).arch_id])  # indexed by arch_id
    if ours_check != ref["check"]:
        raise SystemExit(f"the two read different VAL_PGD_ACC for {CHECK_ARCH}: {ref['check']} and {ours_check}")
    print(f"data: {bench.provenance}; the reference loaded it in {ref['load_s']:.1f} s")
    print(f"{args.runs} runs x {args.budget} queries; reference: median of {args.reference_repeat}, "
          f"nares-nas: median of {args.repeat}")
    print(f"{'searcher':<23}{'reference s':>12}{'nares-nas s':>12}{'ratio':>8}{'ref queries':>13}"
          f"{'ref best':>10}{'our best':>10}")
    for algo in algos:
        ours, trajectories = time_run_search(values, PAIRS[algo], args.runs, args.budget, args.repeat)
        theirs = ref[algo]
        print(f"{algo:<23}{theirs['s']:>12.3f}{ours:>12.3f}{theirs['s'] / ours:>7.1f}x"
              f"{np.mean(theirs['queries']):>13.1f}{np.mean(theirs['best']):>10.3f}"
              f"{np.mean([t.best_value for t in trajectories]):>10.3f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, metavar="DIR", help="checkout of the reference code")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5, help="timings of run_search whose median is shown")
    parser.add_argument("--reference-repeat", type=int, default=1, help="timings of the reference's runs")
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
