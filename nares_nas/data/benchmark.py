"""The NAS-Bench-201-style query API over a loaded NARes table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from nares_nas import fidelity as _evaluation
from nares_nas import metrics as _metrics
from nares_nas.data.records import Record, record_from_row
from nares_nas.data.synthetic import SYNTHETIC_NOTICE
from nares_nas.data.table import Table
from nares_nas.errors import ConfigError, InvalidArchError, UnknownArchError
from nares_nas.space import N_ARCHS, Arch, ArchLike, arch_ids_of, archs_by_id, check_arch_ids, to_arch_id


class Benchmark:
    """A loaded table answering plain queries by ``Arch``, arch_id or ``"5,10,5,10,5,10"``.

    Build one with :func:`nares_nas.load`. Unknown architectures raise
    :class:`~nares_nas.errors.UnknownArchError`; nothing returns a sentinel.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self._row = np.full(N_ARCHS + 1, -1, dtype=np.int64)
        self._row[table.arch_ids] = np.arange(len(table))
        self._metric_by_ids: dict[tuple[str, int | None], np.ndarray] = {}
        self._fidelity_arrays: dict[tuple[str, int | None], np.ndarray] = {}  # (name, epochs or None)
        self._selected: np.ndarray | None = None

    def __repr__(self) -> str:
        kind = "synthetic" if self.synthetic else "NARes"
        return f"Benchmark({kind}, {len(self)} architectures, source={self.source!r})"

    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self) -> Iterator[Arch]:
        return (Arch.from_id(int(i)) for i in self.table.arch_ids)

    def __contains__(self, arch: object) -> bool:
        try:
            return self._row[to_arch_id(arch)] >= 0  # type: ignore[arg-type]
        except InvalidArchError:
            return False

    @property
    def source(self) -> str:
        return self.table.source

    @property
    def synthetic(self) -> bool:
        return self.table.synthetic

    @property
    def provenance(self) -> str:
        return f"{SYNTHETIC_NOTICE} ({self.source})" if self.synthetic else f"NARes ({self.source})"

    @property
    def arch_ids(self) -> np.ndarray:
        return self.table.arch_ids

    @property
    def complete(self) -> bool:
        return len(self) == N_ARCHS

    def row(self, arch: ArchLike) -> int:
        """The table row of ``arch``; raises if the table does not hold it."""
        arch_id = to_arch_id(arch)
        row = int(self._row[arch_id])
        if row < 0:
            raise UnknownArchError(
                f"{Arch.from_id(arch_id)} (arch_id {arch_id})", self.source,
                "train it in live mode (nares-nas search --live) or load the complete table",
            )
        return row

    def query(self, arch: ArchLike) -> Record:
        """The full typed :class:`Record` of one architecture."""
        return record_from_row(self.table.columns, self.row(arch), self.source, self.synthetic)

    def metric(self, arch: ArchLike, name: str, epoch: int | None = None, *, epochs: int | None = None) -> float:
        """One scalar metric (reference name such as ``VAL_PGD_ACC``) of one architecture.

        ``epoch`` (0-based index) reads a per-epoch metric at that epoch; ``epochs`` (1-based
        count) reads it after that many epochs of training, at the epoch the protocol would have
        selected (the fidelity rule of :mod:`nares_nas.simulation.model`). Not both.
        """
        row = self.row(arch)
        if epochs is not None:
            epochs = self._check_epochs(name, epoch, epochs)
            return float(self.fidelity_matrix(name)[self.table.arch_ids[row], epochs - 1])
        if epoch is None:  # the memoised per-metric array: one index per lookup
            return float(self.metric_by_id(name)[self.table.arch_ids[row]])
        return float(_metrics.compute(self.table.columns, name, np.array([row]), epoch)[0])

    def metrics(self, archs: Iterable[ArchLike] | np.ndarray, name: str,
                epoch: int | None = None, *, epochs: int | None = None) -> np.ndarray:
        """Vectorised :meth:`metric`: one float per architecture of ``archs``, in their order.

        For every architecture at once, say how the result is indexed: :meth:`metric_by_id`
        (``[arch_id]``) or :meth:`metric_by_row` (``[i]`` is ``arch_ids[i]``).
        """
        if archs is None:
            raise ConfigError(f"metrics() needs the architectures; for all of them use metric_by_id({name!r}) "
                              f"(indexed by arch_id) or metric_by_row({name!r}) (one value per row of arch_ids)")
        if epochs is not None:
            epochs = self._check_epochs(name, epoch, epochs)
        ids = self._ids(archs)
        rows = self._row[ids]
        missing = np.flatnonzero(rows < 0)
        if len(missing):
            self.row(int(ids[missing[0]]))
        return self._compute(name, rows, epoch, epochs)

    def metric_by_row(self, name: str, epoch: int | None = None, *, epochs: int | None = None) -> np.ndarray:
        """One float per table row: ``[i]`` is the value of architecture ``bench.arch_ids[i]``.

        Positional, for statistics over the table (a mean, a correlation): there is no row for
        arch_id 0, so in the complete table ``[441]`` is arch_id **442**. To look a value up by
        arch_id use :meth:`metric_by_id`. ``epoch``/``epochs`` as in :meth:`metric`.
        """
        if epochs is not None:
            epochs = self._check_epochs(name, epoch, epochs)
        return self._compute(name, slice(None), epoch, epochs)

    def _compute(self, name: str, rows: np.ndarray | slice, epoch: int | None, epochs: int | None) -> np.ndarray:
        if epochs is not None:
            return _evaluation.fidelity_values(self.table.columns, name, epochs, rows)
        return _metrics.compute(self.table.columns, name, rows, epoch)

    def metric_by_id(self, name: str, epoch: int | None = None, *, epochs: int | None = None) -> np.ndarray:
        """Read-only (15626,) array indexed by arch_id: ``[441]`` is arch_id 441.

        ``[0]`` is NaN (arch_ids start at 1), as is every architecture the table has no record
        of. The searchers' hot path: one array lookup per query. For one value per table row
        (statistics over the table) use :meth:`metric_by_row`. ``epochs``: after that many epochs
        of training (see :meth:`metric`).
        """
        spec = _metrics.resolve_metric(name)
        if epochs is not None:
            epochs = self._check_epochs(spec.name, epoch, epochs)
            key = (spec.name, epochs)
            if key not in self._fidelity_arrays:
                values = np.ascontiguousarray(self.fidelity_matrix(spec.name)[:, epochs - 1])
                values.setflags(write=False)
                self._fidelity_arrays[key] = values
            return self._fidelity_arrays[key]
        key = (spec.name, epoch)
        if key not in self._metric_by_ids:
            values = np.full(N_ARCHS + 1, np.nan)
            values[self.table.arch_ids] = _metrics.compute(self.table.columns, spec, slice(None), epoch)
            values.setflags(write=False)
            self._metric_by_ids[key] = values
        return self._metric_by_ids[key]

    @property
    def max_epochs(self) -> int:
        """E, the epochs of the training profile (100 for NARes)."""
        return self.table.epochs

    def selected_epochs(self) -> np.ndarray:
        """Read-only (15626, E) int64: ``[arch_id, e - 1]`` is the 0-based epoch selected after
        ``e`` epochs (:func:`nares_nas.fidelity.selected_epochs`); -1 where there is no record."""
        if self._selected is None:
            selected = np.full((N_ARCHS + 1, self.max_epochs), -1, dtype=np.int64)
            selected[self.table.arch_ids] = _evaluation.table_selected_epochs(self.table.columns)
            selected.setflags(write=False)
            self._selected = selected
        return self._selected

    def fidelity_matrix(self, name: str) -> np.ndarray:
        """Read-only (15626, E) float64: ``[arch_id, e - 1]`` is metric ``name`` after ``e`` epochs.

        NaN where the table has no record (row 0 included). Its last column equals :meth:`metric_by_id`. Metrics
        without a per-epoch history are refused (``MACS`` and ``PARAMS`` repeat their value).
        """
        spec = _evaluation.fidelity_metric(name)
        key = (spec.name, None)
        if key not in self._fidelity_arrays:
            values = np.full((N_ARCHS + 1, self.max_epochs), np.nan)
            selected = self.selected_epochs()[self.table.arch_ids]
            values[self.table.arch_ids] = _evaluation.fidelity_matrix(self.table.columns, spec, slice(None), selected)
            values.setflags(write=False)
            self._fidelity_arrays[key] = values
        return self._fidelity_arrays[key]

    def _check_epochs(self, name: str, epoch: int | None, epochs: int) -> int:
        if epoch is not None:
            raise ConfigError(f"give epoch= (a 0-based epoch index) or epochs= (epochs trained, 1..{self.max_epochs}),"
                              f" not both (got epoch={epoch!r}, epochs={epochs!r})")
        _evaluation.fidelity_metric(name)
        return _evaluation.check_epochs(epochs, self.max_epochs)

    def to_frame(self):
        """A pandas DataFrame: a row per architecture, a column per scalar metric.

        ``frame.attrs`` carries ``source``, ``synthetic`` and ``provenance``.
        """
        import pandas as pd

        archs = archs_by_id()[self.table.arch_ids - 1]
        data = {"arch_id": self.table.arch_ids}
        for col, key in enumerate(("D1", "W1", "D2", "W2", "D3", "W3")):
            data[key] = archs[:, col]
        for name in _metrics.METRIC_NAMES:
            values = _metrics.compute(self.table.columns, name)
            data[name] = values.astype(np.int64) if name in ("MACS", "PARAMS") else values
        frame = pd.DataFrame(data).set_index("arch_id")
        frame.attrs.update(source=self.source, synthetic=self.synthetic, provenance=self.provenance)
        return frame

    @staticmethod
    def _ids(archs: Iterable[ArchLike] | np.ndarray) -> np.ndarray:
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            return arch_ids_of(archs) if archs.ndim == 2 else check_arch_ids(archs)
        return np.fromiter((to_arch_id(a) for a in archs), dtype=np.int64)
