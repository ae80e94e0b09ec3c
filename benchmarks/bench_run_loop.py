"""Run-to-folder benchmark: many runs written into a folder through the one loop (``runs/loop.py``).

Command (documented in docs/benchmarks.md):

    python benchmarks/bench_run_loop.py [--runs 400] [--mo-runs 100] [--budget 500] [--repeat 5]
                                        [--compare SRC]

Times, with the table already loaded and in one process, ``run_to_dir`` of random search (``--runs``
runs) and ``run_mo_to_dir`` of multi-objective random search (``--mo-runs`` runs, VAL_PGD_ACC:max and
MACS:min, MACS<=2e10) into a new folder, ``--budget`` queries each: the median of ``--repeat``.
``--compare SRC`` also times another source checkout of nares-nas (``git archive COMMIT | tar -x -C SRC``)
in a subprocess, alternating with this one, and prints the ratio; the synthetic stand-in's numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

LAYOUT = {"nares_nas": "nares_nas", "searchers": "nares_nas/searchers", "surrogate": "nares_nas/surrogate"}
"""Where a source checkout's folders go when it is installed (``package_dir`` in setup.cfg)."""


def time_jobs(runs: int, mo_runs: int, budget: int) -> dict[str, float]:
    """Seconds of each job, in this process, with whatever nares-nas is importable."""
    import nares_nas
    from nares_nas.runs.multiobjective import run_mo_to_dir
    from nares_nas.runs.search import run_to_dir

    bench = nares_nas.load("synthetic")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_to_dir(Path(tmp) / "rs", "random_search", bench, seeds=range(runs), budget=budget)
        times["run_to_dir"] = time.perf_counter() - start
        start = time.perf_counter()
        run_mo_to_dir(Path(tmp) / "mo", "mo_random_search", bench, "VAL_PGD_ACC:max,MACS:min", ["MACS<=2e10"],
                      seeds=range(mo_runs), budget=budget)
        times["run_mo_to_dir"] = time.perf_counter() - start
    return times


def installed(source: Path, root: Path) -> Path:
    """Lay a source checkout out as it installs under ``root``; returns the folder to put on PYTHONPATH."""
    for folder, target in LAYOUT.items():
        shutil.copytree(source / folder, root / target, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def in_subprocess(path: Path | None, args: argparse.Namespace) -> dict[str, float]:
    """:func:`time_jobs` in a fresh process, of the checkout laid out at ``path`` (None: this one)."""
    env = None if path is None else {**os.environ, "PYTHONPATH": str(path)}
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"from bench_run_loop import time_jobs; print(json.dumps(time_jobs({args.runs}, {args.mo_runs}, "
            f"{args.budget})))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--mo-runs", type=int, default=100)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compare", metavar="SRC", type=Path, help="another source checkout to time beside")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = installed(args.compare, Path(tmp)) if args.compare else None
        mine, theirs = [], []
        for _ in range(args.repeat):
            mine.append(in_subprocess(None, args))
            if other is not None:
                theirs.append(in_subprocess(other, args))
    print(f"{args.repeat} repeats, median seconds (synthetic stand-in)")
    for job in mine[0]:
        here = median(t[job] for t in mine)
        line = f"{job:15s} this {here:7.3f}"
        if theirs:
            there = median(t[job] for t in theirs)
            line += f"   {args.compare} {there:7.3f}   this/that {here / there:5.2f}"
        print(line)


if __name__ == "__main__":
    main()
