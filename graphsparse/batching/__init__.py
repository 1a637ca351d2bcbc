"""Cluster-GCN batching: METIS partitions (pymetis), cluster batches, diagonal enhancement, training."""

from .loader import ClusterBatch, ClusterLoader, diag_enhanced_adjacency
from .partition import metis_partition
from .parts import DEFAULT_CLUSTERS_PER_BATCH, cluster_parts, default_parts
from .train import ClusterConfig, evaluate_full_graph, train_cluster_gcn

__all__ = [
    "ClusterBatch",
    "ClusterLoader",
    "ClusterConfig",
    "DEFAULT_CLUSTERS_PER_BATCH",
    "cluster_parts",
    "default_parts",
    "diag_enhanced_adjacency",
    "evaluate_full_graph",
    "metis_partition",
    "train_cluster_gcn",
]
