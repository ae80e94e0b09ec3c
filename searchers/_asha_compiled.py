"""ASHA on the simulated clock, compiled: the schedule of :class:`~nares_nas.simulation.clock.Simulation`
running :class:`~nares_nas.searchers.Asha`'s generator, as one numba function.

Why a second implementation: ASHA on a table is thousands of cheap evaluations per run
(≈ 5,450 at the cost of 500 full trainings with ``min_epochs=4`` on 8 workers), and in Python
each costs 7–10 µs of event loop and generator switching, a floor that no further tuning moved
(docs/benchmarks.md): 400 such runs took 16–24 s. Compiled, the clock and ASHA's rungs run as
plain machine code over arrays, and they take 2.3 s.
The generator stays the definition (live mode, every other table, multi-objective runs use it);
this twin is used by :func:`~nares_nas.simulation.clock.simulate` only where it gives the same run: exactly
an ``Asha`` (not a subclass), one objective, and a table offering ``arrays()``
(:class:`~nares_nas.simulation.model.EvaluationModel`). The tests compare whole evaluation logs of
both over workers, budgets of every kind, ``eta``, ``s``, ``min_epochs``, ``max_epochs``, ties
and ``from_scratch``.

What it relies on, all true of ASHA: each architecture has at most one evaluation in flight,
and never proposes an (arch, epochs) already started (new architectures do not repeat, and a
result is promoted out of its rung at most once, above the epochs it trained), so the clock's
"free" answers from history or from an evaluation in flight never arise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from nares_nas.simulation.clock import budget_limit, no_evaluation_error
from nares_nas.simulation.log import EvaluationLog

STATUS_DONE, STATUS_STOPPED, STATUS_NO_EVALUATION, STATUS_NO_VALUE, STATUS_NO_COST = range(5)
LIMIT_COST, LIMIT_EPOCHS, LIMIT_TIME = 1, 2, 3
_NO_LIMIT = 2**62
"""Stands for no limit: limits are always compared, never tested for presence (fewer branches in
the loop, and a shorter first compile)."""


@njit(cache=True)
def _ints(size, fill):
    """An int64 array of ``size`` copies of ``fill`` (np.empty and a loop: each NumPy constructor
    numba compiles adds a second to the first compile)."""
    array = np.empty(size, dtype=np.int64)
    for i in range(size):
        array[i] = fill
    return array


@njit(cache=True)
def _before(key, a, b):
    """Whether worker ``a`` comes before worker ``b``: by ``key`` (a busy worker's end time), then by id."""
    return key[a] < key[b] or (key[a] == key[b] and a < b)


@njit(cache=True)
def _worker_push(heap, size, key, worker):
    """Push ``worker`` onto the heap ``heap[:size]`` of workers ordered by :func:`_before`."""
    i = size
    heap[i] = worker
    while i > 0:
        parent = (i - 1) // 2
        if not _before(key, heap[i], heap[parent]):
            break
        heap[i], heap[parent] = heap[parent], heap[i]
        i = parent


@njit(cache=True)
def _worker_pop(heap, size, key):
    """Pop the first worker by :func:`_before` from ``heap[:size]`` (``size`` before the pop)."""
    top = heap[0]
    size -= 1
    heap[0] = heap[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(key, heap[child + 1], heap[child]):
            child += 1
        if not _before(key, heap[child], heap[i]):
            break
        heap[i], heap[child] = heap[child], heap[i]
        i = child
    return top


@njit(cache=True)
def _ranks_before(key, seq, a, b):
    """Whether result ``a`` ranks before ``b`` in a rung: by -score, then by the order told."""
    return key[a] < key[b] or (key[a] == key[b] and seq[a] < seq[b])


@njit(cache=True)
def _swap(key, seq, arch, a, b):
    key[a], key[b] = key[b], key[a]
    seq[a], seq[b] = seq[b], seq[a]
    arch[a], arch[b] = arch[b], arch[a]


@njit(cache=True)
def _rung_push(key, seq, arch, base, size, score_key, order, arch_id):
    """Push a result onto one rung's heap, the flat arrays' ``[base, base + size)``."""
    i = base + size
    key[i], seq[i], arch[i] = score_key, order, arch_id
    while i > base:
        parent = base + (i - base - 1) // 2
        if not _ranks_before(key, seq, i, parent):
            break
        _swap(key, seq, arch, i, parent)
        i = parent


@njit(cache=True)
def _rung_pop(key, seq, arch, base, size):
    """Drop the best result of one rung's heap (``size`` before the pop; read it at ``base`` first)."""
    last = base + size - 1
    key[base], seq[base], arch[base] = key[last], seq[last], arch[last]
    i = base
    while True:
        child = base + 2 * (i - base) + 1
        if child >= last:
            break
        if child + 1 < last and _ranks_before(key, seq, child + 1, child):
            child += 1
        if not _ranks_before(key, seq, child, i):
            break
        _swap(key, seq, arch, i, child)
        i = child


@njit(cache=True)
def _bisect_right(sorted_keys, base, size, key):
    """How many of ``sorted_keys[base:base + size]`` are <= ``key`` (where it goes after its equals)."""
    low, high = 0, size
    while low < high:
        middle = (low + high) // 2
        if key < sorted_keys[base + middle]:
            high = middle
        else:
            low = middle + 1
    return low


@njit(cache=True, nogil=True)  # without the GIL: run files of earlier runs are written meanwhile
def _run(rung_values, epoch_ticks, resumes, sign, rungs, eta_num, eta_den, new_archs, workers,
         archs_limit, epochs_limit, cost_limit, time_limit, log, log_value, error):
    """One run of ASHA on the clock; the event loop of :meth:`nares_nas.simulation.clock.Simulation._run`
    with Asha's generator (:meth:`nares_nas.searchers.Asha._run`) inlined.

    ``rung_values[j, arch]`` is the raw value after ``rungs[j]`` epochs; ``resumes`` is 0 to
    charge every evaluation from scratch, else 1; limits are architectures, epochs and ticks
    (:data:`_NO_LIMIT` for none). Fills ``log`` (7 rows: arch, from, to, worker, start, end,
    cost) and ``log_value`` and returns ``(status, evaluations logged)``; on an error ``error``
    holds (arch, epochs, cost, which limit).
    """
    n_rungs = len(rungs) - 1  # rungs that record results: every one below the top
    n_new = len(new_archs)
    column = _ints(rungs[-1] + 1, -1)  # epochs -> their row of rung_values
    for j in range(len(rungs)):
        column[rungs[j]] = j
    capacity = max(n_new, 1)
    rows = max(n_rungs, 1)
    # rung k: its unpromoted results, a heap at [k * capacity, ...) of three flat arrays, and its
    # promoted -scores, ascending, at the same place of a fourth
    score_key = np.empty(rows * capacity)
    score_seq = _ints(rows * capacity, 0)
    score_arch = _ints(rows * capacity, 0)
    promoted = np.empty(rows * capacity)
    waiting, n_promoted, counts, stale = _ints(rows, 0), _ints(rows, 0), _ints(rows, 0), _ints(rows, 0)
    trained = _ints(rung_values.shape[1], -1)  # furthest finished epochs by arch; -1: never started
    free, idle = _ints(workers, 0), _ints(workers, 0)  # idle workers by id (all keys equal)
    for w in range(workers):
        free[w] = w  # ascending: a valid heap
    n_free = workers
    busy, busy_end, busy_index = _ints(workers, 0), _ints(workers, 0), _ints(workers, 0)
    n_busy = 0
    results_arch, results_epochs = _ints(workers, 0), _ints(workers, 0)
    results_score = np.empty(workers)
    n_results = 0
    n = now = spent = trained_epochs = n_started = started = 0
    status = STATUS_DONE
    while True:
        # ---- ASHA is told the results, then proposes (arch 0: nothing to propose)
        for r in range(n_results):
            k = column[results_epochs[r]]
            if k < n_rungs:  # the top rung records nothing
                _rung_push(score_key, score_seq, score_arch, k * capacity, waiting[k], -results_score[r], counts[k],
                           results_arch[r])
                waiting[k] += 1
                counts[k] += 1
                stale[k] = 1
        n_results = 0
        arch_id = epochs = 0
        for k in range(n_rungs - 1, -1, -1):
            if stale[k]:
                if waiting[k] > 0:
                    quota = counts[k] * eta_den // eta_num
                    base = k * capacity
                    best = score_key[base]
                    m = n_promoted[k]
                    rank = _bisect_right(promoted, base, m, best)
                    if quota >= 1 and rank < quota:
                        arch_id, epochs = score_arch[base], rungs[k + 1]
                        _rung_pop(score_key, score_seq, score_arch, base, waiting[k])
                        waiting[k] -= 1
                        for i in range(base + m, base + rank, -1):  # insort right
                            promoted[i] = promoted[i - 1]
                        promoted[base + rank] = best
                        n_promoted[k] = m + 1
                        break
                stale[k] = 0
        if arch_id == 0 and started < n_new:
            arch_id, epochs = new_archs[started], rungs[0]
            started += 1
        # ---- the clock: start the proposal, or wait for the next completion
        if arch_id == 0:
            if n_busy == 0:
                break
            wait = True
        else:
            furthest = trained[arch_id]
            if furthest < 0:
                if n_started >= archs_limit:
                    status = STATUS_STOPPED
                    break
                furthest = 0
            epoch_from = furthest * resumes
            per_epoch = epoch_ticks[arch_id]
            cost = per_epoch * (epochs - epoch_from)
            end = now + cost
            limit = 0
            if per_epoch < 0:
                status = STATUS_NO_COST
            elif spent + cost > cost_limit:
                limit = LIMIT_COST
            elif trained_epochs + epochs - epoch_from > epochs_limit:
                limit = LIMIT_EPOCHS
            elif end > time_limit:
                limit = LIMIT_TIME
            if limit:
                status = STATUS_STOPPED if n else STATUS_NO_EVALUATION
            if status != STATUS_DONE:
                error[0], error[1], error[2], error[3] = arch_id, epochs, cost, limit
                break
            worker = _worker_pop(free, n_free, idle)
            n_free -= 1
            busy_end[worker], busy_index[worker] = end, n
            _worker_push(busy, n_busy, busy_end, worker)
            n_busy += 1
            log[0, n], log[1, n], log[2, n], log[3, n] = arch_id, epoch_from, epochs, worker
            log[4, n], log[5, n], log[6, n], log_value[n] = now, end, cost, np.nan
            n += 1
            spent += cost
            trained_epochs += epochs - epoch_from
            if trained[arch_id] < 0:
                n_started += 1
            trained[arch_id] = furthest
            wait = n_free == 0
        if wait:  # finish everything ending at the next completion time, in worker order
            now = busy_end[busy[0]]
            while n_busy > 0 and busy_end[busy[0]] == now:
                worker = _worker_pop(busy, n_busy, busy_end)
                n_busy -= 1
                index = busy_index[worker]
                arch_id, epochs = log[0, index], log[2, index]
                value = rung_values[column[epochs], arch_id]
                if value != value:  # NaN: not in the table
                    error[0], error[1] = arch_id, epochs
                    return STATUS_NO_VALUE, n
                log_value[index] = value
                if epochs > trained[arch_id]:
                    trained[arch_id] = epochs
                _worker_push(free, n_free, idle, worker)
                n_free += 1
                results_arch[n_results], results_epochs[n_results] = arch_id, epochs
                results_score[n_results] = sign * value
                n_results += 1
    if status == STATUS_DONE or status == STATUS_STOPPED:  # what is in flight finishes, in end order
        while n_busy > 0:
            worker = _worker_pop(busy, n_busy, busy_end)
            n_busy -= 1
            index = busy_index[worker]
            value = rung_values[column[log[2, index]], log[0, index]]
            if value != value:
                error[0], error[1] = log[0, index], log[2, index]
                return STATUS_NO_VALUE, n
            log_value[index] = value
    return status, n


def run_asha(searcher: Any, table: Any, rngs: Sequence[np.random.Generator], *, search_budget: int | None,
             budget: Any, workers: int, maximize: bool) -> list[tuple[Any, bool]]:
    """One run per generator as :func:`~nares_nas.simulation.clock.simulate` makes it: ``(log, stopped)``.

    ``search_budget`` is what the searcher is told, ``budget`` the clock's
    :class:`~nares_nas.simulation.budget.Budget`; errors are the ones the generator's run raises.
    """
    values, epoch_ticks = table.arrays()
    tpd = table.ticks_per_day
    rungs = searcher.rungs(table.max_epochs)
    rung_values = np.ascontiguousarray(values[:, np.asarray(rungs) - 1].T)  # a row per rung, arch_id-indexed
    limits = [_NO_LIMIT if limit is None else limit for limit in
              (budget.archs, budget.total_epochs, budget.ticks(budget.cost, tpd), budget.ticks(budget.time, tpd))]
    runs = []
    for rng in rngs:
        rungs, eta_num, eta_den, new_archs = searcher.plan(search_budget, rng, table.max_epochs)
        capacity = max(len(new_archs) * len(rungs), 1)  # every rung of every new arch
        log, log_value, error = np.empty((7, capacity), dtype=np.int64), np.empty(capacity), np.zeros(4, dtype=np.int64)
        status, n = _run(rung_values, epoch_ticks, int(not table.from_scratch), 1.0 if maximize else -1.0,
                         np.asarray(rungs, dtype=np.int64), eta_num, eta_den, np.asarray(new_archs, dtype=np.int64),
                         workers,
                         *limits, log, log_value, error)
        arch_id, epochs, cost, limit = error.tolist()
        if status == STATUS_NO_VALUE:
            table.value(arch_id, epochs)  # raises its error
        elif status == STATUS_NO_COST:
            table.cost_ticks(arch_id, epochs)  # raises its error
        elif status == STATUS_NO_EVALUATION:
            kind = ("cost", "epochs", "time")[limit - 1]
            raise no_evaluation_error(budget_limit(budget, kind), arch_id, epochs, cost, tpd)
        if status not in (STATUS_DONE, STATUS_STOPPED):
            raise RuntimeError(f"the compiled ASHA ended with status {status} and the table raised nothing")
        runs.append((EvaluationLog(tpd, *log[:, :n].copy(), log_value[:n].copy()), status == STATUS_STOPPED))
    return runs
