"""Datasets by key: one :class:`DatasetSpec` per dataset, one module per dataset (Sec. 4.1).

As polimi-ispl/icpr2020dfdc keeps one index script per dataset, each dataset here is one
module (``ffpp``, ``celebdf``, ``uadfv``, ``dfdc``, ``dfd``, ``folder``) that writes its
reader and registers a spec: key, folder name under a data root, display label, Fig. 3
letter, reader, identity-disjoint splits, the reader's command-line options. Everything
else (``prepare``/``train``/``evaluate`` choices, report orders, plot labels and layout,
the notebooks' lists) is derived from the registry, so adding a dataset is one new module
(listed in :data:`BUILTIN_MODULES`, or registered by a user's own module) plus its tests.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets.records import VideoList
from jdfd_lib.datasets.splits import SPLITS

# modules that register the built-in datasets, in registry order (the paper's three first)
BUILTIN_MODULES = ("jdfd_lib.datasets.ffpp", "jdfd_lib.datasets.celebdf",
                   "jdfd_lib.datasets.uadfv", "jdfd_lib.datasets.dfdc", "jdfd_lib.datasets.dfd",
                   "jdfd_lib.datasets.folder", "jdfd_lib.datasets.dfdc_faces")
_DATASETS: dict[str, DatasetSpec] = {}


@dataclass(frozen=True)
class DatasetOption:
    """A keyword argument of a reader that ``prepare`` exposes as ``--<name-with-dashes>``.

    ``kwargs`` go to ``argparse.add_argument`` (type, choices, nargs, action; no default:
    the CLI passes ``default`` when the flag is left out, so it can tell a flag given for
    the wrong dataset).
    """

    name: str  # the reader's keyword, e.g. "compression"
    help: str
    default: Any = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the pipeline needs to know about one dataset.

    Attributes:
        key: the name in configs, indexes, result files and on the command line ("ffpp").
        folder: its folder under a data root ("FaceForensics++").
        label: how tables and figures name it ("FF++").
        letter: its letter in Fig. 3's (train, test) legend ("F").
        reader: ``reader(root, *, allow_missing=False, **options) -> VideoList``.
        layout: the expected layout in one line (CLI help, messages, docs/datasets.md).
        identity_splits: the splits whose identity groups never overlap.
        options: the reader's keyword arguments that ``prepare`` exposes as flags.
        prepare_options: ``(root, out, options) -> options``: where the reader derives a
            file (a drawn split), point it into prepare's output folder.
    """

    key: str
    folder: str
    label: str
    letter: str
    reader: Callable[..., VideoList]
    layout: str = ""
    identity_splits: tuple[str, ...] = SPLITS
    options: tuple[DatasetOption, ...] = ()
    prepare_options: Callable[[Path, Path, dict], dict] | None = None


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Register ``spec`` under ``spec.key`` (re-registering the same key replaces it).

    Raises:
        ValueError: the key is not a lowercase identifier, or an option name another dataset
            declares with other argparse settings or default.
    """
    if not spec.key.isidentifier() or spec.key != spec.key.lower():
        raise ValueError(f"dataset key {spec.key!r} must be a lowercase identifier")
    if spec.reader.__module__ not in BUILTIN_MODULES:
        _load_builtins()  # a user's dataset is checked against every built-in one
    for other in _DATASETS.values():
        if other.key == spec.key:
            continue
        for mine in spec.options:
            for theirs in other.options:
                if mine.name == theirs.name and (dict(mine.kwargs), mine.default) != (
                        dict(theirs.kwargs), theirs.default):
                    raise ValueError(f"dataset {spec.key!r}: option {mine.flag} is declared "
                                     f"differently by dataset {other.key!r}")
    _DATASETS[spec.key] = spec
    return spec


def unregister_dataset(key: str) -> None:
    """Remove a registration (for tests that register a toy dataset)."""
    _DATASETS.pop(key, None)


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def list_datasets() -> list[str]:
    """The registered dataset keys: built-ins first, in :data:`BUILTIN_MODULES` order (not
    the order they happened to be imported in), then the others in registration order."""
    _load_builtins()

    def rank(item: tuple[int, str]) -> tuple[int, int]:
        module = _DATASETS[item[1]].reader.__module__
        builtin = BUILTIN_MODULES.index(module) if module in BUILTIN_MODULES else None
        return (0, builtin) if builtin is not None else (1, item[0])

    return [key for _, key in sorted(enumerate(_DATASETS), key=rank)]


def get_dataset(key: str) -> DatasetSpec:
    """The spec registered as ``key``.

    Raises:
        UserError: no dataset of that key (lists the registered ones).
    """
    _load_builtins()
    if key not in _DATASETS:
        raise UserError(f"no dataset named {key!r}; registered: {', '.join(list_datasets())}")
    return _DATASETS[key]


def dataset_label(key: str) -> str:
    """The display label of ``key`` (the key itself for an unregistered one)."""
    _load_builtins()
    spec = _DATASETS.get(key)
    return spec.label if spec else key


def dataset_root(data_root: str | os.PathLike, key: str) -> Path:
    """Return ``data_root / <the dataset's folder>``, e.g. ``data/demo/FaceForensics++``.

    Raises:
        UserError: ``key`` is not registered.
    """
    return Path(data_root) / get_dataset(key).folder


def list_videos(dataset: str, root: str | os.PathLike, **options) -> VideoList:
    """List the videos of ``dataset`` found under ``root`` with its registered reader.

    Args:
        dataset: a registered key (:func:`list_datasets`).
        root: the dataset's own folder (see :func:`dataset_root`).
        **options: passed to the reader (all take ``allow_missing``).

    Returns:
        Records sorted by (method, video), with disjoint splits.

    Raises:
        UserError: unknown dataset, or a split file names videos absent from ``root``
            (unless ``allow_missing``).
    """
    return get_dataset(dataset).reader(Path(root), **options)


def ordered(keys, first: tuple[str, ...] = ()) -> list[str]:
    """``keys`` (deduplicated) with ``first`` in its order, then the others in registry
    order, then unregistered ones sorted: the order of rows, columns, panels and curves."""
    keys = set(keys)
    rest = [k for k in list_datasets() if k in keys and k not in first]
    return [k for k in first if k in keys] + rest + sorted(keys - set(first) - set(rest))
