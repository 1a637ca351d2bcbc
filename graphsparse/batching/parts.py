"""The METIS partition Cluster-GCN batches over, and the default number of parts."""

from __future__ import annotations

import torch

from ..graph import Graph
from .metis import metis_partition
from .train import ClusterConfig

__all__ = ["cluster_parts", "default_parts", "DEFAULT_CLUSTERS_PER_BATCH"]

DEFAULT_CLUSTERS_PER_BATCH = 20  # the Cluster-GCN paper's q on its large graphs (capped at the number of parts)


def cluster_parts(graph: Graph, config: ClusterConfig, split_train: torch.Tensor | None = None) -> torch.Tensor:
    """The (cached) METIS partition the loader batches over."""
    mask = split_train if config.train_only else None
    return metis_partition(graph, config.num_parts, recursive=config.recursive, node_mask=mask)


def default_parts(num_nodes: int) -> int:
    """1500 parts on large graphs (the paper's Amazon2M setting), about 50 nodes per part on small ones."""
    return max(1, min(1500, num_nodes // 50))
