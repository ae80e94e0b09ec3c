"""The pre-activation wide ResNet of NARes (spec §1.2), for any architecture and channel scale.

Module and attribute names follow the reference ``PreActRobustNetwork`` so that state dicts load
with ``strict=True`` in both directions. ``base_channels=16`` is NARes; smaller values give the
same topology with fewer channels (the CPU profiles).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nares_nas._validation import check_int
from nares_nas.space import Arch

STAGE_STRIDES = (1, 2, 2)


class PreActBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3; the projection shortcut reads the pre-activated input."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, padding=0, bias=False)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu1(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(a)
        return self.conv2(self.relu2(self.bn2(self.conv1(a)))) + skip


class NetworkBlock(nn.Module):
    """One stage: ``depth`` blocks, only the first changes channels and stride."""

    def __init__(self, depth: int, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.layer = nn.Sequential(
            *(
                PreActBasicBlock(in_channels if i == 0 else out_channels, out_channels, stride if i == 0 else 1)
                for i in range(depth)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class PreActRobustNetwork(nn.Module):
    """Stem conv, three stages, BN-ReLU head, global average pool, linear classifier (logits)."""

    def __init__(self, arch: Arch, base_channels: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        self.arch = arch
        self.base_channels = base_channels
        channels = stage_channels(arch, base_channels)
        self.stem_conv = nn.Conv2d(3, base_channels, 3, stride=1, padding=1, bias=False)
        c_in = base_channels
        stages = []
        for depth, c_out, stride in zip(arch.depths, channels, STAGE_STRIDES):
            stages.append(NetworkBlock(depth, c_in, c_out, stride))
            c_in = c_out
        self.blocks = nn.ModuleList(stages)
        self.norm1 = nn.BatchNorm2d(c_in)
        self.act1 = nn.ReLU(inplace=True)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem_conv(x)
        for stage in self.blocks:
            x = stage(x)
        x = self.global_pooling(self.act1(self.norm1(x)))
        return self.fc(torch.flatten(x, 1))


def stage_channels(arch: Arch, base_channels: int = 16) -> tuple[int, int, int]:
    """Stage widths ``b·W1, 2b·W2, 4b·W3`` (``b = 16`` gives :attr:`Arch.channels`)."""
    return (base_channels * arch.W1, 2 * base_channels * arch.W2, 4 * base_channels * arch.W3)


def build_model(
    arch: Arch,
    base_channels: int = 16,
    num_classes: int = 10,
    *,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> PreActRobustNetwork:
    """Build and initialise the network as the reference does (``use_init=True``).

    Conv weights ~ N(0, 2/(k·k·out)) (He fan-out), BN weight 1 / bias 0, Linear bias 0 and weight
    U(±1/√fan_in) (PyTorch's default). All draws come from ``generator`` (a fixed seed-0 generator
    when ``None``, so a model is never initialised from the global RNG). On the ``meta`` device the
    model is only shaped, not initialised (for counting).
    """
    base_channels = check_int(base_channels, "base_channels")
    num_classes = check_int(num_classes, "num_classes", 2)
    with torch.device("meta"):
        model = PreActRobustNetwork(arch, base_channels, num_classes)
    if torch.device(device).type == "meta":
        return model
    model.to_empty(device=torch.device(device))
    init_weights(model, generator if generator is not None else torch.Generator().manual_seed(0))
    return model


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """The reference initialisation, drawing in module order from ``generator`` (on the CPU)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            k_h, k_w = module.kernel_size
            std = math.sqrt(2.0 / (k_h * k_w * module.out_channels))
            module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.weight.fill_(1.0)
            module.bias.zero_()
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.in_features)
            weight = torch.rand(module.weight.shape, generator=generator) * (2 * bound) - bound
            module.weight.copy_(weight)
            module.bias.zero_()


def count_params(model: nn.Module) -> int:
    """Trainable parameters (BN running statistics excluded), as the reference counts them."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, resolution: int = 32) -> int:
    """MACs of one ``3×resolution²`` forward pass under torchprofile's convention (spec §1.3).

    conv: output numel·Cin·k·k/groups; affine BN and adaptive average pooling: output numel;
    Linear: in·out (bias not counted); ReLU and additions: 0. Runs on the ``meta`` device when the
    model lives there, so even WRN-70-16 is counted without allocating weights.
    """
    total = 0

    def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k_h, k_w = module.kernel_size
            total += output.numel() * module.in_channels * k_h * k_w // module.groups
        elif isinstance(module, nn.BatchNorm2d) and module.affine:
            total += output.numel()
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            total += output.numel()
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    device = next(model.parameters()).device
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, resolution, resolution, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total


def model_counts(arch: Arch, base_channels: int = 16, resolution: int = 32) -> dict[str, int]:
    """Exact MACs per image and trainable parameters of the model a profile trains (its width and input
    size), counted on the ``meta`` device. For base 16 at 32 px these are the NARes-space counts."""
    model = build_model(arch, base_channels, device="meta")
    return {"macs": count_macs(model, resolution), "params": count_params(model)}
