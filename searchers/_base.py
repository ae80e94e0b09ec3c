"""The searcher contract: hyper-parameters in ``__init__``; the search as proposals, or as a blocking loop.

A searcher implements one of two methods. :meth:`Searcher.propose` is the search as an
ask/tell generator (:mod:`nares_nas.asktell`): it can keep several evaluations in flight on
the simulated clock's N workers and propose fidelities. :meth:`Searcher.search` is the
blocking style, ``search(space, oracle, budget, rng)`` calling ``oracle.query``: it keeps
working unchanged, with one evaluation in flight, so more workers gain it nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import orjson

from nares_nas.asktell import OracleRun, Proposals, lockstep
from nares_nas.errors import ConfigError
from nares_nas.oracle import Oracle, Trajectory
from nares_nas.space import SearchSpace


class Searcher:
    """Base class of every search algorithm, built-in or plugin.

    Subclasses take only their own hyper-parameters as keyword arguments of ``__init__``
    (stored unchanged, as scikit-learn estimators do) and implement :meth:`propose` or
    :meth:`search`. They draw every random number from the ``rng`` they are given and work
    with scores (larger is better); the evaluator counts the budget and records what ran.
    """

    name: ClassVar[str] = ""
    lockstep_runs: int = 1
    """How many seeds run together (more than 1 where runs share work, as BANANAS' fits do).

    The harness runs aligned blocks of seeds (``seed // lockstep_runs``) as one task on the
    simulated clock, which answers the side work of a proposing searcher's runs a batch at a time
    (as :meth:`run_many` does over plain oracles), and pins the value with a run folder: on a GPU
    the grouping may change results."""
    multi_fidelity: ClassVar[bool] = False
    """Whether it proposes evaluations at fewer epochs than a full training (it then needs an
    objective with a per-epoch history, and :meth:`propose`)."""
    multi_objective: ClassVar[bool] = False
    """Whether it can search two or three objectives at once (written as :meth:`propose`): each
    result's ``score`` is then a float64 vector, larger-is-better in every component, ``-inf``
    in every component for an architecture that violates a constraint, and ``propose`` is told
    ``maximize=(True,) * k`` for k objectives."""
    single_objective: ClassVar[bool] = True
    """Whether it can search one objective (False for a searcher written for score vectors only)."""
    execution_params: ClassVar[tuple[str, ...]] = ()
    """Hyper-parameters that say how runs execute, not what they find (a thread count, a device's
    name): a run folder does not pin them, so a resumed job may change them. The harness pins
    ``lockstep_runs`` and the kind of a ``device`` hyper-parameter itself."""

    def propose(self, space: SearchSpace, budget: int | None, rng: np.random.Generator, *,
                maximize: bool = True, max_epochs: int | None = None) -> Proposals:
        """The search as an ask/tell generator of proposals (see :mod:`nares_nas.asktell`).

        ``budget`` is the most distinct architectures the run may start (None: no such limit,
        a cost or time budget ends the run instead); ``maximize`` the objective's direction
        (scores are larger-is-better either way; it only decides ties as the reference does);
        ``max_epochs`` the full training's epochs where fidelities can be proposed.
        """
        raise NotImplementedError(f"{type(self).__name__} implements neither propose() nor search()")

    @classmethod
    def proposes(cls) -> bool:
        """Whether this searcher is written as :meth:`propose` (else as a blocking :meth:`search`)."""
        return cls.propose is not Searcher.propose

    def search(self, space: SearchSpace, oracle: Oracle, budget: int, rng: np.random.Generator) -> None:
        """Spend up to ``budget`` distinct queries of ``oracle`` (for a proposing searcher: one at a time)."""
        if not self.proposes():
            raise NotImplementedError(f"{type(self).__name__} implements neither propose() nor search()")
        lockstep([OracleRun(self.propose(space, budget, rng, maximize=oracle.maximize), oracle)])

    seconds_per_query: ClassVar[float | None] = None
    """Rough seconds of one CPU core per distinct architecture of a run on the table, where measured
    (docs/benchmarks.md); :meth:`expected_seconds` of a budget of distinct architectures. None: not measured."""

    def expected_seconds(self, budget: int | None) -> float | None:
        """Rough seconds of one CPU core that one run takes with ``budget`` distinct architectures
        (None: a cost or time budget), so that a long job can say so before it starts
        (:mod:`nares_nas.progress`) and a small one runs in one process
        (:func:`nares_nas.runs.parallel.local_jobs`); None where nobody measured it. By default
        :attr:`seconds_per_query` times ``budget``."""
        if self.seconds_per_query is None or budget is None:
            return None
        return self.seconds_per_query * budget

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

        A fresh instance runs each, so no state leaks between runs. Proposing searchers run
        in lockstep, their side work of a round (BANANAS' predictor fits) answered as one batch;
        blocking ones run in turn.
        """
        fresh = [self.clone() for _ in oracles]
        if not self.proposes():
            return [searcher.run(space, oracle, budget, rng) for searcher, oracle, rng in zip(fresh, oracles, rngs)]
        lockstep([OracleRun(searcher.propose(space, budget, rng, maximize=oracle.maximize), oracle)
                  for searcher, oracle, rng in zip(fresh, oracles, rngs)])
        return [oracle.trajectory() for oracle in oracles]

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as passed to ``__init__`` (written next to results)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def clone(self) -> Searcher:
        """A new instance with the same hyper-parameters and none of this one's state: what each run
        starts from, so nothing leaks from one run into the next."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _json_params(searcher: Searcher) -> dict[str, Any]:
    try:
        return orjson.loads(orjson.dumps(searcher.get_params(), option=orjson.OPT_SERIALIZE_NUMPY))
    except TypeError as exc:
        raise ConfigError(f"hyper-parameters of {searcher!r} must be JSON values: {exc}") from None


def split_params(searcher: Searcher) -> tuple[dict[str, Any], dict[str, Any]]:
    """``searcher``'s hyper-parameters as JSON values: (those that determine a run, ``execution_params``).

    A run folder pins the first and records the second per run (they say how a run executes)."""
    params = _json_params(searcher)
    execution = set(getattr(searcher, "execution_params", ()))
    return ({key: value for key, value in params.items() if key not in execution},
            {key: value for key, value in params.items() if key in execution})
