"""No file is dropped without a word; valid videos OpenCV cannot decode are read with PyAV.

The folder dataset and ``detect`` take every container and image the decoders read, follow
symbolic links (a loop is named, not followed twice) and name each file they skip and why;
a WebM without duration (written live, as a browser does) and an AV1 video (no AV1 decoder in
this OpenCV build) are decoded with PyAV, which is said; a corrupt file is still named.
"""

from __future__ import annotations

import os
import warnings
from fractions import Fraction
from pathlib import Path

import av
import cv2
import matplotlib
import numpy as np
import pytest
from PIL import Image

from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets.folder import list_folder
from jdfd_lib.detection.videos import find_videos
from jdfd_lib.faces.crops import ExtractConfig, extract_video_faces
from jdfd_lib.faces.images import is_image, read_image
from jdfd_lib.faces.prepare import prepare
from jdfd_lib.faces.prepare_summary import closing_line, report_lines
from jdfd_lib.faces.video import VideoReadError, frame_count, read_frames

STEP = 8  # frame i of a grey video is a flat grey of level STEP * i
N = 24  # frames of the test videos


def grey(n: int = N, size: int = 64) -> list[np.ndarray]:
    return [np.full((size, size, 3), STEP * i, np.uint8) for i in range(n)]


def write_video(path: Path, frames: list[np.ndarray], codec: str = "libx264",
                fmt: str | None = None, live: bool = False) -> Path:
    """Encode ``frames`` (RGB) with PyAV; ``live``: a WebM written as a browser records one,
    without duration or cues."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"live": "1"} if live else {}
    with av.open(str(path), "w", format=fmt, container_options=options) as container:
        stream = container.add_stream(codec, rate=10)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def opencv_view(path: Path) -> tuple[int, int]:
    """(frame count OpenCV's container reports, frames OpenCV decodes)."""
    cap = cv2.VideoCapture(str(path))
    count, decoded = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0
    while cap.grab():
        decoded += 1
    cap.release()
    return count, decoded


def level(frame: np.ndarray) -> int:
    return int(round(float(frame.mean()) / STEP))


@pytest.fixture(scope="module")
def live_webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_video(tmp_path_factory.mktemp("v") / "browser.webm", grey(), "libvpx-vp9",
                       live=True)
    assert opencv_view(path)[0] <= 0  # the failure of old: "the container reports no frames"
    return path


@pytest.fixture(scope="module")
def av1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_video(tmp_path_factory.mktemp("v") / "clip.mp4", grey(), "libsvtav1")
    assert opencv_view(path)[1] == 0  # the failure of old: "no frame could be decoded"
    return path


@pytest.mark.parametrize("video", ["live_webm", "av1"])
def test_videos_opencv_cannot_read_are_decoded_with_pyav(video: str,
                                                         request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(video)
    assert frame_count(path) == N  # the WebM's frames counted by decoding them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = list(read_frames(path, [0, 9, 23, 40]))
    said = [str(w.message) for w in caught]
    if video == "av1":  # OpenCV opens it but decodes nothing: PyAV reads it, and says so
        assert said == [f"{path}: OpenCV decodes no frame (codec av1, PyAV decoder libdav1d); "
                        f"decoded with PyAV"]
    assert [i for i, _ in got] == [0, 9, 23]  # frame 40 is past the end: not invented
    assert all(f.shape == (64, 64, 3) and level(f) == i for i, f in got)


def test_corrupt_data_in_a_valid_container_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "junk.mkv"  # a valid Matroska file whose VP9 packets are random bytes
    with av.open(str(bad), "w") as container:
        stream = container.add_stream("libvpx-vp9", rate=10)
        stream.width = stream.height = 64
        for i, data in enumerate(np.random.default_rng(0).integers(0, 256, (10, 500))):
            packet = av.Packet(data.astype(np.uint8).tobytes())
            packet.stream, packet.pts, packet.dts = stream, i, i
            packet.time_base, packet.is_keyframe = Fraction(1, 10), i == 0
            container.mux(packet)
    with pytest.raises(VideoReadError, match=r"junk\.mkv: no frame could be decoded by OpenCV "
                                             r"or PyAV \(corrupt\?\): .*codec vp9.*Invalid data"):
        frame_count(bad)
    with pytest.raises(VideoReadError, match=r"junk\.mkv: no frame could be decoded by OpenCV"):
        list(read_frames(bad, [0, 1]))
    (tmp_path / "text.webm").write_text("not a video\n" * 100)
    with pytest.raises(VideoReadError, match=r"text\.webm: cannot be opened as a video"):
        frame_count(tmp_path / "text.webm")


def face_frames(n: int) -> list[np.ndarray]:
    """n frames (160x128 RGB) of a real face photograph drifting sideways."""
    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    img = cv2.resize(cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB), (128, 160))
    return [cv2.warpAffine(img, np.float32([[1, 0, i - n // 2], [0, 1, 0]]), (128, 160),
                           borderMode=cv2.BORDER_REFLECT) for i in range(n)]


@pytest.mark.parametrize(("codec", "name", "live"), [("libvpx-vp9", "face.webm", True),
                                                      ("libsvtav1", "face.mkv", False)])
def test_extraction_reads_faces_of_a_pyav_video(codec: str, name: str, live: bool,
                                                tmp_path: Path) -> None:
    path = write_video(tmp_path / name, face_frames(12), codec, live=live)
    crops = extract_video_faces(path, ExtractConfig(frames_per_video=3, image_size=48,
                                                    workers=1))
    assert crops.stats.decoder == "pyav" and "OpenCV" in crops.stats.decoder_note
    assert crops.stats.requested == [2, 6, 10] and not crops.stats.read_error
    assert [c.frame for c in crops] == [2, 6, 10]  # a face in every sampled frame


def write_images(folder: Path) -> dict[str, np.ndarray]:
    """A palette GIF (two frames), a 16-bit grey TIFF and an RGBA TIFF; name -> expected RGB."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    first = Image.fromarray(rgb).convert("P")
    first.save(folder / "anim.gif", save_all=True, append_images=[Image.fromarray(255 - rgb)])
    deep = rng.integers(0, 65536, (32, 32), dtype=np.uint16)
    Image.fromarray(deep).save(folder / "deep.TIF")
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(folder / "alpha.tiff")
    return {"anim.gif": np.asarray(first.convert("RGB")),
            "deep.TIF": np.repeat((deep >> 8).astype(np.uint8)[..., None], 3, axis=2),
            "alpha.tiff": rgb}


def test_gif_and_tiff_are_images_read_as_rgb(tmp_path: Path) -> None:
    for name, expected in write_images(tmp_path).items():
        assert is_image(tmp_path / name)
        image = read_image(tmp_path / name)
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8
        assert np.abs(image.astype(int) - expected).max() <= 1, name  # GIF: its first frame


@pytest.fixture()
def messy_folder(tmp_path: Path) -> Path:
    """real/ and fake/ holding every accepted kind, links (to a folder, to itself, to nothing),
    and files no decoder takes."""
    root, outside = tmp_path / "data", tmp_path / "elsewhere"
    write_video(root / "real/browser.webm", grey(8), "libvpx-vp9", live=True)
    write_video(root / "real/phone.M4V", grey(8), fmt="mp4")
    write_images(root / "real/stills")
    write_video(outside / "linked.mp4", grey(8))
    os.symlink(outside, root / "real/linked")  # a symbolically linked sub-folder
    os.symlink("..", root / "real/stills/up")  # a loop back to real/
    os.symlink(root / "nowhere.mp4", root / "real/gone.mp4")  # a broken link
    (root / "real/notes.txt").write_text("not a video")
    (root / "real/.DS_Store").write_bytes(b"\0")
    write_video(root / "fake/a.mkv", grey(8))
    (root / "fake/clip.xyz").write_bytes(b"?")
    return root


def test_folder_dataset_takes_every_readable_file_and_names_the_rest(
        messy_folder: Path) -> None:
    root = messy_folder
    with pytest.warns(UserWarning) as caught:
        records = list_folder(root, test_only=True)
    taken = {r.path.relative_to(root).as_posix() for r in records}
    assert taken == {"real/browser.webm", "real/phone.M4V", "real/stills/anim.gif",
                     "real/stills/deep.TIF", "real/stills/alpha.tiff",
                     "real/linked/linked.mp4", "fake/a.mkv"}
    reasons = {p.relative_to(root).as_posix(): why for p, why in records.skipped}
    assert set(reasons) == {"real/stills/up", "real/gone.mp4", "real/notes.txt",
                            "real/.DS_Store", "fake/clip.xyz"}
    assert reasons["real/stills/up"].startswith("symbolic link loop back to")
    assert reasons["real/gone.mp4"] == f"broken symbolic link to {root / 'nowhere.mp4'}"
    assert reasons["real/notes.txt"].startswith("not a video or image suffix (accepted: .mp4")
    message = "\n".join(str(w.message) for w in caught)
    assert all(f"skipped: {root / name}: {why}" in message for name, why in reasons.items())


def test_find_videos_follows_links_and_names_what_it_skips(messy_folder: Path) -> None:
    real = messy_folder / "real"
    skipped: list = []
    found = find_videos([real, real / "linked/linked.mp4"], skipped=skipped)
    assert found == [real / "browser.webm", real / "linked/linked.mp4", real / "phone.M4V"]
    reasons = dict(skipped)
    assert reasons[real / "gone.mp4"].startswith("broken symbolic link")
    assert reasons[real / "stills/up"].startswith("symbolic link loop")
    assert reasons[real].startswith("5 files not matching *.mp4 *.avi *.mov *.mkv *.webm")
    assert reasons[real].endswith("to take them)")
    with pytest.raises(UserError, match="gone.mp4: broken symbolic link to"):
        find_videos([real / "gone.mp4"])


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_unreadable_folder_is_named(messy_folder: Path, monkeypatch) -> None:
    locked = messy_folder / "real/locked"
    locked.mkdir()
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads it anyway (CI, containers): refuse as the kernel would
        scandir = os.scandir

        def refusing(path=".", *args):
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return scandir(path, *args)

        monkeypatch.setattr(os, "scandir", refusing)
    try:
        skipped: list = []
        find_videos([messy_folder / "real"], skipped=skipped)
    finally:
        locked.chmod(0o755)
    assert dict(skipped)[locked].startswith("folder cannot be read")


def test_prepare_reports_skipped_files_instead_of_no_warnings(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_video(root / "real/p1/a.webm", face_frames(6), "libvpx-vp9", live=True)
    write_video(root / "fake/p1/b.mp4", face_frames(6))
    (root / "fake/p1/b.json").write_text("{}")  # a sidecar
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the listing's warning; the summary is under test
        summary = prepare("folder", root, tmp_path / "out",
                          ExtractConfig(frames_per_video=2, image_size=48, workers=1),
                          test_only=True)
    assert summary["faces_found"] == 4 and summary["failed"] == 0
    assert summary["skipped_files"] == [{"path": str(root / "fake/p1/b.json"), "reason": (
        "not a video or image suffix (accepted: .mp4 .avi .mov .mkv .webm .m4v .mpg .mpeg "
        ".wmv .asf .flv .3gp .ts .mts .m2ts .ogv .vob .png .jpg .jpeg .bmp .webp .tif .tiff "
        ".gif)")}]
    assert summary["decoded_with_pyav"][0]["path"] == str(root / "real/p1/a.webm")
    lines = report_lines(summary)
    assert f"skipped: {root / 'fake/p1/b.json'}: not a video or image suffix" in "\n".join(lines)
    assert any(ln.startswith(f"decoded with PyAV: {root / 'real/p1/a.webm'}: OpenCV")
               for ln in lines)
    assert closing_line(summary).endswith("with warnings: 1 files skipped (listed above)")
