"""The epoch loop of ``train`` (paper Sec. 4.2): optimiser, scheduler, loaders, one training
pass and one validation pass, for any registered detector.

The optimiser is SGD (the paper's: two parameter groups, autoencoder lr 0.005 and classifier lr
0.0004, momentum and weight decay from the config) or Adam (``TrainConfig.optimizer``, for a
detector whose own recipe uses it); every group keeps its own learning rate. StepLR(step 5,
factor 0.8) is stepped once per epoch. A batch reaches the detector's loss as a
:class:`~jdfd_lib.detectors.base.Batch`; the model sees ``x`` and the detector's
``extra_inputs``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.core.errors import UserError
from jdfd_lib.core.progress import progress_bar
from jdfd_lib.detectors.base import Batch, Detector
from jdfd_lib.training.compiled import TrainingForward
from jdfd_lib.training.data import CropDataset, EpochSampler, training_frames
from jdfd_lib.training.runtime import Runtime, seed_worker
from jdfd_lib.training.targets import MaskTargets


def make_optimizer(model: Detector, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD (or Adam, ``cfg.optimizer``) over the detector's parameter groups, each at its own
    learning rate (JDFD, Sec. 4.2: group 0 = autoencoder at ``lr_autoencoder``, group 1 =
    classifier at ``lr_classifier``)."""
    groups = model.param_groups(cfg)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=groups[0]["lr"], betas=tuple(cfg.adam_betas),
                                weight_decay=cfg.weight_decay)
    return torch.optim.SGD(groups, lr=groups[0]["lr"], momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def _detector(model: torch.nn.Module) -> Detector:
    """The detector inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig
                   ) -> torch.optim.lr_scheduler.StepLR:
    """StepLR(step_size, gamma), stepped once per epoch (Sec. 4.2: 5 and 0.8)."""
    return torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_step_size, cfg.lr_gamma)


def make_loaders(cfg: TrainConfig, model: Detector, rt: Runtime
                 ) -> tuple[DataLoader, DataLoader, EpochSampler, torch.Generator]:
    """Train loader (balanced, flipped, sharded) and val loader over the run's crops."""
    train_rows, val_rows = training_frames(cfg.faces_root, cfg.train_dataset,
                                           cfg.unlabeled_ratio, cfg.seed,
                                           cfg.max_frames_per_video, cfg.unlabeled_datasets,
                                           cfg.train_images)
    if len(train_rows) < cfg.batch_size * rt.world_size:
        raise ValueError(f"{cfg.faces_root}/{cfg.train_dataset}: {len(train_rows)} train crops "
                         f"are fewer than one batch ({cfg.batch_size} x {rt.world_size})")
    pc = model.pretrained_cfg
    train_targets, val_targets = _targets(model, cfg, train_rows, val_rows)
    train_set = CropDataset(train_rows, cfg.image_size, pc["mean"], pc["std"], hflip=cfg.hflip,
                            targets=train_targets)
    val_set = CropDataset(val_rows, cfg.image_size, pc["mean"], pc["std"], targets=val_targets)
    sampler = EpochSampler(train_set.labels, cfg.seed, cfg.balance_classes, rt.world_size,
                           rt.rank, cfg.samples_per_epoch)
    generator = torch.Generator()  # reseeded every epoch: worker seeds depend on the epoch only
    common = dict(num_workers=cfg.num_workers, pin_memory=rt.device.type == "cuda",
                  worker_init_fn=seed_worker, persistent_workers=cfg.num_workers > 0)
    # drop_last: a last batch of one image would break BatchNorm in training mode
    train_loader = DataLoader(train_set, cfg.batch_size, sampler=sampler, drop_last=True,
                              generator=generator, **common)
    val_loader = DataLoader(val_set, cfg.batch_size, shuffle=False,
                            generator=torch.Generator().manual_seed(cfg.seed), **common)
    return train_loader, val_loader, sampler, generator


def _targets(model: Detector, cfg: TrainConfig, train_rows, val_rows
             ) -> tuple[MaskTargets | None, MaskTargets | None]:
    """The detector's training targets for the train and val rows (None without targets).
    With active learning no training mask may be used until a round chooses it."""
    wanted = model.training_targets(cfg)
    unknown = set(wanted) - {"mask"}
    if unknown:
        raise ValueError(f"detector {model.name!r} asks for targets {sorted(unknown)}; the "
                         f"trainer provides 'mask' only")
    if not wanted:
        return None, None
    where = f"{cfg.faces_root}/{cfg.train_dataset}"
    rationed = model.active_learning(cfg) is not None
    return (MaskTargets(train_rows, cfg.image_size, f"{where} (train)", allow_all=not rationed),
            MaskTargets(val_rows, cfg.image_size, f"{where} (val)"))


def _to_device(batch, rt: Runtime) -> Batch:
    x, y, labelled = (t.to(rt.device, non_blocking=True) for t in batch[:3])
    extras = {k: v.to(rt.device, non_blocking=True) for k, v in
              (batch[3] if len(batch) > 3 else {}).items()}
    if rt.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return Batch(x, y, labelled, extras)


def _inputs(model: torch.nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
    """The detector's ``extra_inputs`` from the batch (none for JDFD)."""
    return {k: batch.extras[k] for k in _detector(model).extra_inputs}


def _autocast(rt: Runtime):
    return torch.autocast(rt.device.type, dtype=torch.bfloat16, enabled=rt.amp)


def train_step(model: torch.nn.Module, forward, b: Batch, optimizer: torch.optim.Optimizer,
                cfg: TrainConfig, rt: Runtime) -> dict[str, torch.Tensor]:
    """One optimiser step on batch ``b``; ``forward`` runs the model (it or its compiled
    form). Returns the detector's loss terms, still on the device."""
    with _autocast(rt):
        out = forward(b.x, **_inputs(model, b))
    losses = _detector(model).loss(out, b, cfg)
    optimizer.zero_grad(set_to_none=True)
    losses["total"].backward()
    optimizer.step()
    return {k: v.detach() for k, v in losses.items()}


POSTFIX_EVERY = 50  # batches between progress-bar loss updates (each one waits for the GPU)


def _diverged(cfg: TrainConfig, optimizer: torch.optim.Optimizer, epoch: int, step: int,
              value: float) -> UserError:
    """The one line that stops a run whose loss is no longer a number."""
    lrs = ", ".join(f"lr_{g.get('name', i)} {g['lr']:g}"
                    for i, g in enumerate(optimizer.param_groups))
    return UserError(f"{cfg.run_name}: training diverged: the loss is {value} at epoch "
                     f"{epoch + 1}, step {step + 1} (learning rates: {lrs}); lower the learning "
                     f"rates (--set lr_...=) and train again with --force")


def train_one_epoch(model: torch.nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    cfg: TrainConfig, rt: Runtime, desc: str, progress: bool,
                    forward: TrainingForward | None = None, epoch: int = 0) -> dict[str, float]:
    """One pass of the detector's loss (JDFD: Eq. 3); returns the mean of each loss term
    (``loss`` for the total, then the detector's other terms: JDFD's ``ce`` and ``rec``).

    ``forward`` runs the steps (:class:`~jdfd_lib.training.compiled.TrainingForward`: eager or
    compiled); None runs ``model`` eagerly. The loss sums stay on the device in float64 (the
    same sums, in the same order, as Python floats would give) so that a step never waits for
    the GPU to finish; the bar shows the loss every :data:`POSTFIX_EVERY` batches.

    Raises:
        UserError: the loss became NaN or infinite (the run, ``epoch``, the first such step and
            the learning rates named); on a GPU the check waits for the next progress update,
            at most :data:`POSTFIX_EVERY` steps later, and still names the first step.
    """
    model.train()
    forward = forward or TrainingForward(model)
    sums: dict[str, torch.Tensor] = {}
    bar = progress_bar(loader, enabled=progress, desc=desc, unit="batch", leave=False)
    bad_step = bad_loss = None  # the first step whose loss is not finite (-1: none), on device
    for i, batch in enumerate(bar):
        b = _to_device(batch, rt)
        losses = forward.run(lambda f, b=b: train_step(model, f, b, optimizer, cfg, rt))
        for name, value in losses.items():
            key = "loss" if name == "total" else name
            value = value.double()
            sums[key] = sums[key] + value if key in sums else value
        total = losses["total"]
        first = ~torch.isfinite(total) if bad_step is None else (
            ~torch.isfinite(total) & (bad_step < 0))
        bad_step = torch.where(first, i, -1 if bad_step is None else bad_step)
        bad_loss = total if bad_loss is None else torch.where(first, total, bad_loss)
        if rt.device.type == "cpu" or i % POSTFIX_EVERY == 0 or i + 1 == len(loader):
            if int(bad_step) >= 0:  # reading it waits for the GPU: every POSTFIX_EVERY steps
                raise _diverged(cfg, optimizer, epoch, int(bad_step), float(bad_loss))
        if progress and i % POSTFIX_EVERY == 0:
            bar.set_postfix(loss=f"{float(losses['total']):.4f}")
    return {k: float(v) / max(len(loader), 1) for k, v in sums.items()}


@torch.inference_mode()
def validate(model: torch.nn.Module, loader: DataLoader, cfg: TrainConfig,
             rt: Runtime) -> dict[str, float]:
    """Val loss (the detector's, all labels visible) and frame AUC of its fake score."""
    model.eval()
    scores, labels, total, n = [], [], 0.0, 0
    for batch in loader:
        b = _to_device(batch, rt)
        with _autocast(rt):
            out = model(b.x, **_inputs(model, b))
        loss = _detector(model).loss(out, b, cfg)
        total += float(loss["total"]) * len(b.x)
        n += len(b.x)
        scores.append(_detector(model).fake_score(out).cpu().numpy())
        labels.append(b.labels.cpu().numpy())
    return {"val_loss": total / n,
            "val_auc": float(roc_auc_score(np.concatenate(labels), np.concatenate(scores)))}
