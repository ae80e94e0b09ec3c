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
from pathlib import Path

import numpy as np
import pandas as pd

from nares_nas.reports.curves import _clock
from nares_nas.reports.results import Folder, Results, frames_by, results_of
from nares_nas.runs.record import RunResult
from nares_nas.simulation.log import epoch_counts


def cost_table(results: Results, by: str = "folder") -> pd.DataFrame:
    """One row per ``by`` (``folder`` or ``searcher``): GPU-days and simulated days (mean, std over runs,
    ddof=1), evaluations, full trainings and evaluations per fidelity; NaN where runs predate the clock."""
    rows = []
    for name, (runs, evaluations) in frames_by(results, by).items():
        gpu, sim = runs["gpu_days"].to_numpy(dtype=np.float64), runs["sim_days"].to_numpy(dtype=np.float64)
        counts = epoch_counts(evaluations["epoch_to"].to_numpy())
        n = len(runs)
        rows.append({
            by: name, "runs": n, "workers": runs["workers"].iloc[0],
            "gpu_days_mean": gpu.mean(), "gpu_days_std": gpu.std(ddof=1) if n > 1 else math.nan,
            "sim_days_mean": sim.mean(), "sim_days_std": sim.std(ddof=1) if n > 1 else math.nan,
            "evaluations_mean": len(evaluations) / n,
            "full_trainings_mean": float(np.mean(runs["queries"].to_numpy())),
            "evaluations_by_epochs": "; ".join(f"{e}: {k / n:.1f}" for e, k in counts.items()),
        })
    return pd.DataFrame(rows).set_index(by)


def cost_frame(results: Mapping[str, Sequence[RunResult]]) -> pd.DataFrame:
    """:func:`cost_table` of run records held in memory, one row per searcher (every run on the clock)."""
    for runs in results.values():
        for run in runs:
            _clock(run)
    return cost_table(results_of([Folder(Path(name), {"searcher": name}, tuple(runs))
                                  for name, runs in results.items()]), by="folder").rename_axis("searcher")


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


