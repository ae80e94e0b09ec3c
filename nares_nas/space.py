"""The NARes search space: 15,625 WRN macro architectures and their published ids.

An architecture is the decision vector ``(D1, W1, D2, W2, D3, W3)``: blocks per stage from
:data:`DEPTHS` and width multipliers from :data:`WIDTHS`. Searchers work on the integer
``arch_id`` (1..15,625, ascending MACs, exactly as published); :class:`Arch` is the readable form.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from nares_nas._validation import integer_problem
from nares_nas.errors import InvalidArchError

DEPTHS: tuple[int, ...] = (4, 5, 7, 9, 11)
WIDTHS: tuple[int, ...] = (8, 10, 12, 14, 16)
KEYS: tuple[str, ...] = ("D1", "W1", "D2", "W2", "D3", "W3")
CHOICES: tuple[tuple[int, ...], ...] = (DEPTHS, WIDTHS) * 3
N_ARCHS = 5**6
N_NEIGHBOURS = 24
STEM_CHANNELS = 16
STAGE_BASE_CHANNELS = (16, 32, 64)
STAGE_RESOLUTIONS = (32, 16, 8)
INPUT_RESOLUTION = 32
N_CLASSES = 10

# arch_id k and k+1 trade places after the stable sort by (MACs, enumeration index): the
# published ids came from NumPy 1.x's unstable argsort, which ordered these 93 of the 172
# tied pairs the other way (spec §1.4).
SWAPPED_TIE_IDS: tuple[int, ...] = (
    25, 76, 176, 640, 737, 1098, 1196, 1214, 1268, 1318, 1463, 1497, 1644, 1712, 1732, 1746,
    1792, 1947, 2025, 2093, 2095, 2420, 2541, 2641, 2643, 2770, 3041, 3125, 3172, 3225, 3227,
    3291, 3293, 3471, 3506, 3889, 3936, 3967, 4033, 4172, 4188, 4282, 4363, 4640, 4790, 4959,
    5176, 5255, 5263, 5372, 5380, 5477, 5560, 5893, 5976, 6092, 6241, 6332, 6389, 6937, 6955,
    7068, 7118, 7462, 7916, 8030, 8605, 8652, 8665, 8831, 8863, 9273, 9290, 9532, 9584, 10084,
    10090, 10431, 10532, 11114, 11280, 11312, 11761, 11772, 12056, 12968, 13310, 13452, 14225,
    14229, 14795, 15507, 15511,
)

ArchLike = Union["Arch", int, str, Sequence[int], Mapping[str, int]]
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Arch:
    """One architecture ``[D1, W1, D2, W2, D3, W3]``; rejects values outside the space."""

    D1: int
    W1: int
    D2: int
    W2: int
    D3: int
    W3: int

    def __post_init__(self) -> None:
        for key, allowed in zip(KEYS, CHOICES):
            value = getattr(self, key)
            if integer_problem(value) is not None:
                raise InvalidArchError(self.to_tuple(), f"{key}={value!r} is not an integer")
            if value not in allowed:
                raise InvalidArchError(
                    self.to_tuple(), f"{key}={value} is not one of {list(allowed)}"
                )
            object.__setattr__(self, key, int(value))

    def to_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, key) for key in KEYS)

    def to_list(self) -> list[int]:
        return list(self.to_tuple())

    @property
    def depths(self) -> tuple[int, int, int]:
        return (self.D1, self.D2, self.D3)

    @property
    def widths(self) -> tuple[int, int, int]:
        return (self.W1, self.W2, self.W3)

    @property
    def channels(self) -> tuple[int, int, int]:
        """Stage output channels ``16·2^(i-1)·W_i``."""
        return tuple(b * w for b, w in zip(STAGE_BASE_CHANNELS, self.widths))

    @property
    def arch_id(self) -> int:
        return _id_by_tuple()[self.to_tuple()]

    @property
    def params(self) -> int:
        """Exact number of trainable parameters."""
        return int(params_by_id()[self.arch_id - 1])

    @property
    def macs(self) -> int:
        """Exact multiply-accumulates of one 32×32 forward pass (torchprofile convention)."""
        return int(macs_by_id()[self.arch_id - 1])

    def __str__(self) -> str:
        return ",".join(str(v) for v in self.to_tuple())

    @classmethod
    def parse(cls, text: str) -> Arch:
        """Parse ``"5,10,5,10,5,10"`` (brackets and spaces allowed)."""
        cleaned = text.strip().strip("[]()")
        parts = [p for p in cleaned.replace(" ", ",").split(",") if p]
        if len(parts) != 6:
            raise InvalidArchError(text, "expected 6 comma-separated integers D1,W1,D2,W2,D3,W3")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise InvalidArchError(text, "expected 6 comma-separated integers") from None
        return cls(*values)

    @classmethod
    def from_id(cls, arch_id: int) -> Arch:
        return cls(*(int(v) for v in archs_by_id()[check_arch_id(arch_id) - 1]))


def check_arch_id(arch_id: Any) -> int:
    """Return ``arch_id`` as an ``int``, or raise :class:`InvalidArchError` if it is not one in 1..15,625.

    Python and NumPy integers are accepted; ``bool`` and floats (even ``5.0``) are not. Every
    entry point that takes an arch_id (space, oracle, benchmark, CLI) goes through here.
    """
    problem = integer_problem(arch_id, 1, N_ARCHS)
    if problem is None:
        return int(arch_id)
    if problem == "not an integer":
        raise InvalidArchError(arch_id, "an arch_id must be an integer")
    raise InvalidArchError(arch_id, f"arch_id must be in 1..{N_ARCHS}")


def to_arch(value: ArchLike) -> Arch:
    """Normalise any accepted architecture form to an :class:`Arch`.

    Accepted: an ``Arch``; an ``arch_id`` int; a string ``"5,10,5,10,5,10"`` or a bare id
    ``"441"``; a sequence of six ints; a mapping with the keys ``D1 … W3``.
    """
    if isinstance(value, Arch):
        return value
    if isinstance(value, (int, float, np.number, np.bool_)):  # an arch_id, or a bool/float refused as one
        return Arch.from_id(value)
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):  # a bare arch_id such as "441" (or "-1", refused as one)
            return Arch.from_id(int(text))
        return Arch.parse(text)
    if isinstance(value, Mapping):
        missing = [k for k in KEYS if k not in value]
        if missing:
            raise InvalidArchError(dict(value), f"missing keys {missing}")
        return Arch(*(value[k] for k in KEYS))
    if isinstance(value, (Sequence, np.ndarray)):
        values = list(value)
        if len(values) != 6:
            raise InvalidArchError(value, f"expected 6 values D1,W1,D2,W2,D3,W3, got {len(values)}")
        return Arch(*values)
    raise InvalidArchError(value, "expected an Arch, an arch_id, a string or six integers")


def to_arch_id(value: ArchLike) -> int:
    """The published ``arch_id`` of any accepted architecture form."""
    if isinstance(value, (int, float, np.number, np.bool_)):
        return check_arch_id(value)
    return to_arch(value).arch_id


# --------------------------------------------------------------------------- exact counts
def _stage_terms(archs: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
    """Per stage: (blocks, Cin of block 0, C, Hin of block 0, H) as int64 arrays."""
    archs = np.asarray(archs, dtype=np.int64).reshape(-1, 6)
    c_in = np.full(len(archs), STEM_CHANNELS, dtype=np.int64)
    h_in = INPUT_RESOLUTION
    for stage in range(3):
        depth = archs[:, 2 * stage]
        channels = STAGE_BASE_CHANNELS[stage] * archs[:, 2 * stage + 1]
        h = STAGE_RESOLUTIONS[stage]
        yield depth, c_in, channels, h_in, h
        c_in, h_in = channels, h


def count_params(archs: np.ndarray) -> np.ndarray:
    """Exact trainable parameters of each row ``[D1..W3]`` (spec §1.3 closed form)."""
    archs = np.asarray(archs, dtype=np.int64).reshape(-1, 6)
    total = np.full(len(archs), 3 * STEM_CHANNELS * 9, dtype=np.int64)
    for depth, c_in, c, _, _ in _stage_terms(archs):
        block0 = 2 * c_in + 9 * c_in * c + 2 * c + 9 * c * c + c_in * c
        block = 2 * c + 9 * c * c + 2 * c + 9 * c * c
        total += block0 + (depth - 1) * block
    c3 = STAGE_BASE_CHANNELS[2] * archs[:, 5]
    return total + 2 * c3 + N_CLASSES * c3 + N_CLASSES


def count_macs(archs: np.ndarray) -> np.ndarray:
    """Exact MACs of each row for one 3×32×32 image (torchprofile convention, spec §1.3)."""
    archs = np.asarray(archs, dtype=np.int64).reshape(-1, 6)
    total = np.full(len(archs), 3 * STEM_CHANNELS * 9 * INPUT_RESOLUTION**2, dtype=np.int64)
    for depth, c_in, c, h_in, h in _stage_terms(archs):
        hh = h * h
        block0 = c_in * h_in * h_in + 9 * c_in * c * hh + c * hh + 9 * c * c * hh + c_in * c * hh
        block = c * hh + 9 * c * c * hh + c * hh + 9 * c * c * hh
        total += block0 + (depth - 1) * block
    c3 = STAGE_BASE_CHANNELS[2] * archs[:, 5]
    return total + STAGE_RESOLUTIONS[2] ** 2 * c3 + c3 + N_CLASSES * c3


# --------------------------------------------------------------------------- arch_id order
def _choice_index(archs: np.ndarray) -> np.ndarray:
    """Position of every value in its sorted choice tuple, shape (n, 6)."""
    archs = np.asarray(archs).reshape(-1, 6)
    out = np.empty(archs.shape, dtype=np.int64)
    for col, allowed in enumerate(CHOICES):
        out[:, col] = np.searchsorted(allowed, archs[:, col])
    return out


def _code(archs: np.ndarray) -> np.ndarray:
    """Lexicographic code over (D1, W1, D2, W2, D3, W3) choice positions."""
    return _choice_index(archs) @ (5 ** np.arange(5, -1, -1))


@functools.cache
def enumeration_order() -> np.ndarray:
    """Archs in the order the reference enumerated them: loops d1, d2, d3, then w1, w2, w3."""
    d1, d2, d3, w1, w2, w3 = np.meshgrid(DEPTHS, DEPTHS, DEPTHS, WIDTHS, WIDTHS, WIDTHS, indexing="ij")
    archs = np.stack([d1, w1, d2, w2, d3, w3], axis=-1).reshape(-1, 6)
    return archs.astype(np.int64)


@functools.cache
def archs_by_id() -> np.ndarray:
    """Read-only (15625, 6) array: row ``arch_id - 1`` is that architecture."""
    archs = enumeration_order()
    order = np.lexsort((np.arange(len(archs)), count_macs(archs)))
    for k in SWAPPED_TIE_IDS:
        order[[k - 1, k]] = order[[k, k - 1]]
    by_id = archs[order]
    by_id.setflags(write=False)
    return by_id


@functools.cache
def params_by_id() -> np.ndarray:
    """Read-only exact parameter counts, row ``arch_id - 1``."""
    counts = count_params(archs_by_id())
    counts.setflags(write=False)
    return counts


@functools.cache
def macs_by_id() -> np.ndarray:
    """Read-only exact MACs, row ``arch_id - 1``."""
    counts = count_macs(archs_by_id())
    counts.setflags(write=False)
    return counts


@functools.cache
def _id_by_tuple() -> dict[tuple[int, ...], int]:
    return {tuple(int(v) for v in arch): i for i, arch in enumerate(archs_by_id(), start=1)}


@functools.cache
def _id_by_code() -> np.ndarray:
    ids = np.empty(N_ARCHS, dtype=np.int64)
    ids[_code(archs_by_id())] = np.arange(1, N_ARCHS + 1)
    ids.setflags(write=False)
    return ids


def arch_ids_of(archs: np.ndarray) -> np.ndarray:
    """Vectorised ``arch_id`` of rows ``[D1..W3]``; raises :class:`InvalidArchError` for a bad row."""
    archs = np.asarray(archs)
    if archs.ndim != 2 or archs.shape[1] != 6 or archs.dtype.kind not in "iu":
        raise InvalidArchError(f"array of shape {archs.shape} and dtype {archs.dtype}",
                               "expected integer rows of six values D1,W1,D2,W2,D3,W3")
    for col, allowed in enumerate(CHOICES):
        bad = np.flatnonzero(~np.isin(archs[:, col], allowed))
        if len(bad):
            Arch(*archs[bad[0]].tolist())  # raises, naming the row and the value
    return _id_by_code()[_code(archs)]


def check_arch_ids(arch_ids: np.ndarray) -> np.ndarray:
    """Vectorised :func:`check_arch_id`: a 1-D integer array of arch_ids as int64."""
    arch_ids = np.asarray(arch_ids)
    if arch_ids.ndim != 1 or (arch_ids.dtype.kind not in "iu" and len(arch_ids)):
        raise InvalidArchError(f"array of shape {arch_ids.shape} and dtype {arch_ids.dtype}",
                               "expected a 1-D array of integer arch_ids")
    bad = np.flatnonzero((arch_ids < 1) | (arch_ids > N_ARCHS))
    if len(bad):
        check_arch_id(arch_ids[bad[0]].item())
    return arch_ids.astype(np.int64)


@functools.cache
def neighbour_table() -> np.ndarray:
    """(15626, 24) arch_ids: row ``arch_id`` lists its one-step neighbours.

    Coordinate order D1, W1, D2, W2, D3, W3, and within a coordinate the four other values
    ascending (the reference's ``get_neighbors`` order). Row 0 is unused padding so that the
    table is indexed by arch_id directly.
    """
    choice = _choice_index(archs_by_id())
    weights = 5 ** np.arange(5, -1, -1)
    base = choice @ weights
    table = np.zeros((N_ARCHS + 1, N_NEIGHBOURS), dtype=np.int64)
    codes = np.empty((N_ARCHS, N_NEIGHBOURS), dtype=np.int64)
    for col in range(6):
        others = np.sort((choice[:, col : col + 1] + np.arange(1, 5)) % 5, axis=1)
        delta = (others - choice[:, col : col + 1]) * weights[col]
        codes[:, 4 * col : 4 * col + 4] = base[:, None] + delta
    table[1:] = _id_by_code()[codes]
    table.setflags(write=False)
    return table


class SearchSpace:
    """The space as a searcher sees it: integer arch_ids, sampling and neighbourhoods.

    Every method takes and returns published ``arch_id`` values, so searchers index the
    oracle's arrays directly; :meth:`arch` turns an id into a readable :class:`Arch`.
    """

    size: int = N_ARCHS

    def __len__(self) -> int:
        return N_ARCHS

    def __repr__(self) -> str:
        return f"SearchSpace(depths={DEPTHS}, widths={WIDTHS}, size={N_ARCHS})"

    @staticmethod
    def arch(arch_id: int) -> Arch:
        return Arch.from_id(arch_id)

    @staticmethod
    def arch_id(arch: ArchLike) -> int:
        return to_arch_id(arch)

    @property
    def archs(self) -> np.ndarray:
        """(15625, 6) decision vectors, row ``arch_id - 1``."""
        return archs_by_id()

    @property
    def neighbour_table(self) -> np.ndarray:
        """(15626, 24) one-step neighbours, row ``arch_id`` (row 0 unused)."""
        return neighbour_table()

    @staticmethod
    def sample(rng: np.random.Generator, size: int | None = None) -> Any:
        """Uniform arch_ids (with replacement), as the reference's per-coordinate choice."""
        ids = rng.integers(1, N_ARCHS + 1, size=size)
        return int(ids) if size is None else ids

    @staticmethod
    def neighbours(arch_id: int) -> np.ndarray:
        """The 24 one-step neighbours in the reference's coordinate order."""
        return neighbour_table()[check_arch_id(arch_id)]

    @staticmethod
    def random_neighbour(arch_id: int, rng: np.random.Generator) -> int:
        """One coordinate uniformly, then one of its four other values uniformly."""
        return int(neighbour_table()[check_arch_id(arch_id), rng.integers(N_NEIGHBOURS)])


SPACE = SearchSpace()
