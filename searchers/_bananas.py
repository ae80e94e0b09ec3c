"""BANANAS (spec §5.6): an MLP-ensemble predictor, mutation candidates, Thompson sampling.

The predictor (scikit-learn, torch) is imported when the first one is built, so importing
this module is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nares_nas._optional import require
from nares_nas._validation import check_bool, check_choice, check_int
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.errors import ConfigError
from nares_nas.oracle import best_first
from nares_nas.space import N_ARCHS, N_NEIGHBOURS, SearchSpace, neighbour_table
from nares_nas.surrogate.encodings import ENCODINGS, encoding_table

from ._base import Searcher

if TYPE_CHECKING:
    from nares_nas.surrogate.ensemble import MLPEnsembleRegressor

SECONDS_PER_RUN = 2692 * 2 / 16
"""Seconds of one CPU core per run at the reference settings (500 queries, 500 epochs per fit, 8 seeds in
lockstep): 16 runs took 2,692 s on two processes of the 2-core machine (docs/benchmarks.md)."""
FAST_PRESET: dict[str, Any] = {"epochs": 150}
"""Overrides of :meth:`Bananas.fast`: 150 instead of 500 epochs per fit (≈3.3x less training).

Not free: on the synthetic stand-in it finds slightly worse architectures than the reference
settings (docs/benchmarks.md has the two-sample comparison)."""


@dataclass(frozen=True)
class FitRequest:
    """One round's surrogate work: fit ``predictor`` on ``X``, ``y``, then score ``candidates``."""

    predictor: Any
    X: np.ndarray
    y: np.ndarray
    candidates: np.ndarray

    @classmethod
    def resolve_batch(cls, requests: Sequence[FitRequest]) -> list[np.ndarray]:
        """Each request's ``(members, n_candidates)`` predictions, equal-shaped fits stacked as one."""
        return _fit_and_predict(requests)


def _fit_and_predict(requests: Sequence[FitRequest]) -> list[np.ndarray]:
    """Predictions for each request; MLP ensembles with equal training-set shapes are fitted together."""
    from nares_nas.surrogate.ensemble import MLPEnsembleRegressor, fit_together

    stackable = [r for r in requests if type(r.predictor) is MLPEnsembleRegressor]
    for shape in {r.X.shape for r in stackable}:
        same = [r for r in stackable if r.X.shape == shape]
        fit_together([r.predictor for r in same], [r.X for r in same], [r.y for r in same])
    for request in requests:
        if type(request.predictor) is not MLPEnsembleRegressor:
            request.predictor.fit(request.X, request.y)
    return [r.predictor.predict_ensemble(r.candidates) for r in requests]


class Bananas(Searcher):
    """BANANAS as configured for NARes, at an exact budget by default.

    1. Query ``num_init`` uniform random archs (duplicates are free, so possibly fewer).
    2. Until the budget is spent, one round:

       * fit an ensemble of ``num_ensemble`` MLPs (``num_layers`` hidden layers of
         ``layer_width``; ``epochs``, ``batch_size``, ``lr``, ``l1_reg``; see
         :class:`~nares_nas.surrogate.MLPEnsembleRegressor`) on every queried arch, features
         ``encoding`` (``"path"`` or the reference's ``"onehot"``), target ``100 - score``
         (the validation error for an accuracy objective; lower is better);
       * candidates: the best ``num_arches_to_mutate * patience_factor`` queried archs are
         parents, best first in the reference's ``get_topk_archs`` order (among equal values
         the latest queried first when maximising, the earliest when minimising); while
         fewer than ``num_candidates`` candidates exist (checked before each parent), a parent
         gives ``num_candidates // num_arches_to_mutate`` uniform one-step neighbours, of
         which the not yet queried ones are kept;
       * independent Thompson sampling: per candidate one normal draw with the mean and the
         population std of the members' predictions; the ``k`` lowest draws are queried.

    By default each round queries ``k`` *distinct* new archs (duplicate candidates are
    skipped) and the last round is cut at the budget. ``reference_overshoot=True`` keeps the
    reference's behaviour instead (spec §6.19): duplicate candidates waste a slot, and the
    last round queries all ``k`` picks even past the budget, up to ``k - 1`` (9) beyond it
    (:meth:`query_cap` allows for it). If no candidate is new (only possible when the
    parents' neighbourhoods are exhausted, far beyond the reference's budget), the round
    queries uniform random unqueried archs instead of looping forever.

    Every random number (initial archs, mutations, Thompson draws, and the torch generator
    of each fit) comes from the ``rng`` passed to :meth:`propose`, so a run on the CPU is
    determined by its seed. ``num_threads`` is torch's intra-op thread count while fitting
    (1 by default: the per-op work is tiny, and extra threads only wait on busy cores; run
    seeds in parallel instead).

    On N workers a round's ``k`` proposals go to the free workers and the next fit waits
    until all of the round's results are in (so workers may idle, as in the paper's setting);
    nothing is in flight when candidates are drawn. A fit is side work of the run
    (:class:`FitRequest`): runs driven together (:meth:`run_many`, the simulated clock's
    lockstep groups) fit their predictors of a round as one stacked program
    (:func:`~nares_nas.surrogate.fit_together`): under the exact
    budget every run fits on the same number of archs each round. Each run's trajectory is
    the one :meth:`run` gives for its seed, bit for bit on the CPU; the harness hands a
    worker ``lockstep_runs`` seeds at a time. On the CPU 8 takes nearly all the gain (the
    32x32 products are compute-bound; what a larger stack shares is per-call overhead); on a
    GPU raise it as far as the runs go (e.g. 400): one call then does the work of hundreds.
    """

    name: ClassVar[str] = "bananas"
    execution_params: ClassVar[tuple[str, ...]] = ("num_threads", "device", "lockstep_runs")

    def __init__(self, num_init: int = 10, num_candidates: int = 100, num_arches_to_mutate: int = 10,
                 patience_factor: int = 5, k: int = 10, num_ensemble: int = 5, num_layers: int = 20,
                 layer_width: int = 32, epochs: int = 500, batch_size: int = 32, lr: float = 1e-3,
                 l1_reg: float = 0.2, encoding: str = "path", reference_overshoot: bool = False,
                 device: str = "cpu", num_threads: int | None = 1, lockstep_runs: int = 8) -> None:
        self.num_init = num_init
        self.num_candidates = num_candidates
        self.num_arches_to_mutate = num_arches_to_mutate
        self.patience_factor = patience_factor
        self.k = k
        self.num_ensemble = num_ensemble
        self.num_layers = num_layers
        self.layer_width = layer_width
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.l1_reg = l1_reg
        self.encoding = encoding
        self.reference_overshoot = reference_overshoot
        self.device = device
        self.num_threads = num_threads
        self.lockstep_runs = lockstep_runs

    @classmethod
    def fast(cls, **overrides: Any) -> Bananas:
        """The reference settings with :data:`FAST_PRESET` applied (then ``overrides``)."""
        return cls(**{**FAST_PRESET, **overrides})

    def expected_seconds(self, budget: int | None) -> float | None:
        """:data:`SECONDS_PER_RUN` in proportion to the epochs and members of a fit and to the square of the
        budget (each round fits on every architecture queried so far); None off the CPU (not measured)."""
        if self.device != "cpu":
            return None
        archs = min(500 if budget is None else budget, N_ARCHS)  # a cost budget: as the paper's 500
        return SECONDS_PER_RUN * (self.epochs / 500) * (self.num_ensemble / 5) * (archs / 500) ** 2

    def query_cap(self, budget: int) -> int | None:
        overshoot = check_bool(self.reference_overshoot, "Bananas reference_overshoot")
        return budget + max(self.k, self.num_init) - 1 if overshoot else budget

    def _validate(self) -> None:
        from nares_nas.surrogate.ensemble import DEVICES

        require("torch", f"the {self.name} searcher")  # its predictor: one line naming the extra, not a traceback
        for key in ("num_init", "num_candidates", "num_arches_to_mutate", "patience_factor", "k", "lockstep_runs"):
            check_int(getattr(self, key), f"Bananas {key}")
        if self.num_candidates < self.num_arches_to_mutate:
            raise ConfigError(f"Bananas num_candidates ({self.num_candidates}) must be >= "
                              f"num_arches_to_mutate ({self.num_arches_to_mutate})")
        check_choice(self.encoding, "Bananas encoding", sorted(ENCODINGS))
        check_choice(self.device, "Bananas device", DEVICES)

    def make_predictor(self, rng: np.random.Generator) -> MLPEnsembleRegressor:
        """A fresh, unfitted predictor that draws its seed from ``rng`` when fitted."""
        from nares_nas.surrogate.ensemble import MLPEnsembleRegressor

        return MLPEnsembleRegressor(
            num_ensemble=self.num_ensemble, num_layers=self.num_layers, layer_width=self.layer_width,
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, l1_reg=self.l1_reg,
            device=self.device, num_threads=self.num_threads, random_state=rng)

    def candidates(self, ids: np.ndarray, scores: np.ndarray, rng: np.random.Generator,
                   maximize: bool = True) -> np.ndarray:
        """Mutation candidates (spec §5.6) from the queried ``ids`` with ``scores``, in order.

        ``ids``/``scores`` are in query order, scores larger-is-better as the oracle returns
        them; ``maximize`` is the objective's direction, which decides the order of parents
        with equal scores (:func:`~nares_nas.oracle.best_first`). Not-yet-queried one-step
        neighbours of the top parents; duplicates within the list are kept (as in the reference).
        """
        n_parents = self.num_arches_to_mutate * self.patience_factor
        values = scores if maximize else -scores  # the raw objective values the reference sorts
        parents = ids[best_first(values, maximize)[:n_parents]]
        per_parent = self.num_candidates // self.num_arches_to_mutate
        slots = rng.integers(0, N_NEIGHBOURS, size=(len(parents), per_parent))
        children = neighbour_table()[parents[:, None], slots]
        keep = ~np.isin(children, ids)
        before = np.cumsum(keep.sum(axis=1)) - keep.sum(axis=1)  # candidates before each parent
        used = before < self.num_candidates
        return children[used][keep[used]]

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        """The search as proposals in rounds of ``k``, and the predictor fits it needs as side work."""
        self._validate()
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        overshoot = check_bool(self.reference_overshoot, "Bananas reference_overshoot")
        table = encoding_table(self.encoding)
        queried: dict[int, float | None] = {}  # arch_id -> score, in proposal order

        def ask(arch_ids: np.ndarray) -> Proposals:
            """Propose the new ones among ``arch_ids``, then wait until every result is in."""
            for arch_id in arch_ids.tolist():
                if arch_id not in queried:
                    queried[arch_id] = None
                    hear((yield Proposal(arch_id)))
            while None in queried.values():
                hear((yield None))

        def hear(results: list[Result]) -> None:
            for result in results:
                queried[result.arch_id] = result.score

        initial = rng.integers(1, N_ARCHS + 1, size=self.num_init)
        if not overshoot:
            _, first = np.unique(initial, return_index=True)
            initial = initial[np.sort(first)][:budget]
        yield from ask(initial)
        while len(queried) < budget:
            ids = np.fromiter(queried.keys(), dtype=np.int64, count=len(queried))
            scores = np.fromiter(queried.values(), dtype=np.float64, count=len(queried))
            pool = self.candidates(ids, scores, rng, maximize)
            if len(pool) == 0:
                unseen = np.setdiff1d(np.arange(1, N_ARCHS + 1), ids)
                yield from ask(rng.choice(unseen, size=min(self.k, budget - len(queried)), replace=False))
                continue
            predictions = yield FitRequest(self.make_predictor(rng), table[ids], 100.0 - scores, table[pool])
            draws = rng.normal(predictions.mean(axis=0), predictions.std(axis=0))
            picks = pool[np.argsort(draws, kind="stable")]
            if not overshoot:
                _, first = np.unique(picks, return_index=True)
                picks = picks[np.sort(first)][:budget - len(queried)]
            yield from ask(picks[:self.k])
