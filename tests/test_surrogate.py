"""Encodings and the MLP-ensemble predictor (nares_nas.surrogate)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from nares_nas.errors import ConfigError, InvalidArchError
from nares_nas.space import Arch, archs_by_id
from nares_nas.surrogate import MLPEnsembleRegressor, encode, encoding_dim, fit_together
from nares_nas.surrogate._mlp import AdamConfig, StackShape, StackTrainer, forward, init_params, split
from nares_nas.surrogate.ensemble import torch_threads

SMALL = dict(num_ensemble=3, num_layers=2, layer_width=16, epochs=5)


def _ids(*texts: str) -> np.ndarray:
    return np.array([Arch.parse(t).arch_id for t in texts])


# ------------------------------------------------------------------------------ encodings
def test_onehot_marks_the_choice_positions():
    x = encode(_ids("4,8,4,8,4,8", "11,16,7,12,5,10"), "onehot")
    assert x.shape == (2, 30) and x.dtype == np.float32
    assert np.flatnonzero(x[0]).tolist() == [0, 5, 10, 15, 20, 25]
    # 11 -> 4th of DEPTHS, 16 -> 4th of WIDTHS, 7 -> 2nd, 12 -> 2nd, 5 -> 1st, 10 -> 1st
    assert np.flatnonzero(x[1]).tolist() == [4, 9, 12, 17, 21, 26]


def _hand_path(counts_per_stage: list[list[int]], width_index: list[int]) -> np.ndarray:
    paths = [math.log2(1 + c) for counts in counts_per_stage for c in counts]
    widths = [1.0 if i == w else 0.0 for w in width_index for i in range(5)]
    return np.array(paths + widths, dtype=np.float32)


def test_path_encoding_matches_hand_counts():
    # Paths through a stage of D blocks with t conv branches: C(D, t), written out by hand.
    d4 = [4, 6, 4, 1, 0, 0, 0, 0, 0, 0, 0]
    d5 = [5, 10, 10, 5, 1, 0, 0, 0, 0, 0, 0]
    d7 = [7, 21, 35, 35, 21, 7, 1, 0, 0, 0, 0]
    d11 = [11, 55, 165, 330, 462, 462, 330, 165, 55, 11, 1]
    x = encode(_ids("4,8,4,8,4,8", "11,16,7,12,5,10", "5,10,5,10,5,10"), "path")
    assert x.shape == (3, 48) and encoding_dim("path") == 48
    np.testing.assert_allclose(x[0], _hand_path([d4, d4, d4], [0, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(x[1], _hand_path([d11, d7, d5], [4, 2, 1]), rtol=1e-6)
    np.testing.assert_allclose(x[2], _hand_path([d5, d5, d5], [1, 1, 1]), rtol=1e-6)
    # every stage has 2**D paths: the 2**D - 1 counted ones plus the all-shortcut path
    for row, depths in zip(x, [(4, 4, 4), (11, 7, 5), (5, 5, 5)]):
        counts = np.rint(2.0 ** row[:33].astype(np.float64) - 1).reshape(3, 11)
        assert counts.sum(axis=1).tolist() == [2**d - 1 for d in depths]


def test_encode_is_vectorised_and_validates():
    ids = np.arange(1, 15626)
    for name in ("onehot", "path"):
        table = encode(ids, name)
        assert table.shape == (15625, encoding_dim(name))
        assert len(np.unique(table, axis=0)) == 15625  # injective over the space
    np.testing.assert_array_equal(encode(ids[:2].reshape(2, 1), "onehot").shape, (2, 1, 30))
    assert archs_by_id().shape == (15625, 6)
    with pytest.raises(ConfigError, match="unknown encoding 'adjacency'"):
        encode(ids[:3], "adjacency")
    with pytest.raises(InvalidArchError, match="15626"):
        encode(np.array([1, 15626]))
    with pytest.raises(InvalidArchError):
        encode(np.array([1.5]))


# ------------------------------------------------------------------------------ batched MLP
def _reference_members(flat: torch.Tensor, shape: StackShape) -> list[torch.nn.Sequential]:
    """Per-member ``nn.Sequential`` copies of the stacked weights (the straightforward model)."""
    w0, wh, wo = split(flat, shape)
    nets = []
    for m in range(shape.members):
        mats = [w0[m]] + [layer[m] for layer in wh] + [wo[m]]
        layers: list[torch.nn.Module] = []
        for i, mat in enumerate(mats):
            lin = torch.nn.Linear(mat.shape[0] - 1, mat.shape[1])
            lin.weight.data = mat[:-1].T.clone()
            lin.bias.data = mat[-1].clone()
            layers += [lin, torch.nn.ReLU()] if i < len(mats) - 1 else [lin]
        nets.append(torch.nn.Sequential(*layers))
    return nets


def test_stacked_training_equals_per_member_adam_loop():
    with torch_threads(1):  # tiny ops: a second thread only waits on a busy core
        _compare_with_per_member_loop()


def _compare_with_per_member_loop() -> None:
    shape = StackShape(members=3, in_dim=7, num_layers=4, width=8)
    flat = init_params(shape, [torch.Generator().manual_seed(1)], torch.device("cpu"))
    x, y = torch.rand(21, 7, generator=torch.Generator().manual_seed(2)), torch.arange(21.0) / 3
    nets = _reference_members(flat, shape)
    np.testing.assert_allclose(forward(flat, shape, x).numpy(),
                               torch.stack([n(x).squeeze(-1) for n in nets]).detach().numpy(), atol=1e-6)

    trainer = StackTrainer(shape, flat.clone(), AdamConfig(), l1=0.2)
    trainer.fit(x[None], y[None], epochs=12, batch_size=4, generators=[torch.Generator().manual_seed(5)])
    unfused = StackTrainer(shape, flat.clone(), AdamConfig(), l1=0.2)
    unfused.fused = False  # Adam written out, for torch builds without the fused CPU kernel
    unfused.fit(x[None], y[None], epochs=12, batch_size=4, generators=[torch.Generator().manual_seed(5)])
    # the same shuffles (one permutation per member per epoch), 5 full batches + 1 of 1
    shuffles = torch.Generator().manual_seed(5)
    optims = [torch.optim.Adam(n.parameters(), lr=1e-3, betas=(0.9, 0.99)) for n in nets]
    for _ in range(12):
        order = torch.rand(3, 21, generator=shuffles).argsort(dim=1)
        for net, opt, perm in zip(nets, optims, order):
            for start in range(0, 21, 4):
                idx = perm[start:start + 4]
                opt.zero_grad()
                loss = (net(x[idx]).squeeze(-1) - y[idx]).abs().mean() + 0.2 * net[-1].weight.abs().sum()
                loss.backward()
                opt.step()
    expected = torch.stack([n(x).squeeze(-1) for n in nets]).detach().numpy()
    got = forward(trainer.params, shape, x).numpy()
    assert np.abs(got - forward(flat, shape, x).numpy()).max() > 0.1  # training moved the weights
    np.testing.assert_allclose(got, expected, atol=2e-5)
    np.testing.assert_allclose(forward(unfused.params, shape, x).numpy(), expected, atol=2e-5)


def test_init_is_xavier_uniform_with_zero_bias():
    shape = StackShape(members=5, in_dim=30, num_layers=20, width=32)
    w0, wh, wo = split(init_params(shape, [torch.Generator().manual_seed(0)], torch.device("cpu")), shape)
    for mat, bound in ((w0, math.sqrt(6 / 62)), (wh, math.sqrt(6 / 64)), (wo, math.sqrt(6 / 33))):
        weights = mat[..., :-1, :]
        assert float(weights.abs().max()) <= bound and float(weights.abs().max()) > 0.9 * bound
        assert float(mat[..., -1, :].abs().max()) == 0.0
    assert not torch.equal(w0[0], w0[1])  # members are initialised independently


# ------------------------------------------------------------------------------ estimator
def test_predictor_learns_a_sum_of_onehot_features():
    rng = np.random.default_rng(0)
    weights = np.linspace(-2.0, 3.0, 30)
    train, test = rng.choice(np.arange(1, 15626), size=(2, 400), replace=False)
    x_train, x_test = encode(train, "onehot"), encode(test, "onehot")
    model = MLPEnsembleRegressor(num_layers=3, epochs=60, l1_reg=0.0, random_state=0)
    model.fit(x_train, x_train @ weights + 20.0)
    y_test = x_test @ weights + 20.0
    baseline = np.abs(y_test - y_test.mean()).mean()
    mae = np.abs(model.predict(x_test) - y_test).mean()
    assert mae < 0.15 * baseline, (mae, baseline)
    ensemble = model.predict_ensemble(x_test)
    assert ensemble.shape == (5, 400)
    np.testing.assert_allclose(model.predict(x_test), ensemble.mean(axis=0))
    assert ensemble.std(axis=0).mean() > 0  # members differ


def test_predictor_follows_the_sklearn_contract():
    model = MLPEnsembleRegressor(**SMALL, random_state=3)
    params = model.get_params()
    assert params["random_state"] == 3 and params["epochs"] == 5 and params["l1_reg"] == 0.2
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    assert clone(model.set_params(epochs=7)).epochs == 7
    x = encode(np.arange(1, 41), "path")
    with pytest.raises(NotFittedError):
        model.predict(x)
    assert model.fit(x, np.arange(40.0)) is model
    assert model.n_features_in_ == 48 and model.coefs_.dtype == np.float32
    assert model.score(x, np.arange(40.0)) <= 1.0
    with pytest.raises(ConfigError, match="30 features"):
        model.predict(encode(np.arange(1, 4), "onehot"))
    with pytest.raises(ConfigError, match="num_layers"):
        MLPEnsembleRegressor(num_layers=0).fit(x, np.arange(40.0))
    with pytest.raises(ConfigError, match="^MLPEnsembleRegressor lr must be a positive number, got 0.0$"):
        MLPEnsembleRegressor(lr=0.0).fit(x, np.arange(40.0))
    with pytest.raises(ConfigError, match="^MLPEnsembleRegressor l1_reg must be a non-negative number, got -1$"):
        MLPEnsembleRegressor(l1_reg=-1).fit(x, np.arange(40.0))
    with pytest.raises(ConfigError, match="device"):
        MLPEnsembleRegressor(device="tpu").fit(x, np.arange(40.0))


def test_predictor_is_deterministic_per_random_state():
    x, y = encode(np.arange(1, 61), "path"), np.linspace(10, 40, 60)
    a = MLPEnsembleRegressor(**SMALL, random_state=11).fit(x, y)
    b = MLPEnsembleRegressor(**SMALL, random_state=11).fit(x, y)
    c = MLPEnsembleRegressor(**SMALL, random_state=12).fit(x, y)
    np.testing.assert_array_equal(a.coefs_, b.coefs_)
    assert not np.array_equal(a.coefs_, c.coefs_)
    # a Generator is advanced: two fits from one Generator differ, and replay from its seed
    gen = np.random.default_rng(5)
    first = MLPEnsembleRegressor(**SMALL, random_state=gen).fit(x, y).coefs_
    second = MLPEnsembleRegressor(**SMALL, random_state=gen).fit(x, y).coefs_
    assert not np.array_equal(first, second)
    replay = MLPEnsembleRegressor(**SMALL, random_state=np.random.default_rng(5)).fit(x, y).coefs_
    np.testing.assert_array_equal(first, replay)


@pytest.mark.parametrize("threads", [1, 2])
def test_fitting_together_equals_fitting_alone_bit_for_bit(threads):
    """Runs stacked into one program (as BANANAS does across seeds) end exactly as fitted alone."""
    rng = np.random.default_rng(0)
    xs = [encode(rng.choice(np.arange(1, 15626), size=37, replace=False), "path") for _ in range(3)]
    ys = [rng.uniform(50, 70, size=37) for _ in range(3)]
    params = dict(SMALL, num_layers=3, num_threads=threads)
    alone = [MLPEnsembleRegressor(**params, random_state=np.random.default_rng(s)).fit(x, y)
             for s, x, y in zip((7, 8, 9), xs, ys)]
    gens = [np.random.default_rng(s) for s in (7, 8, 9)]
    together = [MLPEnsembleRegressor(**params, random_state=g) for g in gens]
    fit_together(together, xs, ys)
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a.coefs_, b.coefs_)
        np.testing.assert_array_equal(a.predict_ensemble(xs[0]), b.predict_ensemble(xs[0]))
    assert not np.array_equal(alone[0].coefs_, alone[1].coefs_)
    # each random_state was advanced by exactly one seed draw, as by its own fit
    assert [int(g.integers(1000)) for g in gens] == [_after_one_seed(s) for s in (7, 8, 9)]


def test_fitting_together_is_bit_identical_for_the_reference_predictor():
    """The full 5 x 20 x 32 predictor: a run first in a stack must match it alone, Adam's last elements included.

    Unpadded (108,325 floats per run), the last parameters of a run alone fell into the scalar tail
    of the fused Adam kernel and rounded differently from the SIMD body they take inside a stack.
    """
    rng = np.random.default_rng(0)
    xs = [encode(rng.choice(np.arange(1, 15626), size=250, replace=False), "path") for _ in range(2)]
    ys = [rng.uniform(55, 65, size=250) for _ in range(2)]
    alone = MLPEnsembleRegressor(epochs=3, random_state=0).fit(xs[0], ys[0])
    together = [MLPEnsembleRegressor(epochs=3, random_state=s) for s in (0, 1)]
    fit_together(together, xs, ys)  # one torch thread, the models' default, as alone
    np.testing.assert_array_equal(alone.coefs_, together[0].coefs_)


def _after_one_seed(seed: int) -> int:
    rng = np.random.default_rng(seed)
    rng.integers(2**63 - 1)
    return int(rng.integers(1000))


def test_fit_together_refuses_mixed_models():
    x, y = encode(np.arange(1, 21), "onehot"), np.arange(20.0)
    with pytest.raises(ConfigError, match="equal hyper-parameters"):
        fit_together([MLPEnsembleRegressor(**SMALL), MLPEnsembleRegressor(**dict(SMALL, epochs=6))], [x, x], [y, y])
    with pytest.raises(ConfigError, match="one shape"):
        fit_together([MLPEnsembleRegressor(**SMALL)] * 2, [x, x[:10]], [y, y[:10]])
    with pytest.raises(ConfigError, match="one X and one y per model"):
        fit_together([MLPEnsembleRegressor(**SMALL)] * 2, [x], [y])


def test_num_threads_is_restored():
    before = torch.get_num_threads()
    x, y = encode(np.arange(1, 21), "onehot"), np.arange(20.0)
    MLPEnsembleRegressor(**SMALL, num_threads=1).fit(x, y)
    assert torch.get_num_threads() == before
