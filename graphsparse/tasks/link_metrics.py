"""Link-prediction metrics: ROC-AUC and AP (scikit-learn), Hits@K and MRR (OGB's link Evaluator conventions).

- Hits@K (ogbl-collab, -ppa, -ddi): the fraction of positive pairs scored strictly above the K-th highest score
  among *all* negative pairs; 1.0 when there are fewer than K negatives.
- MRR (ogbl-citation2): each positive is ranked against its own negatives (``neg`` shaped ``[P, k]``); ties count
  half (the mean of the optimistic and the pessimistic rank), and the reciprocal ranks are averaged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["auc_ap", "hits_at_k", "mean_reciprocal_rank", "link_metrics"]


def _flat(scores: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(scores).detach().cpu().double().reshape(-1)


def auc_ap(pos: torch.Tensor, neg: torch.Tensor) -> tuple[float, float]:
    """ROC-AUC and average precision of positive vs negative scores."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    pos, neg = _flat(pos), _flat(neg)
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError(f"AUC/AP need positive and negative scores, got {pos.numel()} and {neg.numel()}")
    scores = torch.cat([pos, neg]).numpy()
    labels = np.concatenate([np.ones(pos.numel()), np.zeros(neg.numel())])
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def hits_at_k(pos: torch.Tensor, neg: torch.Tensor, k: int) -> float:
    """Fraction of positives scored above the K-th best negative (OGB ``ogbl-collab`` convention)."""
    if k < 1:
        raise ValueError(f"Hits@K needs K >= 1, got {k}")
    pos, neg = _flat(pos), _flat(neg)
    if neg.numel() < k:
        return 1.0
    threshold = torch.topk(neg, k).values[-1]
    return float((pos > threshold).double().mean())


def mean_reciprocal_rank(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """MRR with per-positive negatives ``neg`` ``[P, k]`` (OGB ``ogbl-citation2`` convention)."""
    pos = _flat(pos).view(-1, 1)
    neg = torch.as_tensor(neg).detach().cpu().double()
    if neg.dim() != 2 or neg.size(0) != pos.size(0):
        raise ValueError(f"MRR needs negatives shaped [P, k] for P = {pos.size(0)} positives, got {list(neg.shape)}")
    optimistic = (neg > pos).sum(1)
    pessimistic = (neg >= pos).sum(1)
    rank = 0.5 * (optimistic + pessimistic).double() + 1.0
    return float((1.0 / rank).mean())


def link_metrics(pos: torch.Tensor, neg: torch.Tensor, hits: Sequence[int] = (), prefix: str = "") -> dict[str, float]:
    """``auc``, ``ap``, ``hits@K`` for each K, and ``mrr`` when ``neg`` holds a whole number of negatives per
    positive (negative ``j`` of positive ``i`` at position ``i * r + j``)."""
    auc, ap = auc_ap(pos, neg)
    out = {f"{prefix}auc": auc, f"{prefix}ap": ap}
    for k in hits:
        out[f"{prefix}hits@{k}"] = hits_at_k(pos, neg, k)
    p, n = _flat(pos).numel(), _flat(neg).numel()
    if p and n % p == 0 and n >= p:
        out[f"{prefix}mrr"] = mean_reciprocal_rank(pos, _flat(neg).view(p, n // p))
    return out
