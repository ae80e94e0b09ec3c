"""Feature encodings of architectures for the BANANAS predictor, by name.

``encode(arch_ids, "onehot")`` is the reference's 30-dimensional one-hot; ``"path"`` (the
default of :class:`~nares_nas.searchers.Bananas`) encodes the network's input-to-output
paths. Both are computed once for all 15,625 architectures and then indexed, so encoding is
one fancy-indexing operation on an array of arch_ids.

Path encoding (48 dimensions)
-----------------------------
Every residual block offers two routes from its input to its output: the convolution
branch (two 3x3 convolutions) or the shortcut (the 1x1 projection in block 0 of a stage,
the identity in the others). An input-to-output path of stage ``s`` (``D_s`` blocks) picks
one route per block; the path's operation sequence is its block-0 op (projection or
convolutions) followed by the convolution branches it takes (identities are no-ops).
A path that traverses ``t`` convolution branches therefore has ``t`` conv ops at width
``W_s`` and there are ``N_s(t) = C(D_s - 1, t) + C(D_s - 1, t - 1) = C(D_s, t)`` of them
(projection first, or convolutions first). The encoding lists, factorised per stage,

* ``log2(1 + C(D_s, t))`` for ``s = 1, 2, 3`` and ``t = 1 .. 11`` (33 values; ``t`` up to the
  largest depth, ``C = 0`` beyond ``D_s``; ``t = 0``, the one all-shortcut path every
  architecture has, is left out as a constant), in the order s1 t1..t11, s2 ..., s3 ...;
* the op width of each stage as a one-hot over ``WIDTHS`` (15 values, stage order).

All convolutions of a stage share its width, so the joint histogram over (stage, width,
``t``) (180 values) is the outer product of these two factors and is not spelled out. Paths
through the whole network multiply across stages, and their log-counts add, which the log
scale hands to the MLP as sums. The stem and the head are the same in every architecture
and are omitted.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from nares_nas.errors import ConfigError, InvalidArchError
from nares_nas.space import CHOICES, DEPTHS, N_ARCHS, WIDTHS, archs_by_id

MAX_CONV_BRANCHES = max(DEPTHS)


def _onehot_table(archs: np.ndarray) -> np.ndarray:
    """Six 5-way blocks D1, W1, D2, W2, D3, W3; index = position in the sorted choice tuple."""
    out = np.zeros((len(archs), sum(len(c) for c in CHOICES)), dtype=np.float32)
    start = 0
    for col, allowed in enumerate(CHOICES):
        out[np.arange(len(archs)), start + np.searchsorted(allowed, archs[:, col])] = 1.0
        start += len(allowed)
    return out


def _path_table(archs: np.ndarray) -> np.ndarray:
    """Per-stage path-count histograms (log2(1 + C(D, t)), t = 1..11) and width one-hots."""
    counts = np.array([[math.comb(d, t) for t in range(1, MAX_CONV_BRANCHES + 1)]
                       for d in range(MAX_CONV_BRANCHES + 1)], dtype=np.float64)  # 0 where t > d
    paths = np.log2(1.0 + counts[archs[:, 0::2]]).reshape(len(archs), -1)
    widths = (archs[:, 1::2, None] == np.asarray(WIDTHS)[None, None, :]).reshape(len(archs), -1)
    return np.concatenate([paths, widths], axis=1).astype(np.float32)


ENCODINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "onehot": _onehot_table,
    "path": _path_table,
}


@functools.cache
def encoding_table(encoding: str) -> np.ndarray:
    """Read-only ``(15626, dim)`` float32 table: row ``arch_id`` encodes that arch (row 0 zeros)."""
    try:
        build = ENCODINGS[encoding]
    except KeyError:
        raise ConfigError(f"unknown encoding {encoding!r}; choose one of {sorted(ENCODINGS)}") from None
    body = build(archs_by_id())
    table = np.concatenate([np.zeros((1, body.shape[1]), dtype=np.float32), body])
    table.setflags(write=False)
    return table


def encoding_dim(encoding: str) -> int:
    """Number of features of ``encoding``."""
    return encoding_table(encoding).shape[1]


def encode(arch_ids: np.ndarray, encoding: str = "path") -> np.ndarray:
    """``(n, dim)`` float32 features of the architectures ``arch_ids`` (ints in 1..15,625)."""
    ids = np.asarray(arch_ids)
    if ids.dtype.kind not in "iu":
        raise InvalidArchError(arch_ids, "arch_ids must be integers")
    if ids.size and (ids.min() < 1 or ids.max() > N_ARCHS):
        bad = ids[(ids < 1) | (ids > N_ARCHS)].ravel()[0]
        raise InvalidArchError(int(bad), f"arch_id must be in 1..{N_ARCHS}")
    return encoding_table(encoding)[ids]
