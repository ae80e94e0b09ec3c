"""Image sets for live training, read without torchvision (spec §2.3, Appendix B).

CIFAR-10 python batches, CIFAR-10.1 v6 and CIFAR-10-C are read from a directory the user gives and
checked (shapes, dtypes, label range) with errors that name the file; scikit-learn's bundled digits
are the offline stand-in. Every set is held as uint8 ``(N, 3, H, W)`` so a whole training set fits on
the accelerator; :func:`to_float` maps to [0, 1] (the model has no normalisation layer).
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nares_nas._rng import as_generator
from nares_nas.errors import DataFormatError
from nares_nas.live.profiles import Profile
from nares_nas.metrics import CORRUPTIONS, SEVERITIES

N_CLASSES = 10
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_FILE = "test_batch"
CIFAR10C_FOLDERS = ("CIFAR-10-C", "cifar10c")
# md5 sums the spec gives (Appendix B); extracted files have none.
KNOWN_MD5 = {CIFAR_ARCHIVE: "c58f30108f718f92721af3b95e74349a"}


@dataclass(frozen=True)
class ImageSet:
    """Labelled images: uint8 ``(N, 3, H, W)`` and int64 ``(N,)`` labels in 0..9."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise DataFormatError(
                f"images must be uint8 (N, 3, H, W), got {self.images.dtype} {tuple(self.images.shape)}",
                path=self.name,
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise DataFormatError(
                f"labels must be int64 of shape ({self.images.shape[0]},), got {self.labels.dtype} "
                f"{tuple(self.labels.shape)}",
                path=self.name,
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, size: int | None, rng: np.random.Generator) -> ImageSet:
        """A random subset of ``size`` images (kept in their original order); all when ``None``."""
        if size is None or size >= len(self):
            return self
        index = torch.from_numpy(np.sort(rng.permutation(len(self))[:size]))
        return ImageSet(self.images[index], self.labels[index], f"{self.name}[:{size}]")


CorruptionIter = Callable[[], Iterator[tuple[str, int, ImageSet]]]


@dataclass(frozen=True)
class DataBundle:
    """The sets one profile trains, validates and tests on; ``corruptions`` iterates CIFAR-10-C."""

    train: ImageSet
    val: ImageSet
    test: ImageSet
    corruptions: CorruptionIter | None = None


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images to float32 in [0, 1] (the reference's ``ToTensor``), on the same device."""
    return images.to(torch.float32).div_(255.0)


# --------------------------------------------------------------------------- checks
def _check_labels(labels: np.ndarray, path: Path, key: str | None = None) -> torch.Tensor:
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(
            f"labels must be a 1-d integer array, got {labels.dtype} {labels.shape}", path=str(path), key=key
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise DataFormatError(
            f"labels must lie in 0..{N_CLASSES - 1}, got {int(labels.min())}..{int(labels.max())}",
            path=str(path), key=key,
        )
    return torch.from_numpy(labels.astype(np.int64))


def _check_hwc(images: np.ndarray, path: Path, size: int = 32) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise DataFormatError(
            f"expected uint8 images of shape (N, {size}, {size}, 3), got {images.dtype} {images.shape}",
            path=str(path),
        )


def _hwc_to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataFormatError(f"missing {what} file", path=str(path))
    return path


def _load_npy(path: Path, mmap: bool = False) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataFormatError(f"not a readable .npy array ({err})", path=str(path)) from None


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- CIFAR-10
class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR batch dicts: builtins and numpy arrays only, never arbitrary code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One python batch → uint8 (N, 3, 32, 32) CHW images and labels."""
    _require(path, "CIFAR-10 batch")
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataFormatError(f"not a CIFAR-10 python batch ({err})", path=str(path)) from None
    if not isinstance(batch, dict):
        raise DataFormatError(f"expected a dict, got {type(batch).__name__}", path=str(path))
    for key in ("data", "labels"):
        if key not in batch:
            raise DataFormatError(f"missing key; found {sorted(map(str, batch))}", path=str(path), key=key)
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DataFormatError(
            f"expected uint8 array (N, 3072), got {getattr(data, 'dtype', type(data).__name__)} {shape}",
            path=str(path), key="data",
        )
    try:
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except (TypeError, ValueError):
        raise DataFormatError("labels must be a list of ints", path=str(path), key="labels") from None
    if labels.shape != (len(data),):
        raise DataFormatError(
            f"expected {len(data)} labels (one per image), got shape {labels.shape}", path=str(path), key="labels"
        )
    _check_labels(labels, path, key="labels")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar_folder(root: Path) -> Path:
    """``root`` itself, ``root/cifar-10-batches-py``, or that folder extracted from the archive."""
    root = Path(root)
    if (root / CIFAR_TEST_FILE).is_file() or root.name == CIFAR_FOLDER:
        return root
    folder = root / CIFAR_FOLDER
    archive = root / CIFAR_ARCHIVE
    if not folder.is_dir() and archive.is_file():
        if md5sum(archive) != KNOWN_MD5[CIFAR_ARCHIVE]:
            raise DataFormatError(f"md5 differs from {KNOWN_MD5[CIFAR_ARCHIVE]}", path=str(archive))
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(root, filter="data")
    if not folder.is_dir():
        raise DataFormatError(f"missing CIFAR-10 folder (or {CIFAR_ARCHIVE} beside it)", path=str(folder))
    return folder


def load_cifar10(root: str | Path) -> tuple[ImageSet, ImageSet]:
    """CIFAR-10 train (``data_batch_1..5`` in order) and test (``test_batch``) from python batches."""
    folder = _cifar_folder(Path(root))
    parts = [_read_batch(folder / name) for name in CIFAR_TRAIN_FILES]
    train = ImageSet(
        torch.from_numpy(np.concatenate([p[0] for p in parts])),
        torch.from_numpy(np.concatenate([p[1] for p in parts])),
        "cifar10-train",
    )
    test_images, test_labels = _read_batch(folder / CIFAR_TEST_FILE)
    return train, ImageSet(torch.from_numpy(test_images), torch.from_numpy(test_labels), "cifar10-test")


def load_cifar101(root: str | Path, version: str = "v6") -> ImageSet:
    """CIFAR-10.1 (``cifar10.1_<version>_data.npy`` HWC uint8 and ``_labels.npy``), the validation set."""
    root = Path(root)
    data_path = _require(root / f"cifar10.1_{version}_data.npy", "CIFAR-10.1 data")
    label_path = _require(root / f"cifar10.1_{version}_labels.npy", "CIFAR-10.1 labels")
    images = _load_npy(data_path)
    _check_hwc(images, data_path)
    labels = _check_labels(_load_npy(label_path), label_path)
    if len(labels) != len(images):
        raise DataFormatError(f"{len(labels)} labels for {len(images)} images in {data_path.name}",
                              path=str(label_path))
    return ImageSet(_hwc_to_tensor(images), labels, f"cifar10.1-{version}")


def cifar10c_folder(root: str | Path) -> Path:
    """``root`` when it holds ``labels.npy``, else its ``CIFAR-10-C`` or ``cifar10c`` subfolder."""
    root = Path(root)
    for folder in (root, *(root / name for name in CIFAR10C_FOLDERS)):
        if (folder / "labels.npy").is_file():
            return folder
    tried = ", ".join(str(root / name) for name in ("", *CIFAR10C_FOLDERS))
    raise DataFormatError(f"missing CIFAR-10-C labels.npy (looked in {tried})", path=str(root / "labels.npy"))


def check_cifar10c(root: str | Path) -> tuple[Path, torch.Tensor]:
    """Check all 19 corruption files (existence, header shape) before any is read in full."""
    folder = cifar10c_folder(root)
    label_path = folder / "labels.npy"
    labels = _check_labels(_load_npy(label_path), label_path)
    if len(labels) == 0 or len(labels) % len(SEVERITIES):
        raise DataFormatError(f"expected a positive multiple of {len(SEVERITIES)} labels, got {len(labels)}",
                              path=str(label_path))
    missing = [f"{name}.npy" for name in CORRUPTIONS if not (folder / f"{name}.npy").is_file()]
    if missing:
        raise DataFormatError(f"missing CIFAR-10-C files {missing}", path=str(folder))
    for name in CORRUPTIONS:
        path = folder / f"{name}.npy"
        images = _load_npy(path, mmap=True)
        _check_hwc(images, path)
        if len(images) != len(labels):
            raise DataFormatError(f"{len(images)} images but labels.npy has {len(labels)}", path=str(path))
    return folder, labels


def iter_cifar10c(root: str | Path) -> Iterator[tuple[str, int, ImageSet]]:
    """Yield ``(corruption, severity, images)`` for the 19 corruptions × 5 severities (spec §3.9).

    Files are memory-mapped and read one severity slice at a time (each file is ≈154 MB).
    """
    folder, labels = check_cifar10c(root)
    per_level = len(labels) // len(SEVERITIES)
    for name in CORRUPTIONS:
        images = _load_npy(folder / f"{name}.npy", mmap=True)
        for severity in SEVERITIES:
            rows = slice((severity - 1) * per_level, severity * per_level)
            yield name, severity, ImageSet(_hwc_to_tensor(images[rows]), labels[rows], f"{name}-{severity}")


# --------------------------------------------------------------------------- digits
def load_digits_sets(
    resolution: int, seed: int, val_fraction: float = 0.1, test_fraction: float = 0.2
) -> tuple[ImageSet, ImageSet, ImageSet]:
    """scikit-learn's 1,797 digits as 3×res×res uint8 images, split stratified by ``seed``.

    Values 0..16 map to round(v·255/16) (so :func:`to_float` gives v/16 to within 0.2 %), nearest
    upsampling from 8×8, grey repeated to 3 channels. Per class, a permutation drawn from ``seed``
    gives the test, validation and training images in that order; each split is then shuffled.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    values = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)  # (N, 8, 8)
    source = (np.arange(resolution) * values.shape[1]) // resolution  # nearest-neighbour index
    images = np.repeat(values[:, source][:, :, source][:, None], 3, axis=1)
    labels = digits.target.astype(np.int64)
    rng = as_generator(seed)
    splits: list[list[np.ndarray]] = [[], [], []]
    for cls in range(N_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_test = int(round(len(members) * test_fraction))
        n_val = int(round(len(members) * val_fraction))
        splits[2].append(members[:n_test])
        splits[1].append(members[n_test:n_test + n_val])
        splits[0].append(members[n_test + n_val:])
    sets = []
    for name, parts in zip(("digits-train", "digits-val", "digits-test"), splits):
        index = rng.permutation(np.concatenate(parts))
        sets.append(ImageSet(torch.from_numpy(images[index]), torch.from_numpy(labels[index]), name))
    return sets[0], sets[1], sets[2]


def datasets_for(profile: Profile, data_dir: str | Path | None = None) -> DataBundle:
    """The train/val/test sets (and CIFAR-10-C iterator) ``profile`` asks for.

    cifar10: train = CIFAR-10 train, val = CIFAR-10.1 v6, test = CIFAR-10 test, all read from
    ``data_dir`` (CIFAR-10-C from its ``CIFAR-10-C``/``cifar10c`` subfolder). digits ignores
    ``data_dir``. Size limits of the profile take seeded random subsets (``split_seed``).
    """
    rng = as_generator(profile.split_seed)
    corruptions = None
    if profile.dataset == "digits":
        train, val, test = load_digits_sets(
            profile.resolution, profile.split_seed, profile.val_fraction, profile.test_fraction
        )
    else:
        if data_dir is None:
            raise DataFormatError("profile dataset cifar10 needs a data directory", key="data_dir")
        root = Path(data_dir)
        train, test = load_cifar10(root)
        val = load_cifar101(root)
        if profile.corruptions:
            folder, _ = check_cifar10c(root)
            corruptions = lambda: iter_cifar10c(folder)  # noqa: E731
    return DataBundle(
        train.subset(profile.train_limit, rng),
        val.subset(profile.val_limit, rng),
        test.subset(profile.test_limit, rng),
        corruptions,
    )
