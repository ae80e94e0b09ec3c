"""Loading benchmark: first load, cached load, scalar lookups, vectorised metrics, memory.

Command (documented in docs/benchmarks.md):

    python benchmarks/bench_load.py [--file cifar10.jsonl]

Without ``--file`` it writes the synthetic stand-in (a full 15,625-line file in the official
schema) to a temporary folder first. Each phase runs in a fresh Python process so import time
and peak memory are measured as a user sees them. The baseline is parsing the same JSON lines
with the standard library's ``json`` module in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PHASES = {
    "stdlib_json_parse": """
        import json
        with open(PATH, "rb") as fh:
            rows = [json.loads(line) for line in fh]
        assert len(rows) > 0
    """,
    "first_load": """
        import nares_nas
        bench = nares_nas.load(PATH)
        assert len(bench) > 0
    """,
    "cached_load": """
        import nares_nas
        bench = nares_nas.load(PATH)
        assert len(bench) > 0
    """,
    "scalar_lookups_1e5": """
        import nares_nas, numpy as np, time
        bench = nares_nas.load(PATH)
        ids = np.random.default_rng(0).integers(1, 15626, 100_000).tolist()
        t0 = time.perf_counter()
        for i in ids:
            bench.metric(i, "VAL_PGD_ACC")
        INNER = time.perf_counter() - t0
    """,
    "metrics_all_archs": """
        import nares_nas, time
        bench = nares_nas.load(PATH)
        t0 = time.perf_counter()
        for name in ("VAL_PGD_ACC", "TEST_AA_ACC", "TEST_CORRUPT_ACC", "MACS"):
            bench.metric_by_row(name)
        INNER = (time.perf_counter() - t0) / 4
    """,
}

RUNNER = """
import resource, sys, time
T0 = time.perf_counter()
INNER = None
PATH = sys.argv[1]
{body}
TOTAL = time.perf_counter() - T0
PEAK = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{TOTAL}} {{INNER if INNER is not None else TOTAL}} {{PEAK}}")
"""


def run_phase(name: str, path: Path, env: dict[str, str]) -> tuple[float, float, float]:
    code = RUNNER.format(body=textwrap.dedent(PHASES[name]))
    start = __import__("time").perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    wall = __import__("time").perf_counter() - start
    total, inner, peak = map(float, out)
    return wall, inner, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="a cifar10.jsonl (default: the synthetic stand-in)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process repeats of the cached load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NARES_NAS_HOME=str(Path(tmp) / "home"))
        path = args.file
        if path is None:
            path = Path(tmp) / "cifar10.jsonl"
            subprocess.run([sys.executable, "-m", "nares_nas.cli", "data", "synth", "--out", str(path)],
                           env=env, check=True, capture_output=True)
        size_mb = path.stat().st_size / 2**20
        results = {}
        for name in PHASES:
            repeats = args.repeat if name in ("cached_load", "stdlib_json_parse") else 1
            runs = [run_phase(name, path, env) for _ in range(repeats)]
            results[name] = min(runs)
        print(f"file: {path.name}, {size_mb:.0f} MiB")
        print(f"{'phase':<22}{'wall s (process)':>18}{'timed part s':>14}{'peak RSS MB':>13}")
        for name, (wall, inner, peak) in results.items():
            print(f"{name:<22}{wall:>18.3f}{inner:>14.4f}{peak:>13.0f}")
        base = results["stdlib_json_parse"][0]
        print(f"cached load vs stdlib json parse: {base / results['cached_load'][0]:.1f}x faster")
        print(f"first load vs stdlib json parse: {base / results['first_load'][0]:.2f}x")
        lookups = results["scalar_lookups_1e5"][1]
        print(f"scalar lookups: {1e5 / lookups:,.0f} per second")
        print(json.dumps({k: {"wall_s": v[0], "timed_s": v[1], "peak_mb": v[2]} for k, v in results.items()}))


if __name__ == "__main__":
    main()
