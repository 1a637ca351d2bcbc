"""Cluster-GCN batching.

METIS partitions (pymetis), cluster batches (in memory or from a disk graph), diagonal enhancement, training.
"""

from .disk import DiskClusterLoader, evaluate_disk, shard_parts, train_cluster_gcn_disk
from .loader import ClusterBatch, ClusterLoader, diag_enhanced_adjacency
from .metis import metis_partition, metis_partition_csr
from .partition import cluster_disk_graph, partitioned_disk_graph
from .parts import DEFAULT_CLUSTERS_PER_BATCH, cluster_parts, default_parts
from .train import ClusterConfig, evaluate_full_graph, train_cluster_gcn

__all__ = [
    "ClusterBatch",
    "ClusterLoader",
    "ClusterConfig",
    "cluster_disk_graph",
    "DiskClusterLoader",
    "DEFAULT_CLUSTERS_PER_BATCH",
    "cluster_parts",
    "default_parts",
    "diag_enhanced_adjacency",
    "evaluate_disk",
    "evaluate_full_graph",
    "metis_partition",
    "metis_partition_csr",
    "partitioned_disk_graph",
    "shard_parts",
    "train_cluster_gcn",
    "train_cluster_gcn_disk",
]
