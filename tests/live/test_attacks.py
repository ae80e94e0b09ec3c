"""FGSM, PGD, CW, stable accuracy and LIP (nares_nas/live/attacks.py), checked by hand on linear
models and on a small MLP trained on sklearn digits."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nares_nas.errors import ConfigError
from nares_nas.live.attacks import (
    AttackOutput,
    aa_compact_robust,
    attack_mode,
    cw_loss,
    evaluate_attack,
    evaluate_clean,
    fgsm,
    local_lip,
    pgd,
)

from .test_apgd import EPS, digits_mlp

STEP = EPS / 10


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    model, x, y = digits_mlp(epochs=4)
    return model, x[:150], y[:150]


def linear(weight, bias=None) -> nn.Module:
    """``logits = W · flatten(x) + b`` with hand-set weights."""
    w = torch.tensor(weight, dtype=torch.float32)
    layer = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(torch.zeros(w.shape[0]) if bias is None else torch.tensor(bias, dtype=torch.float32))
    return nn.Sequential(nn.Flatten(), layer)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- losses and metrics by hand
def test_cw_loss_by_hand():
    logits = torch.tensor([[3.0, 1.0, 2.0], [0.5, 2.0, 1.0], [1.0, 1.0, 0.0], [5.0, -2e4, -3e4]])
    y = torch.tensor([0, 0, 0, 0])
    # margins z_y − max_{j≠y} z_j: 1, −1.5, 0; the last row's other logits are all below −10000, and
    # the reference's max runs over (1 − onehot)·z − onehot·10000, so the true entry counts as −10000
    torch.testing.assert_close(cw_loss(logits, y), torch.tensor([-1.0, 0.0, 0.0, -10005.0]))
    torch.testing.assert_close(cw_loss(logits[:2], y[:2], kappa=0.5), torch.tensor([-1.5, 0.0]))


# Four 2-pixel points for logits (a, b, −b): p1 correct → fooled; p2 wrong, unchanged; p3 correct,
# moved by 1e-5; p4 wrong (true class 2) → another wrong class.
X = torch.tensor([[0.6, 0.2], [0.1, 0.5], [0.3, 0.0], [0.2, 0.7]]).view(4, 1, 1, 2)
X_ADV = torch.tensor([[0.2, 0.6], [0.1, 0.5], [0.3, 1e-5], [0.05, 0.0]]).view(4, 1, 1, 2)
Y = torch.tensor([0, 0, 0, 2])
W = [[1, 0], [0, 1], [0, -1]]


def table_attack(model, x, y):
    """Returns the X_ADV row of each given X row, and the batch size as its 'loss'."""
    rows = (x.flatten(1)[:, None, :] == X.flatten(1)[None]).all(-1).float().argmax(1)
    return AttackOutput(X_ADV[rows], float(len(x)))


def _lip_by_hand() -> list[float]:
    x, xa = X.double().flatten(1).numpy(), X_ADV.double().flatten(1).numpy()
    w = np.array(W, dtype=float)
    d = x - xa
    top = np.abs(d @ w.T).sum(1)
    bottom = np.abs(d + 1e-6).max(1)  # 1e-6 added elementwise before the ∞-norm
    return (top / bottom).tolist()


def test_lip_matches_the_formula_and_the_1e6_placement():
    lips = _lip_by_hand()
    # p1: ‖(0.4, −0.4, 0.4)‖₁ / 0.400001; p2: 0; p3: 2e-5 / |−1e-5 + 1e-6| = 2.22 (not 2.0 or 1.82)
    assert lips[0] == pytest.approx(1.2 / 0.400001) and lips[1] == 0.0
    assert lips[2] == pytest.approx(2.0 / 0.9, rel=1e-3)
    model = linear(W)
    with torch.no_grad():
        got = local_lip(model(X), model(X_ADV), X, X_ADV)
    np.testing.assert_allclose(got.numpy(), lips, rtol=1e-4)


def test_stable_accuracy_lip_and_loss_average_by_hand():
    result = evaluate_attack(linear(W), X, Y, table_attack, batch_size=3)
    assert result.clean_acc == 50.0  # p1, p3
    assert result.acc == 25.0  # p3
    assert result.stable == 50.0  # p2, p3 keep their clean prediction (p2 stays wrong: label-free)
    # batch means weighted by batch size (3 + 1) = the mean over points; not the mean of batch means
    assert result.lip == pytest.approx(float(np.mean(_lip_by_hand())), rel=1e-4)
    assert result.loss == 2.0  # the attack's 'losses' 3 and 1, averaged unweighted over batches


def test_without_lip_or_reported_loss_they_are_none():
    result = evaluate_attack(linear(W), X, Y, lambda m, x, y: X_ADV[: len(x)], batch_size=4, lip=False)
    assert result.lip is None and result.loss is None


def test_clean_loss_is_batch_weighted():
    model = linear(W)
    acc, loss = evaluate_clean(model, X, Y, batch_size=3)
    assert acc == 50.0
    assert loss == pytest.approx(F.cross_entropy(model(X), Y).item(), rel=1e-6)


def test_uint8_images_are_scaled():
    model = linear(W)
    images = (X * 255).round().to(torch.uint8)
    assert evaluate_clean(model, images, Y, 4) == evaluate_clean(model, images.float() / 255, Y, 4)


# ---------------------------------------------------------------- FGSM and PGD steps by hand
def _ce_grad_sign(weight, x, y) -> np.ndarray:
    """sign of ∇_x CE(Wx, y) = Wᵀ(softmax(Wx) − onehot(y)), in float64."""
    w = np.array(weight, dtype=float)
    flat = x.double().flatten(1).numpy()
    z = flat @ w.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y.numpy()] -= 1
    return np.sign(p @ w).reshape(x.shape)


def test_fgsm_is_one_signed_step_clamped():
    weight = [[1.0, -2.0], [0.5, 1.0], [-1.0, 0.0]]
    x = torch.tensor([[0.5, 0.02], [0.99, 0.4], [0.1, 0.9]]).view(3, 1, 1, 2)
    y = torch.tensor([0, 1, 2])
    expected = np.clip(x.double().numpy() + 0.03 * _ce_grad_sign(weight, x, y), 0, 1)
    got = fgsm(linear(weight), x, y, 0.03)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-7)


@pytest.mark.parametrize("clamp_start", [True, False])
def test_one_pgd_step_by_hand(clamp_start):
    weight = [[1.0, -2.0], [0.5, 1.0], [-1.0, 0.0]]
    x = torch.tensor([[0.5, 0.01], [0.99, 0.4], [0.1, 0.9]]).view(3, 1, 1, 2)
    y = torch.tensor([0, 1, 2])
    eps, step = 0.05, 0.02
    noise = torch.empty(x.shape).uniform_(-eps, eps, generator=gen(7))
    start = (x + noise).clamp(0, 1) if clamp_start else x + noise
    moved = start.double().numpy() + step * _ce_grad_sign(weight, start, y)
    xd = x.double().numpy()
    expected = np.clip(xd + np.clip(moved - xd, -eps, eps), 0, 1)
    got = pgd(linear(weight), x, y, eps=eps, step=step, steps=1, clamp_start=clamp_start, generator=gen(7))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


class Spy(nn.Module):
    """Records the inputs the model sees."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.inner(x)


def test_validation_start_is_not_clamped_but_the_test_start_is():
    x = torch.tensor([[0.0, 1.0]] * 8).view(8, 1, 1, 2)
    y = torch.zeros(8, dtype=torch.long)
    for clamp_start in (True, False):
        spy = Spy(linear(W))
        pgd(spy, x, y, eps=0.1, step=0.01, steps=2, clamp_start=clamp_start, generator=gen())
        first = spy.seen[0]
        outside = bool((first < 0).any() or (first > 1).any())
        assert outside is not clamp_start
        assert spy.seen[1].min() >= 0 and spy.seen[1].max() <= 1


def test_pgd_reports_the_loss_of_its_last_loop_iteration():
    model = linear(W)
    spy = Spy(model)
    out = pgd(spy, X, Y, eps=0.1, step=0.01, steps=3, loss="cw", generator=gen(), return_loss=True)
    assert isinstance(out, AttackOutput)
    assert out.loss == pytest.approx(cw_loss(model(spy.seen[-1]), Y).sum().item())  # penultimate iterate
    out = pgd(spy, X, Y, eps=0.1, step=0.01, steps=3, generator=gen(), return_loss=True)
    assert out.loss == pytest.approx(F.cross_entropy(model(spy.seen[-1]), Y).item())  # batch mean


def test_pgd_refuses_bad_arguments():
    model = linear(W)
    with pytest.raises(ConfigError, match="Generator"):
        pgd(model, X, Y, eps=0.1, step=0.01, steps=2)
    with pytest.raises(ConfigError, match="^pgd loss must be one of ce, cw, got 'dlr'$"):
        pgd(model, X, Y, eps=0.1, step=0.01, steps=2, loss="dlr", generator=gen())
    with pytest.raises(ConfigError, match="^pgd steps must be a positive integer, got 0$"):
        pgd(model, X, Y, eps=0.1, step=0.01, steps=0, generator=gen())


# ---------------------------------------------------------------- on a trained model
ATTACKS = {
    "fgsm": lambda: functools.partial(fgsm, eps=EPS),
    "pgd": lambda: functools.partial(pgd, eps=EPS, step=STEP, steps=10, generator=gen(1)),
    "pgd-val": lambda: functools.partial(pgd, eps=EPS, step=STEP, steps=10, clamp_start=False,
                                         generator=gen(1)),
    "cw": lambda: functools.partial(pgd, eps=EPS, step=STEP, steps=10, loss="cw", generator=gen(1)),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_stay_in_the_ball_and_the_box_and_do_not_raise_accuracy(trained, name):
    model, x, y = trained
    x_adv = ATTACKS[name]()(model, x, y)
    assert (x_adv - x).abs().max() <= EPS + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    result = evaluate_attack(model, x, y, ATTACKS[name](), batch_size=64)
    assert result.acc <= result.clean_acc
    assert result.acc < result.clean_acc - 5  # the attack does something on this model
    assert result.acc <= result.stable + (100 - result.clean_acc)


def test_aa_compact_does_not_raise_accuracy(trained):
    model, x, y = trained
    robust = aa_compact_robust(model, x, y, eps=EPS, n_iter=10, n_target_classes=3, seed=0)
    assert robust.float().mean() * 100 <= evaluate_clean(model, x, y, 64)[0]


def test_attacks_restore_the_model_state_and_leave_weights_alone(trained):
    model, x, y = trained
    model.train()
    model.zero_grad(set_to_none=True)
    model[1].weight.requires_grad_(False)
    before = [p.detach().clone() for p in model.parameters()]
    flags = [p.requires_grad for p in model.parameters()]
    pgd(model, x, y, eps=EPS, step=STEP, steps=2, generator=gen())
    fgsm(model, x, y, EPS)
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    model[1].weight.requires_grad_(True)
    model.eval()


def test_attack_mode_freezes_inside():
    model = linear(W).train()
    with attack_mode(model):
        assert not model.training
        assert not any(p.requires_grad for p in model.parameters())
    assert model.training and all(p.requires_grad for p in model.parameters())


def test_pgd_is_deterministic_per_generator(trained):
    model, x, y = trained
    run = functools.partial(pgd, model, x, y, eps=EPS, step=STEP, steps=3)
    assert torch.equal(run(generator=gen(5)), run(generator=gen(5)))
    assert not torch.equal(run(generator=gen(5)), run(generator=gen(6)))
