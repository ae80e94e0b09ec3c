"""APGD under L∞ (Croce & Hein, 2020) as AutoAttack runs it inside AA-Compact (spec Appendix A.2).

The functions here see the model only as ``logits_fn(x) -> fp32 logits``; putting the model in eval
mode, freezing its parameters and choosing the precision is the caller's job (:mod:`.attacks`).

The iteration follows AutoAttack's ``APGDAttack.attack_single_run`` step for step, including its
quirk that the first step-size check compares the first iterate's loss with 0 (it reads an unwritten
row of its loss buffer). One difference that cannot change any result: a point leaves the batch as
soon as it is misclassified (the per-point computations are independent in eval mode, and a fooled
point stays non-robust), so late iterations only pay for the points still robust.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import NamedTuple

import torch
import torch.nn.functional as F

from nares_nas._validation import check_choice, check_int, check_real
from nares_nas.errors import ConfigError

LogitsFn = Callable[[torch.Tensor], torch.Tensor]
LOSSES = ("ce", "dlr-targeted")


class APGDResult(NamedTuple):
    """``x_adv``: the first misclassified iterate of each fooled point, the clean input otherwise;
    ``fooled``: bool per point; ``step``: the step size each point ended with (halvings applied)."""

    x_adv: torch.Tensor
    fooled: torch.Tensor
    step: torch.Tensor


def checkpoints(n_iter: int) -> list[int]:
    """Iteration counts after which the step size is checked: 22, 41, 57, 70, 80, 87, 93, 99 for 100.

    The first interval is ⌊0.22·N⌋; each next one is ⌊0.03·N⌋ shorter, but never below ⌊0.06·N⌋.
    """
    k, k_min, decrease = max(int(0.22 * n_iter), 1), max(int(0.06 * n_iter), 1), max(int(0.03 * n_iter), 1)
    done, out = k, []
    while done <= n_iter:
        out.append(done)
        k = max(k - decrease, k_min)
        done += k
    return out


def halve_mask(
    window: torch.Tensor,
    rho: float,
    loss_best: torch.Tensor,
    best_at_last_check: torch.Tensor,
    halved_at_last_check: torch.Tensor,
) -> torch.Tensor:
    """Which points halve their step (and restart from their best point) at a checkpoint.

    ``window`` is (k + 1, B): the losses of the last k iterations preceded by the loss before them.
    Halve if the loss went up in at most ``rho·k`` of those k steps, or if the step was not halved at
    the previous checkpoint and the best loss has not improved since.
    """
    k = window.shape[0] - 1
    increases = (window[1:] > window[:-1]).sum(0)
    oscillating = increases <= k * rho
    stalled = ~halved_at_last_check & (best_at_last_check >= loss_best)
    return oscillating | stalled


def ce_loss(logits: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor) -> torch.Tensor:
    """Per-point cross-entropy (APGD-CE); ``y_target`` is unused."""
    return F.cross_entropy(logits, y, reduction="none")


def dlr_targeted_loss(logits: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor) -> torch.Tensor:
    """Targeted DLR: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12), π = logits sorted descending."""
    top = logits.topk(4, dim=1).values
    margin = (logits.gather(1, y[:, None]) - logits.gather(1, y_target[:, None])).squeeze(1)
    return -margin / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


_LOSS_FNS = {"ce": ce_loss, "dlr-targeted": dlr_targeted_loss}


@dataclass
class _Active:
    """Per-point state of the points still being attacked (rows leave once fooled)."""

    idx: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    y_target: torch.Tensor
    x_adv: torch.Tensor
    x_old: torch.Tensor
    grad: torch.Tensor
    x_best: torch.Tensor
    grad_best: torch.Tensor
    loss_best: torch.Tensor
    best_at_check: torch.Tensor
    halved_at_check: torch.Tensor
    step: torch.Tensor
    history: torch.Tensor  # (n_iter + 1, B): row 0 = 0, row i + 1 = loss after iteration i

    def select(self, keep: torch.Tensor) -> _Active:
        parts = {f.name: getattr(self, f.name) for f in fields(self)}
        return _Active(**{n: v[:, keep] if n == "history" else v[keep] for n, v in parts.items()})


def _value_and_grad(
    logits_fn: LogitsFn, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = logits_fn(x)
        losses = loss_fn(logits, y, y_target)
        (grad,) = torch.autograd.grad(losses.sum(), x)
    return logits.detach(), losses.detach(), grad.detach()


def _start(x: torch.Tensor, eps: float, generator: torch.Generator) -> torch.Tensor:
    """``clip01(x + eps·t/‖t‖∞)``, t ~ U(−1, 1) drawn on the generator's device (AutoAttack: CPU)."""
    t = 2 * torch.rand(x.shape, generator=generator, device=generator.device, dtype=x.dtype) - 1
    t = t.to(x.device)
    t_inf = t.flatten(1).abs().amax(1).view(-1, *([1] * (x.dim() - 1)))
    return (x + eps * (t / (t_inf + 1e-12))).clamp(0.0, 1.0)


def _check_args(eps: float, n_iter: int, rho: float, loss: str) -> None:
    check_choice(loss, "APGD loss", LOSSES)
    check_real(eps, "APGD eps", 0, low_open=True)
    check_int(n_iter, "APGD n_iter")
    check_real(rho, "APGD rho", 0, 1, low_open=True)


def apgd(
    logits_fn: LogitsFn,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    generator: torch.Generator,
    n_iter: int = 100,
    loss: str = "ce",
    y_target: torch.Tensor | None = None,
    rho: float = 0.75,
) -> APGDResult:
    """One APGD run (one restart) on a batch; ``generator`` draws the random start.

    A point already misclassified at the random start counts as fooled there (as in AutoAttack).
    """
    _check_args(eps, n_iter, rho, loss)
    if loss == "dlr-targeted" and y_target is None:
        raise ConfigError("APGD with the dlr-targeted loss needs y_target")
    loss_fn = _LOSS_FNS[loss]
    y_target = y if y_target is None else y_target
    check_at = {done - 1: k for done, k in zip(checkpoints(n_iter), _intervals(n_iter))}

    x_adv = _start(x, eps, generator)
    logits, losses, grad = _value_and_grad(logits_fn, loss_fn, x_adv, y, y_target)
    n = x.shape[0]
    out, fooled = x.clone(), logits.argmax(1) != y
    out[fooled] = x_adv[fooled]
    step = torch.full((n,) + (1,) * (x.dim() - 1), 2 * eps, dtype=x.dtype, device=x.device)
    step_out = step.flatten().clone()
    history = torch.zeros((n_iter + 1, n), dtype=losses.dtype, device=x.device)
    s = _Active(
        idx=torch.arange(n, device=x.device), x=x, y=y, y_target=y_target, x_adv=x_adv, x_old=x_adv,
        grad=grad, x_best=x_adv, grad_best=grad, loss_best=losses, best_at_check=losses,
        halved_at_check=torch.ones(n, dtype=torch.bool, device=x.device), step=step, history=history,
    ).select(~fooled)

    for i in range(n_iter):
        if s.idx.numel() == 0:
            break
        with torch.no_grad():
            a = 1.0 if i == 0 else 0.75
            momentum = s.x_adv - s.x_old
            s.x_old = s.x_adv
            low, high = s.x - eps, s.x + eps
            z = torch.clamp(torch.min(torch.max(s.x_adv + s.step * torch.sign(s.grad), low), high), 0.0, 1.0)
            z = s.x_adv + (z - s.x_adv) * a + momentum * (1 - a)
            s.x_adv = torch.clamp(torch.min(torch.max(z, low), high), 0.0, 1.0)
        logits, losses, s.grad = _value_and_grad(logits_fn, loss_fn, s.x_adv, s.y, s.y_target)
        with torch.no_grad():
            s.history[i + 1] = losses
            improved = losses > s.loss_best
            s.x_best = torch.where(_rows(improved, x), s.x_adv, s.x_best)
            s.grad_best = torch.where(_rows(improved, x), s.grad, s.grad_best)
            s.loss_best = torch.where(improved, losses, s.loss_best)
            newly = logits.argmax(1) != s.y
            if newly.any():
                out[s.idx[newly]] = s.x_adv[newly]
                step_out[s.idx[newly]] = s.step.flatten()[newly]
                fooled[s.idx[newly]] = True
                s = s.select(~newly)
            if i in check_at and s.idx.numel():
                k = check_at[i]
                halve = halve_mask(s.history[i + 1 - k : i + 2], rho, s.loss_best, s.best_at_check,
                                   s.halved_at_check)
                s.halved_at_check, s.best_at_check = halve, s.loss_best.clone()
                s.step = torch.where(_rows(halve, x), s.step / 2.0, s.step)
                s.x_adv = torch.where(_rows(halve, x), s.x_best, s.x_adv)
                s.grad = torch.where(_rows(halve, x), s.grad_best, s.grad)
    step_out[s.idx] = s.step.flatten()
    return APGDResult(out, fooled, step_out)


def apgd_targeted(
    logits_fn: LogitsFn,
    x: torch.Tensor,
    y: torch.Tensor,
    clean_logits: torch.Tensor,
    *,
    eps: float,
    generator: torch.Generator,
    n_iter: int = 100,
    n_target_classes: int = 9,
    rho: float = 0.75,
) -> tuple[torch.Tensor, torch.Tensor]:
    """APGD-T: one targeted-DLR run per target rank r = 2..n_target_classes + 1 (rank by the clean
    logits), each on the points no earlier target has fooled. Returns (x_adv, fooled)."""
    n_classes = clean_logits.shape[1]
    if n_classes < 4:
        raise ConfigError(f"APGD-T's DLR loss needs at least 4 classes, the model has {n_classes}")
    check_int(n_target_classes, "n_target_classes", 1, n_classes - 1)
    ranking = clean_logits.sort(dim=1).indices
    out, fooled = x.clone(), torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    for rank in range(2, n_target_classes + 2):
        todo = (~fooled).nonzero().flatten()
        if todo.numel() == 0:
            break
        res = apgd(logits_fn, x[todo], y[todo], eps=eps, generator=generator, n_iter=n_iter,
                   loss="dlr-targeted", y_target=ranking[todo, -rank], rho=rho)
        hit = todo[res.fooled]
        out[hit] = res.x_adv[res.fooled]
        fooled[hit] = True
    return out, fooled


def _intervals(n_iter: int) -> list[int]:
    """The window length k checked at each of :func:`checkpoints`."""
    marks = checkpoints(n_iter)
    return [b - a for a, b in zip([0] + marks[:-1], marks)]


def _rows(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))
