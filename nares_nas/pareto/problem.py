"""Objectives, constraints and the exact Pareto fronts of the table; hypervolume, IGD+ and EAF for scoring.

A multi-objective problem is two or three metrics, each with its direction
(``"VAL_PGD_ACC:max,MACS:min"``), and any number of constraints (``"MACS<=1e10"``; operators
``<=``, ``<``, ``>=``, ``>``). Search objectives and search constraints refuse test-set metrics
(as single-objective search does); :func:`pareto_front` and the scores accept them.

**Scoring space** (fixed per objective set, never from what a run found): each objective is
normalised to [0, 1] by its minimum and maximum over the *whole table* (before any constraint)
and flipped where it is maximised, so that 0 is best in every objective; the hypervolume's
reference point is :data:`REFERENCE` = 1.1 in every normalised objective. Hypervolume regret
is HV(exact front) − HV(found front) in that space (clipped at 0 against rounding), IGD+ is
measured against the exact front there. An infeasible architecture never counts in a found
front, and an empty found front is scored as the reference point alone (HV 0; IGD+ the
distance from the exact front to the reference point). Searchers never see these ranges.

Non-dominated sorting, hypervolume, IGD+ and attainment functions come from moocore. Fronts
keep weakly dominated duplicates (``keep_weakly``): architectures with equal objective vectors
are all on the front. Ranks start at 1 (the first front).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from nares_nas.errors import ConfigError, MetricError
from nares_nas.metrics import METRICS, MetricSpec, higher_is_better, resolve_metric
from nares_nas.pareto.geometry import (
    REFERENCE,
    as_points,
    first_dominators,
    hypervolume,
    igd_plus,
    nondominated,
    pareto_ranks,
)
from nares_nas.space import KEYS, N_ARCHS, archs_by_id

MAX_OBJECTIVES = 3
OPERATORS: tuple[str, ...] = ("<=", "<", ">=", ">")
_COMPARE = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")
_EXAMPLE = "VAL_PGD_ACC:max,MACS:min"

TEST_COUNTERPART: dict[str, str] = {
    "VAL_CLEAN_ACC": "TEST_CLEAN_ACC", "VAL_TEST_ACC": "TEST_CLEAN_ACC", "VAL_LOSS": "TEST_LOSS",
    "VAL_PGD_ACC": "TEST_PGD_ACC", "VAL_PGD_STABLE": "TEST_PGD_STABLE", "VAL_PGD_LIP": "TEST_PGD_LIP",
    "VAL_CW_ACC": "TEST_CW_ACC", "VAL_CW_STABLE": "TEST_CW_STABLE", "VAL_CW_LIP": "TEST_CW_LIP",
}
"""The test-set metric measuring on CIFAR-10 what a validation metric measures on CIFAR-10.1
(same attack, same quantity); a metric not listed (costs, ``TRAIN_*``) is its own counterpart."""


# --------------------------------------------------------------------------- objectives and constraints
@dataclass(frozen=True)
class Objective:
    """One metric of a multi-objective problem and its direction."""

    name: str
    maximize: bool

    def __str__(self) -> str:
        return f"{self.name}:{'max' if self.maximize else 'min'}"


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. ``MACS <= 1e10``; an architecture without a value never meets it."""

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ConfigError(f"constraint operator must be one of {', '.join(OPERATORS)}, got {self.op!r}")

    @property
    def free(self) -> bool:
        """Known without training (``MACS``, ``PARAMS``): it can be checked before an architecture is queried."""
        return METRICS[self.metric].kind == "count"

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Where ``values`` of the metric meet the constraint (NaN never does)."""
        values = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return _COMPARE[self.op](values, self.bound) & ~np.isnan(values)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


def _spec(name: str, search: bool, what: str) -> MetricSpec:
    """Resolve ``name``; where ``search``, a test-set metric is refused (as a search ``what``)."""
    spec = resolve_metric(name)
    if search and spec.is_test:
        allowed = [n for n, s in METRICS.items() if not s.is_test]
        raise MetricError(f"{spec.name} is measured on the test set and may not be a search {what}; "
                          f"use a validation or cost metric: {', '.join(allowed)}")
    return spec


def _usual_direction(name: str) -> str:
    """``"; MACS is better when smaller: MACS:min"`` for a known metric (the default of a single
    objective, :func:`~nares_nas.metrics.objective_direction`), else nothing."""
    spec = METRICS.get(name.strip().upper())
    if spec is None:
        return ""
    up = higher_is_better(spec)
    return f"; {spec.name} is better when {'larger' if up else 'smaller'}: {spec.name}:{'max' if up else 'min'}"


def parse_objectives(objectives: str | Sequence[str | Objective], *, search: bool = True) -> tuple[Objective, ...]:
    """``"VAL_PGD_ACC:max,MACS:min"`` (or a sequence of ``NAME:DIR`` / :class:`Objective`) as objectives.

    Two or three, each with ``max`` or ``min``, no metric twice (nor two names of the same values,
    ``VAL_TEST_ACC`` and ``VAL_CLEAN_ACC``). ``search=True`` refuses test-set metrics.
    """
    items = [s for s in objectives.split(",")] if isinstance(objectives, str) else list(objectives)
    items = [item.strip() if isinstance(item, str) else item for item in items]
    if not any(items) or any(item == "" for item in items):
        raise ConfigError(f"objectives {objectives!r}: give two or three as NAME:max or NAME:min separated by "
                          f"commas, e.g. {_EXAMPLE}")
    parsed: list[Objective] = []
    for item in items:
        if isinstance(item, Objective):
            spec, maximize = _spec(item.name, search, "objective"), bool(item.maximize)
        else:
            name, colon, direction = str(item).rpartition(":")
            direction = direction.strip().lower()
            if not colon or direction not in ("max", "min"):
                raise ConfigError(f"objective {item!r}: give its direction as NAME:max or NAME:min "
                                  f"(e.g. {_EXAMPLE}){_usual_direction(name if colon else str(item))}")
            spec, maximize = _spec(name.strip(), search, "objective"), direction == "max"
        parsed.append(Objective(spec.name, maximize))
    seen: dict[tuple[str, str], str] = {}
    for objective in parsed:
        spec = METRICS[objective.name]
        key = (spec.kind, spec.column)
        if key in seen:
            same = "is given twice" if seen[key] == spec.name else f"has the same values as {seen[key]}"
            raise ConfigError(f"objective {spec.name} {same}; give each objective once")
        seen[key] = spec.name
    if len(parsed) < 2:
        raise ConfigError(f"a multi-objective problem needs two or three objectives, got one ({parsed[0]}); "
                          f"add another (e.g. {_EXAMPLE}), or use --objective for a single-objective search")
    if len(parsed) > MAX_OBJECTIVES:
        raise ConfigError(f"at most {MAX_OBJECTIVES} objectives, got {len(parsed)} "
                          f"({', '.join(map(str, parsed))})")
    return tuple(parsed)


def parse_constraint(text: str | Constraint, *, search: bool = True) -> Constraint:
    """``"MACS<=1e10"`` as a :class:`Constraint`; ``search=True`` refuses test-set metrics."""
    if isinstance(text, Constraint):
        return Constraint(_spec(text.metric, search, "constraint").name, text.op, float(text.bound))
    match = _CONSTRAINT.match(str(text))
    bound = math.nan
    if match:
        try:
            bound = float(match.group(3))
        except ValueError:
            pass
    if not match or not math.isfinite(bound):
        raise ConfigError(f"constraint {text!r}: expected METRIC OP NUMBER with OP one of "
                          f"{', '.join(OPERATORS)}, e.g. MACS<=1e10")
    return Constraint(_spec(match.group(1), search, "constraint").name, match.group(2), bound)


def parse_constraints(items: str | Constraint | Sequence[str | Constraint] | None, *,
                      search: bool = True) -> tuple[Constraint, ...]:
    """Several constraints (each as :func:`parse_constraint`); None or empty: none."""
    if items is None:
        return ()
    if isinstance(items, (str, Constraint)):
        items = [items]
    return tuple(parse_constraint(item, search=search) for item in items)


# --------------------------------------------------------------------------- a problem over the table
class Scores(NamedTuple):
    """Scores of a set of found architectures in the normalised space."""

    hypervolume: float
    hv_regret: float
    igd_plus: float
    front_size: int


class Anytime(NamedTuple):
    """Scores after each query (arrays of the queries' length)."""

    hv_regret: np.ndarray
    igd_plus: np.ndarray
    front_size: np.ndarray


@dataclass(frozen=True, eq=False)
class Problem:
    """Objectives and constraints over one table: raw values, feasibility, the scoring space and the exact front.

    Build one with :meth:`from_benchmark`. ``values`` is ``(15626, k)`` raw objective values by
    arch_id (NaN where the table has no record, and in row 0); ``feasible`` marks the
    architectures that have a record and meet every constraint; ``low``/``high`` are each
    objective's minimum and maximum over the whole table, before constraints.
    """

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    values: np.ndarray
    feasible: np.ndarray
    free_feasible: np.ndarray
    """Architectures meeting every constraint known without training (MACS, PARAMS)."""
    low: np.ndarray
    high: np.ndarray
    source: str = "table"
    synthetic: bool = False
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_benchmark(cls, bench, objectives: str | Sequence[str | Objective],
                       constraints: str | Sequence[str | Constraint] | None = (), *, search: bool = False
                       ) -> Problem:
        """The problem of ``objectives`` and ``constraints`` over ``bench``.

        ``search=True`` refuses test-set metrics (objectives and constraints); a constraint no
        architecture of the table meets, alone or with the others, is refused either way.
        """
        objectives = parse_objectives(objectives, search=search)
        constraints = parse_constraints(constraints, search=search)
        values = np.stack([bench.metric_by_id(o.name) for o in objectives], axis=1)
        present = np.zeros(N_ARCHS + 1, dtype=bool)
        present[bench.arch_ids] = True
        present &= ~np.isnan(values).any(axis=1)
        if not present.any():
            raise ConfigError(f"no architecture of {bench.source} has a value of every objective "
                              f"({', '.join(map(str, objectives))})")
        feasible, free_feasible = present.copy(), present.copy()
        for constraint in constraints:
            metric = bench.metric_by_id(constraint.metric)
            holds = constraint.holds(metric)
            if not (holds & present).any():
                known = metric[present & ~np.isnan(metric)]
                span = f" ({constraint.metric} ranges {known.min():g}..{known.max():g})" if len(known) else ""
                raise ConfigError(f"no architecture of the table meets the constraint {constraint}{span}")
            feasible &= holds
            if constraint.free:
                free_feasible &= holds
        if not feasible.any():
            raise ConfigError("no architecture of the table meets all the constraints together: "
                              + " and ".join(map(str, constraints)))
        table = values[present]
        values = np.array(values)
        values.setflags(write=False)
        for array in (feasible, free_feasible):
            array.setflags(write=False)
        return cls(objectives, constraints, values, feasible, free_feasible, table.min(axis=0),
                   table.max(axis=0), bench.source, bool(bench.synthetic))

    # ------------------------------------------------------------------ the scoring space
    @property
    def k(self) -> int:
        return len(self.objectives)

    @property
    def maximize(self) -> tuple[bool, ...]:
        return tuple(o.maximize for o in self.objectives)

    @property
    def reference_point(self) -> np.ndarray:
        return np.full(self.k, REFERENCE)

    def normalise(self, values: Any) -> np.ndarray:
        """Raw objective vectors ``(n, k)`` in the scoring space: 0 the table's best, 1 its worst."""
        values = as_points(values, self.k)
        span = self.high - self.low
        span = np.where(span > 0, span, 1.0)
        flip = np.asarray(self.maximize)
        return np.where(flip, self.high - values, values - self.low) / span

    def describe(self) -> str:
        """The normalisation and reference point in one line, written beside every score."""
        ranges = ", ".join(f"{o} in [{lo:g}, {hi:g}]" for o, lo, hi in zip(self.objectives, self.low, self.high))
        return (f"each objective normalised to [0, 1] by its min and max over the whole table before constraints "
                f"({ranges}), flipped so 0 is best; hypervolume reference point {REFERENCE} in every normalised "
                "objective")

    def to_dict(self) -> dict[str, Any]:
        return {"objectives": [str(o) for o in self.objectives], "constraints": [str(c) for c in self.constraints],
                "normalisation": {str(o): {"min": float(lo), "max": float(hi)}
                                  for o, lo, hi in zip(self.objectives, self.low, self.high)},
                "reference_point": [REFERENCE] * self.k, "exact_hypervolume": self.exact_hypervolume,
                "exact_front_size": len(self.exact_front()), "feasible": int(self.feasible.sum()),
                "source": self.source, "synthetic": self.synthetic, "note": self.describe()}

    # ------------------------------------------------------------------ exact fronts and ranks
    def exact_front(self) -> np.ndarray:
        """arch_ids of the feasible non-dominated architectures, best first (:meth:`order`)."""
        if "front" not in self._cache:
            ids = np.flatnonzero(self.feasible)
            front = ids[nondominated(self.values[ids], self.maximize)]
            self._cache["front"] = self.order(front)
        return self._cache["front"]

    def order(self, arch_ids: Any) -> np.ndarray:
        """``arch_ids`` best first by the first objective, ties by the next ones, then by arch_id."""
        ids = np.asarray(arch_ids, dtype=np.int64)
        keys = [ids] + [(-1.0 if o.maximize else 1.0) * self.values[ids, j]
                        for j, o in reversed(list(enumerate(self.objectives)))]
        return ids[np.lexsort(keys)]

    def ranks(self) -> np.ndarray:
        """``(15626,)`` Pareto rank of every feasible architecture (first front 1); 0 elsewhere."""
        if "ranks" not in self._cache:
            ids = np.flatnonzero(self.feasible)
            ranks = np.zeros(N_ARCHS + 1, dtype=np.int64)
            ranks[ids] = pareto_ranks(self.values[ids], self.maximize)
            ranks.setflags(write=False)
            self._cache["ranks"] = ranks
        return self._cache["ranks"]

    @property
    def exact_points(self) -> np.ndarray:
        """The exact front in the scoring space."""
        if "points" not in self._cache:
            self._cache["points"] = self.normalise(self.values[self.exact_front()])
        return self._cache["points"]

    @property
    def exact_hypervolume(self) -> float:
        if "hv" not in self._cache:
            self._cache["hv"] = hypervolume(self.exact_points, self.reference_point)
        return self._cache["hv"]

    # ------------------------------------------------------------------ scoring what a search found
    def found_front(self, arch_ids: Any) -> np.ndarray:
        """The feasible non-dominated architectures among ``arch_ids``, best first."""
        ids = np.unique(np.asarray(arch_ids, dtype=np.int64))
        ids = ids[self.feasible[ids]]
        return self.order(ids[nondominated(self.values[ids], self.maximize)])

    def score(self, arch_ids: Any) -> Scores:
        """Hypervolume, hypervolume regret, IGD+ and front size of the architectures ``arch_ids`` found."""
        front = self.found_front(arch_ids)
        points = self.normalise(self.values[front]) if len(front) else self.reference_point[None, :]
        hv = hypervolume(points, self.reference_point)
        return Scores(hv, max(self.exact_hypervolume - hv, 0.0), igd_plus(points, self.exact_points), len(front))

    def anytime(self, arch_ids: Any) -> Anytime:
        """:meth:`score`'s regret, IGD+ and front size after each of ``arch_ids`` (in query order).

        Incremental: the found front changes only when a query is feasible and not weakly
        dominated by an earlier one; only then are hypervolume and IGD+ computed again (by
        moocore, of the front at that query). Which queries those are, and the front at each,
        follow from each point's first (strict or weak) dominator, found for all queries at
        once. An infeasible query and a repeated arch_id change nothing.
        """
        ids = np.asarray(arch_ids, dtype=np.int64)
        n, exact_hv, exact, ref = len(ids), self.exact_hypervolume, self.exact_points, self.reference_point
        first = np.zeros(n, dtype=bool)
        first[np.unique(ids, return_index=True)[1]] = True
        counted = np.flatnonzero(first & self.feasible[ids])  # the queries that can be on a found front
        points = self.normalise(self.values[ids[counted]])
        strict, weak = first_dominators(points)
        m = len(points)
        # the front after counted query t: the points j <= t not yet strictly dominated (t < strict[j])
        ever = strict > np.arange(m)  # a point dominated by an earlier one is never on the front
        change = np.zeros(m + 1, dtype=np.int64)
        np.add.at(change, np.flatnonzero(ever), 1)
        np.add.at(change, strict[ever], -1)
        size_counted = np.cumsum(change[:m])
        regret_counted, igd_counted = np.empty(m), np.empty(m)
        current = (exact_hv, igd_plus(ref[None, :], exact))  # the empty front
        entering = weak >= np.arange(m)  # no earlier point weakly dominates it
        for t in range(m):
            if entering[t]:
                front = points[:t + 1][strict[:t + 1] > t]
                current = (max(exact_hv - hypervolume(front, ref), 0.0), igd_plus(front, exact))
            regret_counted[t], igd_counted[t] = current
        # spread over all queries: each keeps the scores of the last counted query up to it
        last = np.searchsorted(counted, np.arange(n), side="right") - 1
        empty = last < 0
        last = np.maximum(last, 0)
        regret = np.where(empty, exact_hv, regret_counted[last] if m else exact_hv)
        igd = np.where(empty, igd_plus(ref[None, :], exact), igd_counted[last] if m else 0.0)
        size = np.where(empty, 0, size_counted[last] if m else 0)
        return Anytime(regret, igd, size.astype(np.int64))

    def rescored(self, bench, objectives: Sequence[str | Objective] | None = None) -> Problem:
        """The same problem with each objective replaced by its test-set counterpart (:data:`TEST_COUNTERPART`).

        Constraints stay as they are; the scoring space is the counterpart's own table-wide range.
        """
        if objectives is None:
            objectives = [Objective(TEST_COUNTERPART.get(o.name, o.name), o.maximize) for o in self.objectives]
        return Problem.from_benchmark(bench, objectives, self.constraints, search=False)


# --------------------------------------------------------------------------- the whole-table front
@dataclass(frozen=True, eq=False)
class ParetoFront:
    """The exact front of a problem as a DataFrame, and the Pareto rank of every architecture."""

    problem: Problem
    frame: Any
    """One row per front architecture, best first: ``arch_id``, ``D1 … W3``, the objectives' values."""
    ranks: Any
    """pandas Series (Int64) indexed by arch_id 1..15,625: the rank (first front 1); NA where infeasible."""

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for row in self.frame.itertuples(index=False):
            record = row._asdict()
            rows.append({"arch_id": int(record["arch_id"]), "arch": [int(record[k]) for k in KEYS],
                         "objectives": {o.name: float(record[o.name]) for o in self.problem.objectives}})
        return {**self.problem.to_dict(), "front": rows}


def pareto_front(bench, objectives: str | Sequence[str | Objective],
                 constraints: str | Sequence[str | Constraint] | None = ()) -> ParetoFront:
    """The non-dominated architectures of the whole table (test metrics allowed) and every rank."""
    import pandas as pd

    problem = Problem.from_benchmark(bench, objectives, constraints, search=False)
    front = problem.exact_front()
    archs = archs_by_id()[front - 1]
    data: dict[str, Any] = {"arch_id": front}
    data.update({key: archs[:, col] for col, key in enumerate(KEYS)})
    for j, objective in enumerate(problem.objectives):
        values = problem.values[front, j]
        data[objective.name] = values.astype(np.int64) if METRICS[objective.name].kind == "count" else values
    frame = pd.DataFrame(data)
    ranks = pd.Series(pd.array(problem.ranks()[1:], dtype="Int64"), index=pd.RangeIndex(1, N_ARCHS + 1,
                                                                                           name="arch_id"),
                      name="rank")
    ranks[~problem.feasible[1:]] = pd.NA
    attrs = {"source": problem.source, "synthetic": problem.synthetic, "provenance": bench.provenance,
             "objectives": [str(o) for o in problem.objectives],
             "constraints": [str(c) for c in problem.constraints]}
    frame.attrs.update(attrs)
    ranks.attrs.update(attrs)
    return ParetoFront(problem, frame, ranks)
