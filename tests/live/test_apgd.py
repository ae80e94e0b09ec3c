"""APGD and AA-Compact (nares_nas/live/apgd.py, attacks.aa_compact*): schedule, halving, DLR,
targets, on a small model trained on sklearn digits (the cross-check with pyautoattack 0.2.0 is in
test_autoattack_crosscheck.py)."""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nares_nas.errors import ConfigError
from nares_nas.live import apgd as apgd_module
from nares_nas.live.apgd import apgd, apgd_targeted, checkpoints, dlr_targeted_loss, halve_mask
from nares_nas.live.attacks import aa_compact, aa_compact_robust, evaluate_attack, pgd

EPS = 32 / 255


def digits_mlp(epochs: int = 10) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A 192-64-10 MLP adversarially trained (PGD-2) on 3×8×8 sklearn digits; returns (model, x, y)
    for 300 held-out digits. Robust accuracy at ε = 32/255 is about 60 %."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).div(16).unsqueeze(1).repeat(1, 3, 1, 1)
    y = torch.tensor(digits.target)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(y), generator=g)
    train, test = perm[:1400], perm[1400:1700]
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 64), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(epochs):
        for idx in train[torch.randperm(len(train), generator=g)].split(50):
            xb, yb = x[idx], y[idx]
            xa = (xb + torch.empty_like(xb).uniform_(-EPS, EPS, generator=g)).clamp(0, 1)
            for _ in range(2):
                xa.requires_grad_(True)
                (grad,) = torch.autograd.grad(F.cross_entropy(model(xa), yb), xa)
                xa = (xb + (xa + 0.75 * EPS * grad.sign() - xb).clamp(-EPS, EPS)).clamp(0, 1).detach()
            opt.zero_grad()
            F.cross_entropy(model(xa), yb).backward()
            opt.step()
    return model.eval(), x[test], y[test]


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    return digits_mlp()


# ---------------------------------------------------------------- step-size schedule and halving
def test_checkpoints_for_100_iterations_are_the_references():
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]


def test_checkpoints_for_other_lengths_follow_the_floors():
    # k0 = max(int(.22 N), 1), decrease max(int(.03 N), 1), floor max(int(.06 N), 1)
    assert checkpoints(10) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert checkpoints(20) == [4, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    assert checkpoints(1) == [1]


def _window(losses):
    return torch.tensor(losses, dtype=torch.float32).view(-1, 1)


def test_halve_when_loss_rose_in_at_most_rho_k_steps():
    no = torch.tensor([False])
    best, best_then = torch.tensor([5.0]), torch.tensor([1.0])
    # k = 4 steps, rho·k = 3: three rises halve, four do not
    assert halve_mask(_window([0, 1, 2, 3, 2]), 0.75, best, best_then, ~no).item()
    assert not halve_mask(_window([0, 1, 2, 3, 4]), 0.75, best, best_then, ~no).item()
    # equal losses are not rises
    assert halve_mask(_window([0, 1, 1, 2, 3]), 0.75, best, best_then, ~no).item()


def test_halve_when_not_halved_before_and_best_did_not_improve():
    rising = _window([0, 1, 2, 3, 4])
    same = torch.tensor([2.0])
    assert halve_mask(rising, 0.75, same, same, torch.tensor([False])).item()
    assert not halve_mask(rising, 0.75, same, same, torch.tensor([True])).item()
    assert not halve_mask(rising, 0.75, torch.tensor([2.5]), same, torch.tensor([False])).item()


class Scripted:
    """logits ``[1, s, 0, 0]`` with s scripted per call and point; zero input gradient.

    Label 0 stays the prediction (s < 1); CE and the DLR loss targeted at class 1 (= s − 1 < 0)
    both increase with s, so the script fixes which iterations raise the loss.
    """

    def __init__(self, script: np.ndarray) -> None:
        self.script = torch.tensor(script, dtype=torch.float32)  # (calls, points)
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s = self.script[self.calls, : x.shape[0]]
        self.calls += 1
        z = torch.zeros(x.shape[0], 4)
        z[:, 0] = 1.0
        z[:, 1] = s
        return z + 0.0 * x.flatten(1).sum(1, keepdim=True)


def _scripts(n_iter: int = 100) -> np.ndarray:
    calls = n_iter + 1
    rising = 0.1 + 0.008 * np.arange(calls)
    # 16 rises among the 21 steps between iterations 0..21 (calls 1..22), rising afterwards: the first
    # check (k = 22, rho·k = 16.5) counts a 17th rise only if the first loss beats the 0 AutoAttack
    # compares it with, i.e. for CE (> 0) but not for the targeted DLR (< 0).
    p16 = rising.copy()
    for call in (4, 8, 12, 16, 20):
        p16[call] = p16[call - 1] - 0.004
    constant = np.full(calls, 0.5)
    return np.stack([rising, p16, constant], axis=1)


@pytest.mark.parametrize("loss, expected", [
    ("ce", [2.0, 2.0, 2.0 / 256]),
    ("dlr-targeted", [2.0, 1.0, 2.0 / 256]),
])
def test_step_size_follows_the_scripted_losses(loss, expected):
    eps = 0.1
    x = torch.full((3, 1, 2, 2), 0.5)
    y = torch.zeros(3, dtype=torch.long)
    fn = Scripted(_scripts())
    res = apgd(fn, x, y, eps=eps, generator=torch.Generator().manual_seed(0), loss=loss,
               y_target=torch.ones(3, dtype=torch.long))
    assert fn.calls == 101
    assert not res.fooled.any()
    torch.testing.assert_close(res.step, torch.tensor(expected) * eps)


def test_dlr_targeted_loss_by_hand():
    logits = torch.tensor([[3.0, 1.0, 2.0, 0.5, -1.0], [0.0, 4.0, 1.0, 2.0, 3.0]])
    y, t = torch.tensor([0, 1]), torch.tensor([2, 0])
    # row 0: sorted 3, 2, 1, 0.5 → −(3 − 2) / (3 − (1 + 0.5)/2); row 1: 4, 3, 2, 1 → −(4 − 0) / (4 − 1.5)
    expected = torch.tensor([-1.0 / 2.25, -4.0 / 2.5])
    torch.testing.assert_close(dlr_targeted_loss(logits, y, t), expected)


def test_start_lies_on_the_eps_ball_and_in_the_box():
    x = torch.rand(6, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    x[0] = 0.5
    seen = []

    def spy(z: torch.Tensor) -> torch.Tensor:
        seen.append(z.detach().clone())
        return torch.zeros(z.shape[0], 10) + z.flatten(1)[:, :1] * torch.arange(10.0)

    apgd(spy, x, torch.full((6,), 9), eps=0.05, n_iter=1, generator=torch.Generator().manual_seed(0))
    start = seen[0]
    assert start.min() >= 0 and start.max() <= 1
    assert (start - x).abs().max() <= 0.05 + 1e-6
    # x = 0.5 is far from the box: exactly one coordinate per point sits on the ball (t/‖t‖∞)
    assert math.isclose((start[0] - x[0]).abs().max().item(), 0.05, rel_tol=1e-5)


def test_targets_are_clean_logit_ranks_on_the_still_robust_points(monkeypatch):
    calls = []

    def fake_apgd(logits_fn, x, y, *, y_target, **kwargs):
        calls.append((x[:, 0, 0, 0].tolist(), y_target.tolist()))
        fooled = torch.zeros(len(y), dtype=torch.bool)
        fooled[0] = len(calls) == 1  # the first run fools its first point
        return apgd_module.APGDResult(x + 0.01, fooled, torch.zeros(len(y)))

    monkeypatch.setattr(apgd_module, "apgd", fake_apgd)
    x = torch.tensor([0.0, 1.0, 2.0]).view(3, 1, 1, 1)
    clean = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 9.0, 8.0, 1.0, 7.0]])
    out, fooled = apgd_targeted(lambda z: z, x, torch.tensor([0, 4, 1]), clean, eps=0.1,
                                generator=torch.Generator(), n_target_classes=3)
    assert calls == [
        ([0.0, 1.0, 2.0], [1, 3, 2]),  # rank 2 of each row
        ([1.0, 2.0], [2, 4]),          # rank 3, point 0 already fooled
        ([1.0, 2.0], [1, 3]),          # rank 4
    ]
    assert fooled.tolist() == [True, False, False]
    assert out[0].item() == pytest.approx(0.01) and out[1].item() == 1.0


def test_apgd_t_refuses_too_few_classes_or_targets():
    x, y = torch.zeros(2, 1, 1, 1), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ConfigError, match="at least 4 classes"):
        apgd_targeted(lambda z: z, x, y, torch.zeros(2, 3), eps=0.1, generator=torch.Generator())
    with pytest.raises(ConfigError, match=r"^n_target_classes must be an integer in 1\.\.4, got 5$"):
        apgd_targeted(lambda z: z, x, y, torch.zeros(2, 5), eps=0.1, generator=torch.Generator(),
                      n_target_classes=5)


@pytest.mark.parametrize("kwargs, message", [
    ({"loss": "cw"}, "APGD loss must be one of ce, dlr-targeted, got 'cw'"),
    ({"eps": 0.0}, "APGD eps must be a positive number, got 0.0"),
    ({"n_iter": 0}, "APGD n_iter must be a positive integer, got 0"),
    ({"n_iter": 2.0}, "APGD n_iter must be a positive integer, got 2.0"),
    ({"rho": 1.5}, "APGD rho must be a number in (0, 1], got 1.5"),
])
def test_apgd_names_a_bad_argument(kwargs, message):
    x, y = torch.zeros(2, 1, 1, 1), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        apgd(lambda z: z, x, y, **{"eps": 0.1, "generator": torch.Generator(), **kwargs})


# ---------------------------------------------------------------- AA-Compact on a trained model
def test_apgd_points_stay_in_the_ball_and_the_box(trained):
    model, x, y = trained
    x, y = x[:100], y[:100]
    keep = model(x).argmax(1) == y
    res = apgd(model, x[keep], y[keep], eps=EPS, n_iter=20, generator=torch.Generator().manual_seed(0))
    assert res.fooled.any()
    assert (res.x_adv - x[keep]).abs().max() <= EPS + 1e-6
    assert res.x_adv.min() >= 0 and res.x_adv.max() <= 1
    assert (model(res.x_adv).argmax(1) != y[keep]).tolist() == res.fooled.tolist()


def test_aa_compact_is_below_pgd_and_cw_and_counts_clean_errors(trained):
    model, x, y = trained
    x, y = x[:150], y[:150]
    clean = model(x).argmax(1) == y
    robust = aa_compact_robust(model, x, y, eps=EPS, seed=0)
    assert not (robust & ~clean).any()
    assert 30 < 100 * robust.float().mean() < 90
    aa = aa_compact(model, x, y, eps=EPS, seed=0)
    assert aa == pytest.approx(100 * robust.float().mean().item())
    common = dict(eps=EPS, step=EPS / 10, generator=torch.Generator().manual_seed(0))
    pgd20 = evaluate_attack(model, x, y, functools.partial(pgd, steps=20, **common), 100)
    cw40 = evaluate_attack(model, x, y, functools.partial(pgd, steps=40, loss="cw", **common), 100)
    assert aa <= pgd20.acc and aa <= cw40.acc
    assert aa < pgd20.clean_acc


def test_aa_compact_is_deterministic_and_leaves_global_rng_alone(trained):
    model, x, y = trained
    x, y = x[:100], y[:100]
    before = torch.get_rng_state()
    first = aa_compact_robust(model, x, y, eps=EPS, seed=3, n_iter=20)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(first, aa_compact_robust(model, x, y, eps=EPS, seed=3, n_iter=20))

