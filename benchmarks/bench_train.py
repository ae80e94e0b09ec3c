"""Training benchmark: PGD adversarial-training and validation images per second.

Commands (figures go to /work/notes/live_train_bench.md):

    python benchmarks/bench_train.py [--threads 2] [--json out.json]
    python benchmarks/bench_train.py --digits-run [--threads 2] [--json out.json]
    python benchmarks/bench_train.py --gpu [--steps 30] [--val-images 500] [--json out.json]
    python benchmarks/bench_train.py --gpu --device cpu --quick [--no-compile]   # smoke test of the GPU path

CPU mode, random tensors, ``trainer.train_step`` / ``trainer.validate`` (the code a real run uses):
``digits`` = [4,8,4,8,4,8] at the digits profile (base 2, 3×8×8, PGD-3 training, PGD-10 + CW-10
validation); ``nares-b16`` = [4,8,4,8,4,8] at base 16 on 3×32×32 under the NARes profile (PGD-7,
PGD-20 + CW-40), a few small batches only (one NARes step is ~10 TMAC on the CPU).
``--digits-run``: the whole digits protocol for [4,8,4,8,4,8] — train (8 epochs), then evaluate the
best checkpoint on the test split (FGSM, PGD-20, CW-20, AA-Compact) — with times and accuracies.
``--gpu``: WRN-34-10 ([5,10,5,10,5,10]) under the NARes profile on CIFAR-shaped random tensors, batch
128: PGD-7 training step time → epoch time (390 steps), and per-epoch validation time (2,000 images,
PGD-20 + CW-40, from ``--val-images`` images), for eager fp32, bf16 + channels_last, and bf16 +
channels_last + ``torch.compile``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable

import torch

from nares_nas.live import evaluator, trainer
from nares_nas.live.data import datasets_for
from nares_nas.live.model import build_model, count_macs
from nares_nas.live.profiles import DIGITS, NARES, Profile
from nares_nas.space import Arch

SMALL = Arch.parse("4,8,4,8,4,8")
WRN_34_10 = Arch.parse("5,10,5,10,5,10")
STEPS_PER_EPOCH = 390  # 50,000 // 128


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeat: int) -> float:
    """Mean seconds of ``fn`` over ``repeat`` calls (after the caller's warm-up)."""
    sync(device)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeat


def train_rate(arch: Arch, profile: Profile, batch: int, steps: int, device: torch.device, *,
               amp: bool, channels_last: bool, compile: bool, warmup: int = 1) -> dict:
    """Seconds per PGD-AT step and images/s of ``trainer.train_step`` on random tensors."""
    g = torch.Generator().manual_seed(0)
    model = build_model(arch, profile.base_channels, generator=g).to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = trainer.make_optimizer(model, profile)
    forward = trainer.Bf16Logits(torch.compile(model) if compile else model, device.type, amp)
    res = profile.resolution
    x = torch.rand(batch, 3, res, res, generator=g).to(device).contiguous(memory_format=memory_format)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    attack_gen = torch.Generator(device=device).manual_seed(1)

    def step() -> None:
        trainer.train_step(model, forward, optimizer, x, y, profile, attack_gen)

    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    sync(device)
    warm_s = time.perf_counter() - t0
    seconds = timed(step, device, steps)
    macs = count_macs(build_model(arch, profile.base_channels, device="meta"), res)
    work = (2 * profile.train_steps + 3) * macs * batch  # attack step = 2× forward, training step = 3×
    return {"batch": batch, "step_s": seconds, "img_per_s": batch / seconds, "warmup_s": warm_s,
            "eff_gmac_per_s": work / seconds / 1e9}


def val_rate(arch: Arch, profile: Profile, images: int, device: torch.device, *, amp: bool,
             channels_last: bool) -> dict:
    """Seconds and images/s of ``trainer.validate`` (clean + PGD + CW) on random tensors."""
    g = torch.Generator().manual_seed(0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(arch, profile.base_channels, generator=g).to(device).to(memory_format=memory_format)
    res = profile.resolution
    x = torch.rand(images, 3, res, res, generator=g).to(device).contiguous(memory_format=memory_format)
    y = torch.randint(0, 10, (images,), generator=g).to(device)
    attack_gen = torch.Generator(device=device).manual_seed(1)
    batch = min(profile.eval_batch_size, images)
    trainer.validate(model, x[:batch], y[:batch], dataclasses.replace(profile, val_pgd_steps=1, val_cw_steps=1),
                     attack_gen, amp)  # warm-up
    seconds = timed(lambda: trainer.validate(model, x, y, profile, attack_gen, amp), device, 1)
    return {"images": images, "seconds": seconds, "img_per_s": images / seconds}


def cpu_mode(args: argparse.Namespace) -> dict:
    device = torch.device("cpu")
    rows = {
        "digits train": train_rate(SMALL, DIGITS, DIGITS.batch_size, args.steps, device, amp=False,
                                   channels_last=True, compile=False),
        "digits val": val_rate(SMALL, DIGITS, 200, device, amp=False, channels_last=True),
        "nares-b16 train": train_rate(SMALL, NARES, args.nares_batch, 2, device, amp=False, channels_last=True,
                                      compile=False),
        "nares-b16 val": val_rate(SMALL, dataclasses.replace(NARES, eval_batch_size=2), 2, device, amp=False,
                                  channels_last=True),
    }
    for name, row in rows.items():
        print(f"{name:16s} " + "  ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
    return rows


def digits_run(args: argparse.Namespace) -> dict:
    """The whole digits protocol for [4,8,4,8,4,8]: train, then evaluate the best checkpoint."""
    bundle = datasets_for(DIGITS)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = trainer.train(SMALL, DIGITS, bundle, out, seed=args.seed, device="cpu", progress=False)
        t1 = time.perf_counter()
        test = evaluator.evaluate_checkpoint(result.best_checkpoint, DIGITS, bundle, arch=SMALL, seed=args.seed,
                                             device="cpu", progress=False)
        t2 = time.perf_counter()
    best = result.best_epoch
    row = {
        "train_s": t1 - t0, "evaluate_s": t2 - t1, "total_s": t2 - t0, "best_epoch": best,
        "val_clean_acc": result.history["val_acc"][best], "val_pgd_acc": result.history["pgd"][best],
        "val_cw_acc": result.history["cw"][best], "train_acc_last": result.history["train_acc"][-1],
        **test,
    }
    for key, value in row.items():
        print(f"{key:16s} {value}", flush=True)
    return row


def gpu_mode(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    arch, profile, batch = WRN_34_10, NARES, NARES.batch_size
    steps, val_images = args.steps, args.val_images
    if args.quick:  # smoke test of the same code path (e.g. on the CPU)
        arch, profile, batch, steps, val_images = SMALL, dataclasses.replace(NARES, base_channels=1), 8, 1, 8
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    modes = {"fp32 eager": (False, False, False), "bf16 channels_last": (True, True, False),
             "bf16 channels_last compiled": (True, True, True)}
    if args.no_compile:
        del modes["bf16 channels_last compiled"]
    rows = {}
    for name, (amp, channels_last, compile) in modes.items():
        row = train_rate(arch, profile, batch, steps, device, amp=amp, channels_last=channels_last,
                         compile=compile, warmup=3)
        row["epoch_train_s"] = row["step_s"] * STEPS_PER_EPOCH
        if not compile:
            val = val_rate(arch, profile, val_images, device, amp=amp, channels_last=channels_last)
            row["epoch_val_s"] = val["seconds"] * 2000 / val_images
        rows[name] = row
        print(f"{name:28s} " + "  ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="WRN-34-10 epoch-time mode")
    parser.add_argument("--digits-run", action="store_true", help="train + evaluate the digits profile")
    parser.add_argument("--device", default="cuda", help="device of --gpu mode")
    parser.add_argument("--quick", action="store_true", help="--gpu with a tiny model (smoke test)")
    parser.add_argument("--no-compile", action="store_true", help="--gpu without the torch.compile row")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per configuration")
    parser.add_argument("--nares-batch", type=int, default=4, help="batch of the CPU base-16 NARes model")
    parser.add_argument("--val-images", type=int, default=500, help="validation images timed in --gpu mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": platform.processor()
            or platform.machine(), "torch": torch.__version__, "threads": args.threads, "argv": sys.argv[1:]}
    if args.gpu:
        if torch.device(args.device).type == "cuda":
            meta["gpu"] = torch.cuda.get_device_name()
        rows = gpu_mode(args)
    elif args.digits_run:
        rows = digits_run(args)
    else:
        rows = cpu_mode(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
