"""Link-prediction metrics: ROC-AUC and AP (scikit-learn), Hits@K and MRR (OGB's link Evaluator conventions).

- Hits@K (ogbl-collab, -ppa, -ddi): the fraction of positive pairs scored strictly above the K-th highest score
  among *all* negative pairs; 1.0 when there are fewer than K negatives.
- MRR (ogbl-citation2): each positive is ranked against its own negatives (``neg`` shaped ``[P, k]``); ties count
  half (the mean of the optimistic and the pessimistic rank), and the reciprocal ranks are averaged.

Hits@K and MRR are computed by ``ogb.linkproppred.Evaluator`` itself (see :func:`ogb_evaluator`). :func:`link_metrics`
reports MRR only when every positive has at least :data:`MRR_MIN_NEGATIVES` (50) negatives of its own: with one
negative per positive a random scorer already gets 0.75 and a weak model about 0.9 (Cora: 0.91), a number that says
nothing; OGB's MRR datasets use 1000 (ogbl-citation2), and 50 is the smallest count at which a random scorer's
expected MRR (about 0.09) is far from a good model's. Ask for more with ``--eval-negatives 50`` (or ``neg_ratio``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["MRR_MIN_NEGATIVES", "auc_ap", "hits_at_k", "mean_reciprocal_rank", "link_metrics", "ogb_evaluator"]

MRR_MIN_NEGATIVES = 50  # per positive; below this, link_metrics leaves MRR out (see the module docstring)


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


@functools.cache
def ogb_evaluator(metric: str) -> Any:
    """``ogb.linkproppred.Evaluator`` for ``metric`` (``"hits@K"`` for any K >= 1, or ``"mrr"``), built offline.

    OGB's Evaluator is keyed by a dataset name, which fixes its metric (master.csv, shipped inside the ogb package:
    ``ogbl-collab`` is hits@50, ``ogbl-citation2`` mrr). For another K we build the Evaluator of a dataset with the
    same kind of metric and set its ``eval_metric``/``K`` as its constructor would have from master.csv; the ranking
    code that runs is OGB's own.
    """
    from ogb.linkproppred import Evaluator

    if metric == "mrr":
        return Evaluator(name="ogbl-citation2")
    if not metric.startswith("hits@"):
        raise ValueError(f"unknown link metric {metric!r}; use 'hits@K' or 'mrr'")
    k = int(metric.split("@", 1)[1])
    if k < 1:
        raise ValueError(f"Hits@K needs K >= 1, got {k}")
    evaluator = Evaluator(name="ogbl-collab")
    evaluator.eval_metric, evaluator.K = f"hits@{k}", k
    return evaluator


def hits_at_k(pos: torch.Tensor, neg: torch.Tensor, k: int) -> float:
    """Fraction of positives scored above the K-th best negative (OGB's Evaluator, ``ogbl-collab`` convention)."""
    if k < 1:
        raise ValueError(f"Hits@K needs K >= 1, got {k}")
    pos, neg = _flat(pos), _flat(neg)
    if pos.numel() == 0:
        raise ValueError("Hits@K needs at least one positive score")
    return float(ogb_evaluator(f"hits@{k}").eval({"y_pred_pos": pos, "y_pred_neg": neg})[f"hits@{k}"])


def mean_reciprocal_rank(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """MRR with per-positive negatives ``neg`` ``[P, k]`` (OGB's Evaluator, ``ogbl-citation2`` convention)."""
    pos = _flat(pos)
    neg = torch.as_tensor(neg).detach().cpu().double()
    if neg.dim() != 2 or neg.size(0) != pos.size(0) or pos.numel() == 0:
        raise ValueError(f"MRR needs negatives shaped [P, k] for P = {pos.size(0)} positives, got {list(neg.shape)}")
    ranks = ogb_evaluator("mrr").eval({"y_pred_pos": pos, "y_pred_neg": neg})["mrr_list"]
    return float(ranks.double().mean())


def link_metrics(pos: torch.Tensor, neg: torch.Tensor, hits: Sequence[int] = (), prefix: str = "") -> dict[str, float]:
    """``auc``, ``ap``, ``hits@K`` for each K, and ``mrr`` when ``neg`` has enough negatives per positive.

    ``mrr`` needs at least :data:`MRR_MIN_NEGATIVES` negatives per positive, a whole number of them (negative ``j``
    of positive ``i`` at position ``i * r + j``).
    """
    auc, ap = auc_ap(pos, neg)
    out = {f"{prefix}auc": auc, f"{prefix}ap": ap}
    for k in hits:
        out[f"{prefix}hits@{k}"] = hits_at_k(pos, neg, k)
    p, n = _flat(pos).numel(), _flat(neg).numel()
    if p and n % p == 0 and n // p >= MRR_MIN_NEGATIVES:
        out[f"{prefix}mrr"] = mean_reciprocal_rank(pos, _flat(neg).view(p, n // p))
    return out
