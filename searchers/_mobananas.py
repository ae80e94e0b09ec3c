"""MO-BANANAS: ParEGO's random scalarisation (Knowles 2006) around the BANANAS ensemble.

The predictor (scikit-learn, torch) is imported when the first one is fitted, as for
:class:`~._bananas.Bananas`, whose candidates, ensemble and batched fits this reuses.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from nares_nas._validation import check_bool, check_real
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.errors import ConfigError
from nares_nas.space import N_ARCHS, SearchSpace
from nares_nas.surrogate.encodings import encoding_table

from ._bananas import Bananas, FitRequest

TARGET_SCALE = 100.0
"""The scalarised cost (about 0..1) is fitted times this: the scale of BANANAS' error target
(``100 - accuracy``), for which its MLP's settings (``l1_reg`` on unnormalised targets) were chosen."""


def chebyshev(scores: np.ndarray, weights: np.ndarray, rho: float) -> np.ndarray:
    """ParEGO's augmented Chebyshev cost of each row of ``scores`` (lower is better).

    Each objective is normalised by the minimum and maximum of the *feasible* rows given
    (what the run has queried, never table-wide ranges) into a cost ``c`` in [0, 1], 0 at
    the best queried value (an objective with no range costs 0); an infeasible row
    (``-inf``) costs 1 in every objective, as the worst queried. The cost is
    ``max_j w_j c_j + rho * sum_j w_j c_j``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(scores).all(axis=1)
    cost = np.ones_like(scores)
    if ok.any():
        low, high = scores[ok].min(axis=0), scores[ok].max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        cost[ok] = (high - scores[ok]) / span
    weighted = cost * weights
    return weighted.max(axis=1) + rho * weighted.sum(axis=1)


class MOBananas(Bananas):
    """BANANAS with ParEGO's scalarisation: one random weighting of the objectives per round.

    Every :class:`~._bananas.Bananas` hyper-parameter, with its default, plus ``rho``
    (ParEGO's augmentation, 0.05). Each round, after ``num_init`` uniform random archs:

    * a weight vector ``w`` is drawn uniformly on the simplex (``rng.dirichlet`` of ones);
    * every queried arch gets the augmented Chebyshev cost of its objectives
      (:func:`chebyshev`, normalised by the queried feasible min/max), and the ensemble is
      fitted on ``TARGET_SCALE`` times it (lower is better, like BANANAS' error target);
    * candidates are mutations of the best queried *feasible* archs by that cost
      (:meth:`~._bananas.Bananas.candidates`), minus every queried arch; Thompson sampling
      picks the ``k`` lowest draws, as BANANAS does.

    So an infeasible architecture is never a parent while a feasible one exists, and the
    predictor learns its cost as the worst queried. The budget is exact
    (``reference_overshoot`` is refused). Slow like BANANAS (one ensemble fit per round);
    on N workers a round's ``k`` proposals go to the free workers and the next fit waits
    for all of them. Fits are side work (:class:`~._bananas.FitRequest`), batched across
    runs driven together. Every random number comes from ``rng``.
    """

    name: ClassVar[str] = "mo_bananas"
    multi_objective: ClassVar[bool] = True
    single_objective: ClassVar[bool] = False

    def __init__(self, *, rho: float = 0.05, **bananas_params: Any) -> None:
        super().__init__(**bananas_params)
        self.rho = rho

    def _validate(self) -> None:
        super()._validate()
        check_real(self.rho, "MOBananas rho", 0)
        if check_bool(self.reference_overshoot, "MOBananas reference_overshoot"):
            raise ConfigError("MOBananas keeps the exact budget: reference_overshoot must be False")

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        """The search as proposals in rounds of ``k``, and the predictor fits it needs as side work."""
        self._validate()
        budget = N_ARCHS if budget is None else min(budget, N_ARCHS)
        table = encoding_table(self.encoding)
        queried: dict[int, np.ndarray | None] = {}  # arch_id -> score vector, in proposal order
        pending: set[int] = set()

        def hear(results: list[Result]) -> None:
            for result in results:
                queried[result.arch_id] = result.score
                pending.discard(result.arch_id)

        def ask(arch_ids: np.ndarray) -> Proposals:
            """Propose the new ones among ``arch_ids``, then wait until every result is in."""
            for arch_id in arch_ids.tolist():
                if arch_id not in queried:
                    queried[arch_id] = None
                    pending.add(arch_id)
                    hear((yield Proposal(arch_id)))
            while pending:
                hear((yield None))

        initial = rng.integers(1, N_ARCHS + 1, size=self.num_init)
        _, first = np.unique(initial, return_index=True)
        yield from ask(initial[np.sort(first)][:budget])
        while len(queried) < budget:
            ids = np.fromiter(queried.keys(), dtype=np.int64, count=len(queried))
            scores = np.stack(list(queried.values()))
            cost = chebyshev(scores, rng.dirichlet(np.ones(scores.shape[1])), float(self.rho))
            ok = np.isfinite(scores).all(axis=1)
            ok = ok if ok.any() else np.ones(len(ids), dtype=bool)
            pool = self.candidates(ids[ok], -cost[ok], rng)
            pool = pool[~np.isin(pool, ids)]
            if len(pool) == 0:
                unseen = np.setdiff1d(np.arange(1, N_ARCHS + 1), ids)
                yield from ask(rng.choice(unseen, size=min(self.k, budget - len(queried)), replace=False))
                continue
            predictions = yield FitRequest(self.make_predictor(rng), table[ids], TARGET_SCALE * cost, table[pool])
            draws = rng.normal(predictions.mean(axis=0), predictions.std(axis=0))
            picks = pool[np.argsort(draws, kind="stable")]
            _, first = np.unique(picks, return_index=True)
            yield from ask(picks[np.sort(first)][:min(self.k, budget - len(queried))])


def _signature() -> inspect.Signature:
    """Bananas' keyword parameters and ``rho``, for :meth:`~._base.Searcher.get_params` and listings."""
    params = [p.replace(kind=p.KEYWORD_ONLY) for name, p in inspect.signature(Bananas.__init__).parameters.items()
              if name != "self"]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    rho = inspect.Parameter("rho", inspect.Parameter.KEYWORD_ONLY, default=0.05, annotation=float)
    return inspect.Signature([self_param, *params, rho])


MOBananas.__init__.__signature__ = _signature()  # type: ignore[attr-defined]
