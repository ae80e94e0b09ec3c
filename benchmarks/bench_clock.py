"""Simulated clock benchmark: the clock's own cost, ASHA at scale, Syne Tune.

Command (documented in docs/benchmarks.md)::

    python benchmarks/bench_clock.py [--runs 400] [--workers 8] [--budget 500] [--clock-runs 40]
        [--synetune-runs 3] [--jobs 1] [--baseline REV] [--data synthetic] [--json out.json]

With the table loaded (``--data``, default the synthetic stand-in) and ``C = budget x
mean(TRAINING_TIME)`` GPU-days (the cost of ``--budget`` full trainings at the table's mean), it
measures, in one process:

(a) *the clock's own cost per simulated evaluation*: ``--clock-runs`` runs of ASHA
    (``min_epochs=4``, ``eta=3``, cost budget C), random search and regularized evolution (500
    architectures) on ``--workers`` workers are recorded as the stream of what each searcher
    yielded, then replayed into a fresh :class:`~nares_nas.simulation.clock.Simulation` by a generator that
    does nothing else (the replayed logs are checked equal to the originals). Replay time per
    evaluation started is the clock's cost; the full run's time minus it is the searcher's;
(b) ``--runs`` ASHA runs (``min_epochs=4``, ``eta=3``, ``--workers`` workers, cost budget C)
    through :func:`nares_nas.runs.search.simulate_search` in-process (target: under 10 s; ASHA on an
    evaluation model runs as its compiled twin, :mod:`nares_nas.searchers._asha_compiled`), against the same
    runs by Asha's generator on the Python clock (``simulate(..., compiled=False)``), and with
    ``--jobs N`` also in N local processes;
(c) ``--runs`` random-search runs of ``--budget`` architectures on ``--workers`` simulated
    workers against the same through the clock on 1 worker (target: within 2x);
(d) Syne Tune 0.16 side by side: the table exported with
    :func:`nares_nas.integrations.synetune.export_syne_tune`, read back with Syne Tune's
    ``deserialize``, and run by its simulator (``UserBlackboxBackend``, the in-memory sibling of
    ``BlackboxRepositoryBackend``; both are its ``SimulatorBackend``) with its ``ASHA``
    scheduler: ``--workers`` workers, ``grace_period=4``, ``reduction_factor=3``, ``max_t=100``,
    ``metric_val_pgd_acc`` maximised, stopped at simulated time ``T = C / workers`` days. Ours
    runs Asha with the same settings and ``Budget(time=T)``. Reported: seconds per run of each
    and their ratio, and the best full-fidelity value found by ``T/4``, ``T/2`` and ``T``.
    Syne Tune's ASHA stops trials at rungs (a trial reports every epoch and is stopped unless in
    the top ``1/3`` of its rung: ASHA's stopping type, the only one Syne Tune 0.16 has); ours
    promotes (the promotion type, Li et al.'s Algorithm 2), so the two are different variants of
    ASHA, not the same schedule. Syne Tune writes under a temporary ``SYNETUNE_FOLDER``, removed
    at the end.

``--baseline REV`` also times the clock and evaluation model of git revision REV (e.g. the
commit before an optimisation), loaded from ``git show REV:nares_nas/simulation/clock.py`` and
``REV:nares_nas/simulation/model.py``, in (a) and (b): the ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _revision import module_at

import nares_nas
from nares_nas._rng import as_generator
from nares_nas.runs.search import simulate_search
from nares_nas.searchers import Asha, RandomSearch, RegularizedEvolution
from nares_nas.simulation import clock
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.clock import Simulation
from nares_nas.simulation.model import EvaluationModel
from nares_nas.space import SPACE


# --------------------------------------------------------------------------- helpers
def calibrate() -> float:
    """Nanoseconds per iteration of an empty Python loop: how fast this machine is right now."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(2_000_000):
            pass
        best = min(best, (time.perf_counter() - start) / 2_000_000 * 1e9)
    return best


def load_baseline(rev: str) -> tuple[Any, Any]:
    """The clock and evaluation-model modules of git revision ``rev`` (before or after the layers)."""
    model = module_at(rev, "nares_nas/simulation/model.py", "nares_nas/evaluation.py", name="nares_nas._baseline_model")
    clock_module = module_at(rev, "nares_nas/simulation/clock.py", "nares_nas/clock.py",
                             name="nares_nas._baseline_clock")
    return clock_module, model


def record(proposals, commands: list):
    """Pass a searcher's generator through, appending everything it yields to ``commands``."""
    try:
        command = next(proposals)
        while True:
            commands.append(command)
            command = proposals.send((yield command))
    except StopIteration:
        return
    finally:
        proposals.close()


def replay(commands: list):
    """Yield ``commands`` again, ignoring what is sent: a searcher that costs nothing."""
    for command in commands:  # noqa: UP028 (``yield from`` a list would pass the sends to it)
        yield command


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def best_at(run: clock.ClockRun, days: float) -> float:
    """The best full-fidelity value finished by ``days`` (NaN if none)."""
    ends, best = run.incumbent()
    k = int(np.searchsorted(ends, days + 1e-12, side="right"))
    return float(best[k - 1]) if k else float("nan")


def mean_std(values) -> str:
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return "n/a"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


# --------------------------------------------------------------------------- (a)
def whole_runs(model, make, budget: Budget, search_budget: int | None, workers: int, runs: int) -> int:
    """Run seeds ``0..runs-1`` of ``make()`` on the clock; return the evaluations started."""
    evaluations = 0
    for seed in range(runs):
        proposals = make().propose(SPACE, search_budget, as_generator(seed), max_epochs=model.max_epochs)
        sim = Simulation(model, proposals, workers=workers, budget=budget)
        sim.advance()
        evaluations += len(sim.log)
    return evaluations


def clock_cost(model, cases, workers: int, runs: int, repeats: int, baseline=None) -> list[dict]:
    """Per evaluation: the whole run, the clock alone (replay), and the baseline clock alone."""
    rows = []
    for name, make, budget, search_budget in cases:
        streams = []
        Simulation(model, make().propose(SPACE, search_budget, as_generator(runs), max_epochs=model.max_epochs),
                   workers=workers, budget=budget).advance()  # warm-up: first-use caches (e.g. neighbour lists)
        for seed in range(runs):
            commands: list = []
            proposals = make().propose(SPACE, search_budget, as_generator(seed), max_epochs=model.max_epochs)
            sim = Simulation(model, record(proposals, commands), workers=workers, budget=budget)
            sim.advance()
            streams.append((commands, sim.log.rows()))
        variants = [("ours", clock, model)] + ([("baseline", *baseline)] if baseline else [])
        best = {tag: float("inf") for tag, _, _ in variants}
        best["full"] = float("inf")
        for _ in range(repeats):  # alternating, the fastest of each kept
            start = time.perf_counter()
            evaluations = whole_runs(model, make, budget, search_budget, workers, runs)  # searcher and clock
            best["full"] = min(best["full"], time.perf_counter() - start)
            for tag, module, table in variants:
                start = time.perf_counter()
                sims = [module.Simulation(table, replay(commands), workers=workers, budget=budget)
                        for commands, _ in streams]
                for sim in sims:
                    sim.advance()
                best[tag] = min(best[tag], time.perf_counter() - start)
                if any(sim.log.rows() != log for sim, (_, log) in zip(sims, streams)):
                    raise AssertionError(f"{tag} clock: the replayed {name} runs differ from the originals")
        row = {"searcher": name, "runs": runs, "evaluations": evaluations,
               "proposals": sum(len(c) for c, _ in streams),
               "full_us_per_eval": best["full"] / evaluations * 1e6,
               "clock_us_per_eval": best["ours"] / evaluations * 1e6}
        row["searcher_us_per_eval"] = row["full_us_per_eval"] - row["clock_us_per_eval"]
        if baseline:
            row["baseline_clock_us_per_eval"] = best["baseline"] / evaluations * 1e6
            row["clock_speedup"] = best["baseline"] / best["ours"]
        rows.append(row)
        print(f"  {name}: {evaluations} evaluations ({row['proposals']} proposals) in {runs} runs: "
              f"{row['full_us_per_eval']:.2f} us per evaluation in all, clock alone "
              f"{row['clock_us_per_eval']:.2f} us"
              + (f", baseline clock {row['baseline_clock_us_per_eval']:.2f} us ({row['clock_speedup']:.2f}x)"
                 if baseline else ""), flush=True)
    return rows


# --------------------------------------------------------------------------- (b), (c)
def timed(fn):
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - start, time.process_time() - cpu


def asha_at_scale(model, runs: int, workers: int, cost: float, jobs: int, baseline=None) -> dict:
    searcher = Asha(min_epochs=4, eta=3)
    budget = Budget(cost=cost)
    simulate_search(searcher, model, seeds=[runs], budget=budget, workers=workers)  # warm-up (imports)
    out, wall, cpu = timed(lambda: simulate_search(searcher, model, seeds=range(runs), budget=budget, workers=workers))
    row = {"runs": runs, "wall_s": wall, "cpu_s": cpu, "evaluations": sum(len(r.log) for r in out),
           "best": [r.trajectory().best_value for r in out], "gpu_days": float(np.mean([r.cost_days for r in out])),
           "sim_days": float(np.mean([r.time_days for r in out]))}
    print(f"  ours: {runs} runs in {wall:.2f} s wall ({cpu:.2f} s CPU), {row['evaluations']} evaluations "
          f"({wall / row['evaluations'] * 1e6:.2f} us each, clock and ASHA), "
          f"{row['gpu_days']:.2f} GPU-days and {row['sim_days']:.2f} simulated days per run, best VAL_PGD_ACC "
          f"{mean_std(row['best'])}", flush=True)
    out, wall, cpu = timed(lambda: clock.simulate(searcher, model, range(runs), budget=budget, workers=workers,
                                                  compiled=False))
    row.update(generator_wall_s=wall, generator_cpu_s=cpu,
               generator_same=[r.trajectory().best_value for r in out] == row["best"]
               and sum(len(r.log) for r in out) == row["evaluations"])
    print(f"  the same runs by Asha's generator on the Python clock (compiled=False): {wall:.2f} s wall "
          f"({cpu:.2f} s CPU), {wall / row['wall_s']:.1f}x the compiled twin's; same results: {row['generator_same']}",
          flush=True)
    del out
    if jobs > 1:
        out, wall, cpu = timed(lambda: simulate_search(searcher, model, seeds=range(runs), budget=budget,
                                                       workers=workers, n_jobs=jobs))
        row.update(jobs=jobs, jobs_wall_s=wall, jobs_same=[r.trajectory().best_value for r in out] == row["best"])
        print(f"  ours with n_jobs={jobs} (loky processes): {wall:.2f} s wall; same results: {row['jobs_same']}",
              flush=True)
        del out
    if baseline:  # like with like: both clocks' own simulate(), without the harness around them
        for tag, module, table in (("direct", clock, model), ("baseline", *baseline)):
            out, wall, cpu = timed(lambda m=module, t=table: m.simulate(searcher, t, range(runs), workers=workers,
                                                                        budget=m.Budget(cost=cost)))
            row[f"{tag}_wall_s"], row[f"{tag}_cpu_s"] = wall, cpu
            row[f"{tag}_same"] = all(r.trajectory().best_value == b for r, b in zip(out, row["best"]))
            del out
        row["speedup"] = row["baseline_wall_s"] / row["direct_wall_s"]
        print(f"  clock.simulate alone: ours {row['direct_wall_s']:.2f} s ({row['direct_cpu_s']:.2f} s CPU), baseline "
              f"{row['baseline_wall_s']:.2f} s ({row['baseline_cpu_s']:.2f} s CPU): {row['speedup']:.2f}x; same "
              f"results: {row['baseline_same'] and row['direct_same']}", flush=True)
    return row


def random_search_workers(model, runs: int, workers: int, budget: int) -> dict:
    row = {}
    simulate_search(RandomSearch(), model, seeds=[runs], budget=budget, workers=workers)  # warm-up
    for w in (1, workers):
        out, wall, cpu = timed(lambda w=w: simulate_search(RandomSearch(), model, seeds=range(runs), budget=budget,
                                                           workers=w))
        row[f"w{w}"] = {"wall_s": wall, "cpu_s": cpu, "best": float(np.mean([r.trajectory().best_value for r in out])),
                        "sim_days": float(np.mean([r.time_days for r in out]))}
        print(f"  {w} worker(s): {runs} runs in {wall:.2f} s wall ({cpu:.2f} s CPU), "
              f"{row[f'w{w}']['sim_days']:.2f} simulated days per run", flush=True)
    row["ratio"] = row[f"w{workers}"]["wall_s"] / row["w1"]["wall_s"]
    print(f"  {workers} workers / 1 worker: {row['ratio']:.2f}x", flush=True)
    return row


# --------------------------------------------------------------------------- (d)
def syne_tune(bench, model, runs: int, workers: int, cost: float, our_runs: int) -> dict:
    days = cost / workers
    checkpoints = (days / 4, days / 2, days)
    folder = Path(tempfile.mkdtemp(prefix="bench_clock_synetune_"))
    os.environ["SYNETUNE_FOLDER"] = str(folder)  # Syne Tune writes its results here, not in ~/syne-tune
    try:
        logging.getLogger("syne_tune").setLevel(logging.ERROR)
        from syne_tune import StoppingCriterion, Tuner
        from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
        from syne_tune.blackbox_repository import UserBlackboxBackend
        from syne_tune.blackbox_repository.blackbox_tabular import deserialize
        from syne_tune.optimizer.baselines import ASHA

        from nares_nas.integrations.synetune import DEFAULT_METRIC, ELAPSED_TIME, FIDELITY_ATTR, export_syne_tune

        _, export_s, _ = timed(lambda: export_syne_tune(bench, folder / "export"))
        blackbox, read_s, _ = timed(lambda: deserialize(str(folder / "export"))["cifar10"])
        print(f"  export {export_s:.1f} s, deserialize {read_s:.1f} s; T = {days:.3f} simulated days", flush=True)
        st = {"seconds": [], "best": [], "trials": [], "results": []}
        for seed in range(runs):
            np.random.seed(seed)  # Syne Tune draws brackets and trial seeds from numpy's global state
            backend = UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr=ELAPSED_TIME)
            scheduler = ASHA(blackbox.configuration_space, metric=DEFAULT_METRIC, time_attr=FIDELITY_ATTR,
                             max_t=model.max_epochs, grace_period=4, reduction_factor=3, do_minimize=False,
                             random_seed=seed)
            callback = SimulatorCallback()
            tuner = Tuner(trial_backend=backend, scheduler=scheduler, n_workers=workers, sleep_time=0,
                          stop_criterion=StoppingCriterion(max_wallclock_time=days * 86_400),
                          callbacks=[callback], save_tuner=False, tuner_name=f"nares-{seed}",
                          print_update_interval=1e12, results_update_interval=1e12)
            with contextlib.redirect_stdout(io.StringIO()):
                _, seconds, _ = timed(tuner.run)
            frame = callback.dataframe()
            full = frame[frame[FIDELITY_ATTR] == model.max_epochs]
            st["seconds"].append(seconds)
            st["trials"].append(int(frame["trial_id"].nunique()))
            st["results"].append(len(frame))
            st["best"].append([float(full.loc[full["st_tuner_time"] <= t * 86_400 + 1e-6, DEFAULT_METRIC].max())
                               for t in checkpoints])
            print(f"  Syne Tune seed {seed}: {seconds:.1f} s, {st['trials'][-1]} trials, {len(frame)} results, "
                  f"best at T {st['best'][-1][-1]:.3f}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("SYNETUNE_FOLDER", None)
    searcher = Asha(min_epochs=4, eta=3)
    ours, wall, _ = timed(lambda: simulate_search(searcher, model, seeds=range(our_runs), budget=Budget(time=days),
                                                  workers=workers))
    best = [[best_at(r, t) for t in checkpoints] for r in ours]
    evaluations = float(np.mean([len(r.log) for r in ours]))
    row = {"T_days": days, "synetune": st, "ours_same_seeds": best[:runs],
           "ours": {"runs": our_runs, "seconds_per_run": wall / our_runs, "best": best, "evaluations": evaluations}}
    row["ratio"] = float(np.mean(st["seconds"])) / row["ours"]["seconds_per_run"]
    print(f"  ours: {our_runs} runs, {row['ours']['seconds_per_run'] * 1e3:.1f} ms per run; Syne Tune "
          f"{np.mean(st['seconds']):.1f} s per run: {row['ratio']:.0f}x", flush=True)
    for k, label in enumerate(("T/4", "T/2", "T")):
        print(f"  best full-fidelity VAL_PGD_ACC by {label}: ours {mean_std([b[k] for b in best])} "
              f"({our_runs} runs; seeds 0..{runs - 1}: {mean_std([b[k] for b in best[:runs]])}), "
              f"Syne Tune {mean_std([b[k] for b in st['best']])} ({runs} runs)", flush=True)
    return row


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="runs in (b), (c) and ours in (d)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--budget", type=int, default=500, help="full trainings the cost budget C buys; RS/RE archs")
    parser.add_argument("--clock-runs", type=int, default=40, help="runs replayed in (a)")
    parser.add_argument("--repeats", type=int, default=3, help="replays in (a); the fastest is kept")
    parser.add_argument("--synetune-runs", type=int, default=3, help="Syne Tune runs in (d); 0 skips it")
    parser.add_argument("--jobs", type=int, default=1, help="also run (b) in this many local processes")
    parser.add_argument("--baseline", metavar="REV", help="also time the clock of this git revision")
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    print(f"{datetime.datetime.now().isoformat(timespec='seconds')}  {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, numpy {np.__version__}; load average {load_average()}")
    ns = calibrate()
    print(f"empty Python loop: {ns:.1f} ns per iteration (a measure of how loaded the machine is)")
    (bench, load_s, _) = timed(lambda: nares_nas.load(args.data))
    model, model_s, _ = timed(lambda: EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC"))
    times = bench.metric_by_id("TRAINING_TIME")[1:]
    cost = args.budget * float(np.nanmean(times))
    print(f"data: {bench.source}{' (SYNTHETIC stand-in)' if bench.synthetic else ''}, loaded in {load_s:.2f} s, "
          f"evaluation model {model_s:.2f} s; C = {args.budget} x mean TRAINING_TIME {np.nanmean(times):.4f} = "
          f"{cost:.3f} GPU-days")
    baseline = None
    if args.baseline:
        module, evaluation = load_baseline(args.baseline)
        baseline = (module, evaluation.EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC"))
        print(f"baseline: the clock and evaluation model of {args.baseline}")
    figures: dict[str, Any] = {"date": datetime.date.today().isoformat(), "cpus": os.cpu_count(),
                               "empty_loop_ns": ns, "cost_gpu_days": cost, "data": bench.source,
                               "synthetic": bench.synthetic, "args": vars(args)}

    print(f"(a) the clock's own cost per evaluation, {args.workers} workers; load average {load_average()}")
    cases = [("asha", lambda: Asha(min_epochs=4, eta=3), Budget(cost=cost), None),
             ("random_search", RandomSearch, Budget(archs=args.budget), args.budget),
             ("regularized_evolution", RegularizedEvolution, Budget(archs=args.budget), args.budget)]
    figures["a"] = clock_cost(model, cases, args.workers, args.clock_runs, args.repeats, baseline)

    print(f"(b) {args.runs} ASHA runs (min_epochs=4, eta=3, {args.workers} workers, {cost:.3f} GPU-days each); "
          f"load average {load_average()}")
    figures["b"] = asha_at_scale(model, args.runs, args.workers, cost, args.jobs, baseline)

    print(f"(c) {args.runs} random-search runs of {args.budget} archs; load average {load_average()}")
    figures["c"] = random_search_workers(model, args.runs, args.workers, args.budget)

    if args.synetune_runs:
        print(f"(d) Syne Tune 0.16's ASHA (stopping type) on its simulator vs ours (promotion type); "
              f"load average {load_average()}")
        figures["d"] = syne_tune(bench, model, args.synetune_runs, args.workers, cost, args.runs)
    print(f"load average at the end {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
