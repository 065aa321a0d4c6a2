"""``prepare --shard I/N`` and ``--merge``: a sharded run ends byte-identical to a plain one.

Shards are cut by a stable hash of each video, run in any order, leave no index, never touch
another shard's temporary folders, and the merge refuses while a video is unfinished.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jdfd_lib import cli
from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets.registry import list_videos
from jdfd_lib.faces import shards
from jdfd_lib.faces.crops import ExtractConfig
from jdfd_lib.faces.index import EXTRACTION_NAME, INDEX_NAME, prepared_fingerprint, read_index
from jdfd_lib.faces.prepare import prepare

CFG = ExtractConfig(frames_per_video=3, image_size=48, workers=1)
VIDEOS = 4  # per class


@pytest.fixture(scope="module")
def uadfv(face_clips: dict[str, Path], clip_dataset,
          tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A UADFV-layout folder: 4 real and 4 fake copies of the two 15-frame face clips."""
    return clip_dataset(tmp_path_factory.mktemp("data") / "UADFV", face_clips, VIDEOS)


@pytest.fixture(scope="module")
def plain(uadfv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same videos prepared in one plain run."""
    out = tmp_path_factory.mktemp("plain") / "faces"
    prepare("uadfv", uadfv, out, CFG)
    return out


def tree_bytes(root: Path, under: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted((root / under).rglob("*")) if p.is_file()}


def test_shard_text_is_checked() -> None:
    assert shards.parse_shard("3/8") == (3, 8)
    for bad in ("8/8", "-1/4", "1", "a/b", "1/0"):
        with pytest.raises(UserError, match="expected I/N with 0 <= I < N"):
            shards.parse_shard(bad)


def test_a_videos_shard_is_a_stable_hash_of_its_identity() -> None:
    # pinned: a Slurm array's shards must mean the same videos on every machine and release
    # (sha256 of "real/0000", ...; a change of the rule would reshuffle prepared folders)
    assert [shards.shard_of("real", f"{i:04d}", 8) for i in range(6)] == [3, 5, 5, 7, 0, 0]
    assert shards.shard_of("Deepfakes", "000_003", 64) == 41
    counts = [0] * 4
    for i in range(4000):
        counts[shards.shard_of("fake", f"id{i}", 4)] += 1
    assert all(900 < c < 1100 for c in counts), counts  # evenly spread


def test_shards_then_merge_equal_a_plain_run_byte_for_byte(uadfv: Path, plain: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "faces"
    records = list_videos("uadfv", uadfv)
    seen = []
    for i in (2, 0, 1):  # any order
        summary = prepare("uadfv", uadfv, out, CFG, shard=(i, 3))
        assert summary["videos"] == len(shards.select(records, (i, 3)))
        seen += [(r.method, r.video) for r in shards.select(records, (i, 3))]
        assert not (out / INDEX_NAME).exists()  # a shard writes no index
        assert (out / "shards" / f"{i}-of-3.json").is_file()
    assert sorted(seen) == sorted((r.method, r.video) for r in records)  # each video once
    merged = prepare("uadfv", uadfv, out, CFG, merge=True)
    assert merged["done"] == 0 and merged["skipped"] == len(records)
    for name in (INDEX_NAME, EXTRACTION_NAME):
        assert (out / name).read_bytes() == (plain / name).read_bytes(), name
    assert tree_bytes(out, "crops") == tree_bytes(plain, "crops")
    assert len(read_index(out)) == len(read_index(plain))


def test_merge_refuses_unfinished_videos_naming_their_shards(uadfv: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "faces"
    prepare("uadfv", uadfv, out, CFG, shard=(0, 3))
    prepare("uadfv", uadfv, out, CFG, shard=(2, 3))
    missing = shards.select(list_videos("uadfv", uadfv), (1, 3))
    with pytest.raises(UserError, match=rf"{len(missing)} videos are not prepared yet "
                                        r"\(shards 1/3\).*--merge"):
        prepare("uadfv", uadfv, out, CFG, merge=True)
    assert not (out / INDEX_NAME).exists()


def test_a_shard_leaves_other_shards_temporaries_alone(uadfv: Path, tmp_path: Path) -> None:
    out = tmp_path / "faces"
    records = list_videos("uadfv", uadfv)
    theirs = shards.select(records, (1, 3))[0]
    mine = shards.select(records, (0, 3))[0]
    busy = out / "crops" / theirs.method / f".{theirs.video}.tmp-99999"  # shard 1 working
    stale = out / "crops" / mine.method / f".{mine.video}.tmp-99999"  # shard 0, interrupted
    for folder in (busy, stale):
        folder.mkdir(parents=True)
    prepare("uadfv", uadfv, out, CFG, shard=(0, 3))
    assert busy.is_dir() and not stale.exists()


def test_a_video_a_shard_cannot_read_is_listed_by_the_merge(uadfv: Path, tmp_path: Path) -> None:
    data = Path(shutil.copytree(uadfv, tmp_path / "UADFV"))
    broken = data / "fake" / "0001_fake.mp4"
    broken.write_bytes(b"not a video")
    out = tmp_path / "faces"
    for i in range(3):
        prepare("uadfv", data, out, CFG, shard=(i, 3))
    merged = prepare("uadfv", data, out, CFG, merge=True)
    assert [f["path"] for f in merged["failures"]] == [str(broken)]
    assert merged["failed"] == 1 and (out / INDEX_NAME).is_file()


def test_shard_and_merge_exclude_each_other(uadfv: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="exclude each other"):
        prepare("uadfv", uadfv, tmp_path / "faces", CFG, shard=(0, 2), merge=True)


def test_the_command_line_runs_shards_then_merges(uadfv: Path, plain: Path, tmp_path: Path,
                                                  capsys) -> None:
    base = ["prepare", "--dataset", "uadfv", "--root", str(uadfv), "--out",
            str(tmp_path / "faces"), "--frames", "3", "--size", "48", "--image-format", "png"]
    for i in range(3):
        assert cli.main([*base, "--shard", f"{i}/3"]) == 0
        assert f"shard {i}/3 finished" in capsys.readouterr().out
    assert cli.main([*base, "--merge"]) == 0
    assert "prepare finished: 8 videos" in capsys.readouterr().out
    assert (tmp_path / "faces" / INDEX_NAME).read_bytes() == (plain / INDEX_NAME).read_bytes()
    assert cli.main([*base, "--shard", "0/3", "--merge"]) == 1
    assert "--shard and --merge exclude each other" in capsys.readouterr().err
    assert cli.main([*base, "--shards", "4"]) == 1
    assert "--shards applies to --dask only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([*base, "--shard", "3/3"])
    assert "expected I/N with 0 <= I < N, got '3/3'" in capsys.readouterr().err


def test_one_writer_or_shards_side_by_side(uadfv: Path, tmp_path: Path) -> None:
    """A second plain run (or a merge) on a folder in use is refused in one line; shards of
    one split run side by side, each shard once."""
    out = tmp_path / "faces"
    with shards.writer_lock(out, None):  # another plain run is writing
        for kind in ({}, {"shard": (0, 3)}, {"merge": True}):
            with pytest.raises(UserError, match=rf"^{out}: another prepare is writing in it"):
                prepare("uadfv", uadfv, out, CFG, **kind)
    with shards.writer_lock(out, (1, 3)):  # shard 1 is running elsewhere
        prepare("uadfv", uadfv, out, CFG, shard=(0, 3))  # another shard: fine
        with pytest.raises(UserError, match=r"shard 1/3 is being prepared already"):
            prepare("uadfv", uadfv, out, CFG, shard=(1, 3))
        with pytest.raises(UserError, match="another prepare is writing in it"):
            prepare("uadfv", uadfv, out, CFG)  # a plain run would clean shard 1's temporaries
    prepare("uadfv", uadfv, out, CFG)  # the folder is free again


def test_a_replaced_video_is_extracted_again(uadfv: Path, tmp_path: Path,
                                             face_clips: dict[str, Path]) -> None:
    """A finished video is keyed on its file (size, modification time): new content under
    the same name is extracted again, and the run names it."""
    data = Path(shutil.copytree(uadfv, tmp_path / "UADFV"))
    out = tmp_path / "faces"
    prepare("uadfv", data, out, CFG)
    target = data / "real" / "0001.mp4"
    old = sorted((out / "crops" / "real" / "0001").iterdir())[0].read_bytes()
    before = prepared_fingerprint(out)
    shutil.copy(face_clips["mirrored"], target)  # other pixels, same name
    summary = prepare("uadfv", data, out, CFG)
    # what a training run keys its reuse on: the sources changed, whatever the index did
    assert prepared_fingerprint(out)["sources_sha256"] != before["sources_sha256"]
    assert (summary["done"], summary["repaired"]) == (1, 1)
    assert summary["repaired_videos"] == [{"path": str(target), "reason": "the video file "
                                           "changed since it was extracted (size or "
                                           "modification time)"}]
    assert sorted((out / "crops" / "real" / "0001").iterdir())[0].read_bytes() != old
    after = prepared_fingerprint(out)
    assert prepare("uadfv", data, out, CFG)["done"] == 0  # unchanged since: kept
    assert prepared_fingerprint(out) == after
