"""BOHB (Falkner et al., 2018): Hyperband whose new architectures come from a TPE-style density model.

The model follows the paper and its reference implementation (HpBandSter's ``BOHB``
config generator), on the six decision variables encoded as HpBandSter encodes integer
hyper-parameters: choice ``k`` of 5 is the centre ``(k + 0.5) / 5`` of its bin of ``[0, 1]``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import ClassVar

import numpy as np

from nares_nas._validation import check_int, check_real
from nares_nas.asktell import Proposals, Result
from nares_nas.space import CHOICES, N_ARCHS, SearchSpace, archs_by_id

from ._hyperband import DEFAULT_MIN_EPOCHS, _Synchronous, hyperband_iteration, run_brackets

N_DIMS = len(CHOICES)
N_CHOICES = len(CHOICES[0])


@functools.cache
def unit_vectors() -> np.ndarray:
    """Read-only ``(15626, 6)``: row ``arch_id`` holds its decision variables as bin centres in ``[0, 1]``."""
    archs = archs_by_id()
    index = np.stack([np.searchsorted(CHOICES[col], archs[:, col]) for col in range(N_DIMS)], axis=1)
    vectors = np.full((N_ARCHS + 1, N_DIMS), np.nan)
    vectors[1:] = (index + 0.5) / N_CHOICES
    vectors.setflags(write=False)
    return vectors


@functools.cache
def _id_by_code() -> np.ndarray:
    """arch_id by the base-5 code of its choice indices (D1 most significant)."""
    index = np.floor(unit_vectors()[1:] * N_CHOICES).astype(np.int64)
    ids = np.empty(N_ARCHS, dtype=np.int64)
    ids[index @ _WEIGHTS] = np.arange(1, N_ARCHS + 1)
    ids.setflags(write=False)
    return ids


_WEIGHTS = N_CHOICES ** np.arange(N_DIMS - 1, -1, -1)


def decode(vectors: np.ndarray) -> np.ndarray:
    """arch_ids of points of ``[0, 1]^6`` (each coordinate rounded to the choice whose bin holds it)."""
    index = np.clip(np.floor(np.asarray(vectors) * N_CHOICES).astype(np.int64), 0, N_CHOICES - 1)
    return _id_by_code()[index @ _WEIGHTS]


def bandwidths(data: np.ndarray, min_bandwidth: float) -> np.ndarray:
    """Scott's normal-reference rule per dimension (statsmodels' ``normal_reference``), at least ``min_bandwidth``."""
    n, d = data.shape
    return np.maximum(1.06 * data.std(axis=0) * n ** (-1.0 / (4 + d)), min_bandwidth)


def kde_pdf(points: np.ndarray, data: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Product-Gaussian kernel density of ``data`` (bandwidths ``bw``) at each row of ``points``."""
    squares = np.zeros((len(points), len(data)))
    for j in range(data.shape[1]):
        z = (points[:, j, None] - data[None, :, j]) / bw[j]
        squares += z * z
    return np.exp(-0.5 * squares).mean(axis=1) / np.prod(np.sqrt(2.0 * np.pi) * bw)


def split(scores: Sequence[float], n_min: int, top_fraction: float | Fraction) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the observations that model the good and the bad density (Falkner et al., 2018, §3.1).

    Of ``N_b = len(scores)`` (larger is better) the best ``N_l = max(n_min, floor(top_fraction *
    N_b))`` are good and the worst ``max(n_min, N_b - N_l)`` bad (the two overlap while
    ``N_b < 2 * n_min``); equal scores rank in the order given (the earliest heard first).
    """
    fraction = top_fraction if isinstance(top_fraction, Fraction) else Fraction(repr(float(top_fraction)))
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    n_good = max(n_min, math.floor(fraction * len(order)))  # exact: 0.15 of 100 is 15, not 14
    return order[:n_good], order[len(order) - max(n_min, len(order) - n_good):]


def tpe_candidates(rng: np.random.Generator, good: np.ndarray, bad: np.ndarray, num_samples: int,
                   bandwidth_factor: float, min_bandwidth: float) -> np.ndarray:
    """arch_ids of ``num_samples`` draws from the widened good density, the best (lowest ``g/l``) first.

    ``good`` and ``bad`` are encoded observations (rows of :func:`unit_vectors`). Each draw picks
    a good observation uniformly and, per coordinate, a normal around it with standard
    deviation ``bandwidth_factor`` times its bandwidth, truncated to ``[0, 1]`` (by the inverse
    CDF); draws are ranked by ``max(g, 1e-32) / max(l, 1e-32)`` at the drawn point (stable:
    the first drawn among equals), as HpBandSter does, and decoded to architectures.
    """
    from scipy.special import ndtr, ndtri  # here, so importing the searchers does not import scipy

    bw_good, bw_bad = bandwidths(good, min_bandwidth), bandwidths(bad, min_bandwidth)
    centres = good[rng.integers(0, len(good), size=num_samples)]
    scale = bw_good * bandwidth_factor
    lo, hi = ndtr(-centres / scale), ndtr((1.0 - centres) / scale)
    u = rng.random(centres.shape)
    samples = np.clip(centres + scale * ndtri(lo + u * (hi - lo)), 0.0, 1.0)
    samples = np.where(np.isnan(samples), centres, samples)
    ratio = np.maximum(kde_pdf(samples, bad, bw_bad), 1e-32) / np.maximum(kde_pdf(samples, good, bw_good), 1e-32)
    return decode(samples)[np.argsort(ratio, kind="stable")]


class _Pool:
    """The architectures not drawn yet: uniform draws and removals in O(1) (swap with the last)."""

    def __init__(self) -> None:
        self.ids = list(range(1, N_ARCHS + 1))
        self.where = list(range(-1, N_ARCHS))  # where[arch_id] = its index in ids

    def __contains__(self, arch_id: int) -> bool:
        return self.where[arch_id] >= 0

    def remove(self, arch_id: int) -> int:
        i, last = self.where[arch_id], self.ids[-1]
        self.ids[i], self.where[last] = last, i
        self.ids.pop()
        self.where[arch_id] = -1
        return arch_id

    def draw(self, rng: np.random.Generator) -> int:
        return self.remove(self.ids[int(rng.integers(len(self.ids)))])


class BOHB(_Synchronous):
    """BOHB: Hyperband's brackets, new architectures proposed by a density model per budget.

    The brackets, the rounding rule, promotions (continuing from the epochs reached; equal
    scores: the earliest proposed in the rung), the budget rules and ``min_epochs`` (default 1:
    see :class:`~._hyperband.Hyperband` for the trade-off the fidelity study shows) are
    Hyperband's, with ``eta = 3`` as in the paper. Every architecture a first rung needs is
    chosen when it is proposed, from all results heard so far:

    * with no model yet, or with probability ``random_fraction`` (1/3), uniformly at random
      among the architectures not drawn before in the run;
    * else from the model of the largest budget (epochs) with at least ``N_min + 2``
      observations, ``N_min = min_points_in_model`` (default ``d + 1 = 7`` for the six
      decision variables): of its ``N_b`` observations the best ``max(N_min, floor(top_fraction *
      N_b))`` (``top_fraction`` 0.15; equal scores: the earliest heard) give the "good" density
      ``l`` and the worst ``max(N_min, N_b - that)`` the "bad" one ``g``; each a product-Gaussian
      kernel density on the bin-centre encoding, bandwidths by the normal-reference rule and at
      least ``min_bandwidth`` (1e-3). ``num_samples`` (64) points are drawn around random good
      observations from truncated normals on ``[0, 1]`` widened by ``bandwidth_factor`` (3), and
      the one minimising ``max(g, 1e-32) / max(l, 1e-32)`` is taken (the first among equals).
      Where it decodes to an architecture drawn before, the next best sample that does not
      is taken, and if all do, a uniform one (architectures never repeat within a run).

    How it compares with Hyperband and random search on the SYNTHETIC stand-in: docs/studies/fidelity.md.

    **Workers.** By default (``overlap_brackets=True``) it runs in parallel as the paper does
    (§4.2): a free worker takes the next proposal of the oldest running bracket, and when every
    running bracket waits for a rung's results, the next bracket starts (so workers never idle
    while a budget of distinct architectures is left). ``overlap_brackets=False`` runs the
    brackets one after another, as :class:`~._hyperband.Hyperband` does; on one worker both are
    the same. Random numbers come only from the ``rng`` given.
    """

    name: ClassVar[str] = "bohb"

    def __init__(self, min_epochs: int = DEFAULT_MIN_EPOCHS, max_epochs: int | None = None, eta: float = 3,
                 top_fraction: float = 0.15, min_points_in_model: int | None = None,
                 random_fraction: float = 1 / 3, bandwidth_factor: float = 3.0, min_bandwidth: float = 1e-3,
                 num_samples: int = 64, overlap_brackets: bool = True) -> None:
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.eta = eta
        self.top_fraction = top_fraction
        self.min_points_in_model = min_points_in_model
        self.random_fraction = random_fraction
        self.bandwidth_factor = bandwidth_factor
        self.min_bandwidth = min_bandwidth
        self.num_samples = num_samples
        self.overlap_brackets = overlap_brackets

    def _validate_model(self) -> int:
        """``N_min``; raises :class:`ConfigError` for a bad model setting."""
        check_real(self.top_fraction, "BOHB top_fraction", 0.0, 1.0, low_open=True)
        check_real(self.random_fraction, "BOHB random_fraction", 0.0, 1.0)
        check_real(self.bandwidth_factor, "BOHB bandwidth_factor", 0.0, low_open=True)
        check_real(self.min_bandwidth, "BOHB min_bandwidth", 0.0, low_open=True)
        check_int(self.num_samples, "BOHB num_samples")
        if self.min_points_in_model is None:
            return N_DIMS + 1
        return check_int(self.min_points_in_model, "BOHB min_points_in_model")

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        low, top, eta = self._schedule(max_epochs)
        n_min = self._validate_model()
        top_fraction = Fraction(repr(float(self.top_fraction)))  # its shortest decimal, exactly
        vectors = unit_vectors()
        pool = _Pool()
        observed: dict[int, tuple[list[int], list[float]]] = {}  # epochs -> (arch_ids, scores) as heard

        def hear(result: Result) -> None:
            archs, scores = observed.setdefault(result.epochs, ([], []))
            archs.append(result.arch_id)
            scores.append(result.score)

        def draw() -> int:
            budgets = [b for b, (archs, _) in observed.items() if len(archs) >= n_min + 2]
            if not budgets or rng.random() < self.random_fraction:
                return pool.draw(rng)
            archs, scores = observed[max(budgets)]
            good, bad = split(scores, n_min, top_fraction)
            data = vectors[archs]
            picks = tpe_candidates(rng, data[good], data[bad], self.num_samples, self.bandwidth_factor,
                                   self.min_bandwidth)
            for arch_id in picks.tolist():
                if arch_id in pool:
                    return pool.remove(arch_id)
            return pool.draw(rng)

        brackets = itertools.cycle(hyperband_iteration(low, top, eta))
        yield from run_brackets(brackets, top, eta, budget, draw, hear, overlap=self._overlap())
