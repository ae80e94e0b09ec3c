"""Connecting to a Dask scheduler a user names: an unreachable one is refused within seconds."""

from __future__ import annotations

from typing import Any

from nares_nas.errors import ConfigError

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a scheduler (dask's own default is 30 s: a mistyped address looked like a hang)."""


def connect_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``, or :class:`~nares_nas.errors.ConfigError`."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("a Dask scheduler needs dask[distributed]: pip install 'nares-nas[dask]'") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, ValueError, TypeError) as exc:  # unreachable (a TimeoutError), or not an address
        raise ConfigError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
