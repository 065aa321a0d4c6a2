"""Preparing at the paper's settings: time per video, faces per second per core, disk per crop.

Issue 18 (the paper's scale). One clip at each of the real datasets' frame sizes (480p
854x480, 720p 1280x720, 1080p 1920x1080), 300 frames, a rendered talking face
(:mod:`jdfd_lib.demo.render`, H.264 CRF 23 like FF++ c23), two clips (two people) per size in
a ``folder`` dataset, are prepared by the real :func:`jdfd_lib.faces.prepare.prepare` with the
paper profile (300 frames, 299 px, one worker) once with PNG crops and once with lossless WebP.
Figures per size: seconds per video (wall and process CPU), faces per second per core (faces /
CPU seconds: on a shared machine the primary rate), the CPU split decode / detect+align /
encode (decode timed alone on the same clips, encode by re-encoding the produced crops, the
rest is detection and alignment), and bytes per crop.

The crop format is then compared over a sample of the produced crops (and of real face crops,
``--real-crops``: e.g. DFDC's 224 px JPEG faces, resized to 299 px as ``prepare`` does): per
crop bytes, encode CPU ms (to bytes in memory) and decode CPU ms (``cv2.imread``), for PNG at
OpenCV's default and other zlib levels, and lossless WebP at libwebp efforts 0, 1, 2 (Pillow)
and OpenCV's (its default effort), each checked to decode to the very pixels.
Finally the core-hours and gigabytes of preparing FF++, Celeb-DF v2 and UADFV (300 frames a
video) are projected for each format, under the frame-size assumptions of :data:`DATASETS`.

    .venv/bin/python benchmarks/bench_prepare.py --real-crops DATA/dfdc_faces   # ~20 min
    .venv/bin/python benchmarks/bench_prepare.py --quick --results-dir /tmp/r   # seconds
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from jdfd_lib.demo.face_model import pose_at, sample_identity, sample_scene
from jdfd_lib.demo.render import background, render_frame, to_uint8
from jdfd_lib.demo.video_io import EncodeConfig, write_video
from jdfd_lib.faces.crops import EXTRACT_PROFILES, WEBP_METHOD, ExtractConfig
from jdfd_lib.faces.images import resize_crop
from jdfd_lib.faces.prepare import prepare
from jdfd_lib.faces.video import frame_count, read_frames, sample_frame_indices

RESOLUTIONS = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
# Videos (paper Sec. 4.1) and the assumed share of each frame size (not stated by the paper;
# FF++'s YouTube sources are mostly 480p with some 720p and 1080p; Celeb-DF v2's interviews
# taken as 720p; UADFV's low-resolution clips as 480p, an upper bound on its decoding).
DATASETS = {
    "FF++ c23": {"videos": 1000 + 4000, "mix": {"480p": 0.6, "720p": 0.3, "1080p": 0.1}},
    "Celeb-DF v2": {"videos": 890 + 5639, "mix": {"720p": 1.0}},
    "UADFV": {"videos": 49 + 49, "mix": {"480p": 1.0}},
}


def _cv(suffix: str, *params: int):
    return lambda bgr: cv2.imencode(suffix, bgr, list(params))[1].tobytes()


def _pillow_webp(method: int):
    def encode(bgr: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(bgr[..., ::-1]).save(buf, "WEBP", lossless=True, method=method,
                                             quality=0)
        return buf.getvalue()
    return encode


# name -> (file suffix, BGR image -> file bytes). "png" and "webp-m0" are what prepare writes
# (ExtractConfig.write_crop); "webp-cv" is OpenCV's lossless WebP (libwebp's default effort).
FORMATS = {
    "png": (".png", _cv(".png")),
    "png-z3": (".png", _cv(".png", cv2.IMWRITE_PNG_COMPRESSION, 3)),
    "png-z6": (".png", _cv(".png", cv2.IMWRITE_PNG_COMPRESSION, 6)),
    "png-z9": (".png", _cv(".png", cv2.IMWRITE_PNG_COMPRESSION, 9)),
    "webp-m0": (".webp", _pillow_webp(WEBP_METHOD)),
    "webp-m1": (".webp", _pillow_webp(1)),
    "webp-m2": (".webp", _pillow_webp(2)),
    "webp-cv": (".webp", _cv(".webp", cv2.IMWRITE_WEBP_QUALITY, 101)),
}
PREPARED = {"png": "png", "webp": f"webp-m{WEBP_METHOD}"}  # prepare's format -> FORMATS key
FPS, FACE_HEIGHT = 25, (0.32, 0.38)  # the demo's FF++ face size (brow to chin / frame height)


def machine() -> dict:
    """CPU model, cores, load average at start, library versions."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    load = os.getloadavg()
    return {"cpu": model, "cores": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in load],
            "shared_machine_busy": load[0] > 0.7, "opencv": cv2.__version__,
            "python": platform.python_version()}


def render_clip(path: Path, size: tuple[int, int], frames: int, seed: int) -> None:
    """A ``frames``-long H.264 clip (CRF 23) of one rendered talking face, if not there yet."""
    if path.is_file():
        return
    width, height = size
    rng = np.random.default_rng(seed)
    ident, scene = sample_identity(rng), sample_scene(rng, width, height, FACE_HEIGHT)
    bg = background(scene, width, height)
    noise = np.random.default_rng([seed, 1])

    def frames_of() -> object:
        for i in range(frames):
            image, _ = render_frame(ident, scene, pose_at(scene, i / FPS), bg)
            yield to_uint8(image, noise, 0.01)

    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, frames_of(), FPS, EncodeConfig(crf=23))


def make_folder(work: Path, res: str, frames: int) -> Path:
    """``work/clips/<res>/{real,fake}/``: two clips (two people) of one frame size."""
    root = work / "clips" / f"{res}-{frames}"
    for i, cls in enumerate(("real", "fake")):
        render_clip(root / cls / f"person{i}.mp4", RESOLUTIONS[res], frames, seed=10 * i + 1)
    return root


def timed(fn, *args, **kwargs) -> tuple[object, float, float]:
    """(result, wall seconds, this process' CPU seconds, every thread)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def decode_cpu(root: Path, frames: int) -> float:
    """CPU seconds to decode the sampled frames of the folder's clips as prepare does."""
    def run() -> None:
        for clip in sorted(root.rglob("*.mp4")):
            n = frame_count(clip)
            for _ in read_frames(clip, sample_frame_indices(n, frames)):
                pass
    return timed(run)[2]


def bytes_of(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def prepare_res(root: Path, out: Path, cfg: ExtractConfig) -> dict:
    """One prepare run of the folder from scratch (models loaded beforehand: once per worker)."""
    shutil.rmtree(out, ignore_errors=True)
    cfg.shared_aligner()
    summary, wall, cpu = timed(prepare, "folder", root, out, cfg, test_only=True)
    crops = sorted((out / "crops").rglob(f"*.{cfg.image_format}"))
    videos, faces = summary["videos"], summary["faces_found"]
    return {"videos": videos, "faces": faces, "frames_requested": summary["frames_requested"],
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "s_per_video_wall": round(wall / videos, 2),
            "s_per_video_cpu": round(cpu / videos, 2),
            "faces_per_s_wall": round(faces / wall, 1),
            "faces_per_s_per_core": round(faces / cpu, 1),
            "bytes_per_crop": round(bytes_of(crops) / max(len(crops), 1)),
            "meta_bytes_per_video": round(bytes_of(list((out / "meta").rglob("*.json")))
                                          / videos),
            "index_bytes_per_crop": round((out / "index.csv").stat().st_size / max(faces, 1), 1)}


def sample_images(paths: list[Path], n: int, size: int) -> list[np.ndarray]:
    """Up to ``n`` evenly spaced images of ``paths`` (BGR), resized to ``size`` like prepare."""
    picked = [paths[i] for i in np.unique(np.linspace(0, len(paths) - 1, n).round().astype(int))]
    return [resize_crop(cv2.imread(str(p), cv2.IMREAD_COLOR), size) for p in picked]


def compare_formats(images: list[np.ndarray], folder: Path, repeats: int) -> dict:
    """Per format: mean bytes, encode and decode CPU ms per crop (best of ``repeats``), and
    whether every crop decodes to exactly its pixels."""
    results = {}
    for name, (suffix, encode) in FORMATS.items():
        files, enc = None, float("inf")
        for _ in range(repeats):
            out, _, cpu = timed(lambda e=encode: [e(im) for im in images])
            files, enc = out, min(enc, cpu)
        paths = [folder / f"{name}_{i}{suffix}" for i in range(len(images))]
        for path, data in zip(paths, files, strict=True):
            path.write_bytes(data)
        decoded, dec = None, float("inf")
        for _ in range(repeats):
            out, _, cpu = timed(lambda ps=paths: [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in ps])
            decoded, dec = out, min(dec, cpu)
        results[name] = {
            "bytes": round(bytes_of(paths) / len(paths)),
            "encode_ms": round(1000 * enc / len(images), 2),
            "decode_ms": round(1000 * dec / len(images), 2),
            "lossless": all(np.array_equal(a, b) for a, b in zip(images, decoded, strict=True))}
        for path in paths:
            path.unlink()
    return results


def split_cpu(run: dict, decode_s: float, encode_ms: float) -> dict:
    """CPU seconds per video: decode, encode of the crops, detect + align (the rest)."""
    videos = run["videos"]
    decode, encode = decode_s / videos, run["faces"] / videos * encode_ms / 1000
    return {"decode_s": round(decode, 2), "encode_s": round(encode, 2),
            "detect_align_s": round(run["s_per_video_cpu"] - decode - encode, 2)}


def project(per_res: dict, formats: dict, frames: int) -> list[dict]:
    """Core-hours and GB of each dataset for each prepared format: CPU per video from the PNG
    run with the crops' encode at the format's measured cost; one crop per sampled frame."""
    rows = []
    for name, d in DATASETS.items():
        mix = {r: w for r, w in d["mix"].items() if r in per_res}
        total = sum(mix.values())
        row = {"dataset": name, "videos": d["videos"], "crops": d["videos"] * frames,
               "frame_sizes": ", ".join(f"{r} {w:.0%}" for r, w in d["mix"].items())}
        for fmt in PREPARED:
            cpu = bytes_ = meta = 0.0
            for res, w in mix.items():
                png, split = per_res[res]["runs"]["png"], per_res[res]["cpu_split"]
                face_s = (split["detect_align_s"] + split["decode_s"]) / frames
                cpu += w / total * (face_s + formats[PREPARED[fmt]]["encode_ms"] / 1000) * frames
                bytes_ += w / total * per_res[res]["runs"][fmt]["bytes_per_crop"]
                meta += w / total * (png["meta_bytes_per_video"]
                                     + png["index_bytes_per_crop"] * frames)
            row[f"{fmt}_core_h"] = round(d["videos"] * cpu / 3600, 1)
            row[f"{fmt}_gb"] = round(d["videos"] * frames * bytes_ / 1e9, 1)
        row["meta_gb"] = round(d["videos"] * meta / 1e9, 2)
        rows.append(row)
    return rows


def markdown(res: dict) -> str:
    """The results as markdown tables."""
    m = res["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, load average at start "
             f"{m['loadavg_at_start']}, OpenCV {m['opencv']}; {res['frames']} frames, "
             f"{res['size']} px, one worker.", "",
             "| clip | s/video (wall) | s/video (CPU) | faces/s/core | decode / detect+align / "
             "encode (CPU s/video) | bytes/crop PNG | bytes/crop WebP | WebP run CPU s/video |",
             "|---|---|---|---|---|---|---|---|"]
    for r, d in res["per_resolution"].items():
        png, webp, s = d["runs"]["png"], d["runs"]["webp"], d["cpu_split"]
        lines.append(f"| {r} {d['width']}x{d['height']} | {png['s_per_video_wall']} | "
                     f"{png['s_per_video_cpu']} | {png['faces_per_s_per_core']} | "
                     f"{s['decode_s']} / {s['detect_align_s']} / {s['encode_s']} | "
                     f"{png['bytes_per_crop']:,} | {webp['bytes_per_crop']:,} | "
                     f"{webp['s_per_video_cpu']} |")
    for title, table in (("produced crops", res["formats"]), ("real crops", res.get("real"))):
        if not table:
            continue
        lines += ["", f"Formats over {table['n']} {title} ({table['source']}):", "",
                  "| format | bytes/crop | encode ms | decode ms | lossless |",
                  "|---|---|---|---|---|"]
        lines += [f"| {k} | {v['bytes']:,} | {v['encode_ms']} | {v['decode_ms']} | "
                  f"{v['lossless']} |" for k, v in table["by_format"].items()]
    lines += ["", "| dataset | videos | crops | frame sizes (assumed) | PNG core-h | PNG GB | "
              "WebP core-h | WebP GB | metadata GB |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {p['dataset']} | {p['videos']:,} | {p['crops']:,} | {p['frame_sizes']} | "
              f"{p['png_core_h']} | {p['png_gb']} | {p['webp_core_h']} | {p['webp_gb']} | "
              f"{p['meta_gb']} |" for p in res["projection"]]
    return "\n".join(lines) + "\n"


def run(work: Path, quick: bool, real_crops: Path | None, n_sample: int) -> dict:
    """Every measurement; the results dict."""
    frames = 6 if quick else EXTRACT_PROFILES["paper"].frames_per_video
    resolutions = ["480p"] if quick else list(RESOLUTIONS)
    repeats = 1 if quick else 3
    paper = replace(EXTRACT_PROFILES["paper"], frames_per_video=frames, workers=1)
    res: dict = {"machine": machine(), "frames": frames, "size": paper.image_size,
                 "quick": quick, "per_resolution": {}}
    print(json.dumps(res["machine"]), flush=True)
    crops: list[Path] = []
    for r in resolutions:
        root = make_folder(work, r, frames)
        runs = {fmt: prepare_res(root, work / "out" / f"{r}-{fmt}",
                                 replace(paper, image_format=fmt)) for fmt in PREPARED}
        crops += sorted((work / "out" / f"{r}-png" / "crops").rglob("*.png"))
        width, height = RESOLUTIONS[r]
        res["per_resolution"][r] = {"width": width, "height": height, "runs": runs,
                                    "decode_cpu_s": round(decode_cpu(root, frames), 2)}
        print(r, json.dumps(runs), flush=True)
    images = sample_images(crops, n_sample, paper.image_size)
    res["formats"] = {"n": len(images), "source": "this run's 299 px crops",
                      "by_format": compare_formats(images, work, repeats)}
    png_ms = res["formats"]["by_format"]["png"]["encode_ms"]
    for d in res["per_resolution"].values():
        d["cpu_split"] = split_cpu(d["runs"]["png"], d["decode_cpu_s"], png_ms)
    if real_crops:
        real = sample_images(sorted(real_crops.rglob("*.jpg")) + sorted(real_crops.rglob("*.png")),
                             n_sample, paper.image_size)
        res["real"] = {"n": len(real), "source": f"{real_crops.name}, resized to "
                       f"{paper.image_size} px", "by_format": compare_formats(real, work, repeats)}
    res["projection"] = project(res["per_resolution"], res["formats"]["by_format"], frames)
    res["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return res


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 480p clip, 6 frames (smoke)")
    parser.add_argument("--work", type=Path, help="keep clips and crops here (default: temp)")
    parser.add_argument("--real-crops", type=Path, help="folder of real face crops (jpg/png)")
    parser.add_argument("--sample", type=int, default=300, help="crops in the format comparison")
    parser.add_argument("--results-dir", type=Path,
                        default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        res = run(work, args.quick, args.real_crops, 20 if args.quick else args.sample)
    text = markdown(res)
    print(text)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = "bench_prepare_quick" if args.quick else "bench_prepare"
    (args.results_dir / f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    (args.results_dir / f"{stem}.md").write_text(text)


if __name__ == "__main__":
    main()
