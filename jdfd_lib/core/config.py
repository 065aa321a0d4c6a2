"""The training configuration of JDFD and its profiles (paper Sec. 4.2 and 4.4).

One typed dataclass holds the common recipe of a training run and, in one field, the chosen
detector's own options (declared and checked by the detector: ``Detector.options``). Values the
paper states (Sec. 4.2: beta1 = 0.8, beta2 = 0.2, SGD with lr 0.005 for the autoencoder and
0.0004 for the classifier, StepLR step 5 / factor 0.8, batch 4, 299x299 inputs) live in the
``paper`` profile; everything the paper leaves open (epochs, momentum, weight decay, latent
size, decoder widths, ImageNet initialisation, ...) is a named field with a documented default.
The ``demo`` profile keeps the paper's learning rates, betas and scheduler; it scales data,
epochs and image size down, and replaces the encoder and batch size where measurements on a
2-core CPU showed the paper's values cannot learn in the demo's budget (docs: Profiles).
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jdfd_lib.core.typed_values import as_tuple, parse_value, type_problems

PROFILES = ("paper", "demo", "faces", "faces_paper")
# profiles that follow the paper's protocol (its datasets, Tables 2-3, Fig. 4, its figures
# beside ours); the others (faces: real DFDC crops) report their own study only
PAPER_PROTOCOL_PROFILES = ("paper", "demo")
OPTIMIZERS = ("sgd", "adam")
# Fields that change where a run reads or writes, or how fast it runs, but not what it learns
# (the CPU thread count, compiled kernels and the memory layout change float rounding only);
# they are ignored when a saved run's config is compared with a requested one, so a grid run
# with other parallelism reuses it, and a run may be resumed compiled or in another layout.
# Dataset and detector keys are parts of run and result file names: whatever a checkpoint
# or config.json says, never a path
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
NAME_RULE = "letters, digits and _"
RUNTIME_FIELDS = ("faces_root", "runs_dir", "num_workers", "device", "num_threads",
                  "compile_mode", "channels_last")
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")  # torch.compile's


@dataclass
class TrainConfig:
    """Every setting of one training run (defaults = the ``paper`` profile)."""

    # --- identity of the run (what distinguishes runs; see run_name) ---
    profile: str = "paper"  # "paper" | "demo": which preset the other values came from
    train_dataset: str = "ffpp"  # a registered dataset (jdfd_lib.datasets.registry): the
    #   training set; the paper's are "ffpp" | "celebdf" | "uadfv" (Table 2 rows)
    detector: str = "jdfd"  # a registered detector (jdfd_lib.detectors.registry): "jdfd"
    #   (decoder + classifier) | "baseline" (no decoder, Table 3) | "lae" | "exposing" | ...
    unlabeled_ratio: float = 0.0  # Sec. 4.4 / Fig. 4: images drawn from EACH other dataset's
    #   train split, as a fraction of the training-set size (0.05, 0.10, 0.15), labels hidden
    unlabeled_datasets: tuple[str, ...] = ("ffpp", "celebdf", "uadfv")  # Sec. 4.4 / Fig. 4:
    #   the datasets whose train splits give the unlabeled images (the training set itself
    #   is skipped): the paper's three, named so that registering a dataset never changes Fig. 4
    seed: int = 0  # seeds python, numpy, torch, the samplers and the foreign-data draw

    # --- paths ---
    faces_root: str = "data/paper_faces"  # holds faces_root/<dataset key>/index.csv; a
    #   profile's default is data/<profile>_faces (default_faces_root), as in core.settings
    runs_dir: str = "runs"  # runs root; a run writes runs_dir/run_name/

    # --- optimisation (Sec. 4.2) ---
    epochs: int = 20  # passes over the training set; not stated in the paper
    batch_size: int = 4  # images per step (Sec. 4.2: 4)
    lr_autoencoder: float = 0.005  # SGD lr of encoder (+ projection) and decoder (Sec. 4.2)
    lr_classifier: float = 0.0004  # SGD lr of the classifier (Sec. 4.2)
    optimizer: str = "sgd"  # "sgd" (Sec. 4.2: SGD) | "adam" (another detector's own recipe)
    momentum: float = 0.9  # SGD momentum; not stated in the paper
    adam_betas: tuple[float, ...] = (0.9, 0.999)  # Adam's (beta1, beta2); only with "adam"
    weight_decay: float = 0.0  # SGD L2 penalty; not stated in the paper
    lr_step_size: int = 5  # StepLR step, in epochs (Sec. 4.2: 5)
    lr_gamma: float = 0.8  # StepLR factor (Sec. 4.2: "80% descending rate")
    beta1: float = 0.8  # weight of the cross-entropy term, Eq. (3) (Sec. 4.2: 0.8)
    beta2: float = 0.2  # weight of the reconstruction MSE term, Eq. (3) (Sec. 4.2: 0.2)

    # --- model (Sec. 3.2) ---
    image_size: int = 299  # network input side in pixels (Sec. 3.1/4.2: 299)
    encoder: str = "legacy_xception"  # timm name of the shared encoder (Sec. 4.2: Xception)
    pretrained: bool = True  # start from ImageNet weights (timm download, then cached). Not
    #   stated in the paper; FF++'s Xception, whose rows Table 2 copies, and DeepfakeBench's
    #   start from ImageNet (docs/assumptions.md). Offline: a one-line error, never random
    pretrained_file: str | None = None  # local ImageNet weights file for the encoder (offline)
    latent_dim: int | None = None  # z of Eq. (1); None = encoder width (2048 for Xception)
    # decoder transposed-conv widths: a 4x4 map from v, doubled per later layer, then a last
    # layer to 3 channels (another doubling); 6 widths -> 256 px, resized to image_size
    decoder_channels: tuple[int, ...] = (512, 256, 128, 64, 32, 16)
    classifier_hidden: tuple[int, ...] = (512,)  # hidden fc widths before the 2 logits

    # --- the detector's own options (Detector.options: a dataclass in the detector's module) ---
    detector_options: dict[str, Any] = field(default_factory=dict)  # option name -> value
    #   for ``detector``, plain JSON; jdfd_lib.detectors.registry validates them and fills in
    #   every default. Set one by its prefixed name, e.g. ``--set lae_depth=3``.

    # --- data ---
    hflip: bool = True  # random horizontal flip of training crops (p = 0.5); not stated
    balance_classes: bool = True  # class-balanced sampling of labelled training images
    max_frames_per_video: int | None = None  # cap crops per video (evenly spaced); None = all
    train_images: int | None = None  # labelled training images used: a seeded subset of the
    #   train split (nested over sizes for one seed) for a learning curve; None = all
    samples_per_epoch: int | None = None  # images drawn per epoch (class-balanced, cycling
    #   through the set); None = one balanced pass. Gives every training set the same budget.

    # --- execution ---
    num_workers: int = 4  # DataLoader worker processes (0 = load in the main process)
    device: str = "auto"  # "auto" (CUDA if available) | "cpu" | "cuda" | "cuda:N"
    amp: bool = True  # bf16 autocast (CUDA only; ignored on CPU)
    channels_last: bool = True  # NHWC memory layout (CUDA only; ignored on CPU)
    compile_mode: str = "none"  # torch.compile mode of the training step: "none" (eager) |
    #   "default" | "reduce-overhead" (CUDA graphs) | "max-autotune"; falls back to eager
    #   with one line if compilation fails (jdfd_lib/training/compiled.py)
    val_every: int = 1  # validate (and select the best model) every N epochs
    stop_at_val_auc: float | None = None  # end the run once the val AUC reaches this (1.0:
    #   no later epoch can be selected, best.pt is final); None = always run every epoch
    num_threads: int = 2  # torch CPU threads (fixed for deterministic CPU runs)

    def __post_init__(self) -> None:
        for name in ("decoder_channels", "classifier_hidden", "unlabeled_datasets", "adam_betas"):
            setattr(self, name, as_tuple(getattr(self, name)))  # JSON lists; items checked
        if not isinstance(self.detector_options, dict):
            raise ValueError(f"detector_options must be a dict (option name -> value), got "
                             f"{self.detector_options!r}")
        self.detector_options = {str(k): plain(v) for k, v in self.detector_options.items()}
        self.validate()

    def validate(self) -> None:
        """Check choices and ranges.

        Raises:
            ValueError: a field has a value of another type (a config file's data:
                :func:`~jdfd_lib.core.typed_values.type_problems`) or outside its range.
        """
        wrong = type_problems(self)
        if wrong:  # before any comparison or use in a name
            raise ValueError(f"invalid TrainConfig: {'; '.join(wrong)}")
        checks = [
            (self.profile in PROFILES, f"profile must be one of {PROFILES}"),
            (bool(NAME_PATTERN.fullmatch(str(self.train_dataset))),
             f"train_dataset must be a dataset key ({NAME_RULE}), got {self.train_dataset!r}"),
            (all(NAME_PATTERN.fullmatch(str(d)) for d in self.unlabeled_datasets),
             f"unlabeled_datasets must be dataset keys ({NAME_RULE})"),
            (len(set(self.unlabeled_datasets)) == len(self.unlabeled_datasets),
             "unlabeled_datasets must not repeat a dataset"),
            (0.0 <= self.unlabeled_ratio <= 1.0, "unlabeled_ratio must be in [0, 1]"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}"),
            (self.compile_mode in COMPILE_MODES, f"compile_mode must be one of {COMPILE_MODES}"),
            (bool(NAME_PATTERN.fullmatch(str(self.detector))),
             f"detector must be a registered detector's name ({NAME_RULE}), got "
             f"{self.detector!r}"),
            (len(self.adam_betas) == 2 and all(0 <= b < 1 for b in self.adam_betas),
             "adam_betas must be two numbers in [0, 1)"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1"),
            (self.image_size >= 32, "image_size must be >= 32 (Xception reduces by 32)"),
            (len(self.decoder_channels) >= 1, "decoder_channels needs at least one width"),
            (self.val_every >= 1 and self.num_threads >= 1, "val_every, num_threads >= 1"),
            (self.samples_per_epoch is None or self.samples_per_epoch >= self.batch_size,
             "samples_per_epoch must be None or >= batch_size"),
            (self.train_images is None or self.train_images >= 2,
             "train_images must be None or >= 2"),
        ]
        bad = [msg for ok, msg in checks if not ok]
        if bad:
            raise ValueError(f"invalid TrainConfig: {'; '.join(bad)} (got {self.to_dict()})")

    @property
    def run_name(self) -> str:
        """Deterministic run name, e.g. ``demo-jdfd-ffpp-u00-s0`` (u = ratio in %), with
        ``-n<train_images>`` when a run uses a subset of its training images."""
        ratio = round(100 * self.unlabeled_ratio)
        subset = "" if self.train_images is None else f"-n{self.train_images}"
        return (f"{self.profile}-{self.detector}-{self.train_dataset}-u{ratio:02d}"
                f"-s{self.seed}{subset}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (tuples become lists)."""
        return {k: plain(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output, or from a config saved before the detector
        held its own options (:func:`upgrade_legacy`: ``variant``, ``out_dir``, flat ``lae_*`` /
        ``exposing_*`` fields).

        Raises:
            ValueError: unknown field names.
        """
        fields, options = split_options(upgrade_legacy(data))
        _check_names(fields)
        return cls(**fields, detector_options=options)

    def to_json(self) -> str:
        """The config as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


# Paper Sec. 4.2 values are the dataclass defaults; the demo profile changes scale only.
_PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "demo": dict(
        # Deviations from the paper's recipe, each forced by a measurement on 2 CPU cores
        # (BENCHMARKS.md, "The demo profiles' recipes"):
        encoder="resnet10t",  # learns the demo task from random weights; Xception does not
        pretrained=False,  # the demo runs offline (CI, HF_HUB_OFFLINE=1): random weights
        batch_size=16,  # 1.9x the img/s of batch 4 on 2 cores, and no slower to learn per image
        # lr: batch 16 is 4x the paper's (linear scaling); halved every 2 epochs, as the
        # paper's StepLR(5, 0.8) never decays within 6 short epochs; chosen on validation
        lr_autoencoder=0.01,
        lr_classifier=0.01,
        lr_step_size=2,
        lr_gamma=0.5,
        epochs=6,  # best epoch chosen on validation (val_every=1)
        samples_per_epoch=384,  # the same budget for every training set (2304 images a run);
        #   keeps ./run_all.sh within 15 minutes on 2 cores (BENCHMARKS.md)
        stop_at_val_auc=1.0,  # a perfect val AUC cannot be beaten: the rest would be wasted
        image_size=64,  # 64 px crops of the demo extraction
        decoder_channels=(64, 32, 16, 8),  # 4 -> 32 px, last layer -> 64 px = image_size;
        #   (256, 128, 64, 32) cost as much as the encoder; this one ~5% of a step
        max_frames_per_video=4,  # crops per video (evenly spaced) in train and val
        num_workers=0,  # 2-core CPU: loading in the main process is cheapest
        amp=False,
        channels_last=False,
    ),
    # Real faces (DFDC face crops, one per video; docs/results.md, "On real faces"): the study of
    # issue 17, 4 detectors x 3 seeds within 90 minutes on 2 CPU cores. Chosen on the DFDC
    # faces' validation split only (JDFD seed 0; BENCHMARKS.md, "Real faces: the recipe"):
    "faces": dict(
        train_dataset="dfdc_faces",
        encoder="resnet10t",  # the demo's encoder: learns from random weights on 2 cores
        pretrained=False,  # offline, as the demo
        batch_size=16,
        lr_autoencoder=0.01,  # the demo's lr and StepLR(2, 0.5): the val AUC rose every epoch
        lr_classifier=0.01,
        lr_step_size=2,
        lr_gamma=0.5,
        epochs=4,  # keeps the study well inside its 90 minutes; 8 gained little for 2x the time
        samples_per_epoch=6000,  # images drawn per epoch (class-balanced), half the train split
        image_size=64,  # 96 px was no better at 2x the time
        decoder_channels=(64, 32, 16, 8),
        num_workers=0,
        amp=False,
        channels_last=False,
    ),
    # The same study with the paper's recipe (Sec. 4.2: Xception at 299 px, batch 4, SGD
    # 0.005 / 0.0004, StepLR(5, 0.8)), for a GPU: benchmarks/faces_gpu.py runs JDFD and its
    # baseline within 8 minutes of device time (docs/results.md, "On real faces").
    "faces_paper": dict(train_dataset="dfdc_faces"),
}


def get_profile(name: str) -> TrainConfig:
    """The preset config of a profile (``paper`` or ``demo``).

    Raises:
        ValueError: unknown profile name.
    """
    if name not in _PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {PROFILES}")
    return TrainConfig(profile=name, faces_root=default_faces_root(name), **_PROFILES[name])


def default_faces_root(profile: str) -> str:
    """Where a profile's crops are unless set otherwise: ``data/<profile>_faces``."""
    return f"data/{profile}_faces"


def config_from_overrides(profile: str, **overrides: Any) -> TrainConfig:
    """A profile's config with some fields replaced.

    Args:
        profile: ``paper``, ``demo``, ...
        **overrides: field name -> value; the detector's options as ``<detector>_<option>``
            or in a ``detector_options`` dict (:func:`split_options`). Neither fills in nor
            checks the options: :func:`jdfd_lib.detectors.registry.detector_config` does.

    Raises:
        ValueError: an override names no field of :class:`TrainConfig`, or a bad value.
    """
    fields, options = split_options(overrides)
    _check_names(fields)
    if "profile" in fields and fields["profile"] != profile:
        raise ValueError(f"profile given twice: {profile!r} and {fields['profile']!r}")
    base = get_profile(profile).to_dict()
    return TrainConfig(**{**base, **fields, "detector_options": options})


FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
LEGACY_DETECTOR_FIELD = "variant"  # the name of ``detector`` before issue 20
LEGACY_FIELDS = {LEGACY_DETECTOR_FIELD: "detector", "out_dir": "runs_dir"}  # old -> today's
# the prefixes of the detectors' option fields that TrainConfig held (flat) before issue 20
LEGACY_OPTION_PREFIXES = ("lae_", "exposing_")


def upgrade_legacy(data: Mapping[str, Any]) -> dict[str, Any]:
    """A saved config of an older layout in today's names: ``variant`` becomes ``detector``;
    of the flat ``lae_*`` / ``exposing_*`` fields, the chosen detector's stay (as its
    prefixed options, :func:`split_options`) and the other detector's go (they were ignored).

    Raises:
        ValueError: ``variant`` and ``detector`` both given, and different.
    """
    data = _renamed(data)
    own = f"{data.get('detector', TrainConfig.detector)}_"
    return {k: v for k, v in data.items() if k in FIELDS or k.startswith(own)
            or not k.startswith(LEGACY_OPTION_PREFIXES)}


def _renamed(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the old names of fields (:data:`LEGACY_FIELDS`: ``variant``, ``out_dir``)
    given as today's (``detector``, ``runs_dir``)."""
    data = dict(data)
    for old_name, name in LEGACY_FIELDS.items():
        if old_name in data:
            old = data.pop(old_name)
            if data.setdefault(name, old) != old:
                raise ValueError(f"{name} given twice: {data[name]!r} and {old_name}={old!r}")
    return data


def split_options(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Settings given by name -> (TrainConfig fields, the detector's options).

    A detector's option is named ``<detector>_<option>`` wherever settings are given by name
    (``--set lae_depth=3``, overrides, :attr:`Detector.profiles`), where ``detector`` is the
    one the settings choose (``detector``, or its old name ``variant``; default ``jdfd``); a
    ``detector_options`` dict may give them unprefixed (the prefixed names win). Names that
    are neither stay with the fields, for :class:`TrainConfig` to refuse.
    """
    data = _renamed(data)
    own = f"{data.get('detector', TrainConfig.detector)}_"
    options = dict(data.pop("detector_options", None) or {})
    for key in [k for k in data if k not in FIELDS and k.startswith(own)]:
        options[key.removeprefix(own)] = data.pop(key)
    return data, options


def plain(value: Any) -> Any:
    """A value as plain JSON holds it: tuples (nested too) become lists, dicts are copied."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _check_names(data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        detector = data.get("detector", TrainConfig.detector)
        raise ValueError(f"unknown TrainConfig field(s) {unknown} (an option of detector "
                         f"{detector!r} is named {detector}_<option>); known fields: "
                         f"{sorted(FIELDS)}")


def parse_assignment(text: str, options: Mapping[str, Any] | None = None) -> tuple[str, Any]:
    """Parse a command-line ``FIELD=VALUE`` into a typed (name, value).

    Values follow the field's type: ``true``/``false`` for bools, ``none`` for optional
    fields, comma-separated values for tuples (``512,256``).

    Args:
        text: ``NAME=VALUE``.
        options: more names a value may be given for, with their types (a detector's
            prefixed options, :func:`jdfd_lib.detectors.registry.parse_setting`).

    Raises:
        ValueError: no ``=``, an unknown name, or a value of the wrong type.
    """
    name, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"--set expects FIELD=VALUE, got {text!r}")
    name = name.strip()
    options = dict(options or {})
    if name not in options:
        _check_names({name: None})
    hint = options.get(name) or typing.get_type_hints(TrainConfig)[name]
    try:
        return name, parse_value(hint, raw.strip())
    except ValueError as err:
        raise ValueError(f"--set {text!r}: expected a value of type {hint}: {err}") from err


__all__ = ["TrainConfig", "get_profile", "config_from_overrides", "parse_assignment",
           "split_options", "upgrade_legacy", "plain", "FIELDS", "PROFILES",
           "PAPER_PROTOCOL_PROFILES", "RUNTIME_FIELDS"]
