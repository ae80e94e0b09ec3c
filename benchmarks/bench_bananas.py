"""BANANAS speed: the batched MLP ensemble against a straightforward per-member PyTorch loop.

Commands (documented in docs/benchmarks.md)::

    python benchmarks/bench_bananas.py [--quick] [--threads 1] [--json out.json]
    python benchmarks/bench_bananas.py --compare-fast 16 --jobs 2 --log runs.jsonl [--budget 500]
    python benchmarks/bench_bananas.py --compare-fast 400 --device cuda --lockstep-runs 400 --log runs.jsonl

Measured, back to back in one process and at one torch thread count:

1. *Training throughput* on a training set of ``--n`` architectures (path encoding, the
   reference predictor: 5 MLPs, 20 hidden layers of width 32, batch 32): the baseline trains
   each member as its own ``nn.Sequential`` with ``torch.optim.Adam`` and manual minibatches;
   ours trains the five together (:class:`nares_nas.surrogate._mlp.StackTrainer`); in between,
   the same stacked tensors differentiated by autograd with ``torch.optim.Adam(fused=True)``
   shows what the hand-written backward adds, and the runs of a lockstep group (8) stacked into one
   program (as :meth:`Bananas.run_many` fits them) show what sharing the calls adds. Reported:
   model-steps per second (one Adam step of one member = one model-step) and achieved GFLOP/s
   (a training step counted as 3 x the forward pass, 2 FLOP per multiply-accumulate). The
   baseline and ours alternate ``--repeats`` times; the fastest of each is kept.
2. *A full BANANAS run* at the reference settings (500 queries) on the synthetic stand-in's
   VAL_PGD_ACC: measured for ours; for the baseline extrapolated from its measured time per
   model-step times the run's exact number of model-steps (it would take about an hour).

``--compare-fast N`` instead runs the reference settings and :meth:`Bananas.fast` for seeds
0..N-1 through the harness (``--jobs`` processes, each advancing up to 8 seeds in lockstep),
reports wall seconds per run, and compares the best VAL_PGD_ACC found with a Mann-Whitney U
and a two-sample Kolmogorov-Smirnov test. With ``--log`` every finished run is appended to
a JSON-lines file, and seeds already there are not run again, so the comparison can be
grown over several invocations.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import time
from collections.abc import Callable

import numpy as np
import torch

from nares_nas.oracle import TabularOracle
from nares_nas.searchers._bananas import Bananas
from nares_nas.space import SPACE
from nares_nas.surrogate import encode
from nares_nas.surrogate._mlp import AdamConfig, StackShape, StackTrainer, init_params, split, with_ones

MEMBERS, LAYERS, WIDTH, BATCH = 5, 20, 32, 32


def objective_values() -> tuple[np.ndarray, str]:
    """VAL_PGD_ACC by arch_id from the synthetic stand-in (or the contract's toy landscape)."""
    try:
        import nares_nas

        return nares_nas.load("synthetic").metric_by_id("VAL_PGD_ACC"), "synthetic stand-in, VAL_PGD_ACC"
    except ImportError:
        from nares_nas.searchers.contract import toy_objective

        return toy_objective(), "toy_objective (no synthetic stand-in available)"


def machine() -> dict[str, object]:
    model = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "date": datetime.datetime.now().isoformat(timespec="seconds")}


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


# --------------------------------------------------------------------------- the two trainers
def baseline_fit(x: torch.Tensor, y: torch.Tensor, epochs: int, generator: torch.Generator) -> int:
    """The straightforward loop: one ``nn.Sequential`` and ``torch.optim.Adam`` per member.

    Returns the number of model-steps taken.
    """
    n, steps = x.shape[0], 0
    for _ in range(MEMBERS):
        layers: list[torch.nn.Module] = []
        for fan_in in [x.shape[1]] + [WIDTH] * (LAYERS - 1):
            layers += [torch.nn.Linear(fan_in, WIDTH), torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers, torch.nn.Linear(WIDTH, 1))
        for module in net:
            if isinstance(module, torch.nn.Linear):
                torch.nn.init.xavier_uniform_(module.weight, generator=generator)
                torch.nn.init.zeros_(module.bias)
        optim = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.99))
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, BATCH):
                idx = order[start:start + BATCH]
                optim.zero_grad()
                loss = (net(x[idx]).squeeze(-1) - y[idx]).abs().mean() + 0.2 * net[-1].weight.abs().sum()
                loss.backward()
                optim.step()
                steps += 1
    return steps


def autograd_fit(x: torch.Tensor, y: torch.Tensor, epochs: int, generator: torch.Generator) -> int:
    """The members stacked as here, but differentiated by autograd and stepped by ``torch.optim.Adam``."""
    shape = StackShape(MEMBERS, x.shape[1], LAYERS, WIDTH)
    flat = init_params(shape, [generator], torch.device("cpu")).requires_grad_()
    optim = torch.optim.Adam([flat], lr=1e-3, betas=(0.9, 0.99), fused=True)
    x_aug, n = with_ones(x), x.shape[0]
    for _ in range(epochs):
        order = torch.rand(MEMBERS, n, generator=generator).argsort(dim=1)
        xs, ys = x_aug[order], y[order]
        for start in range(0, n, BATCH):
            optim.zero_grad()
            w0, wh, wo = split(flat, shape)
            a = with_ones(torch.relu(torch.bmm(xs[:, start:start + BATCH], w0)))
            for layer in wh:
                a = with_ones(torch.relu(torch.bmm(a, layer)))
            out = torch.bmm(a, wo).squeeze(-1)
            loss = (out - ys[:, start:start + BATCH]).abs().mean(dim=1).sum() + 0.2 * wo[:, :-1].abs().sum()
            loss.backward()
            optim.step()
    return MEMBERS * epochs * math.ceil(n / BATCH)


def batched_fit(x: torch.Tensor, y: torch.Tensor, epochs: int, generator: torch.Generator, runs: int = 1) -> int:
    """``runs`` runs' ensembles stacked into one program (each run: the same data, its own generator)."""
    shape = StackShape(MEMBERS * runs, x.shape[1], LAYERS, WIDTH)
    generators = [generator] + [torch.Generator().manual_seed(r) for r in range(1, runs)]
    trainer = StackTrainer(shape, init_params(shape, generators, torch.device("cpu")), AdamConfig(), 0.2)
    trainer.fit(x.expand(runs, -1, -1), y.expand(runs, -1), epochs, BATCH, generators)
    return MEMBERS * runs * epochs * math.ceil(x.shape[0] / BATCH)


def lockstep_fit(x: torch.Tensor, y: torch.Tensor, epochs: int, generator: torch.Generator) -> int:
    return batched_fit(x, y, epochs, generator, runs=Bananas().lockstep_runs)


def time_call(fn: Callable[..., int], *args) -> tuple[float, float, int]:
    """(wall seconds, process CPU seconds, result) of ``fn(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def flops_per_model_step(in_dim: int, batch: float) -> float:
    """Training FLOPs of one member on one minibatch: 3 x forward, 2 FLOP per MAC."""
    return 3 * 2 * StackShape(1, in_dim, LAYERS, WIDTH).forward_macs() * batch


def throughput(n: int, epochs_base: int, epochs_ours: int, repeats: int) -> dict[str, dict[str, float]]:
    ids = np.random.default_rng(0).choice(np.arange(1, 15626), n, replace=False)
    x = torch.tensor(encode(ids, "path"))
    y = torch.tensor(np.random.default_rng(1).uniform(55, 70, n), dtype=torch.float32)
    mean_batch = n / math.ceil(n / BATCH)
    runs = {"baseline": (baseline_fit, epochs_base), "batched_autograd": (autograd_fit, epochs_ours),
            "batched": (batched_fit, epochs_ours), "lockstep": (lockstep_fit, max(1, epochs_ours // 4))}
    best: dict[str, tuple[float, float, int]] = {}
    for _ in range(repeats):  # alternate, keep each one's fastest
        for name, (fit, epochs) in runs.items():
            wall, cpu, steps = time_call(fit, x, y, epochs, torch.Generator().manual_seed(0))
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu, steps)
    out = {}
    for name, (wall, cpu, steps) in best.items():
        out[name] = {"model_steps": steps, "wall_s": wall, "cpu_s": cpu,
                     "model_steps_per_s": steps / wall, "us_per_model_step": 1e6 * wall / steps,
                     "gflop_per_s": steps * flops_per_model_step(x.shape[1], mean_batch) / wall / 1e9}
    out["speedup"] = {name: out["baseline"]["us_per_model_step"] / out[name]["us_per_model_step"]
                      for name in ("batched_autograd", "batched", "lockstep")}
    return out


def run_model_steps(sizes: list[int], epochs: int) -> int:
    """Model-steps of one BANANAS run whose fits see training sets of ``sizes``."""
    return sum(MEMBERS * epochs * math.ceil(n / BATCH) for n in sizes)


def full_run(values: np.ndarray, budget: int, epochs: int, seed: int, threads: int) -> dict[str, float]:
    import nares_nas.surrogate.ensemble as ensemble

    searcher = Bananas(epochs=epochs, num_threads=threads)
    sizes: list[int] = []
    fit_together = ensemble.fit_together

    def recording(models, xs, ys):
        sizes.extend(len(x) for x in xs)
        fit_together(models, xs, ys)

    ensemble.fit_together = recording
    try:
        oracle = TabularOracle(values, budget=searcher.query_cap(budget))
        wall, cpu, _ = time_call(searcher.search, SPACE, oracle, budget, np.random.default_rng(seed))
    finally:
        ensemble.fit_together = fit_together
    steps = run_model_steps(sizes, epochs)
    in_dim = encode(np.array([1]), "path").shape[1]
    samples = MEMBERS * epochs * sum(sizes)
    return {"budget": budget, "epochs": epochs, "queries": oracle.n_queries, "fits": len(sizes),
            "model_steps": steps, "wall_s": wall, "cpu_s": cpu,
            "gflop_per_s": samples * 3 * 2 * StackShape(1, in_dim, LAYERS, WIDTH).forward_macs() / wall / 1e9,
            "best": oracle.trajectory().best_value}


def _read_log(log_path: str | None) -> list[dict[str, object]]:
    if not log_path or not os.path.exists(log_path):
        return []
    with open(log_path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_presets(values: np.ndarray, presets: dict[str, Bananas], seeds: int, budget: int, jobs: int,
                log_path: str | None) -> tuple[dict[str, dict[int, float]], dict[str, dict[str, float]]]:
    """Best objective value of each preset over seeds 0..seeds-1, and wall seconds per run.

    Runs go through the harness (``iter_runs``: ``jobs`` processes, lockstep groups); every
    finished run is appended to ``log_path`` (JSON lines, ``preset`` = the key in ``presets``),
    whose runs are reused, so an interrupted or smaller comparison keeps what it did. Wall
    seconds per run are over the runs of this invocation.
    """
    from nares_nas.runs.parallel import iter_runs

    logged = [r for r in _read_log(log_path)
              if r.get("preset") in presets and r.get("budget", budget) == budget and "best" in r]
    found = {name: {int(r["seed"]): float(r["best"]) for r in logged if r["preset"] == name} for name in presets}
    timing: dict[str, dict[str, float]] = {}
    for name, searcher in presets.items():
        todo = [s for s in range(seeds) if s not in found[name]]
        start = time.perf_counter()
        for seed, run in iter_runs(searcher, values, seeds=todo, budget=budget, n_jobs=jobs):
            trajectory = run.trajectory()
            found[name][seed] = trajectory.best_value
            if log_path:
                with open(log_path, "a") as fh:
                    fh.write(json.dumps({"preset": name, "seed": seed, "best": trajectory.best_value,
                                         "queries": len(trajectory), "budget": budget,
                                         "elapsed_s": time.perf_counter() - start}) + "\n")
        if todo:
            wall = time.perf_counter() - start
            timing[name] = {"runs": len(todo), "wall_s": wall, "wall_s_per_run": wall / len(todo)}
            print(f"{name}: {len(todo)} runs in {wall:.0f} s ({wall / len(todo):.1f} s per run, {jobs} jobs)",
                  flush=True)
    return found, timing


def two_sample(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """``a`` against ``b``: Mann-Whitney U and Kolmogorov-Smirnov p, Welch 95 % CI of mean(a) - mean(b)."""
    from scipy.stats import ks_2samp, mannwhitneyu, ttest_ind

    return {"mannwhitney_p": mannwhitneyu(a, b, alternative="two-sided").pvalue, "ks_p": ks_2samp(a, b).pvalue,
            "difference": a.mean() - b.mean(),
            "difference_95ci_welch": list(ttest_ind(a, b, equal_var=False).confidence_interval(0.95))}


def compare_fast(values: np.ndarray, seeds: int, budget: int, jobs: int, log_path: str | None,
                 **params: object) -> dict[str, object]:
    """Best VAL_PGD_ACC of the reference settings and the fast preset over seeds 0..seeds-1.

    See :func:`run_presets`; ``params`` (``device``, ``lockstep_runs``) go to both presets.
    """
    presets = {"reference": Bananas(**params), "fast": Bananas.fast(**params)}
    found, timing = run_presets(values, presets, seeds, budget, jobs, log_path)
    ref = np.array([found["reference"][s] for s in range(seeds)])
    fast = np.array([found["fast"][s] for s in range(seeds)])
    test = two_sample(fast, ref)
    return {
        "seeds": seeds, "budget": budget, "jobs": jobs, "fast_epochs": Bananas.fast().epochs,
        "params": {key: presets["reference"].get_params()[key] for key in ("device", "lockstep_runs")},
        "timing": timing,
        "reference_mean": ref.mean(), "reference_std": ref.std(ddof=1),
        "fast_mean": fast.mean(), "fast_std": fast.std(ddof=1),
        "mannwhitney_p": test["mannwhitney_p"], "ks_p": test["ks_p"],
        "fast_minus_reference": test["difference"],
        "difference_95ci_welch": test["difference_95ci_welch"],
        "reference_best": ref.tolist(), "fast_best": fast.tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs; a 100-query run at 100 epochs")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads, also the full run's Bananas(num_threads=...) (default 1)")
    parser.add_argument("--n", type=int, default=256, help="training-set size for the throughput test")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-run", action="store_true", help="throughput only, no full BANANAS run")
    parser.add_argument("--compare-fast", type=int, metavar="SEEDS", help="reference vs fast over SEEDS seeds")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0, help="seed of the full run (default 0)")
    parser.add_argument("--jobs", type=int, default=1, help="processes for --compare-fast")
    parser.add_argument("--device", default="cpu", help="--compare-fast: Bananas(device=...) (cpu, cuda, auto)")
    parser.add_argument("--lockstep-runs", type=int, default=8,
                        help="--compare-fast: seeds per lockstep group (raise it on a GPU)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--log", help="--compare-fast: append each finished run to this JSON-lines file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    values, source = objective_values()
    result: dict[str, object] = {"machine": machine(), "objective": source, "load_before": load_average()}
    print(json.dumps(result["machine"]), f"load average {result['load_before']}", sep="\n")
    if args.compare_fast:
        result["compare_fast"] = compare_fast(values, args.compare_fast, args.budget, args.jobs, args.log,
                                              device=args.device, lockstep_runs=args.lockstep_runs)
    else:
        epochs = (4, 20) if args.quick else (10, 100)
        result["throughput"] = speed = throughput(args.n, *epochs, repeats=args.repeats)
        if not args.skip_run:
            budget, run_epochs = (100, 100) if args.quick else (args.budget, 500)
            result["full_run"] = run = full_run(values, budget, run_epochs, seed=args.seed, threads=args.threads)
            run["baseline_extrapolated_s"] = run["model_steps"] * speed["baseline"]["us_per_model_step"] * 1e-6
            run["speedup_vs_baseline"] = run["baseline_extrapolated_s"] / run["wall_s"]
    result["load_after"] = load_average()
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2, default=float))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2, default=float)


if __name__ == "__main__":
    main()
