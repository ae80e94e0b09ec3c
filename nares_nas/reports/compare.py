"""Finished folders compared without re-running them: the summary, the cost table and the anytime plots.

``nares-nas report DIR [DIR ...]`` prints and writes what :func:`compare` and :func:`write_comparison`
make of :func:`~nares_nas.reports.results.read_results`. The summary is Table 2's aggregation
reduced to what a folder holds without the table: per folder, mean ± std over runs (ddof=1) of each
run's best value of its objective (the same numbers as the ``objective`` column of the folder's
``summary.csv``), the best mean marked among folders of one objective and direction. A
multi-objective folder is summarised by the hypervolume regret after its last query (lower is
better), as its ``summary.csv`` holds it. The synthetic stand-in's label is in every output.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nares_nas._outputs import write_frame_csv
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.reports.costs import cost_table
from nares_nas.reports.curves import AXES, BANDS, plot_anytime, plot_anytime_clock, plot_anytime_regret
from nares_nas.reports.labels import label
from nares_nas.reports.render import (
    Cell,
    Number,
    labelled,
    markdown_grid,
    mean_std,
    to_markdown,
    write_table_files,
)
from nares_nas.reports.results import Results

if TYPE_CHECKING:
    import pandas as pd

HV_REGRET = "hypervolume regret"


def short_names(paths: Sequence[str]) -> dict[str, str]:
    """Each folder's name in tables: its path below the folders' common parent (its own name if alone)."""
    if len(paths) == 1:
        return {paths[0]: Path(paths[0]).name or paths[0]}
    common = os.path.commonpath([os.path.abspath(p) for p in paths])
    return {p: os.path.relpath(os.path.abspath(p), common) for p in paths}


@dataclass(frozen=True, eq=False)
class Comparison:
    """Per folder, the summary (``summary``) and what its runs cost (``costs``), both indexed by folder.

    ``summary`` has columns ``name``, ``searcher``, ``objective``, ``direction``, ``runs``, ``n`` (runs
    with a best value), ``mean``, ``std`` and ``best``.
    """

    results: Results
    summary: pd.DataFrame
    costs: pd.DataFrame
    decimals: int = 4

    @property
    def synthetic(self) -> bool:
        return self.results.synthetic

    def data_lines(self) -> list[str]:
        return list(dict.fromkeys(f.data_line for f in self.results.folders))

    def title(self) -> str:
        return "Finished runs compared: each run's best value, mean ± std over runs"

    def notes(self) -> list[str]:
        lines = [f"Data: {'; '.join(self.data_lines())}.",
                 "Best value: mean ± std over runs (std with ddof=1) of each run's best full-training value of its "
                 "objective (the objective column of the folder's summary.csv); a multi-objective folder: the "
                 f"{HV_REGRET} after its last query (lower is better). The best mean among folders of one "
                 f"objective and direction is marked (ties at {self.decimals} decimals all marked)."]
        if any(f.live for f in self.results.folders):
            lines.append("Live folders: days are wall-clock days of the run, GPU-days measured training.")
        older = [self.names[f.name] for f in self.results.folders if not f.records or any(
            r.clock is None for r in f.records)]
        if older:
            lines.append(f"No cost account (runs written before the simulated clock): {', '.join(older)}.")
        return lines

    @property
    def names(self) -> dict[str, str]:
        return dict(zip(self.summary.index, self.summary["name"]))

    def header(self) -> list[str]:
        return ["Folder", "Searcher", "Objective", "Runs", "Best value", "GPU-days", "Simulated days",
                "Evaluations"]

    def shown_rows(self) -> list[list[Cell]]:
        d = self.decimals
        rows: list[list[Cell]] = []
        for folder, row in self.summary.iterrows():
            cost = self.costs.loc[folder]
            rows.append([row["name"], label(row["searcher"]), f"{row['objective']} ({row['direction']})",
                         str(row["runs"]), Number(mean_std(row["mean"], row["std"], d), bool(row["best"])),
                         Number(mean_std(cost["gpu_days_mean"], cost["gpu_days_std"], 2)),
                         Number(mean_std(cost["sim_days_mean"], cost["sim_days_std"], 2)),
                         Number(f"{cost['evaluations_mean']:.1f}")])
        return rows

    def csv_rows(self) -> tuple[list[str], list[list[Any]]]:
        header = ["folder", "name", "searcher", "objective", "direction", "runs", "n", "mean", "std", "best"]
        rows = [[folder, row["name"], row["searcher"], row["objective"], row["direction"], row["runs"], row["n"],
                 _num_text(row["mean"]), _num_text(row["std"]), "*" if row["best"] else ""]
                for folder, row in self.summary.iterrows()]
        return header, rows

    def row_data(self) -> list[str]:
        """Each row's folder's data line."""
        lines = {f.name: f.data_line for f in self.results.folders}
        return [lines[folder] for folder in self.summary.index]

    def cost_markdown(self) -> str:
        """The cost table (mean ± std over runs, ddof=1), a row per folder."""
        header = ["Folder", "Searcher", "Runs", "Workers", "GPU-days", "Simulated days", "Evaluations",
                  "Full trainings", "Evaluations by epochs"]
        rows = []
        for folder, cost in self.costs.iterrows():
            rows.append([self.names[folder], label(self.summary.loc[folder, "searcher"]), str(cost["runs"]),
                         str(cost["workers"]), mean_std(cost["gpu_days_mean"], cost["gpu_days_std"], 2),
                         mean_std(cost["sim_days_mean"], cost["sim_days_std"], 2),
                         f"{cost['evaluations_mean']:.1f}", f"{cost['full_trainings_mean']:.1f}",
                         cost["evaluations_by_epochs"] or "n/a"])
        return "\n".join(["### Cost (mean ± std over runs, ddof=1)", "", *markdown_grid(header, rows), ""])

    def to_dict(self) -> dict[str, Any]:
        def num(x: Any) -> Any:
            return None if isinstance(x, float) and math.isnan(x) else x.item() if hasattr(x, "item") else x

        folders = {}
        for folder, row in self.summary.iterrows():
            cost = self.costs.loc[folder]
            folders[folder] = {**{k: num(row[k]) for k in self.summary.columns},
                               "costs": {k: num(cost[k]) for k in self.costs.columns}}
        return {"data": {"synthetic": self.synthetic, "label": SYNTHETIC_LABEL if self.synthetic else None,
                         "sources": self.data_lines()},
                "ddof": 1, "decimals": self.decimals, "notes": self.notes(), "folders": folders}


def _num_text(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


def compare(results: Results, decimals: int = 4) -> Comparison:
    """The :class:`Comparison` of finished folders (:func:`~nares_nas.reports.results.read_results`)."""
    import pandas as pd

    names = short_names([f.name for f in results.folders])
    rows = []
    for folder in results.folders:
        runs = results.runs[results.runs["folder"] == folder.name]
        values = (runs["hv_regret"] if folder.multi_objective else runs["best_value"]).to_numpy(dtype=np.float64)
        values = values[~np.isnan(values)]
        rows.append({"folder": folder.name, "name": names[folder.name], "searcher": folder.searcher,
                     "objective": f"{HV_REGRET} ({folder.objective})" if folder.multi_objective else folder.objective,
                     "direction": "max" if folder.maximize else "min", "runs": len(runs), "n": len(values),
                     "mean": values.mean() if len(values) else math.nan,
                     "std": values.std(ddof=1) if len(values) > 1 else math.nan})
    summary = pd.DataFrame(rows).set_index("folder")
    summary["best"] = _best(summary, decimals)
    costs = cost_table(results, by="folder").reindex(summary.index)
    return Comparison(results, summary, costs, decimals)


def _best(summary: pd.DataFrame, decimals: int) -> np.ndarray:
    """Where a mean, rounded as shown, is the best among folders of the same objective and direction."""
    shown = np.array([round(m, decimals) if not math.isnan(m) else math.nan for m in summary["mean"]])
    best = np.zeros(len(summary), dtype=bool)
    groups = summary["objective"] + "|" + summary["direction"]
    for group in dict.fromkeys(groups):
        mask = (groups == group).to_numpy() & ~np.isnan(shown)
        if mask.any():
            target = np.max(shown[mask]) if summary["direction"][mask].iloc[0] == "max" else np.min(shown[mask])
            best[mask] = shown[mask] == target
    return best


def _curve_groups(comparison: Comparison) -> dict[str, dict[str, list[Any]]]:
    """Folders whose runs share a plot (one objective and direction, or several objectives), their records
    by the name a legend shows."""
    groups: dict[str, dict[str, list[Any]]] = {}
    for folder in comparison.results.folders:
        if not folder.records:
            continue
        row = comparison.summary.loc[folder.name]
        key = HV_REGRET if folder.multi_objective else f"{row['objective']}_{row['direction']}"
        shown = folder.searcher if row["name"] == folder.searcher else f"{row['name']}: {label(folder.searcher)}"
        groups.setdefault(key, {})[shown] = list(folder.records)
    return groups


def write_comparison(comparison: Comparison, out_dir: str | Path, *, band: str = "sem", log_x: bool = False,
                     any_fidelity: bool = False) -> dict[str, Path]:
    """Write report.md, summary.csv/.tex, costs.csv, report.json and the anytime plots into ``out_dir``.

    Single-objective folders are plotted against queries (anytime_queries.png), simulated days and
    GPU-days (anytime_sim_days.png, anytime_gpu_days.png; runs with the clock's account); multi-objective
    ones by hypervolume regret against queries (anytime_hv_regret.png). Folders of another objective
    get their own plots (the objective in the file name). ``log_x`` puts every x-axis on a log scale.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {**comparison.to_dict(), "anytime_band": BANDS[band], "x_axis": "log" if log_x else "linear"}
    paths = write_table_files(comparison, {"md": out / "report.md", "tex": out / "summary.tex",
                                           "json": out / "report.json", "csv": out / "summary.csv"},
                              markdown=report_markdown(comparison), payload=payload)
    costs = comparison.costs.assign(name=comparison.summary["name"])
    paths["costs"] = write_frame_csv(out / "costs.csv", costs.reset_index(), data=comparison.row_data(),
                                     synthetic=comparison.synthetic,
                                     notes=labelled(comparison.synthetic, comparison.notes()[:1]))
    data_label = f"Data: {'; '.join(comparison.data_lines())}"
    groups = _curve_groups(comparison)
    several = len(set(groups) - {HV_REGRET}) > 1
    for key, records in groups.items():
        suffix = "_" + "".join(c if c.isalnum() else "_" for c in key) if several else ""
        if key == HV_REGRET:
            paths["hv_regret"] = plot_anytime_regret(
                records, out / "anytime_hv_regret.png", data_label=data_label,
                note="hypervolume regret in the normalised space of each folder's objectives", band=band, log_x=log_x)
            continue
        runs = {name: [r for r in rs if len(r.trajectory)] for name, rs in records.items()}
        runs = {name: rs for name, rs in runs.items() if rs}
        if runs:
            paths[f"queries{suffix}"] = plot_anytime(runs, out / f"anytime_queries{suffix}.png", band=band,
                                                     data_label=data_label, log_x=log_x)
        clocked = {name: [r for r in rs if r.clock is not None] for name, rs in runs.items()}
        clocked = {name: rs for name, rs in clocked.items() if rs}
        for axis in AXES if clocked else ():
            paths[f"{axis}{suffix}"] = plot_anytime_clock(
                clocked, out / f"anytime_{axis}{suffix}.png", axis, any_fidelity=any_fidelity, band=band,
                data_label=data_label, note="runs with the clock's account", log_x=log_x)
    return paths


def report_markdown(comparison: Comparison) -> str:
    """The summary and the cost table, as printed and written to report.md."""
    return to_markdown(comparison) + "\n" + comparison.cost_markdown()
