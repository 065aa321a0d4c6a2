"""Detectors by name (as timm's ``@register_model`` and DeepfakeBench's detector registry).

A detector module decorates its :class:`~jdfd_lib.detectors.base.Detector` subclass with
``@register_detector("name")``; a ``TrainConfig`` names it in ``variant``, and
:func:`create_detector` builds it. The trainer, the evaluator, ``detect`` and the reports
take the name and never branch on it. The built-in detectors live in :data:`BUILTIN_MODULES`,
imported on first use; a detector defined elsewhere registers itself when its module is
imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from jdfd_lib.core.config import TrainConfig, config_from_overrides
from jdfd_lib.core.errors import UserError, option
from jdfd_lib.detectors.base import Detector

# modules that register the built-in detectors (imported lazily: they import timm)
BUILTIN_MODULES = ("jdfd_lib.detectors.jdfd", "jdfd_lib.detectors.exposing",
                   "jdfd_lib.detectors.lae")
_DETECTORS: dict[str, type[Detector]] = {}


def register_detector(name: str) -> Callable[[type[Detector]], type[Detector]]:
    """Class decorator: register a :class:`Detector` subclass under ``name``.

    Raises:
        ValueError: the name is taken by another class, or the class is not a Detector.
    """
    def register(cls: type[Detector]) -> type[Detector]:
        if not (isinstance(cls, type) and issubclass(cls, Detector)):
            raise ValueError(f"@register_detector({name!r}): {cls!r} is not a Detector subclass")
        other = _DETECTORS.get(name)
        if other is not None and other.__qualname__ != cls.__qualname__:
            raise ValueError(f"detector name {name!r} is taken by {other.__module__}."
                             f"{other.__qualname__}")
        cls.name = name
        _DETECTORS[name] = cls
        return cls

    return register


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def list_detectors() -> list[str]:
    """The registered detector names, sorted."""
    _load_builtins()
    return sorted(_DETECTORS)


def detector_class(name: str) -> type[Detector]:
    """The class registered as ``name``.

    Raises:
        UserError: no detector of that name (lists the registered ones).
    """
    _load_builtins()
    if name not in _DETECTORS:
        raise UserError(f"{option('variant', '--variant')}: no detector named {name!r}; "
                        f"registered: {', '.join(sorted(_DETECTORS))}")
    return _DETECTORS[name]


def create_detector(cfg: TrainConfig) -> Detector:
    """Build the detector named by ``cfg.variant`` from the config."""
    return detector_class(cfg.variant).from_config(cfg)


def detector_config(profile: str, **overrides: Any) -> TrainConfig:
    """A profile's config for one detector: the profile's values, then the detector's own
    recipe for that profile (:attr:`Detector.profiles`), then ``overrides``.

    Args:
        profile: ``paper`` or ``demo``.
        **overrides: ``TrainConfig`` fields; ``variant`` names the detector (default: the
            profile's, ``jdfd``).

    Raises:
        UserError: no detector of that name.
        ValueError: an override names no field, or a bad value.
    """
    variant = overrides.get("variant", TrainConfig.variant)
    own = detector_class(variant).profiles.get(profile, {})
    return config_from_overrides(profile, **{**own, **overrides})


def unregister_detector(name: str) -> None:
    """Remove a registration (for tests that register a toy detector)."""
    _DETECTORS.pop(name, None)
