"""One simulated worker, every value in the table: a searcher's run as a plain loop, its log built at the end.

Why: on one worker, with every value known, a run of local search or regularized evolution on the
clock is a row of new full trainings back to back, each told before the next is chosen. The clock
drives the searcher's generator through it, a round trip per proposal that costs about as much as
the rest of the run (docs/benchmarks.md). A searcher whose run can also be written as a *walk*, a
plain function ``walk(rng, evaluate)`` that makes the same draws and decisions as its generator and
calls ``evaluate(arch_id) -> score`` for each new architecture where the generator would yield it,
offers it through its class's ``simulate_runs``, which calls :func:`walk_runs` (as ASHA offers its
compiled twin). What a proposal is charged and when a budget refuses it stay the
:class:`~nares_nas.simulation.ledger.Ledger`'s; the log is the clock's one-worker log: worker 0,
each evaluation starting where the one before ended. tests/searchers/test_one_worker.py holds both
paths log for log.

What a walk relies on: it evaluates only architectures it has not evaluated before (a repeat is
free on the clock and the walk answers it itself), all at full fidelity, and on one worker the
clock tells each result before the generator's next proposal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import budget_limit, no_evaluation_error
from nares_nas.simulation.ledger import Ledger, Refused
from nares_nas.simulation.log import EvaluationLog
from nares_nas.space import N_ARCHS

Evaluate = Callable[[int], float]
"""A new architecture's full training: its score (larger is better), or :class:`Refused` by a budget."""
Walk = Callable[[np.random.Generator, Evaluate], None]


def walk_runs(searcher: Any, cls: type, table: Any, rngs: Sequence[np.random.Generator], *, search_budget: int | None,
              budget: Budget, workers: int, maximize: Any) -> list[tuple[EvaluationLog, bool]] | None:
    """``simulate_runs`` of a searcher whose ``walk(search_budget, rng, evaluate)`` is its generator's run on one
    worker: :func:`simulate_walks`, or None where a walk does not give the clock's runs (a subclass of ``cls``,
    which may change the run; several workers or objectives; a table without ``lookups()`` and ``arrays()``)."""
    if (type(searcher) is not cls or workers != 1 or not isinstance(maximize, (bool, np.bool_))
            or not hasattr(table, "lookups") or not hasattr(table, "arrays")):
        return None
    return simulate_walks(functools.partial(searcher.walk, search_budget), table, rngs, budget=budget,
                          maximize=bool(maximize))


def simulate_walks(walk: Walk, table: Any, rngs: Sequence[np.random.Generator], *, budget: Budget,
                   maximize: bool) -> list[tuple[EvaluationLog, bool]]:
    """One run of ``walk`` per generator as :func:`~nares_nas.simulation.clock.simulate` makes it on one
    worker: ``(log, stopped)``, with the clock's errors (an unknown value or cost, a budget that pays
    no evaluation)."""
    values, epoch_ticks = table.arrays()
    top = int(table.max_epochs)
    runs = []
    for rng in rngs:
        done: list[int] = []  # the architectures evaluated, in order
        stopped = _walk(walk, rng, done, table, 1.0 if maximize else -1.0, budget)
        runs.append((one_worker_log(table.ticks_per_day, top, done, epoch_ticks * top, values[:, top - 1]), stopped))
    return runs


def _walk(walk: Walk, rng: np.random.Generator, done: list[int], table: Any, sign: float, budget: Budget) -> bool:
    """Run ``walk`` once, appending to ``done`` each architecture it evaluates; whether a budget stopped it."""
    top, tpd = int(table.max_epochs), table.ticks_per_day
    rows, epoch_ticks = table.lookups()  # what the clock reads: no per-run copy of the table
    column = top - 1
    ledger = Ledger.for_budget(budget, top, tpd)
    archs_limit = N_ARCHS if ledger.archs is None else ledger.archs  # every architecture at most: no limit
    limited = ledger.limited

    def evaluate(arch_id: int) -> float:
        """The clock's one-worker path for a new architecture's full training (see Simulation._run)."""
        if len(done) >= archs_limit:
            raise Refused("archs")
        if limited or epoch_ticks[arch_id] < 0:
            cost = epoch_ticks[arch_id] * top
            if cost < 0:
                table.cost_ticks(arch_id, top)  # raises its error
            try:
                ledger.admit(top, cost, ledger.spent + cost)  # one worker: it starts at the cost so far
            except Refused as refusal:
                if not done:
                    raise no_evaluation_error(budget_limit(budget, refusal.kind), arch_id, top, cost, tpd) from None
                raise
            ledger.spent += cost
            ledger.epochs += top
        value = rows[arch_id][column]
        if value != value:  # NaN: not in the table
            table.value(arch_id, top)  # raises its error
        done.append(arch_id)
        return sign * value

    try:
        walk(rng, evaluate)
    except Refused:
        return True
    return False


def one_worker_log(ticks_per_day: int, max_epochs: int, archs: list[int], costs: np.ndarray,
                   values: np.ndarray) -> EvaluationLog:
    """The clock's log of full trainings of ``archs`` back to back on worker 0 from time 0, ``costs`` and
    ``values`` indexed by arch_id."""
    ids = np.asarray(archs, dtype=np.int64)
    cost = costs[ids].astype(np.int64)
    end = np.cumsum(cost)
    zeros = np.zeros(len(ids), dtype=np.int64)
    return EvaluationLog(ticks_per_day, ids, zeros, np.full(len(ids), max_epochs, dtype=np.int64), zeros.copy(),
                         end - cost, end, cost, values[ids].astype(np.float64))  # arrays, as the codec takes them
