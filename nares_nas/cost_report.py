"""What runs on the simulated clock cost, and how soon they found what they found.

Reads the clock's account in each :class:`~nares_nas.harness.RunResult` (``clock``): the
cost table beside Table 2 (GPU-days, simulated days with N workers, evaluations per
fidelity) and the anytime curves against simulated days and GPU-days. The incumbent at time
t is the best value among evaluations finished by t at full fidelity (``any_fidelity``: at
any fidelity), as :meth:`nares_nas.clock.ClockRun.incumbent` defines it.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark import Benchmark
from .clock import Budget
from .errors import ConfigError
from .harness import DEFAULT_BUDGET, RunResult

AXES: dict[str, str] = {"sim_days": "simulated days", "gpu_days": "GPU-days spent"}
EQUAL_COST_TRAININGS = 500
"""Equal-cost comparisons default to this many full trainings at the table's mean training time."""


def mean_training_days(bench: Benchmark) -> float:
    """The table's mean ``training_time`` (GPU-days of one full training)."""
    return float(np.nanmean(bench.metric_by_id("TRAINING_TIME")[1:]))


def equal_cost(bench: Benchmark, trainings: int = EQUAL_COST_TRAININGS) -> float:
    """GPU-days of ``trainings`` full trainings at the table's mean training time."""
    return trainings * mean_training_days(bench)


def budget_note(budget: Budget, bench: Benchmark | None = None, workers: int = 1) -> str:
    """One line saying what a run may spend, for every output that shows results."""
    parts = []
    if budget.archs is not None:
        parts.append(f"{budget.archs} distinct architectures")
    if budget.cost is not None:
        text = f"{budget.cost:.4g} GPU-days"
        if bench is not None:
            mean = mean_training_days(bench)
            text += f" (= {budget.cost / mean:.4g} full trainings at the table's mean training_time {mean:.4g})"
        parts.append(text)
    if budget.time is not None:
        parts.append(f"{budget.time:.4g} simulated days")
    if budget.total_epochs is not None:
        parts.append(f"{budget.total_epochs} training epochs")
    limit = ", ".join(parts) if parts else f"{DEFAULT_BUDGET} distinct architectures"
    return f"budget per run: {limit}; {workers} simulated worker{'s' if workers != 1 else ''}"


def _clock(run: RunResult) -> Mapping:
    if run.clock is None:
        raise ConfigError(f"run of seed {run.seed} has no clock account (written by an older version); rerun it")
    return run.clock


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


def _incumbent_events(run: RunResult, any_fidelity: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(end days, GPU-days used by then, best value) after each counted finished evaluation."""
    clock = _clock(run)
    ev = clock["evaluations"]
    end, start = (np.asarray(ev[k], dtype=np.float64) for k in ("end", "start"))
    worker, epoch_to = np.asarray(ev["worker"]), np.asarray(ev["epoch_to"])
    values = np.asarray(ev["value"], dtype=np.float64)
    order = np.lexsort((worker, end))  # finish order: end time, then worker
    if not any_fidelity:
        order = order[epoch_to[order] == clock["max_epochs"]]
    sign = 1.0 if run.trajectory.maximize else -1.0
    best = sign * np.maximum.accumulate(sign * values[order]) if len(order) else values[order]
    t = end[order]
    return t, gpu_used(start, end, t), best


def gpu_used(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> np.ndarray:
    """GPU-days worked by each time in ``t``: one GPU per evaluation while it runs (a GPU-day lasts a day).

    The sum over evaluations of ``max(0, min(t, end) - start)``: (started by t) × t minus their
    starts, less the same for those ended by t; O((n + len(t)) log n).
    """
    def accrued(times: np.ndarray) -> np.ndarray:
        times = np.sort(times)
        k = np.searchsorted(times, t, side="right")
        total = np.concatenate([[0.0], np.cumsum(times)])
        return k * t - total[k]

    return accrued(start) - accrued(end)


def anytime_clock(runs: Sequence[RunResult], axis: str, grid: np.ndarray, *, any_fidelity: bool = False,
                  band: str = "sem") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high, n) of the incumbent at each ``grid`` point of ``axis`` over runs.

    A run counts at a point once it has an incumbent there (``n`` says how many); the band
    is mean ± 1.96·sem, or the 2.5–97.5th percentiles (``band="percentile"``).
    """
    if axis not in AXES:
        raise ConfigError(f"axis must be one of {', '.join(AXES)}, got {axis!r}")
    curves = np.full((len(runs), len(grid)), np.nan)
    for i, run in enumerate(runs):
        t, used, best = _incumbent_events(run, any_fidelity)
        x = t if axis == "sim_days" else used
        at = np.searchsorted(x, grid, side="right") - 1
        curves[i] = np.where(at >= 0, best[np.maximum(at, 0)] if len(best) else np.nan, np.nan)
    n = np.sum(~np.isnan(curves), axis=0)
    with warnings.catch_warnings():  # a grid point before any run has an incumbent is all-NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        if band == "percentile":
            low, high = np.nanpercentile(curves, [2.5, 97.5], axis=0)
        else:
            half = 1.96 * np.nanstd(curves, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1))
            half = np.where(n > 1, half, 0.0)
            low, high = mean - half, mean + half
    return mean, low, high, n


def plot_anytime_clock(results: Mapping[str, Sequence[RunResult]], path: str | Path, axis: str, *,
                       any_fidelity: bool = False, band: str = "sem", data_label: str | None = None,
                       note: str | None = None) -> Path:
    """Write a PNG of the mean incumbent against simulated days or GPU-days, a line per searcher."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .report import SEARCHER_LABELS, save_curves

    top = max(_clock(r)["sim_days" if axis == "sim_days" else "gpu_days"] for runs in results.values()
              for r in runs)
    grid = np.linspace(0.0, top, 400)
    fig = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    objective = None
    for name, runs in results.items():
        mean, low, high, _ = anytime_clock(runs, axis, grid, any_fidelity=any_fidelity, band=band)
        line, = ax.plot(grid, mean, lw=1.5, label=f"{SEARCHER_LABELS.get(name, name)} ({len(runs)} runs)")
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, lw=0)
        objective = runs[0].trajectory.objective
    view = "any fidelity" if any_fidelity else "full fidelity"
    ax.set_xlabel(AXES[axis])
    ax.set_ylabel(f"incumbent {objective} ({view})")
    ax.set_title(textwrap.fill(f"Mean over runs (those with an incumbent); {note or ''}", 110), fontsize=7)
    return save_curves(fig, ax, path, data_label, note or "")
