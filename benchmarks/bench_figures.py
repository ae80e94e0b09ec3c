"""Figures benchmark: every analysis figure (2-7 and the summary) of the full 15,625-architecture table.

Command (documented in docs/benchmarks.md):

    python benchmarks/bench_figures.py [--data synthetic|PATH] [--repeats 3] [--json out.json]

Phase 1 runs ``nares-nas figure all --out TMP`` end to end in a fresh process (interpreter start-up,
imports, the cached load, every table, CSV and PNG) and reports its wall time and the CPU time
(user + system) of the child; the fastest of ``--repeats`` counts. Phase 2 times, in this process,
each figure's tables (``analysis.figure_data``) and its files (``analysis_plots.write_figure``)
separately, after one warm-up round (so imports are not counted there). The load average before
each phase is printed: on a shared machine wall time grows with it, CPU time much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def end_to_end(data: str, out: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nares_nas.cli", "figure", "all", "--out", str(out), "--data", data],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "load_before": os.getloadavg()[0]}


def in_process(data: str, out: Path) -> dict[str, dict[str, float]]:
    import nares_nas
    from nares_nas.analysis import figures as analysis
    from nares_nas.analysis import plots as analysis_plots

    start = time.perf_counter()
    bench = nares_nas.load(data)
    timings: dict[str, dict[str, float]] = {"load": {"wall_s": time.perf_counter() - start}}
    for figure in analysis.FIGURES:  # warm-up: imports (scikit-learn, matplotlib) and caches
        analysis_plots.write_figure(analysis.figure_data(bench, figure), out)
    for figure in analysis.FIGURES:
        t0, c0 = time.perf_counter(), time.process_time()
        figure_data = analysis.figure_data(bench, figure)
        t1 = time.perf_counter()
        analysis_plots.write_figure(figure_data, out)
        t2, c2 = time.perf_counter(), time.process_time()
        timings[figure] = {"tables_s": t1 - t0, "files_s": t2 - t1, "cpu_s": c2 - c0}
    return timings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic", help="'synthetic' (default), 'nares' or a cifar10.jsonl")
    parser.add_argument("--repeats", type=int, default=3, help="end-to-end repeats; the fastest counts")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    import nares_nas

    nares_nas.load(args.data)  # build the columnar cache once, outside the timings
    tmp = Path(tempfile.mkdtemp(prefix="bench-figures-"))
    try:
        runs = [end_to_end(args.data, tmp / f"e2e{i}") for i in range(args.repeats)]
        best = min(runs, key=lambda r: r["wall_s"])
        print(f"nares-nas figure all (fresh process), {args.repeats} runs: fastest wall {best['wall_s']:.2f} s, "
              f"CPU {best['cpu_s']:.2f} s (load average before {best['load_before']:.2f}); "
              "all walls: " + ", ".join(f"{r['wall_s']:.2f}" for r in runs))
        load = os.getloadavg()[0]
        parts = in_process(args.data, tmp / "inproc")
        print(f"\nin process (after a warm-up round; load average before {load:.2f}):")
        print(f"  load {parts['load']['wall_s']:.3f} s")
        print(f"  {'figure':8} {'tables s':>9} {'files s':>8} {'cpu s':>7}")
        for name, t in parts.items():
            if name != "load":
                print(f"  {name:8} {t['tables_s']:9.3f} {t['files_s']:8.3f} {t['cpu_s']:7.3f}")
        total = sum(t["tables_s"] + t["files_s"] for n, t in parts.items() if n != "load")
        print(f"  total    {total:.2f} s")
        if args.json:
            args.json.write_text(json.dumps({"end_to_end": runs, "in_process": parts}, indent=1) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
