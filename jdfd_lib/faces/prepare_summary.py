"""What ``prepare`` reports and records (paper Sec. 3.1 extraction, Sec. 4.1 datasets).

- :func:`call_record`: how prepare was called (dataset, folders, adapter options, the
  extraction settings and their command-line spelling), kept beside the index
  (:mod:`jdfd_lib.faces.index`) so that any later message can name the exact command to re-run.
- :func:`build_summary`: the closing summary (``prepare_summary.json``): counts (mask crops
  by source among them), and every video that failed, had no face at all, lost frames to read
  errors, was repaired, or was named by a split file but absent.
- :func:`report_lines`: those lists as the command line prints them, one line each.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

from jdfd_lib.core.errors import UserError, option
from jdfd_lib.core.walk import skipped_lines
from jdfd_lib.datasets.registry import DatasetOption, get_dataset, list_datasets
from jdfd_lib.faces.crops import EXTRACT_PROFILES, ExtractConfig
from jdfd_lib.faces.index import settings_id

# ExtractConfig fields that prepare's command line sets (the readers' own: reader_flags)
CLI_SETTINGS = {"frames_per_video": "--frames", "image_size": "--size", "workers": "--workers",
                "predictor_path": "--predictor", "image_format": "--image-format",
                "masks": "--masks", "mask_threshold": "--mask-threshold"}
COUNT_KEYS = ("videos", "done", "skipped", "repaired", "failed", "frames_requested",
              "faces_found", "dropped_no_face", "dropped_read_error", "fallbacks", "seconds")


class NoFaceError(UserError):
    """Not one face was found in a whole dataset; ``summary`` holds what prepare did."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


def _jsonable(value):
    if isinstance(value, os.PathLike):
        return os.path.abspath(value)  # the record is read from other working directories
    return list(value) if isinstance(value, tuple) else value


def _closest_profile(cfg: ExtractConfig) -> str | None:
    """The profile that the command-line flags turn into ``cfg`` with the fewest flags."""
    best, fewest = None, len(CLI_SETTINGS) + 1
    for name, profile in EXTRACT_PROFILES.items():
        differ = [f.name for f in fields(cfg) if getattr(cfg, f.name) != getattr(profile, f.name)]
        if any(f not in CLI_SETTINGS or getattr(cfg, f) is None for f in differ):
            continue  # a setting without a flag, or a value no flag gives back
        if len(differ) < fewest:
            best, fewest = name, len(differ)
    return best


def cli_options(cfg: ExtractConfig, options: dict) -> list[str] | None:
    """prepare's flags after ``--out`` that give ``cfg`` and ``options``; None if none do."""
    name = _closest_profile(cfg)
    if name is None:
        return None
    args = ["--profile", name]
    for field, flag in CLI_SETTINGS.items():
        if getattr(cfg, field) != getattr(EXTRACT_PROFILES[name], field):
            args += [flag, str(getattr(cfg, field))]
    flags = reader_flags()
    for key, value in options.items():
        if key == "allow_missing":
            args += ["--allow-missing"] if value else []
            continue
        if key not in flags:
            return None  # e.g. Celeb-DF's val_fraction: a Python call only
        if value == flags[key].default:
            continue
        many = "nargs" in flags[key].kwargs
        args += [flags[key].flag, *(map(str, value) if many else [str(value)])]
    return args


def reader_flags() -> dict[str, DatasetOption]:
    """The readers' options that prepare exposes, by keyword, over the registered datasets
    (a keyword declared by several datasets is declared alike: the registry checks it)."""
    return {o.name: o for key in list_datasets() for o in get_dataset(key).options}


def call_record(dataset: str, root: str | os.PathLike, cfg: ExtractConfig,
                options: dict) -> dict:
    """How prepare was called: what :func:`jdfd_lib.faces.index.prepare_command` rebuilds."""
    options = {k: _jsonable(v) for k, v in options.items()}
    fingerprint = cfg.fingerprint()
    return {"dataset": dataset, "root": os.path.abspath(root), "options": options,
            "config": asdict(cfg), "settings": fingerprint,
            "settings_id": settings_id(fingerprint), "cli_options": cli_options(cfg, options)}


def _problems(metas: list[dict]) -> dict:
    """Finished videos without a face at all, and those that lost frames to read errors."""
    lost = []
    for m in metas:
        n = sum(d["reason"] == "read_error" for d in m["dropped"])
        if n:
            lost.append({"path": m["source"], "lost": n, "requested": len(m["frames_requested"])})
    return {"no_face_videos": [m["source"] for m in metas if not m["frames"]],
            "lost_frames": lost}


def build_summary(dataset: str, metas: list[dict], counts: dict, failures: list[dict],
                  repaired: list[dict], absent: list[str], seconds: float,
                  skipped_files: Sequence[tuple[Path, str]] = ()) -> dict:
    """The closing summary. Frame counts and the lists cover every finished video, skipped
    ones included; ``failures``: videos that could not be read (path, reason);
    ``skipped_files``: files of the dataset folder the reader did not take (path, reason);
    ``decoded_with_pyav``: videos OpenCV could not decode, read with PyAV (path, reason)."""
    drops = [d["reason"] for m in metas for d in m["dropped"]]
    return {
        "dataset": dataset, "videos": len(metas) + len(failures), **counts,
        "failed": len(failures),
        "frames_requested": sum(len(m["frames_requested"]) for m in metas),
        "faces_found": sum(len(m["frames"]) for m in metas),
        "dropped_no_face": drops.count("no_face"),
        "dropped_read_error": drops.count("read_error"),
        "fallbacks": sum(m["fallbacks"] for m in metas),
        "seconds": round(seconds, 2), "failures": failures, **_problems(metas),
        "repaired": len(repaired), "repaired_videos": repaired, "absent_from_split": absent,
        "mask_crops": _mask_counts(metas),
        "skipped_files": [{"path": str(p), "reason": why} for p, why in skipped_files],
        "decoded_with_pyav": [{"path": m["source"], "reason": m["decoder_note"]}
                              for m in metas if m.get("decoder") == "pyav"],
    }


def _mask_counts(metas: list[dict]) -> dict[str, int]:
    """Crops with a manipulation mask, by source ("official", "derived")."""
    sources = [f["mask_source"] for m in metas for f in m["frames"] if f.get("mask")]
    return {s: sources.count(s) for s in sorted(set(sources))}


def no_face_message(summary: dict, root: str | os.PathLike, out: Path) -> str:
    """Why a dataset without a single face is refused, and what to check."""
    failed = f"; {summary['failed']} could not be read" if summary["failed"] else ""
    return (f"{root}: not one face was found in its {summary['videos']} videos{failed} "
            f"({summary['frames_requested']} frames searched; details in "
            f"{out / 'prepare_summary.json'}); {out / 'index.csv'} lists no crop. Expected "
            f"videos showing a frontal face; check the dataset folder and "
            f"{option('dataset', '--dataset')}")


def report_lines(summary: dict) -> list[str]:
    """The counts, then one line per failed, faceless, short, repaired or PyAV-decoded video,
    and the skipped files (the first :data:`jdfd_lib.core.walk.SKIPPED_SHOWN`, then a count;
    all of them in prepare_summary.json)."""
    lines = [f"{key:>20}: {summary[key]}" for key in COUNT_KEYS]
    if summary.get("mask_crops"):
        lines.append(f"{'mask_crops':>20}: " + ", ".join(
            f"{n} {source}" for source, n in summary["mask_crops"].items()))
    lines += [f"FAILED {f['path']}: {f['reason']}" for f in summary["failures"]]
    lines += [f"no face: {path}" for path in summary["no_face_videos"]]
    lines += [f"lost frames: {x['path']}: {x['lost']} of {x['requested']} unreadable"
              for x in summary["lost_frames"]]
    lines += [f"repaired: {x['path']}: {x['reason']}" for x in summary["repaired_videos"]]
    lines += [f"decoded with PyAV: {x['path']}: {x['reason']}"
              for x in summary.get("decoded_with_pyav", [])]
    lines += skipped_lines((x["path"], x["reason"]) for x in summary.get("skipped_files", []))
    if summary["absent_from_split"]:
        lines.append(f"absent: {len(summary['absent_from_split'])} videos named by the split "
                     f"files are not in the dataset folder (left out: --allow-missing)")
    return lines


def closing_line(summary: dict) -> str:
    """The last line of a successful run: finished, with the warnings counted."""
    warns = [f"{len(summary[k])} {what}" for k, what in (
        ("no_face_videos", "without a face"), ("lost_frames", "with unreadable frames"),
        ("absent_from_split", "absent from the split files"),
        ("skipped_files", "files skipped")) if summary.get(k)]
    state = f"with warnings: {', '.join(warns)} (listed above)" if warns else "no warnings"
    return (f"prepare finished: {summary['videos']} videos, {summary['faces_found']} face "
            f"crops; {state}")


def failure_message(summary: dict) -> str:
    """Why a run with unreadable videos exits 1 (the others are finished and kept)."""
    return (f"{summary['failed']} of {summary['videos']} videos could not be read (FAILED "
            f"lines above); the other {summary['videos'] - summary['failed']} are finished and "
            f"kept. Replace or remove those files and run the same command again")
