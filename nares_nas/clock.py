"""Asynchronous evaluation on a simulated clock: N workers, exact integer time, ask/tell.

A searcher's :data:`~nares_nas.asktell.Proposals` generator is resumed to propose only
while a worker is free, so it never has to know how many workers there are; it is told
results in the order they finish.

Time is an integer number of ticks (``table.ticks_per_day`` per simulated day), so the many
equal event times are ordered by rule, never by float noise: at one instant every
completion comes before every start, completions in worker order, and a start goes to the
free worker with the lowest id. A run is therefore a pure function of the searcher, its
generator, the table and the settings.

Accounting (all charged when an evaluation *starts*, so nothing in flight can overspend):

* ``budget.archs``: distinct architectures started at any fidelity;
* ``budget.total_epochs``: epochs trained, continuations counted from where they resume;
* ``budget.cost``: GPU-days (one worker is one GPU, so a GPU-day lasts a day);
* ``budget.time``: simulated days; an evaluation that would end later is not started.

The first proposal the remaining budget cannot pay in full ends the run: nothing more is
started, what is in flight finishes (and is recorded), and the searcher is closed.

Proposing an (arch, epochs) already finished is free and told again at once; one whose
architecture already trained at least that far is free too (its history holds the value);
one already in flight is free and told once, when it finishes. A promotion continues from
the architecture's furthest finished training, or afresh if the table's ``from_scratch`` says so.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ._rng import as_generator
from ._validation import check_int
from .asktell import Proposal, Proposals, Result, lockstep
from .errors import BudgetExhaustedError, ConfigError
from .oracle import Oracle, Trajectory
from .searchers import Searcher
from .space import N_ARCHS, SPACE, check_arch_id


class EvaluationTable(Protocol):
    """What the clock needs of a table: values by fidelity and the exact cost of training.

    A table may also offer ``unchecked_value(arch_id, epochs) -> float`` (a Python float) and
    ``unchecked_cost_ticks(arch_id, epochs, epoch_from) -> int``: the same answers for arguments
    the caller has checked (plain ints, ``0 <= epoch_from < epochs <= max_epochs``). The clock
    checks each proposal once and then calls those where they exist (:class:`EvaluationModel
    <nares_nas.evaluation.EvaluationModel>` has them).
    """

    max_epochs: int
    ticks_per_day: int
    from_scratch: bool
    """Charge every evaluation as a training from epoch 0 instead of continuing a paused one."""

    def value(self, arch_id: int, epochs: int) -> float:
        """The raw objective after ``epochs`` epochs (the fidelity rule)."""

    def cost_ticks(self, arch_id: int, epochs: int, epoch_from: int = 0) -> int:
        """Ticks of training ``arch_id`` from ``epoch_from`` to ``epochs`` epochs."""


_NAN = math.nan
_IN_FLIGHT = object()  # stands for the score of an evaluation in flight


def _limit(name: str, value: Any, integer: bool) -> None:
    if value is None:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer) if integer
                                                             else (int, float, np.integer, np.floating)):
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{name} must be {kind} or None, got {value!r}")
    if not value > 0 or (not integer and not math.isfinite(value)):
        raise ConfigError(f"{name} must be positive, got {value!r}")


@dataclass(frozen=True)
class Budget:
    """Limits of one run; None means no limit of that kind."""

    archs: int | None = None
    total_epochs: int | None = None
    cost: float | None = None
    """GPU-days."""
    time: float | None = None
    """Simulated days."""

    def __post_init__(self) -> None:
        _limit("budget (distinct architectures)", self.archs, True)
        _limit("max_total_epochs", self.total_epochs, True)
        _limit("max_cost (GPU-days)", self.cost, False)
        _limit("max_time (simulated days)", self.time, False)

    @property
    def unlimited(self) -> bool:
        return self.archs is None and self.total_epochs is None and self.cost is None and self.time is None

    def ticks(self, value: float | None, ticks_per_day: int) -> int | None:
        """A budget in days as whole ticks, rounded down (so it is never exceeded)."""
        return None if value is None else math.floor(value * ticks_per_day + 1e-9)


@dataclass
class EvaluationLog:
    """Every evaluation of a run in start order; times and costs in ticks."""

    ticks_per_day: int
    arch_id: list[int] = field(default_factory=list)
    epoch_from: list[int] = field(default_factory=list)
    epoch_to: list[int] = field(default_factory=list)
    worker: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    cost: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.arch_id)

    def rows(self) -> list[dict[str, Any]]:
        """The run-file rows: times in simulated days, cost in GPU-days."""
        tpd = self.ticks_per_day
        return [{"arch_id": a, "epoch_from": f, "epoch_to": t, "worker": w, "start": s / tpd, "end": e / tpd,
                 "cost": c / tpd, "value": v}
                for a, f, t, w, s, e, c, v in zip(self.arch_id, self.epoch_from, self.epoch_to, self.worker,
                                                  self.start, self.end, self.cost, self.value)]

    def finish_order(self) -> np.ndarray:
        """Indices of the evaluations in the order they finished (end time, then worker)."""
        return np.lexsort((np.asarray(self.worker), np.asarray(self.end)))


class _Stop(Exception):
    """The remaining budget cannot pay the proposal; the run ends."""


class Simulation:
    """One run of a searcher's :data:`Proposals` on ``workers`` simulated workers.

    Call :meth:`advance` until it returns None; it returns early with any side request the
    searcher yields (e.g. a predictor fit), to be answered by the next :meth:`advance`, which
    lets a driver batch the side work of many runs.
    """

    def __init__(self, table: EvaluationTable, proposals: Proposals | None, *, workers: int = 1,
                 budget: Budget, maximize: bool | Sequence[bool] = True) -> None:
        self.table = table
        self.workers = check_int(workers, "workers")
        self.budget = budget
        # one direction per objective where the table's values are vectors (multi-objective): a score
        # is then the vector times these signs, larger-is-better in every component
        self.sign = (np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0) if isinstance(maximize, Sequence)
                     else 1.0 if maximize else -1.0)
        self.log = EvaluationLog(table.ticks_per_day)
        self.now = 0
        self._cost_limit = budget.ticks(budget.cost, table.ticks_per_day)
        self._time_limit = budget.ticks(budget.time, table.ticks_per_day)
        self._limited = budget.cost is not None or budget.time is not None or budget.total_epochs is not None
        self._spent = 0
        self._epochs = 0
        self._top = int(table.max_epochs)
        self._stride = self._top + 1  # an (arch, epochs) pair as one int key: arch * stride + epochs
        self._from_scratch = bool(table.from_scratch)
        # what the table answers for arguments checked here (its checked methods where it has no others)
        self._value = getattr(table, "unchecked_value", None)
        self._value_float = self._value
        if self._value is None:
            self._value = table.value
            self._value_float = lambda arch_id, epochs: float(table.value(arch_id, epochs))
        self._cost = getattr(table, "unchecked_cost_ticks", None) or table.cost_ticks
        self._free = list(range(self.workers))  # a heap of idle worker ids
        self._busy: list[tuple[int, int, int]] = []  # (end, worker, log index)
        self._known: dict[int, Any] = {}  # (arch, epochs) key -> score, or _IN_FLIGHT
        self._trained: dict[int, int] = {}  # every arch started -> furthest finished epochs (0: none yet)
        self._inbox: list[Result] = []
        self._gen = proposals
        self._primed = False
        self.stopped = False
        self.finished = proposals is None

    # ------------------------------------------------------------------ accounting
    @property
    def n_archs(self) -> int:
        """Distinct architectures started."""
        return len(self._trained)

    @property
    def spent_days(self) -> float:
        """GPU-days charged so far (in-flight evaluations included)."""
        return self._spent / self.table.ticks_per_day

    def propose(self, proposal: Proposal) -> bool:
        """Start ``proposal`` on the lowest free worker, or answer it for free.

        Returns True if it started a new evaluation. Raises :class:`_Stop` if the budget
        cannot pay it. The caller guarantees a free worker.
        """
        epochs, arch_id = proposal.epochs, proposal.arch_id  # the one check of a proposal
        if epochs is None:
            epochs = self._top
        elif type(epochs) is not int or not 0 < epochs <= self._top:  # the fast path is a plain int
            epochs = check_int(epochs, "epochs", 1, self._top)
        if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:
            arch_id = check_arch_id(arch_id)
        key = arch_id * self._stride + epochs
        known = self._known.get(key)
        if known is _IN_FLIGHT:
            return False
        trained = self._trained.get(arch_id)
        if known is None and trained is not None and trained >= epochs:
            known = self._known[key] = self.sign * self._value(arch_id, epochs)  # in the recorded history
        if known is not None:
            self._inbox.append(Result(arch_id, epochs, known))
            return False
        budget = self.budget
        if trained is None:
            if budget.archs is not None and len(self._trained) >= budget.archs:
                raise _Stop
            trained = 0
        start_epoch = 0 if self._from_scratch else trained
        cost = self._cost(arch_id, epochs, start_epoch)
        now = self.now
        end = now + cost
        if self._limited:
            if self._cost_limit is not None and self._spent + cost > self._cost_limit:
                self._stop(f"max_cost {budget.cost} GPU-days", proposal, cost)
            if budget.total_epochs is not None and self._epochs + epochs - start_epoch > budget.total_epochs:
                self._stop(f"max_total_epochs {budget.total_epochs}", proposal, cost)
            if self._time_limit is not None and end > self._time_limit:
                self._stop(f"max_time {budget.time} days", proposal, cost)
        worker = heapq.heappop(self._free)
        log = self.log
        heapq.heappush(self._busy, (end, worker, len(log.arch_id)))
        log.arch_id.append(arch_id)
        log.epoch_from.append(start_epoch)
        log.epoch_to.append(epochs)
        log.worker.append(worker)
        log.start.append(now)
        log.end.append(end)
        log.cost.append(cost)
        log.value.append(_NAN)
        self._spent += cost
        self._epochs += epochs - start_epoch
        self._trained[arch_id] = trained
        self._known[key] = _IN_FLIGHT
        return True

    def _stop(self, limit: str, proposal: Proposal, cost: int) -> None:
        """End the run; a budget that buys not even the first evaluation is an error."""
        if not len(self.log):
            days = cost / self.table.ticks_per_day
            raise ConfigError(f"the budget buys no evaluation: {limit} does not pay the first proposal "
                              f"(arch_id {proposal.arch_id}, {proposal.epochs or self.table.max_epochs} epochs, "
                              f"{days:.4g} GPU-days)")
        raise _Stop

    def tick(self) -> None:
        """Advance to the next completion time and finish everything ending then, in worker order."""
        busy, log, trained = self._busy, self.log, self._trained
        end, worker, index = heapq.heappop(busy)
        self.now = end
        while True:
            arch_id, epochs = log.arch_id[index], log.epoch_to[index]
            value = log.value[index] = self._value_float(arch_id, epochs)
            score = self.sign * value
            self._known[arch_id * self._stride + epochs] = score
            if epochs > trained[arch_id]:
                trained[arch_id] = epochs
            heapq.heappush(self._free, worker)
            self._inbox.append(Result(arch_id, epochs, score))
            if not busy or busy[0][0] != end:
                return
            _, worker, index = heapq.heappop(busy)

    def drain(self) -> None:
        """Let everything in flight finish."""
        while self._busy:
            self.tick()

    def known_score(self, arch_id: int, epochs: int) -> float | None:
        """The score of ``(arch_id, epochs)`` if an evaluation of it finished (or its history holds it)."""
        if not 0 < epochs <= self._top:
            return None
        score = self._known.get(arch_id * self._stride + epochs)
        return None if score is _IN_FLIGHT else score

    # ------------------------------------------------------------------ driving a generator
    def _send(self) -> Any:
        news, self._inbox = self._inbox, []
        try:
            if not self._primed:
                self._primed = True
                self._inbox = news  # nothing can have happened before the first proposal
                return next(self._gen)
            return self._gen.send(news)
        except StopIteration:
            self.finished = True
            return None

    def _end(self) -> None:
        self.finished = True
        self.drain()
        self._gen.close()

    def advance(self, reply: Any = None) -> Any:
        """Run the searcher until it needs side work (returned) or the run ends (None returned)."""
        if self.finished:
            return None
        if reply is not None:
            try:
                command = self._gen.send(reply)
            except StopIteration:
                self._end()
                return None
        else:
            command = self._send()
        if self.finished:
            self._end()
            return None
        send, propose, tick = self._gen.send, self.propose, self.tick
        free, busy = self._free, self._busy
        while True:
            if command is None:
                if not self._inbox:
                    if not busy:
                        break  # the searcher waits on nothing: it has no more to propose
                    tick()
            elif isinstance(command, Proposal):
                try:
                    propose(command)
                except _Stop:
                    self.stopped = True
                    break
                if not free:
                    tick()
            else:
                return command
            news, self._inbox = self._inbox, []
            try:
                command = send(news)
            except StopIteration:
                break
        self._end()
        return None


class ClockOracle(Oracle):
    """The one adapter for searchers written as ``search(space, oracle, budget, rng)``.

    Each new query is one evaluation at full fidelity, run to completion before the searcher
    continues: one evaluation in flight, so more workers gain nothing. The distinct-arch
    budget is the oracle's, as today; the first query the simulation's cost, epoch or time
    budget cannot pay raises :class:`BudgetExhaustedError`, which ends the run.
    """

    def __init__(self, simulation: Simulation, objective: str = "VAL_PGD_ACC", maximize: bool = True) -> None:
        super().__init__(objective, maximize, simulation.budget.archs)
        self.simulation = simulation

    def lookup(self, arch_id: int) -> float:
        sim = self.simulation
        try:
            sim.propose(Proposal(arch_id))
        except _Stop:
            sim.stopped = True
            raise BudgetExhaustedError(self.budget if self.budget is not None else sim.n_archs) from None
        sim.drain()
        sim._inbox.clear()
        return sim.sign * sim.known_score(arch_id, sim.table.max_epochs)


@dataclass(frozen=True)
class ClockRun:
    """One finished run on the clock: its evaluations, and views of them a report needs."""

    seed: int
    log: EvaluationLog
    max_epochs: int
    objective: str
    maximize: bool
    stopped: bool
    """Whether a budget ended the run (else the searcher did)."""

    def trajectory(self) -> Trajectory:
        """Full-fidelity evaluations in the order they finished (on one worker: today's trajectory)."""
        log = self.log
        order = [i for i in log.finish_order().tolist() if log.epoch_to[i] == self.max_epochs]
        return Trajectory(np.asarray([log.arch_id[i] for i in order], dtype=np.int64),
                          np.asarray([log.value[i] for i in order], dtype=np.float64), self.objective,
                          self.maximize)

    def incumbent(self, any_fidelity: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(end_days, best_value)`` after each finished evaluation that counts.

        The incumbent at time t is the best value among evaluations finished by t at full
        fidelity (``any_fidelity``: at any fidelity); equal values keep the one that finished
        first (end time, then worker).
        """
        log = self.log
        order = log.finish_order()
        if not any_fidelity:
            order = order[np.asarray(log.epoch_to)[order] == self.max_epochs]
        values = np.asarray(log.value, dtype=np.float64)[order]
        sign = 1.0 if self.maximize else -1.0
        best = sign * np.maximum.accumulate(sign * values) if len(values) else values
        return np.asarray(log.end, dtype=np.float64)[order] / log.ticks_per_day, best

    @property
    def cost_days(self) -> float:
        """GPU-days spent."""
        return sum(self.log.cost) / self.log.ticks_per_day

    @property
    def time_days(self) -> float:
        """Simulated days until the last evaluation finished."""
        return max(self.log.end, default=0) / self.log.ticks_per_day

    def evaluations_per_fidelity(self) -> dict[int, int]:
        """How many evaluations ended at each epoch count."""
        counts: dict[int, int] = {}
        for epochs in self.log.epoch_to:
            counts[epochs] = counts.get(epochs, 0) + 1
        return dict(sorted(counts.items()))


def simulate(searcher: Searcher, table: EvaluationTable, seeds: Sequence[int], *, budget: Budget,
             search_budget: int | None = None, workers: int = 1, objective: str = "VAL_PGD_ACC",
             maximize: bool = True) -> list[ClockRun]:
    """Run ``searcher`` once per seed on ``workers`` simulated workers; runs in ``seeds`` order.

    ``search_budget`` is the distinct-arch budget the searcher is told (default
    ``budget.archs``); the simulation enforces ``budget`` with ``budget.archs`` replaced by
    the searcher's :meth:`~Searcher.query_cap` (its reference options may overshoot).
    Proposing searchers run in lockstep, their side work (BANANAS' fits) batched across
    seeds; blocking ones run one evaluation at a time through :class:`ClockOracle`.
    """
    if searcher.multi_fidelity and table.max_epochs == 1:
        raise ConfigError(f"{type(searcher).__name__} evaluates at several fidelities, but objective {objective} "
                          "has no per-epoch history (choose one that has, e.g. VAL_PGD_ACC)")
    search_budget = budget.archs if search_budget is None else search_budget
    if search_budget is None and budget.unlimited:
        raise ConfigError("a run needs a budget: distinct architectures, total epochs, cost or time")
    cap = searcher.query_cap(search_budget) if search_budget is not None else None
    sim_budget = dataclasses.replace(budget, archs=cap) if cap != budget.archs else budget
    fresh = [type(searcher)(**searcher.get_params()) for _ in seeds]
    rngs = [as_generator(seed) for seed in seeds]
    if searcher.proposes():
        sims = [Simulation(table, s.propose(SPACE, search_budget, rng, maximize=maximize,
                                            max_epochs=table.max_epochs),
                           workers=workers, budget=sim_budget, maximize=maximize)
                for s, rng in zip(fresh, rngs)]
        lockstep(sims)
    else:
        sims = []
        for s, rng in zip(fresh, rngs):
            sim = Simulation(table, None, workers=workers, budget=sim_budget, maximize=maximize)
            try:
                s.search(SPACE, ClockOracle(sim, objective, maximize), search_budget, rng)
            except BudgetExhaustedError:
                pass
            sims.append(sim)
    return [ClockRun(int(seed), sim.log, table.max_epochs, objective, maximize, sim.stopped)
            for seed, sim in zip(seeds, sims)]
