"""Bounded memory at the paper's size (issue 18): the crop cache never holds more bytes than
its bound, and the dataset's paths are two numpy arrays that forked loader workers share."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from jdfd_lib.training import data
from jdfd_lib.training.crop_cache import (
    CACHE_ENV,
    ByteCache,
    PackedStrings,
    cache_bytes_from_env,
)


def test_the_cache_drops_the_least_recently_used_to_stay_within_its_bytes() -> None:
    cache = ByteCache(max_bytes=300)
    a, b, c = (np.zeros(100, np.uint8) for _ in range(3))
    for key, value in (("a", a), ("b", b), ("c", c)):
        cache.put(key, value)
    assert cache.get("a") is a  # now the most recent: "b" goes first
    cache.put("d", np.zeros(150, np.uint8))
    assert cache.get("b") is None and cache.get("c") is None and cache.get("a") is a
    assert cache.bytes == 250 <= cache.max_bytes and len(cache) == 2
    cache.put("huge", np.zeros(301, np.uint8))  # larger than the bound: never kept
    assert cache.get("huge") is None and cache.bytes == 250
    cache.put("a", np.zeros(50, np.uint8))  # replacing an entry counts its new size
    assert cache.bytes == 200
    off = ByteCache(0)
    off.put("x", np.zeros(1, np.uint8))
    assert len(off) == 0 and off.bytes == 0
    with pytest.raises(ValueError, match="max_bytes"):
        ByteCache(-1)


def test_many_distinct_crops_through_one_process_never_exceed_the_bound(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """resized_crop over 120 distinct crop files with room for 40 of them: the cache holds at
    most its bound at every step, ends with the 40 most recent, and serves those again."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(120):
        path = tmp_path / f"{i:03d}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
        paths.append(path)
    one = 32 * 32 * 3  # a crop resized to 32 px, uint8
    monkeypatch.setattr(data, "CROP_CACHE", ByteCache(40 * one))
    for path in paths:
        data.resized_crop(path, 32)
        assert data.CROP_CACHE.bytes <= 40 * one
    assert len(data.CROP_CACHE) == 40 and data.CROP_CACHE.misses == 120
    for path in paths[-40:]:
        data.resized_crop(path, 32)
    assert data.CROP_CACHE.hits == 40
    data.resized_crop(paths[0], 32)  # long gone: decoded again
    assert data.CROP_CACHE.misses == 121


def test_the_bound_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert cache_bytes_from_env() == 256 * 2**20
    monkeypatch.setenv(CACHE_ENV, "0")
    assert cache_bytes_from_env() == 0
    monkeypatch.setenv(CACHE_ENV, "1.5")
    with pytest.raises(ValueError, match=f"{CACHE_ENV}='1.5'"):
        cache_bytes_from_env()


def test_packed_strings_give_back_every_path_in_two_arrays() -> None:
    items = ["a/b.png", "", "données/visage ü.png", "x" * 300]
    packed = PackedStrings(items)
    assert [packed[i] for i in range(len(items))] == items and len(packed) == 4
    assert packed[-1] == items[-1] and packed[np.int64(2)] == items[2]
    assert packed.nbytes == sum(len(s.encode()) for s in items) + 8 * 5
    with pytest.raises(IndexError):
        packed[4]
    assert len(PackedStrings([])) == 0
