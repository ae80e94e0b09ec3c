"""One exception hierarchy: every error names the thing that is wrong.

Each class also inherits the builtin a caller would naturally catch (``ValueError``,
``KeyError``, ...), so ``except ValueError`` keeps working for code that does not know us.
"""

from __future__ import annotations

from typing import Any


class NaresError(Exception):
    """Root of every error raised on purpose by nares-nas."""


class InvalidArchError(NaresError, ValueError):
    """A value that is not an architecture of the NARes search space.

    An arch_id outside 1..15,625 or not an integer (``bool`` and floats included), or a
    decision vector with a value outside the choices. Raised before anything is charged.
    """

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(value, reason)
        self.value = value
        self.reason = reason

    def __str__(self) -> str:
        return f"invalid architecture {self.value!r}: {self.reason}"


class UnknownArchError(NaresError, KeyError):
    """A valid architecture that the loaded table does not contain.

    A ``KeyError`` (a missing entry), deliberately not an :class:`InvalidArchError`: the
    architecture is fine, the table lacks it (live mode can train it).
    """

    def __init__(self, arch: Any, source: str, hint: str = "") -> None:
        super().__init__(arch, source, hint)
        self.arch = arch
        self.source = source
        self.hint = hint

    def __str__(self) -> str:
        text = f"architecture {self.arch} is not in the table {self.source}"
        return f"{text}; {self.hint}" if self.hint else text


class DataFormatError(NaresError, ValueError):
    """Malformed input data; carries the file, line and key where it went wrong."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message, path, line, key)
        self.message = message
        self.path = path
        self.line = line
        self.key = key

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        prefix = " ".join(where)
        key = f'key "{self.key}": ' if self.key is not None else ""
        return f"{prefix}: {key}{self.message}" if prefix else f"{key}{self.message}"


class CacheError(NaresError, OSError):
    """A columnar cache that is missing, stale or corrupt (it is then rebuilt), or a live record
    cache that cannot be used (unreadable, or written by a newer schema version)."""


class CacheConflictError(NaresError, ValueError):
    """A record for a key the live cache already holds with a different record (never overwritten).

    ``key`` maps ``arch_id``, ``profile``, ``profile_key``, ``seed`` and ``epochs``; ``stored`` and
    ``new`` describe the two records, ``difference`` is where they first differ, ``hint`` how to
    remove the stored one on purpose.
    """

    def __init__(self, path: str, key: dict[str, Any], stored: str, new: str, difference: str,
                 hint: str = "") -> None:
        super().__init__(path, key, stored, new, difference, hint)
        self.path = path
        self.key = key
        self.stored = stored
        self.new = new
        self.difference = difference
        self.hint = hint

    def __str__(self) -> str:
        key = (f"arch_id {self.key['arch_id']} profile {self.key['profile']} ({self.key['profile_key']}) "
               f"seed {self.key['seed']} epochs {self.key['epochs']}")
        text = (f"{self.path}: {key} already holds a different record (stored: {self.stored}; new: {self.new}; "
                f"first difference at {self.difference})")
        return f"{text}; {self.hint}" if self.hint else text


class PathError(NaresError, OSError):
    """A path a user named that cannot serve as asked: missing, a folder where a file is expected
    (or the reverse), below a file, or in a folder we may not write."""

    def __init__(self, path: Any, reason: str) -> None:
        super().__init__(reason)
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class MetricError(NaresError, ValueError):
    """An unknown metric, or one that may not be used the way it was asked for."""


class BudgetExhaustedError(NaresError, RuntimeError):
    """A searcher asked for a new architecture after spending its whole budget."""

    def __init__(self, budget: int) -> None:
        super().__init__(budget)
        self.budget = budget

    def __str__(self) -> str:
        return f"the query budget of {self.budget} distinct architectures is spent"


class ConfigError(NaresError, ValueError):
    """A parameter with a value outside what it accepts; names the valid values."""


class TrainingDivergedError(NaresError, RuntimeError):
    """Live training produced NaN losses past the reference's limit; no record is written."""


class MissingDependencyError(NaresError, ImportError):
    """An optional dependency that is not installed; names what needs it and the extra that installs it."""

    def __init__(self, module: str, needed_by: str, extra: str) -> None:
        super().__init__(module, needed_by, extra)
        self.module = module
        self.needed_by = needed_by
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.needed_by} needs {self.module}, which is not installed: pip install 'nares-nas[{self.extra}]'"


class PluginError(NaresError, ImportError):
    """A searcher plugin that could not be found or loaded."""
