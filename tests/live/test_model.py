"""The NARes network: exact params/MACs, reference state-dict keys, initialisation, topology."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nares_nas.errors import ConfigError
from nares_nas.live.model import PreActRobustNetwork, build_model, count_macs, count_params, stage_channels
from nares_nas.space import Arch

ARCHS = ["4,8,4,8,4,8", "4,8,4,8,5,8", "5,10,5,10,5,10", "4,16,4,14,9,10", "7,12,9,8,11,16",
         "11,16,11,16,11,16"]


def spec_keys(arch: Arch) -> list[str]:
    """The state-dict keys spec §1.2 lists, in module order."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = ["stem_conv.weight"]
    for s, depth in enumerate(arch.depths):
        for b in range(depth):
            p = f"blocks.{s}.layer.{b}"
            keys += [f"{p}.bn1.{k}" for k in bn] + [f"{p}.conv1.weight"]
            keys += [f"{p}.bn2.{k}" for k in bn] + [f"{p}.conv2.weight"]
            if b == 0:
                keys.append(f"{p}.shortcut.0.weight")
    return keys + [f"norm1.{k}" for k in bn] + ["fc.weight", "fc.bias"]


def closed_form(arch: Arch, base: int, res: int) -> tuple[int, int]:
    """Spec §1.3's params/MACs closed forms, with the stem width and input size as parameters."""
    params, macs = 27 * base, 27 * base * res * res
    c_in, h_in = base, res
    for stage, (depth, c) in enumerate(zip(arch.depths, stage_channels(arch, base))):
        h = res // (1, 2, 4)[stage]
        for b in range(depth):
            cin, hin = (c_in, h_in) if b == 0 else (c, h)
            params += 2 * cin + 9 * cin * c + 2 * c + 9 * c * c + (cin * c if b == 0 else 0)
            macs += cin * hin * hin + 9 * cin * c * h * h + c * h * h + 9 * c * c * h * h
            macs += cin * c * h * h if b == 0 else 0
        c_in, h_in = c, h
    return params + 2 * c_in + 10 * c_in + 10, macs + h_in * h_in * c_in + c_in + 10 * c_in


@pytest.mark.parametrize("text", ARCHS)
def test_params_and_macs_equal_the_published_closed_forms(text):
    arch = Arch.parse(text)
    model = build_model(arch, device="meta")
    assert count_params(model) == arch.params
    assert count_macs(model, 32) == arch.macs


def test_published_values_of_the_extreme_archs():
    small = build_model(Arch.parse("4,8,4,8,4,8"), device="meta")
    large = build_model(Arch.parse("11,16,11,16,11,16"), device="meta")
    assert (count_params(small), count_macs(small)) == (23_354_842, 3_361_936_896)
    assert (count_params(large), count_macs(large)) == (266_796_506, 38_774_320_128)


@pytest.mark.parametrize(("base", "res"), [(1, 8), (2, 8), (2, 16), (4, 32)])
def test_scaled_models_follow_the_closed_form(base, res):
    arch = Arch.parse("5,10,4,12,7,8")
    model = build_model(arch, base, device="meta")
    assert (count_params(model), count_macs(model, res)) == closed_form(arch, base, res)


def test_mac_hooks_count_on_a_real_device_too():
    arch = Arch.parse("4,8,4,8,4,8")
    model = build_model(arch, 1)
    assert count_macs(model, 8) == closed_form(arch, 1, 8)[1]
    assert model.training  # restored after counting


def test_state_dict_keys_are_the_reference_names():
    arch = Arch.parse("4,8,5,10,4,12")
    model = build_model(arch, 1)
    assert list(model.state_dict()) == spec_keys(arch)
    # a state dict carrying exactly the published names loads strictly
    published = {key: value.clone() for key, value in build_model(arch, 1, device="cpu").state_dict().items()}
    assert set(published) == set(spec_keys(arch))
    model.load_state_dict(published, strict=True)
    with pytest.raises(RuntimeError):
        model.load_state_dict({f"module.{k}": v for k, v in published.items()}, strict=True)


def test_topology_matches_the_reference_block():
    arch = Arch.parse("4,8,4,8,4,8")
    model = build_model(arch, 2, generator=torch.Generator().manual_seed(3)).eval()
    for stage in model.blocks:
        layers = list(stage.layer)
        assert layers[0].shortcut is not None and all(b.shortcut is None for b in layers[1:])
    assert [m.stride for m in (model.blocks[s].layer[0].conv1 for s in range(3))] == [(1, 1), (2, 2), (2, 2)]
    block = model.blocks[1].layer[0]
    with torch.no_grad():
        for bn in (block.bn1, block.bn2):  # non-trivial statistics, so x and ReLU(bn1(x)) differ
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.bias.uniform_(-0.5, 0.5)
        x = torch.randn(2, 16, 8, 8)
        a = torch.relu(block.bn1(x))
        expected = block.conv2(torch.relu(block.bn2(block.conv1(a)))) + block.shortcut[0](a)
        assert torch.allclose(block(x), expected)
        identity = model.blocks[1].layer[1]
        y = torch.randn(2, 32, 4, 4)
        assert torch.allclose(identity(y), identity.conv2(torch.relu(identity.bn2(identity.conv1(
            torch.relu(identity.bn1(y)))))) + y)
    assert model(torch.rand(3, 3, 8, 8)).shape == (3, 10)


def test_initialisation_follows_the_reference():
    model = build_model(Arch.parse("4,8,4,8,4,8"), 16, generator=torch.Generator().manual_seed(0))
    conv = model.blocks[2].layer[1].conv1  # 512×512×3×3: 2.4 M draws
    expected = math.sqrt(2.0 / (3 * 3 * 512))
    assert abs(conv.weight.std().item() / expected - 1) < 0.01
    assert abs(conv.weight.mean().item()) < 0.01 * expected
    short = model.blocks[1].layer[0].shortcut[0]  # 1×1, fan-out 256
    assert abs(short.weight.std().item() / math.sqrt(2.0 / 256) - 1) < 0.02
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0)
            assert torch.all(module.running_mean == 0) and torch.all(module.running_var == 1)
            assert module.num_batches_tracked.item() == 0
    bound = 1 / math.sqrt(model.fc.in_features)
    assert torch.all(model.fc.bias == 0)
    assert model.fc.weight.abs().max() <= bound and model.fc.weight.abs().max() > 0.9 * bound


def test_initialisation_is_drawn_from_the_generator_only():
    arch = Arch.parse("4,8,4,8,4,8")
    global_state = torch.random.get_rng_state()
    a = build_model(arch, 1, generator=torch.Generator().manual_seed(5))
    b = build_model(arch, 1, generator=torch.Generator().manual_seed(5))
    c = build_model(arch, 1, generator=torch.Generator().manual_seed(6))
    assert torch.equal(torch.random.get_rng_state(), global_state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.stem_conv.weight, c.stem_conv.weight)
    assert torch.equal(build_model(arch, 1).fc.weight, build_model(arch, 1).fc.weight)  # default seed 0


def test_build_model_rejects_bad_sizes():
    with pytest.raises(ConfigError, match="^base_channels must be a positive integer, got 0$"):
        build_model(Arch.parse("4,8,4,8,4,8"), 0)
    with pytest.raises(ConfigError, match="^num_classes must be an integer >= 2, got 1$"):
        build_model(Arch.parse("4,8,4,8,4,8"), 16, 1)
    assert isinstance(build_model(Arch.parse("4,8,4,8,4,8"), device="meta"), PreActRobustNetwork)
