"""The joint loss of JDFD (paper Sec. 3.3, Eq. 3-5) with hidden labels (Sec. 4.4).

L = beta1 * L_cro + beta2 * L_rec (Eq. 3), with
- L_cro: softmax cross-entropy of the classifier's two logits (Eq. 4), averaged over the
  *labelled* images of the batch only. Unlabeled foreign images (Sec. 4.4, Fig. 4) add
  nothing to it nor to its normaliser; a batch without labelled images has L_cro = 0.
- L_rec: mean squared error between the normalised input x and its reconstruction x_hat
  (Eq. 5), over every image of the batch, labelled or not. The paper names it the MSE loss;
  we average over pixels and channels too (``F.mse_loss``), which only rescales beta2 by a
  constant 1 / (3 H W) relative to the per-image squared norm written in Eq. (5).

Baseline (Table 3, no decoder): ``recon`` is None and L = beta1 * L_cro; rec is reported as 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                         labelled_mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy (Eq. 4) averaged over labelled images only.

    Args:
        logits: (B, 2) float.
        labels: (B,) int64; values of unlabeled images are ignored (any value).
        labelled_mask: (B,) bool, True where the label may be used.

    Returns:
        A scalar; exactly 0 (with a graph to ``logits``) when no image is labelled.
    """
    mask = labelled_mask.to(logits.dtype)  # (B,)
    # hidden labels are replaced by 0 so that out-of-range values cannot even be indexed
    safe = torch.where(labelled_mask, labels, torch.zeros_like(labels))
    per_image = F.cross_entropy(logits.float(), safe, reduction="none")  # (B,)
    return (per_image * mask).sum() / mask.sum().clamp(min=1.0)


def joint_loss(logits: torch.Tensor, recon: torch.Tensor | None, x: torch.Tensor,
               labels: torch.Tensor, labelled_mask: torch.Tensor, beta1: float = 0.8,
               beta2: float = 0.2) -> dict[str, torch.Tensor]:
    """Eq. (3): beta1 * masked CE + beta2 * MSE(x, x_hat).

    Args:
        logits: (B, 2) classifier output.
        recon: (B, 3, H, W) reconstruction, or None for the baseline.
        x: (B, 3, H, W) normalised input (the reconstruction target).
        labels: (B,) int64, 0 real / 1 fake.
        labelled_mask: (B,) bool; False for unlabeled foreign images.
        beta1: weight of the cross-entropy (paper: 0.8).
        beta2: weight of the reconstruction loss (paper: 0.2).

    Returns:
        ``total``, ``ce`` and ``rec`` scalars (``rec`` is 0 without a decoder).

    Raises:
        ValueError: the reconstruction's shape differs from the input's.
    """
    ce = masked_cross_entropy(logits, labels, labelled_mask)
    if recon is None:
        rec = torch.zeros((), device=logits.device)
        return {"total": beta1 * ce, "ce": ce, "rec": rec}
    if recon.shape != x.shape:
        raise ValueError(f"reconstruction {tuple(recon.shape)} and input {tuple(x.shape)} "
                         "must have the same shape")
    rec = F.mse_loss(recon.float(), x.float())
    return {"total": beta1 * ce + beta2 * rec, "ce": ce, "rec": rec}
