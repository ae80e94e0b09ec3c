"""The official AutoAttack's AA-Compact (``pyautoattack`` 0.2.0): the yardstick of our own.

:func:`official_aa_compact_robust` runs APGD-CE then APGD-T (9 targets, 100 iterations, one restart,
the ``standard`` version without FAB-T and Square) through ``pyautoattack`` and returns the same
per-point flags as :func:`nares_nas.live.attacks.aa_compact_robust`. The tests compare the two point
by point (a small check in the default suite, 300 points opt-in) and ``benchmarks/bench_attacks.py``
times them. ``pyautoattack`` is imported only here: ``pip install 'nares-nas[autoattack]'``.
"""

from __future__ import annotations

import torch
from torch import nn

from nares_nas.errors import ConfigError


def official_aa_compact_robust(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    seed: int = 0,
    batch_size: int = 100,
) -> torch.Tensor:
    """Per-point robustness (bool (N,), on the CPU) under pyautoattack's APGD-CE + APGD-T at ``eps``.

    The model runs in eval mode; its mode and torch's global random state (pyautoattack seeds it from
    ``seed``) are restored afterwards.
    """
    try:
        from pyautoattack import AutoAttack
    except ImportError:
        raise ConfigError("the official AutoAttack needs pyautoattack: pip install 'nares-nas[autoattack]'") \
            from None
    device = next(model.parameters()).device
    state, training = torch.get_rng_state(), model.training
    try:
        reference = AutoAttack(model.eval(), norm="Linf", eps=eps, version="standard", seed=seed, device=device)
        reference.attacks_to_run = ["apgd-ce", "apgd-t"]
        reference.verbose = False
        _, y_adv = reference.run_standard_evaluation(images.to(device), labels.to(device), batch_size=batch_size)
    finally:
        torch.set_rng_state(state)
        model.train(training)
    return (y_adv.cpu() == labels.cpu())


def agreement(native: torch.Tensor, reference: torch.Tensor) -> float:
    """Share of points (0..1) on which two per-point robustness verdicts agree."""
    return (native.cpu() == reference.cpu()).float().mean().item()


__all__ = ["agreement", "official_aa_compact_robust"]
