"""Hyper-parameter values typed by the constructor's annotations, never guessed from their text.

``--param reference_moves=False`` must mean False: read as "JSON, else a string" it became the
string ``"False"``, which is truthy. So a value is read as the type its searcher's ``__init__``
declares (``typing.get_type_hints``, so string annotations resolve): ``bool`` (see
:data:`~nares_nas._validation.BOOLEAN`), ``int``, ``float``, ``str``, ``Literal[...]``, ``None``
(``none`` or ``null``, any case), unions of these (``int | None``; ``None`` is tried first), and
containers (``dict[...]``, ``list[...]``) as JSON. Where a user's value enters, it is typed:
:func:`parse_param` for text from the command line, :func:`typed_searcher` at the start of a run
(a Python value of the declared type passes unchanged, text is read as the command line reads
it, anything else is refused), so every path pins and runs the same value. Constructors still
store what they are given (scikit-learn's contract). A parameter without an annotation (or with
one this module cannot read) is read as JSON, else kept as text, with a warning.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import numbers
import re
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import numpy as np

from ._validation import BOOLEAN, boolean_value, integer_problem
from .errors import ConfigError

log = logging.getLogger(__name__)

UNTYPED = object()
"""The annotation of a parameter that has none (or one that could not be resolved)."""
_INTEGER = re.compile(r"[+-]?\d+")
_NONE_WORDS = ("none", "null")
_CONTAINERS = (dict, list)


class _Mismatch(Exception):
    """A value that is not of the declared type."""


class _Unreadable(Exception):
    """An annotation this module does not type (a class of the plugin's own, ``Callable`` ...)."""


@functools.cache
def param_types(cls: type) -> dict[str, Any]:
    """Each hyper-parameter of ``cls`` and its resolved annotation (:data:`UNTYPED` where it has none).

    Annotations of the ``__init__`` of every class in the MRO are merged, the subclass's
    winning, so a subclass that forwards ``**kwargs`` to its parent (as MOBananas does)
    keeps its parent's types.
    """
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if klass is object or init is None:
            continue
        try:
            hints.update(get_type_hints(init))
        except Exception as exc:  # a name the plugin's module imports only for type checkers, say
            log.debug("annotations of %s.__init__ not resolved: %s", klass.__qualname__, exc)
            hints.update({name: hint for name, hint in getattr(init, "__annotations__", {}).items()
                          if not isinstance(hint, str)})
    return {name: hints.get(name, UNTYPED) for name in cls._param_names()}


@functools.cache
def _defaults(cls: type) -> dict[str, Any]:
    """Each hyper-parameter's default, where it has one."""
    return {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
            if p.default is not p.empty}


def _expected(hint: Any) -> str:
    """What a value of ``hint`` looks like, for a message."""
    if hint is bool:
        return BOOLEAN
    if hint is type(None):
        return "None (none or null)"
    origin = get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(map(repr, get_args(hint)))
    if origin in (Union, types.UnionType):
        return " or ".join(_expected(arg) for arg in get_args(hint))
    names = {int: "an integer", float: "a number", str: "a string"}
    return names.get(hint) or f"a {getattr(origin or hint, '__name__', hint)} (as JSON)"


def _members(hint: Any) -> list[Any]:
    """The types of a union, ``None`` first (so ``none`` is None even in ``str | None``)."""
    return sorted(get_args(hint), key=lambda arg: arg is not type(None))


def _convert(value: Any, hint: Any) -> Any:
    """``value`` as ``hint`` declares it: unchanged where it is of that type already, text read.

    Raises :class:`_Mismatch` for a value of another type, :class:`_Unreadable` for a hint
    this module does not type.
    """
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for member in _members(hint):
            try:
                return _convert(value, member)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        for option in get_args(hint):
            try:
                if _convert(value, type(option)) == option:
                    return option
            except (_Mismatch, _Unreadable):
                continue
        raise _Mismatch
    if hint is type(None):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS):
            return None
        raise _Mismatch
    if hint is bool:
        flag = boolean_value(value)
        if flag is None:
            raise _Mismatch
        return value if isinstance(value, bool) else flag
    if hint is int:
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        if integer_problem(value) is None:
            return value
        raise _Mismatch
    if hint is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _Mismatch from None
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            return value
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    container = origin or hint
    if container in _CONTAINERS:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise _Mismatch from None
        if isinstance(value, container):
            return value
        raise _Mismatch
    raise _Unreadable


def _as_json(text: str) -> Any:
    """The old reading, for a parameter that declares no type: JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_param(cls: type, name: str, text: str, where: str) -> Any:
    """The command line's ``text`` for hyper-parameter ``name`` of ``cls``, read as its declared type.

    ``where`` starts a message (``--param 'k=v'``): a value of the wrong type is a
    :class:`~nares_nas.errors.ConfigError` naming the parameter and what it accepts; a
    parameter without a type is read as JSON, else as text, with a warning.
    """
    hint = param_types(cls)[name]
    if hint is not UNTYPED and hint is not Any:
        try:
            return _convert(text, hint)
        except _Mismatch:
            raise ConfigError(f"{where}: {cls.__name__} {name} must be {_expected(hint)}, got {text!r}") from None
        except _Unreadable:
            pass
    value = _as_json(text)
    if hint is not Any:
        why = "has no annotation" if hint is UNTYPED else f"is annotated {hint!r}, which --param cannot type"
        log.warning("%s: %s %s %s: read as JSON, else as text (here %r); annotate it (e.g. %s: bool) to have "
                    "its values typed", where, cls.__name__, name, why, value, name)
    return value


def typed_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` of ``cls`` as their annotations declare them (see the module docstring).

    A value of the declared type is returned as it is; text is read as the command line
    reads it (``"false"`` for a ``bool`` is False); a parameter without a type, or left at its
    default (``x: int = None`` is the author's choice), is left alone. Anything else is a
    :class:`~nares_nas.errors.ConfigError` naming the parameter.
    """
    hints, defaults = param_types(cls), _defaults(cls)
    typed = dict(params)
    for name, value in params.items():
        hint = hints.get(name, UNTYPED)
        if hint is UNTYPED or hint is Any or value is defaults.get(name, UNTYPED):
            continue
        try:
            typed[name] = _convert(value, hint)
        except _Mismatch:
            raise ConfigError(f"{cls.__name__} {name} must be {_expected(hint)}, got {value!r}") from None
        except _Unreadable:
            continue
    return typed


def typed_searcher(searcher: Any) -> Any:
    """``searcher`` itself where its hyper-parameters have their declared types, else a copy with them typed.

    What a run starts with, so that the run, its ``config.json`` and its results agree on every
    value (``reference_moves="False"`` runs, and is pinned, as False).
    """
    params = searcher.get_params()
    typed = typed_params(type(searcher), params)
    if all(typed[name] is value for name, value in params.items()):
        return searcher
    return type(searcher)(**typed)
