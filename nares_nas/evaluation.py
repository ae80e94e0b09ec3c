"""The evaluation model: what training an architecture for ``e`` epochs yields, and what it costs.

**Fidelity.** For a profile of ``E`` epochs (E = 100 for NARes), training for ``e`` epochs
(1 ≤ e ≤ E) yields each metric at the epoch the protocol would have selected among the first
``e``: the recorded ``best_epoch`` when it lies among them (``best_epoch < e``: the selection of
the whole run is then also that of the prefix), otherwise the first maximum of the recorded
validation CW-40 over epoch indices ``0..e-1`` (strict ``>``, as the trainer selects, spec §2.8).
At ``e = E`` this is exactly the table's value. Recorded values are rounded, so CW-40 can tie
before ``best_epoch``; the recorded ``best_epoch`` wins whenever it is within reach. Every metric
with a per-epoch history supports fidelity, and so does ``BEST_EPOCH`` (the selected epoch
itself); ``MACS`` and ``PARAMS`` are free and the same at every fidelity; test-set metrics,
corruptions and ``TRAINING_TIME`` have no per-epoch value. The count is named ``epochs``
(1-based), distinct from the 0-based ``epoch`` index of :func:`nares_nas.metrics.compute`.

**Cost.** Training to ``e`` epochs costs ``e/E × training_time`` GPU-days (every epoch does the
same work, its validation included); continuing a paused architecture from ``e1`` to ``e2``
costs ``(e2 − e1)/E × training_time``, or ``e2/E × training_time`` with ``from_scratch=True``.

**Time units.** ``training_time`` is recorded in GPU-days with two decimals (the log's
``Running Cost %.2f Days``, spec §2.9 and §4), and 0.01 day is 864 s, so a whole number of
seconds holds every recorded value exactly (an unrounded live value is rounded to the second).
Costs are kept exactly as integer *ticks* of ``1/E`` second: ``e`` epochs of an architecture
trained in ``s`` seconds cost ``s × e`` ticks, and a day has ``86,400 × E`` ticks
(:attr:`EvaluationModel.ticks_per_day`). The float GPU-days of a cost are its ticks divided by
that, so the two never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import metrics as _metrics
from ._validation import check_int, integer_problem
from .errors import ConfigError, DataFormatError, MetricError, UnknownArchError
from .metrics import METRICS, MetricSpec
from .space import N_ARCHS, Arch, check_arch_id

SECONDS_PER_DAY = 86_400
SELECTION_COLUMN = "cw"  # validation PGD-CW-40 accuracy selects the epoch (spec §2.8)
FREE_METRICS: tuple[str, ...] = tuple(n for n, s in METRICS.items() if s.kind == "count")
FIDELITY_METRICS: tuple[str, ...] = tuple(
    n for n, s in METRICS.items() if s.kind == "history" or n == "BEST_EPOCH"
)


@dataclass(frozen=True)
class Evaluation:
    """One training of ``arch_id`` from epoch count ``epoch_from`` to ``epoch_to``.

    ``epoch_from`` is 0 for a training from scratch; ``value`` is the objective after
    ``epoch_to`` epochs (the fidelity rule); ``cost`` is in GPU-days. The clock adds the worker
    and the start and end times.
    """

    arch_id: int
    epoch_from: int
    epoch_to: int
    cost: float
    value: float

    @property
    def epochs(self) -> int:
        """Epochs trained by this evaluation."""
        return self.epoch_to - self.epoch_from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- validation
def check_epochs(epochs: Any, max_epochs: int, name: str = "epochs") -> int:
    """Return ``epochs`` as an int, or raise :class:`ConfigError` if it is not an integer in ``1..max_epochs``."""
    return check_int(epochs, name, 1, max_epochs)


def fidelity_metric(name: str | MetricSpec) -> MetricSpec:
    """Resolve ``name`` as a metric that has a value after any number of epochs."""
    spec = _metrics.resolve_metric(name)
    if spec.name not in FIDELITY_METRICS and spec.name not in FREE_METRICS:
        test = " (a test-set metric, measured once at the best epoch)" if spec.is_test else ""
        raise MetricError(
            f"{spec.name} has no per-epoch history{test}, so it has no value after a number of epochs; "
            f"metrics with one: {', '.join(FIDELITY_METRICS)} ({' and '.join(FREE_METRICS)} are "
            "the same at every fidelity)"
        )
    return spec


# --------------------------------------------------------------------------- the fidelity rule
def selected_epochs(cw: np.ndarray, best_epoch: np.ndarray) -> np.ndarray:
    """The 0-based epoch selected after ``e`` epochs, for every row and every ``e``.

    ``cw`` is the ``(rows, E)`` validation CW-40 history, ``best_epoch`` the recorded ``(rows,)``
    selection. Returns a ``(rows, E)`` int64 array whose column ``e - 1`` is the selection after
    ``e`` epochs: ``best_epoch`` where ``best_epoch < e``, else the first maximum of
    ``cw[:, :e]`` (a NaN is never selected after epoch 0). Its last column is ``best_epoch``.
    """
    cw = np.asarray(cw, dtype=np.float64)
    best = np.asarray(best_epoch, dtype=np.int64)
    if cw.ndim != 2 or best.shape != cw.shape[:1]:
        raise ValueError(f"cw must be (rows, epochs) and best_epoch (rows,), got {cw.shape} and {best.shape}")
    rows, n_epochs = cw.shape
    bad = np.flatnonzero((best < 0) | (best >= n_epochs))
    if len(bad):
        raise DataFormatError(f"best_epoch {int(best[bad[0]])} of row {int(bad[0])} is outside "
                              f"0..{n_epochs - 1}", key="best_epoch")
    filled = np.where(np.isnan(cw), -np.inf, cw)
    running = np.maximum.accumulate(filled, axis=1)
    improves = np.ones((rows, n_epochs), dtype=bool)
    improves[:, 1:] = filled[:, 1:] > running[:, :-1]  # strict: a tie keeps the earlier epoch
    first_max = np.maximum.accumulate(np.where(improves, np.arange(n_epochs), 0), axis=1)
    within = best[:, None] < np.arange(1, n_epochs + 1)
    return np.where(within, best[:, None], first_max)


def table_selected_epochs(columns: Mapping[str, np.ndarray], rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """:func:`selected_epochs` of ``rows`` of a columnar table (:mod:`nares_nas.table`)."""
    return selected_epochs(columns[SELECTION_COLUMN][rows], columns["best_epoch"][rows])


def fidelity_matrix(
    columns: Mapping[str, np.ndarray],
    metric: str | MetricSpec,
    rows: np.ndarray | slice = slice(None),
    selected: np.ndarray | None = None,
) -> np.ndarray:
    """``(rows, E)`` float64: column ``e - 1`` holds ``metric`` after ``e`` epochs.

    ``selected`` may pass :func:`table_selected_epochs` of the same rows, computed once.
    """
    spec = fidelity_metric(metric)
    n_epochs = columns[SELECTION_COLUMN].shape[1]
    if spec.kind == "count":
        values = _metrics.compute(columns, spec, rows)
        return np.repeat(values[:, None], n_epochs, axis=1)
    if selected is None:
        selected = table_selected_epochs(columns, rows)
    if spec.name == "BEST_EPOCH":
        return selected.astype(np.float64)
    history = np.asarray(columns[spec.column][rows])
    return np.take_along_axis(history, selected, axis=1).astype(np.float64)


def fidelity_values(
    columns: Mapping[str, np.ndarray],
    metric: str | MetricSpec,
    epochs: int,
    rows: np.ndarray | slice = slice(None),
) -> np.ndarray:
    """``metric`` of ``rows`` after ``epochs`` epochs (1-based count), float64."""
    spec = fidelity_metric(metric)
    epochs = check_epochs(epochs, columns[SELECTION_COLUMN].shape[1])
    if spec.kind == "count":
        return _metrics.compute(columns, spec, rows)
    cw = np.asarray(columns[SELECTION_COLUMN][rows], dtype=np.float64)[:, :epochs]
    first_max = np.argmax(np.where(np.isnan(cw), -np.inf, cw), axis=1)  # argmax: the first maximum
    best = np.asarray(columns["best_epoch"][rows], dtype=np.int64)
    index = np.where(best < epochs, best, first_max)
    if spec.name == "BEST_EPOCH":
        return index.astype(np.float64)
    history = np.asarray(columns[spec.column][rows])
    return history[np.arange(history.shape[0]), index].astype(np.float64)


# --------------------------------------------------------------------------- the cost model
def training_seconds(training_time: np.ndarray) -> np.ndarray:
    """GPU-days to whole seconds (int64); -1 where the value is NaN. Negative days raise."""
    days = np.asarray(training_time, dtype=np.float64)
    bad = np.flatnonzero(days < 0)
    if len(bad):
        raise DataFormatError(f"training_time {days[bad[0]]} at index {int(bad[0])} is negative",
                              key="training_time")
    seconds = np.full(days.shape, -1, dtype=np.int64)
    known = np.isfinite(days)
    seconds[known] = np.rint(days[known] * SECONDS_PER_DAY).astype(np.int64)
    return seconds


def _lookups(values: np.ndarray, seconds: np.ndarray) -> tuple[tuple, tuple]:
    """Nested tuples of Python floats (and a tuple of ints): the fastest scalar lookup, and,
    holding no containers, untracked by the cyclic garbage collector, so a table adds nothing
    to its passes."""
    return tuple(map(tuple, values.tolist())), tuple(seconds.tolist())


_UNPICKLED: dict[str, tuple[tuple, tuple]] = {}  # model token -> lookups, built in this process
_UNPICKLED_KEPT = 2


class EvaluationModel:
    """The objective and cost of training architectures of one table for some epochs.

    ``values`` is ``(15626, E)``, indexed ``[arch_id, epochs - 1]`` (NaN where the table has no
    record), e.g. :meth:`nares_nas.Benchmark.fidelity_matrix`; ``training_time`` is ``(15626,)``
    GPU-days indexed by arch_id. ``free`` marks an objective known without training (``MACS``,
    ``PARAMS``): every evaluation then costs nothing. ``from_scratch`` charges every evaluation
    as a training from epoch 0 (and records it with ``epoch_from = 0``), instead of charging a
    continuation only for the epochs it adds.
    """

    def __init__(self, values: np.ndarray, training_time: np.ndarray, *, objective: str = "VAL_PGD_ACC",
                 from_scratch: bool = False, free: bool = False, source: str = "table") -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] != N_ARCHS + 1 or values.shape[1] < 1:
            raise ConfigError(f"values must have shape ({N_ARCHS + 1}, epochs) indexed by arch_id, "
                              f"got {values.shape}")
        times = np.asarray(training_time, dtype=np.float64)
        if times.shape != (N_ARCHS + 1,):
            raise ConfigError(f"training_time must have shape ({N_ARCHS + 1},) indexed by arch_id, "
                              f"got {times.shape}")
        self.objective = objective
        self.max_epochs = int(values.shape[1])
        self.from_scratch = bool(from_scratch)
        self.free = bool(free)
        self.source = source
        self._array = np.array(values)  # own copies: what a pickle carries
        self._seconds_array = training_seconds(times)
        self._array.flags.writeable = self._seconds_array.flags.writeable = False
        self._token = uuid.uuid4().hex  # names this model's lookups in worker processes
        self._values, self._seconds = _lookups(self._array, self._seconds_array)

    # A pickle (a joblib or Dask task) carries the arrays, which joblib memory-maps, not the
    # lookups; a process rebuilds those once per model and reuses them for the next task.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_values"], state["_seconds"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        lookups = _UNPICKLED.pop(self._token, None)
        if lookups is None:
            lookups = _lookups(self._array, self._seconds_array)
        _UNPICKLED[self._token] = lookups  # the most recent last
        while len(_UNPICKLED) > _UNPICKLED_KEPT:
            del _UNPICKLED[next(iter(_UNPICKLED))]
        self._values, self._seconds = lookups

    @classmethod
    def from_benchmark(cls, bench, objective: str = "VAL_PGD_ACC", *, from_scratch: bool = False,
                       reference_test_set: bool = False) -> EvaluationModel:
        """The model of ``bench`` (a :class:`~nares_nas.Benchmark`) for ``objective``.

        Test-set metrics are refused as objectives; a metric without a per-epoch history too.
        """
        spec = fidelity_metric(_metrics.objective_metric(objective, reference_test_set))
        return cls(bench.fidelity_matrix(spec.name), bench.metric_by_id("TRAINING_TIME"),
                   objective=spec.name, from_scratch=from_scratch, free=spec.kind == "count",
                   source=bench.source)

    def __repr__(self) -> str:
        return (f"EvaluationModel({self.objective}, E={self.max_epochs}, from_scratch={self.from_scratch}, "
                f"source={self.source!r})")

    @property
    def ticks_per_day(self) -> int:
        """Integer cost units per GPU-day: a tick is ``1/E`` second."""
        return SECONDS_PER_DAY * self.max_epochs

    def days(self, ticks: int) -> float:
        """Ticks as (GPU- or simulated) days."""
        return ticks / self.ticks_per_day

    def ticks(self, days: float) -> int:
        """Days as the nearest whole number of ticks (for budgets given in days)."""
        return int(round(days * self.ticks_per_day))

    def value(self, arch_id: int, epochs: int) -> float:
        """The objective of ``arch_id`` after ``epochs`` epochs (1-based count)."""
        if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:  # the fast path is a plain int
            arch_id = check_arch_id(arch_id)
        if type(epochs) is not int or not 0 < epochs <= self.max_epochs:
            epochs = check_epochs(epochs, self.max_epochs)
        value = self._values[arch_id][epochs - 1]
        if value != value:  # NaN: not in the table
            raise self._missing(arch_id)
        return value

    def cost_ticks(self, arch_id: int, epochs: int, epoch_from: int = 0) -> int:
        """The exact cost, in ticks, of training ``arch_id`` from ``epoch_from`` to ``epochs`` epochs."""
        if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:
            arch_id = check_arch_id(arch_id)
        if type(epochs) is not int or not 0 < epochs <= self.max_epochs:
            epochs = check_epochs(epochs, self.max_epochs)
        if type(epoch_from) is not int or not 0 <= epoch_from < epochs:
            epoch_from = self._check_from(epoch_from, epochs)
        if self.free:
            return 0
        seconds = self._seconds[arch_id]
        if seconds < 0:
            known = self._values[arch_id][-1] == self._values[arch_id][-1]  # not NaN: the table has a record
            raise self._missing(arch_id, "training_time" if known else "")
        return seconds * (epochs if self.from_scratch else epochs - epoch_from)

    def lookups(self) -> tuple[tuple[tuple[float, ...], ...], tuple[int, ...]]:
        """``(values, epoch_ticks)`` for the clock to read directly: ``values[arch_id][epochs - 1]``
        (NaN where the table has no record) and the ticks of one epoch by arch_id (0 for a free
        objective; negative where unknown). A tick is 1/E second, so an epoch costs the
        architecture's training time in whole seconds, in ticks. Where a value is NaN or a cost
        negative, :meth:`value` and :meth:`cost_ticks` give the error."""
        return self._values, (self._zeros if self.free else self._seconds)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`lookups` as read-only arrays, ``(15626, E)`` float64 and ``(15626,)`` int64, for
        compiled code (:mod:`nares_nas.compiled_asha`)."""
        return self._array, (np.zeros_like(self._seconds_array) if self.free else self._seconds_array)

    @property
    def _zeros(self) -> tuple[int, ...]:
        return (0,) * len(self._seconds)

    def elapsed(self, arch_id: int, epochs: int) -> int:
        """Ticks of training ``arch_id`` from scratch to ``epochs`` epochs (0..E; 0 costs 0).

        The clock's view of the cost model: a continuation from ``e1`` to ``e2`` costs
        ``elapsed(a, e2) - elapsed(a, e1)``.
        """
        if integer_problem(epochs, 0, 0) is None:
            check_arch_id(arch_id)
            return 0
        return self.cost_ticks(arch_id, epochs)

    def cost(self, arch_id: int, epochs: int, epoch_from: int = 0) -> float:
        """:meth:`cost_ticks` in GPU-days."""
        return self.days(self.cost_ticks(arch_id, epochs, epoch_from))

    def evaluate(self, arch_id: int, epochs: int, epoch_from: int = 0) -> Evaluation:
        """Train ``arch_id`` to ``epochs`` epochs, continuing from ``epoch_from`` (0: from scratch)."""
        ticks = self.cost_ticks(arch_id, epochs, epoch_from)
        start = 0 if self.from_scratch else int(epoch_from)
        return Evaluation(int(arch_id), start, int(epochs), self.days(ticks), self.value(arch_id, epochs))

    def _check_from(self, epoch_from: Any, epochs: int) -> int:
        return check_int(epoch_from, f"epoch_from (below epochs={epochs})", 0, epochs - 1)

    def _missing(self, arch_id: int, what: str = "") -> UnknownArchError:
        hint = f"its record has no {what}" if what else "train it in live mode (nares-nas search --live)"
        return UnknownArchError(f"{Arch.from_id(arch_id)} (arch_id {arch_id})", self.source, hint)
