"""Atomic writes (jdfd_lib.core.atomic): same bytes as a plain write, nothing half-written."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from jdfd_lib.core import atomic
from jdfd_lib.training.checkpoint import stale_temp_files

MKSTEMP_NAME = r"\.best\.pt-[a-z0-9_]{8}"


def test_json_text_and_csv_bytes_match_the_writers_they_replace(tmp_path: Path) -> None:
    obj = {"b": [1, 2.5], "a": {"y": None, "x": tmp_path}}
    atomic.write_json(obj, tmp_path / "r.json")
    expected = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    assert (tmp_path / "r.json").read_bytes() == expected.encode()
    table = pd.DataFrame({"video": ["001", "x,y"], "score": [0.1 + 0.2, 1 / 3],
                          "n": [1, 2]})
    table.to_csv(tmp_path / "plain.csv", index=False)
    assert atomic.write_csv(table, tmp_path / "sub" / "a.csv") == tmp_path / "sub" / "a.csv"
    assert (tmp_path / "sub" / "a.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    atomic.write_csv(table, tmp_path / "b.csv", index=True, float_format="%.2f")
    assert (tmp_path / "b.csv").read_text().splitlines()[1] == "0,001,0.30,1"
    atomic.write_text(tmp_path / "t.txt", "a\r\nb\né\n", fsync=True)
    assert (tmp_path / "t.txt").read_bytes() == "a\r\nb\né\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv", "plain.csv", "r.json",
                                                          "sub", "t.txt"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = atomic.write_text(tmp_path / "best.pt", "old")
    with pytest.raises(RuntimeError, match="disk full"), atomic.atomic_path(path) as tmp:
        tmp.write_text("half a")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]
    with pytest.raises(AttributeError):  # fails inside the block: the temp file goes too
        atomic.write_csv("not a table", path)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["best.pt"]


def test_temp_files_are_named_as_the_stale_temp_cleanup_expects(tmp_path: Path) -> None:
    with atomic.atomic_path(tmp_path / "best.pt") as tmp:
        assert re.fullmatch(MKSTEMP_NAME, tmp.name) and tmp.parent == tmp_path
        assert tmp.name.startswith(atomic.temp_prefix("best.pt"))
        assert stale_temp_files(tmp_path) == [tmp]  # what a killed writer leaves behind
        tmp.write_bytes(b"new")
    assert (tmp_path / "best.pt").read_bytes() == b"new"
    assert stale_temp_files(tmp_path) == []


def test_suffix_lets_writers_pick_the_format_from_the_name(tmp_path: Path) -> None:
    image = np.full((8, 8, 3), 200, np.uint8)
    with atomic.atomic_path(tmp_path / "crop.png", suffix=".png") as tmp:
        assert tmp.suffix == ".png"
        assert cv2.imwrite(str(tmp), image)
    assert (cv2.imread(str(tmp_path / "crop.png")) == image).all()
    assert [p.name for p in tmp_path.iterdir()] == ["crop.png"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_files_get_the_usual_permissions_not_mkstemps_private_ones(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    path = atomic.write_bytes(tmp_path / "x.bin", b"\x00\x01")
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_full_disk_names_the_file_being_written(tmp_path: Path, monkeypatch) -> None:
    import errno

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    target = tmp_path / "out" / "metrics.json"
    with pytest.raises(OSError) as err:
        atomic.write_json({"a": 1}, target)
    assert str(err.value) == (f"{target}: cannot be written: no space left on its device (or "
                              f"quota exceeded); free some and run the same command again")
    assert not list(target.parent.iterdir())  # no temporary file left behind
