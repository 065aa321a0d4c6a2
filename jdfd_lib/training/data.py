"""Training data over the face-crop index (paper Sec. 3.1 output, Sec. 4.1-4.2, Sec. 4.4).

- :class:`CropDataset`: index rows -> (image (3, H, W) float32 normalised with the encoder's
  mean/std, label int64, labelled bool); optional horizontal flip for training.
- :func:`load_split`: one split of a prepared dataset, with train/val/test disjointness
  checked (no video and no identity group may appear in two splits).
- :func:`foreign_unlabeled`: the Fig. 4 augmentation, ``ratio * len(train)`` images drawn
  from each other dataset's train split, about half real and half fake, labels hidden.
- :class:`EpochSampler`: DistributedSampler's contract (``set_epoch``, disjoint equal-size
  rank shards, seeded per epoch) plus optional class balancing of the labelled images.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, Sampler

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.datasets.registry import get_dataset, list_datasets
from jdfd_lib.datasets.splits import SPLITS
from jdfd_lib.faces.images import decode_crop
from jdfd_lib.faces.index import index_path, prepared_fingerprint, read_index, repair_hint
from jdfd_lib.training.crop_cache import ByteCache, PackedStrings, cache_bytes_from_env

UNLABELED = -1  # label value stored for foreign images whose label is hidden


def read_crop(path: str | os.PathLike) -> np.ndarray:
    """A face crop as (H, W, 3) RGB uint8.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be decoded as an image.
        Both messages name the prepare command that extracts the crop's video again.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: face crop listed in the index is missing; "
                                f"{repair_hint(path, verify=False)}")
    image = decode_crop(path)  # a truncated JPEG too, which cv2.imread half decodes
    if image is None:  # --verify: prepare decodes every crop and redoes the broken videos
        raise ValueError(f"{path}: cannot be decoded; expected an RGB face crop (PNG, WebP "
                         f"or JPEG); {repair_hint(path, verify=True)}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resized_crop(path: str | os.PathLike, size: int) -> np.ndarray:
    """:func:`read_crop` at ``size`` x ``size`` (area-reduced), decoded once per process while
    the crop cache has room.

    The demo trains 27 models on the same few thousand crops: decoding each PNG once, keyed
    by path, size, modification time and length (a rewritten file is read again), saved ~6 %
    of a training step. The cache is bounded in bytes (:data:`CROP_CACHE`, ``JDFD_CROP_CACHE_MB``
    per process, :mod:`jdfd_lib.training.crop_cache`): every demo crop fits, and at the
    paper's size (3.5 million 299 px crops) it stays a fixed, small share of memory.
    """
    try:
        st = os.stat(path)  # one call on the hot path; a missing file is read_crop's to name
    except OSError:
        return _decode_resized(os.fspath(path), size)  # raises; errors are not cached
    key = (os.fspath(path), size, st.st_mtime_ns, st.st_size)
    image = CROP_CACHE.get(key)
    if image is None:
        image = _decode_resized(key[0], size)
        CROP_CACHE.put(key, image)
    return image


CROP_CACHE = ByteCache(cache_bytes_from_env())  # per process (each loader worker has its own)


def _decode_resized(path: str, size: int) -> np.ndarray:
    image = read_crop(path)
    if image.shape[:2] != (size, size):
        shrink = image.shape[0] > size
        image = cv2.resize(image, (size, size),
                           interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    image.setflags(write=False)  # shared between calls: never modified in place
    return image


def normalise(image: np.ndarray, size: int, mean: Sequence[float],
              std: Sequence[float]) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, size, size) float32, ``(x / 255 - mean) / std``.

    Downscaling uses area interpolation, upscaling bilinear.
    """
    if image.shape[:2] != (size, size):
        shrink = image.shape[0] > size
        image = cv2.resize(image, (size, size),
                           interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    x = (image.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(
        std, np.float32)  # (size, size, 3)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class CropDataset(Dataset):
    """Face crops of index rows as normalised tensors.

    Args:
        frame: index rows with ``abs_path`` and ``label``; an optional boolean ``labelled``
            column (default all True) marks images whose label may be used.
        image_size: side of the network input in pixels.
        mean: per-channel mean (the encoder's ``pretrained_cfg``).
        std: per-channel std.
        hflip: flip each image horizontally with probability 0.5 (training only). The draw
            uses torch's RNG: seeded per worker by the DataLoader's generator, or the main
            process' seeded RNG when ``num_workers=0``.
        targets: per-row training targets (:class:`jdfd_lib.training.targets.MaskTargets`);
            with them an item gains a 4th element, the dict of targets (flipped alike).
    """

    def __init__(self, frame: pd.DataFrame, image_size: int, mean: Sequence[float],
                 std: Sequence[float], hflip: bool = False, targets=None):
        self.paths = PackedStrings(frame["abs_path"])  # shared by forked workers, no copies
        self.labels = frame["label"].to_numpy(np.int64)
        labelled = frame["labelled"] if "labelled" in frame else np.ones(len(frame), bool)
        self.labelled = np.asarray(labelled, dtype=bool)
        self.image_size, self.mean, self.std, self.hflip = image_size, mean, std, hflip
        self.targets = targets

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple:
        x = normalise(resized_crop(self.paths[i], self.image_size), self.image_size, self.mean,
                      self.std)
        flip = bool(self.hflip and torch.rand(()) < 0.5)
        if flip:
            x = x.flip(-1)  # (3, H, W): mirror the width axis
        if self.targets is None:
            return x, int(self.labels[i]), bool(self.labelled[i])
        return x, int(self.labels[i]), bool(self.labelled[i]), self.targets.item(i, flip)


def _identity_splits(dataset: str) -> tuple[str, ...]:
    return get_dataset(dataset).identity_splits if dataset in list_datasets() else SPLITS


def check_disjoint(df: pd.DataFrame, where: str | os.PathLike) -> None:
    """Refuse an index where a video, or an identity group, is in two splits.

    Identity groups are checked over the splits the dataset's adapter keeps apart
    (its spec's ``identity_splits``: all three, except e.g. Celeb-DF v2 whose official test
    list shares identities with its other videos; all three for an unregistered dataset).

    Raises:
        ValueError: names the index file and a few leaking keys.
    """
    for keys in (["method", "video"], ["identity"]):
        part = df
        if keys == ["identity"]:
            kept = [s for d in df["dataset"].unique() for s in _identity_splits(d)]
            part = df[df["split"].isin(kept)]
        n_splits = part.groupby(keys)["split"].nunique()
        leaks = n_splits[n_splits > 1]
        if len(leaks):
            raise ValueError(f"{where}: {len(leaks)} {'/'.join(keys)} group(s) appear in more "
                             f"than one split (train/val/test must be disjoint), e.g. "
                             f"{list(leaks.index[:3])}")


def cap_frames(df: pd.DataFrame, max_frames: int | None) -> pd.DataFrame:
    """At most ``max_frames`` crops per (method, video), evenly spaced over its frames."""
    if max_frames is None:
        return df.reset_index(drop=True)
    df = df.sort_values(["method", "video", "frame"])
    rank = df.groupby(["method", "video"]).cumcount().to_numpy()
    count = df.groupby(["method", "video"])["frame"].transform("size").to_numpy()
    # keep rank r when it is the nearest rank to one of max_frames evenly spaced positions
    step = np.maximum(count - 1, 1) / max(max_frames - 1, 1)
    slot = np.round(rank / step)
    keep = (np.abs(rank - np.round(slot * step)) < 0.5) & (slot < max_frames)
    keep |= count <= max_frames
    return df[keep].reset_index(drop=True)


def load_split(root: str | os.PathLike, split: str, dataset: str | None = None,
               max_frames_per_video: int | None = None) -> pd.DataFrame:
    """The index rows of one split of a prepared dataset (splits checked disjoint).

    Args:
        root: prepared folder holding ``index.csv``.
        split: "train", "val" or "test".
        dataset: expected dataset key (checked when given).
        max_frames_per_video: cap, see :func:`cap_frames`.

    Raises:
        FileNotFoundError: no index in ``root``.
        ValueError: another dataset in the index, leaking splits, or an empty split.
    """
    df = read_index(root)
    where = index_path(root)
    if dataset is not None and set(df["dataset"]) != {dataset}:
        raise ValueError(f"{where}: expected only dataset {dataset!r}, "
                         f"found {sorted(set(df['dataset']))}")
    check_disjoint(df, where)
    part = cap_frames(df[df["split"] == split], max_frames_per_video)
    if part.empty:
        raise ValueError(f"{where}: no crops in split {split!r}")
    return part.assign(labelled=True)


def foreign_unlabeled(faces_root: str | os.PathLike, train_dataset: str, n_train: int,
                       ratio: float, seed: int, sources: Sequence[str],
                       max_frames_per_video: int | None = None) -> pd.DataFrame:
    """Fig. 4 augmentation: ``round(ratio * n_train)`` train images from each dataset of
    ``sources`` other than ``train_dataset`` (``TrainConfig.unlabeled_datasets``).

    Each draw is about half real, half fake (seeded; a class short of images gives its
    remainder to the other), and every drawn row is marked ``labelled=False`` with its label
    replaced by :data:`UNLABELED` so that it can feed the reconstruction loss only.

    Raises:
        ValueError: a foreign train split has fewer images than requested.
    """
    n = round(ratio * n_train)
    parts = []
    for offset, name in enumerate(d for d in sources if d != train_dataset):
        pool = load_split(Path(faces_root) / name, "train", name, max_frames_per_video)
        if len(pool) < n:
            raise ValueError(f"{index_path(Path(faces_root) / name)}: {len(pool)} train crops, "
                             f"but {n} unlabeled ones requested (ratio {ratio} of {n_train})")
        rng = np.random.default_rng([seed, offset])
        parts.append(_half_and_half(pool, n, rng))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out.assign(label=UNLABELED, labelled=False)


def _half_and_half(pool: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    real = np.flatnonzero(pool["label"].to_numpy() == 0)
    fake = np.flatnonzero(pool["label"].to_numpy() == 1)
    n_real = min(len(real), max(n // 2, n - len(fake)))
    picks = np.concatenate([rng.choice(real, n_real, replace=False),
                            rng.choice(fake, n - n_real, replace=False)])
    return pool.iloc[np.sort(picks)]


class EpochSampler(Sampler[int]):
    """Seeded per-epoch order, sharded over ranks, optionally class-balanced.

    Follows ``DistributedSampler`` (call :meth:`set_epoch` before each epoch; rank shards
    are disjoint and of equal length, padded by wrapping), which cannot weight classes.
    With ``balance``, each epoch draws as many images of every labelled class as the
    largest class has (the smaller class is repeated, each image once before any twice);
    unlabeled images (label -1) are all kept once.

    Args:
        labels: (N,) int labels, -1 for unlabeled images.
        seed: base seed; the epoch's order depends on (seed, epoch) only.
        balance: class-balanced sampling of the labelled images.
        num_replicas: world size.
        rank: this process' rank.
        samples: indices per epoch (whole passes, the last one cut); None = one pass.
    """

    def __init__(self, labels: Sequence[int], seed: int, balance: bool,
                 num_replicas: int = 1, rank: int = 0, samples: int | None = None):
        self.labels = np.asarray(labels)
        self.seed, self.balance, self.samples = seed, balance, samples
        self.num_replicas, self.rank, self.epoch = num_replicas, rank, 0
        self.total = len(self._epoch_indices(np.random.default_rng(0)))
        self.num_samples = math.ceil(self.total / num_replicas)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order :meth:`__iter__` yields."""
        self.epoch = epoch

    def _epoch_indices(self, rng: np.random.Generator) -> np.ndarray:
        if not self.balance:
            return self._resize(rng.permutation(len(self.labels)), rng)
        classes = [np.flatnonzero(self.labels == c) for c in (0, 1)]
        classes = [c for c in classes if len(c)]
        target = max(len(c) for c in classes) if classes else 0
        picks = [np.flatnonzero(self.labels == UNLABELED)]
        for members in classes:
            reps = -(-target // len(members))  # ceil: whole passes before any repeat
            order = np.concatenate([rng.permutation(members) for _ in range(reps)])
            picks.append(order[:target])
        order = rng.permutation(np.concatenate(picks))
        return self._resize(order, rng)

    def _resize(self, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``samples`` indices: whole shuffled passes over ``order``, the last one cut."""
        if self.samples is None or len(order) == 0:
            return order
        passes = -(-self.samples // len(order))
        return np.concatenate([order] + [rng.permutation(order)
                                         for _ in range(passes - 1)])[:self.samples]

    def __iter__(self) -> Iterator[int]:
        order = self._epoch_indices(np.random.default_rng([self.seed, self.epoch]))
        padded = np.resize(order, self.num_samples * self.num_replicas)  # wrap to equal shards
        return iter(padded[self.rank::self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples


def check_files(df: pd.DataFrame, where: str | os.PathLike) -> None:
    """Refuse rows whose crop file is missing (names the index and one missing file).

    Raises:
        FileNotFoundError: at least one listed crop does not exist (names the prepare
            command that extracts their videos again).
    """
    missing = df.loc[~df["abs_path"].map(os.path.isfile), "abs_path"]
    if len(missing):
        raise FileNotFoundError(f"{where}: {len(missing)} of {len(df)} listed crops are missing, "
                                f"e.g. {missing.iloc[0]}; to extract their videos again, "
                                f"{repair_hint(missing.iloc[0], verify=False)}")


def train_subset(rows: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """``n`` of the rows, drawn by a permutation seeded by ``seed`` (so the subsets of one
    seed are nested: the first 1,000 are among the first 3,000), in their original order;
    all rows for None or ``n >= len(rows)``."""
    if n is None or n >= len(rows):
        return rows
    keep = np.sort(np.random.default_rng([seed, 17]).permutation(len(rows))[:n])
    return rows.iloc[keep].reset_index(drop=True)


def training_frames(faces_root: str | os.PathLike, train_dataset: str, unlabeled_ratio: float,
                    seed: int, max_frames_per_video: int | None = None,
                    unlabeled_datasets: Sequence[str] = (), train_images: int | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (train, val) rows of a run: the labelled train split (``train_images`` of it, for
    a learning curve: :func:`train_subset`) plus, for Fig. 4, the hidden-label foreign images
    of ``unlabeled_datasets``; the val split of the training dataset for model selection.

    Raises:
        FileNotFoundError: an index or a listed crop is missing.
        ValueError: leaking splits, an empty split, a val split without both classes, or a
            positive ``unlabeled_ratio`` without a foreign dataset to draw from.
    """
    root = Path(faces_root) / train_dataset
    train = train_subset(load_split(root, "train", train_dataset, max_frames_per_video),
                         train_images, seed)
    val = load_split(root, "val", train_dataset, max_frames_per_video)
    if set(val["label"]) != {0, 1}:
        raise ValueError(f"{index_path(root)}: the val split needs real and fake crops for the "
                         f"validation AUC, found labels {sorted(set(val['label']))}")
    if unlabeled_ratio > 0:
        if not set(unlabeled_datasets) - {train_dataset}:
            raise ValueError(f"unlabeled_ratio {unlabeled_ratio} needs unlabeled_datasets "
                             f"other than {train_dataset!r}, got {list(unlabeled_datasets)}")
        foreign = foreign_unlabeled(faces_root, train_dataset, len(train), unlabeled_ratio,
                                     seed, unlabeled_datasets, max_frames_per_video)
        train = pd.concat([train, foreign], ignore_index=True)
    for part in (train, val):
        check_files(part, index_path(root))
    return train, val


def data_read(cfg: TrainConfig) -> dict[str, dict]:
    """Dataset -> :func:`~jdfd_lib.faces.index.prepared_fingerprint` of each prepared folder
    the run reads (the training set; the foreign unlabeled sets when its ratio is not 0)."""
    names = [cfg.train_dataset] + (list(cfg.unlabeled_datasets) if cfg.unlabeled_ratio else [])
    return {name: prepared_fingerprint(Path(cfg.faces_root) / name)
            for name in dict.fromkeys(names)}


def changed_data(saved: dict, now: dict) -> list[str]:
    """The datasets whose :func:`data_read` entries differ."""
    return [name for name in {**saved, **now} if saved.get(name) != now.get(name)]
