"""What runs on the simulated clock cost, and how soon they found what they found.

Reads the clock's account in each :class:`~nares_nas.runs.record.RunResult` (``clock``): the
cost table beside Table 2 (GPU-days, simulated days with N workers, evaluations per
fidelity) and the anytime curves against simulated days and GPU-days. The incumbent at time
t is the best value among evaluations finished by t at full fidelity (``any_fidelity``: at
any fidelity), as :meth:`nares_nas.simulation.clock.ClockRun.incumbent` defines it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from nares_nas.reports.curves import _clock
from nares_nas.runs.record import RunResult


def evaluations_by_epochs(clocks: Sequence[Mapping]) -> dict[int, int]:
    """How many evaluations of these runs' clock accounts ended at each epoch count, ascending."""
    counts: dict[int, int] = {}
    for clock in clocks:
        for epochs in clock["evaluations"]["epoch_to"]:
            counts[epochs] = counts.get(epochs, 0) + 1
    return dict(sorted(counts.items()))


def cost_frame(results: Mapping[str, Sequence[RunResult]]) -> pd.DataFrame:
    """One row per searcher: GPU-days and simulated days (mean, std over runs), evaluations, fidelities."""
    rows = []
    for name, runs in results.items():
        clocks = [_clock(r) for r in runs]
        gpu = np.array([c["gpu_days"] for c in clocks])
        sim = np.array([c["sim_days"] for c in clocks])
        counts = evaluations_by_epochs(clocks)
        n = len(runs)
        rows.append({
            "searcher": name, "runs": n, "workers": clocks[0]["workers"],
            "gpu_days_mean": gpu.mean(), "gpu_days_std": gpu.std(ddof=1) if n > 1 else math.nan,
            "sim_days_mean": sim.mean(), "sim_days_std": sim.std(ddof=1) if n > 1 else math.nan,
            "evaluations_mean": sum(counts.values()) / n,
            "full_trainings_mean": float(np.mean([len(r.trajectory) for r in runs])),
            "evaluations_by_epochs": "; ".join(f"{e}: {k / n:.1f}" for e, k in counts.items()),
        })
    return pd.DataFrame(rows).set_index("searcher")


def cost_markdown(frame: pd.DataFrame, note: str) -> str:
    """The cost table in Markdown (mean ± std over runs, ddof=1), with its budget line."""
    lines = ["| Searcher | runs | GPU-days | simulated days | evaluations | full trainings | evaluations by epochs |",
             "|---|---|---|---|---|---|---|"]
    for name, row in frame.iterrows():
        lines.append(f"| {name} | {row['runs']} | {row['gpu_days_mean']:.2f} ± {row['gpu_days_std']:.2f} | "
                     f"{row['sim_days_mean']:.2f} ± {row['sim_days_std']:.2f} | {row['evaluations_mean']:.1f} | "
                     f"{row['full_trainings_mean']:.1f} | {row['evaluations_by_epochs']} |")
    return "\n".join(["Cost (simulated clock; mean ± std over runs, ddof=1). " + note[0].upper() + note[1:] + ".",
                      "", *lines, ""])


