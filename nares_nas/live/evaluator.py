"""Test-set evaluation of a trained model: one ``test_best[0]`` record (spec §3, §4).

Clean accuracy and loss, FGSM, PGD-20, CW-40 (accuracy, stable accuracy, LIP), AA-Compact and, when
the profile asks for them, the 19 × 5 CIFAR-10-C sets; values rounded as the reference logs print
them (accuracies 2 decimals, LIP and losses 4). Every random draw comes from ``seed``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nares_nas._rng import as_generator
from nares_nas.errors import DataFormatError
from nares_nas.live.attacks import aa_compact, evaluate_attack, evaluate_clean, fgsm, pgd
from nares_nas.live.checkpoints import load_checkpoint
from nares_nas.live.data import DataBundle, ImageSet
from nares_nas.live.model import build_model
from nares_nas.live.profiles import Profile
from nares_nas.metrics import CORRUPTIONS, SEVERITIES
from nares_nas.progress import progress_bar
from nares_nas.space import ArchLike, to_arch

log = logging.getLogger(__name__)

N_CLASSES = 10


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else as torch reads it."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _torch_generator(rng: np.random.Generator) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))


def evaluate(
    model: nn.Module,
    profile: Profile,
    data: DataBundle,
    *,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    amp: bool = True,
) -> dict[str, Any]:
    """The ``test_best[0]`` dict of spec §4 for ``model`` on ``data.test`` (model moved to ``device``).

    PGD-20 and CW-40 start from uniform noise clamped to [0, 1] (test-time torchattacks); AA-Compact
    runs with a seed drawn from ``seed``. ``corruptions`` is added when ``profile.corruptions`` and
    ``data.corruptions`` is set; it must then yield all 19 corruptions × 5 severities. ``amp``: bf16
    autocast for forwards on CUDA (losses always fp32); no effect on the CPU.
    """
    dev = resolve_device(device)
    model = model.to(dev)
    bs, eps = profile.eval_batch_size, profile.eps
    rng = as_generator(seed)
    gen_pgd, gen_cw, aa_seed = _torch_generator(rng), _torch_generator(rng), int(rng.integers(2**63 - 1))
    x, y = data.test.images.to(dev), data.test.labels.to(dev)

    clean_acc, test_loss = evaluate_clean(model, x, y, bs, amp=amp)
    run = functools.partial(evaluate_attack, model, x, y, batch_size=bs, progress=progress, amp=amp)
    fgsm_r = run(functools.partial(fgsm, eps=eps, amp=amp), lip=False, desc="FGSM")
    common = dict(eps=eps, step=profile.attack_step, amp=amp)
    pgd_r = run(functools.partial(pgd, steps=profile.test_pgd_steps, loss="ce", generator=gen_pgd, **common),
                desc=f"PGD-{profile.test_pgd_steps}")
    cw_r = run(functools.partial(pgd, steps=profile.test_cw_steps, loss="cw", generator=gen_cw, **common),
               desc=f"CW-{profile.test_cw_steps}")
    aa_acc = aa_compact(model, x, y, eps=eps, n_iter=profile.aa_iters, n_target_classes=profile.aa_targets,
                        seed=aa_seed, batch_size=bs, progress=progress, amp=amp)
    result: dict[str, Any] = {
        "test_clean_acc": round(clean_acc, 2),
        "test_loss": round(test_loss, 4),
        "Linf_fgsm_acc": round(fgsm_r.acc, 2),
        "Linf_fgsm_stable": round(fgsm_r.stable, 2),
        "Linf_pgd_acc": round(pgd_r.acc, 2),
        "Linf_pgd_stable": round(pgd_r.stable, 2),
        "Linf_pgd_lip": round(pgd_r.lip, 4),
        "Linf_cw_acc": round(cw_r.acc, 2),
        "Linf_cw_stable": round(cw_r.stable, 2),
        "Linf_cw_lip": round(cw_r.lip, 4),
        "Linf_aa_acc": round(aa_acc, 2),
    }
    log.info("test: %s", result)
    if profile.corruptions and data.corruptions is not None:
        result["corruptions"] = evaluate_corruptions(model, data.corruptions, bs, amp=amp, progress=progress)
    return result


def evaluate_corruptions(
    model: nn.Module,
    corruptions: Callable[[], Iterable[tuple[str, int, ImageSet]]],
    batch_size: int,
    *,
    amp: bool = True,
    progress: bool = True,
) -> dict[str, dict[str, dict[str, float]]]:
    """``{corruption: {"1": {"acc", "loss"}, …, "5": …}}`` over all 19 × 5 sets (spec §3.9)."""
    found: dict[str, dict[str, dict[str, float]]] = {}
    total = len(CORRUPTIONS) * len(SEVERITIES)
    for name, severity, images in progress_bar(corruptions(), total=total, desc="CIFAR-10-C", enabled=progress,
                                               unit="set"):
        if name not in CORRUPTIONS or severity not in SEVERITIES:
            raise DataFormatError(
                f"unknown corruption set ({name!r}, severity {severity!r}); expected one of "
                f"{list(CORRUPTIONS)} × {list(SEVERITIES)}", path=images.name,
            )
        if str(severity) in found.get(name, {}):
            raise DataFormatError(f"corruption {name!r} severity {severity} given twice", path=images.name)
        acc, loss = evaluate_clean(model, images.images, images.labels, batch_size, amp=amp)
        found.setdefault(name, {})[str(severity)] = {"acc": round(acc, 2), "loss": round(loss, 4)}
    missing = [f"{c}/{s}" for c in CORRUPTIONS for s in SEVERITIES if str(s) not in found.get(c, {})]
    if missing:
        raise DataFormatError(f"corruption sets missing: {missing[:5]}{' …' if len(missing) > 5 else ''} "
                              f"({len(missing)} of {total}); the record needs all of them")
    return {c: {str(s): found[c][str(s)] for s in SEVERITIES} for c in CORRUPTIONS}


def checkpoint_profile(path: str | Path) -> Profile | None:
    """The training profile a checkpoint of ours records (None for the reference's, which lack one)."""
    stored = load_checkpoint(path).get("profile")
    return None if stored is None else _profile_of(stored, path)


def _profile_of(stored: Any, path: str | Path) -> Profile:
    if not isinstance(stored, dict):
        raise DataFormatError(f"'profile' is a {type(stored).__name__}, expected the profile's fields",
                              path=str(path), key="profile")
    return Profile.from_dict(stored)


def evaluate_checkpoint(
    path: str | Path,
    profile: Profile | None,
    data: DataBundle,
    *,
    arch: ArchLike | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    amp: bool = True,
) -> dict[str, Any]:
    """:func:`evaluate` on the model of a spec §2.8 checkpoint, loaded with ``strict=True``.

    The architecture is the checkpoint's ``"arch"`` entry (``{"D1": …, "W3": …}``) and, when
    ``profile`` is None, the profile is its ``"profile"`` entry; our trainer writes both. ``arch``
    (and a profile) are needed only for checkpoints without them (the reference's). A given
    ``profile`` is the evaluation protocol; its model (``base_channels``) must fit the weights.
    """
    state = load_checkpoint(path)
    if "arch" not in state and arch is None:
        raise DataFormatError("no 'arch' entry; pass arch= (--arch) for reference checkpoints",
                              path=str(path), key="arch")
    if profile is None:
        if state.get("profile") is None:
            raise DataFormatError("no 'profile' entry; pass a profile (--profile) for reference checkpoints",
                                  path=str(path), key="profile")
        profile = _profile_of(state["profile"], path)
    model_arch = to_arch(state["arch"] if "arch" in state else arch)
    if arch is not None and to_arch(arch) != model_arch:
        raise DataFormatError(f"checkpoint is arch {model_arch}, not {to_arch(arch)}",
                              path=str(path), key="arch")
    net = build_model(model_arch, profile.base_channels, N_CLASSES)
    try:
        net.load_state_dict(_strip_wrappers(state["model_state_dict"]), strict=True)
    except RuntimeError as err:
        raise DataFormatError(
            f"weights do not fit arch {model_arch} with base_channels {profile.base_channels}: {err}",
            path=str(path), key="model_state_dict",
        ) from None
    return evaluate(net, profile, data, seed=seed, device=device, progress=progress, amp=amp)


def _strip_wrappers(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop a ``module.`` (DataParallel, the reference's) or ``_orig_mod.`` (torch.compile) prefix."""
    for prefix in ("module.", "_orig_mod."):
        if weights and all(key.startswith(prefix) for key in weights):
            weights = {key[len(prefix):]: value for key, value in weights.items()}
    return weights
