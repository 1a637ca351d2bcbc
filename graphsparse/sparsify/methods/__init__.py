"""GLT methods: one module per paper, one registry.

A method is a :class:`~graphsparse.sparsify.methods.base.GLTMethod` subclass (one-shot methods derive from
:class:`~graphsparse.sparsify.methods.base.OneShotMethod` and give edge scores and a weight rule). Built in:
``teddy`` (:mod:`.teddy`), ``ugs`` (:mod:`.ugs`), ``random`` (:mod:`.random`), ``wd-glt`` (:mod:`.wdglt`).
Another package adds one with :func:`register_method`, through the entry point group ``graphsparse.glt_methods``
(``name = "package.module:Class"``), or by naming it on the command line: ``--method package.module:Class``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import entry_points

from .base import GLTMethod, MethodOption, MethodSetup, OneShotMethod, SeedJob, WeightRule
from .random import RandomPruning, random_weight_masks
from .teddy import Teddy
from .ugs import UGS, MaskedTrainingMethod
from .wdglt import WDGLT

__all__ = [
    "GLTMethod",
    "OneShotMethod",
    "MaskedTrainingMethod",
    "MethodOption",
    "MethodSetup",
    "SeedJob",
    "WeightRule",
    "Teddy",
    "UGS",
    "RandomPruning",
    "WDGLT",
    "random_weight_masks",
    "ENTRY_POINT_GROUP",
    "register_method",
    "method_names",
    "method_class",
    "check_methods",
]

ENTRY_POINT_GROUP = "graphsparse.glt_methods"
_REGISTRY: dict[str, type[GLTMethod]] = {}
_entry_points_loaded = False


def register_method(cls: type[GLTMethod]) -> type[GLTMethod]:
    """Register a method class under its ``name`` (usable as a class decorator).

    Args:
        cls: a :class:`GLTMethod` subclass with a non-empty lower-case ``name``.

    Returns:
        ``cls``.

    Raises:
        TypeError: ``cls`` is not a GLTMethod subclass.
        ValueError: the name is empty, reserved or taken by another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, GLTMethod)):
        raise TypeError(f"a GLT method must subclass graphsparse.sparsify.methods.GLTMethod, got {cls!r}")
    name = cls.name
    if not name or name != name.strip().lower() or "," in name or name == "dense":
        raise ValueError(f"GLT method {cls.__qualname__}: name {name!r} must be non-empty, lower case, not 'dense'")
    known = _REGISTRY.get(name)
    # the same class imported again (a reloaded module) may register again; another class of that name may not,
    # or it would take over the built-in's results in every store
    same = known is not None and (known.__module__, known.__qualname__) == (cls.__module__, cls.__qualname__)
    if known is not None and known is not cls and not same:
        raise ValueError(f"GLT method name {name!r} is taken by {known.__module__}.{known.__qualname__}")
    _REGISTRY[name] = cls
    return cls


for _builtin in (Teddy, UGS, RandomPruning, WDGLT):
    register_method(_builtin)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = point.load()
        except Exception as error:  # a broken plug-in names itself instead of breaking every search
            raise ValueError(
                f"GLT method entry point {point.name!r} ({point.value}) cannot be loaded: {error}"
            ) from None
        register_method(cls)


def _import_spec(spec: str) -> type[GLTMethod]:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"GLT method {spec!r}: cannot import module {module_name!r} ({error})") from None
    cls = getattr(module, attr, None)
    if cls is None:
        raise ValueError(f"GLT method {spec!r}: module {module_name!r} has no attribute {attr!r}")
    return register_method(cls)


def method_names() -> list[str]:
    """The registered method names (built-in, entry points, and any registered in this process)."""
    _load_entry_points()
    return list(_REGISTRY)


def method_class(name: str) -> type[GLTMethod]:
    """The class registered as ``name``, or imported from ``package.module:Class``.

    Raises:
        ValueError: unknown name (the message lists the available ones) or a spec that cannot be imported.
    """
    name = str(name).strip()
    if ":" in name:
        return _import_spec(name)
    _load_entry_points()
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown GLT method {name!r}; available methods: {', '.join(_REGISTRY)}")
    return _REGISTRY[key]


def check_methods(methods: str | Sequence[str]) -> list[str]:
    """Method names (or ``module:Class`` specs), checked; a comma-separated string is split.

    Raises:
        ValueError: none given, unknown, or listed twice.
    """
    if isinstance(methods, str):
        methods = methods.split(",")
    specs = [str(m).strip() for m in methods if str(m).strip()]
    if not specs:
        raise ValueError(f"no GLT method given; available methods: {', '.join(method_names())}")
    names = [method_class(spec).name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"GLT methods listed twice: {', '.join(names)}")
    return names
