"""The event rules of a run, written once: what a proposal is charged, when a budget refuses it, what
is answered for free, what is in flight and when results are told.

The simulated clock (:mod:`nares_nas.simulation.clock`, simulated time) and the live driver
(:mod:`nares_nas.live.driver`, wall time and executor futures) each keep one :class:`Ledger` and
follow its rules; only time and where values come from are theirs. Units are the owner's: the clock
counts cost and time in ticks, the live driver in seconds. On its per-evaluation path the clock works
on the ledger's state with copies of :meth:`Ledger.answer`, :meth:`~Ledger.start`, :meth:`~Ledger.finish`
and :meth:`~Ledger.news` (the calls cost it 6-25 %: docs/benchmarks.md); tests/live/test_event_rules.py
holds the two to the same answers.

* **Free answers.** A proposal ``(arch, e)`` already finished is told its score again; one in flight
  is told once, when it finishes; one whose architecture already finished at least ``e`` epochs is
  answered from that history (the owner reads the value).
* **Budgets.** An architecture counts when it is first started or answered from outside the run
  (a table, a cache); ``total_epochs`` counts the epochs sent to train, at the start; cost and time
  refuse a training that would take the charge or its end past the limit. The first refused
  proposal ends the run.
* **Telling.** Results wait in the inbox and reach the searcher together, at its next resume.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nares_nas.asktell import Result

_new = tuple.__new__
IN_FLIGHT = object()
"""The score of an evaluation in flight: a repeat of it is told once, when it finishes."""
IN_HISTORY = object()
"""The answer to a proposal its architecture's history already holds: the owner reads the value."""


class Refused(Exception):
    """A budget refuses the proposal; the run ends. ``kind``: ``archs``, ``cost``, ``epochs`` or ``time``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Ledger:
    """One run's proposals under the event rules (see the module): known scores, histories, charges, inbox.

    ``max_epochs`` is full fidelity; ``archs``, ``total_epochs``, ``cost`` and ``time`` the limits
    (None: none), cost and time in the owner's units.
    """

    __slots__ = ("archs", "cost", "epochs", "furthest", "inbox", "known", "limited", "spent", "stride", "time",
                 "total_epochs")

    def __init__(self, max_epochs: int, *, archs: int | None = None, total_epochs: int | None = None,
                 cost: float | None = None, time: float | None = None) -> None:
        self.stride = int(max_epochs) + 1
        self.archs, self.total_epochs, self.cost, self.time = archs, total_epochs, cost, time
        self.limited = cost is not None or time is not None or total_epochs is not None
        self.known: dict[int, Any] = {}  # (arch, epochs) as arch * stride + epochs -> score, or IN_FLIGHT
        self.furthest: dict[int, int] = {}  # every arch counted -> the epochs its history reaches (0: none yet)
        self.inbox: list[Result] = []  # results not yet told
        self.epochs = 0  # epochs charged (sent to train)
        self.spent: Any = 0  # cost charged

    @classmethod
    def for_budget(cls, budget: Any, max_epochs: int, ticks_per_day: int) -> Ledger:
        """The simulated clock's ledger of a :class:`~nares_nas.simulation.budget.Budget`: cost and time in ticks."""
        return cls(max_epochs, archs=budget.archs, total_epochs=budget.total_epochs,
                   cost=budget.ticks(budget.cost, ticks_per_day), time=budget.ticks(budget.time, ticks_per_day))

    @property
    def n_archs(self) -> int:
        """Distinct architectures counted."""
        return len(self.furthest)

    def answer(self, arch_id: int, epochs: int) -> Any:
        """What ``(arch_id, epochs)`` gets for free: its score, :data:`IN_FLIGHT`, :data:`IN_HISTORY`, or None
        (it must be answered from outside the run or trained; :class:`Refused` where that would count one
        architecture more than the budget allows)."""
        score = self.known.get(arch_id * self.stride + epochs)
        if score is None:
            furthest = self.furthest.get(arch_id)
            if furthest is None:
                if self.archs is not None and len(self.furthest) >= self.archs:
                    raise Refused("archs")
            elif furthest >= epochs:
                return IN_HISTORY
        return score

    def admit(self, added: int, cost: Any, end: Any) -> None:
        """Refuse a training of ``added`` epochs charged ``cost`` and ending at ``end`` that a budget cannot pay."""
        if self.cost is not None and self.spent + cost > self.cost:
            raise Refused("cost")
        if self.total_epochs is not None and self.epochs + added > self.total_epochs:
            raise Refused("epochs")
        if self.time is not None and end > self.time:
            raise Refused("time")

    def admit_run(self, costs: np.ndarray, added: int, start: Any) -> int:
        """How many of ``len(costs)`` new architectures trained back to back from ``start``, ``added``
        epochs each, the budgets pay: :meth:`answer`'s count of architectures and :meth:`admit` on each,
        vectorised."""
        k = len(costs)
        if self.archs is not None:
            k = min(k, self.archs - len(self.furthest))
        if not self.limited or k <= 0:
            return max(k, 0)
        total = np.cumsum(costs[:k])
        bad = np.zeros(k, dtype=bool)
        if self.cost is not None:
            bad |= self.spent + total > self.cost
        if self.time is not None:
            bad |= start + total > self.time
        if self.total_epochs is not None:
            bad |= self.epochs + added * np.arange(1, k + 1) > self.total_epochs
        return int(bad.argmax()) if bad.any() else k

    def start(self, arch_id: int, added: int, epochs: int, cost: Any) -> None:
        """Charge a training of ``arch_id`` to ``epochs`` (``added`` of them new) and mark it in flight."""
        self.known[arch_id * self.stride + epochs] = IN_FLIGHT
        self.furthest.setdefault(arch_id, 0)
        self.epochs += added
        self.spent += cost

    def finish(self, arch_id: int, epochs: int, score: Any) -> None:
        """A training finished: its architecture's history reaches ``epochs``; tell ``score``."""
        if epochs > self.furthest[arch_id]:
            self.furthest[arch_id] = epochs
        self.tell(arch_id, epochs, score)

    def count(self, arch_id: int, epochs: int) -> None:
        """An answer from outside the run (a table, a cache) counts ``arch_id``, its history ``epochs`` deep."""
        if epochs > self.furthest.get(arch_id, -1):
            self.furthest[arch_id] = epochs

    def tell(self, arch_id: int, epochs: int, score: Any) -> None:
        """``(arch_id, epochs)`` is known as ``score`` and told at the next resume."""
        self.known[arch_id * self.stride + epochs] = score
        self.inbox.append(_new(Result, (arch_id, epochs, score)))  # the named tuple without its Python-level __new__

    def news(self) -> list[Result]:
        """The results to tell now (the inbox, emptied)."""
        news, self.inbox = self.inbox, []
        return news
