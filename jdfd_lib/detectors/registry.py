"""Detectors by name (as timm's ``@register_model`` and DeepfakeBench's detector registry).

A detector module decorates its :class:`~jdfd_lib.detectors.base.Detector` subclass with
``@register_detector("name")``; a ``TrainConfig`` names it in ``detector`` and holds its
options (:attr:`Detector.options`) in ``detector_options``, and :func:`create_detector`
builds it. The trainer, the evaluator, ``detect`` and the reports take the name and never
branch on it; the CLI's choices, the comparison's rows and labels and notebook 06's list come
from here (:func:`compared_detectors`, :func:`detector_label`). The built-in detectors live
in :data:`BUILTIN_MODULES`, imported on first use; a detector defined elsewhere registers
itself when its module is imported.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable, Iterable
from typing import Any

from jdfd_lib.core.config import (
    FIELDS,
    NAME_PATTERN,
    NAME_RULE,
    TrainConfig,
    config_from_overrides,
    parse_assignment,
    plain,
    split_options,
)
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
        if not NAME_PATTERN.fullmatch(name):  # the name is part of run and file names
            raise ValueError(f"@register_detector({name!r}): a detector's name is made of "
                             f"{NAME_RULE}")
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
        raise UserError(f"{option('detector', '--detector')}: no detector named {name!r}; "
                        f"registered: {', '.join(sorted(_DETECTORS))}")
    return _DETECTORS[name]


def create_detector(cfg: TrainConfig) -> Detector:
    """Build the detector named by ``cfg.detector`` from the config."""
    return detector_class(cfg.detector).from_config(cfg)


def resolve_options(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with every option of its detector in ``detector_options`` (defaults filled in,
    names and values checked by the detector's :attr:`Detector.options`).

    Raises:
        UserError: no detector of that name.
        ValueError: an unknown option or a bad value.
    """
    options = detector_class(cfg.detector).options_of(cfg)
    return dataclasses.replace(cfg, detector_options=plain(dataclasses.asdict(options)))


def detector_config(profile: str, **overrides: Any) -> TrainConfig:
    """A profile's config for one detector: the profile's values, then the detector's own
    recipe for that profile (:attr:`Detector.profiles`), then ``overrides``; every option of
    the detector filled in (:func:`resolve_options`).

    Args:
        profile: ``paper``, ``demo``, ...
        **overrides: ``TrainConfig`` fields and the detector's options
            (``<detector>_<option>``); ``detector`` names the detector (default ``jdfd``).
            Options of *another* registered detector are left out, so that one set of
            overrides serves a grid of several detectors.

    Raises:
        UserError: no detector of that name.
        ValueError: an override names no field or option, or a bad value.
    """
    fields, options = split_options(overrides)
    name = fields.get("detector", TrainConfig.detector)
    cls = detector_class(name)
    others = tuple(f"{d}_" for d in _DETECTORS if d != name)
    fields = {k: v for k, v in fields.items() if k in FIELDS or not k.startswith(others)}
    own_fields, own_options = split_options({"detector": name, **cls.profiles.get(profile, {})})
    cfg = config_from_overrides(profile, **{**own_fields, **fields},
                                detector_options={**own_options, **options})
    return resolve_options(cfg)


def option_types(name: str) -> dict[str, Any]:
    """The options of detector ``name`` by their prefixed names (``lae_depth``), with types."""
    cls = detector_class(name)
    return {f"{name}_{k}": v for k, v in typing.get_type_hints(cls.options).items()
            if k in {f.name for f in dataclasses.fields(cls.options)}}


def parse_setting(text: str, detector: str) -> tuple[str, Any]:
    """Parse ``--set NAME=VALUE`` for a run of ``detector``: a ``TrainConfig`` field, or one of
    the detector's options by its prefixed name, typed from the detector's options dataclass.

    Raises:
        ValueError: no ``=``, a bad value, or a name that is neither (one line: whose option
            it is, or the detector's options).
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if name == "variant":  # the old name of the field
        name, text = "detector", f"detector{sep}{raw}"
    types = option_types(detector)
    if name in FIELDS or name in types or not sep:
        return parse_assignment(text, types)
    owner = next((d for d in list_detectors() if d != detector and name in option_types(d)),
                 None)
    if owner is not None:
        raise ValueError(f"--set {text!r}: {name} is an option of detector {owner!r}, not of "
                         f"{detector!r} (choose it with --detector {owner})")
    raise ValueError(f"--set {text!r}: {name!r} is neither a TrainConfig field nor an option "
                     f"of detector {detector!r} (its options: {', '.join(types) or 'none'}; "
                     f"fields: {', '.join(sorted(FIELDS))})")


def detector_label(name: str) -> str:
    """The label of detector ``name`` in tables and figures (:attr:`Detector.label`); the name
    itself for one that is not registered (results of a detector since removed)."""
    _load_builtins()
    return _DETECTORS[name].display_label() if name in _DETECTORS else name


def compared_detectors() -> list[str]:
    """The registered detectors that join the comparison (:attr:`Detector.compared`), in
    row order (:func:`comparison_order`): notebook 06's default list."""
    _load_builtins()
    return comparison_order(n for n, c in _DETECTORS.items() if c.compared)


def comparison_order(names: Iterable[str]) -> list[str]:
    """``names`` once each, in the comparison's row order: registered detectors by
    :attr:`Detector.order` then name, then any unregistered name (results of a detector since
    removed) by name."""
    _load_builtins()
    names = set(names)
    known = sorted((_DETECTORS[n].order, n) for n in names if n in _DETECTORS)
    return [n for _, n in known] + sorted(n for n in names if n not in _DETECTORS)


def unregister_detector(name: str) -> None:
    """Remove a registration (for tests that register a toy detector)."""
    _DETECTORS.pop(name, None)
