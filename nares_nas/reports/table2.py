"""Table 2 of the NARes paper from search trajectories: aggregation, rendering, anytime plot.

Aggregation follows spec §7: per run the reported architecture is the best one sampled by
the objective (:attr:`Trajectory.best_arch_id`: among ties the latest queried when
maximising, the earliest when minimising, as ``get_topk_archs``); each cell is the mean ±
standard deviation over runs of that architecture's metric, with the ``ddof`` stated in
every output. "Optimal" is the per-metric best over the whole table by default, or every
metric of the single best-objective architecture (``optimal="best-arch"``); the output says
which. Synthetic stand-in data is labelled in every file this module writes.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nares_nas._outputs import write_frame_csv
from nares_nas._validation import check_choice, check_int
from nares_nas.data.benchmark import Benchmark
from nares_nas.errors import ConfigError
from nares_nas.metrics import higher_is_better, resolve_metric, round_derived
from nares_nas.oracle import Trajectory
from nares_nas.reports.curves import AXES, plot_anytime_clock
from nares_nas.space import Arch

if TYPE_CHECKING:  # pandas is imported where a table is built: the CLI starts faster without it
    import pandas as pd
from nares_nas.data.synthetic import data_label
from nares_nas.reports.curves import BANDS, plot_anytime, trajectories_of
from nares_nas.reports.labels import label
from nares_nas.reports.render import Cell, Number, Rendered, labelled, mean_std, write_table_files

log = logging.getLogger(__name__)

TABLE2_ROWS: tuple[tuple[str, str], ...] = (
    ("VAL_CLEAN_ACC", "Val Clean"), ("VAL_PGD_ACC", "Val PGD"), ("VAL_CW_ACC", "Val PGD-CW"),
    ("TEST_CLEAN_ACC", "Test Clean"), ("TEST_FGSM_ACC", "Test FGSM"), ("TEST_PGD_ACC", "Test PGD"),
    ("TEST_CW_ACC", "Test PGD-CW"), ("TEST_AA_ACC", "Test AA"), ("TEST_CORRUPT_ACC", "Test Corruption"),
)
TABLE2_METRICS: tuple[str, ...] = tuple(name for name, _ in TABLE2_ROWS)
ROW_LABELS: dict[str, str] = dict(TABLE2_ROWS)
OPTIMAL_MODES: tuple[str, ...] = ("per-metric", "best-arch")
# Published Table 2 (DS README, spec §5.7): Optimal, then (mean, std) per searcher, in TABLE2_METRICS order.
PUBLISHED_OPTIMAL: tuple[float, ...] = (78.25, 38.80, 37.55, 88.57, 62.68, 57.39, 56.17, 53.48, 80.22)
PUBLISHED_CELLS: dict[str, tuple[tuple[float, float], ...]] = {
    "random_search": ((75.88, 0.56), (38.18, 0.22), (36.58, 0.38), (87.28, 0.37), (61.38, 0.34),
                      (56.44, 0.36), (54.86, 0.38), (52.18, 0.39), (78.89, 0.36)),
    "local_search": ((75.84, 0.59), (38.17, 0.22), (36.60, 0.41), (87.26, 0.39), (61.39, 0.36),
                     (56.47, 0.37), (54.91, 0.39), (52.24, 0.39), (78.90, 0.36)),
    "regularized_evolution": ((76.07, 0.39), (38.50, 0.24), (36.96, 0.42), (87.24, 0.30), (61.46, 0.25),
                              (56.68, 0.29), (55.06, 0.26), (52.45, 0.28), (78.90, 0.24)),
    "bananas": ((76.10, 0.38), (38.55, 0.24), (36.99, 0.40), (87.22, 0.28), (61.45, 0.23),
                (56.68, 0.26), (55.05, 0.24), (52.45, 0.25), (78.91, 0.22)),
}
PUBLISHED_RUNS = 400


def _std(values: np.ndarray, ddof: int) -> float:
    return round_derived(np.std(values, ddof=ddof)) if len(values) > ddof else math.nan


@dataclass(frozen=True, eq=False)
class Table2(Rendered):
    """Mean ± std over runs of the best architecture's metrics, per searcher, plus "Optimal".

    ``frame`` is indexed by (metric, searcher) with columns ``mean``, ``std``, ``n`` and
    ``best`` (the row's best mean at ``decimals`` places, ties all True). ``optimal`` is
    indexed by metric. ``runs`` counts the runs per searcher; ``queries`` holds the (min,
    median, max) distinct queries per run.
    """

    frame: pd.DataFrame
    optimal: pd.Series
    optimal_mode: str
    objective: str
    source: str
    synthetic: bool
    ddof: int | None
    maximize: bool = True
    """The objective's direction in the runs (each run's best is the largest value, or the smallest)."""
    preset: str | None = None
    budget: int | None = None
    budget_note: str | None = None
    """What a run could spend (the clock's budgets and workers), where it ran on the clock."""
    optimal_arch_id: int | None = None
    n_archs: int | None = None
    runs: Mapping[str, int] = field(default_factory=dict)
    queries: Mapping[str, tuple[int, float, int]] = field(default_factory=dict)
    decimals: int = 2
    published: bool = False

    @property
    def searchers(self) -> tuple[str, ...]:
        return tuple(self.frame.index.unique("searcher"))

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.frame.index.unique("metric"))

    @property
    def data_line(self) -> str:
        """The data source, with the synthetic label where it applies."""
        if self.published:
            return "PUBLISHED reference values (NARes README Table 2, docs/protocol.md §5.7), not computed by nares-nas"
        return data_label(self.source, self.synthetic)

    @property
    def optimal_header(self) -> str:
        if self.published:
            return "Optimal"
        return "Optimal (per-metric best)" if self.optimal_mode == "per-metric" else "Optimal (best-arch)"

    def notes(self) -> list[str]:
        """Plain-text lines saying what the numbers are; every renderer prints them."""
        lines = [f"Data: {self.data_line}."]
        if self.published:
            lines.append(f"Cells: mean ± std over {PUBLISHED_RUNS} runs per searcher as published "
                         "(ddof not stated); objective VAL_PGD_ACC, 500 queries.")
        else:
            lines.append(
                f"Cells: mean ± std over runs (std with ddof={self.ddof}) of the metrics of each run's best "
                f"architecture by {self.objective}, {'maximised' if self.maximize else 'minimised'} (best sampled; "
                "among ties the latest when maximising, the earliest when minimising, as the reference's "
                "get_topk_archs)."
            )
            if self.optimal_mode == "per-metric":
                lines.append(f"Optimal: per-metric best over all {self.n_archs} architectures of the table "
                             "(docs/protocol.md §7), each metric maximised separately (losses minimised).")
            else:
                arch = Arch.from_id(self.optimal_arch_id)
                lines.append(f"Optimal: every metric of the single best-{self.objective} architecture "
                             f"(arch_id {self.optimal_arch_id}, [{arch}]; lowest arch_id among ties).")
            runs = ", ".join(
                f"{label(s)} {self.runs.get(s, 'n/a')}"
                + (" ({}/{:g}/{} distinct full trainings min/median/max)".format(*self.queries[s])
                   if s in self.queries else "")
                for s in self.searchers
            )
            budget = self.budget_note or f"budget: {self.budget or 'n/a'}"
            lines.append(f"Preset: {self.preset or 'n/a'}; {budget}; runs: {runs}.")
        lines.append(f"Best mean of each row among the searchers marked; ties at {self.decimals} decimals "
                     "all marked.")
        return lines

    def _row_label(self, metric: str) -> str:
        name = ROW_LABELS.get(metric, metric)
        return f"{name} (obj)" if metric == self.objective else name

    def title(self) -> str:
        if self.published:
            return "PUBLISHED Table 2 (reference numbers from the NARes README, not computed here)"
        return f"Table 2: best architecture per run, objective {self.objective} ({'max' if self.maximize else 'min'})"

    def header(self) -> list[str]:
        return ["Accuracy", self.optimal_header, *(label(s) for s in self.searchers)]

    def shown_rows(self) -> list[list[Cell]]:
        """Per metric: its label, the optimal value and each searcher's mean±std, at ``decimals`` places."""
        d = self.decimals
        rows: list[list[Cell]] = []
        for metric in self.metrics:
            cells = [Number(mean_std(*self.frame.loc[(metric, s), ["mean", "std"]], d),
                            bool(self.frame.loc[(metric, s), "best"])) for s in self.searchers]
            rows.append([self._row_label(metric), f"{self.optimal[metric]:.{d}f}", *cells])
        return rows

    def csv_rows(self) -> tuple[list[str], list[list[Any]]]:
        """Full-precision values: per searcher mean, std, n and ``*`` where best."""
        header = ["row", "metric", "optimal"]
        for s in self.searchers:
            header += [f"{s}_mean", f"{s}_std", f"{s}_n", f"{s}_best"]
        rows = []
        for metric in self.metrics:
            row = [ROW_LABELS.get(metric, metric), metric, repr(float(self.optimal[metric]))]
            for s in self.searchers:
                mean, std, n, best = self.frame.loc[(metric, s), ["mean", "std", "n", "best"]]
                row += [repr(float(mean)), "" if math.isnan(std) else repr(float(std)), int(n),
                        "*" if best else ""]
            rows.append(row)
        return header, rows

    def row_data(self) -> str:
        return self.data_line

    def to_dict(self) -> dict:
        """Machine-readable form: per searcher per metric mean, std (None if undefined), n, best."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        searchers = {}
        for s in self.searchers:
            per_metric = {}
            for metric in self.metrics:
                mean, std, n, best = self.frame.loc[(metric, s), ["mean", "std", "n", "best"]]
                per_metric[metric] = {"mean": num(mean), "std": num(std), "n": int(n), "best": bool(best)}
            entry = {"label": label(s), "runs": self.runs.get(s), "metrics": per_metric}
            if s in self.queries:
                lo, med, hi = self.queries[s]
                entry["distinct_queries"] = {"min": lo, "median": med, "max": hi}
            searchers[s] = entry
        return {
            "data": {"source": self.source, "synthetic": self.synthetic, "published": self.published,
                     "label": self.data_line},
            "objective": self.objective, "direction": "max" if self.maximize else "min", "ddof": self.ddof,
            "preset": self.preset, "budget": self.budget,
            "budget_note": self.budget_note,
            "decimals": self.decimals, "notes": self.notes(),
            "optimal": {"mode": self.optimal_mode, "arch_id": self.optimal_arch_id,
                        "values": {m: num(self.optimal[m]) for m in self.metrics}},
            "searchers": searchers,
        }


def _mark_best(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Set ``best`` where a mean, rounded as displayed, equals the row's best rounded mean."""
    shown = frame["mean"].map(lambda x: float(f"{x:.{decimals}f}"))
    best = np.zeros(len(frame), dtype=bool)
    for metric in frame.index.unique("metric"):
        mask = (frame.index.get_level_values("metric") == metric) & shown.notna().to_numpy()
        if mask.any():
            values = shown.to_numpy()[mask]
            target = values.max() if higher_is_better(metric) else values.min()
            best[mask] = values == target
    return frame.assign(best=best)


def _frame(rows: list[tuple[str, str, float, float, int]], metrics: Sequence[str], searchers: Sequence[str],
           decimals: int) -> pd.DataFrame:
    """Rows metric-major in the given orders, with ``best`` marked."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["metric", "searcher", "mean", "std", "n"])
    order = pd.MultiIndex.from_product([list(metrics), list(searchers)], names=["metric", "searcher"])
    return _mark_best(frame.set_index(["metric", "searcher"]).reindex(order), decimals)


def best_arch_ids(trajectories: Sequence[Trajectory]) -> np.ndarray:
    """The reported architecture of each run (:attr:`Trajectory.best_arch_id`)."""
    return np.array([t.best_arch_id for t in trajectories], dtype=np.int64)


def summarize(bench: Benchmark, results: Mapping[str, Sequence[Any]],
              metrics: Sequence[str] = TABLE2_METRICS, ddof: int = 1, optimal: str = "per-metric", *,
              preset: str | None = None, budget: int | None = None, budget_note: str | None = None,
              decimals: int = 2) -> Table2:
    """Aggregate the runs of each searcher into a :class:`Table2`.

    ``results`` maps a searcher name to its runs (a :class:`Trajectory` or a harness run
    result each); all runs must share one objective. ``optimal`` is ``"per-metric"`` (spec §7) or ``"best-arch"``.
    A run whose best architecture lacks a metric (NaN) is left out of that cell; ``n`` counts
    the runs that entered it.
    """
    check_choice(optimal, "optimal", OPTIMAL_MODES)
    check_int(ddof, "ddof", 0)
    if not results:
        raise ConfigError("no results to summarise: give at least one searcher with runs")
    results = trajectories_of(results)
    empty = [name for name, runs in results.items() if not runs or any(len(t) == 0 for t in runs)]
    if empty:
        raise ConfigError(f"searchers {empty} have no runs or a run without a full training (raise the budget)")
    objectives = {(t.objective, t.maximize) for runs in results.values() for t in runs}
    if len(objectives) != 1:
        raise ConfigError(f"runs mix objectives {sorted(objectives)}; summarise one objective at a time")
    (objective, maximize), = objectives
    metrics = [resolve_metric(m).name for m in metrics]

    rows = []
    for name, runs in results.items():
        ids = best_arch_ids(runs)
        for metric in metrics:
            values = bench.metrics(ids, metric)
            values = values[~np.isnan(values)]  # a record without this metric (e.g. no corruptions)
            mean = round_derived(values.mean()) if len(values) else math.nan
            rows.append((metric, name, mean, _std(values, ddof), len(values)))
    queries = {name: (min(map(len, runs)), float(np.median([len(t) for t in runs])), max(map(len, runs)))
               for name, runs in results.items()}

    arch_id = None
    if optimal == "per-metric":
        values = {m: bench.metric_by_row(m) for m in metrics}
        opt = {m: float(np.nanmax(v) if higher_is_better(m) else np.nanmin(v)) for m, v in values.items()}
    else:
        obj = bench.metric_by_row(objective)
        score = np.where(np.isnan(obj), -np.inf, obj if maximize else -obj)
        arch_id = int(bench.arch_ids[int(np.argmax(score))])  # argmax: first = lowest arch_id among ties
        opt = {m: bench.metric(arch_id, m) for m in metrics}
    import pandas as pd

    return Table2(
        frame=_frame(rows, metrics, list(results), decimals), optimal=pd.Series(opt, name="optimal"),
        optimal_mode=optimal,
        objective=objective, maximize=bool(maximize), source=bench.source, synthetic=bench.synthetic, ddof=ddof,
        preset=preset,
        budget=budget, budget_note=budget_note, optimal_arch_id=arch_id, n_archs=len(bench),
        runs={name: len(runs) for name, runs in results.items()}, queries=queries, decimals=decimals,
    )


def published_table2() -> Table2:
    """The published Table 2 (spec §5.7) as hard-coded reference numbers, marked published."""
    rows = [(metric, s, mean, std, PUBLISHED_RUNS)
            for s, cells in PUBLISHED_CELLS.items() for metric, (mean, std) in zip(TABLE2_METRICS, cells)]
    import pandas as pd

    return Table2(
        frame=_frame(rows, TABLE2_METRICS, list(PUBLISHED_CELLS), 2),
        optimal=pd.Series(dict(zip(TABLE2_METRICS, PUBLISHED_OPTIMAL))),
        optimal_mode="published", objective="VAL_PGD_ACC", source="NARes README Table 2", synthetic=False,
        ddof=None, budget=500, published=True,
    )


def write_report(table: Table2, results: Mapping[str, Sequence[Any]], out_dir: str | Path, *,
                 band: str = "sem", reference: bool = False, any_fidelity: bool = False) -> dict[str, Path]:
    """Write table2.md/.csv/.tex/.json and anytime.png into ``out_dir``; return their paths.

    Runs with the simulated clock's account (harness run results) add the cost table (in
    table2.md, table2.json and costs.csv) and the anytime plots against simulated days and
    GPU-days (anytime_sim_days.png, anytime_gpu_days.png; the incumbent at full fidelity, or
    at any fidelity with ``any_fidelity``). ``reference=True`` appends the published table to
    table2.md as a separate section.
    """
    from nares_nas.reports.costs import cost_frame, cost_markdown
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clocked = all(getattr(run, "clock", None) for runs in results.values() for run in runs)
    costs = cost_frame(results) if clocked else None
    markdown = table.to_markdown()
    payload = {**table.to_dict(), "anytime_band": BANDS[band]}
    if costs is not None:
        markdown += "\n" + cost_markdown(costs, table.budget_note or "")
        payload["costs"] = json.loads(costs.reset_index().to_json(orient="records"))
    if reference:
        markdown += "\n---\n\n" + published_table2().to_markdown()
    paths = write_table_files(table, {ext: out / f"table2.{ext}" for ext in ("md", "tex", "json", "csv")},
                              markdown=markdown, payload=payload)
    data_label = f"Data: {table.data_line}; preset: {table.preset or 'n/a'}"
    paths["png"] = plot_anytime(results, out / "anytime.png", band=band, budget=table.budget, data_label=data_label)
    if costs is not None:
        paths["costs"] = write_frame_csv(out / "costs.csv", costs.reset_index(), data=table.data_line,
                                         synthetic=table.synthetic, notes=labelled(table.synthetic, [
                                             "Cost on the simulated clock: mean and std over runs (ddof=1).",
                                             *([table.budget_note] if table.budget_note else [])]))
        for axis in AXES:
            paths[axis] = plot_anytime_clock(results, out / f"anytime_{axis}.png", axis,
                                                         any_fidelity=any_fidelity, band=band, data_label=data_label,
                                                         note=table.budget_note)
    return paths


