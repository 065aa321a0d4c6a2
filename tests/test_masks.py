"""Forgery masks (jdfd_lib.faces.masks): official ones found in FF++'s layout and written
exactly by the demo, derived ones from the pristine source, each warped like its face crop
and listed in the index's ``mask`` column."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from jdfd_lib import cli
from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets.registry import dataset_root, list_videos
from jdfd_lib.demo import fakes as F
from jdfd_lib.demo import generate as demo_data
from jdfd_lib.demo.face_model import pose_at, sample_identity, sample_scene, with_expression
from jdfd_lib.demo.layout import DemoSize
from jdfd_lib.demo.render import background, render_frame
from jdfd_lib.demo.video_io import write_video
from jdfd_lib.faces import masks as M
from jdfd_lib.faces.align import canonical_points, landmark_points, similarity_transform
from jdfd_lib.faces.crops import ExtractConfig
from jdfd_lib.faces.index import MASK_COLUMN, read_index
from jdfd_lib.faces.prepare import prepare, read_video_meta
from jdfd_lib.faces.video import read_frames
from jdfd_lib.reporting import mask_figure as MF

# whole-frame detection in every frame (no tracking), so that a test finds the very face
# prepare found with the aligner's public detect() and landmarks()
CFG = ExtractConfig(frames_per_video=6, image_size=96, workers=1, track_expand=None)
FF = "FaceForensics++"
N_FRAMES, RADIUS = 6, 24  # frames per test video; radius (px) of the forged disk


def photo_frames() -> list[np.ndarray]:
    """N_FRAMES RGB frames (240x200) of a real face photograph drifting sideways."""
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    img = cv2.resize(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), (200, 240))
    return [cv2.warpAffine(img, np.float32([[1, 0, 2 * i - N_FRAMES], [0, 1, 0]]), (200, 240),
                           borderMode=cv2.BORDER_REFLECT) for i in range(N_FRAMES)]


def write_rgb(path: Path, frames: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames], fps=10)


def frame_landmarks(aligner, frame: np.ndarray) -> np.ndarray:
    """(68, 2) frame landmarks of the largest face, as prepare's aligner finds them."""
    rects, _ = aligner.detect(frame)
    rect = max(rects, key=lambda r: r.width() * r.height())
    return aligner.landmarks(frame, rect)


def disk(shape: tuple[int, ...], centre: np.ndarray) -> np.ndarray:
    """(H, W) bool disk of RADIUS px about ``centre`` (x, y)."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= RADIUS ** 2


@pytest.fixture(scope="module")
def aligner():
    """The aligner prepare uses in this process for CFG (the dlib models load once)."""
    return CFG.shared_aligner()


@pytest.fixture(scope="module")
def ffpp_photo(tmp_path_factory: pytest.TempPathFactory, aligner) -> dict:
    """An FF++ layout: originals 000 and 001 (the photo), their Deepfakes fakes (a disk around
    the nose tip re-coloured) and the mask videos (that disk, and one far from the face)."""
    root = tmp_path_factory.mktemp("data") / FF
    frames = photo_frames()
    centres = [frame_landmarks(aligner, f)[30] for f in frames]  # (2,) nose tips, frame px
    fakes, masks = [], []
    for f, c in zip(frames, centres, strict=True):
        inside = disk(f.shape, c)
        fake = f.copy()
        fake[inside] = (0.4 * fake[inside] + [150, 60, 40]).astype(np.uint8)
        fakes.append(fake)
        far = disk(f.shape, np.array([15.0, 225.0]))  # outside every crop
        masks.append(np.repeat(((inside | far) * 255).astype(np.uint8)[..., None], 3, 2))
    for t, s in (("000", "001"), ("001", "000")):
        write_rgb(root / f"original_sequences/youtube/c23/videos/{t}.mp4", frames)
        write_rgb(root / f"manipulated_sequences/Deepfakes/c23/videos/{t}_{s}.mp4", fakes)
        write_rgb(root / f"manipulated_sequences/Deepfakes/masks/videos/{t}_{s}.mp4", masks)
    (root / "splits").mkdir()
    for split, pairs in (("train", [["000", "001"]]), ("val", []), ("test", [])):
        (root / "splits" / f"{split}.json").write_text(json.dumps(pairs))
    return {"root": root, "centres": centres}


@pytest.fixture(scope="module")
def official(ffpp_photo: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ffpp_photo`` prepared with the default settings (official masks); read only."""
    out = tmp_path_factory.mktemp("faces") / "ffpp"
    _prepare(ffpp_photo, out)
    return out


def _prepare(data: dict, out: Path, **settings) -> pd.DataFrame:
    prepare("ffpp", data["root"], out, replace(CFG, **settings), methods=["Deepfakes"])
    return read_index(out)


def _centroid(mask: np.ndarray) -> np.ndarray:
    yy, xx = np.nonzero(mask > 127)
    return np.array([xx.mean(), yy.mean()])


# ----------------------------------------------------------------------------- warp (fast)
def test_ffpp_reader_finds_masks_and_sources(ffpp_photo: dict) -> None:
    root = ffpp_photo["root"]
    records = {(r.method, r.video): r for r in list_videos("ffpp", root, methods=["Deepfakes"])}
    fake = records[("Deepfakes", "000_001")]
    assert fake.mask == root / "manipulated_sequences/Deepfakes/masks/videos/000_001.mp4"
    assert fake.source == root / "original_sequences/youtube/c23/videos/000.mp4"  # the target
    assert records[("original", "000")].mask is None and records[("original", "000")].source is None


def test_mask_warp_puts_the_marked_disk_where_the_landmarks_say(ffpp_photo: dict, official: Path,
                                                               aligner) -> None:
    df = read_index(official)
    fakes = df[df["label"] == 1]
    assert len(fakes) == 2 * N_FRAMES and (fakes[MASK_COLUMN] != "").all()
    assert (df.loc[df["label"] == 0, MASK_COLUMN] == "").all()  # pristine: no mask file
    meta = read_video_meta(official, "Deepfakes", "000_001")
    video = ffpp_photo["root"] / "manipulated_sequences/Deepfakes/c23/videos/000_001.mp4"
    target = canonical_points(CFG.image_size, CFG.margin)
    for (index, frame), entry in zip(read_frames(video, range(N_FRAMES)), meta["frames"],
                                     strict=True):
        landmarks = frame_landmarks(aligner, frame)  # (68, 2) frame px, found here again
        m = similarity_transform(landmark_points(landmarks), target)  # (2, 3) frame -> crop
        crop_landmarks = landmarks @ m[:, :2].T + m[:, 2]
        assert np.allclose(crop_landmarks, entry["landmarks"], atol=0.01)  # prepare's face
        expected = m[:, :2] @ ffpp_photo["centres"][index] + m[:, 2]
        mask = cv2.imread(str(official / fakes[MASK_COLUMN].iloc[index]), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (CFG.image_size, CFG.image_size) and set(np.unique(mask)) == {0, 255}
        assert np.abs(_centroid(mask) - expected).max() < 0.5, index  # a fraction of a pixel
        # area: the disk scaled by the transform's scale squared (the far disk is not in)
        scale = np.sqrt(abs(np.linalg.det(m[:, :2])))
        assert (mask > 127).sum() == pytest.approx(np.pi * (RADIUS * scale) ** 2, rel=0.1)
        assert entry["mask_source"] == "official" and np.allclose(entry["matrix"], m, atol=1e-3)
        # the disk was painted on the original's nose tip; the fake's own landmark is near
        assert np.abs(_centroid(mask) - crop_landmarks[30]).max() < 3


def test_derived_masks_find_the_forged_disk(ffpp_photo: dict, official: Path,
                                           tmp_path: Path) -> None:
    """On real footage (the photograph, H.264 at CRF 23) the derived mask of the forged disk
    overlaps the true one at IoU 0.81-0.82 (measured; codec errors at the strong colour edge
    widen it by 2-3 px): required 0.7."""
    df = read_index(official)
    compared = M.derived_vs_true(official, n=None)
    assert len(compared) == 2 * N_FRAMES
    assert compared["iou"].min() > 0.7, compared["iou"].describe()
    derived = _prepare(ffpp_photo, tmp_path / "derived", masks="derived")
    meta = read_video_meta(tmp_path / "derived", "Deepfakes", "001_000")
    assert {f["mask_source"] for f in meta["frames"]} == {"derived"}
    assert meta["mask_providers"] == ["derived"] and meta["pristine"].endswith("001.mp4")
    for true, mine in zip(df[MASK_COLUMN][df.label == 1], derived[MASK_COLUMN][df.label == 1],
                          strict=True):
        a, b = (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
                for path in (official / true, tmp_path / "derived" / mine))
        assert M.mask_iou(a, b) > 0.7


def test_comparison_shows_the_pristine_crop_and_the_figure(official: Path) -> None:
    """The pristine frame warped like the crop is the fake crop but for the forged disk; the
    figure shows every compared crop's four panels, the derived one titled with its IoU."""
    compared = MF.compare_masks(official, n=None)
    assert len(compared) == 2 * N_FRAMES and list(compared.columns) == MF.COLUMNS
    for row in compared.itertuples():
        assert row.pristine.shape == row.image.shape == (CFG.image_size, CFG.image_size, 3)
        diff = np.abs(row.image.astype(int) - row.pristine.astype(int)).max(axis=2)
        inside = row.true > 127
        assert diff[~inside].mean() < 3 < 20 < diff[inside].mean(), row.Index  # aligned
    fig = MF.mask_figure(compared, rows=3, pick="worst")
    assert len(fig.axes) == 3 * 4 and fig.get_size_inches()[0] <= 10
    titles = [ax.get_title() for ax in fig.axes]
    worst = compared.nsmallest(3, "iou")  # one method: its three lowest IoUs, in order
    assert titles[3::4] == [f"derived mask, IoU {v:.2f}" for v in worst["iou"]]
    assert titles[1::4] == ["pristine source"] * 3 and titles[0].startswith("Deepfakes ")
    plt.close(fig)
    with pytest.warns(UserWarning, match="not a prepared folder"):
        assert MF.compare_masks(official.parent / "absent").empty


def test_no_masks_option_and_older_extractions(ffpp_photo: dict, tmp_path: Path) -> None:
    out = tmp_path / "faces"
    df = _prepare(ffpp_photo, out, masks="none")
    assert (df[MASK_COLUMN] == "").all() and not list(out.glob("crops/*/*/*_mask.png"))
    with pytest.raises(M.NoOfficialMasksError):  # still a ValueError, as it was documented
        M.derived_vs_true(out)
    with pytest.warns(UserWarning, match="no crop with an official mask"):
        assert MF.compare_masks(out).empty  # nothing to compare: no rows, the notebook goes on
    assert "mask_providers" not in read_video_meta(out, "Deepfakes", "000_001")
    text = (out / "index.csv").read_text().splitlines()
    assert text[0].endswith(",n_faces,fallback,mask") and all(r.endswith(",") for r in text[1:])
    # as extracted before masks existed: no mask settings recorded, no mask crops
    for path in out.glob("meta/*/*.json"):
        meta = json.loads(path.read_text())
        for key in ("masks", "mask_threshold"):
            del meta["config"][key]
        path.write_text(json.dumps(meta))
    # the default settings keep those crops where no mask applies, redo the fakes (official)
    summary = prepare("ffpp", ffpp_photo["root"], out, CFG, methods=["Deepfakes"])
    assert (summary["done"], summary["skipped"]) == (2, 2)
    assert summary["mask_crops"] == {"official": 2 * N_FRAMES}
    assert prepare("ffpp", ffpp_photo["root"], out, CFG, methods=["Deepfakes"])["skipped"] == 4


def test_mask_crops_are_checked_like_crops(ffpp_photo: dict, official: Path,
                                           tmp_path: Path) -> None:
    out = Path(shutil.copytree(official, tmp_path / "faces"))
    mask = out / read_index(out).query("label == 1")[MASK_COLUMN].iloc[-1]
    mask.unlink()
    summary = prepare("ffpp", ffpp_photo["root"], out, CFG, methods=["Deepfakes"])
    assert summary["repaired"] == 1 and "_mask.png" in summary["repaired_videos"][0]["reason"]
    assert mask.is_file()


def test_cli_mask_flags(ffpp_photo: dict, tmp_path: Path, capsys) -> None:
    out = tmp_path / "faces"
    args = ["prepare", "--dataset", "ffpp", "--root", str(ffpp_photo["root"]), "--out",
            str(out), "--frames", "2", "--size", "64", "--methods", "Deepfakes"]
    assert cli.main([*args, "--masks", "official+derived", "--mask-threshold", "0.05"]) == 0
    assert "mask_crops: 4 official" in capsys.readouterr().out
    record = json.loads((out / "extraction.json").read_text())
    assert record["settings"]["masks"] == "official+derived"
    flags = record["cli_options"]
    assert flags[flags.index("--masks"):][:4] == ["--masks", "official+derived",
                                                   "--mask-threshold", "0.05"]
    for bad, message in (({"masks": "some"}, "masks must be one of 'none', 'official'"),
                         ({"mask_threshold": 1.5}, r"mask_threshold must be a number in \(0, 1\)")):
        with pytest.raises(UserError, match=message):
            ExtractConfig(**bad)


# ----------------------------------------------------------------------------- derivation
def test_derive_mask_and_iou_on_known_frames() -> None:
    rng = np.random.default_rng(0)
    pristine = photo_frames()[0]
    shape = pristine.shape
    forged = disk(shape, np.array([100.0, 130.0])) | disk(shape, np.array([112.0, 130.0]))
    fake = pristine.copy()
    fake[forged] = cv2.GaussianBlur(fake, (9, 9), 3)[forged] // 2 + 60
    noisy = [np.clip(f + rng.normal(0, 2, shape), 0, 255).astype(np.uint8)
             for f in (fake, pristine)]  # independent codec-like noise
    box = (50, 70, 160, 180)
    derived = M.derive_mask(*noisy, M.DEFAULT_MASK_THRESHOLD, box)
    assert M.mask_iou(derived, forged) > 0.8  # measured 0.88: the blurs widen it by ~1.5 px
    clean = np.clip(pristine + rng.normal(0, 2, shape), 0, 255).astype(np.uint8)
    assert not M.derive_mask(clean, noisy[1], M.DEFAULT_MASK_THRESHOLD, box).any()  # noise only
    empty = np.zeros((4, 4), bool)
    assert M.mask_iou(empty, empty) == 1.0 and M.mask_iou(forged, ~forged) == 0.0
    assert M.mask_iou(forged.astype(np.uint8) * 255, forged) == 1.0


def _compared(shifts: dict[str, list[int]]) -> pd.DataFrame:
    """Rows as derived_vs_true returns them: per method, a 16 px square (true) against the
    same square shifted right by each of ``shifts`` px (derived): IoU (16 - k) / (16 + k)."""
    rows = []
    for method, ks in shifts.items():
        for frame, k in enumerate(ks):
            true, derived = np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8)
            true[8:24, 8:24] = 255
            derived[8:24, 8 + k:24 + k] = 255
            rows.append({"method": method, "video": "000_001", "frame": frame,
                         "iou": M.mask_iou(true, derived), "true_area": 0.25,
                         "derived_area": 0.25, "image": np.full((32, 32, 3), 100, np.uint8),
                         "true": true, "derived": derived, "pristine": None})
    return pd.DataFrame(rows, columns=MF.COLUMNS)


def test_iou_summary_and_picks_on_known_masks() -> None:
    compared = _compared({"FaceSwap": [0, 4, 8], "Deepfakes": [4]})  # IoU 1, 0.6, 1/3; 0.6
    assert compared["iou"].tolist() == pytest.approx([1.0, 0.6, 1 / 3, 0.6])
    table = MF.iou_summary(compared)
    assert table.index.tolist() == ["Deepfakes", "FaceSwap", MF.ALL]
    assert table["n"].tolist() == [1, 3, 4]
    face_swap = [1.0, 0.6, 1 / 3]
    assert table.loc["FaceSwap", "iou_mean"] == pytest.approx(np.mean(face_swap))
    assert table.loc["FaceSwap", "iou_std"] == pytest.approx(np.std(face_swap, ddof=1))
    assert table.loc["Deepfakes", "iou_std"] == 0.0  # one crop
    assert table.loc[MF.ALL, "iou_mean"] == pytest.approx((1 + 0.6 + 1 / 3 + 0.6) / 4)
    assert table.loc[MF.ALL, "iou"] == "0.633 ± 0.275"  # sample std: sqrt(0.2267 / 3)
    assert table.loc["FaceSwap", "true_area"] == 0.25
    assert MF.iou_summary(compared.iloc[:0]).empty
    # picks: one per method in turn; "median" takes the FaceSwap crop at 0.6, "worst" at 1/3
    for pick, frames in (("median", [0, 1, 2]), ("worst", [0, 2, 1]), ("first", [0, 0, 1])):
        picked = MF.pick_examples(compared, rows=3, pick=pick)
        assert picked["method"].tolist() == ["Deepfakes", "FaceSwap", "FaceSwap"], pick
        assert picked["frame"].tolist() == frames, pick
    with pytest.raises(ValueError, match="pick must be one of"):
        MF.pick_examples(compared, pick="best")


def test_mask_figure_without_pristine_crops_or_any_crop() -> None:
    fig = MF.mask_figure(_compared({"Face2Face": [0, 2]}), rows=4, pick="first")  # 2 to show
    assert len(fig.axes) == 2 * 3  # no pristine column
    assert [ax.get_title() for ax in fig.axes][1:3] == ["official mask (25% of crop)",
                                                        "derived mask, IoU 1.00"]
    assert fig.get_size_inches()[0] <= 10
    plt.close(fig)
    empty = MF.mask_figure(_compared({}))
    assert len(empty.axes) == 1 and "no crop" in empty.axes[0].texts[0].get_text()
    plt.close(empty)


# ----------------------------------------------------------------------------- demo (fast)
def test_each_demo_manipulation_changes_only_where_its_alpha_says() -> None:
    """The alpha a manipulation returns is where it painted: outside it the frame is the
    pristine one (Poisson blending leaks a few levels; Face2Face's border warp is outside the
    face outline its mask covers, as FF++'s masks cover the re-rendered face)."""
    rng = np.random.default_rng
    ident, other = sample_identity(rng(1)), sample_identity(rng(2))
    scene, own = sample_scene(rng(3), 320, 240, (0.32, 0.38)), sample_scene(rng(4), 320, 240,
                                                                          (0.32, 0.38))
    pose, source_pose = pose_at(scene, 0.0), pose_at(own, 0.3)
    bg = background(scene, 320, 240)
    target, lm = render_frame(ident, scene, pose, bg)
    x = F.FakeInputs(target, lm, gain=np.float32([1.04, 0.97, 1.0]))
    x.swapped, x.swapped_lm = render_frame(other, scene, pose, bg)
    x.reenacted, x.reenacted_lm = render_frame(ident, scene, with_expression(pose, source_pose),
                                               bg)
    x.source, x.source_lm = render_frame(other, own, source_pose, background(own, 320, 240))
    cfg = F.FakeConfig()
    leaks = {"Deepfakes": 1e-6, "NeuralTextures": 1e-6, "FaceSwap": 0.06, "Face2Face": None}
    for method, leak in leaks.items():
        fake, alpha = F.FFPP_FAKES[method](x, cfg)
        assert alpha.shape == target.shape[:2] and 0 <= alpha.min() and alpha.max() <= 1
        mask = F.true_mask(alpha)
        assert mask.dtype == np.uint8 and 0.01 < (mask > 0).mean() < 0.3, method
        if leak is not None:
            assert np.abs(fake - target).max(-1)[alpha == 0].max(initial=0) < leak, method


MICRO = DemoSize("micro", ffpp_pairs=(1, 0, 0), celebdf_identities=2,
                 celebdf_real_per_identity=1, celebdf_youtube=0, celebdf_fakes_per_real=1,
                 uadfv_videos=1, seconds=0.2, fps=10,
                 frame_sizes={"ffpp": (240, 180), "celebdf": (320, 180), "uadfv": (160, 120)})


def test_demo_writes_masks_and_adds_them_to_older_demo_data(tmp_path: Path,
                                                            monkeypatch) -> None:
    monkeypatch.setitem(demo_data.SIZES, "micro", MICRO)
    summary = demo_data.generate_demo_data(tmp_path, size="micro", seed=0)
    assert summary["masks"] == {"ffpp": {m: 2 for m in F.FFPP_METHODS}}
    masks = sorted((tmp_path / FF).glob("manipulated_sequences/*/masks/videos/*.mp4"))
    assert len(masks) == 8 and not list(tmp_path.glob("[CU]*/**/masks"))
    frames = [f for _, f in read_frames(masks[0], range(MICRO.n_frames))]
    assert len(frames) == MICRO.n_frames
    grey = np.stack(frames)
    assert ((grey < 30) | (grey > 225)).mean() > 0.995 and (grey > 127).any()  # binary
    # demo data from before the masks: its marker has no mask counts, its masks are missing
    videos = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.mp4") if "masks" not in p.parts}
    old = masks[0].read_bytes()
    for p in masks:
        p.unlink()
    marker = json.loads((tmp_path / demo_data.MARKER).read_text())
    del marker["masks"]
    (tmp_path / demo_data.MARKER).write_text(json.dumps(marker))
    assert demo_data.generate_demo_data(tmp_path, size="micro", seed=0)["masks"] == \
        summary["masks"]
    assert masks[0].read_bytes() == old  # the same masks, the videos untouched
    assert {p: p.stat().st_mtime_ns for p in videos} == videos


# ----------------------------------------------------------------------------- demo (slow)
def test_demo_records_name_masks_and_sources(demo_root: Path) -> None:
    ffpp = list_videos("ffpp", dataset_root(demo_root, "ffpp"))
    for r in ffpp:
        if r.label == 0:
            assert r.mask is None and r.source is None
            continue
        assert r.mask.is_file() and r.mask.parts[-4:-2] == (r.method, "masks"), r
        assert r.source.name == f"{r.video.split('_')[0]}.mp4" and r.source.is_file()
    assert {r.method for r in ffpp if r.mask} == set(F.FFPP_METHODS)
    for key in ("celebdf", "uadfv"):
        records = list_videos(key, dataset_root(demo_root, key))
        fakes = [r for r in records if r.label == 1]
        assert all(r.mask is None and r.source.is_file() for r in fakes), key
        assert all(r.source is None for r in records if r.label == 0), key
    celeb = next(r for r in list_videos("celebdf", dataset_root(demo_root, "celebdf"))
                 if r.label == 1)
    t, _, n = celeb.video.split("_")
    assert celeb.source.name == f"{t}_{n}.mp4"


def test_demo_ffpp_crops_get_official_masks(demo_faces: dict[str, Path]) -> None:
    df = read_index(demo_faces["ffpp"])
    fakes, real = df[df["label"] == 1], df[df["label"] == 0]
    assert (fakes[MASK_COLUMN] != "").all() and (real[MASK_COLUMN] == "").all()
    for rel in fakes[MASK_COLUMN].iloc[::7]:
        mask = cv2.imread(str(demo_faces["ffpp"] / rel), cv2.IMREAD_UNCHANGED)
        assert mask.ndim == 2 and set(np.unique(mask)) <= {0, 255} and (mask > 0).any()
    for key in ("celebdf", "uadfv"):  # they ship none: the default derives none either
        assert (read_index(demo_faces[key])[MASK_COLUMN] == "").all(), key


def test_derived_masks_reach_the_true_ones_on_demo_ffpp(demo_faces: dict[str, Path]) -> None:
    """Derived masks (default threshold 0.02) against the generator's exact ones, on every FF++
    fake crop of the tiny demo (96 crops of 64 px). Measured: mean IoU 0.81, 5th percentile
    0.70, min 0.68 (per method: Deepfakes 0.75, whose feathered edge beyond alpha 1/2 counts as
    changed; Face2Face 0.78; FaceSwap 0.88; NeuralTextures 0.82). On the small demo (1532 crops
    of 128 px): mean 0.80, 5th percentile 0.66, 1st 0.44 (Face2Face frames whose re-enacted
    expression barely differs). Required: mean >= 0.7 and 5th percentile >= 0.5, about 0.1
    below what was measured, for codec or dlib versions that move a few pixels."""
    compared = M.derived_vs_true(demo_faces["ffpp"], n=None)
    assert len(compared) == len(read_index(demo_faces["ffpp"]).query("label == 1"))
    assert compared["iou"].mean() >= 0.7, compared.groupby("method")["iou"].mean()
    assert compared["iou"].quantile(0.05) >= 0.5, compared.nsmallest(5, "iou")[
        ["video", "frame", "iou"]]
    row = compared.iloc[0]
    assert row["image"].shape == (64, 64, 3) and row["true"].shape == row["derived"].shape


@pytest.mark.parametrize("key", ["celebdf", "uadfv"])
def test_derived_masks_on_datasets_without_masks(demo_root: Path, tmp_path: Path,
                                                 key: str) -> None:
    cfg = ExtractConfig(frames_per_video=2, image_size=64, masks="official+derived")
    summary = prepare(key, dataset_root(demo_root, key), tmp_path, cfg)
    df = read_index(tmp_path)
    fakes = df[df["label"] == 1]
    assert (fakes[MASK_COLUMN] != "").all() and (df.loc[df.label == 0, MASK_COLUMN] == "").all()
    assert summary["mask_crops"] == {"derived": len(fakes)}
    areas = [(cv2.imread(str(tmp_path / p), cv2.IMREAD_GRAYSCALE) > 127).mean()
             for p in fakes[MASK_COLUMN]]
    assert 0.1 < np.mean(areas) < 0.5  # a face-sized region of the crop
