"""The multi-objective table: hypervolume regret and IGD+ per searcher, anytime and attainment plots.

:func:`summarize_mo` turns scored runs (:class:`~nares_nas.runs.record.RunResult` with their `scores`, one
list per searcher) into an :class:`MOTable`: mean ± std over runs (ddof=1) of hypervolume
regret and IGD+ after 100, 250 and 500 queries (a run that stopped earlier keeps its last
scores), the found front's size, a paired one-sided Wilcoxon test of each searcher's final
regret against the baseline's, and what a user deploys: each run's found front re-scored with
the test-set counterpart of the objectives (:data:`~nares_nas.pareto.problem.TEST_COUNTERPART`) and
the best test PGD-20 and AutoAttack accuracies on it. Every output states the data source,
the normalisation and the reference point; the synthetic stand-in is labelled in each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas._outputs import write_csv
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.errors import ConfigError
from nares_nas.metrics import round_derived
from nares_nas.pareto.geometry import REFERENCE, attainment
from nares_nas.pareto.problem import TEST_COUNTERPART, Problem
from nares_nas.reports.curves import new_figure, plot_anytime_regret
from nares_nas.reports.labels import label
from nares_nas.reports.render import Cell, Number, Rendered, labelled, mean_std, write_table_files

CHECKPOINTS: tuple[int, ...] = (100, 250, 500)
DEPLOYED_METRICS: tuple[str, ...] = ("TEST_PGD_ACC", "TEST_AA_ACC")
LEVELS: dict[int, str] = {0: "best (attained by at least one run)", 50: "median (attained by half the runs)",
                          100: "worst (attained by every run)"}


def _mean_std(values: Sequence[float]) -> tuple[float, float, int]:
    values = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if not len(values):
        return math.nan, math.nan, 0
    std = round_derived(values.std(ddof=1)) if len(values) > 1 else math.nan
    return round_derived(values.mean()), std, len(values)


@dataclass(frozen=True, eq=False)
class MOTable(Rendered):
    """Per searcher: scores at the checkpoints, the test-set re-scoring and the Wilcoxon tests.

    ``rows`` is a list of ``(key, label, lower_is_better, {searcher: (mean, std, n)})``.
    """

    problem: Mapping[str, Any]
    test_problem: Mapping[str, Any] | None
    data_line: str
    synthetic: bool
    searchers: tuple[str, ...]
    rows: list[tuple[str, str, bool, dict[str, tuple[float, float, int]]]]
    runs: Mapping[str, int]
    baseline: str | None = None
    wilcoxon: Mapping[str, float] = field(default_factory=dict)
    budget_note: str = ""
    decimals: int = 4

    def notes(self) -> list[str]:
        problem = self.problem
        lines = [f"Data: {self.data_line}.",
                 f"Objectives: {', '.join(problem['objectives'])}; constraints: "
                 f"{', '.join(problem['constraints']) or 'none'} ({problem['feasible']} feasible architectures).",
                 f"Scoring: {problem['note']}; exact front: {problem['exact_front_size']} architectures, "
                 f"hypervolume {problem['exact_hypervolume']:.6g}; hypervolume regret = HV(exact front) − HV(found "
                 "front), IGD+ against the exact front, both in the normalised space; an infeasible architecture "
                 "never counts in a found front.",
                 "Cells: mean ± std over runs (ddof=1) after the given number of queries (full trainings, in the "
                 "order they finished; a run that stopped earlier keeps its last scores).",
                 f"Runs: {', '.join(f'{label(s)} {self.runs[s]}' for s in self.searchers)}; {self.budget_note}."]
        if self.test_problem is not None:
            lines.append(f"Deployed: each run's found front re-scored with {', '.join(self.test_problem['objectives'])}"
                         f" ({self.test_problem['note']}; exact test front hypervolume "
                         f"{self.test_problem['exact_hypervolume']:.6g}).")
        if self.wilcoxon:
            lines.append(f"p: paired one-sided Wilcoxon signed-rank test (by seed) that the searcher's final "
                         f"hypervolume regret is lower than {label(self.baseline)}'s.")
        lines.append("Best mean of each row marked (ties at the shown decimals all marked).")
        return lines

    def _best(self, row: tuple) -> set[str]:
        key, _, lower, cells = row
        d = self._decimals(key)
        shown = {s: round(cells[s][0], d) for s in self.searchers if not math.isnan(cells[s][0])}
        if not shown:
            return set()
        target = min(shown.values()) if lower else max(shown.values())
        return {s for s, v in shown.items() if v == target}

    def _decimals(self, key: str) -> int:
        return 1 if key.startswith("front_size") else 2 if key.startswith("best_") else self.decimals

    def shown_rows(self) -> list[list[Cell]]:
        """Per score: its label and each searcher's mean±std; then the Wilcoxon p-values."""
        rows: list[list[Cell]] = []
        for row in self.rows:
            best = self._best(row)
            d = self._decimals(row[0])
            rows.append([row[1], *(Number(mean_std(*row[3][s][:2], d), s in best) for s in self.searchers)])
        if self.wilcoxon:
            rows.append([f"p (vs {label(self.baseline)})",
                         *(Number(f"{self.wilcoxon[s]:.3g}" if s in self.wilcoxon else "—") for s in self.searchers)])
        return rows

    def title(self) -> str:
        return f"Multi-objective search: {' × '.join(self.problem['objectives'])}"

    def header(self) -> list[str]:
        return ["Score", *(label(s) for s in self.searchers)]

    def csv_rows(self) -> tuple[list[str], list[list[Any]]]:
        """Full-precision values: per searcher mean, std and n; then the Wilcoxon p-values."""
        header = ["key", "row", *(f"{s}_{part}" for s in self.searchers for part in ("mean", "std", "n"))]
        rows = [[key, name, *(("" if math.isnan(v) else repr(v)) if i < 2 else v
                              for s in self.searchers for i, v in enumerate(cells[s]))]
                for key, name, _, cells in self.rows]
        if self.wilcoxon:
            rows.append(["wilcoxon_p", f"p (vs {self.baseline})",
                         *(x for s in self.searchers for x in (repr(self.wilcoxon[s]) if s in self.wilcoxon
                                                               else "", "", ""))])
        return header, rows

    def row_data(self) -> str:
        return self.data_line

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        rows = [{"key": key, "label": name, "lower_is_better": lower,
                 "cells": {s: {"mean": num(cells[s][0]), "std": num(cells[s][1]), "n": cells[s][2]}
                           for s in self.searchers}} for key, name, lower, cells in self.rows]
        return {"data": {"label": self.data_line, "synthetic": self.synthetic}, "problem": dict(self.problem),
                "test_problem": None if self.test_problem is None else dict(self.test_problem),
                "searchers": {s: {"label": label(s), "runs": self.runs[s]} for s in self.searchers},
                "rows": rows, "wilcoxon": {"baseline": self.baseline, "p": dict(self.wilcoxon)},
                "budget_note": self.budget_note, "ddof": 1, "notes": self.notes()}


def _checkpoints(results: Mapping[str, Sequence[Any]], checkpoints: Sequence[int]) -> list[int]:
    longest = max((r.queries for runs in results.values() for r in runs), default=0)
    kept = [q for q in checkpoints if q <= longest]
    return kept if kept and kept[-1] == longest else kept + [longest]


def summarize_mo(bench, problem: Problem, results: Mapping[str, Sequence[Any]], *,
                 checkpoints: Sequence[int] = CHECKPOINTS, baseline: str | None = "mo_random_search",
                 budget_note: str = "") -> MOTable:
    """The :class:`MOTable` of scored runs per searcher (``results``: name -> runs, all of ``problem``)."""
    from scipy.stats import wilcoxon

    if not results or any(not runs for runs in results.values()):
        raise ConfigError("the multi-objective table needs at least one run per searcher")
    searchers = tuple(results)
    points = _checkpoints(results, checkpoints)
    rows: list[tuple[str, str, bool, dict[str, tuple[float, float, int]]]] = []
    for index, (key, name) in enumerate((("hv_regret", "HV regret"), ("igd_plus", "IGD+"))):
        for q in points:
            rows.append((f"{key}@{q}", f"{name} @ {q}", True,
                         {s: _mean_std([r.scores.final(q)[index] for r in runs]) for s, runs in results.items()}))
    rows.append((f"front_size@{points[-1]}", f"Found front size @ {points[-1]}", False,
                 {s: _mean_std([r.scores.final(points[-1])[2] for r in runs]) for s, runs in results.items()}))
    test_problem = None
    counterparts = [TEST_COUNTERPART.get(o.name, o.name) for o in problem.objectives]
    if counterparts != [o.name for o in problem.objectives]:
        test_problem = problem.rescored(bench)
        objectives = " × ".join(str(o) for o in test_problem.objectives)
        rows.append(("test_hv_regret", f"Test HV regret ({objectives}) of the found front", True,
                     {s: _mean_std([test_problem.score(r.scores.front).hv_regret for r in runs])
                      for s, runs in results.items()}))
    for metric in DEPLOYED_METRICS:
        values = bench.metric_by_id(metric)
        rows.append((f"best_{metric}", f"Best {metric} on the found front", False,
                     {s: _mean_std([float(np.max(values[r.scores.front])) if len(r.scores.front) else math.nan
                                    for r in runs]) for s, runs in results.items()}))
    tests: dict[str, float] = {}
    if baseline in results:
        base = {r.seed: r.scores.final()[0] for r in results[baseline]}
        for s, runs in results.items():
            pairs = [(r.scores.final()[0], base[r.seed]) for r in runs if s != baseline and r.seed in base]
            diffs = [a - b for a, b in pairs]
            if len(pairs) >= 2 and any(diffs):
                tests[s] = float(wilcoxon([a for a, _ in pairs], [b for _, b in pairs], alternative="less").pvalue)
    else:
        baseline = None
    return MOTable(problem.to_dict(), None if test_problem is None else test_problem.to_dict(), bench.provenance,
                   bool(bench.synthetic), searchers, rows, {s: len(runs) for s, runs in results.items()}, baseline,
                   tests, budget_note)


def _staircase(points: np.ndarray) -> np.ndarray:
    """The boundary of the region that minimised 2-D ``points`` attain, between the reference lines."""
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    vertices = [(points[0, 0], REFERENCE)]
    best_y = REFERENCE
    for x, y in points:
        if y < best_y:
            vertices += [(x, best_y), (x, y)]
            best_y = y
    vertices.append((REFERENCE, best_y))
    return np.asarray(vertices)


def attainment_surfaces(problem: Problem, runs: Sequence[Any]) -> dict[int, np.ndarray]:
    """Per level of :data:`LEVELS`, the attainment surface's points (normalised, minimised) over ``runs``.

    A run whose found front is empty counts as the reference point alone.
    """
    points, sets = [], []
    for i, r in enumerate(runs):
        found = r.scores.front
        front = problem.normalise(problem.values[found]) if len(found) else problem.reference_point[None, :]
        points.append(front)
        sets += [i + 1] * len(front)
    eaf = attainment(np.vstack(points), sets, list(LEVELS))
    return {level: eaf[eaf[:, -1] == level][:, :-1] for level in LEVELS}


def to_raw(problem: Problem, points: np.ndarray) -> np.ndarray:
    """Normalised (minimised) points back in the objectives' own units."""
    span = problem.high - problem.low
    span = np.where(span > 0, span, 1.0)
    return np.where(np.asarray(problem.maximize), problem.high - points * span, problem.low + points * span)


def plot_attainment(problem: Problem, results: Mapping[str, Sequence[Any]], path: str | Path, *, data_label: str,
                    note: str) -> tuple[Path, str]:
    """Best, median and worst attainment surfaces per searcher (two objectives), the exact front in black.

    Returns the PNG's path and the surfaces' points as CSV header and rows (searcher, level, objectives).
    """
    if problem.k != 2:
        raise ConfigError(f"attainment surfaces are drawn for two objectives, got {problem.k}")
    names = list(results)
    ncols = min(len(names), 2)
    nrows = math.ceil(len(names) / ncols)
    fig, axes = new_figure((5.2 * ncols, 4.2 * nrows), ncols, nrows)
    exact = problem.values[problem.exact_front()]
    header = ["searcher", "level", *(o.name for o in problem.objectives)]
    rows = []
    styles = {0: ("tab:green", ":"), 50: ("tab:blue", "-"), 100: ("tab:red", "--")}
    for i, name in enumerate(names):
        ax = axes[i // ncols, i % ncols]
        for level, surface in attainment_surfaces(problem, results[name]).items():
            for row in to_raw(problem, surface):
                rows.append([name, level, *map(float, row)])
            if len(surface):
                stairs = to_raw(problem, _staircase(surface))
                colour, style = styles[level]
                ax.plot(stairs[:, 0], stairs[:, 1], color=colour, ls=style, lw=1.3, label=LEVELS[level])
        ax.scatter(exact[:, 0], exact[:, 1], s=10, color="black", zorder=3, label="exact front")
        ax.set_title(f"{label(name)} ({len(results[name])} runs)", fontsize=9)
        ax.set_xlabel(str(problem.objectives[0]))
        ax.set_ylabel(str(problem.objectives[1]))
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7)
    for j in range(len(names), nrows * ncols):
        axes[j // ncols, j % ncols].set_visible(False)
    fig.suptitle("Empirical attainment surfaces of the found fronts (moocore eaf)", fontsize=9)
    red = SYNTHETIC_LABEL in data_label
    fig.text(0.01, 0.005, data_label, fontsize=7, color="red" if red else "black", weight="bold" if red else "normal")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    path = Path(path)
    fig.savefig(path, format="png", metadata={"Description": f"{data_label} {note}"})
    return path, (header, rows)


def write_mo_report(table: MOTable, problem: Problem, results: Mapping[str, Sequence[Any]],
                    out_dir: str | Path) -> dict[str, Path]:
    """Write mo_table.{md,csv,tex,json}, anytime_hv_regret.png and (two objectives) attainment.png/.csv."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = write_table_files(table, {ext: out / f"mo_table.{ext}" for ext in ("md", "tex", "json", "csv")},
                              markdown=table.to_markdown(), payload=table.to_dict())
    data_label = f"Data: {table.data_line}"
    note = (f"Normalised by the table's min/max of each objective before constraints, 0 best; reference point "
            f"{problem.reference_point[0]:g} in every normalised objective.")
    paths["anytime"] = plot_anytime_regret(results, out / "anytime_hv_regret.png", data_label=data_label, note=note)
    if problem.k == 2:
        paths["attainment"], surfaces = plot_attainment(problem, results, out / "attainment.png",
                                                        data_label=data_label, note=note)
        paths["attainment_csv"] = write_csv(
            out / "attainment.csv", *surfaces, data=table.data_line, synthetic=table.synthetic,
            notes=labelled(table.synthetic, [data_label, note, "level 0: best, 50: median, 100: worst attainment "
                                             "surface (moocore eaf)"]))
    return paths
