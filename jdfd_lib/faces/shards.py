"""Deterministic shards of a ``prepare`` run, and the merge that finishes them.

A dataset too large for one machine (DFDC: ~120k videos) is prepared as N shards, each on
any machine that sees the same dataset and output folders: ``prepare --shard I/N`` extracts
only the videos whose stable hash falls in shard I (a Slurm array, a Dask cluster
(:mod:`jdfd_lib.faces.cluster`) or a shell loop may run them, in any order, concurrently), and
``prepare --merge`` then writes the one index, ``extraction.json`` and
``prepare_summary.json``, byte for byte the index and record of a single-machine run of the
same videos with the same settings.

A video's shard is ``sha256("{method}/{video}") mod N``: it depends on nothing but the
video's identity, so it is the same on every machine, Python version and listing order.
A shard writes no index (other shards are still changing the folder); it leaves
``shards/{I}-of-{N}.json``, its own summary (videos done, failed and why, seconds), which
the merge reads to list the failed videos as a single run would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from jdfd_lib.core.atomic import write_text
from jdfd_lib.core.errors import UserError
from jdfd_lib.core.locks import take
from jdfd_lib.datasets.records import VideoRecord

SHARDS_DIR = "shards"


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N) as ``(I, N)``: prepare's ``--shard``.

    Raises:
        UserError: not two integers with 0 <= I < N.
    """
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index, count = -1, 0
    if not 0 <= index < count:
        raise UserError(f"expected I/N with 0 <= I < N, got {text!r} (e.g. 0/8: the first "
                        f"of 8 shards; a Slurm array gives I as $SLURM_ARRAY_TASK_ID)")
    return index, count


def shard_of(method: str, video: str, count: int) -> int:
    """The shard (0..count-1) of a video: a stable hash of its identity."""
    digest = hashlib.sha256(f"{method}/{video}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def select(records: Iterable[VideoRecord], shard: tuple[int, int] | None) -> list[VideoRecord]:
    """The records of one shard (all of them for ``None``), in their listing order."""
    if shard is None:
        return list(records)
    index, count = shard
    return [r for r in records if shard_of(r.method, r.video, count) == index]


def shard_file(out: Path, shard: tuple[int, int]) -> Path:
    """Where shard ``(I, N)`` leaves its summary."""
    return out / SHARDS_DIR / f"{shard[0]}-of-{shard[1]}.json"


def write_shard_summary(out: Path, shard: tuple[int, int], settings: str, summary: dict) -> None:
    """Record what a shard did (atomically): its settings id, counts and failed videos."""
    keep = ("videos", "done", "skipped", "repaired", "failed", "faces_found", "seconds",
            "failures")
    data = {"shard": list(shard), "settings_id": settings, **{k: summary[k] for k in keep}}
    write_text(shard_file(out, shard), json.dumps(data, indent=1))


def read_shard_summaries(out: Path, settings: str) -> list[dict]:
    """The shard summaries in ``out`` written with these settings (others are stale)."""
    found = []
    for path in sorted((out / SHARDS_DIR).glob("*-of-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a summary is written atomically: an unreadable one is not ours
        if isinstance(data, dict) and data.get("settings_id") == settings:
            found.append(data)
    return found


def unfinished_error(out: Path, missing: list[VideoRecord], summaries: list[dict],
                     command: str) -> UserError:
    """Why ``--merge`` refuses: videos no shard finished, with their shards named."""
    counts = {tuple(s["shard"])[1] for s in summaries}
    where = ""
    if len(counts) == 1:  # the shard count in use: name the shards to run again
        (count,) = counts
        shards = sorted({shard_of(r.method, r.video, count) for r in missing})
        listed = ", ".join(f"{i}/{count}" for i in shards[:8]) + (" ..." if len(shards) > 8
                                                                   else "")
        where = f" (shards {listed})"
    example = os.path.join(missing[0].method, missing[0].video)
    return UserError(f"{out}: {len(missing)} videos are not prepared yet{where}, e.g. "
                     f"{example}; run those shards (the same command with --shard I/N) and "
                     f"merge again: {command}")


LOCKS_DIR = ".locks"  # the lock files of prepare runs in an output folder


@contextlib.contextmanager
def writer_lock(out: Path, shard: tuple[int, int] | None) -> Iterator[None]:
    """Hold ``out`` for one ``prepare`` while it writes there (advisory ``flock`` locks, which
    Linux also takes on NFS): a plain run or a merge alone; shards of one split side by side,
    each shard once.

    Raises:
        UserError: another prepare holds what this one needs (one line naming the folder).
    """
    locks, alone = out / LOCKS_DIR, ("(a plain run or a merge needs the folder alone; shards "
                                     "may run side by side)")
    held = []
    try:
        held.append(take(locks / "prepare", out, f"another prepare is writing in it {alone}",
                         shared=shard is not None))
        if shard is not None:
            held.append(take(locks / f"shard-{shard[0]}-of-{shard[1]}", out,
                             f"shard {shard[0]}/{shard[1]} is being prepared already {alone}"))
        yield
    finally:
        for handle in reversed(held):
            handle.close()  # closing the file releases its lock
