"""AA-Compact (attacks.aa_compact_robust) against the official AutoAttack, pyautoattack 0.2.0.

Same model, points, ε and seed: in fp32 on the CPU the per-point verdicts agree exactly. The small
check runs in every default run (pyautoattack is in the ``test`` extra); 300 points are opt-in.
"""

from __future__ import annotations

import time

import pytest
import torch

from nares_nas.live.attacks import aa_compact_robust
from nares_nas.live.autoattack_ref import agreement, official_aa_compact_robust

from .test_apgd import EPS, digits_mlp


def test_aa_compact_agrees_with_pyautoattack_point_by_point():
    """A 4-epoch PGD-trained digits MLP, 50 held-out digits, the full AA-Compact (100 iterations,
    9 targets): the same verdict on every point."""
    model, x, y = digits_mlp(epochs=4)
    x, y = x[:50], y[:50]
    native = aa_compact_robust(model, x, y, eps=EPS, seed=0)
    before = torch.get_rng_state()
    model.train()
    official = official_aa_compact_robust(model, x, y, eps=EPS, seed=0)
    assert model.training and torch.equal(torch.get_rng_state(), before)  # both restored
    model.eval()
    clean = model(x).argmax(1) == y
    assert (clean & ~official).sum() >= 5 and official.sum() >= 5  # the attacks fool some points, not all
    assert native.tolist() == official.tolist()


@pytest.mark.slow
def test_aa_compact_agrees_with_pyautoattack_on_300_points():
    """300 held-out digits, the 10-epoch MLP: agreement on at least 99 % of the points."""
    model, x, y = digits_mlp()
    start = time.perf_counter()
    native = aa_compact_robust(model, x, y, eps=EPS, seed=0, batch_size=100)
    native_s = time.perf_counter() - start
    start = time.perf_counter()
    official = official_aa_compact_robust(model, x, y, eps=EPS, seed=0, batch_size=100)
    official_s = time.perf_counter() - start
    agree = agreement(native, official)
    print(f"AA-Compact native {100 * native.float().mean():.2f}% in {native_s:.1f}s, pyautoattack "
          f"{100 * official.float().mean():.2f}% in {official_s:.1f}s, agreement {100 * agree:.2f}%")
    assert agree >= 0.99

