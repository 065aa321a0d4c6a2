"""Dataset adapters: counts, labels, splits and errors on hand-built layouts and demo data."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets.celebdf import CELEBDF_SPLIT_FILE, CELEBDF_TEST_LIST, list_celebdf
from jdfd_lib.datasets.ffpp import FFPP_METHODS, list_ffpp
from jdfd_lib.datasets.records import VideoRecord, assert_disjoint
from jdfd_lib.datasets.registry import dataset_root, list_videos
from jdfd_lib.datasets.splits import SPLITS
from jdfd_lib.datasets.uadfv import UADFV_SPLIT_FILE, list_uadfv

FFPP_PAIRS = {"train": [["000", "003"], ["001", "004"]], "val": [["002", "005"]],
              "test": [["006", "007"]]}


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def make_ffpp(root: Path, compression: str = "c23", extra_unlisted: bool = False) -> Path:
    (root / "splits").mkdir(parents=True)
    for split, pairs in FFPP_PAIRS.items():
        (root / "splits" / f"{split}.json").write_text(json.dumps(pairs))
    ids = [v for pairs in FFPP_PAIRS.values() for p in pairs for v in p]
    for vid in ids + (["099"] if extra_unlisted else []):
        touch(root / f"original_sequences/youtube/{compression}/videos/{vid}.mp4")
    for method in FFPP_METHODS:
        for pairs in FFPP_PAIRS.values():
            for a, b in pairs:
                for t, s in ((a, b), (b, a)):
                    touch(root / f"manipulated_sequences/{method}/{compression}/videos/{t}_{s}.mp4")
    return root


def make_celebdf(root: Path) -> Path:
    real = [f"id{i}_{n:04d}" for i in range(4) for n in range(3)]
    fake = [f"id{t}_id{(t + 1) % 4}_{n:04d}" for t in range(4) for n in range(3)]
    youtube = [f"{n:05d}" for n in range(4)]
    for name in real:
        touch(root / f"Celeb-real/{name}.mp4")
    for name in fake:
        touch(root / f"Celeb-synthesis/{name}.mp4")
    for name in youtube:
        touch(root / f"YouTube-real/{name}.mp4")
    lines = ["1 Celeb-real/id0_0000.mp4", "1 YouTube-real/00000.mp4",
             "0 Celeb-synthesis/id0_id1_0000.mp4", "0 Celeb-synthesis/id2_id3_0001.mp4"]
    (root / CELEBDF_TEST_LIST).write_text("\n".join(lines) + "\n")
    return root


def make_uadfv(root: Path, n: int = 10) -> Path:
    for i in range(n):
        touch(root / f"real/{i:04d}.mp4")
        touch(root / f"fake/{i:04d}_fake.mp4")
    return root


def test_dataset_root_and_unknown_key(tmp_path: Path) -> None:
    assert dataset_root(tmp_path, "celebdf") == tmp_path / "Celeb-DF-v2"
    with pytest.raises(UserError, match="no dataset named 'nosuch'; registered: ffpp, celebdf"):
        dataset_root(tmp_path, "nosuch")
    with pytest.raises(UserError, match="no dataset named 'nosuch'"):
        list_videos("nosuch", tmp_path)


def test_ffpp_counts_labels_and_pair_splits(tmp_path: Path) -> None:
    recs = list_videos("ffpp", make_ffpp(tmp_path / "FaceForensics++"))
    assert len(recs) == 8 + 4 * 8
    assert Counter(r.label for r in recs) == {0: 8, 1: 32}
    by_id = {(r.method, r.video): r for r in recs}
    assert by_id[("original", "000")].split == "train"
    assert by_id[("Deepfakes", "003_000")].split == "train"
    assert by_id[("FaceSwap", "005_002")].split == "val"
    assert by_id[("NeuralTextures", "006_007")].split == "test"
    assert by_id[("original", "007")].identity == by_id[("Face2Face", "006_007")].identity
    assert Counter(r.split for r in recs if r.method == "original") == {
        "train": 4, "val": 2, "test": 2}
    assert recs == sorted(recs, key=lambda r: (r.method, r.video))


def test_ffpp_options_and_unlisted_videos(tmp_path: Path) -> None:
    root = make_ffpp(tmp_path / "ff", compression="c40", extra_unlisted=True)
    with pytest.warns(UserWarning, match="1 FF.. videos are in no official split"):
        recs = list_ffpp(root, compression="c40", methods=["Deepfakes"])
    assert {r.method for r in recs} == {"original", "Deepfakes"}
    assert "099" not in {r.video for r in recs}
    with pytest.raises(FileNotFoundError, match="c23/videos"):
        list_ffpp(root)  # c23 absent
    with pytest.raises(ValueError, match="unknown FF.. methods"):
        list_ffpp(root, compression="c40", methods=["DeepFakeDetection"])


def test_ffpp_missing_split_file_is_named(tmp_path: Path) -> None:
    root = make_ffpp(tmp_path / "ff")
    (root / "splits" / "val.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"splits/val\.json"):
        list_ffpp(root)


def test_celebdf_test_list_and_identity_grouped_val(tmp_path: Path) -> None:
    recs = list_videos("celebdf", make_celebdf(tmp_path / "Celeb-DF-v2"), val_fraction=0.3)
    assert len(recs) == 12 + 12 + 4
    assert Counter(r.label for r in recs) == {0: 16, 1: 12}
    test = {f"{r.method}/{r.video}" for r in recs if r.split == "test"}
    assert test == {"Celeb-real/id0_0000", "YouTube-real/00000",
                    "Celeb-synthesis/id0_id1_0000", "Celeb-synthesis/id2_id3_0001"}
    assert {r.split for r in recs} == {"train", "val", "test"}
    train_ids = {r.identity for r in recs if r.split == "train"}
    val_ids = {r.identity for r in recs if r.split == "val"}
    assert not train_ids & val_ids
    fake = next(r for r in recs if r.video == "id1_id2_0001")
    assert fake.identity == "id1"
    again = list_videos("celebdf", tmp_path / "Celeb-DF-v2", val_fraction=0.3)
    assert again == recs  # seeded


def test_celebdf_label_disagreement_raises(tmp_path: Path) -> None:
    root = make_celebdf(tmp_path / "c")
    (root / CELEBDF_TEST_LIST).write_text("0 Celeb-real/id0_0000.mp4\n")
    with pytest.raises(ValueError, match="disagrees with folder 'Celeb-real'"):
        list_celebdf(root)
    (root / CELEBDF_TEST_LIST).unlink()
    with pytest.raises(FileNotFoundError, match="List_of_testing_videos.txt"):
        list_celebdf(root)


def test_uadfv_split_is_kept_only_where_asked(tmp_path: Path) -> None:
    root = make_uadfv(tmp_path / "UADFV", n=20)
    recs = list_videos("uadfv", root)
    assert len(recs) == 40 and Counter(r.label for r in recs) == {0: 20, 1: 20}
    assert not (root / UADFV_SPLIT_FILE).exists()  # never written into the dataset folder
    assert list_videos("uadfv", root) == recs  # seeded: the same videos, the same split
    split_of = {r.video: r.split for r in recs}
    assert all(split_of[f"{i:04d}"] == split_of[f"{i:04d}_fake"] for i in range(20))
    assert Counter(r.split for r in recs if r.label == 0) == {"train": 15, "val": 2, "test": 3}
    other = tmp_path / "elsewhere.json"
    recs2 = list_uadfv(root, split_file=other, seed=5)
    assert other.is_file() and {r.video for r in recs2} == {r.video for r in recs}
    assert recs2 != recs
    # the stored file wins over a new seed: the split is stable
    assert list_uadfv(root, split_file=other, seed=123) == recs2
    # a split shipped in the dataset folder is read by default
    (root / UADFV_SPLIT_FILE).write_text(other.read_text())
    assert list_videos("uadfv", root, seed=123) == recs2


def test_uadfv_split_file_missing_a_video(tmp_path: Path) -> None:
    root = make_uadfv(tmp_path / "UADFV", n=4)
    split = root / "s.json"
    split.write_text(json.dumps({"splits": {"train": ["0000"], "val": ["0001"],
                                            "test": ["0002"]}}))
    with pytest.raises(ValueError, match=r"\['0003'\] are in no split"):
        list_uadfv(root, split_file=split)


@pytest.mark.parametrize("dataset", ["uadfv", "folder"])
def test_a_split_file_sharing_a_group_between_splits_is_refused(tmp_path: Path,
                                                                dataset: str) -> None:
    root = make_uadfv(tmp_path / "UADFV", n=4)
    split = tmp_path / "s.json"
    split.write_text(json.dumps({"splits": {"train": ["0000", "0001", "0003"], "val": ["0002"],
                                            "test": ["0003", "0001"]}}))
    with pytest.raises(ValueError, match=r"s.json: 2 groups are in more than one split: "
                                         r"0001 \(train and test\), 0003 \(train and test\)"):
        list_videos(dataset, root, split_file=split)


@pytest.mark.parametrize("content, says", [
    ('{"splits": {"train": "0000", "val": ["0001"], "test": ["0002", "0003"]}}', "expected "),
    ('{"splits": {"train": [0, 1], "val": ["0002"], "test": ["0003"]}}', "expected "),
    ('{"splits": {"train": [["0000"]], "val": [], "test": []}}', "expected "),
    ('{"splits": ["train", "val", "test"]}', "expected "),
    (b"\x89PNG\r\n\x1a\n\x00", "not text"), ("", "not JSON"),
])
def test_a_split_file_of_other_values_is_refused_in_one_line(tmp_path: Path, content,
                                                             says: str) -> None:
    """A group id is text: a string is not a list of one-letter groups, a number is not the
    group "0000"; the file is named in one line."""
    root = make_uadfv(tmp_path / "UADFV", n=4)
    split = tmp_path / "s.json"
    split.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=rf"s\.json: {says}") as err:
        list_uadfv(root, split_file=split)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("dataset", ["ffpp", "celebdf", "uadfv"])
def test_missing_root_and_empty_folder_are_named(tmp_path: Path, dataset: str) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope: folder not found"):
        list_videos(dataset, missing)
    missing.write_bytes(b"a file where the dataset's folder is meant")
    with pytest.raises(FileNotFoundError, match="nope: a file, not a folder; expected "):
        list_videos(dataset, missing)
    root = {"ffpp": make_ffpp, "celebdf": make_celebdf, "uadfv": make_uadfv}[dataset](
        tmp_path / "d")
    folder = {"ffpp": root / "original_sequences/youtube/c23/videos",
              "celebdf": root / "YouTube-real", "uadfv": root / "fake"}[dataset]
    for f in folder.iterdir():
        f.unlink()
    with pytest.raises(ValueError, match=f"{folder.name}: no video files"):
        list_videos(dataset, root)


def test_assert_disjoint_raises_on_overlap(tmp_path: Path) -> None:
    a = VideoRecord("uadfv", "real", "0001", tmp_path / "a.mp4", 0, "train", "0001")
    b = VideoRecord("uadfv", "fake", "0001_fake", tmp_path / "b.mp4", 1, "test", "0001")
    with pytest.raises(ValueError, match="identity group '0001'"):
        assert_disjoint([a, b])
    assert_disjoint([a, b], identity_splits=("train", "val"))  # test may share identities
    c = VideoRecord("uadfv", "real", "0001", tmp_path / "a.mp4", 0, "val", "0002")
    with pytest.raises(ValueError, match="a.mp4: video listed in several splits"):
        assert_disjoint([a, c])


@pytest.mark.parametrize("dataset", ["ffpp", "celebdf", "uadfv"])
def test_demo_data_adapters(demo_root: Path, dataset: str) -> None:
    recs = list_videos(dataset, dataset_root(demo_root, dataset))
    assert recs and all(r.path.is_file() and r.path.stat().st_size > 0 for r in recs)
    assert {r.label for r in recs} == {0, 1}
    assert {r.split for r in recs} == {"train", "val", "test"}
    assert_disjoint(recs, identity_splits=("train", "val") if dataset == "celebdf"
                    else SPLITS)
    assert len({(r.method, r.video) for r in recs}) == len(recs)


def test_celebdf_split_file_sets_the_validation_carve(tmp_path: Path) -> None:
    root = make_celebdf(tmp_path / "Celeb-DF-v2")
    default = list_videos("celebdf", root)
    (root / CELEBDF_SPLIT_FILE).write_text(json.dumps({"val_fraction": 0.6, "seed": 0}))
    carved = list_videos("celebdf", root)
    n_val = {name: sum(r.split == "val" for r in recs)
             for name, recs in (("default", default), ("carved", carved))}
    assert n_val["carved"] > n_val["default"] > 0
    assert list_videos("celebdf", root, val_fraction=0.1) == default  # arguments win
    assert [r.split for r in carved if r.split == "test"] == [
        r.split for r in default if r.split == "test"]  # the official test list is untouched


@pytest.mark.parametrize("bad", [{"val_fraction": 1.5}, {"fraction": 0.2}, [0.2],
                                 {"val_fraction": 0.2, "seed": "x"}])
def test_celebdf_split_file_refuses_bad_settings(tmp_path: Path, bad) -> None:
    root = make_celebdf(tmp_path / "Celeb-DF-v2")
    (root / CELEBDF_SPLIT_FILE).write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="jdfd_split.json"):
        list_videos("celebdf", root)


def test_ffpp_pairs_naming_absent_videos_are_refused(tmp_path: Path) -> None:
    root = make_ffpp(tmp_path / "ff")
    for method in FFPP_METHODS:  # the test split loses all its fakes
        for name in ("006_007", "007_006"):
            (root / f"manipulated_sequences/{method}/c23/videos/{name}.mp4").unlink()
    with pytest.raises(UserError, match=r"splits/test\.json \(8\): 8 listed video\(s\) absent "
                       r"from .*ff: Deepfakes/006_007, Deepfakes/007_006, .*a_b, b_a in "
                       r"manipulated_sequences/<method>/c23/videos.*allow_missing=True"):
        list_ffpp(root)
    # only the included methods are expected
    (root / "original_sequences/youtube/c23/videos/002.mp4").unlink()
    with pytest.raises(UserError, match=r"val\.json \(1\), .*test\.json \(2\): 3 listed"):
        list_ffpp(root, methods=["Face2Face"])
    with pytest.warns(UserWarning, match="9 listed video.*going on without them"):
        recs = list_videos("ffpp", root, allow_missing=True)
    assert len(recs.absent) == 9 and "original/002" in recs.absent
    assert len(recs) == 8 + 4 * 8 - 9
    assert {r.split for r in recs if r.label} == {"train", "val"}


def test_uadfv_split_naming_absent_videos_is_refused(tmp_path: Path) -> None:
    root = make_uadfv(tmp_path / "UADFV", n=4)
    split = tmp_path / "s.json"
    split.write_text(json.dumps({"splits": {"train": ["0000", "0001", "0007"], "val": ["0002"],
                                            "test": ["0003", "0008"]}}))
    with pytest.raises(UserError, match=r"s\.json \(4\): 4 listed video\(s\) absent from "
                       r".*UADFV: real/0007, real/0008, fake/0007_fake, fake/0008_fake; "
                       r"expected each id of the split as real/ID\.mp4 and fake/ID_fake\.mp4"):
        list_uadfv(root, split_file=split)
    (root / "fake/0003_fake.mp4").unlink()  # a real video without its fake: absent too
    with pytest.warns(UserWarning, match="5 listed video"):
        recs = list_uadfv(root, split_file=split, allow_missing=True)
    assert len(recs) == 7 and len(recs.absent) == 5 and "fake/0003_fake" in recs.absent


def test_celebdf_test_list_naming_absent_videos_is_refused(tmp_path: Path) -> None:
    root = make_celebdf(tmp_path / "Celeb-DF-v2")
    (root / "Celeb-synthesis/id2_id3_0001.mp4").unlink()
    (root / "YouTube-real/00000.mp4").unlink()
    with pytest.raises(UserError, match=r"List_of_testing_videos\.txt \(2\): 2 listed video\(s\)"
                       r" absent from .*: YouTube-real/00000\.mp4, Celeb-synthesis/id2_id3_0001"):
        list_celebdf(root)
    with pytest.warns(UserWarning, match="2 listed video"):
        recs = list_celebdf(root, allow_missing=True)
    assert len(recs.absent) == 2 and sum(r.split == "test" for r in recs) == 2
