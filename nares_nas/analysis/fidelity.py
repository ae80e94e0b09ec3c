"""How well a short training ranks architectures: the ``nares-nas fidelity`` study.

For each epoch count ``e = 1..E``, the rank correlation (Kendall τ-b and Spearman ρ, ties
averaged) across all architectures of the table between a metric after ``e`` epochs (the
fidelity rule of :mod:`nares_nas.simulation.model`) and three targets: the metric's final value
(``e = E``), the test PGD-20 accuracy and the test AA-Compact accuracy of the selected
checkpoint. It tells how small ``min_epochs`` of a multi-fidelity searcher can be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nares_nas._outputs import write_csv
from nares_nas.errors import MetricError
from nares_nas.fidelity import FIDELITY_METRICS, fidelity_metric
from nares_nas.progress import Progress

TARGETS: dict[str, str] = {"final": "", "test_pgd": "TEST_PGD_ACC", "test_aa": "TEST_AA_ACC"}
TARGET_LABELS: dict[str, str] = {"final": "final value (e = E)", "test_pgd": "test PGD-20", "test_aa": "test AA"}
HIGHLIGHT_EPOCHS: tuple[int, ...] = (1, 3, 9, 27, 81)  # the rungs of eta = 3 from one epoch


def _correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Kendall τ-b, Spearman ρ) over the rows where both are finite; NaN if either is constant."""
    from scipy import stats

    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    tau = stats.kendalltau(x, y).statistic
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rho = np.corrcoef(rx, ry)[0, 1]
    return float(tau), float(rho)


def fidelity_correlations(bench, metric: str = "VAL_PGD_ACC", *, progress: bool = False):
    """A DataFrame with a row per epoch count: ``epoch`` (1..E), ``kendall_<target>`` and
    ``spearman_<target>`` for the targets ``final``, ``test_pgd`` and ``test_aa``.

    ``frame.attrs`` carries ``metric``, ``n_archs``, ``source``, ``synthetic`` and ``provenance``.
    ``progress`` writes progress lines to stderr (:mod:`nares_nas.progress`).
    """
    import pandas as pd


    spec = fidelity_metric(metric)
    if spec.name not in FIDELITY_METRICS:
        raise MetricError(f"{spec.name} is the same at every fidelity, so the study has nothing to show; "
                          f"use a metric with a per-epoch history: {', '.join(FIDELITY_METRICS)}")
    values = bench.fidelity_matrix(spec.name)[bench.arch_ids]
    targets = {key: values[:, -1] if not name else bench.metric_by_row(name) for key, name in TARGETS.items()}
    data: dict[str, list] = {"epoch": list(range(1, values.shape[1] + 1))}
    for key in TARGETS:
        data[f"kendall_{key}"], data[f"spearman_{key}"] = [], []
    with Progress(f"fidelity {spec.name}", values.shape[1], unit="epoch", enabled=progress) as bar:
        for column in values.T:
            for key, target in targets.items():
                tau, rho = _correlations(column, target)
                data[f"kendall_{key}"].append(tau)
                data[f"spearman_{key}"].append(rho)
            bar.update()
    frame = pd.DataFrame(data)
    frame.attrs.update(metric=spec.name, n_archs=len(bench), source=bench.source, synthetic=bench.synthetic,
                       provenance=bench.provenance)
    return frame


def notes(frame) -> list[str]:
    """Plain-text lines saying what the numbers are (in the CSV's sidecar and the plot)."""
    attrs = frame.attrs
    return [
        f"Data: {attrs.get('provenance', '?')}.",
        f"Rank correlation (Kendall tau-b, Spearman rho; ties averaged) across {attrs.get('n_archs', '?')} "
        f"architectures between {attrs.get('metric', '?')} after e epochs (the checkpoint the protocol selects "
        "among the first e) and its final value, the test PGD-20 and the test AA accuracy.",
    ]


def figure(frame) -> Any:
    """The matplotlib ``Figure`` of the correlations against epochs (τ solid, ρ dashed, the legend below
    the axes, where it covers no curve); the data line in red if synthetic."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5.2), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key, label in TARGET_LABELS.items():
        line, = ax.plot(frame["epoch"], frame[f"kendall_{key}"], lw=1.5, label=f"Kendall τ, {label}")
        ax.plot(frame["epoch"], frame[f"spearman_{key}"], lw=1.2, ls="--", color=line.get_color(),
                label=f"Spearman ρ, {label}")
    ax.set_xlabel("epochs trained e")
    ax.set_ylabel("rank correlation across architectures")
    ax.set_title(f"{frame.attrs.get('metric', '?')} after e epochs vs. final and test robustness", fontsize=9)
    ax.set_xlim(1, int(frame["epoch"].iloc[-1]))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    ax.grid(alpha=0.3)
    data_line = str(frame.attrs.get("provenance", ""))
    synthetic = bool(frame.attrs.get("synthetic", False))
    fig.text(0.01, 0.005, f"Data: {data_line}", fontsize=7, color="red" if synthetic else "black",
             weight="bold" if synthetic else "normal")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def plot(frame, path: str | Path) -> Path:
    """Write :func:`figure` as a PNG, the notes in its metadata."""
    path = Path(path)
    figure(frame).savefig(path, format="png", metadata={"Description": " ".join(notes(frame))})
    return path


def write_study(frame, out_dir: str | Path) -> dict[str, Path]:
    """Write ``fidelity_<METRIC>.csv`` and ``.png`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"fidelity_{frame.attrs.get('metric', 'metric')}"
    rows = ([int(row[0]), *map(float, row[1:])] for row in frame.itertuples(index=False))
    csv_path = write_csv(out / f"{stem}.csv", list(frame.columns), rows, data=str(frame.attrs.get("provenance", "")),
                         synthetic=bool(frame.attrs.get("synthetic", False)), notes=notes(frame))
    return {"csv": csv_path, "png": plot(frame, out / f"{stem}.png")}
