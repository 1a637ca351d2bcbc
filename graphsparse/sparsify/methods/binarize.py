"""Binarising learned masks, UGS's way: keep the largest ``|m|`` among the survivors, down to a level's targets.

:func:`ugs_prune` ranks edges (over the graph's edge ids) and the counted weights (globally across layers);
:func:`stratified_keep` ranks edges only against edges trained as often, for batch trainers whose batches leave
some edges out most of the time (see :mod:`graphsparse.sparsify.methods.ugs`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..edges import check_sparsity
from ..weights import _keep_top

__all__ = ["ugs_prune", "stratified_keep"]

_CHUNK = 1 << 22  # entries counted at a time (a 30M-edge graph's strata without a copy of its survivors)


def ugs_prune(
    edge_scores: torch.Tensor,
    edge_keep: torch.Tensor,
    graph_sparsity: float,
    weight_scores: Mapping[str, torch.Tensor],
    weight_keep: Mapping[str, torch.Tensor],
    weight_sparsity: float,
    *,
    edge_strata: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Binarise UGS masks: keep the largest ``|score|`` among the survivors, down to the target sparsities.

    ``edge_scores``/``edge_keep`` are over the original graph's edge ids (``[M]``); the new edge mask removes
    ``round(graph_sparsity * M)`` edges in total, ``weight_sparsity`` likewise over all counted weights (global
    ranking across layers). Pruned entries stay pruned; a target below the current sparsity is an error.

    With ``edge_strata`` (an integer per edge id: how often its mask was trained, see
    :meth:`UGSMasked.edge_exposures`) edges are ranked only within their stratum, and each stratum keeps the same
    fraction of its survivors (:func:`stratified_keep`). Why: on Cluster-GCN batches an edge between two parts is in
    a batch only in the epochs that put both parts together (about ``q / p`` of them), so its mask barely moves
    from its start at 1 while the l1 term pulls the masks trained every epoch towards 0; ranked together, the
    batches' own edges were pruned first (PubMed, round 10: 70% of the edges inside its 394 parts and none of those
    between, where full-batch UGS prunes 35% and 47%).

    Args:
        edge_scores: the edge mask's values over the edge ids (``[M]``).
        edge_keep: the surviving edges (boolean ``[M]``).
        graph_sparsity: the target fraction of all ``M`` edges pruned.
        weight_scores: per counted weight, its mask's values.
        weight_keep: per counted weight, its surviving entries.
        weight_sparsity: the target fraction of all counted weights pruned.
        edge_strata: optional integer ``[M]``: rank edges within equal values only.

    Returns:
        The new edge keep-mask and the new weight keep-masks.

    Raises:
        ValueError: shapes that do not match, or a target below the current sparsity.
    """
    graph_sparsity = check_sparsity(graph_sparsity, "graph sparsity")
    weight_sparsity = check_sparsity(weight_sparsity, "weight sparsity")
    edge_keep = torch.as_tensor(edge_keep).cpu()
    if edge_keep.dtype != torch.bool or edge_scores.shape != edge_keep.shape:
        raise ValueError(
            f"ugs_prune: edge scores {list(edge_scores.shape)} and a boolean keep-mask of the same shape are needed"
        )
    m = edge_keep.numel()
    keep_edges = m - round(graph_sparsity * m)
    if keep_edges > int(edge_keep.sum()):
        raise ValueError(f"graph sparsity target {graph_sparsity} is below the current one; targets must not decrease")
    # in the scores' own float dtype: the selection only compares values (float32 masks of 30M edges would take
    # 240 MB more per copy as float64, for the same decisions)
    edge_magnitude = edge_scores.detach().abs().cpu()
    if not edge_magnitude.is_floating_point():
        edge_magnitude = edge_magnitude.double()
    if edge_strata is None:
        new_edges = _keep_top(edge_magnitude, edge_keep, keep_edges)
    else:
        edge_strata = torch.as_tensor(edge_strata).cpu()
        if edge_strata.shape != edge_keep.shape:
            raise ValueError(f"ugs_prune: edge strata {list(edge_strata.shape)} do not cover {m} edges")
        new_edges = stratified_keep(edge_magnitude, edge_keep, keep_edges, edge_strata)
    names = list(weight_keep)
    flat_scores = torch.cat([weight_scores[n].detach().abs().reshape(-1).cpu().double() for n in names])
    flat_keep = torch.cat([weight_keep[n].reshape(-1).cpu() for n in names])
    total = flat_scores.numel()
    keep_weights = total - round(weight_sparsity * total)
    if keep_weights > int(flat_keep.sum()):
        raise ValueError(
            f"weight sparsity target {weight_sparsity} is below the current one; targets must not decrease"
        )
    flat_new = _keep_top(flat_scores, flat_keep, keep_weights)
    out, start = {}, 0
    for n in names:
        size = weight_keep[n].numel()
        out[n] = flat_new[start : start + size].view(weight_keep[n].shape)
        start += size
    return new_edges, out


def stratified_keep(magnitude: torch.Tensor, keep: torch.Tensor, k: int, strata: torch.Tensor) -> torch.Tensor:
    """Keep ``k`` of the ``keep`` entries: the same fraction of each stratum, its largest ``magnitude`` values.

    A stratum's share is ``k`` times its survivors over all survivors, rounded by largest remainder (ties of
    remainders: the smaller stratum value first) so that the shares sum to ``k``; within a stratum the selection
    is :func:`~graphsparse.sparsify.weights._keep_top`'s (ties: the later position). Memory beyond the output is
    one stratum's positions at a time (a graph of 30M edges is binarised this way).

    Args:
        magnitude: the scores (``[M]``).
        keep: the entries that may be kept (boolean ``[M]``).
        k: how many to keep, at most ``keep.sum()``.
        strata: a non-negative integer per entry (``[M]``).

    Returns:
        The boolean keep-mask with exactly ``k`` entries set.

    Raises:
        ValueError: a negative stratum.
    """
    alive, values = keep.numpy(), strata.numpy()
    counts = np.zeros(0, dtype=np.int64)
    for start in range(0, values.size, _CHUNK):  # survivors per stratum, a chunk at a time
        chunk = values[start : start + _CHUNK][alive[start : start + _CHUNK]]
        if chunk.size and int(chunk.min()) < 0:
            raise ValueError(f"ugs_prune: edge strata must be >= 0, got {int(chunk.min())}")
        part = np.bincount(chunk, minlength=counts.size)
        counts = np.pad(counts, (0, part.size - counts.size)) + part
    levels = np.flatnonzero(counts)
    exact = counts[levels].astype(np.float64) * k / max(int(counts.sum()), 1)
    shares = np.floor(exact).astype(np.int64)
    short = k - int(shares.sum())
    if short > 0:
        order = np.lexsort((levels, -(exact - shares)))  # largest remainder first, then the smaller stratum value
        shares[order[:short]] += 1
    out = np.zeros(alive.size, dtype=bool)
    for level, share in zip(levels, shares, strict=True):
        if share > 0:
            members = np.flatnonzero(alive & (values == level))
            chosen = _keep_top(magnitude[torch.from_numpy(members)], None, int(share))
            out[members[chosen.numpy()]] = True
    return torch.from_numpy(out)
