"""Hyper-parameter values typed by the constructor's annotations, never guessed from their text.

``--param reference_moves=False`` must mean False: read as "JSON, else a string" it became the
string ``"False"``, which is truthy. So a command line's value is read as the type its
searcher's ``__init__`` declares (``typing.get_type_hints``, so string annotations resolve):
``bool`` (see :data:`~nares_nas._validation.BOOLEAN`), ``int``, ``float``, ``str``,
``Literal[...]``, ``None`` (``none`` or ``null``, any case), unions of these (``int | None``;
``None`` is tried first), and containers (``dict[...]``, ``list[...]``) as JSON
(:func:`parse_param`). Constructors still store what they are given (scikit-learn's contract);
where a run starts, :func:`check_params` refuses a Python value of another type (text for a
``bool`` included). A parameter without an annotation (or with one this module cannot read) is
read as JSON, else kept as text, with a warning, and not checked.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import numbers
import re
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import numpy as np

from nares_nas._validation import BOOLEAN, boolean_text, boolean_value, integer_problem
from nares_nas.errors import ConfigError

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


def _convert(value: Any, hint: Any, text: bool) -> Any:
    """``value`` as ``hint`` declares it: read from a command line's text where ``text``, else
    checked as a Python value (and returned unchanged, a ``bool`` for ``1``/``0``).

    Raises :class:`_Mismatch` for a value of another type, :class:`_Unreadable` for a hint
    this module does not type.
    """
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for member in _members(hint):
            try:
                return _convert(value, member, text)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        for option in get_args(hint):
            try:
                if _convert(value, type(option), text) == option:
                    return option
            except (_Mismatch, _Unreadable):
                continue
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if text:
        return _read(value, hint, origin)
    if hint is type(None):
        ok = value is None
    elif hint is bool:
        ok = boolean_value(value) is not None
    elif hint is int:
        ok = integer_problem(value) is None
    elif hint is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    elif (origin or hint) in _CONTAINERS:
        ok = isinstance(value, origin or hint)
    else:
        raise _Unreadable
    if not ok:
        raise _Mismatch
    return bool(value) if hint is bool else value


def _read(text: str, hint: Any, origin: Any) -> Any:
    """A command line's ``text`` as ``hint`` (not a union, ``Literal`` or ``str``): see :func:`_convert`."""
    stripped = text.strip()
    if hint is type(None):
        if stripped.lower() in _NONE_WORDS:
            return None
        raise _Mismatch
    if hint is bool:
        flag = boolean_text(text)
        if flag is None:
            raise _Mismatch
        return flag
    if hint is int:
        if _INTEGER.fullmatch(stripped):
            return int(stripped)
        raise _Mismatch
    if hint is float:
        try:
            return float(stripped)
        except ValueError:
            raise _Mismatch from None
    if (origin or hint) in _CONTAINERS:
        try:
            value = json.loads(text)
        except ValueError:
            raise _Mismatch from None
        if isinstance(value, origin or hint):
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
            return _convert(text, hint, text=True)
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


def check_params(searcher: Any) -> None:
    """Refuse a hyper-parameter of ``searcher`` that is not of its declared type, by name.

    What a run starts with (the constructor stored what it was given): ``LocalSearch(
    reference_moves="False")`` is refused, as text is not a boolean, instead of running with
    the truthy string. A parameter without a type, or left at its default (``x: int = None``
    is its author's choice), is not checked.
    """
    cls = type(searcher)
    hints, defaults = param_types(cls), _defaults(cls)
    for name, value in searcher.get_params().items():
        hint = hints.get(name, UNTYPED)
        if hint is UNTYPED or hint is Any or value is defaults.get(name, UNTYPED):
            continue
        try:
            _convert(value, hint, text=False)
        except _Mismatch:
            raise ConfigError(f"{cls.__name__} {name} must be {_expected(hint)}, got {value!r}") from None
        except _Unreadable:
            continue
