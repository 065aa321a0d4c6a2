"""The detector contract: what the trainer, the evaluator, ``detect`` and the reports rely on.

JDFD (paper Sec. 3.2-3.3) is one detector; the no-decoder baseline of Table 3 another; related
detectors enter through the same door (:mod:`jdfd_lib.detectors.registry`). A detector is a
``torch.nn.Module`` subclass of :class:`Detector`, registered by name, built from a
``TrainConfig`` (its name is the config's ``detector``), and honours this contract:

- **Input**: a batch of face crops ``x`` (B, 3, H, W), normalised with ``pretrained_cfg``'s
  ``mean`` and ``std`` at ``pretrained_cfg["input_size"]`` (3, S, S); any extra per-image
  input it needs (e.g. a manipulation mask) is named in :attr:`Detector.extra_inputs` and
  passed as keyword arguments of the same batch size.
- **Targets**: per-image training targets the loss needs besides the label (e.g. a forgery
  mask) are named in :attr:`Detector.targets`; the trainer delivers them in
  ``Batch.extras`` (``mask``: (B, 1, H, W) float in [0, 1], ``has_mask``: (B,) bool, False
  where an image has no mask or may not use it) and refuses training data that lacks them.
- **Output** of ``forward``: a dict holding at least ``logits`` (B, 2), ordered (real, fake);
  a detector with :attr:`Detector.reconstructs` also returns ``recon`` (B, 3, H, W) in the
  normalised input space. Other entries (latent codes, masks, ...) are free.
- **Score**: :meth:`Detector.fake_score` turns the output into one fake probability per image
  (B,); the default is ``softmax(logits)[:, 1]``.
- **Loss**: :meth:`Detector.loss` gives a dict of scalars: ``total`` is what is minimised,
  every other entry is logged (as ``train_<name>``). It receives a :class:`Batch`: images,
  labels, and the mask of images whose label may be used (foreign images of Fig. 4 are
  unlabeled: their label must not enter a supervised term).
- **Parameters**: :meth:`Detector.param_groups` lists the optimiser's groups, each
  ``{"name", "params", "lr"}``, every trainable parameter in exactly one group.
- **Options**: :attr:`Detector.options` is a frozen dataclass of the detector's own settings
  (sizes, loss weights, ...), its defaults documented and its ranges checked in
  ``__post_init__`` (``ValueError``); a config holds them in ``detector_options`` and
  :meth:`Detector.options_of` gives them typed. By name they are ``<detector>_<option>``
  (``--set lae_depth=3``).
- **Profiles**: :attr:`Detector.profiles` holds the detector's own recipe per profile (its
  paper's backbone, optimiser, input size, its options, ...): ``TrainConfig`` values and
  prefixed options laid over the profile's and under the user's overrides by
  :func:`jdfd_lib.detectors.registry.detector_config`.
- **Reports**: :attr:`Detector.label` names it in tables and figures; :attr:`Detector.compared`
  says whether it joins the detector comparison (notebook 06), at row :attr:`Detector.order`.
- **Provenance**: the registry sets :attr:`Detector.name`; checkpoints save the config, so a
  detector is rebuilt from a checkpoint alone.
"""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.core.typed_values import matches

NUM_CLASSES = 2  # logits order: (real, fake); label 0 = real, 1 = fake


@dataclass(frozen=True)
class NoOptions:
    """The options of a detector that has none of its own."""


def build_options(options: type, given: Mapping[str, Any], detector: str = "") -> Any:
    """An options dataclass from plain values (a config's ``detector_options``).

    Lists become tuples where the field is a tuple; omitted options take their defaults.

    Raises:
        ValueError: a name the dataclass does not declare (one line naming the declared
            ones), or a value its ``__post_init__`` refuses.
    """
    names = [f.name for f in dataclasses.fields(options)]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"detector {detector!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {', '.join(names) or 'none'}")
    hints = typing.get_type_hints(options)
    values = {k: tuple(v) if isinstance(v, list) and _is_tuple(hints[k]) else v
              for k, v in given.items()}
    wrong = [f"{detector}_{k} must be {hints[k]}, got {v!r}" for k, v in values.items()
             if not matches(hints[k], v)]  # a checkpoint's data, before __post_init__ uses it
    if wrong:
        raise ValueError(f"detector {detector!r}: {'; '.join(wrong)}")
    return options(**values)


def _is_tuple(hint: Any) -> bool:
    return typing.get_origin(hint) is tuple or any(
        typing.get_origin(a) is tuple for a in typing.get_args(hint))


@dataclass(frozen=True)
class ActiveLearning:
    """A target budget: ``share`` of the training images may use their targets, chosen in
    rounds every ``every`` epochs (the budget spread evenly over the rounds)."""

    share: float
    every: int = 1


@dataclass
class Batch:
    """One training or validation batch as the loss sees it.

    Attributes:
        x: (B, 3, H, W) normalised images.
        labels: (B,) int64, 0 real / 1 fake; any value where ``labelled`` is False.
        labelled: (B,) bool, True where the label may be used.
        extras: the detector's :attr:`Detector.extra_inputs`, each with batch size B.
    """

    x: torch.Tensor
    labels: torch.Tensor
    labelled: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


class Detector(nn.Module, ABC):
    """Base class of every registered detector (see the module docstring for the contract).

    Attributes:
        name: the registry key (set by :func:`jdfd_lib.detectors.registry.register_detector`).
        reconstructs: ``forward`` returns ``recon``, the rebuilt input.
        extra_inputs: names of the extra per-image inputs ``forward`` needs (none for JDFD).
        targets: names of the per-image training targets ``loss`` reads from
            ``Batch.extras`` besides the label (none for JDFD; ``("mask",)`` for LAE).
        label: its name in tables and figures ("" -> :attr:`name`).
        compared: it joins the detector comparison (notebook 06, ``detectors.md``).
        order: its row in the comparison (lower first; ties by name).
        options: the dataclass of its own options (:class:`NoOptions` when it has none).
        profiles: profile name -> ``TrainConfig`` values (and ``<name>_<option>`` options)
            of this detector's own recipe.
        pretrained_cfg: ``mean``, ``std`` (per channel) and ``input_size`` (3, S, S) of the
            inputs, as timm's models carry them.
    """

    name: ClassVar[str] = ""
    reconstructs: ClassVar[bool] = False
    extra_inputs: ClassVar[tuple[str, ...]] = ()
    targets: ClassVar[tuple[str, ...]] = ()
    label: ClassVar[str] = ""
    compared: ClassVar[bool] = True
    order: ClassVar[int] = 100
    options: ClassVar[type] = NoOptions
    profiles: ClassVar[dict[str, dict[str, Any]]] = {}
    pretrained_cfg: dict[str, Any]

    @classmethod
    def options_of(cls, cfg: TrainConfig) -> Any:
        """The config's ``detector_options`` as this detector's :attr:`options` dataclass.

        Raises:
            ValueError: an unknown option or a bad value (:func:`build_options`).
        """
        return build_options(cls.options, cfg.detector_options, cls.name)

    @classmethod
    def display_label(cls) -> str:
        """:attr:`label`, else the registered name."""
        return cls.label or cls.name

    @classmethod
    def comparison_note(cls, cfg: TrainConfig) -> str:
        """A sentence for the comparison's note on how the profile's ``cfg`` runs this
        detector, when a reader needs it (default: none)."""
        return ""

    @classmethod
    @abstractmethod
    def from_config(cls, cfg: TrainConfig) -> Detector:
        """Build the detector a config describes (weights initialised, not loaded)."""

    @abstractmethod
    def forward(self, x: torch.Tensor, **extras: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, 3, H, W) -> at least ``logits`` (B, 2); ``recon`` if it reconstructs."""

    @abstractmethod
    def loss(self, out: dict[str, torch.Tensor], batch: Batch, cfg: TrainConfig
             ) -> dict[str, torch.Tensor]:
        """Scalars: ``total`` (minimised) and the logged terms."""

    @abstractmethod
    def param_groups(self, cfg: TrainConfig) -> list[dict[str, Any]]:
        """Optimiser groups ``{"name", "params", "lr"}``; every trainable parameter once."""

    def training_targets(self, cfg: TrainConfig) -> tuple[str, ...]:
        """The :attr:`targets` a run of ``cfg`` trains with (default: all of them); a
        detector whose target term is weighted 0 in ``cfg`` needs none, and trains on data
        without them."""
        return self.targets

    def active_learning(self, cfg: TrainConfig) -> ActiveLearning | None:
        """How many training images may use their :attr:`targets`, chosen by active learning
        with :meth:`hardness` (:mod:`jdfd_lib.training.targets`); None (default): every
        image that has them."""
        return None

    def hardness(self, out: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """(B,) how hard each training image is; with :meth:`active_learning` the hardest get
        their targets first. Must not read the targets (they are what is being requested)."""
        raise NotImplementedError(f"detector {self.name!r} uses active learning but has no "
                                  f"hardness rule")

    def fake_score(self, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """Fake probability (B,) of each image: ``softmax(logits)[:, 1]``."""
        return out["logits"].float().softmax(dim=1)[:, 1]
