"""Attack benchmark: evaluation images per second for FGSM, PGD-20, CW-40 and AA-Compact.

Commands (figures go to /work/notes/live_attack_bench.md and docs/benchmarks.md):

    python benchmarks/bench_attacks.py [--threads 1] [--points 300] [--json out.json]
    python benchmarks/bench_attacks.py --gpu [--points 1000] [--json out.json]

CPU mode, on two models: ``mlp`` = a 192-64-10 MLP PGD-trained on sklearn digits (3×8×8, about 60 %
robust at ε = 32/255, so AA-Compact does its real amount of work); ``wrn`` = the NARes network
[4,8,4,8,4,8] at base width 2 on 3×16×16 inputs, untrained, with labels set to its own predictions so
every point is attacked. AA-Compact is timed against pyautoattack 0.2.0 (if installed) on the same
points with the same seed, and their robust flags are compared.

``--gpu`` mode: PGD-trains [4,8,4,8,4,8] at base width 4 on digits upsampled to 32×32, then runs
PGD-20, CW-40 and AA-Compact in bf16 autocast and in fp32 and reports both accuracies, the share of
points whose AA-Compact verdict agrees, and the speed; then measures PGD-20 throughput of WRN-34-10
([5,10,5,10,5,10], random weights, labels = predictions) in bf16 and fp32. ``--device cpu --quick``
runs the same code path on the CPU as a smoke test.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import platform
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nares_nas.live.attacks import aa_compact_robust, evaluate_attack, fgsm, logits_of, pgd
from nares_nas.live.autoattack_ref import agreement, official_aa_compact_robust
from nares_nas.live.data import load_digits_sets, to_float
from nares_nas.live.model import build_model
from nares_nas.space import Arch

EPS = 32 / 255  # digits models; the NARes ε of 8/255 leaves an 8×8 digit too easy to defend
STEP = EPS / 10


def train_pgd_at(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
                 generator: torch.Generator, amp: bool = True) -> nn.Module:
    """PGD-2 adversarial training (uniform start, step 0.75ε) with SGD; enough for a robust toy."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    attack = functools.partial(pgd, eps=EPS, step=0.75 * EPS, steps=2, generator=generator, amp=amp)
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator).to(y.device)
        for idx in order.split(64):
            x_adv = attack(model, x[idx], y[idx])
            model.train()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(logits_of(model, x_adv, amp), y[idx]).backward()
            opt.step()
    return model.eval()


def digits_tensors(resolution: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    train, _, test = load_digits_sets(resolution, seed=0)
    return (to_float(train.images).to(device), train.labels.to(device),
            to_float(test.images).to(device), test.labels.to(device))


def mlp_model(generator: torch.Generator) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    x, y, xt, yt = digits_tensors(8, torch.device("cpu"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 64), nn.ReLU(), nn.Linear(64, 10))
    return train_pgd_at(model, x, y, epochs=10, lr=0.1, generator=generator), xt, yt


def own_labels(model: nn.Module, x: torch.Tensor, amp: bool = True) -> torch.Tensor:
    with torch.no_grad():
        return logits_of(model.eval(), x, amp).argmax(1)


def timed(fn: Callable[[], object], device: torch.device) -> tuple[object, float]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def attack_table(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                 amp: bool = True) -> dict[str, dict[str, float]]:
    """Accuracy and images/s of each attack on (x, y)."""
    device, rows = x.device, {}
    common = dict(eps=EPS, step=STEP, amp=amp)
    attacks = {
        "FGSM": functools.partial(fgsm, eps=EPS, amp=amp),
        "PGD-20": functools.partial(pgd, steps=20, generator=torch.Generator().manual_seed(1), **common),
        "CW-40": functools.partial(pgd, steps=40, loss="cw", generator=torch.Generator().manual_seed(2),
                                   **common),
    }
    for name, attack in attacks.items():
        result, seconds = timed(functools.partial(evaluate_attack, model, x, y, attack, batch_size, amp=amp),
                                device)
        rows[name] = {"acc": result.acc, "seconds": seconds, "images_per_s": len(y) / seconds}
    robust, seconds = timed(functools.partial(aa_compact_robust, model, x, y, eps=EPS, seed=0,
                                              batch_size=batch_size, amp=amp), device)
    rows["AA-Compact"] = {"acc": 100 * robust.float().mean().item(), "seconds": seconds,
                          "images_per_s": len(y) / seconds, "robust": robust}
    return rows


def pyautoattack_row(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                     native: torch.Tensor) -> dict[str, float] | None:
    try:
        import pyautoattack  # noqa: F401 - only whether it is installed
    except ImportError:
        return None
    robust, seconds = timed(functools.partial(official_aa_compact_robust, model, x, y, eps=EPS, seed=0,
                                              batch_size=batch_size), x.device)
    return {"acc": 100 * robust.float().mean().item(), "seconds": seconds, "images_per_s": len(y) / seconds,
            "agreement": 100 * agreement(robust, native)}


def print_rows(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title}\n| attack | acc % | seconds | images/s | agreement with native AA % |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        agree = f"{r['agreement']:.2f}" if "agreement" in r else ""
        print(f"| {name} | {r['acc']:.2f} | {r['seconds']:.2f} | {r['images_per_s']:.1f} | {agree} |")


def cpu_mode(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    out = {}
    model, x, y = mlp_model(g)
    x, y = x[: args.points], y[: args.points]
    models = {"mlp": (model, x, y)}
    wrn = build_model(Arch(4, 8, 4, 8, 4, 8), base_channels=2, generator=torch.Generator().manual_seed(0))
    wrn.eval()
    xw = x.repeat_interleave(2, 2).repeat_interleave(2, 3)  # 16×16
    models["wrn"] = (wrn, xw, own_labels(wrn, xw))
    for name, (m, xs, ys) in models.items():
        rows = attack_table(m, xs, ys, args.batch_size)
        ref = pyautoattack_row(m, xs, ys, args.batch_size, rows["AA-Compact"].pop("robust"))
        if ref is not None:
            rows["pyautoattack AA-Compact"] = ref
        print_rows(f"{name}: {len(ys)} points, batch {args.batch_size}, {args.threads} threads", rows)
        out[name] = rows
    return out


def gpu_mode(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    g = torch.Generator().manual_seed(0)
    x, y, xt, yt = digits_tensors(32, device)
    model = build_model(Arch(4, 8, 4, 8, 4, 8), base_channels=1 if args.quick else 4,
                        generator=torch.Generator().manual_seed(0), device=device)
    model = train_pgd_at(model, x[: 200 if args.quick else None], y[: 200 if args.quick else None],
                         epochs=1 if args.quick else 15, lr=0.05, generator=g)
    xt, yt = xt[: args.points], yt[: args.points]
    out: dict = {}
    for amp in (True, False):
        rows = attack_table(model, xt, yt, args.batch_size, amp=amp)
        out["bf16" if amp else "fp32"] = rows
    same = out["bf16"]["AA-Compact"].pop("robust") == out["fp32"]["AA-Compact"].pop("robust")
    agree = same.float().mean()
    out["aa_agreement_bf16_fp32"] = 100 * agree.item()
    for key in ("bf16", "fp32"):
        print_rows(f"digits WRN [4,8,4,8,4,8]: {len(yt)} points, {key}", out[key])
    print(f"\nAA-Compact verdicts equal in bf16 and fp32 for {out['aa_agreement_bf16_fp32']:.2f}% of points")

    arch = Arch(4, 8, 4, 8, 4, 8) if args.quick else Arch(5, 10, 5, 10, 5, 10)
    wrn = build_model(arch, base_channels=1 if args.quick else 16, generator=torch.Generator().manual_seed(0),
                      device=device).eval()
    wrn = wrn.to(memory_format=torch.channels_last)
    n = 8 if args.quick else 1000
    xw = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(0)).to(device)
    out["throughput"] = {}
    for amp in (True, False):
        yw = own_labels(wrn, xw, amp)
        for bs in (100, 500):
            attack = functools.partial(pgd, eps=8 / 255, step=0.8 / 255, steps=20,
                                       generator=torch.Generator().manual_seed(0), amp=amp)
            evaluate_attack(wrn, xw[:bs], yw[:bs], attack, bs, amp=amp)  # warm-up (cuDNN autotuning)
            _, seconds = timed(functools.partial(evaluate_attack, wrn, xw, yw, attack, bs, amp=amp), device)
            key = f"{arch} PGD-20 {'bf16' if amp else 'fp32'} batch {bs}"
            out["throughput"][key] = n / seconds
            print(f"{key}: {n / seconds:.1f} images/s")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="bf16-vs-fp32 and WRN-34-10 throughput mode")
    parser.add_argument("--device", default="cuda", help="device of --gpu mode (cpu for a smoke test)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test of --gpu mode)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    figures = gpu_mode(args) if args.gpu else cpu_mode(args)
    meta = {"date": datetime.date.today().isoformat(), "command": " ".join(sys.argv),
            "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                       f"torch {torch.__version__}",
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    print(f"\n{meta}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "figures": figures}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
