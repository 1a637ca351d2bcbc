"""Graph lottery tickets: edge scorers and pruning, weight masks, and the :class:`Ticket` a search finds.

Every edge decision is over undirected edge ids (so pruned graphs stay symmetric) and every weight decision
over the counted weight matrices (see :mod:`graphsparse.sparsify.weights`).
"""

from __future__ import annotations

from ..tasks.glt import GLTTask, NodeGLTTask, distillation_loss
from .edges import (
    check_sparsity,
    degree_product_scores,
    edge_keep_mask,
    prune_edges,
    random_edge_scores,
    teddy_edge_scores,
)
from .levels import parse_levels
from .methods import UGS, WDGLT, GLTMethod, OneShotMethod, RandomPruning, Teddy, register_method
from .methods.ugs import UGSMasked, ugs_prune
from .records import Level, LevelResult
from .ticket import Ticket
from .weights import (
    apply_weight_masks,
    global_magnitude_masks,
    l0_projection,
    prunable_parameters,
    weight_sparsity,
)

__all__ = [
    "check_sparsity",
    "teddy_edge_scores",
    "random_edge_scores",
    "degree_product_scores",
    "edge_keep_mask",
    "prune_edges",
    "prunable_parameters",
    "global_magnitude_masks",
    "apply_weight_masks",
    "l0_projection",
    "weight_sparsity",
    "Ticket",
    "UGSMasked",
    "ugs_prune",
    "GLTTask",
    "NodeGLTTask",
    "distillation_loss",
    "parse_levels",
    "GLTMethod",
    "OneShotMethod",
    "Teddy",
    "UGS",
    "RandomPruning",
    "WDGLT",
    "register_method",
    "Level",
    "LevelResult",
]

# Edge scorers by name, one interface: scorer(graph, **options) -> Tensor[M]; low scores are pruned first.
EDGE_SCORERS = {"teddy": teddy_edge_scores, "random": random_edge_scores, "degree": degree_product_scores}
