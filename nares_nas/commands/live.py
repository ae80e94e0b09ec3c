"""``nares-nas train``, ``nares-nas evaluate`` and ``nares-nas cache``: live mode from the shell."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from nares_nas._optional import require
from nares_nas._validation import check_input_file
from nares_nas.commands.common import POSITIVE_INT, SEED, int_type, out_dir, out_file
from nares_nas.errors import ConfigError, UnknownArchError
from nares_nas.live import pipeline
from nares_nas.live.cache import RecordCache
from nares_nas.live.pipeline import DEFAULT_THREADS, RECORD_FILE, read_record
from nares_nas.live.profiles import PROFILES, load_profile, resolve_profile
from nares_nas.metrics import CORRUPTIONS, METRICS, SEVERITIES
from nares_nas.space import to_arch


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train and evaluate one architecture (live mode)",
        description="Train ARCH under a training profile, evaluate its best checkpoint and write "
                    "DIR/record.json (one cifar10.jsonl record plus the profile) and DIR/checkpoints/; the "
                    "record is also stored in the live cache (`nares-nas cache show` prints it).",
    )
    train.add_argument("arch", help='decision vector "5,10,5,10,5,10" (or an arch_id)')
    _profile_option(train, default="nares")
    train.add_argument("--out", required=True, type=out_dir, metavar="DIR", help="folder for checkpoints and record")
    train.add_argument("--seed", type=SEED, default=0, help="training seed (default 0)")
    _data_dir_option(train)
    _device_option(train)
    train.add_argument("--compile", action="store_true", help="torch.compile the model")
    _threads_option(train)
    train.add_argument("--quiet", action="store_true", help="no progress output: print only the result")
    cached = train.add_mutually_exclusive_group()
    cached.add_argument("--cache", type=out_file, metavar="PATH", default=None,
                        help="the live cache that also stores the record (default: <data home>/live_cache.sqlite)")
    cached.add_argument("--no-cache", action="store_true", help="keep the record in DIR only")
    train.set_defaults(func=cmd_train)

    evaluate = subparsers.add_parser(
        "evaluate", help="attack one checkpoint on the test set",
        description="Evaluate a checkpoint (clean, FGSM, PGD, CW, AA-Compact, corruptions) and print "
                    "its test_best values (--json: under the record's keys and under the metric names, "
                    "TEST_PGD_ACC ...). Without --profile, the profile the checkpoint records is "
                    "used (ours do), else the one in the run's record.json, else nares.",
    )
    evaluate.add_argument("checkpoint", type=Path, help="a .pth checkpoint written by `nares-nas train`")
    _profile_option(evaluate, default=None)
    evaluate.add_argument("--arch", default=None,
                          help="architecture, for checkpoints that do not name theirs (the reference's)")
    _data_dir_option(evaluate)
    _device_option(evaluate, "evaluate")
    evaluate.add_argument("--seed", type=SEED, default=0, help="attack seed (default 0)")
    evaluate.add_argument("--json", action="store_true",
                          help='print one JSON object: {"test_best": {record keys}, "metrics": {TEST_... names}}')
    _threads_option(evaluate)
    evaluate.add_argument("--quiet", action="store_true", help="no progress output")
    evaluate.set_defaults(func=cmd_evaluate)

    cache = subparsers.add_parser(
        "cache", help="list, show or remove live-trained records",
        description="The live cache holds one record per key: ARCH, profile, seed and epochs trained (a "
                    "full training: the profile's epochs). --profile takes a registered name, a JSON "
                    "file of profile fields, or the profile key that `cache ls` prints.",
    )
    actions = cache.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("ls", help="one line per cached record")
    ls.add_argument("--profile", default=None, metavar="NAME|FILE|KEY", help="only this profile's records")
    _cache_option(ls)
    ls.set_defaults(func=cmd_cache_ls)
    show = actions.add_parser("show", help="print one cached record as JSON")
    _key_arguments(show, required=False)
    show.set_defaults(func=cmd_cache_show)
    rm = actions.add_parser("rm", help="remove one cached record on purpose",
                            description="Remove the record of ARCH --profile P --seed S [--epochs E] from the "
                                        "cache (records are never overwritten: remove one to store another).")
    _key_arguments(rm, required=True)
    rm.set_defaults(func=cmd_cache_rm)


def _key_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """ARCH --profile --seed --epochs --cache: one record's key (``required``: --profile and --seed too)."""
    parser.add_argument("arch", help='decision vector "5,10,5,10,5,10" (or an arch_id)')
    parser.add_argument("--profile", default=None if required else "nares", required=required,
                        metavar="NAME|FILE|KEY",
                        help="training profile: a registered name, a JSON file of profile fields, or the "
                             f"profile key `cache ls` prints{'' if required else ' (default: nares)'}")
    if required:
        parser.add_argument("--seed", type=SEED, required=True, help="training seed")
    else:
        parser.add_argument("--seed", type=SEED, default=None, help="training seed (default: the lowest cached)")
    parser.add_argument("--epochs", type=POSITIVE_INT, default=None,
                        help="epochs trained (default: the profile's, a full training)")
    _cache_option(parser)


def _profile_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    shown = default or "the run's own"
    parser.add_argument("--profile", default=default, metavar="NAME|FILE",
                        help=f"training profile: a registered name (nares, digits) or a JSON file of "
                             f"profile fields, e.g. a record.json (default: {shown})")


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="folder with CIFAR-10, CIFAR-10.1 and CIFAR-10-C (not needed for digits)")


def _device_option(parser: argparse.ArgumentParser, verb: str = "train") -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help=f"where to {verb} (default: cuda if available)")


def _threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int_type(0), default=DEFAULT_THREADS, metavar="N",
                        help=f"torch CPU threads (default {DEFAULT_THREADS}: CPU results depend on the count; "
                             f"0 = torch's default, one per core)")


def _cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", type=out_file, default=None, metavar="PATH",
                        help="live cache file (default: <data home>/live_cache.sqlite)")


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}%"


def summary_lines(record: dict[str, Any], wall_s: float | None = None) -> list[str]:
    """A short readable summary of one live record."""
    train, test = record["train"][0], record["test_best"][0]
    profile = record.get("profile", {})
    arch = ",".join(str(v) for v in record["arch"].values())
    best = train["best_epoch"]
    epochs = len(train["cw"])
    pgd, cw = profile.get("test_pgd_steps", 20), profile.get("test_cw_steps", 40)
    lines = [
        f"arch {arch} (arch_id {record['arch_id']})  profile {profile.get('name', '?')}  "
        f"seed {train['seed']}  device {train['gpu_type']}",
        f"best epoch {best} of {epochs}: val clean {_pct(train['val_acc'][best])}  "
        f"val PGD {_pct(train['pgd'][best])}  val CW {_pct(train['cw'][best])}",
        f"test: clean {_pct(test.get('test_clean_acc'))}  FGSM {_pct(test.get('Linf_fgsm_acc'))}  "
        f"PGD-{pgd} {_pct(test.get('Linf_pgd_acc'))}  CW-{cw} {_pct(test.get('Linf_cw_acc'))}  "
        f"AA-Compact {_pct(test.get('Linf_aa_acc'))}",
    ]
    model = record.get("model")
    if model is not None:
        lines.append(f"model as trained: {model['params'] / 1e6:.4g} M parameters, {model['macs'] / 1e6:.4g} M MACs "
                     f"per image (the record's Params {record['Params']} M and MACs {record['MACs']} M are the "
                     "arch's NARes-space counts)")
    days = train["training_time"]
    unit = "CPU" if train["gpu_type"] == "cpu" else "GPU"
    timing = f"training time {days * 86400:.1f} s ({days:.4g} {unit}-days)"
    if wall_s is not None:
        timing = f"wall time {wall_s:.1f} s, {timing}"
    lines.append(timing)
    return lines


def cmd_train(args: argparse.Namespace) -> int:
    arch = to_arch(args.arch)
    profile = load_profile(args.profile)
    start = time.perf_counter()
    record = pipeline.train_and_evaluate(arch, profile, seed=args.seed, data_dir=args.data_dir, out_dir=args.out,
                                device=args.device, progress=not args.quiet, compile=args.compile,
                                num_threads=args.threads or None)
    wall = time.perf_counter() - start
    for line in summary_lines(record, wall):
        print(line)
    print(f"record: {args.out / RECORD_FILE}")
    if not args.no_cache:  # after the result: a cache holding another record for this key refuses it
        cache = RecordCache(args.cache)
        cache.put(record, profile, args.seed)
        print(f"cached in {cache.path}")
    return 0


def _profile_for_checkpoint(checkpoint: Path, name: str | None) -> Any:
    """``--profile`` if given, else the checkpoint's own, else the one in the run's record.json, else nares."""
    from nares_nas.live.evaluator import checkpoint_profile
    if name is not None:
        return load_profile(name)
    own = checkpoint_profile(checkpoint)
    if own is not None:
        return own
    for folder in (checkpoint.parent, checkpoint.parent.parent):
        path = folder / RECORD_FILE
        if path.exists() and "profile" in (record := read_record(path)):
            return resolve_profile(record["profile"])
    print("notice: no record.json beside the checkpoint; evaluating with profile nares", file=sys.stderr)
    return resolve_profile("nares")


def test_metrics(test: dict[str, Any]) -> dict[str, float | None]:
    """``test_best`` values under the metric names the rest of nares-nas uses (``TEST_PGD_ACC`` ...)."""
    metrics = {spec.name: test.get(spec.column) for spec in METRICS.values() if spec.kind == "test"}
    corruptions = test.get("corruptions")  # TEST_CORRUPT_ACC: the mean over 19 corruptions x 5 severities
    metrics["TEST_CORRUPT_ACC"] = None if not corruptions else sum(
        corruptions[name][str(level)]["acc"] for name in CORRUPTIONS for level in SEVERITIES
    ) / (len(CORRUPTIONS) * len(SEVERITIES))
    return metrics


def cmd_evaluate(args: argparse.Namespace) -> int:
    require("torch", pipeline.LIVE_MODE)
    from nares_nas.live import data, evaluator

    check_input_file(args.checkpoint, "checkpoint file")
    profile = _profile_for_checkpoint(args.checkpoint, args.profile)
    bundle = data.datasets_for(profile, args.data_dir)
    arch = None if args.arch is None else to_arch(args.arch)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    test = evaluator.evaluate_checkpoint(args.checkpoint, profile, bundle, arch=arch, seed=args.seed,
                                         device=args.device, progress=not args.quiet)
    if args.json:
        print(json.dumps({"test_best": test, "metrics": test_metrics(test)}))
        return 0
    print(f"checkpoint {args.checkpoint}  profile {profile.name} ({profile.key})")
    for key, value in test.items():
        if key != "corruptions":
            print(f"  {key:<18} {'-' if value is None else f'{value:.4f}'}")
    if test.get("corruptions"):
        print(f"  corruptions        {len(test['corruptions'])} kinds x 5 severities (use --json)")
    return 0


def _cache_profile(cache: Any, text: str) -> Any:
    """``--profile`` of a cache command: a name or JSON file (:func:`load_profile`), or a profile key."""

    if text not in PROFILES and re.fullmatch(r"[0-9a-f]{12}", text):
        profile = cache.profile(text)
        if profile is None:
            raise ConfigError(f"{cache.path} holds no records of profile key {text!r}; "
                              "`nares-nas cache ls` lists the keys")
        return profile
    return load_profile(text)


def _key_text(arch: Any, profile: Any, seed: int | None, epochs: int) -> str:
    seed_text = "" if seed is None else f" seed {seed}"
    return f"arch_id {arch.arch_id} [{arch}] profile {profile.name} ({profile.key}){seed_text} epochs {epochs}"


def cmd_cache_ls(args: argparse.Namespace) -> int:
    cache = RecordCache(args.cache)
    profile = _cache_profile(cache, args.profile) if args.profile else None
    entries = cache.entries(profile)
    print(f"cache {cache.path}: {len(entries)} records")
    for entry in entries:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry["created"]))
        arch = to_arch(entry["arch_id"])
        print(f"  arch_id {entry['arch_id']:>5}  [{arch}]  seed {entry['seed']}  epochs {entry['epochs']}  "
              f"profile {entry['profile']} ({entry['profile_key']})  device {entry['device']}  {created}")
    return 0


def cmd_cache_show(args: argparse.Namespace) -> int:
    cache = RecordCache(args.cache)
    profile = _cache_profile(cache, args.profile)
    arch = to_arch(args.arch)
    record = cache.get(arch.arch_id, profile, args.seed, args.epochs)
    if record is None:
        seed = "" if args.seed is None else f", seed {args.seed}"
        epochs = profile.epochs if args.epochs is None else args.epochs
        raise UnknownArchError(f"{arch} (arch_id {arch.arch_id})",
                               f"{cache.path} (profile {profile.name}{seed}, epochs {epochs})",
                               f"train it: nares-nas train {arch} --profile {profile.name} --cache {cache.path}")
    print(json.dumps(record))
    return 0


def cmd_cache_rm(args: argparse.Namespace) -> int:
    cache = RecordCache(args.cache)
    profile = _cache_profile(cache, args.profile)
    arch = to_arch(args.arch)
    epochs = profile.epochs if args.epochs is None else args.epochs
    key = _key_text(arch, profile, args.seed, epochs)
    if not cache.remove(arch.arch_id, profile, args.seed, args.epochs):
        raise UnknownArchError(key, str(cache.path), "`nares-nas cache ls` lists what it holds")
    print(f"removed {key} from {cache.path}")
    return 0
