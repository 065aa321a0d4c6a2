"""The test sets beyond the paper's three: DFDC, DFDCP, DFD and a user's folder.

Readers on hand-built layouts of empty files; face images and the generated copies are in
``test_images_and_extra_demo.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets import dfd, dfdc, folder
from jdfd_lib.datasets.ffpp import SPEC as FFPP_SPEC
from jdfd_lib.datasets.records import assert_disjoint
from jdfd_lib.datasets.registry import dataset_root, get_dataset, list_datasets, list_videos
from jdfd_lib.datasets.uadfv import SPEC as UADFV_SPEC
from jdfd_lib.faces.crops import ExtractConfig

CFG = ExtractConfig(frames_per_video=4, image_size=48, workers=1)


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_json(path: Path, data) -> Path:
    return touch(path, json.dumps(data))


# ----------------------------------------------------------------------------- DFDC
def make_dfdc(root: Path, under_train: bool = False, test: bool = True,
              parts: int = 2) -> Path:
    """Parts of 3 originals with 2 fakes each; a test set of 2 real and 2 fake videos."""
    root.mkdir(parents=True)
    for p in range(parts):
        part = root / ("train" if under_train else "") / f"dfdc_train_part_{p}"
        meta = {}
        for k in range(3):
            orig = f"o{p}{k}.mp4"
            meta[orig] = {"label": "REAL", "split": "train", "original": None}
            for f in range(2):
                meta[f"f{p}{k}{f}.mp4"] = {"label": "FAKE", "split": "train", "original": orig}
        for name in meta:
            touch(part / name)
        write_json(part / "metadata.json", meta)
    for name in ("ta", "tb", "tc", "td") if test else ():
        touch(root / "test" / f"{name}.mp4")
    if test:
        touch(root / "test/labels.csv", "filename,label\nta.mp4,0\ntb.mp4,1\ntc.mp4,0\ntd.mp4,1")
    return root


def test_dfdc_labels_groups_and_carved_validation(tmp_path: Path) -> None:
    recs = list_videos("dfdc", make_dfdc(tmp_path / "DFDC"), val_fraction=0.4)
    assert Counter((r.label, r.split == "test") for r in recs) == {
        (0, False): 6, (1, False): 12, (0, True): 2, (1, True): 2}
    assert {r.split for r in recs} == {"train", "val", "test"}
    by_video = {r.video: r for r in recs}
    for r in recs:  # a fake shares its original's group and split
        if r.split != "test":
            orig = by_video[f"o{r.video[1:3]}"]
            assert (r.identity, r.split) == (orig.video, orig.split)
    assert_disjoint(recs)
    assert list_videos("dfdc", tmp_path / "DFDC", val_fraction=0.4) == recs  # seeded
    assert list_videos("dfdc", tmp_path / "DFDC", val_fraction=0.4, seed=3) != recs


def test_dfdc_parts_under_train_and_either_part_alone(tmp_path: Path) -> None:
    assert len(list_videos("dfdc", make_dfdc(tmp_path / "a", under_train=True))) == 22
    assert len(list_videos("dfdc", make_dfdc(tmp_path / "b", test=False))) == 18
    assert {r.split for r in list_videos("dfdc", make_dfdc(tmp_path / "c", parts=0))} == {
        "test"}
    with pytest.raises(FileNotFoundError, match=r"d: no DFDC data; expected "
                                                r"dfdc_train_part_\*/metadata\.json"):
        list_videos("dfdc", make_dfdc(tmp_path / "d", test=False, parts=0))


def test_dfdc_absent_videos_are_refused_unless_allowed(tmp_path: Path) -> None:
    root = make_dfdc(tmp_path / "DFDC")
    (root / "dfdc_train_part_1" / "f120.mp4").unlink()
    (root / "test" / "tb.mp4").unlink()
    with pytest.raises(UserError, match=r"part_1/metadata\.json \(1\), .*labels\.csv \(1\): "
                                        r"2 listed video\(s\) absent"):
        list_videos("dfdc", root)
    with pytest.warns(UserWarning, match="2 listed video"):
        recs = list_videos("dfdc", root, allow_missing=True)
    assert len(recs) == 20 and sorted(recs.absent) == ["dfdc_train_part_1/f120.mp4",
                                                       "test/tb.mp4"]


META, LABELS, INDEX = "dfdc_train_part_0/metadata.json", "test/labels.csv", "dataset.json"
ORIG = "original_videos/100/100_A/100_A_000.mp4"


@pytest.mark.parametrize("key, file, text, message", [
    ("dfdc", META, "{not json", r"part_0/metadata\.json: not JSON"),
    ("dfdc", META, '["a.mp4"]', r"part_0/metadata\.json: expected .*got list"),
    ("dfdc", META, '{"a.mp4": {"label": "real"}}', r"metadata\.json: entry 'a\.mp4': expected "),
    ("dfdc", META, '{"a.mp4": {"label": "FAKE"}}', r"expected a FAKE entry with \"original\""),
    ("dfdc", LABELS, "name,label\na.mp4,0", r"labels\.csv: expected a header 'filename,label'"),
    ("dfdc", LABELS, "filename,label\nta.mp4,2", r"labels\.csv:2: expected '<video>\.mp4,<0"),
    ("dfdc", LABELS, "", r"labels\.csv: expected a header .*an empty file"),
    ("dfdcp", INDEX, "[]", r"dataset\.json: expected a JSON object"),
    ("dfdcp", INDEX, json.dumps({ORIG: {"label": "fake", "set": "train", "target_id": 1}}),
     rf"dataset\.json: entry '{ORIG}': expected a path under original_videos/ \(label \"real"),
    ("dfdcp", INDEX, json.dumps({ORIG: {"label": "real", "set": "val", "target_id": 1}}),
     r"dataset\.json: entry .*\"set\": \"train\"\|\"test\" and \"target_id\""),
    ("dfdcp", INDEX, json.dumps({ORIG: {"label": "real", "set": "test"}}), r"got \{'label'"),
])
def test_bad_metadata_is_one_line_naming_the_file(tmp_path: Path, key: str, file: str,
                                                  text: str, message: str) -> None:
    root = (make_dfdc if key == "dfdc" else make_dfdcp)(tmp_path / key)
    (root / file).write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        list_videos(key, root)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\), got 1\.5"):
        list_videos(key, root, val_fraction=1.5)


# ----------------------------------------------------------------------------- DFDCP
def make_dfdcp(root: Path) -> Path:
    """6 targets (4 train, 2 test), each with an original and a method_A and method_B fake."""
    index = {}
    for t in range(6):
        tid, sets = f"10{t}", "test" if t >= 4 else "train"
        index[f"original_videos/{tid}/{tid}_A/{tid}_A_000.mp4"] = {
            "label": "real", "set": sets, "target_id": int(tid)}
        for m in dfdc.DFDCP_METHODS:
            index[f"{m}/{tid}/{tid}_A/20{t}_{tid}_A_000.mp4"] = {
                "label": "fake", "set": sets, "target_id": int(tid), "swapped_id": f"20{t}"}
    for rel in index:
        touch(root / rel)
    return write_json(root / "dataset.json", index).parent


def test_dfdcp_official_sets_and_validation_by_target(tmp_path: Path) -> None:
    recs = list_videos("dfdcp", make_dfdcp(tmp_path / "DFDCP"), val_fraction=0.2)
    assert Counter((r.method, r.label) for r in recs) == {
        ("original_videos", 0): 6, ("method_A", 1): 6, ("method_B", 1): 6}
    split_of = {}
    for r in recs:
        assert split_of.setdefault(r.identity, r.split) == r.split  # a target's videos together
    assert {t for t, s in split_of.items() if s == "test"} == {"104", "105"}
    assert Counter(split_of.values()) == {"train": 3, "val": 1, "test": 2}
    assert get_dataset("dfdcp").identity_splits == ("train", "val")


def test_dfdcp_absent_videos_are_refused_unless_allowed(tmp_path: Path) -> None:
    root = make_dfdcp(tmp_path / "DFDCP")
    (root / "method_B/103/103_A/203_103_A_000.mp4").unlink()
    with pytest.raises(UserError, match=r"dataset\.json \(1\): 1 listed video\(s\) absent from "
                                        r".*: method_B/103/103_A/203_103_A_000\.mp4"):
        list_videos("dfdcp", root)
    with pytest.warns(UserWarning, match="1 listed video"):
        assert len(list_videos("dfdcp", root, allow_missing=True)) == 17


# ----------------------------------------------------------------------------- DFD
def make_dfd(root: Path, compression: str = "c23", actors: int = 6) -> Path:
    """Per actor two scenes; a fake of each real video with the next actor's face."""
    for a in range(1, actors + 1):
        b = a % actors + 1
        for scene in ("kitchen_pan", "meeting_serious"):
            touch(root / f"original_sequences/actors/{compression}/videos/{a:02d}__{scene}.mp4")
            touch(root / f"manipulated_sequences/DeepFakeDetection/{compression}/videos/"
                         f"{a:02d}_{b:02d}__{scene}__ABCD{a:04d}.mp4")
    return root


def test_dfd_is_test_only_by_default(tmp_path: Path) -> None:
    root = make_dfd(tmp_path / "FaceForensics++")
    assert dataset_root(tmp_path, "dfd") == root  # DFD lives in the FF++ folder
    recs = list_videos("dfd", root)
    assert len(recs) == 24 and {r.split for r in recs} == {"test"}
    assert Counter(r.method for r in recs) == {"original": 12, "DeepFakeDetection": 12}
    fake = next(r for r in recs if r.video == "03_04__kitchen_pan__ABCD0003")
    assert (fake.label, fake.identity) == (1, "03")
    with pytest.raises(ValueError, match="unknown dfd_split 'pairs'"):
        list_videos("dfd", root, dfd_split="pairs")
    with pytest.raises(FileNotFoundError, match=r"actors/c40/videos: folder not found"):
        list_videos("dfd", root, compression="c40")
    touch(root / "original_sequences/actors/c23/videos/meeting.mp4")
    with pytest.raises(ValueError, match=r"meeting\.mp4: not a DFD real video name; expected "
                                         r"AA__<scene>\.mp4"):
        list_videos("dfd", root)


def test_dfd_actor_split_keeps_actors_apart(tmp_path: Path) -> None:
    root = make_dfd(tmp_path / "FaceForensics++", "c40", actors=10)
    with pytest.warns(UserWarning, match=r"DFD fakes join actors of two splits and are left"):
        recs = list_videos("dfd", root, compression="c40", dfd_split="actors")
    split_of = {r.identity: r.split for r in recs if r.label == 0}
    assert set(split_of.values()) == {"train", "val", "test"} and len(split_of) == 10
    for r in recs:
        if r.label:  # both actors of a kept fake are in its split
            t, s = r.video[:2], r.video[3:5]
            assert split_of[t] == split_of[s] == r.split
    assert_disjoint(recs)


# ----------------------------------------------------------------------------- folder
def make_folder(root: Path) -> Path:
    """Sub-folders person0..3 in real/ and fake/ (a clip, a frame), and top-level files."""
    for p in range(4):
        for rel in (f"real/person{p}/clip.mp4", f"real/person{p}/frames/0001.png",
                    f"fake/person{p}/clip_swap.mp4"):
            touch(root / rel)
    for rel in ("real/street.mov", "fake/street_swap.JPG", "real/notes.txt"):
        touch(root / rel)
    return root


def test_folder_labels_groups_and_drawn_split(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "custom")
    recs = list_videos("folder", root)
    assert len(recs) == 14 and Counter(r.label for r in recs) == {0: 9, 1: 5}
    group = {(r.method, r.video): r.identity for r in recs}
    assert group["real", "person2__frames__0001"] == group["fake", "person2__clip_swap"] == \
        "person2"  # same-named sub-folders of real/ and fake/ are one group
    assert (group["real", "street"], group["fake", "street_swap"]) == ("real/street",
                                                                       "fake/street_swap")
    assert_disjoint(recs)
    assert {r.split for r in recs} == {"train", "val", "test"} and not any(r.aligned for r in recs)
    assert sorted(p.name for p in root.iterdir()) == ["fake", "real"]  # nothing written
    assert list_videos("folder", root) == recs  # seeded
    aligned = list_videos("folder", root, aligned=True)
    assert sorted(r.video for r in aligned if r.aligned) == [
        f"person{p}__frames__0001" for p in range(4)] + ["street_swap"]  # images only


def test_folder_split_is_drawn_into_prepare_out_and_read_back(tmp_path: Path) -> None:
    root, out = make_folder(tmp_path / "custom"), tmp_path / "faces"
    options = get_dataset("folder").prepare_options(root, out, {"split_file": None})
    assert options["split_file"] == out / folder.FOLDER_OUT_SPLIT_FILE
    recs = list_videos("folder", root, **options)
    drawn = json.loads((out / "folder_split.json").read_text())["splits"]
    assert sorted(g for gs in drawn.values() for g in gs) == sorted({r.identity for r in recs})
    assert list_videos("folder", root, seed=7, **options) == recs  # the file wins over a seed
    mine = {"splits": {"train": ["person0", "person1", "real/street"],
                       "val": ["person2", "fake/street_swap"], "test": ["person3"]}}
    write_json(root / folder.FOLDER_SPLIT_FILE, mine)  # shipped with the folder: read
    assert get_dataset("folder").prepare_options(root, out, {"split_file": None}) == {
        "split_file": None}
    recs = list_videos("folder", root)
    assert {r.identity for r in recs if r.split == "test"} == {"person3"}
    assert list_videos("folder", root, split_file=write_json(tmp_path / "m.json", mine)) == recs
    options = get_dataset("folder").prepare_options(root, out, {"test_only": True})
    assert {r.split for r in list_videos("folder", root, **options)} == {"test"}  # all test
    with pytest.raises(ValueError, match=r"m\.json: a split file and test_only exclude each"):
        list_videos("folder", root, split_file=tmp_path / "m.json", test_only=True)


def test_folder_errors(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "custom")
    split = write_json(tmp_path / "s.json", {"splits": {
        "train": ["person0", "person1", "real/street", "person9"], "val": ["person2"],
        "test": ["person3", "fake/street_swap"]}})
    with pytest.raises(UserError, match=r"s\.json \(1\): 1 listed video\(s\) absent from "
                                        r".*custom: person9; expected each group id"):
        list_videos("folder", root, split_file=split)
    with pytest.warns(UserWarning, match="1 listed video"):
        assert len(list_videos("folder", root, split_file=split, allow_missing=True)) == 14
    write_json(split, {"splits": {"train": ["person0"], "val": ["person1"], "test": []}})
    with pytest.raises(ValueError, match=r"s\.json: groups \['fake/street_swap', 'person2', "):
        list_videos("folder", root, split_file=split)
    with pytest.raises(ValueError, match="aligned must be True or False, got 'yes'"):
        list_videos("folder", root, aligned="yes")
    touch(root / "real/street.png")
    with pytest.raises(ValueError, match=r"street\.(png|mov): same video id real/street as "):
        list_videos("folder", root)
    touch(tmp_path / "e/real/a.mp4")
    with pytest.raises(FileNotFoundError, match=r"e/fake: folder not found"):
        list_videos("folder", tmp_path / "e")
    touch(tmp_path / "e/fake/readme.md")
    with pytest.raises(ValueError, match=r"fake: no video or image files"):
        list_videos("folder", tmp_path / "e")


# ----------------------------------------------------------------------------- registry
def test_registered_with_shared_option_declarations() -> None:
    keys = list_datasets()
    assert {k: get_dataset(k).folder for k in keys[3:7]} == {
        "dfdc": "DFDC", "dfdcp": "DFDCP", "dfd": "FaceForensics++", "folder": "custom"}
    options = {o.name: o for k in keys for o in get_dataset(k).options}
    assert options["compression"] is FFPP_SPEC.options[0] is dfd.COMPRESSION
    assert folder.SPLIT_FILE in UADFV_SPEC.options
    assert dfdc.VAL_FRACTION in get_dataset("dfdcp").options


@pytest.mark.parametrize("method, video", [("real", "../../../tmp/escaped"), ("..", "v"),
                                           ("real", "a\\b"), ("real", ""), ("a/b", "v")])
def test_an_id_that_is_not_one_file_name_is_refused(tmp_path: Path, method: str,
                                                    video: str) -> None:
    """prepare writes a video's crops to OUT/crops/<method>/<video>/: an id a reader took
    from someone's file must be one name, or the crops would land outside OUT."""
    from jdfd_lib.datasets.records import VideoRecord, finish

    rec = VideoRecord("x", method, video, tmp_path / "v.mp4", 0, "test", "g")
    with pytest.raises(ValueError, match=r"v\.mp4: (method|video id) .* is not a file name"):
        finish([rec])


def test_a_folder_file_whose_id_would_be_a_dot_is_refused(tmp_path: Path) -> None:
    """``real/..mp4`` has the stem ``.``: its crops would go to crops/real/ itself."""
    for cls in ("real", "fake"):
        touch(tmp_path / cls / "a.mp4")
    touch(tmp_path / "real" / "..mp4")
    with pytest.raises(ValueError, match=r"real/\.\.mp4: video id '\.' is not a file name"):
        list_videos("folder", tmp_path, test_only=True)
