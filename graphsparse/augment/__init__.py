"""GAug edge augmentation (Zhao et al., AAAI 2021): edge predictor, GAug-M and GAug-O (dense and sparse)."""

from __future__ import annotations

from .gaug_m import edit_counts, gaug_m_graph
from .predictor import EdgePredictor, dense_memory_bytes, edge_loss_dense, edge_loss_sampled, train_edge_predictor
from .sampling import relaxed_bernoulli_soft, relaxed_bernoulli_st
from .topk import lowest_scoring_edges, pair_scores, topk_non_edges

__all__ = [
    "EdgePredictor",
    "dense_memory_bytes",
    "edge_loss_dense",
    "edge_loss_sampled",
    "train_edge_predictor",
    "edit_counts",
    "gaug_m_graph",
    "relaxed_bernoulli_soft",
    "relaxed_bernoulli_st",
    "lowest_scoring_edges",
    "pair_scores",
    "topk_non_edges",
]
