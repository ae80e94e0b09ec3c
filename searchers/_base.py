"""The searcher contract: hyper-parameters in ``__init__``, the search in :meth:`Searcher.search`."""

from __future__ import annotations

import abc
import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nares_nas.oracle import Oracle, Trajectory
from nares_nas.space import SearchSpace


class Searcher(abc.ABC):
    """Base class of every search algorithm, built-in or plugin.

    Subclasses take only their own hyper-parameters as keyword arguments of ``__init__``
    (stored unchanged, as scikit-learn estimators do) and implement :meth:`search`. They draw
    every random number from the ``rng`` they are given and ask the oracle for scores
    (larger is better); the oracle counts the budget and records the trajectory.
    """

    name: ClassVar[str] = ""
    lockstep_runs: int = 1
    """How many seeds the harness hands :meth:`run_many` at once (more than 1 where runs share work)."""

    @abc.abstractmethod
    def search(self, space: SearchSpace, oracle: Oracle, budget: int, rng: np.random.Generator) -> None:
        """Spend up to ``budget`` distinct queries of ``oracle``."""

    def query_cap(self, budget: int) -> int | None:
        """Distinct queries the oracle may allow: ``budget`` unless a reference option overshoots."""
        return budget

    def run(self, space: SearchSpace, oracle: Oracle, budget: int, rng: np.random.Generator) -> Trajectory:
        """Search, then return the oracle's record of every paid query."""
        self.search(space, oracle, budget, rng)
        return oracle.trajectory()

    def run_many(self, space: SearchSpace, oracles: Sequence[Oracle], budget: int,
                 rngs: Sequence[np.random.Generator]) -> list[Trajectory]:
        """One independent run per (oracle, rng); each must equal what :meth:`run` gives alone.

        By default a fresh instance runs each in turn, so no state leaks between runs. A
        searcher whose runs can share work (BANANAS fits several runs' predictors together)
        overrides this and sets :attr:`lockstep_runs`.
        """
        return [type(self)(**self.get_params()).run(space, oracle, budget, rng)
                for oracle, rng in zip(oracles, rngs)]

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as passed to ``__init__`` (written next to results)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
