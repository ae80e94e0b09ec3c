"""BANANAS (spec §5.6): an MLP-ensemble predictor, mutation candidates, Thompson sampling.

The predictor (scikit-learn, torch) is imported when the first one is built, so importing
this module is cheap.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nares_nas.errors import ConfigError
from nares_nas.oracle import Oracle, Trajectory
from nares_nas.space import N_ARCHS, N_NEIGHBOURS, SearchSpace, neighbour_table
from nares_nas.surrogate.encodings import ENCODINGS, encoding_table

from ._base import Searcher

if TYPE_CHECKING:
    from nares_nas.surrogate.ensemble import MLPEnsembleRegressor

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


Rounds = Generator[FitRequest, np.ndarray, None]
"""One run as a coroutine: yields each fit it needs, is sent ``(members, n_candidates)`` predictions."""


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


def drive(runs: Sequence[Rounds]) -> None:
    """Advance several runs in lockstep until all finish, batching their fits of each round."""
    pending: dict[int, FitRequest] = {}

    def advance(i: int, predictions: np.ndarray | None) -> None:
        try:
            pending[i] = next(runs[i]) if predictions is None else runs[i].send(predictions)
        except StopIteration:
            pending.pop(i, None)

    for i in range(len(runs)):
        advance(i, None)
    while pending:
        waiting = sorted(pending)
        for i, predictions in zip(waiting, _fit_and_predict([pending[i] for i in waiting])):
            advance(i, predictions)


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
         parents, best first and the latest queried first among equals (the reference's
         ``get_topk``); while fewer than ``num_candidates`` candidates exist (checked before
         each parent), a parent gives ``num_candidates // num_arches_to_mutate`` uniform
         one-step neighbours, of which the not yet queried ones are kept;
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
    of each fit) comes from the ``rng`` passed to :meth:`search`, so a run on the CPU is
    determined by its seed. ``num_threads`` is torch's intra-op thread count while fitting
    (1 by default: the per-op work is tiny, and extra threads only wait on busy cores; run
    seeds in parallel instead).

    :meth:`run_many` advances several runs in lockstep and fits their predictors of a round
    as one stacked program (:func:`~nares_nas.surrogate.fit_together`): under the exact
    budget every run fits on the same number of archs each round. Each run's trajectory is
    the one :meth:`run` gives for its seed, bit for bit on the CPU; the harness hands a
    worker ``lockstep_runs`` seeds at a time. On the CPU 8 takes nearly all the gain (the
    32x32 products are compute-bound; what a larger stack shares is per-call overhead); on a
    GPU raise it as far as the runs go (e.g. 400): one call then does the work of hundreds.
    """

    name: ClassVar[str] = "bananas"

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

    def query_cap(self, budget: int) -> int | None:
        return budget + max(self.k, self.num_init) - 1 if self.reference_overshoot else budget

    def _validate(self) -> None:
        from nares_nas.surrogate.ensemble import DEVICES

        for key in ("num_init", "num_candidates", "num_arches_to_mutate", "patience_factor", "k", "lockstep_runs"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"Bananas {key} must be a positive integer, got {value!r}")
        if self.num_candidates < self.num_arches_to_mutate:
            raise ConfigError(f"Bananas num_candidates ({self.num_candidates}) must be >= "
                              f"num_arches_to_mutate ({self.num_arches_to_mutate})")
        if self.encoding not in ENCODINGS:
            raise ConfigError(f"Bananas encoding must be one of {sorted(ENCODINGS)}, got {self.encoding!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"Bananas device must be one of {list(DEVICES)}, got {self.device!r}")

    def make_predictor(self, rng: np.random.Generator) -> MLPEnsembleRegressor:
        """A fresh, unfitted predictor that draws its seed from ``rng`` when fitted."""
        from nares_nas.surrogate.ensemble import MLPEnsembleRegressor

        return MLPEnsembleRegressor(
            num_ensemble=self.num_ensemble, num_layers=self.num_layers, layer_width=self.layer_width,
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, l1_reg=self.l1_reg,
            device=self.device, num_threads=self.num_threads, random_state=rng)

    def candidates(self, ids: np.ndarray, scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mutation candidates (spec §5.6) from the queried ``ids`` with ``scores``, in order.

        ``ids``/``scores`` are in query order. Not-yet-queried one-step neighbours of the top
        parents; duplicates within the list are kept (as in the reference).
        """
        n_parents = self.num_arches_to_mutate * self.patience_factor
        order = np.lexsort((-np.arange(len(ids)), -scores))[:n_parents]  # best, then latest first
        parents = ids[order]
        per_parent = self.num_candidates // self.num_arches_to_mutate
        slots = rng.integers(0, N_NEIGHBOURS, size=(len(parents), per_parent))
        children = neighbour_table()[parents[:, None], slots]
        keep = ~np.isin(children, ids)
        before = np.cumsum(keep.sum(axis=1)) - keep.sum(axis=1)  # candidates before each parent
        used = before < self.num_candidates
        return children[used][keep[used]]

    def search(self, space: SearchSpace, oracle: Oracle, budget: int, rng: np.random.Generator) -> None:
        self._validate()
        drive([self.rounds(oracle, budget, rng)])

    def run_many(self, space: SearchSpace, oracles: Sequence[Oracle], budget: int,
                 rngs: Sequence[np.random.Generator]) -> list[Trajectory]:
        self._validate()
        drive([self.rounds(oracle, budget, rng) for oracle, rng in zip(oracles, rngs)])
        return [oracle.trajectory() for oracle in oracles]

    def rounds(self, oracle: Oracle, budget: int, rng: np.random.Generator) -> Rounds:
        """The search as a coroutine that yields each predictor fit instead of running it."""
        budget = min(budget, N_ARCHS)
        overshoot = bool(self.reference_overshoot)
        table = encoding_table(self.encoding)
        queried: dict[int, float] = {}  # arch_id -> score, in query order

        def ask(arch_ids: np.ndarray) -> None:
            for arch_id in arch_ids.tolist():
                if arch_id not in queried:
                    queried[arch_id] = oracle.query(arch_id)

        initial = rng.integers(1, N_ARCHS + 1, size=self.num_init)
        if not overshoot:
            _, first = np.unique(initial, return_index=True)
            initial = initial[np.sort(first)][:budget]
        ask(initial)
        while oracle.n_queries < budget:
            ids = np.fromiter(queried.keys(), dtype=np.int64, count=len(queried))
            scores = np.fromiter(queried.values(), dtype=np.float64, count=len(queried))
            pool = self.candidates(ids, scores, rng)
            if len(pool) == 0:
                unseen = np.setdiff1d(np.arange(1, N_ARCHS + 1), ids)
                ask(rng.choice(unseen, size=min(self.k, budget - oracle.n_queries), replace=False))
                continue
            predictions = yield FitRequest(self.make_predictor(rng), table[ids], 100.0 - scores, table[pool])
            draws = rng.normal(predictions.mean(axis=0), predictions.std(axis=0))
            picks = pool[np.argsort(draws, kind="stable")]
            if not overshoot:
                _, first = np.unique(picks, return_index=True)
                picks = picks[np.sort(first)][:budget - oracle.n_queries]
            ask(picks[:self.k])
