"""Training augmentation as batched tensor ops on the training device (spec §2.3).

RandomCrop(size, padding=4, zero fill) followed by RandomHorizontalFlip(0.5), for a whole batch
at once by index arithmetic, drawing only from the generator passed in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(
    images: torch.Tensor, generator: torch.Generator, padding: int = 4, flip: bool = True
) -> torch.Tensor:
    """Zero-padded random crop back to the input size, then a horizontal flip with p = 0.5.

    ``images`` is ``(B, C, H, W)`` of any dtype; ``generator`` must live on ``images.device``.
    Per image, the crop offset is uniform over the ``2·padding + 1`` positions on each axis, then
    the flip is drawn (also when ``flip`` is False, so the stream does not depend on it).
    """
    batch, _, height, width = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (batch, 2), generator=generator, device=device)
    flip = (torch.rand(batch, generator=generator, device=device) < 0.5) & flip
    rows = offsets[:, :1] + torch.arange(height, device=device)  # (B, H)
    cols = torch.arange(width, device=device).expand(batch, width)
    cols = offsets[:, 1:] + torch.where(flip[:, None], width - 1 - cols, cols)  # (B, W)
    index = torch.arange(batch, device=device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()
