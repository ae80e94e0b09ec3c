"""Data readers on tiny files written here in the real formats, the digits split and augmentation."""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from nares_nas.errors import DataFormatError
from nares_nas.live.augment import random_crop_flip
from nares_nas.live.data import (
    DataBundle,
    ImageSet,
    datasets_for,
    iter_cifar10c,
    load_cifar10,
    load_cifar101,
    load_digits_sets,
    to_float,
)
from nares_nas.live.profiles import DIGITS, NARES
from nares_nas.metrics import CORRUPTIONS


# --------------------------------------------------------------------------- writers (real formats)
def write_batch(path, data, labels, protocol=2):
    """A CIFAR-10 python batch: a dict with str keys, ``data`` uint8 (N, 3072), ``labels`` a list."""
    batch = {"batch_label": "testing batch 1 of 1", "labels": list(labels), "data": data,
             "filenames": [f"img_{i}.png" for i in range(len(labels))]}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=protocol)


def make_cifar(root, n=4, seed=0):
    """``root/cifar-10-batches-py`` with 5 train batches and a test batch of ``n`` images each."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        write_batch(folder / name, data, labels)
        batches[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                     "ship", "truck"]}, f, protocol=2)
    return batches


def make_cifar101(root, n=6, seed=1, version="v6"):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.int32)
    np.save(root / f"cifar10.1_{version}_data.npy", images)
    np.save(root / f"cifar10.1_{version}_labels.npy", labels)
    return images, labels


def make_cifar10c(folder, per_level=2, seed=2):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.tile(rng.integers(0, 10, per_level), 5).astype(np.uint8)
    np.save(folder / "labels.npy", labels)
    arrays = {}
    for name in CORRUPTIONS:
        arrays[name] = rng.integers(0, 256, (5 * per_level, 32, 32, 3), dtype=np.uint8)
        np.save(folder / f"{name}.npy", arrays[name])
    return arrays, labels


# --------------------------------------------------------------------------- CIFAR-10
def test_cifar10_batches_are_read_plane_by_plane_in_order(tmp_path):
    batches = make_cifar(tmp_path, n=3)
    train, test = load_cifar10(tmp_path)
    assert train.images.shape == (15, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.images.shape == (3, 3, 32, 32) and test.labels.dtype == torch.int64
    data, labels = batches["data_batch_2"]
    image = train.images[3]  # first image of batch 2
    assert torch.equal(image[0].flatten(), torch.from_numpy(data[0, :1024]))  # R plane first
    assert torch.equal(image[2, 1], torch.from_numpy(data[0, 2048 + 32:2048 + 64]))  # B plane, row 1
    assert train.labels[3:6].tolist() == labels
    assert test.labels.tolist() == batches["test_batch"][1]
    # the folder itself works as root too
    assert torch.equal(load_cifar10(tmp_path / "cifar-10-batches-py")[1].images, test.images)


def test_cifar10_batch_written_with_protocol_4_and_numpy_labels_loads(tmp_path):
    make_cifar(tmp_path, n=2)
    data = np.zeros((2, 3072), np.uint8)
    write_batch(tmp_path / "cifar-10-batches-py" / "test_batch", data, np.array([1, 9]), protocol=4)
    assert load_cifar10(tmp_path)[1].labels.tolist() == [1, 9]


def test_missing_cifar10_batch_is_named(tmp_path):
    make_cifar(tmp_path)
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    with pytest.raises(DataFormatError, match="data_batch_3: missing CIFAR-10 batch file"):
        load_cifar10(tmp_path)


def test_missing_cifar10_folder_is_named(tmp_path):
    with pytest.raises(DataFormatError, match="cifar-10-batches-py: missing CIFAR-10 folder"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize(
    ("data", "labels", "match"),
    [
        (np.zeros((2, 3000), np.uint8), [0, 1], 'key "data": expected uint8 array'),
        (np.zeros((2, 3072), np.float32), [0, 1], 'key "data": expected uint8 array'),
        (np.zeros((2, 3072), np.uint8), [0], 'key "labels": expected 2 labels'),
        (np.zeros((2, 3072), np.uint8), [0, 10], r'key "labels": labels must lie in 0..9'),
        (np.zeros((2, 3072), np.uint8), ["a", "b"], 'key "labels": labels must be a list of ints'),
    ],
)
def test_malformed_cifar10_batch_names_file_and_key(tmp_path, data, labels, match):
    make_cifar(tmp_path)
    write_batch(tmp_path / "cifar-10-batches-py" / "data_batch_1", data, labels)
    with pytest.raises(DataFormatError, match=match) as err:
        load_cifar10(tmp_path)
    assert err.value.path.endswith("data_batch_1")


def test_cifar10_batch_that_is_not_a_batch(tmp_path):
    make_cifar(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "test_batch").write_bytes(b"not a pickle at all")
    with pytest.raises(DataFormatError, match="test_batch: not a CIFAR-10 python batch"):
        load_cifar10(tmp_path)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"labels": [0]}, f)
    with pytest.raises(DataFormatError, match='key "data": missing key'):
        load_cifar10(tmp_path)


def test_cifar10_pickle_with_foreign_objects_is_refused(tmp_path):
    make_cifar(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"data": os.getcwd, "labels": []}, f)  # a global outside the CIFAR format
    with pytest.raises(DataFormatError, match="refusing to load"):
        load_cifar10(tmp_path)


def test_cifar10_archive_with_wrong_md5_is_refused(tmp_path):
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    with pytest.raises(DataFormatError, match="cifar-10-python.tar.gz: md5 differs"):
        load_cifar10(tmp_path)


# --------------------------------------------------------------------------- CIFAR-10.1
def test_cifar101_is_read_hwc_and_cast(tmp_path):
    images, labels = make_cifar101(tmp_path)
    val = load_cifar101(tmp_path)
    assert val.images.shape == (6, 3, 32, 32) and val.labels.dtype == torch.int64
    assert torch.equal(val.images.permute(0, 2, 3, 1), torch.from_numpy(images))
    assert val.labels.tolist() == labels.tolist()


def test_cifar101_errors_name_the_file(tmp_path):
    with pytest.raises(DataFormatError, match="cifar10.1_v6_data.npy: missing CIFAR-10.1 data file"):
        load_cifar101(tmp_path)
    make_cifar101(tmp_path)
    np.save(tmp_path / "cifar10.1_v6_labels.npy", np.zeros(5, np.int32))
    with pytest.raises(DataFormatError, match="cifar10.1_v6_labels.npy: 5 labels for 6 images"):
        load_cifar101(tmp_path)
    np.save(tmp_path / "cifar10.1_v6_data.npy", np.zeros((5, 32, 32, 3), np.float32))
    with pytest.raises(DataFormatError, match=r"cifar10.1_v6_data.npy: expected uint8 images of shape"):
        load_cifar101(tmp_path)
    (tmp_path / "cifar10.1_v6_data.npy").write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="not a readable .npy array"):
        load_cifar101(tmp_path)


# --------------------------------------------------------------------------- CIFAR-10-C
def test_cifar10c_yields_every_corruption_and_severity_slice(tmp_path):
    arrays, labels = make_cifar10c(tmp_path / "CIFAR-10-C")
    seen = list(iter_cifar10c(tmp_path))
    assert [(c, s) for c, s, _ in seen] == [(c, s) for c in CORRUPTIONS for s in range(1, 6)]
    name, severity, images = seen[5 * 7 + 2]  # gaussian_noise, severity 3
    assert (name, severity) == ("gaussian_noise", 3)
    assert torch.equal(images.images.permute(0, 2, 3, 1), torch.from_numpy(arrays[name][4:6]))
    assert images.labels.tolist() == labels[4:6].tolist()


def test_cifar10c_missing_or_malformed_files_are_named(tmp_path):
    folder = tmp_path / "cifar10c"
    make_cifar10c(folder)
    os.remove(folder / "frost.npy")
    os.remove(folder / "snow.npy")
    with pytest.raises(DataFormatError, match=r"missing CIFAR-10-C files \['frost.npy', 'snow.npy'\]"):
        list(iter_cifar10c(tmp_path))
    np.save(folder / "frost.npy", np.zeros((10, 32, 32, 3), np.uint8))
    np.save(folder / "snow.npy", np.zeros((9, 32, 32, 3), np.uint8))
    with pytest.raises(DataFormatError, match="snow.npy: 9 images but labels.npy has 10"):
        list(iter_cifar10c(tmp_path))
    np.save(folder / "labels.npy", np.zeros(7, np.uint8))
    with pytest.raises(DataFormatError, match="labels.npy: expected a positive multiple of 5 labels"):
        list(iter_cifar10c(folder))
    with pytest.raises(DataFormatError, match="missing CIFAR-10-C labels.npy"):
        list(iter_cifar10c(tmp_path / "nowhere"))


# --------------------------------------------------------------------------- digits
def test_digits_split_is_stratified_disjoint_and_seeded():
    train, val, test = load_digits_sets(8, seed=0)
    assert (len(train), len(val), len(test)) == (1259, 179, 359)  # per class: round(10 %) val, round(20 %) test
    for part in (train, val, test):
        assert part.images.shape[1:] == (3, 8, 8) and part.images.dtype == torch.uint8
        counts = torch.bincount(part.labels, minlength=10)
        assert counts.min() >= 0.9 * counts.float().mean()  # every class in its share
    flat = torch.cat([p.images[:, 0].flatten(1) for p in (train, val, test)])
    assert len(flat) == 1797
    again = load_digits_sets(8, seed=0)
    assert all(torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
               for a, b in zip((train, val, test), again))
    assert not torch.equal(load_digits_sets(8, seed=1)[2].labels, test.labels)


def test_digits_values_and_nearest_upsampling():
    from sklearn.datasets import load_digits

    raw = load_digits()
    train8, _, _ = load_digits_sets(8, seed=0)
    train16, _, _ = load_digits_sets(16, seed=0)
    assert train8.images.max() == 255 and train8.images.min() == 0
    assert torch.equal(train8.images[:, 0], train8.images[:, 2])  # grey repeated to 3 channels
    assert torch.allclose(to_float(train8.images), (to_float(train8.images) * 16).round() / 16, atol=0.002)
    # each 2×2 block of the 16-px image is one 8-px pixel
    assert torch.equal(train16.images[:, :, ::2, ::2], train8.images)
    assert torch.equal(train16.images[:, :, 1::2, 1::2], train8.images)
    # the pixels are the scikit-learn values: find the first training image among the raw digits
    values = torch.from_numpy(np.rint(raw.images * 255 / 16).astype(np.uint8))
    match = (values == train8.images[0, 0]).flatten(1).all(1).nonzero().flatten()
    assert len(match) >= 1 and raw.target[match[0]] == train8.labels[0]


def test_datasets_for_digits_applies_seeded_limits():
    profile = dataclasses.replace(DIGITS, train_limit=64, val_limit=20, test_limit=30)
    bundle = datasets_for(profile)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (64, 20, 30)
    assert bundle.corruptions is None and bundle.train.images.shape[-1] == DIGITS.resolution
    assert torch.equal(datasets_for(profile).train.images, bundle.train.images)


def test_datasets_for_cifar10_reads_all_sets(tmp_path):
    make_cifar(tmp_path, n=2)
    make_cifar101(tmp_path)
    make_cifar10c(tmp_path / "CIFAR-10-C", per_level=1)
    bundle = datasets_for(dataclasses.replace(NARES, val_limit=4), tmp_path)
    assert isinstance(bundle, DataBundle)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (10, 4, 2)
    assert sum(1 for _ in bundle.corruptions()) == 95
    no_c = datasets_for(dataclasses.replace(NARES, corruptions=False), tmp_path)
    assert no_c.corruptions is None
    with pytest.raises(DataFormatError, match="needs a data directory"):
        datasets_for(NARES, None)


def test_image_set_checks_its_arrays():
    with pytest.raises(DataFormatError, match="uint8"):
        ImageSet(torch.zeros(2, 3, 8, 8), torch.zeros(2, dtype=torch.int64), "x")
    with pytest.raises(DataFormatError, match="labels must be int64"):
        ImageSet(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64), "x")


# --------------------------------------------------------------------------- augmentation
def reference_crop_flip(images, offsets, flips, padding):
    """torchvision's RandomCrop(padding) + RandomHorizontalFlip, one image at a time."""
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    h, w = images.shape[-2:]
    out = []
    for img, (dy, dx), flip in zip(padded, offsets.tolist(), flips.tolist()):
        crop = img[:, dy:dy + h, dx:dx + w]
        out.append(crop.flip(-1) if flip else crop)
    return torch.stack(out)


def test_batched_crop_flip_equals_the_per_image_reference():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    offsets = torch.randint(0, 9, (64, 2), generator=g)
    flips = torch.rand(64, generator=g) < 0.5
    assert torch.equal(out, reference_crop_flip(images, offsets, flips, 4))
    assert 0 < flips.sum() < 64 and len(set(map(tuple, offsets.tolist()))) > 20
    assert out.dtype == torch.uint8 and out.is_contiguous()


def test_crop_flip_is_identity_without_padding_and_flip():
    images = torch.rand(8, 3, 8, 8)
    assert torch.equal(random_crop_flip(images, torch.Generator().manual_seed(0), 0, False), images)
    flipped = random_crop_flip(images, torch.Generator().manual_seed(0), 0, True)
    assert all(torch.equal(f, i) or torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images))
