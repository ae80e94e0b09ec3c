"""The searcher contract as one check that plugin authors can run on their own class.

In the spirit of scikit-learn's ``check_estimator``::

    from nares_nas.searchers.contract import check_searcher
    check_searcher(MySearcher)            # raises AssertionError naming what is broken

It runs the searcher on a small constructed landscape (:func:`toy_objective`) and checks that
the budget is respected and spent (a run stops at ``budget`` distinct queries, not before,
unless it has queried the whole space), that repeated queries are free and recorded once,
that a seed determines the run (alone or handed to ``run_many`` with other seeds), and that
the searcher pickles (the harness ships it to worker processes).

A :attr:`~Searcher.multi_fidelity` searcher proposes trainings of fewer epochs, which a plain
oracle refuses, so it is checked on the simulated clock instead (:func:`nares_nas.simulation.clock.simulate`
over :class:`ToyFidelityTable`, on 1 and 3 workers) for the same properties: its budget of
distinct architectures spent and not exceeded, a seed determining the run (alone, after a
pickle round trip, and with other seeds), hyper-parameters unchanged.

A :attr:`~Searcher.multi_objective` searcher is checked on the clock too, over
:class:`ToyObjectivesTable` (two objectives, the first maximised and the second minimised, so
the scores it is told are the raw vectors times ``(+1, -1)``), on 1 and 4 workers, for the
same properties; and once more with a constraint (:func:`toy_objectives` ``constrained``), whose
infeasible architectures it is told as ``-inf`` vectors: it must still spend its budget.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nares_nas.asktell import lockstep
from nares_nas.errors import BudgetExhaustedError
from nares_nas.oracle import TabularOracle, Trajectory
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import Simulation, simulate
from nares_nas.space import N_ARCHS, SPACE, archs_by_id, macs_by_id

from ._base import Searcher


def toy_objective(seed: int = 0) -> np.ndarray:
    """(15626,) objective values by arch_id: a smooth function of (D, W) plus seeded noise.

    Rounded to two decimals like NARes accuracies, so equal values (ties) occur.
    """
    rng = np.random.default_rng(seed)
    archs = archs_by_id().astype(np.float64)
    depth = archs[:, 0::2].mean(axis=1)
    width = archs[:, 1::2].mean(axis=1)
    smooth = 30.0 + 4.0 * np.tanh((depth - 4.0) / 4.0) + 3.0 * np.tanh((width - 8.0) / 5.0)
    values = np.full(N_ARCHS + 1, np.nan)
    values[1:] = np.round(smooth + rng.normal(0.0, 0.4, N_ARCHS), 2)
    return values


class CallLog(TabularOracle):
    """A table oracle that also records every call, repeats included."""

    def __init__(self, values: np.ndarray, budget: int | None) -> None:
        super().__init__(values, budget=budget, source="toy_objective")
        self.calls: list[int] = []

    def query(self, arch_id: int) -> float:
        self.calls.append(arch_id)
        return super().query(arch_id)


class ToyFidelityTable:
    """:func:`toy_objective` with a history, as the clock reads a table
    (:class:`nares_nas.simulation.clock.EvaluationTable`).

    ``max_epochs`` epochs; after ``e`` of them an architecture scores its toy value less
    ``0.1 * (max_epochs - e)`` (rounded to two decimals); an epoch of ``arch_id`` costs
    ``1 + arch_id % 3`` ticks, a simulated day is one tick.
    """

    ticks_per_day = 1
    from_scratch = False

    def __init__(self, values: np.ndarray, max_epochs: int = 27) -> None:
        self.values = values
        self.max_epochs = max_epochs

    def value(self, arch_id: int, epochs: int) -> float:
        return round(float(self.values[arch_id]) - 0.1 * (self.max_epochs - epochs), 2)

    def cost_ticks(self, arch_id: int, epochs: int, epoch_from: int = 0) -> int:
        return (1 + arch_id % 3) * (epochs - epoch_from)


def toy_objectives(seed: int = 0, constrained: bool = False) -> np.ndarray:
    """(15626, 2) raw values by arch_id: :func:`toy_objective` (maximised) and GMACs (minimised).

    GMACs rounded to two decimals (so both objectives have ties). ``constrained``: the
    architectures above the median GMACs violate the constraint; their raw values are
    ``(-inf, +inf)``, which the clock's signs turn into a score of ``-inf`` in both objectives.
    """
    values = np.full((N_ARCHS + 1, 2), np.nan)
    values[:, 0] = toy_objective(seed)
    values[1:, 1] = np.round(macs_by_id() / 1e9, 2)
    if constrained:
        over = np.flatnonzero(values[:, 1] > np.median(values[1:, 1]))
        values[over] = (-np.inf, np.inf)
    return values


class ToyObjectivesTable:
    """:func:`toy_objectives` as the clock reads a multi-objective table: one fidelity, vector values.

    An evaluation of ``arch_id`` lasts ``1 + arch_id % 3`` ticks (so on several workers results
    come back out of order); a simulated day is one tick.
    """

    max_epochs = 1
    ticks_per_day = 1
    from_scratch = False
    maximize = (True, False)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def value(self, arch_id: int, epochs: int) -> np.ndarray:
        return self.values[arch_id]

    def cost_ticks(self, arch_id: int, epochs: int, epoch_from: int = 0) -> int:
        return (1 + arch_id % 3) * (epochs - epoch_from)


def _simulate_objectives(searcher: Searcher, table: ToyObjectivesTable, seeds: Sequence[int], budget: int,
                         workers: int) -> list:
    """One clock simulation per seed, driven together; the finished simulations."""
    fresh = [searcher.clone() for _ in seeds]
    told = (True,) * len(table.maximize)  # a searcher is told larger-is-better scores, one per objective
    sims = [Simulation(table, s.propose(SPACE, budget, np.random.default_rng(seed), maximize=told, max_epochs=1),
                       workers=workers,
                       budget=Budget(archs=budget), maximize=table.maximize) for s, seed in zip(fresh, seeds)]
    lockstep(sims)
    return sims


def _record(sim) -> tuple:
    """What a run did, comparable with ``==``: its evaluations and their value vectors."""
    log = sim.log
    return (log.arch_id, log.worker, log.start, log.end, np.asarray(log.value, dtype=np.float64).tobytes())


def _check_multi_objective(searcher: Searcher, budget: int, seeds: Sequence[int]) -> None:
    """The contract on the simulated clock, for a searcher told score vectors."""
    table = ToyObjectivesTable(toy_objectives())
    _check_on_clock(searcher, lambda s, seeds, workers: _simulate_objectives(s, table, seeds, budget, workers),
                    _record, budget, seeds, (1, 4), f"its budget {budget}")
    constrained = ToyObjectivesTable(toy_objectives(constrained=True))
    (run,) = _simulate_objectives(searcher, constrained, seeds[:1], budget, 4)
    archs = len(set(run.log.arch_id))
    if run.stopped or archs < min(budget, N_ARCHS):
        _fail(searcher, f"seed {seeds[0]}, with a constraint: {archs} distinct architectures for a budget of "
                        f"{budget}{' (asked for more)' if run.stopped else ''}")


def _check_multi_fidelity(searcher: Searcher, values: np.ndarray, budget: int, seeds: Sequence[int]) -> None:
    """The contract on the simulated clock, for a searcher that proposes fidelities."""
    table = ToyFidelityTable(values)
    cap = searcher.query_cap(budget)
    limit = Budget(archs=cap)
    _check_on_clock(searcher, lambda s, seeds, workers: simulate(s, table, seeds, budget=limit, search_budget=budget,
                                                                 workers=workers),
                    lambda run: run.log, budget, seeds, (1, 3), f"its query cap {cap} (budget {budget})")


def _check_on_clock(searcher: Searcher, simulate_seeds: Callable[[Searcher, list[int], int], list],
                    record: Callable[[Any], Any], budget: int, seeds: Sequence[int], workers_to_try: Sequence[int],
                    limit: str) -> None:
    """Budget, determinism, unchanged hyper-parameters and pickling of a proposing searcher, on each
    number of workers: ``simulate_seeds(searcher, seeds, workers)`` runs it (its runs have ``log``
    and ``stopped``), ``record(run)`` is what two equal runs share."""
    params = searcher.get_params()
    for workers in workers_to_try:
        alone = {}
        for seed in seeds:
            (run,) = simulate_seeds(searcher, [seed], workers)
            archs = len(set(run.log.arch_id))
            if run.stopped:
                _fail(searcher, f"seed {seed}, {workers} workers: asked for a new architecture after {limit}")
            if archs < min(budget, N_ARCHS):
                _fail(searcher, f"seed {seed}, {workers} workers: stopped after {archs} distinct architectures of "
                                f"a budget of {budget} (start new ones until the budget is spent)")
            if searcher.get_params() != params:
                _fail(searcher, "a run changed the hyper-parameters")
            (again,) = simulate_seeds(type(searcher)(**params), [seed], workers)
            if record(again) != record(run):
                _fail(searcher, f"seed {seed}, {workers} workers: two runs differ; draw every random number from "
                                "the rng passed in")
            try:
                copy = pickle.loads(pickle.dumps(searcher))
            except Exception as exc:  # any pickling failure breaks the harness's workers
                raise AssertionError(f"{searcher!r} does not pickle: {type(exc).__name__}: {exc}") from exc
            (unpickled,) = simulate_seeds(copy, [seed], workers)
            if record(unpickled) != record(run):
                _fail(searcher, f"seed {seed}, {workers} workers: the unpickled searcher runs differently")
            alone[seed] = record(run)
        together = simulate_seeds(searcher, list(seeds), workers)
        for seed, run in zip(seeds, together):
            if record(run) != alone[seed]:
                _fail(searcher, f"seed {seed}, {workers} workers: a run among seeds {list(seeds)} differs from "
                                "the run alone")


def _fail(searcher: Searcher, message: str) -> None:
    raise AssertionError(f"{searcher!r}: {message}")


def _run(searcher: Searcher, values: np.ndarray, budget: int, seed: int) -> tuple[Trajectory, CallLog]:
    cap = searcher.query_cap(budget)
    oracle = CallLog(values, cap)
    try:
        trajectory = searcher.run(SPACE, oracle, budget, np.random.default_rng(seed))
    except BudgetExhaustedError:
        _fail(searcher, f"asked for a new architecture after its query cap {cap} (budget {budget})")
    return trajectory, oracle


def _check_run(searcher: Searcher, values: np.ndarray, budget: int, seed: int) -> Trajectory:
    trajectory, oracle = _run(searcher, values, budget, seed)
    if not isinstance(trajectory, Trajectory):
        _fail(searcher, f"run() returned {type(trajectory).__name__}, not a Trajectory")
    cap = searcher.query_cap(budget)
    if cap is not None and (cap < budget or len(trajectory) > cap):
        _fail(searcher, f"seed {seed}: {len(trajectory)} distinct queries with budget {budget}, cap {cap}")
    ids = trajectory.arch_ids
    if len(ids) == 0:
        _fail(searcher, f"seed {seed}: no architecture queried")
    if len(np.unique(ids)) != len(ids) or ids.min() < 1 or ids.max() > N_ARCHS:
        _fail(searcher, f"seed {seed}: the trajectory must list distinct arch_ids in 1..{N_ARCHS}")
    # Repeats are free: the paid log is exactly the first occurrence of every call, in order.
    first = list(dict.fromkeys(oracle.calls))
    if first != ids.tolist():
        _fail(searcher, f"seed {seed}: the trajectory is not the oracle's record of its queries "
                        "(query only through oracle.query and return oracle.trajectory())")
    if not np.array_equal(trajectory.values, values[ids]):
        _fail(searcher, f"seed {seed}: trajectory values differ from the objective")
    if len(ids) < min(budget, N_ARCHS):
        _fail(searcher, f"seed {seed}: stopped after {len(ids)} distinct queries of a budget of {budget} "
                        f"while {N_ARCHS - len(ids)} architectures were never queried "
                        "(search until oracle.remaining is 0)")
    return trajectory


def check_searcher(searcher: Searcher | type[Searcher], *, budget: int = 60, seeds: Sequence[int] = (0, 1),
                   values: np.ndarray | None = None) -> None:
    """Raise ``AssertionError`` if ``searcher`` (a class or an instance) breaks the contract.

    A :attr:`~Searcher.multi_fidelity` or :attr:`~Searcher.multi_objective` searcher runs on
    the simulated clock instead of an oracle (see the module docstring); ``values`` is then unused
    by the multi-objective check. Checks: hyper-parameters round-trip through ``get_params`` and
    are not changed by a run;
    at most ``query_cap(budget)`` distinct queries (never fewer allowed than ``budget``) and
    at least ``budget`` (or the whole space): a searcher spends its budget;
    repeats are free and recorded once; the same seed gives the same trajectory, also after
    a pickle round trip and when ``run_many`` runs all ``seeds`` together.
    """
    if isinstance(searcher, type):
        if not issubclass(searcher, Searcher):
            raise AssertionError(f"{searcher!r} is not a subclass of nares_nas.searchers.Searcher")
        searcher = searcher()
    if not isinstance(searcher, Searcher):
        raise AssertionError(f"{searcher!r} is not a nares_nas.searchers.Searcher")
    values = toy_objective() if values is None else values
    params = searcher.get_params()
    if searcher.clone().get_params() != params:
        _fail(searcher, "__init__ must store its hyper-parameters unchanged (get_params round trip)")
    if getattr(searcher, "multi_objective", False):
        _check_multi_objective(searcher, budget, seeds)
        if not getattr(searcher, "single_objective", True):
            return
    if searcher.multi_fidelity:
        _check_multi_fidelity(searcher, values, budget, seeds)
        return

    alone: dict[int, Trajectory] = {}
    for seed in seeds:
        first = _check_run(searcher, values, budget, seed)
        if searcher.get_params() != params:
            _fail(searcher, "a run changed the hyper-parameters")
        again = _check_run(searcher.clone(), values, budget, seed)
        if not (np.array_equal(first.arch_ids, again.arch_ids) and np.array_equal(first.values, again.values)):
            _fail(searcher, f"seed {seed}: two runs differ; draw every random number from the rng passed in")
        try:
            copy = pickle.loads(pickle.dumps(searcher))
        except Exception as exc:  # any pickling failure breaks the harness's workers
            raise AssertionError(f"{searcher!r} does not pickle: {type(exc).__name__}: {exc}") from exc
        if copy.get_params() != params:
            _fail(searcher, "hyper-parameters differ after a pickle round trip")
        unpickled = _check_run(copy, values, budget, seed)
        if not np.array_equal(first.arch_ids, unpickled.arch_ids):
            _fail(searcher, f"seed {seed}: the unpickled searcher runs differently")
        alone[seed] = first
    cap = searcher.query_cap(budget)
    oracles = [TabularOracle(values, budget=cap, source="toy") for _ in seeds]
    together = type(searcher)(**params).run_many(SPACE, oracles, budget, [np.random.default_rng(s) for s in seeds])
    for seed, trajectory in zip(seeds, together):
        if not (np.array_equal(alone[seed].arch_ids, trajectory.arch_ids)
                and np.array_equal(alone[seed].values, trajectory.values)):
            _fail(searcher, f"seed {seed}: run_many over seeds {list(seeds)} differs from run() alone")
