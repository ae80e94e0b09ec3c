"""The ask/tell protocol between a searcher and whatever evaluates its proposals.

A searcher that can keep several evaluations in flight writes its run as a generator
(:data:`Proposals`): it yields a :class:`Proposal` whenever it has one, or ``None`` when it
must hear more first, and is sent the list of :class:`Result` s that finished since it last
heard (often empty). It may also yield *side work* (a predictor fit, say): any other object
with a ``resolve_batch(requests) -> replies`` class method, answered by the next send, so a
driver can batch the side work of many runs (:func:`lockstep`).

A searcher that has several proposals ready, and needs no result before the last of them
starts, may yield them at once as a *batch*: a list of :class:`Proposal` s, or a 1-D integer
numpy array of arch_ids (full trainings). The evaluator starts them in order as workers free
up, exactly as if they had been yielded one by one with the results ignored in between, and
resumes the searcher once the last has started (or a budget ended the run), sending every
result that finished meanwhile. That saves a generator round trip per proposal, and lets the
clock start a batch of new architectures on one worker in a few vectorised steps. A searcher
that yields no batch is driven exactly as before.

Two evaluators drive such a generator: :class:`OracleRun` here, over any
:class:`~nares_nas.oracle.Oracle` with one evaluation in flight (each proposal is answered
before the next), and the simulated clock of :mod:`nares_nas.simulation.clock` with N workers. On one
worker both tell the searcher exactly the same things in the same order.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from nares_nas.errors import ConfigError
from nares_nas.oracle import Oracle


class Proposal(NamedTuple):
    """Evaluate ``arch_id`` after ``epochs`` epochs of training (None: the profile's full run).

    A named tuple rather than a dataclass: the clock makes one per evaluation, and a tuple is
    several times cheaper to create."""

    arch_id: int
    epochs: int | None = None


class Result(NamedTuple):
    """A finished evaluation as a searcher hears it; ``score`` is larger-is-better.

    ``epochs`` is None where the evaluator has no fidelities (a plain oracle: full training).
    """

    arch_id: int
    epochs: int | None
    score: float


Proposals = Generator[Any, list[Result], None]
"""A searcher's run: yields :class:`Proposal`, a batch of them, None (wait) or side work; is sent results."""


def batch_items(command: Any) -> list[Proposal] | None:
    """The proposals of ``command`` if it is a batch (a list of proposals, or an integer array of
    arch_ids for full trainings), else None."""
    if type(command) is list:
        for item in command:
            if not isinstance(item, Proposal):
                raise ConfigError(f"a batch holds proposals only, got {item!r}")
        return command
    if isinstance(command, np.ndarray):
        if command.ndim != 1 or command.dtype.kind not in "iu":
            raise ConfigError(f"a batch array holds arch_ids (1-D integers), got {command.dtype} of shape "
                              f"{command.shape}")
        return list(map(Proposal, command.tolist()))
    return None


def one_at_a_time(proposals: Proposals) -> Proposals:
    """``proposals`` for an evaluator that takes one proposal per round trip (live mode): each batch is
    yielded proposal by proposal, and the searcher is resumed once after the batch's last, with every
    result heard meanwhile, as the clock resumes it."""
    try:
        command = next(proposals)
        while True:
            batch = batch_items(command)
            if batch is None:
                news = yield command
            else:
                news = []
                for proposal in batch:
                    news += (yield proposal) or []
            command = proposals.send(news)
    except StopIteration:
        return
    finally:
        proposals.close()


class Searcher(Protocol):
    """What an evaluator needs of a searcher (:class:`nares_nas.searchers.Searcher` has it all).

    The clock and the runners work with this shape, so they import no searcher."""

    multi_fidelity: bool
    single_objective: bool

    def propose(self, space: Any, budget: int | None, rng: Any, *, maximize: Any = True,
                max_epochs: int | None = None) -> Proposals: ...

    @classmethod
    def proposes(cls) -> bool: ...

    def search(self, space: Any, oracle: Oracle, budget: int, rng: Any) -> None: ...

    def query_cap(self, budget: int) -> int | None: ...

    def get_params(self) -> dict[str, Any]: ...


class Run(Protocol):
    """One run that can be advanced until it needs side work (returned) or ends (None)."""

    def advance(self, reply: Any = None) -> Any: ...


class OracleRun:
    """Drive :data:`Proposals` against an oracle, one evaluation at a time.

    Each new proposal is queried at once and its result sent back before the searcher goes
    on (a batch's results together, after its last). The run ends when the searcher returns,
    waits with nothing in flight, or proposes a new architecture the oracle's budget cannot pay.
    """

    def __init__(self, proposals: Proposals, oracle: Oracle) -> None:
        self.proposals = proposals
        self.oracle = oracle
        self._started = False
        self.finished = False

    def _send(self, value: Any) -> Any:
        try:
            if not self._started:
                self._started = True
                return next(self.proposals)
            return self.proposals.send(value)
        except StopIteration:
            self.finished = True
            return None

    def advance(self, reply: Any = None) -> Any:
        if self.finished:
            return None
        command = self._send(reply)
        oracle = self.oracle
        while not self.finished:
            batch = [command] if isinstance(command, Proposal) else batch_items(command)
            if batch is not None:
                results = []
                for proposal in batch:
                    if proposal.epochs is not None:
                        raise ConfigError(f"an oracle answers full trainings only; proposal {proposal} asks for "
                                          "a fidelity (run it on the simulated clock instead)")
                    if not oracle.seen(proposal.arch_id) and oracle.remaining <= 0:
                        break
                    results.append(Result(proposal.arch_id, None, oracle.query(proposal.arch_id)))
                else:
                    command = self._send(results)
                    continue
                break
            elif command is None:
                break  # nothing is in flight here, so there is nothing to wait for
            else:
                return command
        self.finished = True
        self.proposals.close()
        return None


def lockstep(runs: Sequence[Run]) -> None:
    """Advance ``runs`` together until all end, answering their side work a batch at a time.

    Each round collects the side request every unfinished run is blocked on and answers
    those of one kind with one ``resolve_batch`` call (in run order), so that, for example,
    several runs' predictor fits become one stacked program.
    """
    pending = {i: request for i, run in enumerate(runs) if (request := run.advance()) is not None}
    while pending:
        kinds: dict[type, list[int]] = {}
        for i in sorted(pending):
            kinds.setdefault(type(pending[i]), []).append(i)
        for kind, indices in kinds.items():
            replies = kind.resolve_batch([pending[i] for i in indices])
            for i, reply in zip(indices, replies):
                request = runs[i].advance(reply)
                if request is None:
                    del pending[i]
                else:
                    pending[i] = request
