"""Successive halving and Hyperband (Li et al., 2018) over the epoch axis, as proposing searchers.

**Bracket arithmetic** (the paper's Algorithm 1, in epochs). With ``R = max_epochs / min_epochs``
and reduction factor ``eta``: ``s_max = floor(log_eta(R))``; bracket ``s`` (``s_max`` down to 0)
starts ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` architectures; its rung ``i`` (0..s) holds
``n_i = floor(n * eta**-i)`` of them, trained to ``r_i = max_epochs * eta**-(s - i)`` epochs (the
paper's ``r * eta**i`` with ``r = R * eta**-s`` resource units of ``min_epochs``). All of it is
computed exactly (fractions; a float ``eta`` is read as its shortest decimal, 1.2 as 6/5), so
``s_max`` is never off by one from float noise in a logarithm.

**Rounding rule.** A rung that is not a whole epoch is rounded half up (``floor(r_i + 1/2)``: 2.5
becomes 3), clamped to ``1..max_epochs``; the top rung is always ``max_epochs`` exactly. Rungs
that round to the same epochs are merged: the first one is kept with its count, and the next
distinct rung promotes from it (selecting the best ``k`` twice at the same epochs is the same as
selecting them once). The smallest rung is ``max_epochs * eta**-s_max`` (before rounding), at least
``min_epochs`` and below ``eta * min_epochs``: it equals ``min_epochs`` when ``R`` is a power of ``eta``. With
the default ``min_epochs=4`` on NARes (E = 100, ``eta=3``): ``s_max = 2`` and brackets of rungs
11/33/100, 33/100 and 100; with ``min_epochs=1``: ``s_max = 4``, rungs 1/4/11/33/100 and their
suffixes (:func:`hyperband_brackets` lists them).

The functions here are pure; :func:`run_brackets` is the shared engine of
:class:`SuccessiveHalving`, :class:`Hyperband` and :class:`~._bohb.BOHB`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from nares_nas._validation import check_bool, check_int, check_real
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.errors import ConfigError
from nares_nas.space import N_ARCHS, SearchSpace

from ._base import Searcher

DEFAULT_MIN_EPOCHS = 4
"""The default ``min_epochs`` of the multi-fidelity searchers (see :class:`Hyperband` for why)."""

Rung = tuple[int, int]
"""``(n_i, epochs_i)``: how many architectures a rung evaluates, and after how many epochs."""


# --------------------------------------------------------------------------- bracket arithmetic
def as_fraction(eta: Any) -> Fraction:
    """``eta`` as an exact fraction, a float read as its shortest decimal (1.2 is 6/5, not its binary value);
    :class:`ConfigError` unless it is a finite number > 1 (:func:`~nares_nas._validation.check_real`)."""
    check_real(eta, "eta (the reduction factor)", 1, low_open=True)
    return Fraction(repr(float(eta))) if isinstance(eta, (float, np.floating)) else Fraction(eta)


def check_schedule(min_epochs: Any, max_epochs: Any, eta: Any) -> tuple[int, int, Fraction]:
    """Validated ``(min_epochs, max_epochs, eta)``: integers ``1 <= min_epochs <= max_epochs``, ``eta > 1``."""
    top = check_int(max_epochs, "max_epochs")
    low = check_int(min_epochs, f"min_epochs (at most max_epochs={top})", 1, top)
    return low, top, as_fraction(eta)


def max_bracket(min_epochs: int, max_epochs: int, eta: Any) -> int:
    """``s_max = floor(log_eta(max_epochs / min_epochs))``, exactly.

    The largest ``s`` with ``min_epochs * eta**s <= max_epochs``.
    """
    low, top, eta = check_schedule(min_epochs, max_epochs, eta)
    s = 0
    while low * eta ** (s + 1) <= top:
        s += 1
    return s


def round_half_up(value: Fraction) -> int:
    """The nearest integer, halves rounded up (2.5 -> 3, not Python's 2)."""
    return math.floor(value + Fraction(1, 2))


def rung_epochs(s: int, max_epochs: int, eta: Any) -> list[int]:
    """Epochs of the rungs ``i = 0..s`` of bracket ``s``, before merging: ``round_half_up(max_epochs * eta**-(s - i))``.

    Clamped to ``1..max_epochs``; the last is ``max_epochs``.
    """
    eta = as_fraction(eta)
    return [min(max_epochs, max(1, round_half_up(Fraction(max_epochs) / eta ** (s - i)))) for i in range(s + 1)]


def bracket_rungs(n: int, s: int, max_epochs: int, eta: Any) -> list[Rung]:
    """The rungs ``(n_i, epochs_i)`` of a bracket ``s`` that starts ``n`` architectures.

    ``n_i = max(1, floor(n * eta**-i))`` (the paper's ``floor``; the ``max`` only matters for a
    bracket cut short by the budget); rungs with equal epochs merged into the first of them.
    """
    eta = as_fraction(eta)
    rungs: list[Rung] = []
    for i, epochs in enumerate(rung_epochs(s, max_epochs, eta)):
        if rungs and rungs[-1][1] == epochs:
            continue
        rungs.append((max(1, math.floor(n / eta**i)), epochs))
    return rungs


def bracket_size(s: int, s_max: int, eta: Any) -> int:
    """``n = ceil((s_max + 1) / (s + 1) * eta**s)``: architectures bracket ``s`` starts."""
    return math.ceil(Fraction(s_max + 1, s + 1) * as_fraction(eta) ** s)


def hyperband_iteration(min_epochs: int, max_epochs: int, eta: Any) -> list[tuple[int, int]]:
    """``(n, s)`` of one Hyperband iteration's brackets, ``s = s_max`` first."""
    s_max = max_bracket(min_epochs, max_epochs, eta)
    return [(bracket_size(s, s_max, eta), s) for s in range(s_max, -1, -1)]


def hyperband_brackets(min_epochs: int, max_epochs: int, eta: Any) -> list[list[Rung]]:
    """One Hyperband iteration: the rungs ``(n_i, epochs_i)`` of brackets ``s = s_max, ..., 0``, in order.

    >>> hyperband_brackets(4, 100, 3)
    [[(9, 11), (3, 33), (1, 100)], [(5, 33), (1, 100)], [(3, 100)]]
    """
    return [bracket_rungs(n, s, max_epochs, eta) for n, s in hyperband_iteration(min_epochs, max_epochs, eta)]


# --------------------------------------------------------------------------- the engine
class _Bracket:
    """One synchronous successive-halving bracket: a rung is promoted once all its results are in."""

    def __init__(self, rungs: list[Rung]) -> None:
        self.rungs = rungs
        self.level = 0
        self.members: list[int] = []  # the current rung's archs, in proposal order
        self.proposed = 0  # how many of them are proposed
        self.scores: dict[int, float] = {}
        self.done = False

    def next(self, draw: Callable[[], int]) -> Proposal | None:
        """The next proposal of the current rung, or None while it waits for its results."""
        count, epochs = self.rungs[self.level]
        if self.proposed == count:
            return None
        if self.level == 0:
            self.members.append(draw())
        arch_id = self.members[self.proposed]
        self.proposed += 1
        return Proposal(arch_id, epochs)

    def tell(self, result: Result) -> None:
        self.scores[result.arch_id] = result.score
        count = self.rungs[self.level][0]
        if len(self.scores) < count:
            return
        if self.level + 1 == len(self.rungs):
            self.done = True
            return
        keep = self.rungs[self.level + 1][0]
        # best first; equal scores: the earliest proposed in this rung (a stable sort keeps that order)
        ranked = sorted(range(count), key=lambda j: -self.scores[self.members[j]])
        self.members = [self.members[j] for j in ranked[:keep]]
        self.level += 1
        self.proposed = 0
        self.scores = {}


def run_brackets(brackets: Iterable[tuple[int, int]], max_epochs: int, eta: Fraction, budget: int | None,
                 draw: Callable[[], int], hear: Callable[[Result], None] | None = None,
                 overlap: bool = False) -> Proposals:
    """Run brackets ``(n, s)`` from ``brackets`` as proposals until it or the budget runs out.

    ``draw()`` returns a new architecture for a first rung (never one drawn before);
    ``hear(result)`` sees every result. A bracket starts ``min(n, archs left)``, so a budget of
    distinct architectures is spent exactly (the last bracket shrinks, its rung counts
    recomputed from the smaller ``n``) and never exceeded; with no budget the brackets go on
    until the driver ends the run or the space is used up. ``overlap``: start the next bracket
    whenever every running one waits for results (else only when the previous one is done).
    """
    limit = N_ARCHS if budget is None else min(budget, N_ARCHS)
    shapes: Iterator[tuple[int, int]] = iter(brackets)
    reserved = 0
    active: list[_Bracket] = []
    owner: dict[tuple[int, int], _Bracket] = {}
    news: list[Result] = []
    while True:
        for result in news:
            if hear is not None:
                hear(result)
            bracket = owner.pop((result.arch_id, result.epochs), None)
            if bracket is not None:
                bracket.tell(result)
        active = [b for b in active if not b.done]
        proposal = source = None
        for bracket in active:  # the oldest running bracket with something to propose
            proposal = bracket.next(draw)
            if proposal is not None:
                source = bracket
                break
        if proposal is None and (overlap or not active) and reserved < limit:
            shape = next(shapes, None)
            if shape is not None:
                n, s = shape
                n = min(n, limit - reserved)
                reserved += n
                source = _Bracket(bracket_rungs(n, s, max_epochs, eta))
                active.append(source)
                proposal = source.next(draw)
        if proposal is None and not active:
            return
        if source is not None:
            owner[(proposal.arch_id, proposal.epochs)] = source
        news = yield proposal


# --------------------------------------------------------------------------- the searchers
def _uniform_draws(rng: np.random.Generator) -> Callable[[], int]:
    """Architectures uniformly at random without repeats: one permutation of the space, in order."""
    return iter((rng.permutation(N_ARCHS) + 1).tolist()).__next__


class _Synchronous(Searcher):
    """What successive halving, Hyperband and BOHB share: the epoch schedule and its validation."""

    multi_fidelity: ClassVar[bool] = True

    def _overlap(self) -> bool:
        """``overlap_brackets`` as a ``bool`` (text such as ``"false"`` read, never judged by its truthiness)."""
        return check_bool(self.overlap_brackets, f"{type(self).__name__} overlap_brackets")

    def _schedule(self, max_epochs: int | None) -> tuple[int, int, Fraction]:
        """``(min_epochs, max_epochs, eta)`` for a run whose full training is ``max_epochs`` epochs."""
        cls = type(self).__name__
        if max_epochs is None and self.max_epochs is None:
            raise ConfigError(f"{cls} evaluates at several fidelities and needs the full training's epochs: "
                              "run it on the simulated clock (nares_nas.simulation.clock.simulate, or "
                              "nares-nas search), "
                              "not on a plain oracle")
        if max_epochs is not None and self.max_epochs is not None:
            top = check_int(self.max_epochs, f"{cls} max_epochs (at most the table's {max_epochs})", 1,
                            max_epochs)
        else:
            top = max_epochs if self.max_epochs is None else self.max_epochs
        return check_schedule(self.min_epochs, top, self.eta)


class SuccessiveHalving(_Synchronous):
    """Synchronous successive halving over the epochs, one bracket after another.

    Each bracket is Hyperband's most exploratory one (``s = s_max``, see the module docstring
    for the arithmetic and the rounding rule): ``n_initial`` architectures (default
    ``ceil(eta**s_max)``, e.g. 81 at 1 epoch with the defaults on NARes) drawn uniformly at
    random, never one drawn before in the run; after each rung the best ``n_i+1`` (equal scores:
    the earliest proposed in that rung) are promoted and *continue* training from the epochs
    they reached (the clock charges only the added epochs), best first; the top rung is
    ``max_epochs``. Brackets repeat with fresh architectures until the budget: a budget of
    distinct architectures is spent exactly (the last bracket starts fewer, its rung counts
    ``max(1, floor(n * eta**-i))``); a cost, epoch or time budget ends the run when the clock
    cannot pay a proposal.

    On N workers a rung's evaluations go to the free workers and the bracket waits for the
    whole rung before promoting (it yields None), so workers idle at the small top rungs.
    ``overlap_brackets=True`` instead starts the next bracket on workers the current one leaves
    idle (BOHB's parallel scheme); on one worker both are the same.

    ``max_epochs`` None is the table's full training (100 on NARes). For ``min_epochs`` see
    :class:`Hyperband`.
    """

    name: ClassVar[str] = "successive_halving"

    def __init__(self, min_epochs: int = DEFAULT_MIN_EPOCHS, max_epochs: int | None = None, eta: float = 3,
                 n_initial: int | None = None, overlap_brackets: bool = False) -> None:
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.eta = eta
        self.n_initial = n_initial
        self.overlap_brackets = overlap_brackets

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        low, top, eta = self._schedule(max_epochs)
        s_max = max_bracket(low, top, eta)
        n = bracket_size(s_max, s_max, eta) if self.n_initial is None else check_int(
            self.n_initial, "SuccessiveHalving n_initial")
        yield from run_brackets(itertools.repeat((n, s_max)), top, eta, budget, _uniform_draws(rng),
                                overlap=self._overlap())


class Hyperband(_Synchronous):
    """Hyperband (Li et al., 2018) over the epochs: successive-halving brackets ``s = s_max .. 0``, repeated.

    Bracket ``s`` starts ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` architectures at
    ``max_epochs * eta**-s`` epochs and keeps ``floor(n * eta**-i)`` at rung ``i``; the brackets
    hedge between many cheap, weak first looks and few full trainings. The arithmetic, the
    rounding rule (half up, clamped, equal rungs merged, the top rung always ``max_epochs``) and
    :func:`hyperband_brackets` are in the module docstring. With the defaults on NARes
    (``min_epochs=1, max_epochs=100, eta=3``), architectures@epochs per rung: 81@1 -> 27@4 -> 9@11
    -> 3@33 -> 1@100, then 34@4 -> 11@11 -> 3@33 -> 1@100, 15@11 -> 5@33 -> 1@100, 8@33 -> 2@100
    and 5@100.

    Architectures are drawn uniformly at random, never one drawn before in the run (one
    permutation of the space from ``rng``). A rung's best (equal scores: the earliest proposed
    in that rung) *continue* from the epochs they reached (the clock charges only the added
    epochs) and are proposed best first. A budget of distinct architectures is spent exactly
    (the last bracket starts fewer, its rung counts ``max(1, floor(n * eta**-i))``); without one
    (a cost, epoch or time budget) the iterations repeat until the clock cannot pay a proposal.

    **Workers.** As in the paper's Algorithm 1 the brackets run one after another: a rung's
    evaluations go to the free workers, the bracket waits for the whole rung before promoting,
    and the next bracket starts when this one is done, so on N workers the small top rungs
    leave workers idle. ``overlap_brackets=True`` starts the next bracket on them instead
    (BOHB's parallel scheme, Falkner et al., 2018, §4.2; asynchronous promotion is ASHA's).

    **min_epochs** (default 4) trades breadth for signal: the smallest rung is
    ``max_epochs * eta**-s_max``, and each division of it by ``eta`` adds a bracket whose first rung
    looks at many architectures cheaply but ranks them by a weaker signal. The fidelity study on the
    SYNTHETIC stand-in suggests that every rung below the top one ranks by about the same weak pre-drop
    signal; what each ``min_epochs`` found there is in docs/studies/fidelity.md. The default is
    nevertheless 4, not 1: the stand-in's early epochs are synthetic, and after 1 epoch of PGD training
    a real network is barely trained, so 4 (4% of a full training) is the cautious choice until the
    study is re-run on the real data.
    """

    name: ClassVar[str] = "hyperband"

    def __init__(self, min_epochs: int = DEFAULT_MIN_EPOCHS, max_epochs: int | None = None, eta: float = 3,
                 overlap_brackets: bool = False) -> None:
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.eta = eta
        self.overlap_brackets = overlap_brackets

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator,
                *, maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        low, top, eta = self._schedule(max_epochs)
        brackets = itertools.cycle(hyperband_iteration(low, top, eta))
        yield from run_brackets(brackets, top, eta, budget, _uniform_draws(rng), overlap=self._overlap())
