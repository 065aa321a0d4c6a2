"""``python -m jdfd_lib prepare``: aligned face crops of a whole dataset (paper Sec. 3.1, 4.1).

For every video the dataset's registered reader lists
(:func:`jdfd_lib.datasets.registry.list_videos`), N evenly spaced frames (paper: 300) are
decoded, the largest Dlib face aligned and cropped (paper: 299x299), and written to
``out/crops/{method}/{video}/{frame:06d}.png`` (or ``.webp``, lossless; ``.jpg``:
``ExtractConfig.image_format``), with the fake's manipulation mask warped like
it, ``{frame:06d}_mask.png``, where one applies (``ExtractConfig.masks``,
:mod:`jdfd_lib.faces.masks`). A still image is a video of one frame; one
its reader marks ``aligned`` (a face crop already) is only resized, without detection
(its metadata says ``"aligned": true`` and holds no landmarks). Per video, a metadata file
``out/meta/{method}/{video}.json`` (landmarks in crop coordinates, boxes, faces per frame,
dropped frames and why; per frame with a mask its file, source and frame-to-crop matrix) is
written last, atomically: it is the video's "done" marker. Finally ``out/index.csv`` lists one
row per crop (:mod:`jdfd_lib.faces.index`; column ``mask``: the mask crop or empty).

Resuming: a rerun skips videos whose marker records the same extraction settings and whose
listed crops all exist, and redoes the rest (interrupted, failed, extracted with other
settings, or with a crop deleted since); ``verify`` also decodes every crop and redoes the
videos with a broken one. Crops are written to a temporary folder renamed into place before
the marker, so an interrupted video is never counted as done. While videos are being
redone the folder holds no index (:mod:`jdfd_lib.faces.index`: an interrupted run cannot leave an
index listing crops of two settings); the index is written at the end with
``extraction.json``, the record of the settings and of the command.

Many machines: ``shard=(I, N)`` extracts one shard of the videos and writes no index;
``merge`` writes it once every shard has run (:mod:`jdfd_lib.faces.shards`; on a Dask
cluster: :mod:`jdfd_lib.faces.cluster`). The command line: :mod:`jdfd_lib.faces.prepare_cli`.

Nothing is silent: unreadable videos are skipped and listed in ``failures`` (the command
exits 1 after finishing the others), and videos without a single face or with frames lost
to read errors are listed as warnings (:mod:`jdfd_lib.faces.prepare_summary`). A dataset where not
one face is found is an error.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import asdict
from functools import partial
from pathlib import Path

import cv2
import pandas as pd

from jdfd_lib.core.atomic import write_text
from jdfd_lib.core.errors import UserError, ignore_sigint
from jdfd_lib.core.paths import file_identity, inside
from jdfd_lib.core.progress import progress_bar
from jdfd_lib.datasets.records import VideoRecord
from jdfd_lib.datasets.registry import get_dataset, list_videos
from jdfd_lib.faces import masks as M
from jdfd_lib.faces import shards
from jdfd_lib.faces.crops import (
    EXTRACT_PROFILES,
    ExtractConfig,
    FaceCrop,
    VideoStats,
    iter_aligned_image,
    iter_video_faces,
)
from jdfd_lib.faces.images import decode_crop
from jdfd_lib.faces.index import (
    INDEX_COLUMNS,
    MASK_COLUMN,
    mark_running,
    prepare_command,
    sources_digest,
    write_prepared_index,
)
from jdfd_lib.faces.prepare_summary import (
    NoFaceError,
    build_summary,
    call_record,
    no_face_message,
)
from jdfd_lib.faces.video import VideoReadError

SUMMARY_FILE = "prepare_summary.json"
# The mask settings of a video extracted before they existed (its crops are still valid).
MASK_DEFAULTS = {"masks": "official", "mask_threshold": M.DEFAULT_MASK_THRESHOLD}


def _meta_path(out: Path, method: str, video: str) -> Path:
    return inside(out / "meta", method, f"{video}.json")


def read_video_meta(out: str | os.PathLike, method: str, video: str) -> dict:
    """Read a finished video's metadata (landmarks in crop coordinates, boxes, drops).

    Raises:
        FileNotFoundError: the video has not been extracted into ``out``.
    """
    path = _meta_path(Path(out), method, video)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metadata; video {method}/{video} was not "
                                f"extracted into {out}")
    return json.loads(path.read_text())


def _write_crop(path: Path, image, cfg: ExtractConfig) -> None:
    cfg.write_crop(path, image)


def _crop_damage(meta: dict, crops: Path, verify: bool, size: int) -> str | None:
    """Why a finished video's crops cannot be used, or None: a listed crop is missing (one
    directory listing), or, with ``verify``, does not decode as a ``size`` square image."""
    try:
        present = set(os.listdir(crops))
    except OSError:
        return "crop folder missing"
    missing = [name for f in meta["frames"] for name in (f["file"], f.get("mask"))
               if name and name not in present]
    if missing:
        return f"{len(missing)} of {len(meta['frames'])} crops missing (e.g. {missing[0]})"
    for f in meta["frames"] if verify else ():
        for name in filter(None, (f["file"], f.get("mask"))):
            image = decode_crop(crops / name)  # a truncated JPEG too
            if image is None or image.shape[:2] != (size, size):
                return f"crop {name} does not decode as a {size}x{size} image"
    return None


def _done_state(rec: VideoRecord, out: Path, cfg: ExtractConfig, fingerprint: dict,
                verify: bool) -> tuple[dict | None, str | None]:
    """(metadata, None) if the video was finished with these settings and its crops are
    intact; (None, why) if it was finished but a crop is damaged; (None, None) otherwise."""
    try:
        meta = json.loads(_meta_path(out, rec.method, rec.video).read_text())
    except (OSError, ValueError):
        return None, None
    if ({**MASK_DEFAULTS, **meta.get("config", {})} != fingerprint  # older: no mask settings
            or meta.get("aligned", False) != rec.aligned
            or meta.get("mask_providers", []) != M.mask_providers(rec, fingerprint["masks"])):
        return None, None
    if "source_file" in meta and meta["source_file"] != file_identity(rec.path):  # older: none
        return None, "the video file changed since it was extracted (size or modification time)"
    damage = _crop_damage(meta, out / "crops" / rec.method / rec.video, verify, cfg.image_size)
    return (None, damage) if damage else (meta, None)


def _finished_videos(records: list[VideoRecord], out: Path, cfg: ExtractConfig,
                     verify: bool) -> tuple[dict, list[dict]]:
    """(method, video) -> metadata of finished, intact videos (None for the rest), and the
    finished videos whose crops are damaged (path, reason): they are redone."""
    check = partial(_done_state, out=out, cfg=cfg, fingerprint=cfg.fingerprint(),
                    verify=verify)
    if verify and cfg.workers > 1 and len(records) > 1:  # decoding every crop: in parallel
        with ProcessPoolExecutor(max_workers=cfg.workers, initializer=ignore_sigint) as pool:
            states = list(pool.map(check, records, chunksize=16))
    else:
        states = [check(r) for r in records]
    metas = {(r.method, r.video): meta for r, (meta, _) in zip(records, states, strict=True)}
    damaged = [{"path": str(r.path), "reason": why}
               for r, (_, why) in zip(records, states, strict=True) if why]
    return metas, damaged


def _video_meta(rec: VideoRecord, cfg: ExtractConfig, stats: VideoStats,
                frames: list[dict], masks: M.MaskMaker | None, source: list[int] | None) -> dict:
    meta = {
        "dataset": rec.dataset, "method": rec.method, "video": rec.video,
        "source": str(rec.path), "source_file": source, "label": rec.label, "split": rec.split,
        "identity": rec.identity, "config": cfg.fingerprint(), "n_frames": stats.n_frames,
        "frames_requested": stats.requested, "fallbacks": stats.fallbacks, "frames": frames,
        "decoder": stats.decoder, "decoder_note": stats.decoder_note,
        "dropped": sorted([{"frame": i, "reason": "no_face"} for i in stats.no_face]
                          + [{"frame": i, "reason": "read_error"} for i in stats.read_error],
                          key=lambda d: d["frame"]),
    }
    if rec.aligned:  # an image taken as an aligned crop: no detection, no landmarks ([]),
        meta["aligned"] = True  # its one frame has n_faces 1 and the whole image as box
    if rec.source is not None:  # a fake's pristine video (derived masks, masks.derived_vs_true)
        meta["pristine"] = str(rec.source)
    if masks is not None:  # the mask sources in play, and the dataset's mask video
        meta["mask_providers"] = masks.providers()
        meta["mask_video"] = str(rec.mask) if masks.official else None
    return meta


def _extract_one(rec: VideoRecord, out: Path, cfg: ExtractConfig) -> dict:
    """Extract one video into a temp folder, move it into place, then write the marker."""
    _meta_path(out, rec.method, rec.video).unlink(missing_ok=True)  # not done until rewritten
    final = inside(out / "crops", rec.method, rec.video)  # never above OUT, whatever the id
    tmp = final.with_name(f".{rec.video}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    stats, frames = VideoStats(), []
    source = file_identity(rec.path)  # before reading: a later change redoes the video
    masks = None if rec.aligned else M.mask_maker(rec, cfg.masks, cfg.mask_threshold)
    try:
        with masks or nullcontext():
            for face in _faces(rec, cfg, stats, masks):
                name = f"{face.frame:06d}.{cfg.image_format}"
                _write_crop(tmp / name, face.image, cfg)
                frames.append({"frame": face.frame, "file": name, "n_faces": face.n_faces,
                               "box": list(face.box), "fallback": face.fallback,
                               "landmarks": face.landmarks.round(2).tolist()})
                if face.mask is not None:
                    frames[-1].update(M.write_mask_crop(tmp, face.frame, face.mask,
                                                        face.mask_source, face.matrix))
    except (VideoReadError, cv2.error) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        return {"status": "failed", "path": str(rec.path), "reason": str(err)}
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    meta = _video_meta(rec, cfg, stats, frames, masks, source)
    write_text(_meta_path(out, rec.method, rec.video), json.dumps(meta))
    return {"status": "done", "meta": meta}


def _faces(rec: VideoRecord, cfg: ExtractConfig, stats: VideoStats,
           masks: M.MaskMaker | None) -> Iterator[FaceCrop]:
    """The crops of one record: an already aligned image resized (no dlib models loaded),
    anything else (a video, an image to align) detected and aligned, with its masks."""
    if rec.aligned:
        return iter_aligned_image(rec.path, cfg, stats)
    return iter_video_faces(rec.path, cfg, cfg.shared_aligner(), stats, masks)


def _run_all(todo: list[VideoRecord], out: Path, cfg: ExtractConfig):
    """Yield each video's result as it finishes (in-process when ``workers == 1``)."""
    if cfg.workers == 1 or len(todo) <= 1:
        for rec in todo:
            yield _extract_one(rec, out, cfg)
        return
    with ProcessPoolExecutor(max_workers=cfg.workers, initializer=ignore_sigint) as pool:
        futures = [pool.submit(_extract_one, rec, out, cfg) for rec in todo]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        except BaseException:  # Ctrl-C or a bug: stop queued videos, keep the finished ones
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _index_rows(meta: dict, out: Path) -> list[dict]:
    base = f"crops/{meta['method']}/{meta['video']}"
    return [{"dataset": meta["dataset"], "method": meta["method"], "video": meta["video"],
             "frame": f["frame"], "label": meta["label"], "split": meta["split"],
             "identity": meta["identity"], "path": f"{base}/{f['file']}",
             "n_faces": f["n_faces"], "fallback": f["fallback"],
             MASK_COLUMN: f"{base}/{f['mask']}" if f.get("mask") else ""}
            for f in meta["frames"]]


def _adapter_options(dataset: str, root: Path, out: Path, options: dict) -> dict:
    """The reader's options, with derived files kept in ``out`` (the dataset's
    ``prepare_options``; e.g. a UADFV split neither given nor shipped with the dataset is
    drawn once into ``out/uadfv_split.json``: the dataset folder may be read-only)."""
    hook = get_dataset(dataset).prepare_options
    return hook(root, out, options) if hook else options


def prepare(dataset: str, root: str | os.PathLike, out: str | os.PathLike,
            cfg: ExtractConfig | None = None, *, verify: bool = False,
            shard: tuple[int, int] | None = None, merge: bool = False,
            **adapter_options) -> dict:
    """Extract aligned face crops of every video of a dataset and write the index.

    Args:
        dataset: a registered dataset key (:func:`jdfd_lib.datasets.registry.list_datasets`).
        root: the dataset's folder (e.g. ``data/demo/UADFV``); never written to.
        out: output root (crops/, meta/, index.csv, extraction.json, prepare_summary.json;
            a split the reader draws, e.g. uadfv_split.json).
        cfg: extraction settings (default: the "paper" profile).
        verify: decode every crop of the finished videos and redo those with a broken one
            (without it, finished videos are only checked for missing crops).
        shard: ``(I, N)``: extract only shard I of N (:mod:`jdfd_lib.faces.shards`) and
            write its summary, not the index; ``merge`` writes the index afterwards.
        merge: extract nothing; write the index of videos that shards prepared.
        **adapter_options: passed to :func:`jdfd_lib.datasets.registry.list_videos` (e.g.
            ``allow_missing=True``: go on when a split file names absent videos).

    Returns:
        Summary (:func:`jdfd_lib.faces.prepare_summary.build_summary`): videos done / skipped /
        repaired / failed, frames requested, faces found, frames dropped (no face, read
        error), fallbacks, seconds; ``failures`` (path, reason), ``no_face_videos``,
        ``lost_frames`` (path, lost, requested), ``repaired_videos``, ``absent_from_split``;
        ``config`` and ``command``. Frame counts cover every finished video, skipped ones
        included. Unreadable videos do not raise: they are listed in ``failures``. A shard's
        covers its own videos.

    Raises:
        UserError: a split file names absent videos (unless ``allow_missing``), ``merge``
            finds videos no shard finished, or not one face was found in the whole dataset
            (:class:`NoFaceError`, raised after the summary and the empty index are written).
    """
    if shard is not None and merge:
        raise UserError("--shard and --merge exclude each other: run the shards, then merge")
    cfg = cfg or EXTRACT_PROFILES["paper"]
    root, out, start = Path(root), Path(out), time.perf_counter()
    # first the listing: a bad split file is refused before anything is written
    records = list_videos(dataset, root, **_adapter_options(dataset, root, out, adapter_options))
    with shards.writer_lock(out, shard):  # one writer, or shards side by side
        return _prepare(dataset, root, out, cfg, verify, shard, merge, adapter_options,
                        records, start)


def _prepare(dataset: str, root: Path, out: Path, cfg: ExtractConfig, verify: bool,
             shard: tuple[int, int] | None, merge: bool, adapter_options: dict,
             records: list[VideoRecord], start: float) -> dict:
    """:func:`prepare` once it holds the output folder."""
    record = call_record(dataset, root, cfg, adapter_options)
    mine = shards.select(records, shard)
    if not merge:  # another shard's temporary folders are its own business
        _remove_stale_temporaries(out, mine)
    metas, repaired = _finished_videos(mine, out, cfg, verify)
    todo = [r for r in mine if metas[(r.method, r.video)] is None]
    failures = _merge_failures(out, todo, record) if merge else _extract(todo, out, cfg,
                                                                         record, dataset, metas)
    finished = [m for m in metas.values() if m is not None]
    if shard is None:
        rows = [row for m in finished for row in _index_rows(m, out)]
        columns = [*INDEX_COLUMNS, "n_faces", "fallback", MASK_COLUMN]
        write_prepared_index(pd.DataFrame(rows, columns=columns), out,
                             {**record, "sources_sha256": sources_digest(finished)})
    counts = {"done": 0 if merge else len(todo) - len(failures),
              "skipped": len(mine) - len(todo) if not merge else len(finished)}
    summary = build_summary(dataset, finished, counts, failures, repaired,
                            getattr(records, "absent", []), time.perf_counter() - start,
                            getattr(records, "skipped", []))
    summary["config"] = asdict(cfg)
    summary["command"] = prepare_command(out, verify=False)
    if shard is not None:
        shards.write_shard_summary(out, shard, record["settings_id"], summary)
        return summary
    write_text(out / SUMMARY_FILE, json.dumps(summary))
    if not finished or not any(m["frames"] for m in finished):
        raise NoFaceError(no_face_message(summary, root, out), summary)
    return summary


def _remove_stale_temporaries(out: Path, records: list[VideoRecord]) -> None:
    """Remove the temporary crop folders an interrupted run left for these videos."""
    mine = {(r.method, r.video) for r in records}
    for stale in out.glob("crops/*/.*.tmp-*"):
        if (stale.parent.name, stale.name[1:].rpartition(".tmp-")[0]) in mine:
            shutil.rmtree(stale, ignore_errors=True)


def _extract(todo: list[VideoRecord], out: Path, cfg: ExtractConfig, record: dict,
             dataset: str, metas: dict) -> list[dict]:
    """Extract the videos to do, filling ``metas``; the failed ones (path, reason)."""
    if todo:  # crop folders are about to change: no index may list them meanwhile
        mark_running(out, record)
    failures = []
    for result in progress_bar(_run_all(todo, out, cfg), total=len(todo),
                               desc=f"prepare {dataset}", unit="video"):
        if result["status"] == "failed":
            failures.append({"path": result["path"], "reason": result["reason"]})
        else:
            metas[(result["meta"]["method"], result["meta"]["video"])] = result["meta"]
    return failures


def _merge_failures(out: Path, todo: list[VideoRecord], record: dict) -> list[dict]:
    """The unfinished videos that a shard failed to read (path, reason), as a single run
    lists them; any other unfinished video refuses the merge."""
    summaries = shards.read_shard_summaries(out, record["settings_id"])
    failed = {f["path"]: f for s in summaries for f in s["failures"]}
    missing = [r for r in todo if str(r.path) not in failed]
    if missing:
        command = prepare_command(out, verify=False)
        command = (command.replace("verify=False", "verify=False, merge=True")
                   if command.startswith("python -c") else f"{command} --merge")
        raise shards.unfinished_error(out, missing, summaries, command)
    return [failed[str(r.path)] for r in todo]
