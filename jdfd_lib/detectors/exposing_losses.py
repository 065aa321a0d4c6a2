"""The losses of "Exposing the Deception" (Ba et al., "Exposing the Deception: Uncovering More
Forgery Clues for Deepfake Detection", AAAI 2024), as small pure functions.

The official code (github.com/QingyuLiu/Exposing-the-Deception, ``losses/mi_loss.py`` with
``method='mi'`` as ``training.py`` builds it, ``losses/AutomaticWeightedLoss.py``) fixes what
the paper writes in terms of mutual information:

- softened prediction: ``softmax(logits / T)``, temperature ``T`` (1.5 in ``parameters.py``);
- divergence: torch's ``KLDivLoss()`` with its default ``reduction='mean'``, called as
  ``KLDivLoss(log q, p)`` with ``p`` the softened prediction being trained and ``q`` the
  softened prediction of the full concatenated feature, *detached*. This is KL(p || q)
  averaged over the B x K elements (not over the B images): half the per-image KL for K = 2.
  There is no T^2 factor.
- Global Information Loss: KL(p_fused || q_full), which pulls the fused head towards the
  (detached) prediction of all blocks' concatenated features;
- Local Information Loss: ``exp(-sum_i KL(p_{-i} || q_full))`` over the leave-one-block-out
  predictions p_{-i}: minimising it pushes every leave-one-out prediction *away* from the
  full one, so that removing any block changes the prediction (each block holds own clues);
- cross-entropy on the fused head, plus on the full head (with the global loss) and on each
  leave-one-out head (with the local loss);
- balance of the three terms: learned uncertainty weights
  ``sum_i 0.5 / s_i^2 * L_i + log(1 + s_i^2)`` (s_i initialised to 1), or fixed weights.

The divergences use no label: they apply to every image, labelled or not; the cross-entropy
terms average over the labelled images only (:func:`masked_cross_entropy`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from jdfd_lib.detectors.losses import masked_cross_entropy


def softened(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Softened prediction ``softmax(logits / T)``: (B, K) -> (B, K) probabilities."""
    return F.softmax(logits.float() / temperature, dim=1)


def kl_from_reference(logits: torch.Tensor, reference: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """KL(p || q) averaged over every element, as torch's ``KLDivLoss()`` in the official code.

    Args:
        logits: (B, K) logits of the prediction p being trained (gradient flows here).
        reference: (B, K) logits of the reference q (detached: no gradient reaches them).
        temperature: T of the softened predictions.

    Returns:
        A scalar: ``mean_{b,k} p_bk * (log p_bk - log q_bk)``.
    """
    log_p = F.log_softmax(logits.float() / temperature, dim=1)  # (B, K)
    log_q = F.log_softmax(reference.detach().float() / temperature, dim=1)  # (B, K)
    return (log_p.exp() * (log_p - log_q)).mean()


def global_information_loss(fused: torch.Tensor, full: torch.Tensor,
                            temperature: float) -> torch.Tensor:
    """Global Information Loss: KL(softened fused || softened full, detached).

    Args:
        fused: (B, K) logits of the fusion head (the detector's prediction).
        full: (B, K) logits of the head on all blocks' concatenated features.
        temperature: T of the softened predictions.
    """
    return kl_from_reference(fused, full, temperature)


def local_information_loss(leave_one_out: Sequence[torch.Tensor] | torch.Tensor,
                           full: torch.Tensor, temperature: float) -> torch.Tensor:
    """Local Information Loss: ``exp(-sum_i KL(p_{-i} || q_full))``.

    Args:
        leave_one_out: N logits (B, K), one per left-out block (or a (B, N, K) tensor).
        full: (B, K) logits of the head on all blocks' concatenated features (detached).
        temperature: T of the softened predictions.

    Returns:
        A scalar in (0, 1]: 1 when every leave-one-out prediction equals the full one.
    """
    if isinstance(leave_one_out, torch.Tensor):
        leave_one_out = leave_one_out.unbind(dim=1)  # (B, N, K) -> N x (B, K)
    divergence = sum(kl_from_reference(p, full, temperature) for p in leave_one_out)
    return torch.exp(-divergence)


def classification_loss(heads: Sequence[torch.Tensor], labels: torch.Tensor,
                        labelled: torch.Tensor) -> torch.Tensor:
    """Sum over heads of the cross-entropy averaged over labelled images.

    Args:
        heads: logits (B, K) of each supervised head.
        labels: (B,) int64; values of unlabeled images are ignored.
        labelled: (B,) bool, True where the label may be used.
    """
    return sum(masked_cross_entropy(h, labels, labelled) for h in heads)


def uncertainty_weighted(losses: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Learned balance: ``sum_i 0.5 / s_i^2 * L_i + log(1 + s_i^2)``.

    Args:
        losses: (n,) the loss terms.
        scales: (n,) the learned s_i (official initial value: 1).
    """
    s2 = scales.float() ** 2  # (n,)
    return (0.5 / s2 * losses + torch.log1p(s2)).sum()


def fixed_weighted(losses: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """Fixed balance ``sum_i w_i * L_i`` (official ``balance_loss_method='hyper'``).

    Args:
        losses: (n,) the loss terms.
        weights: n weights, in the order of ``losses``.

    Raises:
        ValueError: the numbers of losses and weights differ.
    """
    if len(weights) != losses.numel():
        raise ValueError(f"{losses.numel()} loss terms but {len(weights)} weights")
    return (losses * torch.as_tensor(weights, dtype=losses.dtype, device=losses.device)).sum()
