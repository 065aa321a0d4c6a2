"""Generate the embedded demo datasets (FF++, Celeb-DF v2, UADFV layouts of paper Sec. 4.1).

``python -m jdfd_lib demo-data --out data/demo [--size small] [--seed 0] [--workers N]``
renders procedural talking faces (:mod:`jdfd_lib.demo.render`), makes each dataset's fakes
(:mod:`jdfd_lib.demo.fakes`) and encodes them as H.264 like FF++'s c23
(:mod:`jdfd_lib.demo.video_io`) in the official layouts (:mod:`jdfd_lib.demo.layout`). A pristine
video and its fakes share identity, motion, background and sensor noise, so only the manipulation
separates them.

The FF++ fakes come with their exact manipulation masks in FF++'s layout
(``manipulated_sequences/<Method>/masks/videos/<target>_<source>.mp4``): each manipulation
returns the alpha it painted with, and the mask is where that alpha is at least one half
(:func:`jdfd_lib.demo.fakes.true_mask`), white on black, H.264 like the videos (a binary mask
survives it: read back and thresholded at 127, no pixel flips). The other datasets ship no masks
and neither does their demo (their masks are derived: :mod:`jdfd_lib.faces.masks`).

The run is deterministic for a seed (byte-identical videos) and resumable: videos appear
under their final names only when complete, finished jobs are skipped on a rerun, and the
marker ``.demo_data.json`` (written last) makes a repeated call with the same size and seed
return at once; a different size or seed is refused unless ``overwrite=True``. A marker
without mask counts (demo data from before the masks) resumes the run: only the missing mask
videos are written, every existing file stays as it is.

``extra`` (``--extra dfdc dfdcp dfd folder``) adds small copies of the other test sets'
layouts (:mod:`jdfd_lib.demo.extra_layouts`); off by default, and then nothing changes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np

from jdfd_lib.core.atomic import write_text
from jdfd_lib.core.errors import ignore_sigint, option, positive_int
from jdfd_lib.demo import extra_layouts as X
from jdfd_lib.demo import fakes as F
from jdfd_lib.demo.face_model import (
    Identity,
    Pose,
    Scene,
    pose_at,
    sample_identity,
    sample_scene,
    with_expression,
)
from jdfd_lib.demo.layout import (
    SIZES,
    DemoSize,
    FakeJob,
    VideoJob,
    plan,
    write_metadata,
)
from jdfd_lib.demo.render import background, render_frame, to_uint8
from jdfd_lib.demo.video_io import EncodeConfig, H264Writer

MARKER = ".demo_data.json"
STARTED = ".demo_data.started.json"
DATASET_FOLDERS = ("FaceForensics++", "Celeb-DF-v2", "UADFV")
NOISE_STREAM, FAKE_STREAM = 2, 3  # seed-key kinds of the per-video random streams


def generate_demo_data(out: str | os.PathLike, *, size: str = "small", seed: int = 0,
                       workers: int = 1, overwrite: bool = False,
                       fake_config: F.FakeConfig | None = None,
                       encode: EncodeConfig | None = None, extra: Sequence[str] = ()) -> dict:
    """Write ``out/FaceForensics++/``, ``out/Celeb-DF-v2/`` and ``out/UADFV/``.

    Args:
        out: output root (created if needed).
        size: a preset of :data:`jdfd_lib.demo.layout.SIZES` ("tiny" for tests, "small").
        seed: fixes every pixel of every video.
        workers: processes rendering videos in parallel (one task per pristine video).
        overwrite: replace an earlier demo generation of another size or seed.
        fake_config: manipulation strengths (default :class:`jdfd_lib.demo.fakes.FakeConfig`).
        encode: H.264 settings (default :class:`jdfd_lib.demo.video_io.EncodeConfig`: CRF 23 as
            FF++ c23).
        extra: also write these of :data:`jdfd_lib.demo.extra_layouts.EXTRA_DATASETS`
            ("dfdc", "dfdcp", "dfd", "folder"); recorded in the marker only when not empty.

    Returns:
        Summary: size, seed, frames per video, videos per dataset and class, mask videos per
        dataset and method, seconds taken.

    Raises:
        ValueError: unknown size or extra dataset, or workers < 1.
        FileExistsError: ``out`` holds another generation (and not ``overwrite``), or dataset
            folders that no demo generation wrote.
    """
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; expected one of {list(SIZES)}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out, preset, extra = Path(out), SIZES[size], X.check_extra(extra)
    wanted = {"size": size, "seed": int(seed), **({"extra": list(extra)} if extra else {})}
    done = _check_existing(out, wanted, overwrite)
    if done is not None:
        return done
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / STARTED, json.dumps(wanted))
    jobs = plan(preset, seed) + X.plan_extra(preset, seed, extra)
    write_metadata(out, preset, seed, jobs)
    X.write_extra_metadata(out, preset, seed, jobs)
    todo = [j for j in jobs if not all((out / p).is_file() for p in j.outputs())]
    cfgs = (fake_config or F.FakeConfig(), encode or EncodeConfig())
    args = [(j, str(out), preset, seed, *cfgs) for j in todo]
    if workers == 1 or len(todo) <= 1:
        for a in args:
            run_job(*a)
    else:
        ctx = multiprocessing.get_context("spawn")  # safe beside threads (e.g. in Jupyter)
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
            try:
                list(pool.map(run_job, *zip(*args, strict=True)))
            except BaseException:  # Ctrl-C: drop the queued videos, keep the finished ones
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    X.write_extra_images(out, preset, seed, jobs)
    summary = {**wanted, "frames_per_video": preset.n_frames, "videos": _count(jobs),
               "masks": _count_masks(jobs), "seconds": round(time.perf_counter() - start, 2)}
    write_text(out / MARKER, json.dumps(summary, indent=1))
    (out / STARTED).unlink(missing_ok=True)
    return summary


def _check_existing(out: Path, wanted: dict, overwrite: bool) -> dict | None:
    """Return the stored summary of an identical finished run; clear or refuse the others."""
    marker, started = out / MARKER, out / STARTED
    previous = None
    for path in (marker, started):
        if path.is_file():
            data = json.loads(path.read_text())
            previous = {"size": data.get("size"), "seed": data.get("seed"),
                        **({"extra": data["extra"]} if data.get("extra") else {})}
            if previous == wanted:  # finished, or resume it (also to add missing masks)
                return data if path == marker and "masks" in data else None
            break
    extra = {*wanted.get("extra", ()), *(previous or {}).get("extra", ())}
    folders = DATASET_FOLDERS + tuple(f for d in sorted(extra) for f in X.EXTRA_FOLDERS[d])
    present = [out / d for d in folders if (out / d).exists()]
    if previous is None:
        if present:
            raise FileExistsError(f"{out}: holds {[p.name for p in present]} but no demo marker "
                                  f"{MARKER}; refusing to write demo data over a dataset that "
                                  f"this command did not generate")
        return None
    if not overwrite:
        raise FileExistsError(f"{out}: holds demo data of size {previous['size']!r} and seed "
                              f"{previous['seed']}, not size {wanted['size']!r} and seed "
                              f"{wanted['seed']}; pass {option('overwrite=True', '--overwrite')} "
                              "to replace it")
    for p in present:
        shutil.rmtree(p)
    marker.unlink(missing_ok=True)
    started.unlink(missing_ok=True)
    return None


def _count(jobs: list[VideoJob]) -> dict[str, dict[str, int]]:
    """Videos per dataset and class (the folder or FF++ method they are in)."""
    counts: dict[str, Counter] = {}
    for j in jobs:
        c = counts.setdefault(j.dataset, Counter())
        c[_category(j.path)] += 1
        for f in j.fakes:
            c[_category(f.path)] += 1
    return {d: dict(sorted(c.items())) for d, c in counts.items()}


def _count_masks(jobs: list[VideoJob]) -> dict[str, dict[str, int]]:
    """Mask videos per dataset and manipulation (only datasets that have some)."""
    counts: dict[str, Counter] = {}
    for j in jobs:
        for f in j.fakes:
            if f.mask is not None:
                counts.setdefault(j.dataset, Counter())[f.method] += 1
    return {d: dict(sorted(c.items())) for d, c in counts.items()}


def _category(path: str) -> str:
    parts = path.split("/")
    if parts[0] == "FaceForensics++":
        return "original" if parts[1] == "original_sequences" else parts[2]
    return parts[1]


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already
    ignore_sigint()


# ----------------------------------------------------------------------------- rendering
def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, *key])


def run_job(job: VideoJob, out: str, size: DemoSize, seed: int, cfg: F.FakeConfig,
            encode: EncodeConfig) -> list[str]:
    """Render and encode one pristine video, its fakes and their masks; returns the paths
    written: those missing (a file already there is complete, its bytes the same).

    Every random draw comes from a generator keyed by the seed and the job's keys, so a job
    gives the same bytes in any process and in any order.
    """
    (width, height), faces = X.geometry(size, job.dataset)
    ident = sample_identity(_rng(seed, *job.person))
    scene = sample_scene(_rng(seed, *job.scene), width, height, faces)
    bg = background(scene, width, height)
    sources = [_Source(f, seed, width, height, faces) for f in job.fakes]
    gains = [1 + _rng(seed, FAKE_STREAM, *job.scene, i).uniform(
        -cfg.colour_mismatch, cfg.colour_mismatch, 3).astype(np.float32)
        for i in range(len(job.fakes))]
    jitter = [_rng(seed, FAKE_STREAM + 1, *job.scene, i) for i in range(len(job.fakes))]
    noise_rng = _rng(seed, NOISE_STREAM, *job.scene)
    paths = [Path(out) / p for p in job.outputs() if not (Path(out) / p).is_file()]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:  # every writer commits on success, or discards its temp file
        writers = _Writers(stack, out, paths, size.fps, encode)
        for i in range(size.n_frames):
            pose = pose_at(scene, i / size.fps)
            target, lm = render_frame(ident, scene, pose, bg)
            noise = size.noise * noise_rng.standard_normal(target.shape, dtype=np.float32)
            writers.write(job.path, to_uint8(target + noise))
            cache: dict = {}
            for k, src in enumerate(sources):
                inputs = src.inputs(ident, scene, pose, bg, target, lm, i / size.fps, gains[k],
                                    cache)
                fake, alpha = _manipulate(src.job.method, inputs, cfg, jitter[k])
                writers.write(src.job.path, to_uint8(fake + noise))
                if src.job.mask is not None:
                    writers.write(src.job.mask, _mask_frame(alpha))
    return [str(p) for p in paths]


class _Writers:
    """The H.264 writers of the missing outputs of a job, by relative path."""

    def __init__(self, stack: ExitStack, out: str, paths: list[Path], fps: int,
                 encode: EncodeConfig) -> None:
        self.writers = {p.relative_to(out).as_posix(): stack.enter_context(
            H264Writer(p, fps, encode)) for p in paths}

    def write(self, rel: str, frame: np.ndarray) -> None:
        """Encode ``frame`` ((H, W, 3) uint8 BGR) into ``rel`` if that is being written."""
        if rel in self.writers:
            self.writers[rel].write(frame)


def _mask_frame(alpha: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR mask frame: white where the manipulation painted (alpha >= 0.5)."""
    return cv2.cvtColor(F.true_mask(alpha), cv2.COLOR_GRAY2BGR)


def _manipulate(method: str, x: F.FakeInputs, cfg: F.FakeConfig,
                rng: np.random.Generator) -> F.Fake:
    if method in F.FFPP_FAKES:
        return F.FFPP_FAKES[method](x, cfg)
    if method == "uadfv":
        return F.uadfv_swap(x, cfg)
    if method == "celebdf":
        return F.celebdf_swap(x, cfg, rng)
    raise ValueError(f"unknown manipulation {method!r}")


class _Source:
    """The source identity of one fake, and the renderings its manipulation needs."""

    def __init__(self, job: FakeJob, seed: int, width: int, height: int,
                 faces: tuple[float, float]) -> None:
        self.job = job
        self.ident = sample_identity(_rng(seed, *job.source))
        self.scene = sample_scene(_rng(seed, *job.source_scene), width, height, faces)
        self.needs = F.NEEDS[job.method]
        self.bg = background(self.scene, width, height) if "source" in self.needs else None

    def inputs(self, ident: Identity, scene: Scene, pose: Pose, bg: np.ndarray,
               target: np.ndarray, lm: np.ndarray, t: float, gain: np.ndarray,
               cache: dict) -> F.FakeInputs:
        """The renderings of this frame; ``cache`` shares them between fakes of one source."""
        x = F.FakeInputs(target, lm, gain=gain)
        own = pose_at(self.scene, t)
        for need in self.needs:
            ck = (self.job.source, self.job.source_scene, need)
            if ck not in cache:
                if need == "swapped":  # the source's face in the target's pose and scene
                    cache[ck] = render_frame(self.ident, scene, pose, bg)
                elif need == "reenacted":  # the target with the source's expression
                    cache[ck] = render_frame(ident, scene, with_expression(pose, own), bg)
                else:  # "source": the source's own frame
                    cache[ck] = render_frame(self.ident, self.scene, own, self.bg)
            setattr(x, need, cache[ck][0])
            setattr(x, f"{need}_lm", cache[ck][1])
        return x


# ----------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m jdfd_lib demo-data``."""
    parser.add_argument("--out", required=True, help="output root (e.g. data/demo)")
    parser.add_argument("--size", default="small", choices=sorted(SIZES),
                        help="size preset (default: small)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="parallel processes, one video at a time each (default: 1)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace demo data of another size or seed in --out")
    parser.add_argument("--extra", nargs="+", default=[], choices=X.EXTRA_DATASETS,
                        help="also write small copies of these test sets' layouts (default: "
                             "none)")


def run(args: argparse.Namespace) -> int:
    """Generate the demo data and print the summary."""
    summary = generate_demo_data(args.out, size=args.size, seed=args.seed,
                                 workers=args.workers, overwrite=args.overwrite,
                                 extra=args.extra)
    print(f"demo data ({summary['size']}, seed {summary['seed']}) in {args.out}: "
          f"{summary['frames_per_video']} frames per video, {summary['seconds']} s")
    for dataset, counts in summary["videos"].items():
        print(f"  {dataset}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for dataset, counts in summary.get("masks", {}).items():
        print(f"  {dataset} masks: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
