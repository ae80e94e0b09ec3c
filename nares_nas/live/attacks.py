"""L∞ attacks of NARes evaluation and validation (spec §2.7, §3.3–3.8), and their metrics.

All images are floats in [0, 1] (uint8 batches are scaled by 1/255 on the way in). While an attack is
crafted the model is in eval mode with its parameters frozen (gradients are taken w.r.t. the input
only); both are restored afterwards. On CUDA the forward runs under bf16 autocast and every loss is
computed on fp32 logits; on CPU everything is fp32. Randomness comes only from the
``torch.Generator`` passed in (noise is drawn on the generator's device, then moved).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from nares_nas._validation import check_choice, check_int
from nares_nas.errors import ConfigError
from nares_nas.live.apgd import apgd, apgd_targeted
from nares_nas.live.data import to_float
from nares_nas.progress import progress_bar

log = logging.getLogger(__name__)

CW_MASK = 10_000.0


class AttackOutput(NamedTuple):
    """An adversarial batch plus the attack's loss at its last loop iteration (spec §2.7 "Loss Avg")."""

    x_adv: torch.Tensor
    loss: float


Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor], "torch.Tensor | AttackOutput"]


@dataclass(frozen=True)
class AttackResult:
    """Metrics of one attack over a set: accuracies in percent; ``lip`` and ``loss`` None when not
    computed (LIP is skipped for FGSM; ``loss`` needs an attack that reports :class:`AttackOutput`)."""

    clean_acc: float
    acc: float
    stable: float
    lip: float | None
    loss: float | None


@contextmanager
def attack_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and frozen parameters for the duration; the previous state is restored on exit."""
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    was_training = model.training
    model.eval()
    for p in params:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
        model.train(was_training)


def logits_of(model: nn.Module, x: torch.Tensor, amp: bool = True) -> torch.Tensor:
    """fp32 logits; the forward runs under bf16 autocast on CUDA when ``amp``."""
    if amp and x.device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return model(x).float()
    return model(x).float()


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images → float32 in [0, 1] (``ToTensor``'s x/255); float images pass through."""
    return images if images.is_floating_point() else to_float(images)


def cw_loss(logits: torch.Tensor, y: torch.Tensor, kappa: float = 0.0) -> torch.Tensor:
    """Per-sample CW margin loss of EV ``PGD_CWLinf`` (spec §3.5): −max(z_y − max_{j≠y} z'_j + κ, 0).

    ``z'`` is ``(1 − onehot)·z − onehot·10000``: the true logit is replaced by −10000 before the
    non-target max, exactly as the reference computes it. The reference sums this over the batch.
    """
    onehot = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    real = (onehot * logits).sum(1)
    other = ((1.0 - onehot) * logits - onehot * CW_MASK).max(1).values
    return -torch.clamp(real - other + kappa, min=0.0)


def _input_grad(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str, amp: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = logits_of(model, x, amp)
        value = F.cross_entropy(logits, y) if loss == "ce" else cw_loss(logits, y).sum()
        (grad,) = torch.autograd.grad(value, x)
    return grad, value.detach()


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *, amp: bool = True) -> torch.Tensor:
    """torchattacks FGSM: ``clamp01(x + eps·sign(∇ CE))`` from the clean image, no random start."""
    with attack_mode(model):
        x = as_float(x)
        grad, _ = _input_grad(model, x, y, "ce", amp)
        return (x + eps * grad.sign()).clamp(0.0, 1.0).detach()


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    step: float,
    steps: int,
    loss: str = "ce",
    clamp_start: bool = True,
    generator: torch.Generator | None = None,
    return_loss: bool = False,
    amp: bool = True,
) -> torch.Tensor | AttackOutput:
    """PGD with a uniform random start in the ε-ball and sign steps (spec §3.4, §3.5, §2.7).

    ``loss``: "ce" (batch-mean cross-entropy, PGD-20) or "cw" (batch-summed CW margin, CW-40).
    ``clamp_start``: clamp the random start to [0, 1] before the first gradient, as the test-time
    torchattacks PGD does; the training-time validation attack does not (``False``).
    ``return_loss``: also return the loss at the last loop iteration (at the penultimate iterate),
    the value the reference averages into its validation "Loss Avg".
    """
    check_choice(loss, "pgd loss", ("ce", "cw"))
    if generator is None:
        raise ConfigError("pgd needs a torch.Generator for its random start (generator=None given)")
    check_int(steps, "pgd steps")
    with attack_mode(model):
        x = as_float(x)
        noise = torch.empty(x.shape, dtype=x.dtype, device=generator.device)
        x_adv = x + noise.uniform_(-eps, eps, generator=generator).to(x.device)
        if clamp_start:
            x_adv = x_adv.clamp(0.0, 1.0)
        for _ in range(steps):
            grad, value = _input_grad(model, x_adv, y, loss, amp)
            x_adv = x_adv.detach() + step * grad.sign()
            x_adv = (x + (x_adv - x).clamp(-eps, eps)).clamp(0.0, 1.0)
        x_adv = x_adv.detach()
    return AttackOutput(x_adv, value.item()) if return_loss else x_adv


def local_lip(
    clean_logits: torch.Tensor, adv_logits: torch.Tensor, x: torch.Tensor, x_adv: torch.Tensor
) -> torch.Tensor:
    """Per-sample ``‖f(x) − f(x_adv)‖₁ / ‖(x − x_adv) + 1e-6‖∞`` (spec §3.7, 1e-6 added elementwise)."""
    top = (clean_logits - adv_logits).flatten(1).norm(p=1, dim=1)
    bottom = ((x - x_adv).flatten(1) + 1e-6).norm(p=math.inf, dim=1)
    return top / bottom


def _batches(n: int, batch_size: int) -> range:
    return range(0, n, check_int(batch_size, "batch_size"))


def _device_of(model: nn.Module) -> torch.device:
    return next(iter(model.parameters()), torch.empty(0)).device


def evaluate_clean(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, amp: bool = True
) -> tuple[float, float]:
    """(accuracy %, mean CE): per-batch mean CE averaged with batch-size weights (spec §3.2)."""
    device, n = _device_of(model), labels.shape[0]
    correct, loss_sum = 0, 0.0
    with attack_mode(model), torch.no_grad():
        for start in _batches(n, batch_size):
            x = as_float(images[start : start + batch_size].to(device))
            y = labels[start : start + batch_size].to(device)
            logits = logits_of(model, x, amp)
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += F.cross_entropy(logits, y).item() * y.shape[0]
    return 100.0 * correct / n, loss_sum / n


def evaluate_attack(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    attack: Attack,
    batch_size: int,
    lip: bool = True,
    *,
    progress: bool = False,
    desc: str = "attack",
    amp: bool = True,
) -> AttackResult:
    """Clean, adversarial and stable accuracy, LIP and loss of ``attack(model, x, y)`` over a set.

    Stable accuracy = agreement of adversarial and clean predictions (label-free, spec §3.6); LIP is
    the batch mean of :func:`local_lip`, then batch-size weighted; ``loss`` is the unweighted mean over
    batches of the losses the attack reports (spec §2.7).
    """
    device, n = _device_of(model), labels.shape[0]
    clean = adv = stable = 0
    lip_sum, losses = 0.0, []
    with attack_mode(model):
        for start in progress_bar(_batches(n, batch_size), desc=desc, enabled=progress, leave=False, unit="batch"):
            x = as_float(images[start : start + batch_size].to(device))
            y = labels[start : start + batch_size].to(device)
            with torch.no_grad():
                clean_logits = logits_of(model, x, amp)
            out = attack(model, x, y)
            if isinstance(out, AttackOutput):
                out, loss = out
                losses.append(loss)
            with torch.no_grad():
                adv_logits = logits_of(model, out, amp)
                clean_pred, adv_pred = clean_logits.argmax(1), adv_logits.argmax(1)
                clean += int((clean_pred == y).sum())
                adv += int((adv_pred == y).sum())
                stable += int((adv_pred == clean_pred).sum())
                if lip:
                    lip_sum += local_lip(clean_logits, adv_logits, x, out).mean().item() * y.shape[0]
    return AttackResult(
        clean_acc=100.0 * clean / n,
        acc=100.0 * adv / n,
        stable=100.0 * stable / n,
        lip=lip_sum / n if lip else None,
        loss=sum(losses) / len(losses) if losses else None,
    )


def aa_compact_robust(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    n_iter: int = 100,
    n_target_classes: int = 9,
    seed: int = 0,
    batch_size: int = 100,
    progress: bool = False,
    amp: bool = True,
) -> torch.Tensor:
    """Per-point robustness under AA-Compact (APGD-CE then APGD-T, spec §3.8 / Appendix A.1).

    Clean pass over all points; APGD-CE runs on the correctly classified ones in batches, APGD-T on
    those APGD-CE left robust. Every batch of every attack restarts the random stream from ``seed``,
    as AutoAttack's ``perturb`` does. A point counts as fooled only if the returned adversarial point
    is misclassified when evaluated again, as AutoAttack checks it. Returns bool (N,) on the CPU.
    """
    device, n = _device_of(model), labels.shape[0]
    logits_fn = functools.partial(logits_of, model, amp=amp)
    with attack_mode(model):
        with torch.no_grad():
            clean_logits = torch.cat([
                logits_fn(as_float(images[s : s + batch_size].to(device))).cpu()
                for s in _batches(n, batch_size)
            ])
        robust = clean_logits.argmax(1) == labels.cpu()
        for name in ("apgd-ce", "apgd-t"):
            todo = robust.nonzero().flatten()
            for chunk in progress_bar(todo.split(batch_size), desc=f"AA {name}", enabled=progress, leave=False,
                                      unit="batch"):
                x = as_float(images[chunk.to(images.device)].to(device))
                y = labels[chunk.to(labels.device)].to(device)
                generator = torch.Generator().manual_seed(seed)
                if name == "apgd-ce":
                    x_adv, fooled, _ = apgd(logits_fn, x, y, eps=eps, generator=generator, n_iter=n_iter)
                else:
                    x_adv, fooled = apgd_targeted(
                        logits_fn, x, y, clean_logits[chunk].to(device), eps=eps, generator=generator,
                        n_iter=n_iter, n_target_classes=n_target_classes,
                    )
                if fooled.any():
                    with torch.no_grad():
                        wrong = logits_fn(x_adv[fooled]).argmax(1) != y[fooled]
                    robust[chunk[fooled.cpu()][wrong.cpu()]] = False
            log.debug("AA-Compact robust accuracy after %s: %.2f%%", name, 100.0 * robust.float().mean())
    return robust


def aa_compact(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    n_iter: int = 100,
    n_target_classes: int = 9,
    seed: int = 0,
    batch_size: int = 100,
    progress: bool = False,
    amp: bool = True,
) -> float:
    """AA-Compact robust accuracy in percent: robust count / N over all N (initially misclassified
    points count as non-robust)."""
    robust = aa_compact_robust(
        model, images, labels, eps=eps, n_iter=n_iter, n_target_classes=n_target_classes, seed=seed,
        batch_size=batch_size, progress=progress, amp=amp,
    )
    return 100.0 * robust.float().mean().item()
