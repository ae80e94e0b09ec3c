"""Test-set evaluation (nares_nas/live/evaluator.py): the test_best[0] schema, rounding, CIFAR-10-C
handling, determinism and checkpoint loading."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from nares_nas.errors import DataFormatError
from nares_nas.live.attacks import evaluate_clean
from nares_nas.live.checkpoints import CHECKPOINT_KEYS, load_checkpoint
from nares_nas.live.data import DataBundle, ImageSet
from nares_nas.live.evaluator import (
    checkpoint_profile,
    evaluate,
    evaluate_checkpoint,
    evaluate_corruptions,
    resolve_device,
)
from nares_nas.live.model import build_model
from nares_nas.live.profiles import Profile
from nares_nas.metrics import CORRUPTIONS, SEVERITIES, TEST_KEYS
from nares_nas.space import Arch

SMALL = dict(test_pgd_steps=3, test_cw_steps=3, aa_iters=5, aa_targets=3, eval_batch_size=16,
             eps=32 / 255, attack_step=4 / 255)
DIGITS = Profile(name="t-digits", dataset="digits", resolution=8, corruptions=False, base_channels=1, **SMALL)
CIFAR = Profile(name="t-cifar", dataset="cifar10", corruptions=True, **SMALL)
ARCH = Arch(4, 8, 4, 8, 4, 8)


def images(n: int, size: int, seed: int, name: str = "set") -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g),
                    torch.randint(0, 10, (n,), generator=g), name)


@pytest.fixture(scope="module")
def digits():
    """The PGD-trained digits MLP of test_apgd and its held-out digits as uint8 images."""
    from .test_apgd import digits_mlp

    torch.set_num_threads(1)
    model, x, y = digits_mlp(epochs=4)
    test = ImageSet((x[:40] * 255).round().to(torch.uint8), y[:40], "digits-test")
    return model, DataBundle(test, test, test)


def linear_model(size: int) -> nn.Module:
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, 10))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(1)) * 0.05)
    return model


def corruption_sets(skip: tuple[str, int] | None = None, extra: tuple[str, int] | None = None):
    def factory():
        for i, name in enumerate(CORRUPTIONS):
            for severity in SEVERITIES:
                if (name, severity) != skip:
                    yield name, severity, images(4, 32, 100 + 5 * i + severity, f"{name}-{severity}")
        if extra is not None:
            yield extra[0], extra[1], images(4, 32, 0, "extra")
    return factory


def test_record_has_the_test_best_keys_rounded_and_consistent(digits):
    model, data = digits
    result = evaluate(model, DIGITS, data, seed=0, device="cpu", progress=False)
    assert list(result) == list(TEST_KEYS)
    for key, value in result.items():
        assert isinstance(value, float)
        assert value == round(value, 4 if key.endswith(("_lip", "_loss")) else 2)
    clean, loss = evaluate_clean(model, data.test.images, data.test.labels, 16)
    assert result["test_clean_acc"] == round(clean, 2) and result["test_loss"] == round(loss, 4)
    assert result["Linf_aa_acc"] <= min(result["Linf_pgd_acc"], result["Linf_cw_acc"])
    for attack in ("fgsm", "pgd", "cw"):
        assert result[f"Linf_{attack}_acc"] <= result["test_clean_acc"]
    assert result["Linf_pgd_lip"] > 0 and result["Linf_cw_lip"] > 0


def test_same_seed_same_record(digits):
    model, data = digits
    first = evaluate(model, DIGITS, data, seed=4, device="cpu", progress=False)
    assert evaluate(model, DIGITS, data, seed=4, device="cpu", progress=False) == first


def test_progress_goes_to_stderr(digits, capsys, monkeypatch):
    """Off a terminal (as under capsys) progress is plain lines; with no interval between them, one per batch."""
    from nares_nas import progress

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    model, data = digits
    evaluate(model, DIGITS, data, seed=0, device="cpu", progress=True)
    captured = capsys.readouterr()
    assert "PGD-3: 1/" in captured.err and "CW-3: 1/" in captured.err and captured.out == ""


def test_corruptions_are_all_95_sets_in_reference_order():
    model = linear_model(32)
    test = images(6, 32, 1)
    data = DataBundle(test, test, test, corruption_sets())
    result = evaluate(model, CIFAR, data, seed=0, device="cpu", progress=False)
    assert list(result) == [*TEST_KEYS, "corruptions"]
    table = result["corruptions"]
    assert list(table) == list(CORRUPTIONS)
    assert all(list(levels) == ["1", "2", "3", "4", "5"] for levels in table.values())
    fourth_level2 = images(4, 32, 100 + 5 * 3 + 2)
    acc, loss = evaluate_clean(model, fourth_level2.images, fourth_level2.labels, 16)
    assert table[CORRUPTIONS[3]]["2"] == {"acc": round(acc, 2), "loss": round(loss, 4)}
    no_c = evaluate(model, dataclasses.replace(CIFAR, corruptions=False), data, device="cpu", progress=False)
    assert "corruptions" not in no_c


@pytest.mark.parametrize("skip, extra, match", [
    (("fog", 3), None, "missing"),
    (None, ("blur", 1), "unknown"),
    (None, ("fog", 6), "unknown"),
    (None, ("fog", 2), "twice"),
])
def test_incomplete_or_unknown_corruption_sets_are_refused(skip, extra, match):
    with pytest.raises(DataFormatError, match=match):
        evaluate_corruptions(linear_model(32), corruption_sets(skip, extra), 16, progress=False)


# One epoch of real training on a few digits: the checkpoint is the trainer's own.
TRAINED = Profile(name="t-trained", dataset="digits", base_channels=1, resolution=8, epochs=1, batch_size=32,
                  lr_milestones=(), crop_padding=0, hflip=False, train_step=0.05, train_steps=1,
                  val_pgd_steps=1, val_cw_steps=1, corruptions=False, save_epochs=(), train_limit=32, val_limit=16,
                  test_limit=16, **{**SMALL, "eps": 0.125, "attack_step": 0.03})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The best checkpoint of a run the trainer wrote, its model, and its state without our keys."""
    from nares_nas.live.data import datasets_for
    from nares_nas.live.trainer import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    result = train(ARCH, TRAINED, datasets_for(TRAINED), out, seed=0, device="cpu", progress=False, num_threads=1)
    state = load_checkpoint(result.best_checkpoint)
    model = build_model(ARCH, TRAINED.base_channels)
    model.load_state_dict(state["model_state_dict"], strict=True)
    reference = {key: state[key] for key in CHECKPOINT_KEYS}
    return model, reference, result.best_checkpoint


def test_our_checkpoints_name_their_arch_and_profile(checkpoint):
    model, _, path = checkpoint
    state = load_checkpoint(path)
    assert state["arch"] == {"D1": 4, "W1": 8, "D2": 4, "W2": 8, "D3": 4, "W3": 8}
    assert Profile.from_dict(state["profile"]) == TRAINED
    assert checkpoint_profile(path) == TRAINED


def test_checkpoint_evaluation_equals_evaluating_the_model(checkpoint):
    model, _, path = checkpoint
    data = DataBundle(images(8, 8, 2), images(8, 8, 2), images(8, 8, 2))
    expected = evaluate(model, TRAINED, data, seed=1, device="cpu", progress=False)
    assert evaluate_checkpoint(path, TRAINED, data, seed=1, device="cpu", progress=False) == expected
    assert evaluate_checkpoint(path, None, data, seed=1, device="cpu", progress=False) == expected  # its own profile
    assert expected["test_clean_acc"] >= 0 and list(expected) == list(TEST_KEYS)


def test_reference_checkpoints_need_the_arch_and_may_carry_a_module_prefix(checkpoint, tmp_path):
    model, state, _ = checkpoint
    data = DataBundle(images(8, 8, 2), images(8, 8, 2), images(8, 8, 2))
    path = tmp_path / "arch_1.pth"
    prefixed = {f"module.{k}": v for k, v in state["model_state_dict"].items()}
    torch.save({**state, "model_state_dict": prefixed}, path)
    with pytest.raises(DataFormatError, match="arch="):
        evaluate_checkpoint(path, TRAINED, data, device="cpu", progress=False)
    with pytest.raises(DataFormatError, match="no 'profile' entry"):
        evaluate_checkpoint(path, None, data, arch=ARCH, device="cpu", progress=False)
    assert checkpoint_profile(path) is None
    expected = evaluate(model, TRAINED, data, seed=0, device="cpu", progress=False)
    assert evaluate_checkpoint(path, TRAINED, data, arch=ARCH, device="cpu", progress=False) == expected


def test_checkpoint_of_another_shape_is_refused_by_name(checkpoint):
    _, _, path = checkpoint
    data = DataBundle(images(8, 8, 2), images(8, 8, 2), images(8, 8, 2))
    with pytest.raises(DataFormatError, match="base_channels 2"):
        evaluate_checkpoint(path, dataclasses.replace(TRAINED, base_channels=2), data, device="cpu")
    with pytest.raises(DataFormatError, match="not"):
        evaluate_checkpoint(path, TRAINED, data, arch=Arch(5, 8, 4, 8, 4, 8), device="cpu")


def test_auto_device_is_cuda_only_when_available():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
