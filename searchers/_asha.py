"""ASHA (Li et al., 2020): asynchronous successive halving over the epoch axis.

Rungs that are not whole epochs are rounded by the rule of :mod:`._hyperband` (its
``round_half_up``, exact fractions), so the multi-fidelity family shares one rounding rule.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from fractions import Fraction
from heapq import heappop, heappush
from typing import Any, ClassVar

import numpy as np

from nares_nas._optional import available
from nares_nas._validation import check_int
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.errors import ConfigError
from nares_nas.space import N_ARCHS, SearchSpace

from ._base import Searcher
from ._hyperband import DEFAULT_MIN_EPOCHS, as_fraction, check_schedule, round_half_up


# --------------------------------------------------------------------------- rungs
def asha_rungs(min_epochs: int, max_epochs: int, eta: Any = 3, s: int = 0) -> tuple[int, ...]:
    """ASHA's rungs in epochs, ascending: ``r_k = min_epochs * eta**(k + s)`` below ``max_epochs``, then it.

    Rule: take ``r_k`` for k = 0, 1, ... while ``r_k < max_epochs`` (exact fractions; a float
    ``eta`` is read as its shortest decimal, as :func:`._hyperband.as_fraction` does), round each
    half up (:func:`._hyperband.round_half_up`: 7.5 -> 8), drop a rounded value equal to the
    previous rung or not below ``max_epochs`` (deduplicated, clamped), and end with
    ``max_epochs``: the top rung is always the full training. So ``(4, 100, 3)`` gives
    ``(4, 12, 36, 100)`` and ``(1, 100, 2.5)`` gives ``(1, 3, 6, 16, 39, 98, 100)``.

    This is the paper's ladder built up from ``r`` (Syne Tune's ASHA too: its rungs are
    ``grace_period * rf**(k + s)`` for the ``floor(log_rf(max_t / grace_period)) - s + 1`` values
    of k, and a trial that passes the last one runs on to ``max_t``), not Hyperband's built down
    from ``R`` (11, 33, 100 with the same settings). Where ``min_epochs * eta**s >= max_epochs``
    the only rung is ``max_epochs`` (random search at full fidelity).
    """
    low, top, ratio = check_schedule(min_epochs, max_epochs, eta)
    s = check_int(s, "s (the minimum early-stopping rate)", 0)
    rungs: list[int] = []
    exact = Fraction(low) * ratio ** s
    while exact < top:
        epochs = round_half_up(exact)
        if epochs < top and (not rungs or epochs > rungs[-1]):
            rungs.append(epochs)
        exact *= ratio
    rungs.append(top)
    return tuple(rungs)


# --------------------------------------------------------------------------- the searcher
class Asha(Searcher):
    """Asynchronous successive halving with asynchronous promotion (Li et al., 2020, Algorithm 2).

    **Rungs** are epoch counts, :func:`asha_rungs` of ``min_epochs``, ``max_epochs`` (None:
    the table's full training, as ``propose`` is told), ``eta`` and ``s`` (the paper's minimum
    early-stopping rate): ``r_k = min_epochs * eta**(k + s)`` rounded half up, the top rung
    ``max_epochs``. With the defaults on NARes: 1, 3, 9, 27, 81 and 100 epochs (with
    ``min_epochs=4``, the issue's benchmark setting: 4, 12, 36, 100). A ``max_epochs`` below the
    table's is the top rung, and then no evaluation counts as full fidelity for the incumbent.

    **get_job**, whenever a worker is free: for k from the second-highest rung down to the
    bottom, the candidates are the top ``floor(|rung k| / eta)`` of the results in rung k
    (everything ever finished there, promoted or not); the best candidate not yet promoted is
    promoted to rung k + 1 and continues from its ``r_k`` epochs (the clock charges only the
    epochs it adds). If no rung has one, a new architecture starts at the bottom rung. A
    promotion is marked when it is proposed, so an architecture is promoted out of a rung at
    most once. New architectures are uniformly random without repeats, taken in order from
    ``rng.choice(N_ARCHS, size=budget, replace=False) + 1`` (``budget`` 15,625 when None), so
    with a single rung this is exactly :class:`RandomSearch`.

    **Ties** in a rung rank by score, then by the order results were told (earliest finished
    first: the clock tells them by end time, then worker id).

    **Budgets.** With ``budget`` distinct architectures, no new one starts once ``budget`` have,
    but promotions go on until none is left; then the run ends when the last evaluation in
    flight finishes. With ``budget=None`` the clock's cost, epoch or time budget ends the run.

    **min_epochs** (default 4, the family's :data:`~._hyperband.DEFAULT_MIN_EPOCHS`) trades
    breadth for signal. On the SYNTHETIC stand-in's fidelity study every rung
    before the learning-rate drop ranks by much the same weak signal, so a lower bottom rung looks at
    more architectures per GPU-day and filters nearly as well; what each ``min_epochs`` found there
    is in docs/studies/fidelity.md. The default is still 4: a default tuned to the stand-in would be
    tuned to its construction, and in real adversarial training one epoch may rank worse, so 4 (4% of
    a full training) is the cautious choice until the fidelity study is re-run on the real data.
    A lower ``min_epochs`` also means more evaluations per GPU-day, so longer simulations.

    Bookkeeping per rung is a heap of unpromoted scores and a sorted list of promoted ones, so
    each proposal costs O(rungs × log n) float comparisons (one ``insort`` per promotion). On an
    evaluation model the clock runs the compiled twin of this generator instead
    (:mod:`nares_nas.searchers._asha_compiled`, the same runs).
    """

    name: ClassVar[str] = "asha"
    multi_fidelity: ClassVar[bool] = True

    def __init__(self, min_epochs: int = DEFAULT_MIN_EPOCHS, max_epochs: int | None = None,
                 eta: int | float = 3, s: int = 0) -> None:
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.eta = eta
        self.s = s

    def rungs(self, max_epochs: int | None = None) -> tuple[int, ...]:
        """The rungs for a table whose full training is ``max_epochs`` epochs (see :func:`asha_rungs`)."""
        top = self.max_epochs
        if top is None:
            if max_epochs is None:
                raise ConfigError("Asha proposes trainings of fewer epochs than a full one, and a plain oracle "
                                  "answers full trainings only: run it on the simulated clock "
                                  "(nares_nas.simulation.clock.simulate)")
            top = max_epochs
        elif max_epochs is not None:
            top = check_int(top, f"Asha max_epochs (at most the table's {max_epochs})", 1, max_epochs)
        return asha_rungs(self.min_epochs, top, self.eta, self.s)

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator, *,
                maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        rungs, eta_num, eta_den, new_archs = self.plan(budget, rng, max_epochs)  # validates now
        return self._run(rungs, eta_num, eta_den, new_archs.tolist())

    def simulate_runs(self, table: Any, rngs: list[np.random.Generator], *, search_budget: int | None,
                      budget: Any, workers: int, maximize: Any) -> list[tuple[Any, bool]] | None:
        """The clock's runs of this searcher as the compiled twin of :meth:`propose` (the same logs, 7-10x
        faster), or None where the twin does not apply: a subclass (it may change the schedule), several
        objectives, a table without ``arrays()``, or no numba installed (the clock then runs the generator)."""
        if (type(self) is not Asha or not isinstance(maximize, (bool, np.bool_))
                or not hasattr(table, "arrays") or not available("numba")):
            return None
        from . import _asha_compiled  # numba: imported (0.4 s) only when a run uses it

        return _asha_compiled.run_asha(self, table, rngs, search_budget=search_budget, budget=budget,
                                       workers=workers, maximize=maximize)

    def plan(self, budget: int | None, rng: np.random.Generator,
             max_epochs: int | None = None) -> tuple[tuple[int, ...], int, int, np.ndarray]:
        """``(rungs, eta_num, eta_den, new_archs)``: everything a run is a function of, its random
        numbers drawn (the one draw of ``rng``); shared with the compiled twin
        (:mod:`nares_nas.searchers._asha_compiled`)."""
        rungs = self.rungs(max_epochs)
        eta = as_fraction(self.eta)
        budget = N_ARCHS if budget is None else min(check_int(budget, "budget"), N_ARCHS)
        return rungs, eta.numerator, eta.denominator, rng.choice(N_ARCHS, size=budget, replace=False) + 1

    @staticmethod
    def _run(rungs: tuple[int, ...], eta_num: int, eta_den: int, new_archs: list[int]) -> Proposals:
        """The run, ``eta = eta_num / eta_den``; new architectures are taken from ``new_archs`` in order.

        Per rung: the unpromoted results as a heap of their distinct negated scores, each with
        its architectures in the order told (so equal scores go earliest first), and the promoted
        ones as a sorted list of negated scores. The best unpromoted result's rank among all of
        the rung is then the number of promoted scores at least as good: every better result was
        promoted before it, and so was every equal one told earlier, while an equal one told
        later cannot have been. Plain floats compare several times faster than (score, order)
        tuples, which matters at thousands of results per rung.
        """
        top = len(rungs) - 1
        level = {epochs: k for k, epochs in enumerate(rungs[:top])}  # the top rung records nothing
        counts = [0] * top  # results ever finished in rung k
        waiting: list[list[float]] = [[] for _ in range(top)]  # heaps of distinct -score, unpromoted
        archs_at: list[dict[float, list[int]]] = [{} for _ in range(top)]  # -score -> archs, order told
        promoted: list[list[float]] = [[] for _ in range(top)]  # sorted -score of promoted results
        stale = [False] * top  # rung k may have a promotable result (else it is known to have none)
        order = range(top - 1, -1, -1)
        started = 0
        n_new = len(new_archs)
        bottom = rungs[0]
        push, pop, rank, insert, new = heappush, heappop, bisect_right, insort, tuple.__new__  # fast locals
        results: list[Result] = []
        while True:
            for arch_id, epochs, score in results:
                k = level.get(epochs)
                if k is not None:
                    archs = archs_at[k].get(-score)
                    if archs is None:
                        archs_at[k][-score] = [arch_id]
                        push(waiting[k], -score)
                    else:
                        archs.append(arch_id)
                    counts[k] += 1
                    stale[k] = True
            for k in order:
                if stale[k]:
                    heap = waiting[k]
                    if heap:
                        quota = counts[k] * eta_den // eta_num  # floor(|rung k| / eta), exactly
                        best = heap[0]
                        done = promoted[k]
                        if quota >= 1 and (len(done) < quota or rank(done, best) < quota):
                            archs = archs_at[k][best]
                            arch_id = archs.pop(0)
                            if not archs:
                                pop(heap)
                                del archs_at[k][best]
                            insert(done, best)
                            results = yield new(Proposal, (arch_id, rungs[k + 1]))
                            break
                    stale[k] = False
            else:
                if started < n_new:
                    started += 1
                    results = yield new(Proposal, (new_archs[started - 1], bottom))
                else:
                    results = yield None
