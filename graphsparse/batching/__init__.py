"""Cluster-GCN batching: METIS partitions (pymetis), cluster batches, diagonal enhancement, training."""

from .loader import ClusterBatch, ClusterLoader, diag_enhanced_adjacency
from .partition import metis_partition
from .train import ClusterConfig, evaluate_full_graph, train_cluster_gcn

__all__ = [
    "ClusterBatch",
    "ClusterLoader",
    "ClusterConfig",
    "diag_enhanced_adjacency",
    "evaluate_full_graph",
    "metis_partition",
    "train_cluster_gcn",
]
