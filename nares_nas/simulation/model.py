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
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np

from nares_nas import metrics as _metrics
from nares_nas._validation import check_int, integer_problem
from nares_nas.data.benchmark import Benchmark
from nares_nas.errors import ConfigError, UnknownArchError
from nares_nas.fidelity import SECONDS_PER_DAY, check_epochs, fidelity_metric, training_seconds
from nares_nas.metrics import objective_metric
from nares_nas.space import N_ARCHS, Arch, check_arch_id


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


def _value_lookup(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """Nested tuples of Python floats: the fastest scalar lookup, and, holding no containers,
    untracked by the cyclic garbage collector, so a table adds nothing to its passes."""
    return tuple(map(tuple, values.tolist()))


def _lookups(values: np.ndarray, seconds: np.ndarray) -> tuple[tuple, tuple]:
    """The value lookup (:func:`_value_lookup`) and the seconds' (:func:`_seconds_lookup`)."""
    return _value_lookup(values), _seconds_lookup(seconds)


def _seconds_lookup(seconds: np.ndarray) -> tuple[int, ...]:
    """A tuple of Python ints, the cost of an epoch by arch_id."""
    return tuple(seconds.tolist())


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

    # The lookups are made on first use (0.1-0.2 s for a full table): compiled code reads arrays()
    # and never needs them.
    @cached_property
    def _values(self) -> tuple[tuple[float, ...], ...]:
        return _value_lookup(self._array)

    @cached_property
    def _seconds(self) -> tuple[int, ...]:
        return _seconds_lookup(self._seconds_array)

    # A pickle (a joblib or Dask task) carries the arrays, which joblib memory-maps, not the
    # lookups; a process rebuilds those once per model and reuses them for the next task.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for lookup in ("_values", "_seconds"):  # absent where never used
            state.pop(lookup, None)
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
        compiled code (:mod:`nares_nas.searchers._asha_compiled`)."""
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


def as_model(evaluator: np.ndarray | EvaluationModel, objective: str = "VAL_PGD_ACC") -> EvaluationModel:
    """An :class:`EvaluationModel`; a plain (15626,) value array becomes one full fidelity costing 1 GPU-day."""
    if isinstance(evaluator, EvaluationModel):
        return evaluator
    values = np.asarray(evaluator, dtype=np.float64)
    if values.shape != (N_ARCHS + 1,):
        raise ConfigError(f"objective values must have shape ({N_ARCHS + 1},) indexed by arch_id, "
                          f"got {values.shape}")
    return EvaluationModel(values[:, None], np.ones(N_ARCHS + 1), objective=objective, source="values")


def evaluation_model(bench: Benchmark, objective: str, *, from_scratch: bool = False) -> EvaluationModel:
    """The clock's model of ``bench`` for ``objective``: its fidelities and costs.

    An objective without a per-epoch history (``TRAINING_TIME``) has the one full fidelity.
    """
    spec = objective_metric(objective)
    if spec.kind in ("history", "count"):
        return EvaluationModel.from_benchmark(bench, spec.name, from_scratch=from_scratch)
    return EvaluationModel(bench.metric_by_id(spec.name)[:, None], bench.metric_by_id("TRAINING_TIME"),
                           objective=spec.name, from_scratch=from_scratch, source=bench.source)
