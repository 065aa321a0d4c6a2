"""Optional demo copies of the test sets beyond the paper's three (DFDC, DFDCP, DFD, a folder).

``python -m jdfd_lib demo-data --extra dfdc dfdcp dfd folder`` adds small copies of their
real layouts (:mod:`jdfd_lib.datasets.dfdc`, :mod:`~jdfd_lib.datasets.dfd`,
:mod:`~jdfd_lib.datasets.folder`) beside the default demo, with the same renderer and reused
manipulation families (:data:`FAMILIES`), so that their readers and ``prepare`` can be tried
without the gated data. Off by default: without ``extra`` nothing here runs and the default
demo is byte-identical.

- ``DFDC/dfdc_train_part_N/`` (videos, ``metadata.json``) and ``DFDC/test/`` (videos,
  ``labels.csv``); names are 10 random lowercase letters, as DFDC's.
- ``DFDCP/dataset.json`` and ``{original_videos,method_A,method_B}/<target>/<target>_<c>/``.
- DFD inside ``FaceForensics++/``: ``original_sequences/actors/c23/videos/AA__<scene>.mp4``
  and ``manipulated_sequences/DeepFakeDetection/c23/videos/TT_SS__<scene>__<ID>.mp4`` (FF++'s
  own videos and lists are untouched).
- ``custom/{real,fake}/personNN/`` (a clip, its fake, and for some people a still frame as
  PNG, to be aligned), a top-level pair ``real/street.mp4``, ``fake/street_swap.mp4``, and
  ``custom-aligned/{real,fake}/personNN/face.png``: face crops already aligned (cut around the
  renderer's landmarks), for ``prepare --dataset folder --aligned``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from jdfd_lib.core.atomic import write_text
from jdfd_lib.demo.face_model import pose_at, sample_identity, sample_scene
from jdfd_lib.demo.layout import PERSON, SCENE, DemoSize, FakeJob, VideoJob
from jdfd_lib.demo.render import background, render_frame

EXTRA_DATASETS = ("dfdc", "dfdcp", "dfd", "folder")
EXTRA_CODES = {"dfdc": 4, "dfdcp": 5, "dfd": 6, "folder": 7}  # seed keys after the paper's 1-3
# dataset folders each extra writes (DFD lives in the default FaceForensics++ folder)
EXTRA_FOLDERS = {"dfdc": ("DFDC",), "dfdcp": ("DFDCP",), "dfd": (),
                 "folder": ("custom", "custom-aligned")}
# reused manipulation families (jdfd_lib.demo.fakes); DFDC cycles through several, as it has 8
FAMILIES = {"dfdc": ("celebdf", "Deepfakes", "FaceSwap"), "method_A": "FaceSwap",
            "method_B": "celebdf", "dfd": "Deepfakes", "folder": "uadfv"}
FRAME_SIZES = {"dfdc": (480, 270), "dfdcp": (480, 270), "dfd": (480, 270), "folder": (320, 240)}
FACE_HEIGHTS = (0.32, 0.38)
DFD_SCENES = ("meeting_serious", "talking_still", "kitchen_pan", "walking_outside_cafe")
ALIGNED_SIZE = 128  # side of the pre-aligned example crops
SOURCE_OFFSET = 1000  # the folder dataset's fakes use people outside its own


@dataclass(frozen=True)
class ExtraSize:
    """Counts of the extra demo datasets for one :class:`~jdfd_lib.demo.layout.DemoSize`."""

    dfdc_parts: int  # dfdc_train_part_N folders
    dfdc_originals: int  # originals per part
    dfdc_fakes: int  # fakes made on each training original
    dfdc_test: int  # test-set originals, each with one fake
    dfdcp_targets: int  # each: one original, one method_A and one method_B fake
    dfdcp_test: int  # of them, in the official test set
    dfd_actors: int
    dfd_scenes: int  # real videos per actor, each with one fake
    folder_people: int  # sub-folders personNN with a clip and its fake
    folder_stills: int  # of them, with a still frame (PNG) of both clips


EXTRA_SIZES = {"tiny": ExtraSize(2, 2, 1, 2, 3, 1, 3, 1, 4, 2),
               "small": ExtraSize(3, 6, 2, 12, 12, 3, 8, 2, 12, 6)}


def check_extra(extra: Sequence[str]) -> tuple[str, ...]:
    """``extra`` sorted in :data:`EXTRA_DATASETS` order, or a ValueError naming the choices."""
    unknown = sorted(set(extra) - set(EXTRA_DATASETS))
    if unknown:
        raise ValueError(f"unknown extra demo datasets {unknown}; expected some of "
                         f"{EXTRA_DATASETS}")
    return tuple(d for d in EXTRA_DATASETS if d in extra)


def extra_size(size: DemoSize) -> ExtraSize:
    """The counts for ``size`` (a preset of its own name, else the tiny counts)."""
    return EXTRA_SIZES.get(size.name, EXTRA_SIZES["tiny"])


def geometry(size: DemoSize, dataset: str) -> tuple[tuple[int, int], tuple[float, float]]:
    """(width, height) and the face-height range of ``dataset``'s videos."""
    if dataset in size.frame_sizes:
        return size.frame_sizes[dataset], size.face_heights[dataset]
    return FRAME_SIZES[dataset], FACE_HEIGHTS


def _key(dataset: str, kind: int, index: int) -> tuple[int, int, int]:
    return EXTRA_CODES[dataset], kind, index


def _job(dataset: str, path: str, person: int, fakes: tuple[FakeJob, ...]) -> VideoJob:
    return VideoJob(dataset, path, _key(dataset, PERSON, person), _key(dataset, SCENE, person),
                    fakes)


def _fake(dataset: str, method: str, path: str, source: int) -> FakeJob:
    return FakeJob(method, path, _key(dataset, PERSON, source), _key(dataset, SCENE, source))


def _names(seed: int, code: int, n: int, letters: str, length: int) -> list[str]:
    """``n`` distinct seeded random names."""
    rng, names = np.random.default_rng([seed, code, 9]), []
    while len(names) < n:
        name = "".join(rng.choice(list(letters), length))
        if name not in names:
            names.append(name)
    return names


# ----------------------------------------------------------------------------- plans
def plan_dfdc(size: ExtraSize, seed: int) -> list[VideoJob]:
    """Originals of each training part with their fakes, and the test set's."""
    folders = [f"dfdc_train_part_{p}" for p in range(size.dfdc_parts)]
    slots = [(f, k) for f in folders for k in range(size.dfdc_originals)]
    slots += [("test", k) for k in range(size.dfdc_test)]
    n_fakes = [size.dfdc_fakes if f != "test" else 1 for f, _ in slots]
    names = iter(_names(seed, 4, len(slots) + sum(n_fakes), string.ascii_lowercase, 10))
    jobs, fake_index = [], 0
    for i, ((folder, _), n) in enumerate(zip(slots, n_fakes, strict=True)):
        original = f"DFDC/{folder}/{next(names)}.mp4"
        fakes = []
        for j in range(n):
            family = FAMILIES["dfdc"][fake_index % len(FAMILIES["dfdc"])]
            fake_index += 1
            fakes.append(_fake("dfdc", family, f"DFDC/{folder}/{next(names)}.mp4",
                               (i + 1 + j) % len(slots)))
        jobs.append(_job("dfdc", original, i, tuple(fakes)))
    return jobs


def dfdcp_ids(size: ExtraSize, seed: int) -> list[str]:
    """The DFDCP target ids (7 digits, as the preview's)."""
    return _names(seed, 5, size.dfdcp_targets, string.digits[1:], 7)


def plan_dfdcp(size: ExtraSize, seed: int) -> list[VideoJob]:
    """Per target: its original and one fake per method, with the next targets' faces."""
    ids, jobs = dfdcp_ids(size, seed), []
    for t, tid in enumerate(ids):
        ctx = string.ascii_uppercase[t % 26]
        rel = f"{tid}/{tid}_{ctx}"
        fakes = []
        for k, method in enumerate(("method_A", "method_B"), 1):
            s = (t + k) % len(ids)
            fakes.append(_fake("dfdcp", FAMILIES[method],
                               f"DFDCP/{method}/{rel}/{ids[s]}_{tid}_{ctx}_000.mp4", s))
        jobs.append(_job("dfdcp", f"DFDCP/original_videos/{rel}/{tid}_{ctx}_000.mp4", t,
                         tuple(fakes)))
    return jobs


def plan_dfd(size: ExtraSize, seed: int) -> list[VideoJob]:
    """Per actor and scene: the real video and one fake with another actor's face."""
    ff, n = "FaceForensics++", size.dfd_actors
    ids = _names(seed, 6, n * n, string.ascii_uppercase + string.digits, 8)  # per pair
    jobs = []
    for a in range(n):
        for k in range(size.dfd_scenes):
            scene, b = DFD_SCENES[k % len(DFD_SCENES)], (a + 1 + k) % n
            t, s, index = f"{a + 1:02d}", f"{b + 1:02d}", a * len(DFD_SCENES) + k
            fake = FakeJob(FAMILIES["dfd"], f"{ff}/manipulated_sequences/DeepFakeDetection/c23/"
                           f"videos/{t}_{s}__{scene}__{ids[a * n + b]}.mp4",
                           _key("dfd", PERSON, b), _key("dfd", SCENE, b * len(DFD_SCENES) + k))
            jobs.append(VideoJob("dfd", f"{ff}/original_sequences/actors/c23/videos/"
                                 f"{t}__{scene}.mp4", _key("dfd", PERSON, a),
                                 _key("dfd", SCENE, index), (fake,)))
    return jobs


def plan_folder(size: ExtraSize, seed: int) -> list[VideoJob]:
    """A clip and its fake per person sub-folder, and one pair directly under real/, fake/."""
    del seed  # the people are seed keys; nothing else is drawn
    jobs = [_job("folder", f"custom/real/person{p:02d}/clip.mp4", p,
                 (_fake("folder", FAMILIES["folder"], f"custom/fake/person{p:02d}/clip_swap.mp4",
                        SOURCE_OFFSET + p),))
            for p in range(size.folder_people)]
    n = size.folder_people
    jobs.append(_job("folder", "custom/real/street.mp4", n, (_fake(
        "folder", FAMILIES["folder"], "custom/fake/street_swap.mp4", SOURCE_OFFSET + n),)))
    return jobs


PLANS = {"dfdc": plan_dfdc, "dfdcp": plan_dfdcp, "dfd": plan_dfd, "folder": plan_folder}


def plan_extra(size: DemoSize, seed: int, extra: Sequence[str]) -> list[VideoJob]:
    """The jobs of the chosen extra datasets (none for an empty ``extra``)."""
    counts = extra_size(size)
    return [job for name in check_extra(extra) for job in PLANS[name](counts, seed)]


# ----------------------------------------------------------------------------- metadata
def write_extra_metadata(out: Path, size: DemoSize, seed: int, jobs: list[VideoJob]) -> None:
    """DFDC's ``metadata.json`` per part and ``test/labels.csv``, DFDCP's ``dataset.json``."""
    dfdc = [j for j in jobs if j.dataset == "dfdc"]
    if dfdc:
        _write_dfdc(out, dfdc)
    dfdcp = [j for j in jobs if j.dataset == "dfdcp"]
    if dfdcp:
        _write_dfdcp(out, dfdcp, extra_size(size), seed)


def _write_dfdc(out: Path, jobs: list[VideoJob]) -> None:
    parts: dict[str, dict] = {}
    labels = ["filename,label"]
    for job in jobs:
        folder, name = Path(job.path).parent.name, Path(job.path).name
        rows = [(name, "REAL", None)] + [(Path(f.path).name, "FAKE", name) for f in job.fakes]
        for video, label, original in rows:
            if folder == "test":
                labels.append(f"{video},{int(label == 'FAKE')}")
            else:
                parts.setdefault(folder, {})[video] = {"label": label, "split": "train",
                                                       "original": original}
    for folder, meta in parts.items():
        write_text(out / "DFDC" / folder / "metadata.json", json.dumps(meta, indent=1))
    if len(labels) > 1:
        write_text(out / "DFDC" / "test" / "labels.csv", "\n".join(labels) + "\n")


def _write_dfdcp(out: Path, jobs: list[VideoJob], size: ExtraSize, seed: int) -> None:
    ids = dfdcp_ids(size, seed)
    test = {str(t) for t in np.random.default_rng([seed, 5, 10]).choice(ids, size.dfdcp_test,
                                                                         replace=False)}
    index = {}
    for job in jobs:
        tid = Path(job.path).parts[2]
        sets = "test" if tid in test else "train"
        index[job.path.split("/", 1)[1]] = {"label": "real", "set": sets, "target_id": tid}
        for f in job.fakes:
            swapped = Path(f.path).name.split("_")[0]
            index[f.path.split("/", 1)[1]] = {"label": "fake", "set": sets, "target_id": tid,
                                              "swapped_id": swapped}
    write_text(out / "DFDCP" / "dataset.json", json.dumps(index, indent=1))


# ----------------------------------------------------------------------------- images
def write_extra_images(out: Path, size: DemoSize, seed: int, jobs: list[VideoJob]) -> None:
    """The folder dataset's images, from its rendered clips (their middle frame): still
    frames to align (``custom/.../still.png``) and aligned crops (``custom-aligned/``)."""
    counts, frame = extra_size(size), size.n_frames // 2
    people = [j for j in jobs if j.dataset == "folder" and "/person" in j.path]
    for p, job in enumerate(people):
        box = _face_box(job, size, seed, frame)
        for path in job.outputs():
            rel = Path(path).relative_to("custom")
            image = _decoded_frame(out / path, frame)
            if p < counts.folder_stills:
                _write_png(out / "custom" / rel.parent / "still.png", image)
            _write_png(out / "custom-aligned" / rel.parent / "face.png", _cut(image, box))


def _face_box(job: VideoJob, size: DemoSize, seed: int, frame: int) -> np.ndarray:
    """(x0, y0, x1, y1) of the target's landmarks in ``frame`` (rendered again)."""
    (width, height), faces = geometry(size, job.dataset)
    ident = sample_identity(np.random.default_rng([seed, *job.person]))
    scene = sample_scene(np.random.default_rng([seed, *job.scene]), width, height, faces)
    _, lm = render_frame(ident, scene, pose_at(scene, frame / size.fps),
                         background(scene, width, height))
    return np.concatenate([lm.min(0), lm.max(0)])


def _decoded_frame(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` (BGR) of a rendered video."""
    cap = cv2.VideoCapture(str(path))
    try:
        for _ in range(index + 1):
            ok, image = cap.read()
            if not ok:
                raise OSError(f"{path}: frame {index} could not be decoded")
    finally:
        cap.release()
    return image


def _cut(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """An upright square crop around the face box (1.3 times its larger side)."""
    (x0, y0, x1, y1), side = box, 1.3 * float(max(box[2] - box[0], box[3] - box[1]))
    scale = ALIGNED_SIZE / side
    m = np.float32([[scale, 0, ALIGNED_SIZE / 2 - scale * (x0 + x1) / 2],
                    [0, scale, ALIGNED_SIZE / 2 - scale * (y0 + y1) / 2]])
    return cv2.warpAffine(image, m, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: could not write the image")
