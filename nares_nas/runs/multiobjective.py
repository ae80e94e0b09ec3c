"""Multi-objective runs on the simulated clock, scored against the exact Pareto front.

A multi-objective searcher (``multi_objective = True``) proposes full trainings and is told a
score vector, larger-is-better in every component (minimised objectives are negated), and
``-inf`` in every component for an architecture that violates a constraint. It never sees the
table-wide ranges the scores use (:mod:`nares_nas.pareto.problem`).

**Constraints.** A query that turns out infeasible is charged like any other: its raw values
are kept in the run record and the searcher is told ``-inf``. With ``prefilter=True`` a
constraint known without training (``MACS``, ``PARAMS``) is applied *before* querying, for
free: a proposal that violates it is answered at once with ``-inf``, is not charged, does not
count against the clock's budget and is not an evaluation of the run (the run counts it in
``rejected_free``). The searchers count every proposal against the distinct-architecture
budget they are told, so a prefiltered searcher is told no such budget (None) and the clock
ends its run after ``budget.archs`` paid queries instead; a searcher that plans by its budget
then plans as if unlimited. Off by default. An infeasible architecture never counts in a
found front.

**Time and cost.** One evaluation is one full training costing the table's ``training_time``
(all objectives and constraints free: nothing); the simulated clock runs the evaluations on
``workers`` workers under a :class:`~nares_nas.simulation.budget.Budget` of distinct architectures,
GPU-days or simulated days (an epoch budget has no meaning here: every evaluation is a full
training). The clock records the raw objective vectors; each run is scored after every query
(in the order evaluations finished) by hypervolume regret and IGD+ (:meth:`Problem.anytime
<nares_nas.pareto.problem.Problem.anytime>`). A run is a function of the searcher, its seed and the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nares_nas._rng import as_generator
from nares_nas.asktell import Proposal, Proposals, Result, batch_items, lockstep
from nares_nas.errors import ConfigError, PluginError
from nares_nas.fidelity import check_epochs
from nares_nas.pareto.problem import Constraint, Objective, Problem
from nares_nas.runs.folder import arrays_sha1, run_config
from nares_nas.runs.loop import run_into
from nares_nas.runs.parallel import Shared, as_searcher, check_seeds, dispatch, lockstep_groups, lockstep_size, shared
from nares_nas.runs.record import FrontScores, RunResult
from nares_nas.runs.search import job_progress
from nares_nas.searchers import Searcher, available, resolve, searcher_name, split_params
from nares_nas.simulation.budget import Budget, make_budget
from nares_nas.simulation.clock import Simulation
from nares_nas.simulation.log import EvaluationLog
from nares_nas.simulation.model import EvaluationModel
from nares_nas.space import N_ARCHS, SPACE, check_arch_id

_RUNAWAY = 10 * N_ARCHS
"""Free rejections in a row after which a searcher is taken not to respect a constraint."""


def multi_objective_searchers() -> list[str]:
    """Names of the registered searchers that are multi-objective (those that load)."""
    names = []
    for name in available():
        try:
            if getattr(resolve(name), "multi_objective", False):
                names.append(name)
        except PluginError:
            continue
    return names


def check_multi_objective(searcher: Searcher) -> None:
    """Refuse a single-objective searcher, naming the multi-objective ones."""
    if not getattr(type(searcher), "multi_objective", False) or not searcher.proposes():
        known = ", ".join(multi_objective_searchers()) or "none registered"
        raise ConfigError(f"{searcher_name(searcher)} is a single-objective searcher; with several objectives "
                          f"use a multi-objective one: {known}")


# --------------------------------------------------------------------------- the clock's table
class ObjectiveTable:
    """The clock's view of a :class:`~nares_nas.pareto.problem.Problem`: raw objective vectors of full trainings.

    ``max_epochs`` is 1 (one full training; the run never proposes fidelities), and the cost
    of an evaluation is the table's ``training_time``, charged by the
    :class:`~nares_nas.simulation.model.EvaluationModel` of the first objective (nothing when every
    objective and constraint is known without training).
    """

    max_epochs = 1
    from_scratch = False

    def __init__(self, problem: Problem, training_time: np.ndarray) -> None:
        self.problem = problem
        names = [o.name for o in problem.objectives] + [c.metric for c in problem.constraints]
        free = all(name in ("MACS", "PARAMS") for name in names)
        self._costs = EvaluationModel(problem.values[:, :1], training_time, objective=problem.objectives[0].name,
                                      free=free, source=problem.source)
        self.ticks_per_day = self._costs.ticks_per_day
        self._rows = list(problem.values)  # read-only views, one per arch_id

    @classmethod
    def from_benchmark(cls, bench, problem: Problem) -> ObjectiveTable:
        return cls(problem, bench.metric_by_id("TRAINING_TIME"))

    def value(self, arch_id: int, epochs: int) -> np.ndarray:
        """The raw objective vector (read-only) of ``arch_id`` after its full training (``epochs`` = 1)."""
        if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:  # the fast path is a plain int
            arch_id = check_arch_id(arch_id)
        if epochs != 1 or type(epochs) is not int:
            check_epochs(epochs, 1)
        row = self._rows[arch_id]
        if row[0] != row[0]:  # NaN: not in the table
            raise self._costs._missing(arch_id)
        return row

    def cost_ticks(self, arch_id: int, epochs: int, epoch_from: int = 0) -> int:
        """Ticks of one full training of ``arch_id`` (its ``training_time``)."""
        return self._costs.cost_ticks(arch_id, epochs, epoch_from)


class _Rejections:
    count = 0


def penalised(proposals: Proposals, problem: Problem, *, prefilter: bool = False,
              rejections: _Rejections | None = None) -> Proposals:
    """``proposals`` with the constraints applied: a violating architecture's score is ``-inf`` everywhere.

    With ``prefilter`` a proposal violating a constraint known without training (MACS,
    PARAMS) is answered at once, for free, and never reaches the evaluator (counted in
    ``rejections``). Side work passes through untouched.
    """
    infeasible = np.full(problem.k, -np.inf)
    infeasible.setflags(write=False)
    feasible, free = problem.feasible, problem.free_feasible if prefilter else None
    rejections = rejections if rejections is not None else _Rejections()
    in_a_row = 0
    try:
        try:
            command = next(proposals)
        except StopIteration:
            return
        while True:
            if free is not None and isinstance(command, Proposal):
                arch_id = command.arch_id
                if type(arch_id) is not int or not 0 < arch_id <= N_ARCHS:
                    arch_id = check_arch_id(arch_id)
                if not free[arch_id]:
                    rejections.count += 1
                    in_a_row += 1
                    if in_a_row > _RUNAWAY:
                        raise ConfigError(f"the searcher proposed {in_a_row} architectures in a row that violate "
                                          "a MACS or PARAMS constraint (each told -inf); it does not respect "
                                          "the constraints")
                    try:
                        command = proposals.send([Result(arch_id, command.epochs or 1, infeasible)])
                    except StopIteration:
                        return
                    continue
            in_a_row = 0
            if batch_items(command) is not None:
                raise ConfigError("a multi-objective searcher proposes one architecture at a time (no batches)")
            reply = yield command
            if command is None or isinstance(command, Proposal):
                reply = [r if feasible[r.arch_id] else Result(r.arch_id, r.epochs, infeasible) for r in reply]
            try:
                command = proposals.send(reply)
            except StopIteration:
                return
    finally:
        proposals.close()


# --------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class MORun:
    """One finished multi-objective run on the clock: its evaluations (raw vectors) and its scores."""

    seed: int
    log: EvaluationLog
    stopped: bool
    """Whether a budget ended the run (else the searcher did)."""
    rejected_free: int
    """Proposals answered for free because they violate a MACS or PARAMS constraint."""

    @property
    def order(self) -> np.ndarray:
        """Evaluations in the order they finished (end time, then worker)."""
        return self.log.finish_order()

    @property
    def arch_ids(self) -> np.ndarray:
        return np.asarray(self.log.arch_id, dtype=np.int64)[self.order]

    def values(self, k: int) -> np.ndarray:
        """``(queries, k)`` raw objective vectors in finish order."""
        if not len(self.log):
            return np.empty((0, k))
        return np.asarray(self.log.value, dtype=np.float64)[self.order].reshape(-1, k)


def simulate_mo(searcher: Searcher, problem: Problem, table: ObjectiveTable, seeds: Sequence[int], *,
                budget: Budget, workers: int = 1, prefilter: bool = False) -> list[MORun]:
    """Run the multi-objective ``searcher`` once per seed on ``workers`` simulated workers; runs in ``seeds`` order.

    Runs go together (:func:`~nares_nas.asktell.lockstep`), so side work such as predictor fits
    is batched across seeds. ``budget.total_epochs`` is refused (every evaluation is a full training).
    """
    check_multi_objective(searcher)
    if budget.total_epochs is not None:
        raise ConfigError("a multi-objective run evaluates full trainings only, so an epoch budget says nothing; "
                          "give distinct architectures, GPU-days or simulated days instead")
    if budget.unlimited:
        raise ConfigError("a run needs a budget: distinct architectures, cost or time")
    cap = searcher.query_cap(budget.archs) if budget.archs is not None else None
    sim_budget = Budget(archs=cap, cost=budget.cost, time=budget.time)
    prefilter = prefilter and any(c.free for c in problem.constraints)
    told = None if prefilter else budget.archs  # free rejections must not use up the searcher's budget
    counters = [_Rejections() for _ in seeds]
    sims = []
    for seed, counter in zip(seeds, counters):
        fresh = searcher.clone()
        proposals = fresh.propose(SPACE, told, as_generator(seed), maximize=(True,) * len(problem.objectives),
                                  max_epochs=table.max_epochs)  # scores are larger-is-better throughout
        sims.append(Simulation(table, penalised(proposals, problem, prefilter=prefilter, rejections=counter),
                               workers=workers, budget=sim_budget, maximize=problem.maximize))
    lockstep(sims)
    return [MORun(int(seed), sim.log, sim.stopped, counter.count)
            for seed, sim, counter in zip(seeds, sims, counters)]


def scored_record(searcher: str, params: Mapping[str, Any], budget: int | None, problem: Problem, run: MORun,
                  workers: int, execution: Mapping[str, Any] | None = None) -> RunResult:
    """A multi-objective run on the clock as a :class:`~nares_nas.runs.record.RunResult`: its raw objective
    vectors, its clock account and its scores against ``problem``'s exact front after every query."""
    arch_ids = run.arch_ids
    anytime = problem.anytime(arch_ids)
    columns = {key: list(column) for key, column in run.log.columns().items()} if len(run.log) else {}
    if "value" in columns:  # objective vectors as lists of floats
        columns["value"] = [np.asarray(v, dtype=np.float64).tolist() for v in columns["value"]]
    clock = {"workers": workers, "ticks_per_day": run.log.ticks_per_day,
             "gpu_days": run.log.total_cost() / run.log.ticks_per_day,
             "sim_days": run.log.last_end() / run.log.ticks_per_day, "stopped_by_budget": run.stopped,
             "evaluations": columns}
    scores = FrontScores(tuple(map(str, problem.constraints)), problem.feasible[arch_ids], anytime.hv_regret,
                         anytime.igd_plus, anytime.front_size, problem.found_front(arch_ids),
                         problem.score(arch_ids).hypervolume, run.rejected_free, problem.to_dict())
    return RunResult(searcher, run.seed, dict(params), budget, tuple(o.name for o in problem.objectives),
                     problem.maximize, arch_ids, run.values(problem.k), execution, clock, scores)


# --------------------------------------------------------------------------- many seeds, folders
@dataclass(frozen=True)
class _MOSetup:
    """What every lockstep group of a multi-objective job shares besides the searcher and the tables."""

    budget: Budget
    workers: int
    prefilter: bool
    name: str
    params: Mapping[str, Any]
    execution: Mapping[str, Any]


def _mo_group(searcher: Searcher | Shared, problem: Problem | Shared, table: ObjectiveTable | Shared,
              setup: _MOSetup | Shared, seeds: Sequence[int]) -> list[RunResult]:
    """Worker task: one lockstep group, scored (top-level so that it pickles)."""
    searcher, problem, table, setup = shared(searcher), shared(problem), shared(table), shared(setup)
    runs = simulate_mo(searcher, problem, table, seeds, budget=setup.budget, workers=setup.workers,
                       prefilter=setup.prefilter)
    return [scored_record(setup.name, setup.params, setup.budget.archs, problem, run, setup.workers,
                          {**setup.execution, "group": list(seeds)}) for run in runs]


def iter_mo_runs(searcher: Searcher | str, bench, objectives: str | Sequence[str | Objective],
                 constraints: str | Sequence[str | Constraint] | None = (), *, seeds: Iterable[int],
                 budget: Budget | int | None = None, workers: int = 1, prefilter: bool = False, n_jobs: int = 1,
                 backend: str = "loky", scheduler: str | None = None, problem: Problem | None = None
                 ) -> Iterable[list[RunResult]]:
    """Yield each lockstep group's scored runs as it finishes (in no fixed order); see :func:`run_mo_search`."""
    searcher = as_searcher(searcher)
    check_multi_objective(searcher)
    problem = problem or Problem.from_benchmark(bench, objectives, constraints, search=True)
    table = ObjectiveTable.from_benchmark(bench, problem)
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    seeds = check_seeds(seeds)
    params, execution_params = split_params(searcher)
    execution = {"params": execution_params, "backend": backend, "n_jobs": n_jobs if backend == "loky" else None,
                 "scheduler": scheduler}
    setup = _MOSetup(budget, workers, prefilter, searcher_name(searcher), params, execution)
    yield from dispatch(_mo_group, (searcher, problem, table, setup), lockstep_groups(seeds, lockstep_size(searcher)),
                        n_jobs=n_jobs, backend=backend, scheduler=scheduler)


def run_mo_search(searcher: Searcher | str, bench, objectives: str | Sequence[str | Objective],
                  constraints: str | Sequence[str | Constraint] | None = (), *, seeds: Iterable[int],
                  budget: Budget | int | None = None, workers: int = 1, prefilter: bool = False, n_jobs: int = 1,
                  backend: str = "loky", scheduler: str | None = None, progress: bool = False) -> list[RunResult]:
    """Run a multi-objective ``searcher`` once per seed on ``bench``; the scored runs in ``seeds`` order.

    ``objectives`` and ``constraints`` as :func:`nares_nas.pareto.problem.parse_objectives` /
    :func:`~nares_nas.pareto.problem.parse_constraints` (test-set metrics refused); ``budget`` distinct
    architectures (None: 500) or a :class:`~nares_nas.simulation.budget.Budget`; ``workers`` simulated
    workers; ``prefilter`` applies MACS/PARAMS constraints before querying (see the module
    docstring); ``n_jobs``/``backend``/``scheduler`` as :func:`nares_nas.runs.search.run_search`;
    ``progress`` writes progress lines to stderr (:mod:`nares_nas.progress`).
    """
    searcher = as_searcher(searcher)
    seeds = check_seeds(seeds)
    return run_into(None, None, seeds, partial(iter_mo_runs, searcher, bench, objectives, constraints, budget=budget,
                                               workers=workers, prefilter=prefilter, n_jobs=n_jobs, backend=backend,
                                               scheduler=scheduler),
                    progress=partial(job_progress, searcher, len(seeds), budget=budget, n_jobs=n_jobs,
                                     backend=backend, enabled=progress))


def mo_run_config(searcher: Searcher, bench, problem: Problem, *, budget: Budget, workers: int,
                  prefilter: bool) -> dict[str, Any]:
    """What determines the runs of a multi-objective folder, as written to ``config.json``."""
    config = run_config(searcher, bench, budget=budget, objective=problem.objectives[0].name, maximize=True,
                        workers=workers)
    config.update(objective=None, direction=None, objectives=[str(o) for o in problem.objectives],
                  constraints=[str(c) for c in problem.constraints], prefilter=bool(prefilter),
                  objective_sha1=arrays_sha1(problem.values, problem.feasible),
                  model_sha1=arrays_sha1(problem.values, bench.metric_by_id("TRAINING_TIME")),
                  scoring={key: value for key, value in problem.to_dict().items() if key != "note"})
    return config


def run_mo_to_dir(out_dir: str | Path, searcher: Searcher | str, bench, objectives: str | Sequence[str | Objective],
                  constraints: str | Sequence[str | Constraint] | None = (), *, seeds: Iterable[int],
                  budget: Budget | int | None = None, workers: int = 1, prefilter: bool = False, n_jobs: int = 1,
                  backend: str = "loky", scheduler: str | None = None, resume: bool = False,
                  progress: bool = False, announce: bool = True) -> list[RunResult]:
    """:func:`run_mo_search`, keeping every finished run in ``out_dir`` (as :func:`nares_nas.runs.search.run_to_dir`,
    whose ``progress`` and ``announce`` these are).

    ``DIR/config.json`` pins the searcher, objectives, constraints, budget, workers and data;
    ``DIR/runs/seed_NNNNN.json`` holds a run (values as an n×k list, scores after every query);
    ``DIR/summary.csv`` a row per run (:data:`~nares_nas.runs.folder.MO_SUMMARY_COLUMNS`).
    """
    searcher = as_searcher(searcher)
    check_multi_objective(searcher)
    seeds = check_seeds(seeds)
    budget = budget if isinstance(budget, Budget) else make_budget(budget)
    problem = Problem.from_benchmark(bench, objectives, constraints, search=True)
    config = mo_run_config(searcher, bench, problem, budget=budget, workers=workers, prefilter=prefilter)
    produce = partial(iter_mo_runs, searcher, bench, objectives, constraints, budget=budget, workers=workers,
                      prefilter=prefilter, n_jobs=n_jobs, backend=backend, scheduler=scheduler, problem=problem)
    return run_into(out_dir, config, seeds, produce, resume=resume,
                    execution_params=getattr(searcher, "execution_params", ()),
                    progress=partial(job_progress, searcher, len(seeds), budget=budget, n_jobs=n_jobs,
                                     backend=backend, enabled=progress, announce=announce))
