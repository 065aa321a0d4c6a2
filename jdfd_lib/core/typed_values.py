"""Values checked against a dataclass field's type hint: from the command line or from a file.

A config read back from a checkpoint or ``config.json`` is data from whoever wrote the file, and
its values become run names, file names and loop bounds. :func:`type_problems` says which
fields hold a value of another type than declared (a string seed, a float epoch count, a list
where a number goes), before any of them is used; :func:`parse_value` turns a command-line
string into the declared type (``--set NAME=VALUE``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any


def _optional_args(hint: Any) -> tuple[Any, ...] | None:
    """The members of a union hint (``int | None``), else None."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return None


def matches(hint: Any, value: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` as plain JSON spells it.

    ``bool`` is not an ``int`` here (``True`` is no epoch count), an integral number is a
    ``float``, and ``tuple[X, ...]`` accepts a tuple or list of ``X``. Hints this module does
    not know (``Any``, ``dict[...]``) accept their origin type or anything.
    """
    members = _optional_args(hint)
    if members is not None:
        return any(matches(m, value) for m in members)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is float:
        return (isinstance(value, numbers.Real) and not isinstance(value, bool)
                and math.isfinite(float(value)))
    if hint is str:
        return isinstance(value, str)
    origin = typing.get_origin(hint)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, tuple | list) and all(matches(item, v) for v in value)
    if origin is not None:
        return isinstance(value, origin)
    return True


def as_tuple(value: Any) -> Any:
    """A list (JSON's spelling of a tuple) as a tuple; any other value unchanged, for
    :func:`type_problems` to judge (a string is not a tuple of its characters)."""
    return tuple(value) if isinstance(value, tuple | list) else value


def type_problems(obj: Any) -> list[str]:
    """``"NAME must be HINT, got VALUE"`` for each field of dataclass ``obj`` whose value does
    not match its type hint (:func:`matches`); empty when all do."""
    hints = typing.get_type_hints(type(obj))
    return [f"{f.name} must be {_spell(hints[f.name])}, got {getattr(obj, f.name)!r}"
            for f in dataclasses.fields(obj) if not matches(hints[f.name], getattr(obj, f.name))]


def _spell(hint: Any) -> str:
    members = _optional_args(hint)
    if members is not None:
        return " or ".join(_spell(m) for m in members)
    if hint is type(None):
        return "None"
    return getattr(hint, "__name__", str(hint)) if typing.get_origin(hint) is None else str(hint)


def parse_value(hint: Any, raw: str) -> Any:
    """``raw`` (command-line text) as a value of type ``hint``.

    ``true``/``false``/``1``/``0`` for bools, ``none`` for optional fields, comma-separated
    values for tuples (``512,256``); a float must be finite.

    Raises:
        ValueError: ``raw`` does not spell a value of that type.
    """
    members = _optional_args(hint)
    if members is not None:
        if raw.lower() == "none" and type(None) in members:
            return None
        return parse_value(next(a for a in members if a is not type(None)), raw)
    if hint is bool:
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{raw!r} is not a boolean (true/false)")
        return raw.lower() in ("true", "1")
    if typing.get_origin(hint) is tuple:  # tuple[int, ...] or tuple[str, ...]
        item = typing.get_args(hint)[0]
        return tuple(parse_value(item, v.strip()) for v in raw.split(",") if v.strip())
    value = hint(raw)  # int, float, str
    if isinstance(value, float) and not math.isfinite(value):  # "nan", "inf" parse as floats
        raise ValueError(f"{raw!r} is not a finite number")
    return value
