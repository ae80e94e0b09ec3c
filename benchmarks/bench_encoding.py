"""What the path encoding buys: BANANAS's predictor and search with path vs one-hot features.

Command (documented in docs/benchmarks.md)::

    python benchmarks/bench_encoding.py --jobs 2 --log encoding.jsonl --json encoding.json

Both parts on the synthetic stand-in's VAL_PGD_ACC, path encoding against the reference's one-hot:

1. *Predictor quality.* For each seed (``--predictor-seeds``, 20) one uniform permutation of the
   15,625 architectures gives ``--test-size`` (1,000) test archs and, from the rest, a training set
   of each size in ``--sizes`` (10, 50, 100, 200, 490; the first ``n`` of the remaining
   permutation, so the sets of one seed are nested and every one is a uniform draw without
   replacement, disjoint from the test archs). The predictor is exactly the one BANANAS builds
   (:meth:`Bananas.make_predictor` at its defaults: 5 MLPs of 20x32, 500 epochs, batch 32, Adam 1e-3,
   L1 0.2, target ``100 - VAL_PGD_ACC``), with the same training set and the same weight seed for
   both encodings (paired). Scored: Kendall's tau-b and Spearman's rho between the predicted and the
   true VAL_PGD_ACC of the test archs. Reported per size and encoding: mean with a 95 % t-interval
   over the seeds, and the paired path - one-hot difference (paired t 95 % CI, Wilcoxon p).
2. *Search.* BANANAS at :meth:`Bananas.fast` (``--bananas-seeds``, 32 seeds, budget 500) with
   ``encoding="path"`` and ``encoding="onehot"`` through the harness (``--jobs`` processes, lockstep
   groups; :func:`bench_bananas.run_presets`): best VAL_PGD_ACC, the path - one-hot difference with a
   Welch 95 % CI, a paired-by-seed 95 % CI (the same seed draws the same initial archs), and the
   Mann-Whitney U p.

With ``--log`` every finished result (a predictor chunk of seeds, a BANANAS run) is appended to a
JSON-lines file and skipped on a restart; the file's first line pins the settings, and a log
written with other settings is refused. ``--bananas-epochs`` and ``--epochs`` override the
fit epochs (smoke tests only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from bench_bananas import _read_log, load_average, machine, objective_values, run_presets, two_sample

from nares_nas.searchers._bananas import Bananas
from nares_nas.space import N_ARCHS

ENCODINGS = ("path", "onehot")


# --------------------------------------------------------------------------- part 1: the predictor
def draws(seed: int, size: int, test_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(training arch_ids, test arch_ids) of ``seed``: disjoint uniform draws without replacement."""
    perm = np.random.default_rng(seed).permutation(np.arange(1, N_ARCHS + 1))
    return perm[test_size:test_size + size], perm[:test_size]


def predictor_chunk(values: np.ndarray, encoding: str, size: int, seeds: list[int], test_size: int,
                    epochs: int) -> list[dict[str, object]]:
    """Fit the BANANAS predictor of every seed (one stacked program) and score it on its test archs."""
    from scipy.stats import kendalltau, spearmanr

    from nares_nas.surrogate import encoding_table, fit_together

    table = encoding_table(encoding)
    searcher = Bananas(encoding=encoding, epochs=epochs)
    sets = [draws(seed, size, test_size) for seed in seeds]
    models = [searcher.make_predictor(np.random.default_rng([seed, size])) for seed in seeds]
    start = time.perf_counter()
    fit_together(models, [table[train] for train, _ in sets], [100.0 - values[train] for train, _ in sets])
    fit_s = time.perf_counter() - start
    out = []
    for seed, model, (_, test) in zip(seeds, models, sets):
        predicted = 100.0 - model.predict(table[test])
        out.append({"part": "predictor", "encoding": encoding, "size": size, "seed": seed,
                    "tau": float(kendalltau(predicted, values[test]).statistic),
                    "rho": float(spearmanr(predicted, values[test]).statistic),
                    "fit_s": fit_s / len(seeds)})
    return out


def run_predictor(values: np.ndarray, seeds: int, sizes: list[int], test_size: int, epochs: int, jobs: int,
                  log_path: str | None, chunk: int) -> dict[tuple[str, int, int], dict[str, object]]:
    """Every (encoding, size, seed) score, from the log or computed (largest fits first, ``jobs`` processes)."""
    from joblib import Parallel, delayed

    done = {(r["encoding"], r["size"], r["seed"]): r for r in _read_log(log_path) if r.get("part") == "predictor"}
    tasks = []
    for size in sorted(sizes, reverse=True):
        for encoding in ENCODINGS:
            todo = [s for s in range(seeds) if (encoding, size, s) not in done]
            tasks += [(encoding, size, todo[i:i + chunk]) for i in range(0, len(todo), chunk)]
    start = time.perf_counter()
    parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
    for records in parallel(delayed(predictor_chunk)(values, enc, size, chunk_seeds, test_size, epochs)
                            for enc, size, chunk_seeds in tasks):
        for r in records:
            done[(r["encoding"], r["size"], r["seed"])] = r
        if log_path:
            with open(log_path, "a") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in records)
        r = records[0]
        print(f"predictor {r['encoding']} n={r['size']}: {len(records)} seeds "
              f"({time.perf_counter() - start:.0f} s elapsed)", flush=True)
    return done


def mean_ci(x: np.ndarray) -> dict[str, object]:
    from scipy.stats import ttest_1samp

    return {"mean": x.mean(), "std": x.std(ddof=1), "ci95": list(ttest_1samp(x, 0.0).confidence_interval(0.95))}


def paired(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """mean(a - b) with a paired t 95 % CI and the Wilcoxon signed-rank p."""
    from scipy.stats import ttest_rel, wilcoxon

    return {"difference": (a - b).mean(), "ci95": list(ttest_rel(a, b).confidence_interval(0.95)),
            "wilcoxon_p": wilcoxon(a, b).pvalue, "a_better": int((a > b).sum()), "n": len(a)}


def summarise_predictor(done: dict, seeds: int, sizes: list[int]) -> dict[str, object]:
    out: dict[str, object] = {}
    for size in sizes:
        row: dict[str, object] = {}
        for metric in ("tau", "rho"):
            by = {enc: np.array([done[(enc, size, s)][metric] for s in range(seeds)]) for enc in ENCODINGS}
            row[metric] = {**{enc: mean_ci(by[enc]) for enc in ENCODINGS},
                           "path_minus_onehot": paired(by["path"], by["onehot"])}
        row["fit_s_per_seed"] = {enc: float(np.mean([done[(enc, size, s)]["fit_s"] for s in range(seeds)]))
                                 for enc in ENCODINGS}
        out[str(size)] = row
    return out


# --------------------------------------------------------------------------- part 2: the search
def run_bananas(values: np.ndarray, seeds: int, budget: int, jobs: int, log_path: str | None,
                **overrides: object) -> dict[str, object]:
    from scipy.stats import ttest_rel

    presets = {enc: Bananas.fast(encoding=enc, **overrides) for enc in ENCODINGS}
    timing: dict[str, dict[str, float]] = {}
    stage = 2 * presets["path"].lockstep_runs  # both encodings a stage at a time: a cut run stays paired
    for upto in [*range(stage, seeds, stage), seeds]:
        found, more = run_presets(values, presets, upto, budget, jobs, log_path)
        for name, t in more.items():
            total = timing.setdefault(name, {"runs": 0, "wall_s": 0.0})
            total["runs"] += t["runs"]
            total["wall_s"] += t["wall_s"]
            total["wall_s_per_run"] = total["wall_s"] / total["runs"]
    path = np.array([found["path"][s] for s in range(seeds)])
    onehot = np.array([found["onehot"][s] for s in range(seeds)])
    return {"seeds": seeds, "budget": budget, "epochs": presets["path"].epochs, "timing": timing,
            "path": mean_ci(path), "onehot": mean_ci(onehot),
            "path_minus_onehot": {**two_sample(path, onehot),
                                  "difference_95ci_paired": list(ttest_rel(path, onehot).confidence_interval(0.95)),
                                  "path_better": int((path > onehot).sum()), "ties": int((path == onehot).sum())},
            "path_best": path.tolist(), "onehot_best": onehot.tolist()}


# --------------------------------------------------------------------------- the report
def fmt(stats: dict[str, object], digits: int = 3) -> str:
    lo, hi = stats["ci95"]
    return f"{stats['mean']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def report(result: dict[str, object]) -> str:
    lines = []
    if "predictor" in result:
        lines += ["| n train | tau path | tau one-hot | tau path - one-hot | rho path | rho one-hot "
                  "| rho path - one-hot |", "|---|---|---|---|---|---|---|"]
        for size, row in result["predictor"].items():
            cells = [size]
            for metric in ("tau", "rho"):
                d = row[metric]["path_minus_onehot"]
                cells += [fmt(row[metric]["path"]), fmt(row[metric]["onehot"]),
                          f"{d['difference']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] "
                          f"(Wilcoxon p {d['wilcoxon_p']:.2g}, path higher {d['a_better']}/{d['n']})"]
            lines.append("| " + " | ".join(cells) + " |")
    if "bananas" in result:
        b = result["bananas"]
        d = b["path_minus_onehot"]
        lines += ["", f"BANANAS fast preset (epochs={b['epochs']}), {b['seeds']} seeds, budget {b['budget']}:",
                  f"  path   {fmt(b['path'])} (std {b['path']['std']:.3f})",
                  f"  onehot {fmt(b['onehot'])} (std {b['onehot']['std']:.3f})",
                  f"  path - onehot {d['difference']:+.3f}, Welch 95% CI [{d['difference_95ci_welch'][0]:+.3f}, "
                  f"{d['difference_95ci_welch'][1]:+.3f}], paired [{d['difference_95ci_paired'][0]:+.3f}, "
                  f"{d['difference_95ci_paired'][1]:+.3f}], Mann-Whitney p {d['mannwhitney_p']:.3g}, "
                  f"path better in {d['path_better']}/{b['seeds']} seeds ({d['ties']} ties)"]
    return "\n".join(lines)


def check_log(log_path: str | None, config: dict[str, object]) -> None:
    """Pin ``config`` as the log's first line; refuse a log written with other settings."""
    if not log_path:
        return
    logged = _read_log(log_path)
    if not logged:
        with open(log_path, "a") as fh:
            fh.write(json.dumps({"part": "config", **config}) + "\n")
    elif logged[0] != {"part": "config", **config}:
        raise SystemExit(f"{log_path} was written with other settings: {logged[0]} (now {config})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--predictor-seeds", type=int, default=20)
    parser.add_argument("--sizes", default="10,50,100,200,490", help="training-set sizes (comma-separated)")
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=Bananas().epochs, help="predictor fit epochs (default 500)")
    parser.add_argument("--chunk", type=int, default=10, help="predictor seeds fitted as one stack (default 10)")
    parser.add_argument("--bananas-seeds", type=int, default=32)
    parser.add_argument("--bananas-epochs", type=int, help="override the fast preset's epochs (smoke tests)")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--skip-predictor", action="store_true")
    parser.add_argument("--skip-bananas", action="store_true")
    parser.add_argument("--log", help="append each finished result to this JSON-lines file; reuse it on restart")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    values, source = objective_values()
    overrides = {} if args.bananas_epochs is None else {"epochs": args.bananas_epochs}
    check_log(args.log, {"predictor_seeds": args.predictor_seeds, "test_size": args.test_size,
                         "epochs": args.epochs, "bananas_epochs": Bananas.fast(**overrides).epochs,
                         "budget": args.budget, "objective": source})
    result: dict[str, object] = {"machine": machine(), "objective": source, "load_before": load_average(),
                                 "command": "python " + " ".join(sys.argv)}
    print(json.dumps(result["machine"]), f"load average {result['load_before']}", sep="\n", flush=True)
    start = time.perf_counter()
    if not args.skip_predictor:
        done = run_predictor(values, args.predictor_seeds, sizes, args.test_size, args.epochs, args.jobs,
                             args.log, args.chunk)
        result["predictor"] = summarise_predictor(done, args.predictor_seeds, sizes)
        result["predictor_wall_s"] = time.perf_counter() - start
        print(report({"predictor": result["predictor"]}), flush=True)
    if not args.skip_bananas:
        start = time.perf_counter()
        result["bananas"] = run_bananas(values, args.bananas_seeds, args.budget, args.jobs, args.log, **overrides)
        result["bananas_wall_s"] = time.perf_counter() - start
    result["load_after"] = load_average()
    print(report(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2, default=float)


if __name__ == "__main__":
    main()
