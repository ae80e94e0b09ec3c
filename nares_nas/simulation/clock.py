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

These rules are the :class:`~nares_nas.simulation.ledger.Ledger`'s, which the live driver follows
too; the clock keeps the ledger's state and calls it, except on its per-evaluation path, where
copies of a few lines stand in for calls that cost 6-25 % there (docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Protocol

import numpy as np

from nares_nas._rng import as_generator
from nares_nas._validation import check_int
from nares_nas.asktell import Proposal, Proposals, Result, Searcher, batch_items, lockstep
from nares_nas.errors import BudgetExhaustedError, ConfigError
from nares_nas.metrics import objective_direction
from nares_nas.oracle import Oracle, Trajectory
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.ledger import IN_FLIGHT, IN_HISTORY, Ledger, Refused
from nares_nas.simulation.log import EvaluationLog, epoch_counts
from nares_nas.space import N_ARCHS, SPACE, check_arch_id


class EvaluationTable(Protocol):
    """What the clock needs of a table: values by fidelity and the exact cost of training.

    A table whose every epoch costs the same may also offer ``lookups() -> (values,
    epoch_ticks)``: ``values[arch_id][epochs - 1]`` (NaN where unknown) and the ticks of one
    epoch by arch_id (negative where unknown), which the clock then reads directly after
    checking each proposal once, asking :meth:`value` and :meth:`cost_ticks` only for the error
    of an unknown one (:class:`EvaluationModel <nares_nas.simulation.model.EvaluationModel>` has them).
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


def budget_limit(budget: Budget, kind: str) -> str:
    """The limit of ``kind`` (``cost``, ``epochs`` or ``time``) as an error names it."""
    return {"cost": f"max_cost {budget.cost} GPU-days", "epochs": f"max_total_epochs {budget.total_epochs}",
            "time": f"max_time {budget.time} days"}[kind]


def no_evaluation_error(limit: str, arch_id: int, epochs: int, cost: int, ticks_per_day: int) -> ConfigError:
    """The error of a budget that does not pay even the first proposal."""
    return ConfigError(f"the budget buys no evaluation: {limit} does not pay the first proposal (arch_id {arch_id}, "
                       f"{epochs} epochs, {cost / ticks_per_day:.4g} GPU-days)")


_END = object()  # the searcher returned

_READY = object()  # the side request with which ClockOracle's generator hands control back


class Simulation:
    """One run of a searcher's :data:`Proposals` on ``workers`` simulated workers.

    Call :meth:`advance` until it returns None; it returns early with any side request the
    searcher yields (e.g. a predictor fit), to be answered by the next :meth:`advance`, which
    lets a driver batch the side work of many runs.

    The event loop is one method (:meth:`_run`) over local variables: a simulated evaluation
    costs a few microseconds, most of them attribute lookups and calls where it was split up.
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
        self.now = 0
        # the event rules (what is free, in flight, charged, refused, told): ticks for cost and time
        self.ledger = Ledger.for_budget(budget, table.max_epochs, table.ticks_per_day)
        # the table's values and per-epoch costs to read directly, or (None) its methods to ask
        lookups = getattr(table, "lookups", None)
        self._lookups = lookups() if lookups is not None else (None, None)
        arrays = getattr(table, "arrays", None) if lookups is not None else None
        self._arrays = arrays() if arrays is not None else None
        # every evaluation in start order (values NaN while in flight), appended column by column:
        # ints and floats in lists, no object per evaluation for the garbage collector to walk
        self.log = EvaluationLog(table.ticks_per_day)
        self._free = list(range(self.workers))  # a heap of idle worker ids
        self._busy: list[tuple[int, int, int, int, int]] = []  # (end, worker, log index, arch, epochs)
        self._gen = proposals
        self._primed = False
        self.stopped = False
        self.finished = proposals is None

    # ------------------------------------------------------------------ accounting
    @property
    def n_archs(self) -> int:
        """Distinct architectures started."""
        return self.ledger.n_archs

    @property
    def spent_days(self) -> float:
        """GPU-days charged so far (in-flight evaluations included)."""
        return self.ledger.spent / self.table.ticks_per_day

    # ------------------------------------------------------------------ driving a generator
    def advance(self, reply: Any = None) -> Any:
        """Run the searcher until it needs side work (returned) or the run ends (None returned)."""
        if self.finished:
            return None
        try:
            if reply is not None:
                command = self._gen.send(reply)
            elif not self._primed:
                self._primed = True  # nothing can have happened before the first proposal
                command = next(self._gen)
            else:
                command = self._gen.send(self.ledger.news())
        except StopIteration:
            command = _END
        if command is not _END:
            command = self._run(command)
            if command is not None:
                return command
        self.finished = True
        self._run(None, drain=True)
        self._gen.close()
        return None

    def _new_run(self, ids: np.ndarray, now: int) -> tuple[int, np.ndarray, np.ndarray]:
        """How many of the leading arch_ids of a batch on one worker are new, distinct full trainings
        the budget pays in full, with their costs and values: ``(k, costs[:k], values[:k])``.

        Those start and finish back to back, which is what the event loop would do one by one;
        the first that is not so (a repeat, an unknown architecture, the budget's end) goes
        through the event loop, which tells it, raises its error or ends the run.
        """
        k = len(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu" or not k:
            return 0, ids, ids
        bad = (ids < 1) | (ids > N_ARCHS)
        if bad.any():
            k = int(bad.argmax())
        head = ids[:k]
        top = int(self.table.max_epochs)
        values_array, epoch_ticks = self._arrays
        costs = epoch_ticks[head] * top
        values = values_array[head, top - 1]
        bad = (costs < 0) | np.isnan(values)
        # the first repeat (of an earlier proposal or within the batch) ends the run of new ones
        listed = head.tolist()
        furthest = self.ledger.furthest
        if not furthest.keys().isdisjoint(listed):
            bad[next(i for i, arch in enumerate(listed) if arch in furthest):] = True
        firsts = np.unique(head, return_index=True)[1]
        if len(firsts) < k:
            mask = np.ones(k, dtype=bool)
            mask[firsts] = False
            bad |= np.maximum.accumulate(mask)
        if bad.any():
            k = int(bad.argmax())
        k = min(k, self.ledger.admit_run(costs[:k], top, now))
        return k, costs[:k], values[:k]

    def _run(self, command: Any, drain: bool = False) -> Any:
        """The event loop: start ``command`` and the proposals after it, finish evaluations as
        workers are needed, until side work (returned) or the end of the run (None returned).

        With ``drain``, only let everything in flight finish. At one instant every completion
        comes before every start, completions in worker order; a start takes the lowest free worker.
        What is free, charged, refused and told is the ledger's (:mod:`nares_nas.simulation.ledger`).
        """
        send = self._gen.send
        ledger = self.ledger
        admit, tell = ledger.admit, ledger.tell
        known, furthest, stride = ledger.known, ledger.furthest, ledger.stride
        known_get, furthest_get, archs_limit = known.get, furthest.get, ledger.archs
        free, busy, log = self._free, self._busy, self.log
        values = log.value
        log_arch, log_from, log_to, log_worker, log_start, log_end, log_cost, log_value = (
            log.arch_id.append, log.epoch_from.append, log.epoch_to.append, log.worker.append, log.start.append,
            log.end.append, log.cost.append, values.append)
        table, sign = self.table, self.sign
        rows, epoch_ticks = self._lookups
        top = int(self.table.max_epochs)
        from_scratch = bool(self.table.from_scratch)
        limited = ledger.limited
        # the clock's own copies of the ledger's inbox (the same list) and charges, written back before the
        # ledger reads them (admit, admit_run) and at the end
        now, spent, charged, inbox = self.now, ledger.spent, ledger.epochs, ledger.inbox
        push, pop, new, in_flight, in_history, nan = (heapq.heappush, heapq.heappop, tuple.__new__, IN_FLIGHT,
                                                      IN_HISTORY, _NAN)
        one_worker = self.workers == 1 and self._arrays is not None
        batch = None  # the proposals of a batch not started yet
        arch_id = epochs = cost = 0  # the proposal a budget may refuse
        try:
            while True:
                if drain:
                    if not busy:
                        return None
                    wait = True
                elif command is None:
                    if not inbox and not busy:
                        return None  # the searcher waits on nothing: it has no more to propose
                    wait = not inbox
                elif type(command) is Proposal or isinstance(command, Proposal):
                    arch_id, epochs = command  # the one check of a proposal; the fast path is plain ints
                    if epochs is None:
                        epochs = top
                    elif type(epochs) is not int or not 0 < epochs <= top:
                        epochs = check_int(epochs, "epochs", 1, top)
                    if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:
                        arch_id = check_arch_id(arch_id)
                    # Ledger.answer inline here, Ledger.start and finish inline below: on this per-evaluation path
                    # the calls cost 6-25 % (docs/benchmarks.md, "One set of event rules");
                    # tests/live/test_event_rules.py holds the clock and the live driver, which calls them, alike
                    score, done = known_get(arch_id * stride + epochs), None
                    if score is None:
                        done = furthest_get(arch_id)
                        if done is None:
                            if archs_limit is not None and len(furthest) >= archs_limit:
                                raise Refused("archs")
                        elif done >= epochs:
                            score = in_history
                    wait = False
                    if score is in_history:
                        tell(arch_id, epochs, sign * (rows[arch_id][epochs - 1] if rows is not None
                                                      else table.value(arch_id, epochs)))
                    elif score is None:
                        epoch_from = 0 if from_scratch or done is None else done
                        if epoch_ticks is None or epoch_ticks[arch_id] < 0:
                            cost = table.cost_ticks(arch_id, epochs, epoch_from)  # or its error
                        else:
                            cost = epoch_ticks[arch_id] * (epochs - epoch_from)
                        end = now + cost
                        if limited:
                            ledger.spent, ledger.epochs = spent, charged
                            admit(epochs - epoch_from, cost, end)
                        value = rows[arch_id][epochs - 1] if one_worker and not busy else nan
                        if value == value:  # one worker, a known value: it starts and finishes at once
                            log_arch(arch_id)
                            log_from(epoch_from)
                            log_to(epochs)
                            log_worker(0)
                            log_start(now)
                            log_end(end)
                            log_cost(cost)
                            log_value(value)
                            now = end
                            # Ledger.start and finish inline (see above): a new training on one worker ends at once
                            score = known[arch_id * stride + epochs] = sign * value
                            furthest[arch_id] = epochs  # not in its history: below epochs before
                            charged += epochs - epoch_from
                            spent += cost
                            inbox.append(new(Result, (arch_id, epochs, score)))
                        else:
                            worker = pop(free)
                            push(busy, (end, worker, len(values), arch_id, epochs))
                            log_arch(arch_id)
                            log_from(epoch_from)
                            log_to(epochs)
                            log_worker(worker)
                            log_start(now)
                            log_end(end)
                            log_cost(cost)
                            log_value(nan)
                            known[arch_id * stride + epochs] = in_flight  # Ledger.start inline (see above)
                            if done is None:
                                furthest[arch_id] = 0
                            charged += epochs - epoch_from
                            spent += cost
                            wait = not free
                    elif score is not in_flight:  # a repeat: told again at once (one in flight: when it ends)
                        inbox.append(new(Result, (arch_id, epochs, score)))
                else:
                    if one_worker and type(command) is np.ndarray and not busy:
                        # a batch's leading new architectures start and finish back to back
                        ids, command = command, command[0:0]
                        ledger.spent, ledger.epochs = spent, charged
                        k, costs, values_k = self._new_run(ids, now)
                        if k:
                            head = ids[:k].tolist()
                            ends = now + np.cumsum(costs)
                            log.arch_id.extend(head)
                            log.epoch_from.extend([0] * k)
                            log.epoch_to.extend([top] * k)
                            log.worker.extend([0] * k)
                            log.start.extend((ends - costs).tolist())
                            log.end.extend(ends.tolist())
                            log.cost.extend(costs.tolist())
                            values.extend(values_k.tolist())
                            scores = (sign * values_k).tolist()
                            ledger.known.update(zip((ids[:k] * ledger.stride + top).tolist(), scores))
                            ledger.furthest.update(zip(head, [top] * k))
                            inbox.extend(map(new, repeat(Result), zip(head, repeat(top), scores)))
                            charged += top * k
                            spent += int(costs.sum())
                            now = int(ends[-1])
                        command = ids[k:]  # the rest, if any, one by one
                    items = batch_items(command)
                    if items is None:
                        return command
                    batch = iter(items)
                    command = next(batch, None)
                    if command is not None:
                        continue
                    batch, wait = None, False
                if wait:  # finish everything ending at the next completion time, in worker order
                    end, worker, index, arch_id, epochs = pop(busy)
                    now = end
                    while True:
                        if rows is None:
                            value = table.value(arch_id, epochs)
                        else:
                            value = rows[arch_id][epochs - 1]
                            if value != value:  # NaN: not in the table
                                table.value(arch_id, epochs)  # raises its error
                        values[index] = value
                        score = known[arch_id * stride + epochs] = sign * value  # Ledger.finish inline
                        if epochs > furthest[arch_id]:
                            furthest[arch_id] = epochs
                        inbox.append(new(Result, (arch_id, epochs, score)))
                        push(free, worker)
                        if not busy or busy[0][0] != end:
                            break
                        _, worker, index, arch_id, epochs = pop(busy)
                if drain:
                    inbox.clear()
                    continue
                if batch is not None:  # the batch's next proposal, without asking the searcher
                    command = next(batch, None)
                    if command is not None:
                        continue
                    batch = None
                news, inbox = inbox, []  # Ledger.news inline
                ledger.inbox = inbox
                try:
                    command = send(news)
                except StopIteration:
                    drain = True
        except Refused as refusal:
            if refusal.kind != "archs" and not log.arch_id:  # a budget that buys not even the first evaluation
                raise no_evaluation_error(budget_limit(self.budget, refusal.kind), arch_id, epochs, cost,
                                          table.ticks_per_day) from None
            self.stopped = True
            return None
        finally:
            self.now, ledger.spent, ledger.epochs = now, spent, charged


class ClockOracle(Oracle):
    """The one adapter for searchers written as ``search(space, oracle, budget, rng)``.

    Each new query is one evaluation at full fidelity, run to completion before the searcher
    continues: one evaluation in flight, so more workers gain nothing. The distinct-arch
    budget is the oracle's, as today; the first query the simulation's cost, epoch or time
    budget cannot pay raises :class:`BudgetExhaustedError`, which ends the run. The queries
    reach the simulation as the proposals of a generator of this adapter's own, which hands
    control back after each result.
    """

    def __init__(self, simulation: Simulation, objective: str = "VAL_PGD_ACC", maximize: bool | None = None) -> None:
        super().__init__(objective, maximize, simulation.budget.archs)
        self.simulation = simulation
        self._heard: list[Result] = []
        simulation._gen, simulation.finished = self._queries(), False
        simulation.advance()  # to the first hand-back

    def _queries(self) -> Proposals:
        while True:
            results = yield (yield _READY)  # the reply to the hand-back is the next query's proposal
            while not results:
                results = yield None
            self._heard = results

    def lookup(self, arch_id: int) -> float:
        sim = self.simulation
        if sim.advance(Proposal(arch_id)) is None:
            raise BudgetExhaustedError(self.budget if self.budget is not None else sim.n_archs)
        return sim.sign * self._heard[-1].score


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
        order = log.finish_order(self.max_epochs)
        return Trajectory(np.asarray(log.arch_id, dtype=np.int64)[order],
                          np.asarray(log.value, dtype=np.float64)[order], self.objective, self.maximize)

    def incumbent(self, any_fidelity: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Two arrays of equal length, an entry per evaluation that counts, in the order they finished
        (end time, then worker): its end in simulated days, and the best value among it and those
        that finished before it (the incumbent's value from then on).

        The evaluations that count are those at full fidelity (``any_fidelity``: every one), so
        the incumbent at time t is the best value among them finished by t.
        """
        log = self.log
        order = log.finish_order(None if any_fidelity else self.max_epochs)
        values = np.asarray(log.value, dtype=np.float64)[order]
        sign = 1.0 if self.maximize else -1.0
        best = sign * np.maximum.accumulate(sign * values) if len(values) else values
        return np.asarray(log.end, dtype=np.float64)[order] / log.ticks_per_day, best

    @property
    def cost_days(self) -> float:
        """GPU-days spent."""
        return self.log.total_cost() / self.log.ticks_per_day

    @property
    def time_days(self) -> float:
        """Simulated days until the last evaluation finished."""
        return self.log.last_end() / self.log.ticks_per_day

    def evaluations_per_fidelity(self) -> dict[int, int]:
        """How many evaluations ended at each epoch count."""
        return epoch_counts(self.log.epoch_to)


def simulate(searcher: Searcher, table: EvaluationTable, seeds: Sequence[int], *, budget: Budget,
             search_budget: int | None = None, workers: int = 1, objective: str = "VAL_PGD_ACC",
             maximize: bool | None = None, compiled: bool = True) -> list[ClockRun]:
    """Run ``searcher`` once per seed on ``workers`` simulated workers; runs in ``seeds`` order.

    ``search_budget`` is the distinct-arch budget the searcher is told (default
    ``budget.archs``); the simulation enforces ``budget`` with ``budget.archs`` replaced by
    the searcher's ``query_cap`` (its reference options may overshoot).
    Proposing searchers run in lockstep, their side work (BANANAS' fits) batched across
    seeds; blocking ones run one evaluation at a time through :class:`ClockOracle`. A searcher
    that can simulate itself faster offers ``simulate_runs(table, rngs, *, search_budget, budget,
    workers, maximize) -> [(EvaluationLog, stopped), ...]`` (None where it cannot: the clock then
    runs its generator); :class:`~nares_nas.searchers.Asha` does, as a compiled twin of its
    generator that gives the same logs, and local search and regularized evolution do on one worker,
    as plain loops of their generators' decisions. ``compiled=False`` always runs the generator.
    ``maximize`` None is the objective's own direction (:func:`~nares_nas.metrics.objective_direction`).
    """
    maximize = objective_direction(objective, maximize)
    if not getattr(searcher, "single_objective", True):
        raise ConfigError(f"{type(searcher).__name__} searches several objectives at once: give them (--objectives "
                          "VAL_PGD_ACC:max,MACS:min, or nares_nas.runs.multiobjective.run_mo_search)")
    if searcher.multi_fidelity and table.max_epochs == 1:
        raise ConfigError(f"{type(searcher).__name__} evaluates at several fidelities, but objective {objective} "
                          "has no per-epoch history (choose one that has, e.g. VAL_PGD_ACC)")
    search_budget = budget.archs if search_budget is None else search_budget
    if search_budget is None and budget.unlimited:
        raise ConfigError("a run needs a budget: distinct architectures, total epochs, cost or time")
    cap = searcher.query_cap(search_budget) if search_budget is not None else None
    sim_budget = dataclasses.replace(budget, archs=cap) if cap != budget.archs else budget
    rngs = [as_generator(seed) for seed in seeds]
    fast = getattr(searcher, "simulate_runs", None) if compiled else None
    runs = fast(table, rngs, search_budget=search_budget, budget=sim_budget, workers=workers,
                maximize=maximize) if fast is not None else None
    if runs is not None:
        return [ClockRun(int(seed), log, table.max_epochs, objective, maximize, stopped)
                for seed, (log, stopped) in zip(seeds, runs)]
    fresh = [searcher.clone() for _ in seeds]
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
