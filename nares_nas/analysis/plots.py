"""The figures of :mod:`nares_nas.analysis.figures` drawn with matplotlib, and written beside their CSVs.

Every plot draws the numbers of the tables that :func:`write_figure` writes next to it: box plots
come from the computed statistics (``Axes.bxp``), fits from the fitted coefficients, sets and
projections from the selection and PCA tables. Matplotlib's Agg canvas is used directly (no pyplot,
no global backend switch); the data source is printed on every figure, in red for the stand-in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nares_nas._outputs import write_frame_csv
from nares_nas.analysis.figures import DECISION_VARIABLES, RATIOS, FigureData

LABELS: dict[str, str] = {
    "TEST_CLEAN_ACC": "test clean acc. (%)", "TEST_FGSM_ACC": "test FGSM acc. (%)",
    "TEST_PGD_ACC": "test PGD-20 acc. (%)", "TEST_CW_ACC": "test PGD-CW-40 acc. (%)",
    "TEST_PGD_STABLE": "test PGD-20 stable acc. (%)", "TEST_PGD_LIP": "test PGD-20 LIP",
    "TEST_AA_ACC": "test AA-Compact acc. (%)", "PARAMS": "#Params (M)", "MACS": "#MACs (G)",
    **{name: label.split(" ratio ")[0] + " ratio" for name, label in RATIOS.items()},
}
SCALE: dict[str, float] = {"PARAMS": 1e6, "MACS": 1e9}  # display units only; the CSVs hold exact counts


def label(name: str) -> str:
    return LABELS.get(name, name)


def _shown(frame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=np.float64) / SCALE.get(name, 1.0)


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _scatter(ax, x, y, **kwargs) -> None:
    ax.scatter(x, y, s=kwargs.pop("s", 2), lw=0, alpha=kwargs.pop("alpha", 0.35), rasterized=True, **kwargs)
    ax.grid(alpha=0.3)


def _boxes(ax, groups, variable: str, metric: str) -> None:
    """One box plot from the statistics rows of (variable, metric): box (q1..q3), median, whiskers
    with caps, and the mean as a red +. Drawn as one line collection per axes (what ``Axes.bxp``
    draws, without its hundreds of artists, which dominated the time of a 24-panel figure)."""
    from matplotlib.collections import LineCollection

    rows = groups[(groups["variable"] == variable) & (groups["metric"] == metric)]
    rows = rows[rows["n"] > 0]
    x = np.arange(1, len(rows) + 1, dtype=np.float64)
    q1, q3, med = rows["q1"].to_numpy(), rows["q3"].to_numpy(), rows["median"].to_numpy()
    low, high = rows["whisker_low"].to_numpy(), rows["whisker_high"].to_numpy()
    h, c = 0.3, 0.15  # half widths of a box and of a cap
    segments = []
    for i in range(len(rows)):
        left, right = x[i] - h, x[i] + h
        segments += [[(left, q1[i]), (right, q1[i]), (right, q3[i]), (left, q3[i]), (left, q1[i])],
                     [(x[i], q1[i]), (x[i], low[i])], [(x[i], q3[i]), (x[i], high[i])],
                     [(x[i] - c, low[i]), (x[i] + c, low[i])], [(x[i] - c, high[i]), (x[i] + c, high[i])]]
    ax.add_collection(LineCollection(segments, colors="tab:blue", linewidths=0.9))
    ax.add_collection(LineCollection([[(x[i] - h, med[i]), (x[i] + h, med[i])] for i in range(len(rows))],
                                     colors="black", linewidths=1.2))
    ax.plot(x, rows["mean"].to_numpy(), ls="none", marker="+", color="red", markersize=7)
    ax.set_xlim(0.4, len(rows) + 0.6)
    ax.autoscale_view(scalex=False)
    binned = rows["group_low"].notna().any()
    if binned:  # bin edges in display units
        scale = SCALE.get(variable, 1.0)
        ticks = [f"{lo / scale:.3g}–{hi / scale:.3g}" for lo, hi in zip(rows["group_low"], rows["group_high"])]
    else:
        ticks = rows["label"].tolist()
    ax.set_xticks(x, ticks)
    ax.set_xlabel(label(variable), fontsize=8)
    ax.tick_params(labelsize=6)
    if binned:
        ax.tick_params(axis="x", labelrotation=45, labelsize=5.5)
    ax.grid(alpha=0.3, axis="y")


def _finish(fig, data: FigureData, path: Path, title: str, *, left: float = 0.65, right: float = 0.15,
            bottom: float = 0.6, top: float = 0.45, wspace: float = 0.3, hspace: float = 0.45) -> Path:
    """Title, data line and fixed margins (inches; tight_layout would draw the figure twice)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=wspace, hspace=hspace)
    fig.suptitle(title, fontsize=9, y=1 - 0.12 / height, va="top")
    fig.text(0.005, 0.04 / height, f"Data: {data.provenance}", fontsize=7, color="red" if data.synthetic
             else "black", weight="bold" if data.synthetic else "normal")
    fig.savefig(path, format="png", metadata={"Description": " ".join(data.notes)})
    return path


def _axes_labels(ax, x: str | None, y: str | None, size: int = 7) -> None:
    if x:
        ax.set_xlabel(x, fontsize=8)
    if y:
        ax.set_ylabel(y, fontsize=8)
    ax.tick_params(labelsize=size)


def plot_fig2(data: FigureData, path: Path) -> Path:
    frame, metrics = data.tables[""], data.options["metrics"]
    fig = _figure(2.6 * len(metrics) + 0.6, 5.6)
    axes = fig.subplots(2, len(metrics), sharey="col", squeeze=False)
    for row, x in enumerate(("PARAMS", "MACS")):
        for col, metric in enumerate(metrics):
            _scatter(axes[row][col], _shown(frame, x), _shown(frame, metric))
            _axes_labels(axes[row][col], label(x), label(metric))
    return _finish(fig, data, path, f"Figure 2: {', '.join(label(m) for m in metrics)} against #Params and #MACs",
                   wspace=0.4, hspace=0.35)


def plot_boxes(data: FigureData, path: Path) -> Path:
    groups, metrics, by = data.tables[""], data.options["metrics"], data.options["by"]
    binned = groups["group_low"].notna().any()
    fig = _figure(1.7 * len(by) + 0.8, (2.3 if binned else 2.0) * len(metrics) + 0.9)
    axes = fig.subplots(len(metrics), len(by), sharey="row", squeeze=False)
    for row, metric in enumerate(metrics):
        for col, variable in enumerate(by):
            _boxes(axes[row][col], groups, variable, metric)
        axes[row][0].set_ylabel(label(metric), fontsize=8)
    return _finish(fig, data, path, f"Figure 3: {', '.join(label(m) for m in metrics)} by "
                                    f"{', '.join(by)} (red +: group mean)", bottom=1.0 if binned else 0.6,
                   wspace=0.12, hspace=0.8 if binned else 0.5)


def plot_pair(data: FigureData, path: Path) -> Path:
    """Figures 4 and 5: metric against ``against`` (a scatter) and its box plots by variable."""
    frame, groups = data.tables[""], data.tables["groups"]
    metrics, by, against = data.options["metrics"], data.options["by"], data.options["against"]
    binned = groups["group_low"].notna().any()
    fig = _figure(3.4 + 1.5 * len(by), 2.9 * len(metrics) + 0.8)
    grid = fig.add_gridspec(len(metrics), len(by) + 2)
    for row, metric in enumerate(metrics):
        ax = fig.add_subplot(grid[row, :2])
        _scatter(ax, _shown(frame, against), _shown(frame, metric))
        _axes_labels(ax, label(against), label(metric))
        for col, variable in enumerate(by):
            box = fig.add_subplot(grid[row, col + 2], sharey=ax)
            _boxes(box, groups, variable, metric)
            box.tick_params(labelleft=False)
    what = ", ".join(label(m) for m in metrics)
    return _finish(fig, data, path, f"Figure {data.figure}: {what} against {label(against)} and by "
                                    f"{', '.join(by)} (red +: group mean)", bottom=1.0 if binned else 0.6,
                   wspace=0.12, hspace=0.8 if binned else 0.45)


def plot_fig6(data: FigureData, path: Path) -> Path:
    frame, fits, metrics = data.tables[""], data.tables["fit"], data.options["metrics"]
    fig = _figure(9.0, 3.3 * len(metrics) + 0.6)
    axes = fig.subplots(len(metrics), 2, sharey="row", squeeze=False)
    for row, metric in enumerate(metrics):
        for col, ratio in enumerate(RATIOS):
            ax = axes[row][col]
            x = frame[ratio].to_numpy(dtype=np.float64)
            _scatter(ax, x, _shown(frame, metric))
            for r in fits[(fits["ratio"] == ratio) & (fits["metric"] == metric)].itertuples(index=False):
                grid = np.linspace(np.nanmin(x), np.nanmax(x), 200)
                ax.plot(grid, np.polyval([r.a, r.b, r.c], grid), color="red", lw=1.5,
                        label=f"least squares: {r.a:.4g}·r² + {r.b:.4g}·r + {r.c:.4g}; R² = {r.r2:.3f}")
                ax.legend(fontsize=7, loc="lower right")
            _axes_labels(ax, RATIOS[ratio], label(metric) if col == 0 else None)
    return _finish(fig, data, path, "Figure 6: accuracy against the depth-width ratios of RobustResNet and "
                                    "RobustPrinciple", wspace=0.08, hspace=0.4)


def plot_fig7(data: FigureData, path: Path) -> Path:
    frame, pca, projections = data.tables[""], data.tables["pca"], data.tables["projections"]
    metric, max_rank = data.options["metrics"][0], data.options["max_rank"]
    fig = _figure(12.0, 6.4)
    grid = fig.add_gridspec(2, 3, width_ratios=(1.1, 1.1, 1.0))
    ax = fig.add_subplot(grid[:, :2])
    _scatter(ax, _shown(frame, "MACS"), _shown(frame, metric), color="0.6", label="all")
    for name, color in (("best", "tab:red"), ("worst", "tab:blue")):
        chosen = frame[frame[name]]
        ax.scatter(_shown(chosen, "MACS"), _shown(chosen, metric), s=8, color=color, lw=0,
                   label=f"{name} set: {'inverse ' if name == 'worst' else ''}rank <= {max_rank} ({len(chosen)})")
    _axes_labels(ax, label("MACS"), label(metric))
    ax.set_title(f"(a) Pareto ranks of ({metric} max, MACs min); first front = rank 1", fontsize=8)
    ax.legend(fontsize=7, loc="lower right", markerscale=2)
    for row, name in enumerate(("best", "worst")):
        ax = fig.add_subplot(grid[row, 2])
        points = projections[projections["set"] == name]
        shown = ax.scatter(points["pc1"], points["pc2"], c=points[metric], s=10, cmap="viridis", lw=0)
        fig.colorbar(shown, ax=ax, pad=0.02).ax.tick_params(labelsize=6)
        ours = pca[(pca["set"] == name) & (pca["source"] == "nares-nas")]
        published = pca[(pca["set"] == name) & (pca["source"] == "published (paper)")].iloc[0]
        ratio = ours["explained_variance_ratio"].to_numpy()
        _axes_labels(ax, f"PC1 ({ratio[0]:.0%} of variance)", f"PC2 ({ratio[1]:.0%})", size=6)
        pc1 = ", ".join(f"{v:.3f}" for v in ours.iloc[0][list(DECISION_VARIABLES)])
        paper = ", ".join(f"{v:.3f}" for v in published[list(DECISION_VARIABLES)])
        ax.set_title(f"(b) {name} set ({len(points)}), colour: {metric}\nPC1 ours: [{pc1}]\n"
                     f"PC1 published (paper): [{paper}]", fontsize=6.5)
        ax.grid(alpha=0.3)
    return _finish(fig, data, path, "Figure 7: best and worst sets by Pareto rank and the PCA of their "
                                    "decision vectors", top=0.8, wspace=0.25, hspace=0.8)


PLOTS = {"2": plot_fig2, "3": plot_boxes, "4": plot_pair, "5": plot_pair, "6": plot_fig6, "7": plot_fig7}


def summary_markdown(data: FigureData) -> str:
    frame = data.tables[""]
    lines = ["# NARes dataset summary (Table 1, Section 3)", "", f"**{data.notes[0]}**" if data.synthetic
             else data.notes[0], "", "| quantity | n | min | max | mean | total | published | note |",
             "|---|---|---|---|---|---|---|---|"]
    fmt = lambda v: "" if v != v else f"{v:,.6g}"  # noqa: E731  (NaN -> blank)
    text = lambda v: "" if v != v else str(v)  # noqa: E731
    for r in frame.itertuples(index=False):
        lines.append(f"| {r.quantity} | {fmt(r.n)} | {fmt(r.min)} | {fmt(r.max)} | {fmt(r.mean)} | "
                     f"{fmt(r.total)} | {text(r.published)} | {text(r.note)} |")
    return "\n".join(lines) + "\n"


def write_figure(data: FigureData, out_dir: str | Path) -> dict[str, Path]:
    """Write the figure's CSVs (``figN.csv``, ``figN_<part>.csv``, each with its ``data`` column and JSON
    sidecar) and ``figN.png`` (the summary: ``summary.csv`` and ``summary.md``) into ``out_dir``; return the
    paths by part (``png``, ``md``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for part, name in data.file_names().items():
        paths[part or "csv"] = write_frame_csv(out / name, data.tables[part], data=data.provenance,
                                               synthetic=data.synthetic, notes=data.notes)
    if data.figure == "summary":
        paths["md"] = out / "summary.md"
        paths["md"].write_text(summary_markdown(data), encoding="utf-8")
    else:
        paths["png"] = PLOTS[data.figure](data, out / f"{data.stem}.png")
    return paths
