"""Anytime curves: best value found against queries, GPU-days or simulated days, with one band."""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas._validation import check_choice
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.errors import ConfigError
from nares_nas.oracle import Trajectory
from nares_nas.reports.labels import label
from nares_nas.runs.record import RunResult

BANDS: dict[str, str] = {
    "sem": "95% CI of the mean: mean ± 1.96·sem over runs (sem = std with ddof=1 / √runs)",
    "percentile": "95% band of the runs: 2.5th to 97.5th percentile over runs",
}


def trajectories_of(results: Mapping[str, Sequence[Any]]) -> dict[str, list[Trajectory]]:
    """Per searcher, the trajectories of its runs (given as trajectories or as harness run results)."""
    return {name: [getattr(run, "trajectory", run) for run in runs] for name, runs in results.items()}


def band_over_runs(curves: np.ndarray, band: str = "sem") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high, n) over runs (rows of ``curves``) at each point: the one anytime band of every plot.

    NaN (a run without a value there yet) is left out and ``n`` counts the runs that are in;
    ``band`` is one of :data:`BANDS`; with fewer than two runs in, the band is the mean.
    """
    check_choice(band, "band", BANDS)
    n = np.sum(~np.isnan(curves), axis=0)
    with warnings.catch_warnings():  # a point before any run has a value is all-NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        if band == "percentile":
            low, high = np.nanpercentile(curves, [2.5, 97.5], axis=0)
        else:
            half = 1.96 * np.nanstd(curves, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1))
            half = np.where(n > 1, half, 0.0)
            low, high = mean - half, mean + half
    return mean, low, high, n


def padded(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Runs' per-query values as one matrix: a run shorter than the longest keeps its last value
    (it stopped there); a run with none is NaN throughout."""
    curves = np.full((len(rows), max(map(len, rows), default=0)), np.nan)
    for i, row in enumerate(rows):
        curves[i, :len(row)] = row
        if len(row):
            curves[i, len(row):] = row[-1]
    return curves


def anytime_curve(trajectories: Sequence[Trajectory], band: str = "sem"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(queries, mean, low, high) of the best-so-far objective over runs (:func:`band_over_runs`).

    x counts distinct (paid) queries; a run shorter than the longest keeps its last best value.
    """
    if not trajectories or any(len(t) == 0 for t in trajectories):
        raise ConfigError("anytime curve needs at least one run with at least one query")
    curves = padded([t.best_so_far for t in trajectories])
    mean, low, high, _ = band_over_runs(curves, band)
    return np.arange(1, curves.shape[1] + 1), mean, low, high


def plot_anytime(results: Mapping[str, Sequence[Trajectory]], path: str | Path, *, band: str = "sem",
                 budget: int | None = None, data_label: str | None = None, log_x: bool = False) -> Path:
    """Write a PNG: mean best-so-far objective against queries with a 95% band, a line per searcher.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend switch). ``data_label``
    is printed on the figure and stored in the PNG metadata.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    objective = None
    for name, runs in trajectories_of(results).items():
        x, mean, low, high = anytime_curve(runs, band)
        line, = ax.plot(x, mean, lw=1.5, marker="o" if len(x) == 1 else None, label=f"{label(name)} ({len(runs)} runs)")
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, lw=0)
        objective = runs[0].objective
    if budget is not None:
        ax.axvline(budget, color="grey", ls=":", lw=1, label=f"budget {budget}")
    ax.set_xlabel("distinct full trainings")
    ax.set_ylabel(f"best-so-far {objective}")
    ax.set_title(f"Mean over runs; band: {BANDS[band]}", fontsize=8)
    return save_curves(fig, ax, path, data_label, f"Band: {BANDS[band]}", log_x=log_x)


def save_curves(fig: Any, ax: Any, path: str | Path, data_label: str | None, description: str, *,
                log_x: bool = False) -> Path:
    """Finish a figure of curves (legend, grid, the data label in red when synthetic; a log x-axis with
    ``log_x``, said in the PNG's description) and write it as PNG."""
    if log_x:
        ax.set_xscale("log")
        description = f"{description} x-axis: log".strip()
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    if data_label:
        red = SYNTHETIC_LABEL in data_label
        fig.text(0.01, 0.005, data_label, fontsize=7, color="red" if red else "black",
                 weight="bold" if red else "normal")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    fig.savefig(path, format="png", metadata={"Description": f"{data_label or ''} {description}"})
    return path


AXES: dict[str, str] = {"sim_days": "simulated days", "gpu_days": "GPU-days spent"}


def _clock(run: RunResult) -> Mapping:
    if run.clock is None:
        raise ConfigError(f"run of seed {run.seed} has no clock account (written by an older version); rerun it")
    return run.clock


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
    check_choice(axis, "axis", AXES)
    curves = np.full((len(runs), len(grid)), np.nan)
    for i, run in enumerate(runs):
        t, used, best = _incumbent_events(run, any_fidelity)
        x = t if axis == "sim_days" else used
        at = np.searchsorted(x, grid, side="right") - 1
        curves[i] = np.where(at >= 0, best[np.maximum(at, 0)] if len(best) else np.nan, np.nan)
    return band_over_runs(curves, band)


def plot_anytime_clock(results: Mapping[str, Sequence[RunResult]], path: str | Path, axis: str, *,
                       any_fidelity: bool = False, band: str = "sem", data_label: str | None = None,
                       note: str | None = None, log_x: bool = False) -> Path:
    """Write a PNG of the mean incumbent against simulated days or GPU-days, a line per searcher
    (``log_x``: from the first finished evaluation, on a log axis)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure


    top = max(_clock(r)["sim_days" if axis == "sim_days" else "gpu_days"] for runs in results.values()
              for r in runs)
    if log_x:
        first = min((x[0] for runs in results.values() for r in runs
                     for x in [_incumbent_events(r, any_fidelity)[0 if axis == "sim_days" else 1]] if len(x)),
                    default=top)
        grid = np.geomspace(max(first, top * 1e-6), top, 400)
    else:
        grid = np.linspace(0.0, top, 400)
    fig = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    objective = None
    for name, runs in results.items():
        mean, low, high, _ = anytime_clock(runs, axis, grid, any_fidelity=any_fidelity, band=band)
        line, = ax.plot(grid, mean, lw=1.5, label=f"{label(name)} ({len(runs)} runs)")
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, lw=0)
        objective = runs[0].trajectory.objective
    view = "any fidelity" if any_fidelity else "full fidelity"
    ax.set_xlabel(AXES[axis])
    ax.set_ylabel(f"incumbent {objective} ({view})")
    ax.set_title(textwrap.fill(f"Mean over runs (those with an incumbent); {note or ''}", 110), fontsize=7)
    return save_curves(fig, ax, path, data_label, note or "", log_x=log_x)


# --------------------------------------------------------------------------- plots
def anytime_regret(runs: Sequence[RunResult], band: str = "sem"
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(queries, mean, low, high) of hypervolume regret over runs (:func:`band_over_runs`).

    A shorter run keeps its last regret."""
    curves = padded([np.asarray(r.scores.hv_regret, dtype=np.float64) for r in runs])
    mean, low, high, _ = band_over_runs(curves, band)
    return np.arange(1, curves.shape[1] + 1), mean, low, high


def new_figure(figsize: tuple[float, float], ncols: int = 1, nrows: int = 1):
    """A matplotlib figure drawn off-screen (Agg, no pyplot state) and its ``(nrows, ncols)`` axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=120)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def plot_anytime_regret(results: Mapping[str, Sequence[Any]], path: str | Path, *, data_label: str,
                        note: str, band: str = "sem", log_x: bool = False) -> Path:
    """Mean hypervolume regret against queries, a line per searcher with its 95% band (log scale)."""
    fig, axes = new_figure((7, 4.5))
    ax = axes[0, 0]
    for name, runs in results.items():
        x, mean, low, high = anytime_regret(runs, band)
        line, = ax.plot(x, mean, lw=1.5, label=f"{label(name)} ({len(runs)} runs)")
        ax.fill_between(x, np.maximum(low, 1e-12), high, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("queries (full trainings)")
    ax.set_ylabel("hypervolume regret (normalised space)")
    ax.set_title(f"Mean over runs; band: {BANDS[band]}\n{note}", fontsize=7)
    return save_curves(fig, ax, path, data_label, note, log_x=log_x)
