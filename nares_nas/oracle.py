"""Objective oracles: what a searcher queries, and the keeper of its budget.

A searcher only ever calls :meth:`Oracle.query` with an arch_id and gets a *score* back
(larger is better: the objective itself when maximising, its negation when minimising).
The oracle counts distinct architectures against the budget (repeats are free, as in the
reference), records every paid query in order, and refuses a new architecture once the
budget is spent. :class:`TabularOracle` answers from a table; live mode adds an oracle that
trains what the table lacks, behind the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nares_nas._validation import check_int
from nares_nas.errors import BudgetExhaustedError, ConfigError, UnknownArchError
from nares_nas.metrics import MetricSpec, objective_direction, objective_metric
from nares_nas.space import N_ARCHS, Arch, check_arch_id


def best_first(values: np.ndarray, maximize: bool = True) -> np.ndarray:
    """Indices of the raw objective ``values`` (in query order), best first.

    The reference's ``get_topk_archs``: a stable ascending sort by value, reversed when
    maximising. Among equal values that puts the most recently queried first when
    maximising and the earliest queried first when minimising.
    """
    order = np.argsort(np.asarray(values, dtype=np.float64), kind="stable")
    return order[::-1] if maximize else order


@dataclass(frozen=True)
class Trajectory:
    """Every paid query of one run, in order.

    ``arch_ids[i]`` was the (i+1)-th distinct architecture queried and ``values[i]`` its raw
    objective value. The best architecture is the first of the reference's ``get_topk_archs``
    (:func:`best_first`): the best value, and among equal values the latest queried when
    maximising, the earliest queried when minimising.
    """

    arch_ids: np.ndarray
    values: np.ndarray
    objective: str
    maximize: bool

    def __len__(self) -> int:
        return len(self.arch_ids)

    @property
    def scores(self) -> np.ndarray:
        return self.values if self.maximize else -self.values

    @property
    def best_so_far(self) -> np.ndarray:
        """Best raw objective value after each query."""
        best = np.maximum.accumulate(self.scores)
        return best if self.maximize else -best

    @property
    def best_index(self) -> int:
        """Position of the best query (see the class docstring for ties)."""
        if not len(self.values):
            raise ValueError("an empty trajectory has no best architecture")
        return int(best_first(self.values, self.maximize)[0])

    @property
    def best_arch_id(self) -> int:
        return int(self.arch_ids[self.best_index])

    @property
    def best_value(self) -> float:
        return float(self.values[self.best_index])


class Oracle:
    """Budget keeping and the query log; subclasses supply :meth:`lookup`.

    ``budget`` is the most distinct architectures that may be queried (None: no limit, for
    the reference's overshooting searchers, which then police themselves). ``maximize`` None
    is the objective's own direction (:func:`~nares_nas.metrics.objective_direction`: losses,
    Lipschitz constants and costs are minimised, accuracies maximised).
    """

    def __init__(self, objective: str = "VAL_PGD_ACC", maximize: bool | None = None,
                 budget: int | None = None, reference_test_set: bool = False) -> None:
        if budget is not None:
            budget = check_int(budget, "budget")
        self.objective: MetricSpec = objective_metric(objective, reference_test_set)
        self.maximize = objective_direction(self.objective, maximize)
        self.budget = budget
        self._sign = 1.0 if self.maximize else -1.0
        self._scores: dict[int, float] = {}
        self._log: list[int] = []

    def lookup(self, arch_id: int) -> float:
        """The raw objective value of one architecture (no budget accounting)."""
        raise NotImplementedError

    @property
    def n_queries(self) -> int:
        """Distinct architectures queried so far (the budget spent)."""
        return len(self._log)

    @property
    def remaining(self) -> float:
        """Queries left; ``inf`` without a budget."""
        return float("inf") if self.budget is None else self.budget - len(self._log)

    def seen(self, arch_id: int) -> bool:
        """Whether ``arch_id`` was queried already (so querying it again is free)."""
        if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:  # the fast path is a plain int
            arch_id = check_arch_id(arch_id)
        return arch_id in self._scores

    def query(self, arch_id: int) -> float:
        """The score of ``arch_id`` (larger is better); a repeat is free.

        ``arch_id`` is an ``int`` or a NumPy integer in 1..15,625; anything else raises
        :class:`~nares_nas.errors.InvalidArchError` before the budget is touched.
        """
        if type(arch_id) is not int:  # the fast path is a plain int (never a bool)
            arch_id = check_arch_id(arch_id)
        score = self._scores.get(arch_id)  # holds only ids checked when first queried
        if score is not None:
            return score
        if not 0 < arch_id <= N_ARCHS:
            check_arch_id(arch_id)  # raises, naming the value
        if self.budget is not None and len(self._log) >= self.budget:
            raise BudgetExhaustedError(self.budget)
        value = self.lookup(arch_id)
        score = self._sign * value
        self._scores[arch_id] = score
        self._log.append(arch_id)
        return score

    def query_many(self, arch_ids: np.ndarray) -> np.ndarray:
        """Scores of several architectures, queried in order."""
        return np.array([self.query(a) for a in arch_ids], dtype=np.float64)

    def trajectory(self) -> Trajectory:
        ids = np.array(self._log, dtype=np.int64)
        scores = np.array([self._scores[a] for a in self._log], dtype=np.float64)
        return Trajectory(ids, self._sign * scores, self.objective.name, self.maximize)


class TabularOracle(Oracle):
    """Answers from a (15626,) value array indexed by arch_id, e.g. ``bench.metric_by_id``."""

    def __init__(self, values: np.ndarray, objective: str = "VAL_PGD_ACC", maximize: bool | None = None,
                 budget: int | None = None, source: str = "table",
                 reference_test_set: bool = False) -> None:
        super().__init__(objective, maximize, budget, reference_test_set)
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (N_ARCHS + 1,):
            raise ConfigError(
                f"values must have shape ({N_ARCHS + 1},) indexed by arch_id, got {values.shape}"
            )
        self.source = source
        self._values = values.tolist()  # Python floats: the fastest scalar lookup

    @classmethod
    def from_benchmark(cls, bench, objective: str = "VAL_PGD_ACC", maximize: bool | None = None,
                       budget: int | None = None, reference_test_set: bool = False) -> TabularOracle:
        objective_metric(objective, reference_test_set)
        return cls(bench.metric_by_id(objective), objective, maximize, budget, bench.source,
                   reference_test_set)

    def lookup(self, arch_id: int) -> float:
        if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:
            arch_id = check_arch_id(arch_id)
        value = self._values[arch_id]
        if value != value:  # NaN: not in the table
            raise UnknownArchError(f"{Arch.from_id(arch_id)} (arch_id {arch_id})", self.source,
                                   "train it in live mode (nares-nas search --live)")
        return value
