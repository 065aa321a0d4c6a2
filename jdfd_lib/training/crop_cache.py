"""Memory that stays bounded at the paper's size: a crop cache limited in bytes, and an index
of paths that DataLoader workers share without copying.

- :class:`ByteCache`: decoded crops kept by least-recent use up to a number of **bytes**, not
  of items. A count bound sized on the demo (50,000 crops of 12 KB at 64 px) would let one
  process hold 13 GB of 299 px crops (268 KB each), and every loader worker has its own.
- :class:`PackedStrings`: the crop paths of a dataset as one ``uint8`` buffer and an ``int64``
  offset array. A list of Python strings is touched (reference counts) by every read, so each
  forked loader worker gradually copies the pages that hold it: at 3.5 million paths, about
  0.4 GB per worker. Two numpy arrays are never written after construction and stay shared.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Hashable, Iterable

import numpy as np

CACHE_ENV = "JDFD_CROP_CACHE_MB"  # bytes (in MiB) a process may keep in decoded crops
DEFAULT_CACHE_MB = 256  # per process: every demo crop at 64 px fits (BENCHMARKS.md, scale)


def cache_bytes_from_env(default_mb: int = DEFAULT_CACHE_MB) -> int:
    """The cache bound in bytes: ``JDFD_CROP_CACHE_MB`` (0 disables caching), else the default.

    Raises:
        ValueError: the variable is not a non-negative integer (names it).
    """
    text = os.environ.get(CACHE_ENV, "").strip()
    if not text:
        return default_mb * 2**20
    if not text.isdigit():
        raise ValueError(f"{CACHE_ENV}={text!r}: expected a whole number of MiB (0: no cache)")
    return int(text) * 2**20


class ByteCache:
    """A least-recently-used mapping of numpy arrays whose total ``nbytes`` never exceeds
    ``max_bytes`` (an array larger than the bound is not kept).

    Args:
        max_bytes: the bound; 0 keeps nothing.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0  # held now
        self.hits = self.misses = 0
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The array under ``key`` (now the most recently used), or None."""
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used to stay in bounds."""
        if value.nbytes > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old.nbytes
        while self._items and self.bytes + value.nbytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= dropped.nbytes
        self._items[key] = value
        self.bytes += value.nbytes

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0


class PackedStrings:
    """An immutable sequence of strings stored as UTF-8 in one ``uint8`` array plus ``int64``
    offsets (``offsets[i]:offsets[i + 1]`` is item ``i``): ``len(text) + 8`` bytes an item,
    and no Python object per item for forked workers to copy."""

    def __init__(self, items: Iterable[str]) -> None:
        encoded = [str(s).encode() for s in items]
        self.offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(b) for b in encoded], out=self.offsets[1:])
        self.data = np.frombuffer(b"".join(encoded), np.uint8).copy()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} strings")
        i %= len(self)
        return self.data[self.offsets[i]:self.offsets[i + 1]].tobytes().decode()

    @property
    def nbytes(self) -> int:
        """Bytes held by the two arrays."""
        return self.data.nbytes + self.offsets.nbytes
