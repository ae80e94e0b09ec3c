"""The searcher registry: entry points, ``@register`` and ``"module:Class"`` behind one lookup.

Modelled on flake8's plugin finder: names come from the entry-point group
``nares_nas.searchers`` (the built-ins are declared there too, so they take the same path as
any plugin) and from the :func:`register` decorator. Another library's optimizers come in
through an *adapter*, declared in the entry-point group ``nares_nas.searcher_adapters``: a
function ``adapt(spec) -> searcher class | None`` that is asked for ``"NAME:..."`` strings (NAME
being the adapter's entry-point name) and for loaded classes that are no :class:`Searcher`. Ours
wraps Optuna samplers (``"optuna:TPESampler"``, or a ``module:Class`` naming a sampler class;
:mod:`nares_nas.integrations.optuna`), so the registry never imports an integration. Discovery
is sorted so listings are deterministic, and nothing is imported until a searcher is resolved. A
plugin that fails to load raises :class:`~nares_nas.errors.PluginError` naming the plugin and the cause.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from nares_nas.errors import PluginError

from ._base import Searcher

GROUP = "nares_nas.searchers"
ADAPTERS = "nares_nas.searcher_adapters"

_registered: dict[str, type[Searcher]] = {}


def _reference(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register(name: str):
    """Class decorator: make a :class:`Searcher` subclass resolvable as ``name``.

    Registering happens when the decorated class's module is imported; for a searcher that
    should be found without importing anything first, declare an entry point in the group
    ``nares_nas.searchers`` instead. A registered name shadows an entry point of that name.
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise PluginError(f"a searcher name must be a non-empty string without ':', got {name!r}")

    def decorate(cls: type[Searcher]) -> type[Searcher]:
        _check_class(name, cls)
        known = _registered.get(name)
        if known is not None and _reference(known) != _reference(cls):
            raise PluginError(f"searcher name {name!r} is already registered to {_reference(known)}")
        _registered[name] = cls
        if not cls.__dict__.get("name"):
            cls.name = name
        return cls

    return decorate


def _entry_points() -> dict[str, str]:
    """Entry points of the group, sorted by name (the first distribution wins a clash)."""
    found: dict[str, str] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
        found.setdefault(ep.name, ep.value)
    return found


def available() -> dict[str, str]:
    """Every resolvable name and its ``module:Class``, sorted by name; imports nothing."""
    names = _entry_points()
    names.update({name: _reference(cls) for name, cls in _registered.items()})
    return dict(sorted(names.items()))


def resolve(spec: str | type[Searcher]) -> type[Searcher]:
    """The searcher class for a registered name or a ``"module:Class"`` reference.

    ``"optuna:NAME"`` is the sampler ``NAME`` of ``optuna.samplers``, and a ``module:Class``
    (or class) that is an Optuna sampler is wrapped the same way (the ``optuna`` adapter).
    """
    if isinstance(spec, type):
        wrapped = _adapted(spec)
        if wrapped is not None:
            return wrapped
        _check_class(spec.__name__, spec)
        return spec
    if not isinstance(spec, str) or not spec:
        raise PluginError(f"expected a searcher name or 'module:Class', got {spec!r}")
    if spec in _registered:
        return _registered[spec]
    if spec.partition(":")[0] in _adapters():
        wrapped = _adapted(spec)
        if wrapped is not None:
            return wrapped
    if ":" in spec:
        return _load(spec, spec)
    value = _entry_points().get(spec)
    if value is None:
        known = ", ".join(available()) or "none"
        raise PluginError(f"unknown searcher {spec!r}; available: {known} (or give 'module:Class')")
    cls = _load(spec, value)
    if not cls.__dict__.get("name"):
        cls.name = spec  # an entry point's name is the plugin's name
    return cls


def searcher_name(searcher: Searcher | type[Searcher]) -> str:
    """The name results are filed under: the class's ``name``, else its ``module:Class``."""
    cls = searcher if isinstance(searcher, type) else type(searcher)
    return cls.__dict__.get("name") or _reference(cls)


def _load(name: str, value: str) -> type[Searcher]:
    module_name, _, attr = value.partition(":")
    if not module_name or not attr:
        raise PluginError(f"searcher {name!r}: {value!r} is not of the form 'module:Class'")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # any failure inside a plugin is reported as that plugin's
        raise PluginError(
            f"searcher plugin {name!r} ({value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, Searcher)):
        wrapped = _adapted(obj)
        if wrapped is not None:
            return wrapped
    _check_class(name, obj)
    return obj


def _adapters() -> dict[str, str]:
    """The adapters' entry points by name, sorted (the first distribution wins a clash)."""
    found: dict[str, str] = {}
    for ep in sorted(entry_points(group=ADAPTERS), key=lambda e: (e.name, e.value)):
        found.setdefault(ep.name, ep.value)
    return found


def _adapted(spec: object) -> type[Searcher] | None:
    """What an adapter makes of ``spec``: for a ``"NAME:..."`` string, adapter NAME; for an object,
    the first adapter (by name) that takes it; None where none does."""
    for name, value in _adapters().items():
        if isinstance(spec, str) and spec.partition(":")[0] != name:
            continue
        module_name, _, attr = value.partition(":")
        try:
            adapt = getattr(importlib.import_module(module_name), attr)
        except Exception as exc:  # a broken adapter is reported as that adapter's
            raise PluginError(f"searcher adapter {name!r} ({value}) failed to load: {type(exc).__name__}: {exc}") \
                from exc
        found = adapt(spec)
        if found is not None:
            return found
    return None


def _check_class(name: str, obj: object) -> None:
    if not (isinstance(obj, type) and issubclass(obj, Searcher)):
        raise PluginError(
            f"searcher plugin {name!r} is {obj!r}, not a subclass of nares_nas.searchers.Searcher"
        )
