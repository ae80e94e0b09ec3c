"""Training/evaluation protocols as data: one frozen, hashable :class:`Profile` per protocol.

``nares`` is spec §2/§3 to the number; ``digits`` is a CPU-sized protocol on scikit-learn's
bundled digits (the one real image set available offline). A profile's values are written with
every result, and :attr:`Profile.key` separates cached results of different protocols.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nares_nas._validation import (
    check_bool,
    check_choice,
    check_input_file,
    check_int,
    check_real,
    check_seed,
    integer_problem,
)
from nares_nas.errors import ConfigError, DataFormatError

DATASETS: tuple[str, ...] = ("cifar10", "digits")


@dataclass(frozen=True)
class Profile:
    """Everything that defines how one architecture is trained and evaluated.

    Accuracies of a run depend on every field, so all of them enter :attr:`key`.
    """

    name: str
    dataset: str = "cifar10"
    base_channels: int = 16  # stem b, stages b·W1, 2b·W2, 4b·W3 (16 = NARes)
    resolution: int = 32
    epochs: int = 100
    batch_size: int = 128  # drop_last
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_milestones: tuple[int, ...] = (75, 90)  # lr·gamma^k from the k-th milestone epoch on
    lr_gamma: float = 0.1
    grad_clip: float = 5.0
    crop_padding: int = 4  # training augmentation: zero-padded random crop (0 = no crop) ...
    hflip: bool = True  # ... then a horizontal flip with p = 0.5
    eps: float = 8 / 255
    train_step: float = 2 / 255
    train_steps: int = 7
    attack_step: float = 0.8 / 255  # validation and test PGD / CW
    val_pgd_steps: int = 20
    val_cw_steps: int = 40
    test_pgd_steps: int = 20
    test_cw_steps: int = 40
    aa_iters: int = 100
    aa_targets: int = 9
    eval_batch_size: int = 100
    corruptions: bool = True
    save_epochs: tuple[int, ...] = (74, 89)
    # Data sizes: None = the whole split. Subsets are drawn with split_seed, the same for every
    # architecture and training seed, so all runs of a profile see the same images.
    train_limit: int | None = None
    val_limit: int | None = None
    test_limit: int | None = None
    split_seed: int = 0
    val_fraction: float = 0.1  # digits only: stratified share of the 1,797 images
    test_fraction: float = 0.2  # digits only

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr_milestones", _int_tuple("lr_milestones", self.lr_milestones))
        object.__setattr__(self, "save_epochs", _int_tuple("save_epochs", self.save_epochs))
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"Profile.name must be a non-empty string, got {self.name!r}")
        check_choice(self.dataset, "Profile.dataset", DATASETS)
        for field in ("base_channels", "resolution", "epochs", "batch_size", "train_steps", "val_pgd_steps",
                      "val_cw_steps", "test_pgd_steps", "test_cw_steps", "aa_iters", "eval_batch_size"):
            check_int(getattr(self, field), f"Profile.{field}")
        check_int(self.aa_targets, "Profile.aa_targets (10 classes)", 1, 9)
        check_int(self.crop_padding, "Profile.crop_padding", 0)
        for field in ("train_limit", "val_limit", "test_limit"):
            if getattr(self, field) is not None:
                check_int(getattr(self, field), f"Profile.{field}")
        check_seed(self.split_seed, "Profile.split_seed")
        for field in ("lr", "eps", "train_step", "attack_step", "grad_clip"):
            check_real(getattr(self, field), f"Profile.{field}", 0, low_open=True)
        for field in ("momentum", "weight_decay"):
            check_real(getattr(self, field), f"Profile.{field}", 0)
        for field in ("hflip", "corruptions"):
            object.__setattr__(self, field, check_bool(getattr(self, field), f"Profile.{field}"))
        check_real(self.lr_gamma, "Profile.lr_gamma", 0, 1, low_open=True)
        val = check_real(self.val_fraction, "Profile.val_fraction", 0, 1, low_open=True, high_open=True)
        test = check_real(self.test_fraction, "Profile.test_fraction", 0, 1, low_open=True, high_open=True)
        if val + test >= 1:
            raise ConfigError(f"Profile.val_fraction + test_fraction must sum below 1, got {self.val_fraction!r} "
                              f"and {self.test_fraction!r}")
        if list(self.lr_milestones) != sorted(set(self.lr_milestones)) or any(
            not 0 < m < self.epochs for m in self.lr_milestones
        ):
            raise ConfigError(
                f"Profile.lr_milestones must be increasing epochs in 1..{self.epochs - 1}, "
                f"got {list(self.lr_milestones)}"
            )
        if any(not 0 <= e < self.epochs for e in self.save_epochs):
            raise ConfigError(
                f"Profile.save_epochs must be epochs in 0..{self.epochs - 1}, got {list(self.save_epochs)}"
            )
        if self.dataset == "cifar10" and self.resolution != 32:
            raise ConfigError(f"Profile.resolution must be 32 for cifar10, got {self.resolution}")
        if self.dataset == "digits" and self.corruptions:
            raise ConfigError("Profile.corruptions must be False for digits (CIFAR-10-C only)")

    def lr_at(self, epoch: int) -> float:
        """Learning rate set at the start of ``epoch`` (0-based), the reference's step schedule."""
        return self.lr * self.lr_gamma ** sum(epoch >= m for m in self.lr_milestones)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Profile:
        """Inverse of :meth:`to_dict`; unknown keys are refused by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown Profile fields {unknown}; valid fields are {sorted(known)}")
        if "name" not in values:
            raise ConfigError("a profile needs a 'name' (the other fields default to the nares profile's)")
        return cls(**values)

    @property
    def key(self) -> str:
        """Short stable hash of all values (12 hex digits of SHA-256 of the sorted JSON)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _int_tuple(field: str, value: Any) -> tuple[int, ...]:
    try:
        items = tuple(value)
    except TypeError:
        raise ConfigError(f"Profile.{field} must be a sequence of integers, got {value!r}") from None
    if any(integer_problem(v) for v in items):
        raise ConfigError(f"Profile.{field} must be a sequence of integers, got {value!r}")
    return tuple(map(int, items))


NARES = Profile(name="nares")

# CPU protocol on sklearn digits, sized so that training [4,8,4,8,4,8] plus the full test evaluation
# takes a few minutes on two CPU cores while showing real robustness (clean > 90 %, PGD-20 well above
# chance and below clean). Deliberate differences from NARes, each for a reason:
# - 8×8 inputs (the digits' own resolution; stages at 8, 4, 2 px) and base_channels 2 (channels
#   2/16/32/64): 3.3 M MACs per image instead of 3.4 G;
# - eps 2/16 = 0.125: two grey levels of the 17-level digits; 8/255 is below one level and leaves
#   almost no gap between clean and PGD accuracy;
# - no crop/flip: a 4-px shift of an 8-px digit or a mirrored digit destroys the label (training
#   stalls at chance with them);
# - PGD-3 training (step eps/2.5), PGD-10/CW-10 validation and PGD-20/CW-20 test (step eps/4),
#   AA-Compact with 20 iterations and 3 target classes: the attack budget scaled to the time;
# - 8 epochs, lr 0.1 → 0.01 → 0.001 at epochs 6 and 7 (NARes 75/90 of 100), saved at 5 and 6
#   (the last epoch at each of the first two rates, as NARes saves 74 and 89).
DIGITS = Profile(
    name="digits",
    dataset="digits",
    base_channels=2,
    resolution=8,
    epochs=8,
    batch_size=64,
    lr=0.1,
    lr_milestones=(6, 7),
    crop_padding=0,
    hflip=False,
    eps=0.125,
    train_step=0.05,
    train_steps=3,
    attack_step=0.03125,
    val_pgd_steps=10,
    val_cw_steps=10,
    test_pgd_steps=20,
    test_cw_steps=20,
    aa_iters=20,
    aa_targets=3,
    eval_batch_size=200,
    corruptions=False,
    save_epochs=(5, 6),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (NARES, DIGITS)}


def get_profile(name: str) -> Profile:
    """The registered profile called ``name``."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}; valid profiles are {sorted(PROFILES)}") from None


def load_profile(text: str) -> Any:
    """A registered profile by name, or one read from a JSON file (its fields, or a record's "profile")."""

    if text in PROFILES or Path(text).suffix != ".json":
        return resolve_profile(text)
    path = check_input_file(text, "profile file")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataFormatError(f"not JSON ({exc})", path=text) from None
    if isinstance(values, dict) and isinstance(values.get("profile"), dict):
        values = values["profile"]
    if not isinstance(values, dict):
        raise DataFormatError("expected a JSON object of profile fields", path=text)
    try:
        return resolve_profile(values)
    except ConfigError as exc:
        raise DataFormatError(str(exc), path=text) from None


def resolve_profile(profile: Any) -> Any:
    """A :class:`~nares_nas.live.profiles.Profile` from itself, its registered name or its dict."""

    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, Mapping):
        return Profile.from_dict(profile)
    return get_profile(str(profile))
