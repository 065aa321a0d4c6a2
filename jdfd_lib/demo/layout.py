"""Sizes and on-disk layouts of the embedded demo datasets (the real ones of paper Sec. 4.1).

The demo reproduces the official layouts, so the same readers (:mod:`jdfd_lib.datasets.registry`)
serve demo and real data:

- FaceForensics++: ``original_sequences/youtube/c23/videos/NNN.mp4``,
  ``manipulated_sequences/<method>/c23/videos/TTT_SSS.mp4`` (target_source: the frames of
  original TTT with SSS's face or expression), the manipulation masks FF++ ships for its four
  methods, ``manipulated_sequences/<method>/masks/videos/TTT_SSS.mp4`` (white where the
  manipulation painted, frame by frame), and the official pair lists
  ``splits/{train,val,test}.json``. The other datasets ship no masks, nor does their demo.
- Celeb-DF v2: ``Celeb-real/id{i}_{nnnn}.mp4``, ``YouTube-real/{nnnnn}.mp4``,
  ``Celeb-synthesis/id{t}_id{s}_{nnnn}.mp4`` and ``List_of_testing_videos.txt``
  (``1 <path>`` real, ``0 <path>`` fake).
- UADFV: ``real/{nnnn}.mp4`` and ``fake/{nnnn}_fake.mp4``.

Every video is one :class:`VideoJob`: a pristine video and the fakes that use it as target.
People and scenes are named by seed keys, so any process renders the same pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jdfd_lib.core.atomic import write_text
from jdfd_lib.datasets.celebdf import CELEBDF_SPLIT_FILE
from jdfd_lib.datasets.ffpp import FFPP_METHODS
from jdfd_lib.datasets.splits import draw_split
from jdfd_lib.datasets.uadfv import UADFV_SPLIT_FILE

# seed-key prefix of each dataset: people, scenes and noise never repeat across datasets
DATASET_CODES = {"ffpp": 1, "celebdf": 2, "uadfv": 3}
PERSON, SCENE = 0, 1
UADFV_SOURCE_OFFSET = 1000  # UADFV sources are people outside the dataset's own


@dataclass(frozen=True)
class DemoSize:
    """A named size preset of the demo data.

    Attributes:
        name: preset name.
        ffpp_pairs: FF++ (train, val, test) pair counts; each pair is two originals.
        celebdf_identities: Celeb-DF celebrities (each with Celeb-real videos).
        celebdf_real_per_identity: Celeb-real videos per celebrity.
        celebdf_youtube: YouTube-real videos (other people, no fakes).
        celebdf_fakes_per_real: Celeb-synthesis videos made on each Celeb-real video.
        celebdf_test_fraction: share of Celeb-real and YouTube-real videos (with the fakes
            made on them) in ``List_of_testing_videos.txt``.
        uadfv_videos: UADFV real videos (each with one fake).
        seconds: length of every video.
        fps: frame rate.
        frame_sizes: (width, height) per dataset.
        face_heights: range of the brow-to-chin height, as a fraction of the frame height
            (dlib's face box is about 1.3 times that: 35-50 % of the frame height; UADFV's
            box stays >= 100 px).
        noise: sensor noise sigma (0..1 units) added to every frame.
        uadfv_fractions: the demo's UADFV split shares, written to ``UADFV/jdfd_split.json``
            (UADFV has no official split; the demo needs larger val and test parts than the
            real-data default so that selection and test AUCs rest on tens of videos).
        celebdf_val_fraction: share of the non-test Celeb-DF videos carved for validation,
            written to ``Celeb-DF-v2/jdfd_split.json`` (same reason).
    """

    name: str
    ffpp_pairs: tuple[int, int, int]
    celebdf_identities: int
    celebdf_real_per_identity: int
    celebdf_youtube: int
    celebdf_fakes_per_real: int
    uadfv_videos: int
    seconds: float
    fps: int = 25
    celebdf_test_fraction: float = 1 / 3
    frame_sizes: dict[str, tuple[int, int]] = field(default_factory=lambda: {
        "ffpp": (480, 360), "celebdf": (640, 360), "uadfv": (320, 240)})
    face_heights: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "ffpp": (0.32, 0.38), "celebdf": (0.32, 0.38), "uadfv": (0.34, 0.39)})
    noise: float = 0.01
    uadfv_fractions: dict[str, float] = field(default_factory=lambda: {
        "train": 0.75, "val": 0.10, "test": 0.15})
    celebdf_val_fraction: float = 0.1

    @property
    def n_frames(self) -> int:
        """Frames per video."""
        return max(1, round(self.seconds * self.fps))


# FF++ pairs: the official split is 720/140/140 pairs (72/14/14 %). "small" is the demo: at
# least 40 test videos per dataset (FF++ with all four methods) and at least 10 validation
# videos per class, in short clips (only the sampled frames are needed).
SIZES: dict[str, DemoSize] = {
    "tiny": DemoSize("tiny", ffpp_pairs=(1, 1, 1), celebdf_identities=3,
                     celebdf_real_per_identity=1, celebdf_youtube=1, celebdf_fakes_per_real=1,
                     uadfv_videos=3, seconds=1.0, fps=15),
    "small": DemoSize("small", ffpp_pairs=(40, 5, 5), celebdf_identities=30,
                      celebdf_real_per_identity=2, celebdf_youtube=15, celebdf_fakes_per_real=2,
                      uadfv_videos=100, seconds=0.24, fps=25,
                      uadfv_fractions={"train": 0.6, "val": 0.15, "test": 0.25},
                      celebdf_val_fraction=0.3),
}


@dataclass(frozen=True)
class FakeJob:
    """One fake made on a :class:`VideoJob`'s pristine video."""

    method: str  # FF++ method, "celebdf" or "uadfv"
    path: str  # relative to the output root
    source: tuple[int, ...]  # person key of the source identity
    source_scene: tuple[int, ...]  # scene key of the source's own video
    mask: str | None = None  # its mask video, relative to the output root (FF++ only)


@dataclass(frozen=True)
class VideoJob:
    """One pristine video and its fakes, rendered in one pass."""

    dataset: str
    path: str  # the pristine video, relative to the output root
    person: tuple[int, ...]
    scene: tuple[int, ...]
    fakes: tuple[FakeJob, ...] = ()

    def outputs(self) -> list[str]:
        """Relative paths of every video this job writes (the masks last)."""
        return [self.path, *(f.path for f in self.fakes), *self.masks()]

    def masks(self) -> list[str]:
        """Relative paths of the mask videos of its fakes (those that have one)."""
        return [f.mask for f in self.fakes if f.mask is not None]


def key(dataset: str, kind: int, index: int) -> tuple[int, int, int]:
    """Seed key of a person (kind 0) or a scene (kind 1) of a dataset."""
    return DATASET_CODES[dataset], kind, index


# ----------------------------------------------------------------------------- FF++
def ffpp_pairs(size: DemoSize, seed: int) -> dict[str, list[list[str]]]:
    """Official-format pair lists: split -> [["a", "b"], ...] of 3-digit original ids."""
    n = 2 * sum(size.ffpp_pairs)
    ids = [f"{i:03d}" for i in np.random.default_rng([seed, 1, 9]).permutation(n)]
    pairs = [sorted(ids[2 * k:2 * k + 2]) for k in range(n // 2)]
    n_train, n_val, _ = size.ffpp_pairs
    return {"train": pairs[:n_train], "val": pairs[n_train:n_train + n_val],
            "test": pairs[n_train + n_val:]}


def plan_ffpp(size: DemoSize, seed: int) -> list[VideoJob]:
    """One job per original: ``NNN.mp4``, its four fakes ``NNN_SSS.mp4`` and their masks."""
    root, jobs = "FaceForensics++", []
    for pairs in ffpp_pairs(size, seed).values():
        for a, b in pairs:
            for t, s in ((a, b), (b, a)):
                fakes = tuple(
                    FakeJob(m, f"{root}/manipulated_sequences/{m}/c23/videos/{t}_{s}.mp4",
                            key("ffpp", PERSON, int(s)), key("ffpp", SCENE, int(s)),
                            f"{root}/manipulated_sequences/{m}/masks/videos/{t}_{s}.mp4")
                    for m in FFPP_METHODS)
                real = f"{root}/original_sequences/youtube/c23/videos/{t}.mp4"
                jobs.append(VideoJob("ffpp", real, key("ffpp", PERSON, int(t)),
                                     key("ffpp", SCENE, int(t)), fakes))
    return sorted(jobs, key=lambda j: j.path)


# ----------------------------------------------------------------------------- Celeb-DF
def plan_celebdf(size: DemoSize, seed: int) -> list[VideoJob]:
    """Celeb-real jobs (with their Celeb-synthesis fakes) and YouTube-real jobs."""
    rng = np.random.default_rng([seed, 2, 9])
    jobs, n_id = [], size.celebdf_identities
    for t in range(n_id):
        for k in range(size.celebdf_real_per_identity):
            video = t * size.celebdf_real_per_identity + k
            others = [s for s in range(n_id) if s != t]
            sources = rng.choice(others, min(size.celebdf_fakes_per_real, len(others)),
                                 replace=False)
            fakes = tuple(FakeJob("celebdf", f"Celeb-DF-v2/Celeb-synthesis/id{t}_id{s}_{k:04d}.mp4",
                                  key("celebdf", PERSON, int(s)), key("celebdf", SCENE, video))
                          for s in sorted(sources))
            jobs.append(VideoJob("celebdf", f"Celeb-DF-v2/Celeb-real/id{t}_{k:04d}.mp4",
                                 key("celebdf", PERSON, t), key("celebdf", SCENE, video), fakes))
    n_real = len(jobs)
    for j in range(size.celebdf_youtube):
        jobs.append(VideoJob("celebdf", f"Celeb-DF-v2/YouTube-real/{j:05d}.mp4",
                             key("celebdf", PERSON, n_id + j), key("celebdf", SCENE, n_real + j)))
    return jobs


def celebdf_test_list(jobs: list[VideoJob], size: DemoSize, seed: int) -> list[str]:
    """Lines of ``List_of_testing_videos.txt``: a seeded share of the real videos, each with
    the fakes made on it (``1 <path>`` = real, ``0 <path>`` = fake, the list's convention)."""
    rng = np.random.default_rng([seed, 2, 10])
    lines = []
    for folder in ("Celeb-real", "YouTube-real"):
        group = [j for j in jobs if f"/{folder}/" in j.path]
        n = max(1, round(size.celebdf_test_fraction * len(group))) if group else 0
        for i in sorted(rng.choice(len(group), n, replace=False)):
            lines.append(f"1 {_rel(group[i].path)}")
            lines.extend(f"0 {_rel(f.path)}" for f in group[i].fakes)
    return lines


def _rel(path: str) -> str:
    return path.split("/", 1)[1]  # drop the dataset folder


# ----------------------------------------------------------------------------- UADFV
def plan_uadfv(size: DemoSize, seed: int) -> list[VideoJob]:
    """One job per real video ``NNNN.mp4`` with its fake ``NNNN_fake.mp4``."""
    return [VideoJob("uadfv", f"UADFV/real/{i:04d}.mp4", key("uadfv", PERSON, i),
                     key("uadfv", SCENE, i),
                     (FakeJob("uadfv", f"UADFV/fake/{i:04d}_fake.mp4",
                              key("uadfv", PERSON, UADFV_SOURCE_OFFSET + i),
                              key("uadfv", SCENE, UADFV_SOURCE_OFFSET + i)),))
            for i in range(size.uadfv_videos)]


def plan(size: DemoSize, seed: int) -> list[VideoJob]:
    """Every job of the three datasets."""
    return plan_ffpp(size, seed) + plan_celebdf(size, seed) + plan_uadfv(size, seed)


def write_metadata(out: Path, size: DemoSize, seed: int, jobs: list[VideoJob]) -> None:
    """Write the FF++ pair lists and the Celeb-DF test list (atomically)."""
    for split, pairs in ffpp_pairs(size, seed).items():
        write_text(out / "FaceForensics++" / "splits" / f"{split}.json", json.dumps(pairs))
    celeb = [j for j in jobs if j.dataset == "celebdf"]
    write_text(out / "Celeb-DF-v2" / "List_of_testing_videos.txt",
               "\n".join(celebdf_test_list(celeb, size, seed)) + "\n")
    write_text(out / "Celeb-DF-v2" / CELEBDF_SPLIT_FILE,
               json.dumps({"val_fraction": size.celebdf_val_fraction, "seed": seed}))
    ids = [Path(j.path).stem for j in jobs if j.dataset == "uadfv"]
    splits = draw_split(ids, size.uadfv_fractions, seed)
    write_text(out / "UADFV" / UADFV_SPLIT_FILE,
               json.dumps({"seed": seed, "fractions": size.uadfv_fractions, "splits": splits},
                          indent=1))
