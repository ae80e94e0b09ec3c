"""Live search on N workers: a searcher's proposals trained for real, asynchronously, over Dask.

The searcher sees what it sees on the simulated clock (:mod:`nares_nas.simulation.clock`): its
:data:`~nares_nas.asktell.Proposals` generator is resumed to propose while a worker is free
and is told :class:`~nares_nas.asktell.Result` s as they finish; a finished training frees its
worker for the next proposal at once. Here the workers are Dask worker processes (one per
GPU, or single-thread CPU workers: :func:`~nares_nas.live.executors.open_executor`), or this process for one worker,
and time is the wall clock. This process is the only writer of the record cache and of the
run's log.

**An evaluation** ``(arch, e)`` trains the architecture's run folder to epoch ``e``
(:func:`~nares_nas.live.pipeline.train_to`): a promotion resumes the folder from its
checkpoint, below the profile's full epochs only the validation history is written, and the
test set is evaluated once, at full epochs. Its value is the fidelity rule of
:mod:`nares_nas.simulation.model` on the record (E = the profile's epochs); its cost is the measured
training time of the epochs it added (``epoch_from`` to ``epoch_to``), in GPU-days. The event
rules are the simulated clock's, from one :class:`~nares_nas.simulation.ledger.Ledger`: what is
free, in flight, charged, refused and told when. Before training, an evaluation is answered for
free, in this order, by what the run already knows (a repeat, or an architecture whose history
reaches that far), by the table (NARes's own profile only), or by a cached record of that
architecture with at least ``e`` epochs: a partial record answers its fidelity and below, a full
record every fidelity.

**Budgets.** Distinct architectures are counted when proposed (dispatched or answered), so
evaluations in flight never exceed ``budget.archs``; ``total_epochs`` counts the epochs sent to
train, at dispatch. A training's cost is known only when it ends (and charged then): no training is
dispatched once the GPU-days spent plus the estimated cost of those in flight (the run's mean measured
seconds per epoch times their epochs; 0 before the first ends) exceed ``budget.cost``, so the
work in flight can take the total past it by at most the cost of N evaluations. ``budget.time``
is wall-clock days since the run began: no training is dispatched after it. The first proposal
a budget refuses ends the run; what is in flight finishes and is recorded.

**The log** (``log_path``, rewritten atomically at every step, dispatch and completion) holds every step of the
conversation (what the searcher yielded and the results it was then told, in that order) and
every evaluation (the columns of :mod:`nares_nas.simulation.log`, live ones included). With N > 1
the order results reach the searcher depends on real timing, so a live run is reproducible from its
log, not from its seed alone: a killed run resumes by replaying the log to a fresh searcher
(:func:`replay_steps`; nothing finished is trained again), sends the trainings it had in flight
again (their folders resume from their last epoch), and goes on.
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from nares_nas._atomic import write_bytes_atomic
from nares_nas._optional import require
from nares_nas._params import check_params
from nares_nas._rng import as_generator
from nares_nas._validation import check_int
from nares_nas.asktell import Proposal, Result, one_at_a_time
from nares_nas.data.home import data_home
from nares_nas.errors import ConfigError, DataFormatError, NaresError
from nares_nas.fidelity import FIDELITY_METRICS, FREE_METRICS, fidelity_values
from nares_nas.live.cache import RecordCache, records_to_table
from nares_nas.live.executors import run_evaluation
from nares_nas.live.oracle import check_table, is_nares_profile
from nares_nas.live.pipeline import DEFAULT_THREADS, LIVE_MODE, run_dir, train_to
from nares_nas.live.profiles import resolve_profile
from nares_nas.metrics import compute, objective_direction, objective_metric
from nares_nas.oracle import Trajectory
from nares_nas.progress import throttled_line
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.ledger import IN_FLIGHT, IN_HISTORY, Ledger, Refused
from nares_nas.simulation.log import EvaluationLog
from nares_nas.simulation.model import EvaluationModel
from nares_nas.space import SPACE, Arch, check_arch_id

log = logging.getLogger(__name__)

LOG_FORMAT = "nares-nas live log 1"
SECONDS_PER_DAY = 86_400
_TABLE = "table"


# --------------------------------------------------------------------------- the run

@dataclass(frozen=True)
class LiveRun:
    """One live run as its log holds it."""

    seed: int
    evaluations: list[dict[str, Any]]
    steps: list[list[Any]]
    max_epochs: int
    objective: str
    maximize: bool
    workers: int
    stopped: bool
    elapsed_s: float
    hardware: str | None = None  # "CPU", "GPU" or "CPU+GPU": what this session's trainings ran on (None: none)

    def trajectory(self) -> Trajectory:
        """Full-fidelity evaluations in the order they finished."""
        rows = sorted((r for r in self.evaluations if r["epoch_to"] == self.max_epochs and r["order"] is not None),
                      key=lambda r: r["order"])
        return Trajectory(np.asarray([r["arch_id"] for r in rows], dtype=np.int64),
                          np.asarray([r["value"] for r in rows], dtype=np.float64), self.objective, self.maximize)

    @property
    def cost_days(self) -> float:
        """Days of measured training (GPU-days on GPUs, CPU-days on the CPU: see :attr:`hardware`)."""
        return sum(r["cost"] or 0.0 for r in self.evaluations)

    @property
    def time_days(self) -> float:
        """Wall-clock days the run took (time between a kill and its resume not counted)."""
        return self.elapsed_s / SECONDS_PER_DAY

    def clock(self) -> dict[str, Any]:
        """The run file's account (``RunResult.clock``): times are wall-clock, ``steps`` the conversation."""
        return {"workers": self.workers, "gpu_days": self.cost_days, "sim_days": self.time_days,
                "time": "wall-clock", "hardware": self.hardware, "max_epochs": self.max_epochs,
                "stopped_by_budget": self.stopped,
                "evaluations": EvaluationLog.from_rows(self.evaluations).columns(),
                "steps": self.steps}


def _command_json(command: Any) -> Any:
    if command is None:
        return None
    if isinstance(command, Proposal):
        return [int(command.arch_id), None if command.epochs is None else int(command.epochs)]
    return "side"


def _shown(command: Any) -> str:
    if command is None:
        return "a wait"
    if command == "side":
        return "side work"
    return f"arch_id {command[0]} at {command[1] or 'full'} epochs"


class LiveSearch:
    """One run of ``searcher`` (seed ``seed``) trained for real on the executor's workers.

    ``profile`` is a :class:`~nares_nas.live.profiles.Profile` or its name; ``bench`` answers
    under NARes's own profile only (:func:`~nares_nas.live.oracle.check_table` refuses a
    synthetic one there). Trainings go to ``runs_dir/<profile>-<key>/seed_<train_seed>/arch_<id>/``
    (default ``data_dir/runs`` or ``data_home()/runs``) and their records to ``cache``. ``train_fn``
    has :func:`~nares_nas.live.pipeline.train_to`'s signature (tests inject fast ones; with Dask it
    must be importable on the workers). ``log_path`` keeps the run's log; with ``resume`` a log there
    is replayed and the run continues (else an existing log is refused). ``progress`` prints a line on
    stderr as trainings start and finish (at most one every few seconds).
    """

    def __init__(self, searcher: Any, profile: Any, *, seed: int, budget: Budget, executor: Any,
                 bench: Any = None, objective: str = "VAL_PGD_ACC", maximize: bool | None = None,
                 cache: RecordCache | str | os.PathLike | None = None, runs_dir: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None, train_seed: int = 0, device: str = "auto",
                 num_threads: int | None = DEFAULT_THREADS, compile: bool = False,
                 log_path: str | os.PathLike | None = None, resume: bool = False,
                 train_fn: Callable[..., Mapping[str, Any]] = train_to, progress: bool = False) -> None:
        if not searcher.proposes():
            raise ConfigError(f"{type(searcher).__name__} is written as a blocking search(); live search on "
                              "workers drives proposing searchers (write it as propose(), or run it with one "
                              "worker through nares_nas.live.oracle.LiveOracle)")
        if train_fn is train_to:  # before the log is opened, not at the first training
            require("torch", LIVE_MODE)
        self.profile = resolve_profile(profile)
        check_table(bench, self.profile)
        check_params(searcher)
        self.searcher = searcher
        self.seed = check_int(seed, "seed", 0)
        self.budget = budget
        self.executor = executor
        self.workers = check_int(executor.workers, "workers")
        self.spec = objective_metric(objective)
        self.maximize = objective_direction(objective, maximize)
        self.sign = 1.0 if self.maximize else -1.0
        self.max_epochs = int(self.profile.epochs)
        self._history_metric = self.spec.name in FIDELITY_METRICS or self.spec.name in FREE_METRICS
        if searcher.multi_fidelity and not self._history_metric:
            raise ConfigError(f"{type(searcher).__name__} evaluates at several fidelities, but objective "
                              f"{self.spec.name} has no per-epoch history (choose one that has, e.g. VAL_PGD_ACC)")
        self.cache = cache if isinstance(cache, RecordCache) else RecordCache(cache)
        self.data_dir = None if data_dir is None else Path(data_dir)
        if runs_dir is None:
            runs_dir = (self.data_dir if self.data_dir is not None else data_home()) / "runs"
        self.runs_dir = Path(runs_dir)
        self.train_seed = check_int(train_seed, "train_seed", 0)
        self.device, self.num_threads, self.compile = device, num_threads, bool(compile)
        self.train_fn = train_fn
        self.progress = bool(progress)
        self._hardware: set[str] = set()
        self.log_path = None if log_path is None else Path(log_path)
        self._table = self._in_table_values = None
        if bench is not None and is_nares_profile(self.profile):
            self._in_table_values = np.asarray(bench.metric_by_id(self.spec.name), dtype=np.float64).tolist()
            self._table = (EvaluationModel.from_benchmark(bench, self.spec.name) if self._history_metric
                           else self._in_table_values)
        cap = searcher.query_cap(budget.archs) if budget.archs is not None else None
        self._search_budget = budget.archs
        # state: the event rules' (cost and time in seconds), and what is live mode's own
        self.ledger = Ledger(self.max_epochs, archs=cap, total_epochs=budget.total_epochs,
                             cost=None if budget.cost is None else budget.cost * SECONDS_PER_DAY,
                             time=None if budget.time is None else budget.time * SECONDS_PER_DAY)
        self.evaluations: list[dict[str, Any]] = []
        self.steps: list[list[Any]] = []
        self._held: dict[int, Any] = {}  # arch -> the record (or _TABLE) its history (ledger.furthest) reads
        self._free = list(range(self.workers))
        self._in_flight: dict[Any, int] = {}  # job -> evaluation index
        self._telling: list[int] = []  # the evaluations whose results wait in the ledger's inbox
        self._order = 0
        self._done_epochs = 0  # epochs of finished trainings (the per-epoch estimate)
        self._offset = 0.0
        self._t0 = time.time()
        self._adopt: dict[tuple[int, int], int] = {}
        self.stopped = False
        self.finished = False
        self._resume = bool(resume)

    # ------------------------------------------------------------------ time and values
    def elapsed(self, now: float | None = None) -> float:
        """Wall-clock seconds since the run began (sessions before a resume included)."""
        return self._offset + ((time.time() if now is None else now) - self._t0)

    def _value(self, arch_id: int, held: Any, epochs: int) -> float:
        if held == _TABLE:
            table = self._table
            return float(table.value(arch_id, epochs) if self._history_metric else table[arch_id])
        columns = records_to_table([held], source="record").columns
        if self._history_metric:
            return float(fidelity_values(columns, self.spec, epochs)[0])
        return float(compute(columns, self.spec)[0])

    def _in_table(self, arch_id: int) -> bool:
        if self._in_table_values is None:
            return False
        value = self._in_table_values[arch_id]
        return value == value  # not NaN: the table holds it

    def _record(self, arch_id: int, epochs: int) -> dict[str, Any]:
        record = self.cache.get(arch_id, self.profile, self.train_seed, epochs=epochs)
        if record is None:
            raise DataFormatError(f"the live log names a record of arch_id {arch_id} at {epochs} epochs that the "
                                  f"cache {self.cache.path} does not hold (was it removed?)",
                                  path=str(self.log_path))
        return record

    # ------------------------------------------------------------------ proposals
    def _hold(self, arch_id: int, held: Any, epochs: int) -> None:
        """``held`` (a record or _TABLE) answers ``arch_id``'s history where it reaches further than the ledger's."""
        if epochs > self.ledger.furthest.get(arch_id, 0):
            self._held[arch_id] = held

    def _answer(self, arch_id: int, epochs: int, score: float, source: str, held: Any, held_epochs: int) -> None:
        """Tell ``(arch_id, epochs)``, answered from ``source`` (the table or the cache), at the next send; recorded."""
        now = self.elapsed() / SECONDS_PER_DAY
        self._telling.append(len(self.evaluations))
        self.evaluations.append({
            "arch_id": arch_id, "epoch_from": 0, "epoch_to": epochs, "worker": -1, "start": now, "end": now,
            "cost": 0.0, "value": self.sign * score, "source": source, "pid": None, "order": self._order,
            "step": len(self.steps), "told": False, "record_epochs": held_epochs})
        self._order += 1
        self._hold(arch_id, held, held_epochs)
        self.ledger.count(arch_id, held_epochs)
        self.ledger.tell(arch_id, epochs, score)

    def propose(self, proposal: Proposal) -> None:
        """Answer ``proposal`` for free, or dispatch its training; :class:`~nares_nas.simulation.ledger.Refused` if a
        budget refuses it."""
        arch_id = check_arch_id(proposal.arch_id)
        epochs = self.max_epochs if proposal.epochs is None else check_int(proposal.epochs, "epochs", 1,
                                                                            self.max_epochs)
        if not self._history_metric and epochs != self.max_epochs:
            raise ConfigError(f"objective {self.spec.name} has no per-epoch history: proposal {proposal} asks for "
                              "a fidelity")
        key = (arch_id, epochs)
        adopted = self._adopt.pop(key, None)
        self._adopt.clear()
        if adopted is not None:  # this very proposal was handled before the run was killed
            return
        ledger = self.ledger
        score = ledger.answer(arch_id, epochs)
        if score is IN_FLIGHT:
            return  # told once, when it finishes
        if score is IN_HISTORY:
            score = self.sign * self._value(arch_id, self._held[arch_id], epochs)
        if score is not None:
            ledger.tell(arch_id, epochs, score)
            return
        furthest = ledger.furthest.get(arch_id, 0)
        if not furthest and self._in_table(arch_id):
            self._answer(arch_id, epochs, self.sign * self._value(arch_id, _TABLE, epochs), "table", _TABLE,
                         self.max_epochs)
            return
        cached = self.cache.epochs_held(arch_id, self.profile, self.train_seed)
        cover = [e for e in cached if e >= epochs]
        if cover:
            record = self.cache.get(arch_id, self.profile, self.train_seed, epochs=cover[0])
            self._answer(arch_id, epochs, self.sign * self._value(arch_id, record, epochs), "cache", record,
                         cover[0])
            return
        flying = [self.evaluations[i]["epoch_to"] for i in self._in_flight.values()
                  if self.evaluations[i]["arch_id"] == arch_id]
        epoch_from = max([e for e in cached + flying if e < epochs] + [furthest])
        if ledger.limited:
            ledger.admit(epochs - epoch_from, self._in_flight_estimate() if ledger.cost is not None else 0.0,
                         self.elapsed())
        self._dispatch(arch_id, epoch_from, epochs)

    def _in_flight_estimate(self) -> float:
        """Seconds the trainings in flight will cost: the run's mean measured seconds per epoch times their epochs
        (0 before the first ends); a training's cost is known, and charged, only when it ends."""
        if not self._done_epochs:
            return 0.0
        flying = sum(self.evaluations[i]["epoch_to"] - self.evaluations[i]["epoch_from"]
                     for i in self._in_flight.values())
        return self.ledger.spent / self._done_epochs * flying

    def _dispatch(self, arch_id: int, epoch_from: int, epochs: int, index: int | None = None) -> None:
        """Send a training to the lowest free worker (``index``: again, after a resume)."""
        if index is None:
            index = len(self.evaluations)
            self.evaluations.append({
                "arch_id": arch_id, "epoch_from": epoch_from, "epoch_to": epochs, "worker": heapq.heappop(self._free),
                "start": None, "end": None, "cost": None, "value": None, "source": "trained", "pid": None,
                "order": None, "step": len(self.steps), "told": False, "record_epochs": epochs})
            self.ledger.start(arch_id, epochs - epoch_from, epochs, 0.0)
        executor = self.executor
        job = executor.submit(
            run_evaluation, self.train_fn, Arch.from_id(arch_id), self.profile, num_threads=self.num_threads,
            worker_process=executor.worker_processes, seed=self.train_seed, data_dir=self.data_dir,
            out_dir=run_dir(self.runs_dir, self.profile, arch_id, self.train_seed), epochs=epochs,
            device=self.device, compile=self.compile, progress=False)
        self._in_flight[job] = index
        self._write()  # the log shows what is in flight
        log.info("live: training arch_id %d from epoch %d to %d on worker %d", arch_id, epoch_from, epochs,
                 self.evaluations[index]["worker"])
        self._report(f"training arch_id {arch_id} from epoch {epoch_from} to {epochs} on worker "
                     f"{self.evaluations[index]['worker']}")

    def wait(self) -> None:
        """Block until a training in flight finishes; record (and cache) every one that has."""
        jobs = list(self._in_flight)
        for job in sorted(self.executor.wait(jobs), key=self._in_flight.__getitem__):
            index = self._in_flight.pop(job)
            row = self.evaluations[index]
            arch_id, epochs = row["arch_id"], row["epoch_to"]
            try:
                out = job.result()
                record = out["record"]
                if int(record["arch_id"]) != arch_id:
                    raise DataFormatError(f"the trainer returned arch_id {record['arch_id']} for arch_id {arch_id}")
                self.cache.put(record, self.profile, self.train_seed, epochs=epochs)
            except Exception as exc:
                self._write()
                raise NaresError(f"live search seed {self.seed}: training arch_id {arch_id} to {epochs} epochs "
                                 f"failed ({type(exc).__name__}: {exc}); the log keeps what finished, resume to "
                                 "retry") from exc
            seconds = [float(s) for s in out["epoch_seconds"]]
            before = seconds[row["epoch_from"] - 1] if 0 < row["epoch_from"] <= len(seconds) else 0.0
            spent = max(0.0, (seconds[epochs - 1] if len(seconds) >= epochs else seconds[-1]) - before)
            value = self._value(arch_id, record, epochs)
            row.update(start=(self._offset + out["start"] - self._t0) / SECONDS_PER_DAY,
                       end=(self._offset + out["end"] - self._t0) / SECONDS_PER_DAY, cost=spent / SECONDS_PER_DAY,
                       value=value, pid=out.get("pid"), order=self._order)
            self._order += 1
            self._done_epochs += epochs - row["epoch_from"]
            heapq.heappush(self._free, row["worker"])
            self._hold(arch_id, record, epochs)
            self.ledger.spent += spent
            self._telling.append(index)
            self.ledger.finish(arch_id, epochs, self.sign * value)
            self._hardware.add("CPU" if record["train"][0]["gpu_type"] == "cpu" else "GPU")
            self._report(f"arch_id {arch_id} trained to {epochs} epochs in {spent:.0f} s, {self.spec.name} "
                         f"{value:.2f}")
        self._write()

    def _report(self, event: str) -> None:
        """A progress line (with ``progress``): the event and where the run stands."""
        if self.progress:
            done = sum(r["source"] == "trained" and r["order"] is not None for r in self.evaluations)
            throttled_line(f"live search seed {self.seed}: {event}; {done} trainings done, {len(self._in_flight)} "
                           f"running, {self.ledger.n_archs} archs, {self.elapsed():.0f} s")

    def drain(self) -> None:
        while self._in_flight:
            self.wait()

    # ------------------------------------------------------------------ the log
    def _header(self) -> dict[str, Any]:
        from nares_nas.searchers import searcher_name, split_params

        budget = self.budget
        return {"format": LOG_FORMAT, "seed": self.seed, "searcher": searcher_name(self.searcher),
                "params": split_params(self.searcher)[0], "workers": self.workers, "profile": self.profile.name,
                "profile_key": self.profile.key, "train_seed": self.train_seed, "objective": self.spec.name,
                "maximize": self.maximize, "budget": [budget.archs, budget.total_epochs, budget.cost, budget.time]}

    def _write(self) -> None:
        if self.log_path is None:
            return
        state = {**self._header(), "elapsed_s": self.elapsed(), "stopped": self.stopped, "finished": self.finished,
                 "steps": self.steps, "evaluations": self.evaluations}
        write_bytes_atomic(self.log_path, orjson.dumps(state, option=orjson.OPT_SERIALIZE_NUMPY))

    def _load(self) -> dict[str, Any] | None:
        if self.log_path is None or not self.log_path.is_file():
            return None
        if not self._resume:
            raise ConfigError(f"{self.log_path} holds the log of a live run; resume it (--resume, resume=True) "
                              "or choose another folder")
        try:
            state = orjson.loads(self.log_path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataFormatError(f"not a live log ({exc})", path=str(self.log_path)) from None
        header = self._header()
        differ = [f"{key} ({state.get(key)!r} there, {value!r} now)" for key, value in header.items()
                  if state.get(key) != value]
        if differ:
            raise ConfigError(f"{self.log_path} is the log of another live run: {'; '.join(differ)}")
        return state

    def _restore(self, state: Mapping[str, Any]) -> None:
        """The driver's state after the logged events; trainings in flight are sent again."""
        self.steps = [list(step) for step in state["steps"]]
        self.evaluations = [dict(row) for row in state["evaluations"]]
        self._offset = float(state["elapsed_s"])
        self.stopped = bool(state["stopped"])
        ledger = self.ledger
        busy, untold = [], []
        for index, row in enumerate(self.evaluations):  # the logged events through the ledger again
            arch_id, epochs, trained = row["arch_id"], row["epoch_to"], row["source"] == "trained"
            if trained:
                ledger.start(arch_id, epochs - row["epoch_from"], epochs, 0.0)
            if row["order"] is None:
                busy.append(index)
                continue
            held_epochs = row["record_epochs"]
            if held_epochs > ledger.furthest.get(arch_id, 0):
                self._held[arch_id] = _TABLE if row["source"] == "table" else self._record(arch_id, held_epochs)
            if trained:
                ledger.spent += row["cost"] * SECONDS_PER_DAY
                self._done_epochs += epochs - row["epoch_from"]
                ledger.finish(arch_id, epochs, self.sign * row["value"])
            else:
                ledger.count(arch_id, held_epochs)
                ledger.tell(arch_id, epochs, self.sign * row["value"])
            if not row["told"]:
                untold.append(index)
            if row["step"] >= len(self.steps):
                self._adopt[(arch_id, epochs)] = index
        self._order = 1 + max((r["order"] for r in self.evaluations if r["order"] is not None), default=-1)
        ledger.news()  # told before the kill, except those the log does not mark told, told next in finish order
        for index in sorted(untold, key=lambda i: self.evaluations[i]["order"]):
            row = self.evaluations[index]
            ledger.inbox.append(Result(row["arch_id"], row["epoch_to"], self.sign * row["value"]))
            self._telling.append(index)
        self._free = sorted(set(self._free) - {self.evaluations[i]["worker"] for i in busy})
        for index in busy:
            row = self.evaluations[index]
            if row["step"] >= len(self.steps):
                self._adopt[(row["arch_id"], row["epoch_to"])] = index
            self._dispatch(row["arch_id"], row["epoch_from"], row["epoch_to"], index)
        log.info("live: resumed seed %d from %s: %d steps, %d evaluations (%d sent again)", self.seed,
                 self.log_path, len(self.steps), len(self.evaluations), len(busy))

    # ------------------------------------------------------------------ driving the searcher
    def _send(self, gen: Any, command: Any) -> Any:
        """Tell the searcher what finished since it last heard (logged first); its next command."""
        news, telling, self._telling = self.ledger.news(), self._telling, []
        for index in telling:
            self.evaluations[index]["told"] = True
        self.steps.append([_command_json(command), [[r.arch_id, r.epochs, r.score] for r in news]])
        self._write()
        return gen.send(news)

    def run(self) -> LiveRun:
        """Run (or resume) the search to its end; returns the run as its log holds it."""
        state = self._load()
        if state is not None:
            self._restore(state)
            if state["finished"]:
                self.finished = True
                return self.result()
        gen = _conversation(self.searcher, self._search_budget, self.seed, self.maximize, self.max_epochs)
        try:
            if self.stopped:
                return self._end(gen)
            try:
                command = (replay_steps(gen, self.steps, where=f"{self.log_path}: ") if state is not None
                           else next(gen))
            except StopIteration:
                return self._end(gen)
            self._write()
            while True:
                if command is None:
                    if not self.ledger.inbox:
                        if not self._in_flight:
                            break  # the searcher waits on nothing: it has no more to propose
                        self.wait()
                elif isinstance(command, Proposal):
                    try:
                        self.propose(command)
                    except Refused:
                        self.stopped = True
                        break
                    if not self._free:
                        self.wait()
                else:  # side work (a predictor fit), answered here
                    self.steps.append(["side", None])
                    command = gen.send(type(command).resolve_batch([command])[0])
                    continue
                try:
                    command = self._send(gen, command)
                except StopIteration:
                    break
            return self._end(gen)
        finally:
            gen.close()

    def _end(self, gen: Any) -> LiveRun:
        self.drain()
        self.finished = True
        self._write()
        return self.result()

    def result(self) -> LiveRun:
        return LiveRun(self.seed, self.evaluations, self.steps, self.max_epochs, self.spec.name, self.maximize,
                       self.workers, self.stopped, self.elapsed(), "+".join(sorted(self._hardware)) or None)


def _conversation(searcher: Any, budget: int | None, seed: int, maximize: bool, max_epochs: int) -> Any:
    """A fresh run of ``searcher``'s proposals, one command at a time, as the driver and a replay talk to it."""
    return one_at_a_time(searcher.propose(SPACE, budget, as_generator(seed), maximize=maximize,
                                          max_epochs=max_epochs))


def replay_steps(gen: Any, steps: list[Any], *, where: str = "", yielded: list[Any] | None = None) -> Any:
    """Send the logged ``steps`` to a fresh conversation ``gen``; the command it yields after them.

    The one replay of a live log, for a resume and for :func:`replay`: each step's command must be
    what the searcher yields (appended to ``yielded``), else :class:`ConfigError` (``where`` names the
    log); its logged results, or side work answered again, are sent back. StopIteration passes through.
    """
    command = next(gen)
    for i, (logged, told) in enumerate(steps):
        shown = _command_json(command)
        if yielded is not None:
            yielded.append(shown)
        if shown != logged:
            raise ConfigError(f"{where}step {i} of the log is {_shown(logged)}, but the searcher now yields "
                              f"{_shown(shown)}: the log is not this run's")
        command = gen.send(type(command).resolve_batch([command])[0] if logged == "side"
                           else [Result(int(a), int(e), s) for a, e, s in told])
    return command


def replay(searcher: Any, log: Mapping[str, Any] | str | os.PathLike, *, max_epochs: int,
           budget: int | None = None) -> list[Any]:
    """Replay a live log to a fresh ``searcher``: the commands it yields, step by step.

    Raises :class:`ConfigError` where the searcher departs from the log; the last element is
    what it yields after the last logged step (None, a proposal, or ``"end"`` if it returns).
    """
    if not isinstance(log, Mapping):
        log = orjson.loads(Path(log).read_bytes())
    gen = _conversation(searcher, budget, int(log["seed"]), bool(log["maximize"]), max_epochs)
    commands: list[Any] = []
    try:
        commands.append(_command_json(replay_steps(gen, log["steps"], yielded=commands)))
    except StopIteration:
        commands.append("end")
    finally:
        gen.close()
    return commands


def live_budget_note(budget: Budget, workers: int) -> str:
    """What the budget allows a live run, for the summary line."""
    parts = []
    if budget.archs is not None:
        parts.append(f"{budget.archs} distinct archs (counted at dispatch)")
    if budget.total_epochs is not None:
        parts.append(f"{budget.total_epochs} epochs")
    if budget.cost is not None:
        parts.append(f"{budget.cost:g} days of measured training (in flight may add up to {workers} evaluations)")
    if budget.time is not None:
        parts.append(f"{budget.time:g} wall-clock days")
    return "budget " + (", ".join(parts) if parts else "none")


__all__ = ["LiveRun", "LiveSearch", "live_budget_note", "replay", "replay_steps"]
