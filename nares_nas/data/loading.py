"""``load(source)``: one entry point for the official data, the imported copy and the stand-in.

Parsing ``cifar10.jsonl`` happens once; later loads read a checksummed columnar cache that is
rebuilt whenever the source changes or the cache turns out corrupt.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from nares_nas._validation import check_input_file
from nares_nas.data import home, synthetic
from nares_nas.data.benchmark import Benchmark
from nares_nas.data.jsonl import read_source
from nares_nas.data.synthetic import SYNTHETIC_NOTICE
from nares_nas.data.table import Table, load_table, read_fingerprint, save_table, source_fingerprint
from nares_nas.errors import CacheError, DataFormatError

log = logging.getLogger(__name__)


def load(source: str | Path | None = None, *, seed: int = 0, cache: bool = True) -> Benchmark:
    """Load a NARes table and return its :class:`~nares_nas.Benchmark`.

    ``source``: a path to ``cifar10.jsonl`` or the release archive ``nares.txz``; a cache
    folder; ``"nares"`` for the data imported with ``nares-nas data import``; ``"synthetic"``
    for the stand-in (``seed`` picks which). None means ``$NARES_NAS_DATA``, else the imported
    data if present, else the synthetic stand-in (with a logged notice).
    """
    if source is None:
        source = home.default_source()
        if source == home.SYNTHETIC:
            log.warning("%s: no NARes data imported (run `nares-nas data import PATH`)", SYNTHETIC_NOTICE)
    return Benchmark(load_table_from(source, seed=seed, cache=cache))


def load_table_from(source: str | Path, *, seed: int = 0, cache: bool = True) -> Table:
    """The :class:`Table` behind :func:`load`."""
    text = str(source)
    if text == home.SYNTHETIC:
        return _synthetic(seed, cache)
    if text == "nares":
        if not home.has_imported():
            raise DataFormatError(
                f"no imported NARes data in {home.imported_dir()}; run `nares-nas data import PATH`"
            )
        return cached_parse(home.imported_jsonl(), home.imported_table(), cache=cache)
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / "meta.json").exists():
            return load_table(path)
        if (path / "cifar10.jsonl").exists():
            path = path / "cifar10.jsonl"
        else:
            raise DataFormatError("folder holds neither cifar10.jsonl nor a nares-nas table", path=str(path))
    path = check_input_file(path)
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return cached_parse(path, home.cache_root() / f"{path.name}-{key}", cache=cache)


def cached_parse(path: Path, cache_dir: Path, *, cache: bool = True) -> Table:
    """Read ``cache_dir`` if it was built from ``path`` as it is now, else parse and rebuild it."""
    fingerprint = source_fingerprint(path) if path.exists() else None
    if cache and (fingerprint is None or read_fingerprint(cache_dir) == fingerprint):
        try:
            return load_table(cache_dir)
        except CacheError as exc:
            if fingerprint is None:
                raise
            log.warning("rebuilding the cache: %s", exc)
    if fingerprint is None:
        raise DataFormatError("no such file", path=str(path))
    table = read_source(path)
    if cache:
        _save_cache(table, cache_dir, fingerprint)
    return table


def _synthetic(seed: int, cache: bool) -> Table:
    cache_dir = home.cache_root() / f"synthetic-v{synthetic.GENERATOR_VERSION}-seed{seed}"
    # the generator's own source is part of the key, so an edited generator never meets a stale cache
    code = hashlib.sha1(Path(synthetic.__file__).read_bytes()).hexdigest()
    fingerprint = {"synthetic": synthetic.GENERATOR_VERSION, "seed": seed, "code": code}
    if cache and read_fingerprint(cache_dir) == fingerprint:
        try:
            return load_table(cache_dir)
        except CacheError as exc:
            log.warning("rebuilding the synthetic cache: %s", exc)
    table = synthetic.synthetic_table(seed)
    if cache:
        _save_cache(table, cache_dir, fingerprint)
    return table


def _save_cache(table: Table, cache_dir: Path, fingerprint: dict) -> None:
    """Keep ``table`` in ``cache_dir`` for the next load; a cache that cannot be written only costs time."""
    try:
        save_table(table, cache_dir, fingerprint)
    except OSError as exc:
        log.warning("could not write the cache %s: %s", cache_dir, exc)
